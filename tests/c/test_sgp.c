/* test_sgp.c -- sparse GP: m = n at the training inputs reproduces the exact
 * GP (VFE and FITC), the VFE bound stays below the exact LML and grows with
 * nested inducing sets, analytic gradients against finite differences,
 * inducing selection, samples, degenerate data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "sgp.h"

enum { N = 40, D = 3 };

static void data(double *X, double *y, size_t n, size_t d, uint64_t seed) {
  pg_rng r;
  pg_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < d; j++) {
      X[i * d + j] = pg_rng_uniform(&r);
      s += sin(4.0 * X[i * d + j] + (double)j);
    }
    y[i] = 2.0 * s + 1.0 + 0.05 * pg_rng_normal(&r);
  }
}

static pg_kernel *kern(size_t d) {
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, d), PG_OK);
  pg_kernel_init(k, 0.4, 1.3);
  return k;
}

static pg_sgp *make_sgp(pg_sgp_method method, size_t m, pg_sgp_select sel, double noise) {
  pg_sgp_opts o = pg_sgp_defaults();
  o.jitter = 1e-10; /* the bound moves by about n jitter s2 / (2 noise) */
  o.m = m;
  o.method = method;
  o.select = sel;
  o.noise = noise;
  pg_sgp *s;
  assert_int_equal(pg_sgp_new(&s, kern(D), &o), PG_OK);
  return s;
}

static void test_equals_exact_when_m_is_n(void **state) {
  (void)state;
  double X[N * D], y[N], Xc[10 * D], yc[10];
  data(X, y, N, D, 1);
  data(Xc, yc, 10, D, 2);
  pg_gp_opts go = pg_gp_defaults();
  go.noise = 0.01;
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, kern(D), &go), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  double me[10], ve[10], ms[10], vs[10], Ce[100], Cs[100];
  pg_gp_predict(g, Xc, 10, me, ve);
  pg_gp_predict_cov(g, Xc, 10, NULL, Ce);
  for (int method = 0; method < 2; method++) {
    pg_sgp *s = make_sgp((pg_sgp_method)method, N, PG_SGP_SELECT_RANDOM, 0.01);
    pg_rng r;
    pg_rng_seed(&r, 3);
    assert_int_equal(pg_sgp_fit(s, X, N, D, y, &r), PG_OK);
    assert_int_equal(pg_sgp_m(s), N);
    double lg = pg_gp_loglik(g), ls = pg_sgp_loglik(s);
    if (fabs(lg - ls) > 1e-5 * fabs(lg)) fail_msg("method %d: exact %.10g sparse %.10g", method, lg, ls);
    assert_int_equal(pg_sgp_predict(s, Xc, 10, ms, vs), PG_OK);
    assert_int_equal(pg_sgp_predict_cov(s, Xc, 10, NULL, Cs), PG_OK);
    for (int i = 0; i < 10; i++) {
      assert_true(fabs(ms[i] - me[i]) < 1e-5 * (1 + fabs(me[i])));
      assert_true(fabs(vs[i] - ve[i]) < 1e-5 * (1 + ve[i]));
      assert_true(fabs(Cs[i * 10 + i] - vs[i]) < 1e-9 * (1 + vs[i]));
    }
    for (int i = 0; i < 100; i++) assert_true(fabs(Cs[i] - Ce[i]) < 1e-5);
    pg_sgp_free(s);
  }
  pg_gp_free(g);
}

