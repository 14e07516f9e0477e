/* test_gp.c -- exact GP: closed forms on one and two points, LML gradient
 * against finite differences, training, posterior samples against the
 * predicted moments, degenerate data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "linalg.h"
#include "optim.h"

static pg_gp *make_gp(pg_kernel_kind kind, size_t d, double ls, double var, double noise,
                      int standardize) {
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, kind, NULL, d), PG_OK);
  pg_kernel_init(k, ls, var);
  pg_gp_opts o = pg_gp_defaults();
  o.noise = noise;
  o.standardize = standardize;
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, k, &o), PG_OK);
  return g;
}

static double f1(const double *x, size_t d) {
  double s = 0.0;
  for (size_t j = 0; j < d; j++) s += sin(3.0 * x[j]) * (1.0 + 0.1 * (double)j);
  return s;
}

/* One training point: mean = k y / (s2 + nz), var = s2 - k^2 / (s2 + nz),
 * LML = log N(y; 0, s2 + nz). */
static void test_one_point(void **state) {
  (void)state;
  pg_gp *g = make_gp(PG_KERNEL_SE, 1, 0.7, 2.0, 0.1, 0);
  double x = 0.3, y = 1.5, xs = 1.0, m, v;
  assert_int_equal(pg_gp_fit(g, &x, 1, 1, &y), PG_OK);
  double k = 2.0 * exp(-0.5 * 0.49 / 0.49), c = 2.1;
  assert_int_equal(pg_gp_predict(g, &xs, 1, &m, &v), PG_OK);
  assert_true(fabs(m - k * y / c) < 1e-13);
  assert_true(fabs(v - (2.0 - k * k / c)) < 1e-13);
  double lml = -0.5 * y * y / c - 0.5 * log(2 * M_PI * c);
  assert_true(fabs(pg_gp_loglik(g) - lml) < 1e-13);
  pg_gp_free(g);
}

/* Two points: explicit 2 x 2 inverse. */
static void test_two_points(void **state) {
  (void)state;
  pg_gp *g = make_gp(PG_KERNEL_MATERN32, 2, 0.5, 1.3, 0.05, 0);
  double X[4] = {0.1, 0.2, 0.4, 0.0}, y[2] = {1.0, -0.5}, xs[2] = {0.3, 0.3}, m, v;
  assert_int_equal(pg_gp_fit(g, X, 2, 2, y), PG_OK);
  assert_int_equal(pg_gp_predict(g, xs, 1, &m, &v), PG_OK);
  double K[4], ks[2];
  pg_kernel_matrix(pg_gp_kernel(g), X, 2, X, 2, 2, K);
  pg_kernel_matrix(pg_gp_kernel(g), xs, 1, X, 2, 2, ks);
  K[0] += 0.05;
  K[3] += 0.05;
  double det = K[0] * K[3] - K[1] * K[2];
  double Ki[4] = {K[3] / det, -K[1] / det, -K[2] / det, K[0] / det};
  double a0 = Ki[0] * y[0] + Ki[1] * y[1], a1 = Ki[2] * y[0] + Ki[3] * y[1];
  double mm = ks[0] * a0 + ks[1] * a1;
  double vv = 1.3 - (ks[0] * (Ki[0] * ks[0] + Ki[1] * ks[1]) + ks[1] * (Ki[2] * ks[0] + Ki[3] * ks[1]));
  assert_true(fabs(m - mm) < 1e-12);
  assert_true(fabs(v - vv) < 1e-12);
  double lml = -0.5 * (y[0] * a0 + y[1] * a1) - 0.5 * log(det) - log(2 * M_PI);
  assert_true(fabs(pg_gp_loglik(g) - lml) < 1e-12);
  /* the full covariance agrees with the variances */
  double xs2[4] = {0.3, 0.3, -0.2, 0.9}, mu[2], C[4], vv2[2];
  assert_int_equal(pg_gp_predict_cov(g, xs2, 2, mu, C), PG_OK);
  assert_int_equal(pg_gp_predict(g, xs2, 2, NULL, vv2), PG_OK);
  assert_true(fabs(C[0] - vv2[0]) < 1e-12 && fabs(C[3] - vv2[1]) < 1e-12);
  assert_true(C[1] == C[2]);
  pg_gp_free(g);
}

/* LML gradient against central differences, for a product kernel with a
 * categorical block and with standardisation on. */
/* pg_gp_lml_grad's gradient at th against central differences of its
 * LML; returns the LML. */
