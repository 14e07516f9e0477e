/*
 * bench_gp.c -- Gaussian-process timings (issue 3), side by side with
 * scikit-learn's GaussianProcessRegressor (bench/gp_peer.py) on the same data.
 *
 * Data: d = 10, x ~ U[0,1]^d, f(x) = sum_j (1 - 0.05 j) sin(3 x_j + j / 2)
 * + x_1 x_2, y = f + e, e ~ N(0, 1e-2) (noise variance 1e-2). Test points:
 * 10^4 fresh inputs, RMSE against the noiseless f.
 * Fixed hyperparameters on both sides: Matern 5/2 ARD with the lengthscales
 * and variance that perigee's ARD training finds at n = 1000 (noise fixed at
 * its true value 1e-2, no output standardisation); they are passed to the
 * peer in theta.bin. Wall-clock and process CPU seconds are both printed:
 * the machine is shared, CPU seconds are the steadier figure.
 *
 * Run (same BLAS settings for both sides, see /work/shared/research/blas.md):
 *   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 build/bench/bench_gp [--quick] [--no-peer]
 *   [--ard-only]   (only the ARD-training comparison at n = 1000)
 *   [--repeat N]   (with --ard-only: N alternating runs of both sides, then
 *                   the medians and the median of the per-pair ratios; the
 *                   shared machine's speed drifts, one pair is not a ratio)
 *   [--composite]  (only perigee's exact-GP training with composite kernels
 *                   at n = 1000, d = 8: Matern 5/2 x SE, their sum, Matern
 *                   5/2 x Hamming; no peer)
 * The peer is started with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread.
 * perigee's own loops use OpenMP (OMP_NUM_THREADS); set it with the BLAS threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp.h"
#include "kernel.h"
#include "parallel.h"
#include "sgp.h"

enum { D = 10, NTEST = 10000 };
static const double NOISE = 1e-2;
static double THETA[D + 1]; /* log lengthscales, log variance (from ARD training) */

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double ftrue(const double *x) {
  double s = x[0] * x[1];
  for (int j = 0; j < D; j++) s += (1.0 - 0.05 * j) * sin(3.0 * x[j] + 0.5 * j);
  return s;
}

static void gen(pg_rng *r, size_t n, double *X, double *y, double noise_sd) {
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < D; j++) X[i * D + j] = pg_rng_uniform(r);
    y[i] = ftrue(X + i * D) + noise_sd * pg_rng_normal(r);
  }
}

static pg_kernel *kern(void) {
  pg_kernel *k;
  if (pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, D) != PG_OK) exit(1);
  pg_kernel_set_params(k, THETA);
  return k;
}

static double rmse(const double *mu, const double *f, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (mu[i] - f[i]) * (mu[i] - f[i]);
  return sqrt(s / (double)n);
}