static void test_vfe_below_exact_and_monotone(void **state) {
  (void)state;
  double X[N * D], y[N];
  data(X, y, N, D, 4);
  pg_gp_opts go = pg_gp_defaults();
  go.noise = 0.02;
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, kern(D), &go), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  double lml = pg_gp_loglik(g), prev = -INFINITY;
  /* greedy selections are nested (a prefix of a pivoted Cholesky), and the
   * Titsias bound can only grow when inducing points are added */
  for (size_t m = 2; m <= N; m += 6) {
    pg_sgp *s = make_sgp(PG_SGP_VFE, m, PG_SGP_SELECT_GREEDY, 0.02);
    assert_int_equal(pg_sgp_fit(s, X, N, D, y, NULL), PG_OK);
    double F = pg_sgp_loglik(s);
    assert_true(F <= lml + 1e-8);
    assert_true(F >= prev - 1e-8);
    prev = F;
    pg_sgp_free(s);
  }
  /* random subsets too */
  pg_rng r;
  pg_rng_seed(&r, 8);
  for (int t = 0; t < 5; t++) {
    pg_sgp *s = make_sgp(PG_SGP_VFE, 5 + 5 * (size_t)t, PG_SGP_SELECT_RANDOM, 0.02);
    assert_int_equal(pg_sgp_fit(s, X, N, D, y, &r), PG_OK);
    assert_true(pg_sgp_loglik(s) <= lml + 1e-8);
    pg_sgp_free(s);
  }
  pg_gp_free(g);
}

static void test_gradients(void **state) {
  (void)state;
  enum { NG = 30, DG = 3 };
  pg_rng r;
  pg_rng_seed(&r, 6);
  double X[NG * DG], y[NG];
  for (int i = 0; i < NG; i++) {
    X[i * DG] = pg_rng_uniform(&r);
    X[i * DG + 1] = pg_rng_uniform(&r);
    X[i * DG + 2] = (double)pg_rng_below(&r, 3);
    y[i] = sin(5 * X[i * DG]) + X[i * DG + 2] * X[i * DG + 1];
  }
  for (int method = 0; method < 2; method++) {
    pg_kernel *ch[2], *k;
    size_t cont[2] = {0, 1}, cat = 2;
    pg_kernel_new(&ch[0], PG_KERNEL_SE, cont, 2);
    pg_kernel_new(&ch[1], PG_KERNEL_HAMMING, &cat, 1);
    pg_kernel_combine(&k, method ? PG_KERNEL_SUM : PG_KERNEL_PRODUCT, ch, 2);
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = 9;
    o.method = (pg_sgp_method)method;
    pg_sgp *s;
    assert_int_equal(pg_sgp_new(&s, k, &o), PG_OK);
    assert_int_equal(pg_sgp_fit(s, X, NG, DG, y, &r), PG_OK);
    size_t p = pg_sgp_nparams(s);
    double th[8], gr[8], t[8], F, fp, fm;
    for (size_t i = 0; i < p; i++) th[i] = -0.5 + 0.21 * (double)i;
    th[p - 1] = log(0.05);
    assert_int_equal(pg_sgp_bound_grad(s, th, &F, gr), PG_OK);
    for (size_t i = 0; i < p; i++) {
      memcpy(t, th, sizeof t);
      t[i] += 1e-4;
      pg_sgp_bound_grad(s, t, &fp, NULL);
      t[i] -= 2e-4;
      pg_sgp_bound_grad(s, t, &fm, NULL);
      double fd = (fp - fm) / 2e-4;
      if (fabs(fd - gr[i]) > 1e-5 * fmax(1.0, fabs(gr[i])))
        fail_msg("%s param %zu analytic %.10g fd %.10g", method ? "fitc" : "vfe", i, gr[i], fd);
    }
    /* training raises the objective */
    assert_int_equal(pg_sgp_set_params(s, th), PG_OK);
    double before = pg_sgp_loglik(s);
    assert_true(fabs(before - F) < 1e-9 * fabs(F));
    assert_int_equal(pg_sgp_train(s, &r, 2), PG_OK);
    assert_true(pg_sgp_loglik(s) > before);
    pg_sgp_free(s);
  }
}

/* dF/dZ against central differences (VFE and FITC, product and sum kernels
 * with a categorical block: that column gets 0), and the Z optimiser raises
 * the bound and moves Z while a fit with inducing_iters does the same. */