static double check_lml_grad(pg_gp *g, const double *th) {
  size_t p = pg_gp_nparams(g);
  double gr[8], t[8], lml, fp, fm;
  assert_true(p <= 8);
  assert_int_equal(pg_gp_lml_grad(g, th, &lml, gr), PG_OK);
  for (size_t i = 0; i < p; i++) {
    memcpy(t, th, p * sizeof *t);
    t[i] += 1e-4;
    pg_gp_lml_grad(g, t, &fp, NULL);
    t[i] -= 2e-4;
    pg_gp_lml_grad(g, t, &fm, NULL);
    double fd = (fp - fm) / 2e-4;
    if (fabs(fd - gr[i]) > 1e-5 * fmax(1.0, fabs(gr[i])))
      fail_msg("n %zu param %zu analytic %.10g fd %.10g", pg_gp_n(g), i, gr[i], fd);
  }
  return lml;
}

static void test_lml_gradient(void **state) {
  (void)state;
  enum { N = 25, D = 4 };
  pg_rng r;
  pg_rng_seed(&r, 2);
  double X[N * D], y[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < D; j++) X[i * D + j] = j == 3 ? (double)pg_rng_below(&r, 3) : pg_rng_uniform(&r);
    y[i] = f1(X + i * D, 3) + X[i * D + 3] + 0.1 * pg_rng_normal(&r);
  }
  pg_kernel *ch[2], *k;
  size_t cont[3] = {0, 1, 2}, cat = 3;
  pg_kernel_new(&ch[0], PG_KERNEL_MATERN52, cont, 3);
  pg_kernel_new(&ch[1], PG_KERNEL_HAMMING, &cat, 1);
  assert_int_equal(pg_kernel_combine(&k, PG_KERNEL_PRODUCT, ch, 2), PG_OK);
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, k, NULL), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  size_t p = pg_gp_nparams(g);
  assert_int_equal(p, 4 + 2 + 1);
  double th[8], gr[8], lml;
  for (size_t i = 0; i < p; i++) th[i] = -0.4 + 0.13 * (double)i;
  th[p - 1] = log(0.03);
  lml = check_lml_grad(g, th);
  /* training does not lower the LML and keeps the model fitted */
  assert_int_equal(pg_gp_set_params(g, th), PG_OK);
  double before = pg_gp_loglik(g);
  assert_true(fabs(before - lml) < 1e-9);
  assert_int_equal(pg_gp_train(g, &r, 2), PG_OK);
  assert_true(pg_gp_loglik(g) >= before);
  /* at the optimum the gradient is small (or parameters sit at a bound) */
  pg_gp_get_params(g, th);
  assert_int_equal(pg_gp_lml_grad(g, th, &lml, gr), PG_OK);
  assert_true(fabs(lml - pg_gp_loglik(g)) < 1e-9);
  pg_gp_free(g);

  /* a base kernel at n = 300: the triangle-by-rows kernel and gradient
   * (rows longer than the 32-wide vector blocks of the distances) against central
   * differences, and the LML of the training factorisation against that of
   * the fitted model */
  enum { M = 300 };
  double *Xm = malloc(M * 3 * sizeof *Xm), *ym = malloc(M * sizeof *ym);
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < 3; j++) Xm[i * 3 + j] = pg_rng_uniform(&r);
    ym[i] = f1(Xm + i * 3, 3) + 0.1 * pg_rng_normal(&r);
  }
  pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, 3);
  assert_int_equal(pg_gp_new(&g, k, NULL), PG_OK);
  assert_int_equal(pg_gp_fit(g, Xm, M, 3, ym), PG_OK);
  double tm[5] = {log(0.4), log(0.7), log(1.3), log(1.5), log(0.02)};
  lml = check_lml_grad(g, tm);
  assert_int_equal(pg_gp_set_params(g, tm), PG_OK);
  assert_true(fabs(lml - pg_gp_loglik(g)) < 1e-9 * fabs(lml));
  pg_gp_free(g);
  free(Xm);
  free(ym);
}

/* Samples: empirical mean and covariance of many joint draws match. */
/* -LML and its gradient at theta for the reference optimiser below. */
static double neg_lml(const double *th, double *gr, void *ctx) {
  pg_gp *g = ctx;
  double l;
  if (pg_gp_lml_grad(g, th, &l, gr) != PG_OK) return INFINITY;
  if (gr)
    for (size_t i = 0; i < pg_gp_nparams(g); i++) gr[i] = -gr[i];
  return -l;
}

/* pg_gp_train (L-BFGS with the average information as its initial Hessian)
 * reaches the optimum that plain L-BFGS reaches from the same start with a
 * tight tolerance, with one irrelevant input (its lengthscale grows to the
 * bound) and the noise trained; at the end the gradient vanishes on the
 * parameters inside the box. */
