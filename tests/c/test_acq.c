/* test_acq.c -- EI / log-EI against direct and extended-precision values,
 * EHVI closed form against Monte Carlo, qEHVI / qNEHVI consistency,
 * Chebyshev and simplex weights. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "acq.h"
#include "hv.h"
#include "rng.h"

static void test_ei(void **state) {
  (void)state;
  double mu[] = {0.0, 1.0, -1.0, 2.0}, sd[] = {1.0, 0.5, 0.0, 0.0}, out[4], lo[4];
  assert_int_equal(pg_acq_ei(mu, sd, 4, 0.0, out), PG_OK);
  assert_true(fabs(out[0] - 1.0 / sqrt(2.0 * M_PI)) < 1e-15); /* phi(0) */
  assert_true(out[2] == 1.0 && out[3] == 0.0);
  /* EI by numerical integration of (best - f)^+ phi for mu = 1, sd = 0.5 */
  double acc = 0.0, h = 1e-4;
  for (double f = 1.0 - 12 * 0.5; f < 0.0; f += h) {
    double z = (f - 1.0) / 0.5;
    acc += (0.0 - (f + h / 2)) * exp(-0.5 * ((f + h / 2 - 1.0) / 0.5) * ((f + h / 2 - 1.0) / 0.5)) /
           (0.5 * sqrt(2 * M_PI)) * h;
    (void)z;
  }
  assert_true(fabs(out[1] - acc) < 1e-9);
  assert_int_equal(pg_acq_logei(mu, sd, 4, 0.0, lo), PG_OK);
  for (int i = 0; i < 3; i++) assert_true(fabs(lo[i] - log(out[i])) < 1e-12);
  assert_true(isinf(lo[3]) && lo[3] < 0);
  double bad[] = {-1.0};
  assert_int_equal(pg_acq_ei(mu, bad, 1, 0.0, out), PG_EDOM);
  assert_int_equal(pg_acq_lcb(mu, sd, 2, 2.0, out), PG_OK);
  assert_true(out[0] == -2.0 && out[1] == 0.0);
  assert_int_equal(pg_acq_ucb(mu, sd, 2, 2.0, out), PG_OK);
  assert_true(out[0] == 2.0 && out[1] == 2.0);
}

/* log h(z), h = phi(z) + z Phi(z), in long double (64-bit mantissa; the
 * cancellation for z down to -100 costs at most 4 of its 19 digits). */
static double log_h_ld(double z) {
  long double zz = z;
  long double phi = expl(-0.5L * zz * zz) / sqrtl(2.0L * 3.14159265358979323846264338327950288L);
  long double Phi = 0.5L * erfcl(-zz / sqrtl(2.0L));
  return (double)logl(phi + zz * Phi);
}

static void test_logei_tail(void **state) {
  (void)state;
  /* valgrind computes long double in double precision: there the oracle is
   * only trusted where double suffices */
  double zmin = getenv("PERIGEE_VALGRIND") ? -4.0 : -99.0;
  for (double z = 3.0; z > zmin; z -= 0.37) {
    double a = pg_acq_log_h(z), b = log_h_ld(z);
    assert_true(fabs(a - b) <= 1e-10 * fabs(b) + 1e-12);
  }
  /* beyond: asymptotic log h ~ -z^2/2 - log sqrt(2 pi) - 2 log|z|, and
   * monotone and finite down to -1e150 */
  double prev = pg_acq_log_h(-100.0);
  for (double z = -150.0; z > -1e150; z *= 3.0) {
    double a = pg_acq_log_h(z);
    double asym = -0.5 * z * z - 0.5 * log(2 * M_PI) - 2.0 * log(-z);
    assert_true(isfinite(a) && a < prev);
    assert_true(fabs(a - asym) <= 1e-12 * fabs(asym) + 4.0 / (z * z));
    prev = a;
  }
}

/* 2-D hypervolume of the k points F (sorted by x) plus optionally y, by the
 * staircase sum (the test's own oracle, no allocation). */
static double hv2_with(const double *F, size_t k, const double *y, const double *ref) {
  double area = 0.0, cap = ref[1];
  size_t i = 0;
  int used = y == NULL;
  while (i < k || !used) {
    const double *p;
    if (!used && (i == k || y[0] < F[2 * i] || (y[0] == F[2 * i] && y[1] < F[2 * i + 1]))) {
      p = y;
      used = 1;
    } else {
      p = F + 2 * i++;
    }
    if (p[0] < ref[0] && p[1] < cap) {
      area += (ref[0] - p[0]) * (cap - p[1]);
      cap = p[1];
    }
  }
  return area;
}