static void test_inducing_gradient(void **state) {
  (void)state;
  enum { NG = 30, DG = 3, MG = 6 };
  pg_rng r;
  pg_rng_seed(&r, 16);
  double X[NG * DG], y[NG];
  for (int i = 0; i < NG; i++) {
    X[i * DG] = pg_rng_uniform(&r);
    X[i * DG + 1] = pg_rng_uniform(&r);
    X[i * DG + 2] = (double)pg_rng_below(&r, 3);
    y[i] = sin(5 * X[i * DG]) + X[i * DG + 2] * X[i * DG + 1];
  }
  for (int c = 0; c < 4; c++) {
    int method = c & 1, sum = c >> 1;
    pg_kernel *ch[2], *k;
    size_t cont[2] = {0, 1}, cat = 2;
    pg_kernel_new(&ch[0], method ? PG_KERNEL_MATERN32 : PG_KERNEL_SE, cont, 2);
    pg_kernel_new(&ch[1], PG_KERNEL_HAMMING, &cat, 1);
    pg_kernel_combine(&k, sum ? PG_KERNEL_SUM : PG_KERNEL_PRODUCT, ch, 2);
    pg_kernel_init(k, 0.3, 1.0);
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = MG;
    o.method = (pg_sgp_method)method;
    o.noise = 0.05;
    o.jitter = 1e-10;
    pg_sgp *s;
    assert_int_equal(pg_sgp_new(&s, k, &o), PG_OK);
    assert_int_equal(pg_sgp_fit(s, X, NG, DG, y, &r), PG_OK);
    assert_int_equal(pg_sgp_m(s), MG);
    double Z[MG * DG], g[MG * DG], F, fp, fm;
    memcpy(Z, pg_sgp_inducing(s), sizeof Z);
    for (int i = 0; i < MG * DG; i++)
      if (i % DG < 2) Z[i] += 0.03 * pg_rng_normal(&r); /* off the data points */
    assert_int_equal(pg_sgp_bound_grad_z(s, Z, &F, g), PG_OK);
    for (int i = 0; i < MG * DG; i++) {
      double z0 = Z[i], h = 1e-5, fd = 0.0;
      if (i % DG < 2) {
        Z[i] = z0 + h;
        assert_int_equal(pg_sgp_bound_grad_z(s, Z, &fp, NULL), PG_OK);
        Z[i] = z0 - h;
        assert_int_equal(pg_sgp_bound_grad_z(s, Z, &fm, NULL), PG_OK);
        Z[i] = z0;
        fd = (fp - fm) / (2 * h);
      }
      if (fabs(fd - g[i]) > 1e-5 * fmax(1.0, fabs(g[i])))
        fail_msg("%s %s dZ[%d]: analytic %.10g fd %.10g", method ? "fitc" : "vfe",
                 sum ? "sum" : "product", i, g[i], fd);
    }
    /* the optimiser raises the bound; the categorical column stays */
    double before = pg_sgp_loglik(s), Z0[MG * DG];
    memcpy(Z0, pg_sgp_inducing(s), sizeof Z0);
    assert_int_equal(pg_sgp_optimize_inducing(s, 20, 0, NULL), PG_OK);
    assert_true(pg_sgp_loglik(s) > before);
    double F2;
    assert_int_equal(pg_sgp_bound_grad_z(s, pg_sgp_inducing(s), &F2, NULL), PG_OK);
    assert_true(fabs(F2 - pg_sgp_loglik(s)) < 1e-9 * fabs(F2));
    for (int i = 2; i < MG * DG; i += DG) assert_true(pg_sgp_inducing(s)[i] == Z0[i]);
    pg_sgp_free(s);
  }
  /* fit with inducing_iters: the same selection (same rng), then a higher bound */
  pg_sgp *a = make_sgp(PG_SGP_VFE, 8, PG_SGP_SELECT_KMEANSPP, 0.01);
  pg_sgp_opts o = pg_sgp_defaults();
  o.jitter = 1e-10;
  o.m = 8;
  o.noise = 0.01;
  o.inducing_iters = 10;
  pg_sgp *b;
  assert_int_equal(pg_sgp_new(&b, kern(D), &o), PG_OK);
  double Xa[N * D], ya[N];
  data(Xa, ya, N, D, 3);
  pg_rng r1, r2;
  pg_rng_seed(&r1, 4);
  pg_rng_seed(&r2, 4);
  assert_int_equal(pg_sgp_fit(a, Xa, N, D, ya, &r1), PG_OK);
  assert_int_equal(pg_sgp_fit(b, Xa, N, D, ya, &r2), PG_OK);
  assert_true(pg_sgp_loglik(b) > pg_sgp_loglik(a));
  pg_sgp_free(a);
  pg_sgp_free(b);
  o.inducing_iters = -1;
  assert_int_equal(pg_sgp_new(&b, kern(D), &o), PG_EINVAL);
}