static void test_train_optimum(void **state) {
  (void)state;
  enum { N = 150, D = 4 };
  pg_rng r;
  pg_rng_seed(&r, 12);
  double X[N * D], y[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < D; j++) X[i * D + j] = pg_rng_uniform(&r);
    y[i] = f1(X + i * D, 3) + 0.05 * pg_rng_normal(&r);
  }
  pg_gp *g = make_gp(PG_KERNEL_MATERN52, D, 1.0, 1.0, 0.1, 1);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  size_t P = pg_gp_nparams(g);
  double th[8], lo[8], hi[8], gr[8], f;
  pg_gp_get_params(g, th);
  pg_gp_opts o = pg_gp_defaults();
  for (size_t i = 0; i < P; i++) {
    lo[i] = log(i + 1 < P ? o.param_lo : o.noise_lo);
    hi[i] = log(i + 1 < P ? o.param_hi : o.noise_hi);
  }
  pg_lbfgs_opts lo_opts = pg_lbfgs_defaults();
  lo_opts.lower = lo;
  lo_opts.upper = hi;
  lo_opts.max_iter = 2000;
  lo_opts.max_evals = 6000;
  lo_opts.ftol = 0.0;
  lo_opts.gtol = 1e-7;
  assert_int_equal(pg_lbfgs(neg_lml, g, th, P, &lo_opts, &f, NULL), PG_OK);
  assert_int_equal(pg_gp_train(g, NULL, 1), PG_OK);
  double l = pg_gp_loglik(g);
  if (!(l >= -f - 1e-6 * fabs(f)))
    fail_msg("trained LML %.10f, reference optimum %.10f", l, -f);
  double t[8];
  pg_gp_get_params(g, t);

  assert_true(t[D - 1] > hi[D - 1] - 1e-9); /* the irrelevant input's lengthscale */
  assert_int_equal(pg_gp_lml_grad(g, t, &l, gr), PG_OK);
  for (size_t i = 0; i < P; i++) {
    if (t[i] <= lo[i] + 1e-9 || t[i] >= hi[i] - 1e-9) continue;
    assert_true(fabs(t[i] - th[i]) < 1e-2);
    if (!(fabs(gr[i]) < 1e-2)) fail_msg("parameter %zu: gradient %g at %g", i, gr[i], t[i]);
  }
  pg_gp_free(g);
}

static void test_samples(void **state) {
  (void)state;
  enum { N = 8, Q = 3, S = 20000 };
  pg_gp *g = make_gp(PG_KERNEL_SE, 1, 0.3, 1.0, 1e-2, 1);
  double X[N], y[N], xq[Q] = {0.05, 0.1, 0.9}, mu[Q], C[Q * Q];
  for (int i = 0; i < N; i++) {
    X[i] = i / (double)N;
    y[i] = 3.0 * sin(6 * X[i]) + 2.0;
  }
  assert_int_equal(pg_gp_fit(g, X, N, 1, y), PG_OK);
  assert_int_equal(pg_gp_predict_cov(g, xq, Q, mu, C), PG_OK);
  double *F = malloc(S * Q * sizeof *F);
  pg_rng r;
  pg_rng_seed(&r, 9);
  assert_int_equal(pg_gp_sample(g, xq, Q, S, &r, F), PG_OK);
  double em[Q] = {0}, ec[Q * Q] = {0};
  for (int s = 0; s < S; s++)
    for (int i = 0; i < Q; i++) em[i] += F[s * Q + i] / S;
  for (int s = 0; s < S; s++)
    for (int i = 0; i < Q; i++)
      for (int j = 0; j < Q; j++) ec[i * Q + j] += (F[s * Q + i] - em[i]) * (F[s * Q + j] - em[j]) / S;
  for (int i = 0; i < Q; i++) {
    assert_true(fabs(em[i] - mu[i]) < 5.0 * sqrt(C[i * Q + i] / S) + 1e-9);
    for (int j = 0; j < Q; j++)
      assert_true(fabs(ec[i * Q + j] - C[i * Q + j]) <
                  0.05 * sqrt(C[i * Q + i] * C[j * Q + j]) + 1e-12);
  }
  /* the first two points are strongly correlated */
  assert_true(C[1] / sqrt(C[0] * C[4]) > 0.5);
  free(F);
  pg_gp_free(g);
}

