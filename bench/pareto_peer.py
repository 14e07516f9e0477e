#!/usr/bin/python3
"""pareto_peer.py -- DEAP side of bench/bench_pareto.c (issue 4's table).

Same generators (points on the positive unit sphere / the unit simplex,
reference point all ones), numpy RNG instead of perigee's (same
distributions, not the same points). Peers: DEAP's hypervolume C extension
(deap.tools._hypervolume.hv.hypervolume), deap.tools.sortNondominated and
deap.benchmarks.tools.igd (scipy cdist).

Times are CPU seconds of the process (time.process_time), like the C side
(the machine is shared). Runs that would take minutes are capped:
sortNondominated is O(M N^2) in pure Python (about 49 s for 1e4 points in
2-D here), so it runs at n = 2000 and the time at the requested n is
extrapolated as t * (n/2000)^2 (marked); each hypervolume call runs in a
child process stopped after HV_LIMIT seconds (printed as "> limit"), and
d = 5 at n = 1e4 is skipped when n = 1e3 already took more than 1 s.

Run: OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 \
     LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/pareto_peer.py
"""
import sys
import time

import numpy as np
from deap import base, creator, tools
from deap.benchmarks.tools import igd
from deap.tools._hypervolume import hv as deap_hv


def front(n, d, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "sphere":
        y = np.abs(rng.standard_normal((n, d)))
        return y / np.linalg.norm(y, axis=1, keepdims=True)
    y = rng.exponential(size=(n, d))
    return y / y.sum(axis=1, keepdims=True)


HV_LIMIT = 120.0


def _hv_child(y, ref, q):
    t0 = time.process_time()
    v = deap_hv.hypervolume(y, ref)
    q.put((time.process_time() - t0, v))


def bench_hv(d, n, slow_cap=None):
    import multiprocessing as mp
    ref = np.ones(d)
    for kind in ("sphere", "simplex"):
        if slow_cap is not None and slow_cap.get(kind, 0) > 1.0:
            print(f"hv      d={d} n={n:<7} {kind:<8}    skipped (n=1e3 took {slow_cap[kind]:.1f} s)")
            continue
        y = front(n, d, kind, 42 + d)
        q = mp.Queue()
        proc = mp.Process(target=_hv_child, args=(y, ref, q))
        proc.start()
        proc.join(HV_LIMIT)
        if proc.is_alive():
            proc.terminate()
            proc.join()
            print(f"hv      d={d} n={n:<7} {kind:<8}   > {HV_LIMIT:.0f} s (stopped)", flush=True)
            if slow_cap is not None:
                slow_cap[kind] = HV_LIMIT
            continue
        t, v = q.get()
        print(f"hv      d={d} n={n:<7} {kind:<8} {t:10.4f} s  value {v:.10g}", flush=True)
        if slow_cap is not None:
            slow_cap[kind] = t


def bench_rank(d, n, cap=2000):
    creator.create("FitMin%d" % d, base.Fitness, weights=(-1.0,) * d)
    creator.create("Ind%d" % d, list, fitness=getattr(creator, "FitMin%d" % d))
    Ind = getattr(creator, "Ind%d" % d)
    for kind in ("sphere", "simplex"):
        m = min(n, cap)
        y = front(m, d, kind, 7 + d)
        pop = []
        for row in y:
            ind = Ind(row.tolist())
            ind.fitness.values = tuple(row)
            pop.append(ind)
        t0 = time.process_time()
        fronts = tools.sortNondominated(pop, len(pop))
        t = time.process_time() - t0
        note = ""
        if m < n:
            note = f"  (measured at n={m}: {t:.3f} s; extrapolated x (n/{m})^2)"
            t *= (n / m) ** 2
        print(f"rank    d={d} n={n:<7} {kind:<8} {t:10.4f} s  fronts {len(fronts)}{note}", flush=True)


def igd_numpy(a, z, block=1000):
    """IGD with numpy in blocks of the front (|z|^2 + |a|^2 - 2 z.a^T)."""
    na = (a * a).sum(axis=1)
    total = 0.0
    for b in range(0, len(z), block):
        zb = z[b:b + block]
        d2 = (zb * zb).sum(axis=1)[:, None] + na[None, :] - 2.0 * zb @ a.T
        total += np.sqrt(np.maximum(d2.min(axis=1), 0.0)).sum()
    return total / len(z)


def bench_igd(d, n):
    a, z = front(n, d, "sphere", 1), front(n, d, "sphere", 2)
    try:
        t0 = time.process_time()
        v, name = igd(a, z), "deap"
    except NameError:  # DEAP 1.3.1 imports scipy.spatial lazily and fails without it
        t0 = time.process_time()
        v, name = igd_numpy(a, z), "numpy (DEAP's igd fails: scipy.spatial missing)"
    t = time.process_time() - t0
    print(f"igd     d={d} n={n:<7} {'sphere':<8} {t:10.4f} s  value {v:.10g}  [{name}]", flush=True)


def main(tasks):
    allt = ["hv2", "hv3", "hv4", "hv5a", "hv5b", "hv6", "rank2", "rank3", "rank5", "igd"]
    cap5 = {}
    for t in tasks or allt:
        if t == "hv2": bench_hv(2, 100000)
        elif t == "hv3": bench_hv(3, 100000)
        elif t == "hv4": bench_hv(4, 10000)
        elif t == "hv5a": bench_hv(5, 1000, cap5)
        elif t == "hv5b": bench_hv(5, 10000, cap5)
        elif t == "hv6": bench_hv(6, 1000)
        elif t == "rank2": bench_rank(2, 100000)
        elif t == "rank3": bench_rank(3, 100000)
        elif t == "rank5": bench_rank(5, 100000)
        elif t == "igd": bench_igd(3, 10000)
        else: print("unknown task", t, file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