/* 1-D: with 12 inducing points both methods track the exact mean. */
static void test_1d_behaviour(void **state) {
  (void)state;
  enum { N1 = 200 };
  double X[N1], y[N1], xs[50], me[50], ve[50], ms[50], vs[50];
  pg_rng r;
  pg_rng_seed(&r, 10);
  for (int i = 0; i < N1; i++) {
    X[i] = 6.0 * pg_rng_uniform(&r);
    y[i] = sin(X[i]) + 0.1 * pg_rng_normal(&r);
  }
  for (int i = 0; i < 50; i++) xs[i] = 0.1 + 5.8 * i / 49.0;
  pg_kernel *k;
  pg_kernel_new(&k, PG_KERNEL_SE, NULL, 1);
  pg_gp_opts go = pg_gp_defaults();
  go.noise = 0.01;
  go.standardize = 0;
  pg_gp *g;
  pg_gp_new(&g, k, &go);
  pg_gp_fit(g, X, N1, 1, y);
  pg_gp_predict(g, xs, 50, me, ve);
  for (int method = 0; method < 2; method++) {
    pg_kernel_new(&k, PG_KERNEL_SE, NULL, 1);
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = 12;
    o.method = (pg_sgp_method)method;
    o.noise = 0.01;
    o.standardize = 0;
    pg_sgp *s;
    pg_sgp_new(&s, k, &o);
    assert_int_equal(pg_sgp_fit(s, X, N1, 1, y, &r), PG_OK);
    pg_sgp_predict(s, xs, 50, ms, vs);
    for (int i = 0; i < 50; i++) {
      assert_true(fabs(ms[i] - me[i]) < 0.05);
      assert_true(vs[i] >= 0.0 && vs[i] < 0.05);
    }
    /* far from the data both revert to the prior: mean 0, variance s2 = 1 */
    double far = 40.0, mf, vf;
    pg_sgp_predict(s, &far, 1, &mf, &vf);
    assert_true(fabs(mf) < 1e-9 && fabs(vf - 1.0) < 1e-9);
    pg_sgp_free(s);
  }
  pg_gp_free(g);
}

static void test_selection(void **state) {
  (void)state;
  double X[N * D], y[N];
  data(X, y, N, D, 12);
  memcpy(X + 5 * D, X, 5 * D * sizeof *X); /* rows 5..9 duplicate rows 0..4 */
  pg_kernel *k = kern(D);
  pg_rng r;
  pg_rng_seed(&r, 1);
  size_t idx[N], mo;
  for (int how = 0; how < 3; how++) {
    assert_int_equal(pg_sgp_choose_inducing(k, X, N, D, 20, (pg_sgp_select)how, &r, idx, &mo),
                     PG_OK);
    assert_int_equal(mo, 20);
    for (size_t a = 0; a < mo; a++) {
      assert_true(idx[a] < N);
      for (size_t b = 0; b < a; b++) assert_true(idx[a] != idx[b]);
    }
  }
  /* greedy stops at the 35 distinct points; k-means++ never repeats */
  assert_int_equal(pg_sgp_choose_inducing(k, X, N, D, N, PG_SGP_SELECT_GREEDY, NULL, idx, &mo),
                   PG_OK);
  assert_int_equal(mo, 35);
  assert_int_equal(pg_sgp_choose_inducing(k, X, N, D, N, PG_SGP_SELECT_KMEANSPP, NULL, idx, &mo),
                   PG_EINVAL);
  pg_kernel_free(k);
}

