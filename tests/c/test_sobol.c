/* test_sobol.c -- Sobol' sequences: primitive polynomials checked by brute
 * force, (0,m,2)-net property of the first two dimensions, (0,m,1)
 * stratification of every dimension, seek == sequential generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sobol.h"

/* Brute-force order of x modulo p (degree s) by repeated multiplication. */
static uint64_t order_of_x(uint64_t p, unsigned s) {
  uint64_t r = 1, k = 0;
  do {
    r <<= 1;
    if (r >> s & 1u) r ^= p;
    k++;
  } while (r != 1 && k <= (UINT64_C(1) << s));
  return k;
}

static uint64_t euler_phi(uint64_t n) {
  uint64_t r = n;
  for (uint64_t q = 2; q * q <= n; q++)
    if (n % q == 0) {
      while (n % q == 0) n /= q;
      r -= r / q;
    }
  if (n > 1) r -= r / n;
  return r;
}

static void test_primitive_polynomials(void **state) {
  (void)state;
  /* known small ones: x+1, x^2+x+1, x^3+x+1, x^3+x^2+1, x^4+x+1, x^4+x^3+1 */
  const uint64_t known[] = {3, 7, 11, 13, 19, 25};
  for (size_t k = 0; k < 6; k++) {
    unsigned deg;
    uint64_t p;
    assert_int_equal(pg_sobol_polynomial(k, &deg, &p), PG_OK);
    assert_int_equal(p, known[k]);
  }
  /* every returned polynomial has x of full order, and the count per degree
   * equals phi(2^s - 1) / s for s = 1..9 */
  size_t k = 0;
  for (unsigned s = 1; s <= 9; s++) {
    uint64_t expect = euler_phi((UINT64_C(1) << s) - 1) / s, got = 0;
    for (;;) {
      unsigned deg;
      uint64_t p;
      assert_int_equal(pg_sobol_polynomial(k, &deg, &p), PG_OK);
      if (deg != s) break;
      assert_int_equal(order_of_x(p, s), (UINT64_C(1) << s) - 1);
      got++;
      k++;
    }
    assert_int_equal(got, expect);
  }
}

/* (0, m, 2)-net: each elementary box 2^-a x 2^-b (a + b = m) holds exactly
 * one of the first 2^m points. */
static void check_net(int scrambled) {
  pg_sobol *s;
  assert_int_equal(pg_sobol_new(2, &s), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 42);
  if (scrambled) pg_sobol_scramble(s, &r);
  const unsigned M = 10;
  size_t n = (size_t)1 << M;
  double *x = malloc(2 * n * sizeof *x);
  int *count = malloc(n * sizeof *count);
  assert_int_equal(pg_sobol_next(s, n, x), PG_OK);
  for (unsigned m = 1; m <= M; m++) {
    size_t np = (size_t)1 << m;
    for (unsigned a = 0; a <= m; a++) {
      unsigned b = m - a;
      for (size_t i = 0; i < np; i++) count[i] = 0;
      for (size_t i = 0; i < np; i++) {
        size_t ia = (size_t)(x[2 * i] * (double)((size_t)1 << a));
        size_t ib = (size_t)(x[2 * i + 1] * (double)((size_t)1 << b));
        count[(ia << b) | ib]++;
      }
      for (size_t i = 0; i < np; i++) assert_int_equal(count[i], 1);
    }
  }
  free(x);
  free(count);
  pg_sobol_free(s);
}

static void test_net_property(void **state) {
  (void)state;
  check_net(0);
  check_net(1);
}

static void test_one_dimensional_strata(void **state) {
  (void)state;
  const size_t d = 60, n = 256;
  pg_sobol *s;
  assert_int_equal(pg_sobol_new(d, &s), PG_OK);
  double *x = malloc(n * d * sizeof *x);
  int *count = malloc(n * sizeof *count);
  assert_int_equal(pg_sobol_next(s, n, x), PG_OK);
  for (size_t j = 0; j < d; j++)
    for (size_t m = 1; m <= 8; m++) {
      size_t np = (size_t)1 << m;
      for (size_t i = 0; i < np; i++) count[i] = 0;
      for (size_t i = 0; i < np; i++) count[(size_t)(x[i * d + j] * (double)np)]++;
      for (size_t i = 0; i < np; i++) assert_int_equal(count[i], 1);
    }
  /* dimensions are not copies of each other */
  for (size_t j = 1; j < d; j++) {
    int same = 1;
    for (size_t i = 0; i < n && same; i++) same = x[i * d + j] == x[i * d + j - 1];
    assert_false(same);
  }
  free(x);
  free(count);
  pg_sobol_free(s);
}

static void test_seek_and_limits(void **state) {
  (void)state;
  pg_sobol *s, *t;
  assert_int_equal(pg_sobol_new(7, &s), PG_OK);
  assert_int_equal(pg_sobol_new(7, &t), PG_OK);
  double a[7 * 100], b[7 * 37];
  assert_int_equal(pg_sobol_next(s, 100, a), PG_OK);
  assert_int_equal(pg_sobol_seek(t, 63), PG_OK);
  assert_int_equal(pg_sobol_next(t, 37, b), PG_OK);
  for (size_t i = 0; i < 7 * 37; i++) assert_true(a[63 * 7 + i] == b[i]);
  /* the first point is the origin, the second is (1/2, ..., 1/2) */
  for (size_t j = 0; j < 7; j++) {
    assert_true(a[j] == 0.0);
    assert_true(a[7 + j] == 0.5);
  }
  assert_int_equal(pg_sobol_seek(t, (UINT64_C(1) << 32) - 1), PG_OK);
  assert_int_equal(pg_sobol_next(t, 2, b), PG_ERANGE);
  assert_int_equal(pg_sobol_next(t, 1, b), PG_OK);
  pg_sobol *bad = (pg_sobol *)1;
  assert_int_equal(pg_sobol_new(0, &bad), PG_EINVAL);
  assert_null(bad);
  assert_int_equal(pg_sobol_new(PG_SOBOL_MAXDIM + 1, &bad), PG_EINVAL);
  pg_sobol_free(NULL);
  pg_sobol_free(s);
  pg_sobol_free(t);
}

static void test_max_dimension(void **state) {
  (void)state;
  pg_sobol *s;
  assert_int_equal(pg_sobol_new(PG_SOBOL_MAXDIM, &s), PG_OK);
  double *x = malloc(4 * PG_SOBOL_MAXDIM * sizeof *x);
  assert_int_equal(pg_sobol_next(s, 4, x), PG_OK);
  for (size_t i = 0; i < 4 * PG_SOBOL_MAXDIM; i++) assert_true(x[i] >= 0 && x[i] < 1);
  free(x);
  pg_sobol_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_primitive_polynomials), cmocka_unit_test(test_net_property),
      cmocka_unit_test(test_one_dimensional_strata), cmocka_unit_test(test_seek_and_limits),
      cmocka_unit_test(test_max_dimension),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