static void write_bin(const char *dir, const char *name, const double *a, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(a, sizeof *a, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fclose(f);
}

#define CHECK(x)                                                                          \
  do {                                                                                    \
    pg_status st_ = (x);                                                                  \
    if (st_ != PG_OK) {                                                                   \
      fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #x, pg_strerror(st_));     \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y); /* NaN last */
  return (x > y) - (x < y);
}

/* Median of the finite values of a[n] (NaN if none); their min and max. */
static double order_stats(const double *a, int n, double *lo, double *hi) {
  double *c = malloc((size_t)n * sizeof *c);
  memcpy(c, a, (size_t)n * sizeof *c);
  qsort(c, (size_t)n, sizeof *c, cmp_double);
  int k = 0;
  while (k < n && !isnan(c[k])) k++;
  double m = k == 0 ? NAN : (k % 2 ? c[k / 2] : 0.5 * (c[k / 2 - 1] + c[k / 2]));
  if (lo) *lo = k ? c[0] : NAN;
  if (hi) *hi = k ? c[k - 1] : NAN;
  free(c);
  return m;
}

/* perigee's ARD training at n = 1000 from scikit-learn's start; sets THETA,
 * prints the row, returns the wall seconds. mu: NTEST scratch. */
static double ard(const double *X, const double *y, const double *Xt, const double *ft,
                  double *mu) {
  pg_gp_opts o = pg_gp_defaults();
  o.noise = NOISE;
  o.standardize = 0;
  o.train_noise = 0;
  o.param_lo = 1e-5;
  o.param_hi = 1e5;
  pg_gp *g;
  pg_kernel *k;
  if (pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, D) != PG_OK) exit(1);
  pg_kernel_init(k, 1.0, 1.0); /* sklearn's default start */
  CHECK(pg_gp_new(&g, k, &o));
  double t0 = now(), c0 = cpu();
  CHECK(pg_gp_fit(g, X, 1000, D, y));
  pg_rng rr;
  pg_rng_seed(&rr, 1);
  CHECK(pg_gp_train(g, &rr, 1));
  double t1 = now(), c1 = cpu();
  pg_kernel_get_params(pg_gp_kernel(g), THETA);
  CHECK(pg_gp_predict(g, Xt, NTEST, mu, NULL));
  printf("\n## exact GP, ARD hyperparameter training, n = 1000, noise fixed (perigee)\n");
  printf("train_s %.3f (cpu %.3f)  lml %.8f  rmse %.4f\n", t1 - t0, c1 - c0, pg_gp_loglik(g),
         rmse(mu, ft, NTEST));
  printf("fixed hyperparameters used below: lengthscales");
  for (int j = 0; j < D; j++) printf(" %.4g", exp(THETA[j]));
  printf(", variance %.4g\n", exp(THETA[D]));
  fflush(stdout);
  pg_gp_free(g);
  return t1 - t0;
}

/* perigee's LML at n = 1000 with kernel log-parameters th (noise fixed). */
static double score(const double *X, const double *y, const double *th) {
  pg_gp_opts o = pg_gp_defaults();
  o.noise = NOISE;
  o.standardize = 0;
  pg_kernel *k;
  pg_gp *g;
  if (pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, D) != PG_OK) exit(1);
  CHECK(pg_kernel_set_params(k, th));
  CHECK(pg_gp_new(&g, k, &o));
  CHECK(pg_gp_fit(g, X, 1000, D, y));
  double l = pg_gp_loglik(g);
  pg_gp_free(g);
  return l;
}

/* perigee's exact-GP training with composite kernels (kernel.h) at n = 1000,
 * d = 8: x ~ U[0,1]^8 (inputs 7 and 8 in {0, 1, 2} for the Hamming kernel),
 * y = sum_j sin(3 x_j + j) + 0.1 e, from lengthscales and variances 1,
 * noise trained, one start. */
static void composite(void) {
  enum { N = 1000, DC = 8 };
  const char *names[3] = {"matern52{1-4} x se{5-8}", "matern52{1-4} + se{5-8}",
                          "matern52{1-6} x hamming{7,8}"};
  printf("\n## exact GP, training with composite kernels, n = %d, d = %d (perigee)\n", N, DC);
  for (int kind = 0; kind < 3; kind++) {
    pg_rng r;
    pg_rng_seed(&r, 3);
    double *X = malloc(N * DC * sizeof *X), *y = malloc(N * sizeof *y);
    for (size_t i = 0; i < N; i++) {
      double s = 0.0;
      for (int j = 0; j < DC; j++) {
        double v = j >= 6 && kind == 2 ? (double)pg_rng_below(&r, 3) : pg_rng_uniform(&r);
        X[i * DC + j] = v;
        s += sin(3.0 * v + j);
      }
      y[i] = s + 0.1 * pg_rng_normal(&r);
    }
    size_t a[6] = {0, 1, 2, 3, 4, 5}, b[4] = {4, 5, 6, 7}, h[2] = {6, 7};
    pg_kernel *ch[2], *k;
    if (kind == 2) {
      CHECK(pg_kernel_new(&ch[0], PG_KERNEL_MATERN52, a, 6));
      CHECK(pg_kernel_new(&ch[1], PG_KERNEL_HAMMING, h, 2));
    } else {
      CHECK(pg_kernel_new(&ch[0], PG_KERNEL_MATERN52, a, 4));
      CHECK(pg_kernel_new(&ch[1], PG_KERNEL_SE, b, 4));
    }
    CHECK(pg_kernel_combine(&k, kind == 1 ? PG_KERNEL_SUM : PG_KERNEL_PRODUCT, ch, 2));
    pg_gp *g;
    CHECK(pg_gp_new(&g, k, NULL));
    double t0 = now(), c0 = cpu();
    CHECK(pg_gp_fit(g, X, N, DC, y));
    CHECK(pg_gp_train(g, NULL, 1));
    printf("%-30s train_s %.3f (cpu %.3f)  lml %.6f\n", names[kind], now() - t0, cpu() - c0,
           pg_gp_loglik(g));
    pg_gp_free(g);
    free(X);
    free(y);
  }
}

