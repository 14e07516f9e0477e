/* test_bo.c -- engine/bo.c: inverse normal CDF against erfc, posterior
 * predictions against the exact GP of gp.c, conditional samples against the
 * posterior covariance (exact algebra with unit base vectors), hypervolume
 * improvement of samples against pg_hv_improvement, MAP / ML training of
 * the hyperparameters against gp.c, argument errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "bo.h"
#include "gp.h"
#include "hv.h"
#include "kernel.h"
#include "rng.h"

static void test_norminv(void **state) {
  (void)state;
  for (double p = 1e-12; p < 1; p = p < 0.01 ? p * 7 : p + 0.0137) {
    double x = pg_bo_norminv(p);
    double back = 0.5 * erfc(-x / sqrt(2.0));
    assert_true(fabs(back - p) <= 1e-14 * p + 1e-16);
  }
  assert_true(isinf(pg_bo_norminv(0)) && pg_bo_norminv(0) < 0);
  assert_true(isinf(pg_bo_norminv(1)) && pg_bo_norminv(1) > 0);
  double Z[64 * 3];
  pg_rng r;
  pg_rng_seed(&r, 5);
  assert_int_equal(pg_bo_normal_qmc(64, 3, &r, Z), PG_OK);
  for (int j = 0; j < 3; j++) {
    double m = 0;
    for (int s = 0; s < 64; s++) m += Z[s * 3 + j];
    assert_true(fabs(m / 64) < 0.1); /* a (0, 6, 1)-net per column: very balanced */
  }
  assert_int_equal(pg_bo_normal_qmc(0, 3, &r, Z), PG_EINVAL);
}

#define N 12
#define D 2

static void data(double *X, double *y) {
  pg_rng r;
  pg_rng_seed(&r, 11);
  for (int i = 0; i < N; i++) {
    X[i * D] = pg_rng_uniform(&r);
    X[i * D + 1] = pg_rng_uniform(&r);
    y[i] = sin(3 * X[i * D]) + 0.5 * X[i * D + 1];
  }
}

static pg_kernel *kernel(void) {
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, D), PG_OK);
  double th[3] = {log(0.4), log(0.7), log(1.3)};
  assert_int_equal(pg_kernel_set_params(k, th), PG_OK);
  return k;
}

static void test_posterior(void **state) {
  (void)state;
  double X[N * D], y[N];
  data(X, y);
  const double noise = 1e-3;
  pg_gp_opts o = pg_gp_defaults();
  o.noise = noise;
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, kernel(), &o), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  pg_bo_post *p;
  assert_int_equal(pg_bo_post_new(&p, kernel(), X, N, D, y, noise, 1, 3, 2), PG_OK);
  double Xc[3 * D] = {0.1, 0.2, 0.5, 0.9, 0.55, 0.8};
  double m1[3], v1[3], m2[3], C[9];
  assert_int_equal(pg_bo_post_predict(p, Xc, 3, m1, v1), PG_OK);
  assert_int_equal(pg_gp_predict_cov(g, Xc, 3, m2, C), PG_OK);
  for (int i = 0; i < 3; i++) {
    assert_true(fabs(m1[i] - m2[i]) < 1e-10);
    assert_true(fabs(v1[i] - C[i * 3 + i]) < 1e-10);
  }
  /* base samples = unit vectors: with S = 3 and z_s = e_s, the sample
   * deviations f - mu of the three points are the rows of the Cholesky
   * factor of their joint covariance, so (F - mu)(F - mu)^T = C exactly. */
  double e0[3] = {1, 0, 0}, e1[3] = {0, 1, 0}, e2[3] = {0, 0, 1};
  assert_int_equal(pg_bo_post_add(p, Xc, e0), PG_OK);
  assert_int_equal(pg_bo_post_add(p, Xc + D, e1), PG_OK);
  assert_int_equal(pg_bo_post_add(p, Xc + 2 * D, e2), PG_ERANGE); /* qmax = 2 */
  double F[3], Fq[6];
  assert_int_equal(pg_bo_post_samples(p, Xc + 2 * D, 1, m1 + 2, v1 + 2, e2, F), PG_OK);
  pg_bo_post_qsamples(p, Fq);
  double dev[3][3]; /* dev[point][sample] */
  for (int s = 0; s < 3; s++) {
    dev[0][s] = Fq[s * 2] - m1[0];
    dev[1][s] = Fq[s * 2 + 1] - m1[1];
    dev[2][s] = F[s] - m1[2];
  }
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      double c = 0;
      for (int s = 0; s < 3; s++) c += dev[a][s] * dev[b][s];
      assert_true(fabs(c - C[a * 3 + b]) < 1e-9);
    }
  assert_int_equal(pg_bo_post_nq(p), 2);
  pg_bo_post_free(p);
  pg_gp_free(g);
  /* errors: the kernel is freed by the failing constructor */
  assert_int_equal(pg_bo_post_new(&p, kernel(), X, N, D, y, 0.0, 1, 3, 2), PG_EINVAL);
  assert_null(p);
  y[3] = NAN;
  assert_int_equal(pg_bo_post_new(&p, kernel(), X, N, D, y, noise, 1, 3, 2), PG_EDOM);
  pg_bo_post_free(NULL);
}