/* 2-D EHVI against a Monte-Carlo mean of exact improvements. */
static void test_ehvi_vs_mc(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 17);
  /* sorted by x for the oracle; (0.4, 0.8) is dominated */
  double front[] = {0.1, 0.9, 0.3, 0.6, 0.4, 0.8, 0.5, 0.5, 0.7, 0.2, 0.95, 0.05};
  double ref[] = {1.0, 1.0};
  double mu[][2] = {{0.4, 0.4}, {0.2, 0.7}, {0.9, 0.9}, {0.0, 0.0}, {0.6, 0.3}};
  double sd[][2] = {{0.1, 0.2}, {0.3, 0.05}, {0.2, 0.2}, {0.0, 0.0}, {0.05, 0.0}};
  size_t N = getenv("PERIGEE_VALGRIND") ? 20000 : 1000000;
  double base = hv2_with(front, 6, NULL, ref);
  for (int c = 0; c < 5; c++) {
    double e;
    assert_int_equal(pg_acq_ehvi2d(mu[c], sd[c], 1, front, 6, ref, &e), PG_OK);
    double sum = 0.0, sum2 = 0.0, y[2];
    for (size_t s = 0; s < N; s++) {
      y[0] = mu[c][0] + sd[c][0] * pg_rng_normal(&g);
      y[1] = mu[c][1] + sd[c][1] * pg_rng_normal(&g);
      double v = hv2_with(front, 6, y, ref) - base;
      sum += v;
      sum2 += v * v;
    }
    double mean = sum / (double)N, se = sqrt((sum2 / (double)N - mean * mean) / (double)N);
    assert_true(fabs(e - mean) <= 4.0 * se + 1e-12);
    /* the oracle agrees with pg_hv_improvement on the last sample */
    double v;
    assert_int_equal(pg_hv_improvement(front, 6, 2, ref, y, 1, &v), PG_OK);
    assert_true(fabs(v - (hv2_with(front, 6, y, ref) - base)) < 1e-12);
  }
  /* empty front: EHVI = G1(r1) G2(r2) = E[(r-Y)^+] product */
  double e, m0[] = {0.5, 0.5}, s0[] = {0.0, 0.0};
  assert_int_equal(pg_acq_ehvi2d(m0, s0, 1, front, 0, ref, &e), PG_OK);
  assert_true(fabs(e - 0.25) < 1e-15);
}

static void test_qehvi(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 5);
  double front[] = {0.1, 0.9, 0.3, 0.6, 0.5, 0.5, 0.7, 0.2}, ref[] = {1.0, 1.0};
  double mu[] = {0.4, 0.4}, sd[] = {0.1, 0.2}, e;
  assert_int_equal(pg_acq_ehvi2d(mu, sd, 1, front, 4, ref, &e), PG_OK);
  size_t ns = 20000;
  double *S = malloc(ns * 2 * sizeof *S);
  for (size_t s = 0; s < ns; s++) {
    S[2 * s] = mu[0] + sd[0] * pg_rng_normal(&g);
    S[2 * s + 1] = mu[1] + sd[1] * pg_rng_normal(&g);
  }
  double q, se;
  assert_int_equal(pg_acq_qehvi(S, ns, 1, 2, front, 4, ref, &q, &se), PG_OK);
  assert_true(se > 0 && fabs(q - e) < 4.0 * se);
  /* q = 2 points in a sample: improvement of the union (hand case) */
  double two[] = {0.2, 0.2, 0.05, 0.05};
  assert_int_equal(pg_acq_qehvi(two, 1, 2, 2, front, 4, ref, &q, NULL), PG_OK);
  assert_true(fabs(q - (0.95 * 0.95 - 0.44)) < 1e-12); /* HV(front) = .09+.21+.05+.09 */
  /* qNEHVI with the same baseline in every sample equals qEHVI */
  double *T = malloc(3 * 5 * 2 * sizeof *T), vq, vn;
  for (size_t s = 0; s < 3; s++) {
    for (size_t i = 0; i < 8; i++) T[s * 10 + i] = front[i];
    T[s * 10 + 8] = S[2 * s];
    T[s * 10 + 9] = S[2 * s + 1];
  }
  assert_int_equal(pg_acq_qehvi(S, 3, 1, 2, front, 4, ref, &vq, NULL), PG_OK);
  assert_int_equal(pg_acq_qnehvi(T, 3, 4, 1, 2, ref, &vn, NULL), PG_OK);
  assert_true(fabs(vq - vn) < 1e-15);
  free(S);
  free(T);
}

static void test_chebyshev(void **state) {
  (void)state;
  double Y[] = {0.2, 0.8, 0.5, 0.5}, w[] = {0.25, 0.75}, out[2];
  assert_int_equal(pg_acq_chebyshev(Y, 2, 2, w, 0.05, out), PG_OK);
  assert_true(fabs(out[0] - (0.6 + 0.05 * (0.05 + 0.6))) < 1e-15);
  assert_true(fabs(out[1] - (0.375 + 0.05 * 0.5)) < 1e-15);
  pg_rng g;
  pg_rng_seed(&g, 1);
  double mean[4] = {0}, wt[4];
  for (int t = 0; t < 4000; t++) {
    assert_int_equal(pg_acq_simplex_weights(4, &g, wt), PG_OK);
    double s = 0;
    for (int j = 0; j < 4; j++) {
      assert_true(wt[j] >= 0.0);
      s += wt[j];
      mean[j] += wt[j] / 4000.0;
    }
    assert_true(fabs(s - 1.0) < 1e-14);
  }
  /* Dirichlet(1,1,1,1): mean 1/4, sd sqrt(3/80)/sqrt(4000) = 0.003 */
  for (int j = 0; j < 4; j++) assert_true(fabs(mean[j] - 0.25) < 0.013);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ei),      cmocka_unit_test(test_logei_tail),
      cmocka_unit_test(test_ehvi_vs_mc), cmocka_unit_test(test_qehvi),
      cmocka_unit_test(test_chebyshev),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