/* bench/gp_peer.py on the files in dir; its output into out. */
static void run_peer(const char *dir, const char *mode, char *out, size_t len) {
  char script[1024];
  snprintf(script, sizeof script, "%s", __FILE__);
  char *slash = strrchr(script, '/');
  if (slash)
    strcpy(slash + 1, "gp_peer.py");
  else
    strcpy(script, "bench/gp_peer.py");
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 %s %s %s",
           script, dir, mode);
  fprintf(stderr, "running the scikit-learn peer: %s\n", cmd);
  out[0] = 0;
  FILE *p = popen(cmd, "r");
  if (p) {
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    if (pclose(p) != 0) fprintf(stderr, "peer failed (is python3-sklearn installed?)\n");
  }
}

int main(int argc, char **argv) {
  int quick = 0, peer = 1, ard_only = 0, repeat = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    if (strcmp(argv[i], "--ard-only") == 0) ard_only = 1;
    if (strcmp(argv[i], "--no-peer") == 0) peer = 0;
    if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
    if (strcmp(argv[i], "--composite") == 0) {
      composite();
      return 0;
    }
  }
  if (repeat < 1) repeat = 1;
  const char *ct = getenv("OPENBLAS_CORETYPE"), *nt = getenv("OPENBLAS_NUM_THREADS");
  printf("# bench_gp: d = %d, Matern 5/2 ARD, noise %.2g; OPENBLAS_CORETYPE=%s "
         "OPENBLAS_NUM_THREADS=%s, perigee's OpenMP threads %d\n",
         D, NOISE, ct ? ct : "(unset)", nt ? nt : "(unset)", pg_threads_get());
  size_t NMAX = quick ? 10000 : 100000, NPRED = quick ? 100000 : 1000000;
  pg_rng r;
  pg_rng_seed(&r, 2024);
  double *X = malloc(NMAX * D * sizeof *X), *y = malloc(NMAX * sizeof *y);
  double *Xt = malloc(NTEST * D * sizeof *Xt), *ft = malloc(NTEST * sizeof *ft);
  double *Xp = malloc(NPRED * D * sizeof *Xp), *mp = malloc(NPRED * sizeof *mp),
         *vp = malloc(NPRED * sizeof *vp);
  double *mu = malloc(NTEST * sizeof *mu), *va = malloc(NTEST * sizeof *va);
  gen(&r, NMAX, X, y, sqrt(NOISE));
  gen(&r, NTEST, Xt, ft, 0.0);
  for (size_t i = 0; i < NPRED * D; i++) Xp[i] = pg_rng_uniform(&r);

  /* ---- exact GP, ARD training at n = 1000, and the peer ---- */
  char dir[] = "/tmp/bench_gp_XXXXXX";
  if (peer) {
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      return 1;
    }
    write_bin(dir, "X.bin", X, 8000 * D);
    write_bin(dir, "y.bin", y, 8000);
    write_bin(dir, "Xt.bin", Xt, NTEST * D);
    write_bin(dir, "ft.bin", ft, NTEST);
  }
  if (!ard_only) repeat = 1;
  double *ts = malloc(5 * (size_t)repeat * sizeof *ts), *tp = ts + repeat, *rt = tp + repeat;
  double *lw = rt + repeat; /* LML differences of the end points, two scorers */
  char peer_out[8192] = "";
  for (int r = 0; r < repeat; r++) {
    ts[r] = ard(X, y, Xt, ft, mu);
    tp[r] = rt[r] = lw[r] = lw[repeat + r] = NAN;
    if (!peer) continue;
    write_bin(dir, "theta.bin", THETA, D + 1);
    run_peer(dir, quick ? "--quick" : (ard_only ? "--ard-only" : ""), peer_out, sizeof peer_out);
    const char *line = strstr(peer_out, "ARD training n = 1000: train_s ");
    if (line) {
      tp[r] = atof(line + strlen("ARD training n = 1000: train_s "));
      rt[r] = tp[r] / ts[r];
    }
    if (ard_only) printf("scikit-learn %s", line ? line : "(no output)\n");
    /* the two end points scored by each side's code */
    const char *sp = strstr(peer_out, "ARD scikit-learn's LML at perigee's end point: ");
    const char *se = strstr(peer_out, "ARD scikit-learn's end point:");
    if (sp && se) {
      double ths[D + 1], own = NAN;
      char *q = (char *)se + strlen("ARD scikit-learn's end point:");
      for (int j = 0; j <= D; j++) ths[j] = strtod(q, &q);
      const char *ol = strstr(line, "lml ");
      if (ol) own = atof(ol + 4);
      double sk_p = atof(sp + strlen("ARD scikit-learn's LML at perigee's end point: "));
      double pg_p = score(X, y, THETA), pg_s = score(X, y, ths);
      lw[r] = sk_p - own;
      lw[repeat + r] = pg_p - pg_s;
      printf("LML of the end points, perigee's minus scikit-learn's: %+.2e by scikit-learn's code "
             "(%.8f, %.8f), %+.2e by perigee's (%.8f, %.8f)\n",
             lw[r], sk_p, own, lw[repeat + r], pg_p, pg_s);
    }
    if (repeat > 1) printf("pair %d: ratio %.2f\n", r + 1, rt[r]);
    fflush(stdout);
  }
  if (repeat > 1) {
    double lo, hi;
    double mr = order_stats(rt, repeat, &lo, &hi);
    printf("\n## ARD training, %d alternating pairs: median perigee %.3f s, scikit-learn %.3f s; "
           "ratio median %.2f (min %.2f, max %.2f)\n",
           repeat, order_stats(ts, repeat, NULL, NULL), order_stats(tp, repeat, NULL, NULL), mr, lo,
           hi);
    double l1, h1, l2, h2;
    order_stats(lw, repeat, &l1, &h1);
    order_stats(lw + repeat, repeat, &l2, &h2);
    printf("## LML of the end points, perigee's minus scikit-learn's: %+.2e to %+.2e by "
           "scikit-learn's code, %+.2e to %+.2e by perigee's\n", l1, h1, l2, h2);
  }
  free(ts);
  if (peer) {
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  if (ard_only) return 0;

  /* ---- exact GP, fixed hyperparameters ---- */
  printf("\n## exact GP, fixed hyperparameters (perigee)\n");
  printf("%8s %10s %10s %14s %14s %10s\n", "n", "fit_s", "fit_cpu", "fit+1e4_s", "fit+1e4_cpu", "rmse");
  size_t ns[4] = {1000, 2000, 4000, 8000};
  for (int t = 0; t < (quick ? 3 : 4); t++) {
    size_t n = ns[t];
    pg_gp_opts o = pg_gp_defaults();
    o.noise = NOISE;
    o.standardize = 0;
    pg_gp *g;
    CHECK(pg_gp_new(&g, kern(), &o));
    double t0 = now(), c0 = cpu();
    CHECK(pg_gp_fit(g, X, n, D, y));
    double t1 = now(), c1 = cpu();
    if (t == (quick ? 2 : 3)) { /* predictions at the largest n only */
      CHECK(pg_gp_predict(g, Xt, NTEST, mu, va));
      double t2 = now(), c2 = cpu();
      printf("%8zu %10.3f %10.3f %14.3f %14.3f %10.4f\n", n, t1 - t0, c1 - c0, t2 - t0, c2 - c0,
             rmse(mu, ft, NTEST));
    } else {
      printf("%8zu %10.3f %10.3f %14s %14s %10s\n", n, t1 - t0, c1 - c0, "-", "-", "-");
    }
    fflush(stdout);
    pg_gp_free(g);
  }

  /* ---- sparse GP ---- */
  printf("\n## sparse GP (VFE, k-means++), fixed hyperparameters (perigee)\n");
  printf("%8s %5s %10s %10s %10s %10s %10s %10s\n", "n", "m", "fit_s", "fit_cpu", "rmse",
         "pred_s", "pred_cpu", "npred");
  size_t sn[3] = {1000, 10000, 100000}, sm[3] = {64, 256, 512};
  for (int a = 0; a < 3; a++) {
    if (sn[a] > NMAX) break;
    for (int b = 0; b < 3; b++) {
      size_t n = sn[a], m = sm[b];
      pg_sgp_opts o = pg_sgp_defaults();
      o.m = m;
      o.noise = NOISE;
      o.standardize = 0;
      pg_sgp *s;
      CHECK(pg_sgp_new(&s, kern(), &o));
      pg_rng rr;
      pg_rng_seed(&rr, 5);
      double t0 = now(), c0 = cpu();
      CHECK(pg_sgp_fit(s, X, n, D, y, &rr));
      double t1 = now(), c1 = cpu();
      CHECK(pg_sgp_predict(s, Xt, NTEST, mu, va));
      double e = rmse(mu, ft, NTEST), tp = NAN, cp = NAN;
      if (n == sn[2] || (quick && n == NMAX)) {
        double t2 = now(), c2 = cpu();
        CHECK(pg_sgp_predict(s, Xp, NPRED, mp, vp));
        tp = now() - t2;
        cp = cpu() - c2;
      }
      printf("%8zu %5zu %10.3f %10.3f %10.4f %10.3f %10.3f %10zu\n", n, m, t1 - t0, c1 - c0, e, tp,
             cp, isnan(tp) ? (size_t)0 : NPRED);
      fflush(stdout);
      pg_sgp_free(s);
    }
  }

  /* sparse m = 256 at n = 8000: fit + 10^4 predictions (vs sklearn exact),
   * with k-means++ inducing inputs as selected, then with them moved by
   * L-BFGS on the VFE bound (analytic dF/dZ, all 8000 points, hyperparameters
   * fixed): pg_sgp_opts.inducing_iters */
  printf("\n## sparse GP m = 256, n = 8000: fit + 1e4 predictions (mean, variance)\n");
  int zits[4] = {0, 4, 5, 8};
  for (int t = 0; t < 4; t++) {
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = 256;
    o.noise = NOISE;
    o.standardize = 0;
    o.inducing_iters = zits[t];
    o.inducing_max = 0;
    pg_sgp *s;
    CHECK(pg_sgp_new(&s, kern(), &o));
    pg_rng rr;
    pg_rng_seed(&rr, 5);
    double t0 = now(), c0 = cpu();
    CHECK(pg_sgp_fit(s, X, 8000, D, y, &rr));
    CHECK(pg_sgp_predict(s, Xt, NTEST, mu, va));
    double t1 = now(), c1 = cpu();
    printf("inducing_iters %d: fit+pred_s %.3f (cpu %.3f)  rmse %.4f  bound %.1f\n", zits[t],
           t1 - t0, c1 - c0, rmse(mu, ft, NTEST), pg_sgp_loglik(s));
    fflush(stdout);
    pg_sgp_free(s);
  }

  /* sparse training at the largest n, m = 256 */
  {
    size_t n = NMAX;
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = 256;
    o.noise = NOISE;
    pg_sgp *s;
    pg_kernel *k = kern();
    pg_kernel_init(k, 1.0, 1.0); /* untrained start */
    CHECK(pg_sgp_new(&s, k, &o));
    pg_rng rr;
    pg_rng_seed(&rr, 5);
    double t0 = now();
    CHECK(pg_sgp_fit(s, X, n, D, y, &rr));
    double F0 = pg_sgp_loglik(s);
    double th[16], g[16];
    pg_sgp_get_params(s, th);
    double t1 = now();
    CHECK(pg_sgp_bound_grad(s, th, &F0, g));
    double t2 = now(), c2 = cpu();
    CHECK(pg_sgp_train(s, &rr, 1));
    double t3 = now(), c3 = cpu();
    CHECK(pg_sgp_predict(s, Xt, NTEST, mu, NULL));
    printf("\n## sparse GP training (VFE, m = 256, n = %zu, 1 L-BFGS start from ls 1 var 1, noise "
           "trained, objective on a %zu-point subset, then refit on all)\n",
           n, o.train_max);
    printf("fit_s %.3f  full-data bound+grad_s %.3f  train_s %.3f (cpu %.3f)  bound %.2f -> %.2f  "
           "rmse %.4f\n",
           t1 - t0, t2 - t1, t3 - t2, c3 - c2, F0, pg_sgp_loglik(s), rmse(mu, ft, NTEST));
    pg_sgp_free(s);
  }

  if (peer) printf("\n## scikit-learn %s", peer_out[0] ? peer_out : "(no output)\n");
  free(X);
  free(y);
  free(Xt);
  free(ft);
  free(Xp);
  free(mp);
  free(vp);
  free(mu);
  free(va);
  return 0;
}