static void test_samples_and_degenerate(void **state) {
  (void)state;
  double X[N * D], y[N];
  data(X, y, N, D, 13);
  pg_sgp *s = make_sgp(PG_SGP_FITC, 10, PG_SGP_SELECT_KMEANSPP, 0.01);
  pg_rng r;
  pg_rng_seed(&r, 2);
  assert_int_equal(pg_sgp_fit(s, X, N, D, y, &r), PG_OK);
  enum { Q = 2, S = 20000 };
  double C[Q * Q], mu[Q], *F = malloc(S * Q * sizeof *F);
  assert_int_equal(pg_sgp_predict_cov(s, X, Q, mu, C), PG_OK);
  assert_int_equal(pg_sgp_sample(s, X, Q, S, &r, F), PG_OK);
  double em[Q] = {0}, ev[Q] = {0};
  for (int t = 0; t < S; t++)
    for (int i = 0; i < Q; i++) em[i] += F[t * Q + i] / S;
  for (int t = 0; t < S; t++)
    for (int i = 0; i < Q; i++) ev[i] += (F[t * Q + i] - em[i]) * (F[t * Q + i] - em[i]) / S;
  for (int i = 0; i < Q; i++) {
    assert_true(fabs(em[i] - mu[i]) < 5 * sqrt(C[i * Q + i] / S) + 1e-9);
    assert_true(fabs(ev[i] - C[i * Q + i]) < 0.05 * C[i * Q + i] + 1e-12);
  }
  free(F);
  /* NaN input, wrong state */
  double bad[N * D];
  memcpy(bad, X, sizeof bad);
  bad[7] = NAN;
  assert_int_equal(pg_sgp_fit(s, bad, N, D, y, &r), PG_EDOM);
  assert_int_equal(pg_sgp_predict(s, bad, 3, mu, C), PG_EDOM);
  pg_sgp_free(s);
  s = make_sgp(PG_SGP_VFE, 10, PG_SGP_SELECT_KMEANSPP, 0.01);
  assert_int_equal(pg_sgp_predict(s, X, 1, mu, C), PG_ESTATE);
  /* a single point and a constant y */
  double yc[N];
  for (int i = 0; i < N; i++) yc[i] = 3.0;
  assert_int_equal(pg_sgp_fit(s, X, 1, D, yc, &r), PG_OK);
  assert_int_equal(pg_sgp_m(s), 1);
  assert_int_equal(pg_sgp_fit(s, X, N, D, yc, &r), PG_OK);
  assert_int_equal(pg_sgp_predict(s, X, 2, mu, C), PG_OK);
  assert_true(fabs(mu[0] - 3.0) < 1e-12 && isfinite(C[0]));
  assert_int_equal(pg_sgp_train(s, &r, 1), PG_OK);
  /* training on a random subset (train_max) still refits on every point */
  {
    pg_sgp_opts o = pg_sgp_defaults();
    o.m = 8;
    o.train_max = 20;
    pg_sgp *t;
    assert_int_equal(pg_sgp_new(&t, kern(D), &o), PG_OK);
    assert_int_equal(pg_sgp_fit(t, X, N, D, y, &r), PG_OK);
    double b0 = pg_sgp_loglik(t);
    assert_int_equal(pg_sgp_train(t, NULL, 1), PG_EINVAL);
    assert_int_equal(pg_sgp_train(t, &r, 1), PG_OK);
    assert_int_equal(pg_sgp_n(t), N);
    assert_true(isfinite(pg_sgp_loglik(t)) && pg_sgp_loglik(t) != b0);
    pg_sgp_free(t);
  }
  /* fixed inducing inputs are kept */
  assert_int_equal(pg_sgp_set_inducing(s, X, 4, D), PG_OK);
  assert_int_equal(pg_sgp_fit(s, X, N, D, y, NULL), PG_OK);
  assert_int_equal(pg_sgp_m(s), 4);
  assert_memory_equal(pg_sgp_inducing(s), X, 4 * D * sizeof *X);
  pg_sgp_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equals_exact_when_m_is_n),
      cmocka_unit_test(test_vfe_below_exact_and_monotone),
      cmocka_unit_test(test_gradients),
      cmocka_unit_test(test_inducing_gradient),
      cmocka_unit_test(test_1d_behaviour),
      cmocka_unit_test(test_selection),
      cmocka_unit_test(test_samples_and_degenerate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
