/* test_indicators.c -- IGD, IGD+, GD, GD+, additive epsilon on hand cases
 * and against direct double loops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "indicators.h"
#include "rng.h"

static void test_hand_cases(void **state) {
  (void)state;
  /* front {(0,1), (1,0)}; Y = {(0,2)}:
   * IGD = (dist((0,1),(0,2)) + dist((1,0),(0,2))) / 2 = (1 + sqrt 5) / 2
   * IGD+ = (||max((0,2)-(0,1),0)|| + ||max((0,2)-(1,0),0)||)/2 = (1 + 2)/2
   * GD = min(1, sqrt 5) = 1, GD+ = min(||(0,1)||, ||(0,2)-(1,0)|+||) = min(1, 2) = 1
   * eps+ = max_r min_y max_j (y_j - r_j) = max(1, 2) = 2 */
  double R[] = {0, 1, 1, 0}, Y[] = {0, 2}, v;
  assert_int_equal(pg_igd(Y, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v - (1 + sqrt(5.0)) / 2) < 1e-15);
  assert_int_equal(pg_igd_plus(Y, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v - 1.5) < 1e-15);
  assert_int_equal(pg_gd(Y, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v - 1.0) < 1e-15);
  assert_int_equal(pg_gd_plus(Y, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v - 1.0) < 1e-15);
  assert_int_equal(pg_epsilon_additive(Y, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v - 2.0) < 1e-15);
  /* a set better than the front: IGD+ = 0, eps+ negative */
  double B[] = {-1, -1};
  assert_int_equal(pg_igd_plus(B, 1, R, 2, 2, &v), PG_OK);
  assert_true(v == 0.0);
  assert_int_equal(pg_epsilon_additive(B, 1, R, 2, 2, &v), PG_OK);
  assert_true(fabs(v + 1.0) < 1e-15);
  /* identical sets: exactly 0 */
  assert_int_equal(pg_igd(R, 2, R, 2, 2, &v), PG_OK);
  assert_true(v == 0.0);
  /* errors */
  double bad[] = {NAN, 0};
  assert_int_equal(pg_igd(bad, 1, R, 2, 2, &v), PG_EDOM);
  assert_int_equal(pg_igd(Y, 0, R, 2, 2, &v), PG_EINVAL);
  assert_int_equal(pg_gd(Y, 1, R, 0, 2, &v), PG_EINVAL);
}

static void test_vs_loops(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 2);
  size_t n = getenv("PERIGEE_VALGRIND") ? 300 : 700, m = getenv("PERIGEE_VALGRIND") ? 600 : 1100; /* crosses the 512-point blocks */
  for (size_t d = 1; d <= 7; d += 3) {
    double *Y = malloc(n * d * sizeof *Y), *R = malloc(m * d * sizeof *R);
    for (size_t i = 0; i < n * d; i++) Y[i] = pg_rng_normal(&g);
    for (size_t i = 0; i < m * d; i++) R[i] = pg_rng_normal(&g);
    double igd = 0, igdp = 0, gd = 0, gdp = 0, eps = -INFINITY;
    for (size_t r = 0; r < m; r++) {
      double b1 = INFINITY, b2 = INFINITY, b3 = INFINITY;
      for (size_t i = 0; i < n; i++) {
        double s1 = 0, s2 = 0, e = -INFINITY;
        for (size_t j = 0; j < d; j++) {
          double t = Y[i * d + j] - R[r * d + j];
          s1 += t * t;
          s2 += t > 0 ? t * t : 0;
          e = fmax(e, t);
        }
        b1 = fmin(b1, sqrt(s1));
        b2 = fmin(b2, sqrt(s2));
        b3 = fmin(b3, e);
      }
      igd += b1 / (double)m;
      igdp += b2 / (double)m;
      eps = fmax(eps, b3);
    }
    for (size_t i = 0; i < n; i++) {
      double b1 = INFINITY, b2 = INFINITY;
      for (size_t r = 0; r < m; r++) {
        double s1 = 0, s2 = 0;
        for (size_t j = 0; j < d; j++) {
          double t = Y[i * d + j] - R[r * d + j];
          s1 += t * t;
          s2 += t > 0 ? t * t : 0;
        }
        b1 = fmin(b1, sqrt(s1));
        b2 = fmin(b2, sqrt(s2));
      }
      gd += b1 / (double)n;
      gdp += b2 / (double)n;
    }
    double v;
    assert_int_equal(pg_igd(Y, n, R, m, d, &v), PG_OK);
    assert_true(fabs(v - igd) < 1e-12);
    assert_int_equal(pg_igd_plus(Y, n, R, m, d, &v), PG_OK);
    assert_true(fabs(v - igdp) < 1e-12);
    assert_int_equal(pg_gd(Y, n, R, m, d, &v), PG_OK);
    assert_true(fabs(v - gd) < 1e-12);
    assert_int_equal(pg_gd_plus(Y, n, R, m, d, &v), PG_OK);
    assert_true(fabs(v - gdp) < 1e-12);
    assert_int_equal(pg_epsilon_additive(Y, n, R, m, d, &v), PG_OK);
    assert_true(fabs(v - eps) < 1e-14);
    free(Y);
    free(R);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_cases),
      cmocka_unit_test(test_vs_loops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
