"""scikit-learn side of bench/bench_gp.c (issue 3).

Reads the data bench_gp wrote (float64 raw files: X.bin 8000 x 10, y.bin,
Xt.bin 10^4 x 10, ft.bin) and times GaussianProcessRegressor with the same
fixed hyperparameters (Matern 5/2, lengthscale 0.8, variance 2, alpha =
noise 1e-2, normalize_y False), then ARD training at n = 1000 (noise fixed,
default L-BFGS-B, no restarts). Run by bench_gp with
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

D, LS, VAR, NOISE = 10, 0.8, 2.0, 1e-2


def main():
    d = sys.argv[1]
    quick = "--quick" in sys.argv
    X = np.fromfile(os.path.join(d, "X.bin")).reshape(-1, D)
    y = np.fromfile(os.path.join(d, "y.bin"))
    Xt = np.fromfile(os.path.join(d, "Xt.bin")).reshape(-1, D)
    ft = np.fromfile(os.path.join(d, "ft.bin"))
    print("%s (numpy %s)" % (sklearn.__version__, np.__version__))
    print("exact GP, fixed hyperparameters")
    print("%8s %10s %12s %10s" % ("n", "fit_s", "fit+1e4_s", "rmse"))
    sizes = [1000, 2000, 4000] if quick else [1000, 2000, 4000, 8000]
    for n in sizes:
        k = ConstantKernel(VAR, "fixed") * Matern([LS] * D, "fixed", nu=2.5)
        g = GaussianProcessRegressor(k, alpha=NOISE, optimizer=None, normalize_y=False)
        t0 = time.perf_counter()
        g.fit(X[:n], y[:n])
        t1 = time.perf_counter()
        mu, sd = g.predict(Xt, return_std=True)
        t2 = time.perf_counter()
        rmse = np.sqrt(np.mean((mu - ft) ** 2))
        print("%8d %10.3f %12.3f %10.4f" % (n, t1 - t0, t2 - t0, rmse), flush=True)
    k = ConstantKernel(1.0, (1e-5, 1e5)) * Matern([1.0] * D, (1e-5, 1e5), nu=2.5)
    g = GaussianProcessRegressor(k, alpha=NOISE, normalize_y=False, n_restarts_optimizer=0)
    t0 = time.perf_counter()
    g.fit(X[:1000], y[:1000])
    t1 = time.perf_counter()
    mu = g.predict(Xt)
    rmse = np.sqrt(np.mean((mu - ft) ** 2))
    print("ARD training n = 1000: train_s %.3f  lml %.4f  rmse %.4f"
          % (t1 - t0, g.log_marginal_likelihood_value_, rmse))


if __name__ == "__main__":
    main()