static void test_hvi(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 3);
  for (size_t m = 2; m <= 3; m++) {
    enum { S = 4, NC = 25, K = 8 };
    double sets[S][K * 3], F[3][NC * S], ref[3] = {1, 1, 1}, out[NC];
    const double *sp[S], *Fp[3];
    size_t k[S];
    for (int s = 0; s < S; s++) {
      k[s] = (size_t)(s + 3);
      for (size_t i = 0; i < k[s] * m; i++) sets[s][i] = 1.1 * pg_rng_uniform(&r);
      sp[s] = sets[s];
    }
    for (size_t j = 0; j < m; j++) {
      for (int i = 0; i < NC * S; i++) F[j][i] = 1.2 * pg_rng_uniform(&r) - 0.1;
      Fp[j] = F[j];
    }
    assert_int_equal(pg_bo_hvi(Fp, NC, S, m, sp, k, ref, out), PG_OK);
    for (int c = 0; c < NC; c++) {
      double want = 0;
      for (int s = 0; s < S; s++) {
        double yv[3], v;
        for (size_t j = 0; j < m; j++) yv[j] = F[j][c * S + s];
        assert_int_equal(pg_hv_improvement(sets[s], k[s], m, ref, yv, 1, &v), PG_OK);
        want += v;
      }
      assert_true(fabs(want / S - out[c]) < 1e-13);
    }
  }
  double t[2] = {1, 0}, Fn[4] = {0.5, 0.5, 2, -1}, o2[2];
  assert_int_equal(pg_bo_nei(Fn, 2, 2, t, o2), PG_OK);
  assert_true(o2[0] == 0.25 && o2[1] == 0.5);
}

/* pg_bo_train without a prior maximises the LML like pg_gp_train from the
 * same start (the GP module as oracle); with the Gamma prior the result is
 * stationary for LML + log prior (central differences of pg_gp_lml_grad's
 * LML plus the prior written out here). */
static void test_train(void **state) {
  (void)state;
  enum { n = 16, d = 2 };
  double X[n * d], y[n];
  pg_rng r;
  pg_rng_seed(&r, 9);
  for (int i = 0; i < n; i++) {
    X[i * d] = pg_rng_uniform(&r);
    X[i * d + 1] = pg_rng_uniform(&r);
    y[i] = sin(4 * X[i * d]) + 0.5 * X[i * d + 1];
  }
  double th[4] = {0, 0, 0, log(1e-2)}, lp;
  assert_int_equal(pg_bo_train(PG_KERNEL_MATERN52, X, n, d, y, NULL, 1e-8, 200, 1, NULL, th, &lp),
                   PG_OK);
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, d), PG_OK);
  pg_gp_opts o = pg_gp_defaults();
  o.noise = 1e-2;
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, k, &o), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, n, d, y), PG_OK);
  assert_int_equal(pg_gp_train(g, NULL, 1), PG_OK);
  assert_true(fabs(pg_gp_loglik(g) - lp) < 1e-4 * (1 + fabs(lp)));
  /* MAP under the Gamma priors: a stationary point */
  pg_bo_prior pr = pg_bo_prior_gamma();
  double tm[4] = {0, 0, 0, log(1e-2)};
  assert_int_equal(pg_bo_train(PG_KERNEL_MATERN52, X, n, d, y, &pr, 1e-4, 300, 1, NULL, tm, &lp),
                   PG_OK);
  double ab[4][2] = {{3, 6}, {3, 6}, {2, 0.15}, {1.1, 0.05}};
  for (int i = 0; i < 4; i++) {
    double f[2];
    for (int sgn = 0; sgn < 2; sgn++) {
      double t[4] = {tm[0], tm[1], tm[2], tm[3]}, l;
      t[i] += sgn ? 1e-4 : -1e-4;
      assert_int_equal(pg_gp_lml_grad(g, t, &l, NULL), PG_OK);
      for (int j = 0; j < 4; j++) l += (ab[j][0] - 1) * t[j] - ab[j][1] * exp(t[j]);
      f[sgn] = l;
    }
    if (tm[i] > log(1e-4) + 1e-3) { /* interior (the noise may sit on its bound) */
      assert_true(fabs(f[1] - f[0]) / 2e-4 < 1e-2);
      assert_true(f[0] <= lp + 1e-7 && f[1] <= lp + 1e-7);
    } else {
      assert_true(f[1] <= lp + 1e-7);
    }
  }
  pg_gp_free(g);
  assert_int_equal(pg_bo_train(PG_KERNEL_SUM, X, n, d, y, NULL, 1e-8, 10, 1, NULL, th, NULL),
                   PG_EINVAL);
  assert_int_equal(pg_bo_train(PG_KERNEL_SE, X, n, d, y, NULL, 1e-8, 10, 3, NULL, th, NULL),
                   PG_EINVAL); /* restarts without rng */
  th[0] = NAN;
  assert_int_equal(pg_bo_train(PG_KERNEL_SE, X, n, d, y, NULL, 1e-8, 10, 1, NULL, th, NULL),
                   PG_EDOM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_norminv),
      cmocka_unit_test(test_posterior),
      cmocka_unit_test(test_hvi),
      cmocka_unit_test(test_train),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