static void test_degenerate(void **state) {
  (void)state;
  /* duplicate inputs with almost no noise: jitter makes it factorise */
  pg_gp *g = make_gp(PG_KERNEL_MATERN52, 2, 0.5, 1.0, 1e-12, 1);
  double X[8] = {0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.7, 0.7}, y[4] = {1, 1.1, 0.9, -1}, m[2], v[2];
  assert_int_equal(pg_gp_fit(g, X, 4, 2, y), PG_OK);
  assert_int_equal(pg_gp_predict(g, X, 2, m, v), PG_OK);
  assert_true(fabs(m[0] - 1.0) < 1e-3); /* the average of the duplicates */
  pg_gp_free(g);
  /* exact duplicates and no noise: singular; the fit and the training
   * factorisation both escalate the same jitter */
  g = make_gp(PG_KERNEL_MATERN52, 2, 0.5, 1.0, 1e-300, 0);
  assert_int_equal(pg_gp_fit(g, X, 4, 2, y), PG_OK);
  assert_true(pg_gp_jitter(g) > 0.0);
  double th[4], gr[4], l;
  pg_gp_get_params(g, th);
  assert_int_equal(pg_gp_lml_grad(g, th, &l, gr), PG_OK);
  assert_true(fabs(l - pg_gp_loglik(g)) < 1e-6 * fabs(l));
  for (int i = 0; i < 4; i++) assert_true(isfinite(gr[i]));
  pg_gp_free(g);
  /* constant y: predictions are that constant */
  g = make_gp(PG_KERNEL_SE, 2, 0.5, 1.0, 1e-4, 1);
  double yc[4] = {2.5, 2.5, 2.5, 2.5}, Xd[8] = {0, 0, 1, 0, 0, 1, 1, 1}, xs[2] = {0.3, 0.8};
  assert_int_equal(pg_gp_fit(g, Xd, 4, 2, yc), PG_OK);
  assert_int_equal(pg_gp_predict(g, xs, 1, m, v), PG_OK);
  assert_true(fabs(m[0] - 2.5) < 1e-12 && isfinite(v[0]));
  pg_rng r;
  pg_rng_seed(&r, 1);
  assert_int_equal(pg_gp_train(g, &r, 2), PG_OK);
  assert_true(isfinite(pg_gp_loglik(g)));
  /* NaN and Inf inputs are rejected; the model stays usable */
  double bad[8] = {0, NAN, 1, 0, 0, 1, 1, 1};
  assert_int_equal(pg_gp_fit(g, bad, 4, 2, yc), PG_EDOM);
  double ybad[4] = {1, INFINITY, 0, 0};
  assert_int_equal(pg_gp_fit(g, Xd, 4, 2, ybad), PG_EDOM);
  assert_int_equal(pg_gp_predict(g, bad, 1, m, v), PG_EDOM);
  /* wrong dimension and state */
  assert_int_equal(pg_gp_fit(g, Xd, 8, 1, yc), PG_ESHAPE);
  pg_gp_free(g);
  g = make_gp(PG_KERNEL_SE, 1, 0.5, 1.0, 1e-4, 1);
  assert_int_equal(pg_gp_predict(g, xs, 1, m, v), PG_ESTATE);
  assert_true(isnan(pg_gp_loglik(g)));
  /* indefinite even after jitter: a clear status */
  pg_gp_opts o = pg_gp_defaults();
  o.jitter_tries = 0;
  o.noise = 1e-300;
  pg_kernel *k;
  pg_kernel_new(&k, PG_KERNEL_SE, NULL, 1);
  pg_gp_free(g);
  assert_int_equal(pg_gp_new(&g, k, &o), PG_OK);
  double xd[3] = {0.5, 0.5, 0.5}, yd[3] = {1, 2, 3};
  assert_int_equal(pg_gp_fit(g, xd, 3, 1, yd), PG_ENOTPD);
  assert_int_equal(pg_gp_n(g), 0);
  pg_gp_free(g);
  /* bad options */
  o = pg_gp_defaults();
  o.noise = -1.0;
  pg_kernel_new(&k, PG_KERNEL_SE, NULL, 1);
  assert_int_equal(pg_gp_new(&g, k, &o), PG_EINVAL);
}

/* d = 100, n = 60: fits, predicts the training targets closely. */
static void test_high_dim(void **state) {
  (void)state;
  enum { N = 60, D = 100 };
  pg_rng r;
  pg_rng_seed(&r, 4);
  double *X = malloc(N * D * sizeof *X), y[N], m[N], v[N];
  for (int i = 0; i < N * D; i++) X[i] = pg_rng_uniform(&r);
  for (int i = 0; i < N; i++) y[i] = f1(X + i * D, D);
  pg_gp *g = make_gp(PG_KERNEL_SE, D, 3.0, 1.0, 1e-6, 1);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  assert_int_equal(pg_gp_predict(g, X, N, m, v), PG_OK);
  for (int i = 0; i < N; i++) assert_true(fabs(m[i] - y[i]) < 1e-2 * (1 + fabs(y[i])));
  pg_gp_free(g);
  free(X);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_point), cmocka_unit_test(test_two_points),
      cmocka_unit_test(test_lml_gradient), cmocka_unit_test(test_train_optimum),
      cmocka_unit_test(test_samples),
      cmocka_unit_test(test_degenerate), cmocka_unit_test(test_high_dim),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
