"""scikit-learn side of bench/bench_gp.c (issue 3).

Reads the data bench_gp wrote (float64 raw files: X.bin 8000 x 10, y.bin,
Xt.bin 10^4 x 10, ft.bin, theta.bin = log lengthscales and log variance) and
times GaussianProcessRegressor with those fixed hyperparameters (Matern 5/2
ARD, alpha = noise 1e-2, normalize_y False; predictions of 10^4 points only
at the largest n), then ARD training at n = 1000 (noise fixed, default
L-BFGS-B, no restarts). Prints wall and process CPU seconds. Run by bench_gp with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread so both sides use
the same OpenBLAS, and OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS inherited.
"""
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern

D, NOISE = 10, 1e-2


def main():
    d = sys.argv[1]
    quick = "--quick" in sys.argv
    ard_only = "--ard-only" in sys.argv
    X = np.fromfile(os.path.join(d, "X.bin")).reshape(-1, D)
    y = np.fromfile(os.path.join(d, "y.bin"))
    Xt = np.fromfile(os.path.join(d, "Xt.bin")).reshape(-1, D)
    ft = np.fromfile(os.path.join(d, "ft.bin"))
    th = np.exp(np.fromfile(os.path.join(d, "theta.bin")))
    ls, var = list(th[:D]), float(th[D])
    print("%s (numpy %s)" % (sklearn.__version__, np.__version__))
    print("exact GP, fixed hyperparameters")
    print("%8s %10s %10s %14s %14s %10s"
          % ("n", "fit_s", "fit_cpu", "fit+1e4_s", "fit+1e4_cpu", "rmse"))
    sizes = [] if ard_only else [1000, 2000, 4000] if quick else [1000, 2000, 4000, 8000]
    for n in sizes:
        k = ConstantKernel(var, "fixed") * Matern(ls, "fixed", nu=2.5)
        g = GaussianProcessRegressor(k, alpha=NOISE, optimizer=None, normalize_y=False)
        t0, c0 = time.perf_counter(), time.process_time()
        g.fit(X[:n], y[:n])
        t1, c1 = time.perf_counter(), time.process_time()
        if n == sizes[-1]:
            mu, sd = g.predict(Xt, return_std=True)
            t2, c2 = time.perf_counter(), time.process_time()
            rmse = np.sqrt(np.mean((mu - ft) ** 2))
            print("%8d %10.3f %10.3f %14.3f %14.3f %10.4f"
                  % (n, t1 - t0, c1 - c0, t2 - t0, c2 - c0, rmse), flush=True)
        else:
            print("%8d %10.3f %10.3f %14s %14s %10s" % (n, t1 - t0, c1 - c0, "-", "-", "-"),
                  flush=True)
    k = ConstantKernel(1.0, (1e-5, 1e5)) * Matern([1.0] * D, (1e-5, 1e5), nu=2.5)
    g = GaussianProcessRegressor(k, alpha=NOISE, normalize_y=False, n_restarts_optimizer=0)
    t0, c0 = time.perf_counter(), time.process_time()
    g.fit(X[:1000], y[:1000])
    t1, c1 = time.perf_counter(), time.process_time()
    mu = g.predict(Xt)
    rmse = np.sqrt(np.mean((mu - ft) ** 2))
    print("ARD training n = 1000: train_s %.3f (cpu %.3f)  lml %.8f  rmse %.4f"
          % (t1 - t0, c1 - c0, g.log_marginal_likelihood_value_, rmse))
    # both end points scored by one implementation: scikit-learn's LML at
    # perigee's hyperparameters (theta.bin: log lengthscales, log variance;
    # scikit-learn orders the log constant first), and its own end point in
    # perigee's order for bench_gp to score
    tp = np.fromfile(os.path.join(d, "theta.bin"))
    print("ARD scikit-learn's LML at perigee's end point: %.8f"
          % g.log_marginal_likelihood(np.r_[tp[D], tp[:D]]))
    ts = g.kernel_.theta
    print("ARD scikit-learn's end point:" + "".join(" %.17g" % v for v in np.r_[ts[1:], ts[0]]))


if __name__ == "__main__":
    main()
