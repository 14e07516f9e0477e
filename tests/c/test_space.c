/* test_space.c -- mixed search spaces: sizes by counting, encode/decode round
 * trips, every sample valid, LHS/Sobol strata on integer levels, one-hot,
 * neighbours by enumeration, mutation/crossover validity, hashing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "space.h"

/* real [0.5, 2] log, int 1..64, int 10..512 step 2 log, ordinal 8 levels,
 * choice 3 levels, fixed */
static pg_space *mixed(void) {
  pg_space_dim d[6] = {
      {.kind = PG_DIM_REAL, .lo = 0.5, .hi = 2, .log = 1},
      {.kind = PG_DIM_INT, .lo = 1, .hi = 64},
      {.kind = PG_DIM_INT, .lo = 10, .hi = 512, .step = 2, .log = 1},
      {.kind = PG_DIM_ORDINAL, .levels = 8},
      {.kind = PG_DIM_CHOICE, .levels = 3},
      {.kind = PG_DIM_FIXED},
  };
  pg_space *s;
  assert_int_equal(pg_space_new(d, 6, &s), PG_OK);
  return s;
}

static void test_sizes(void **state) {
  (void)state;
  pg_space *s = mixed();
  assert_int_equal(s->unit_d, 5);
  assert_int_equal(s->onehot_d, 7);
  assert_true(isinf(pg_space_size(s)));
  assert_int_equal(s->dims[2].levels, 252); /* 10, 12, ..., 512 */
  pg_space_free(s);
  /* count the grid by brute force: int 3..17 step 4 -> 3,7,11,15 */
  pg_space_dim d[3] = {{.kind = PG_DIM_INT, .lo = 3, .hi = 17, .step = 4},
                       {.kind = PG_DIM_ORDINAL, .levels = 5},
                       {.kind = PG_DIM_FIXED}};
  assert_int_equal(pg_space_new(d, 3, &s), PG_OK);
  size_t count = 0;
  for (int v = 3; v <= 17; v++)
    if ((v - 3) % 4 == 0) count++;
  assert_true(pg_space_size(s) == (double)(count * 5));
  pg_space_free(s);
  /* Coflex: 8^5 x 64^2 x 503^4 */
  pg_space_dim c[11];
  for (int j = 0; j < 5; j++) c[j] = (pg_space_dim){.kind = PG_DIM_ORDINAL, .levels = 8};
  for (int j = 5; j < 7; j++) c[j] = (pg_space_dim){.kind = PG_DIM_INT, .lo = 1, .hi = 64};
  for (int j = 7; j < 11; j++) c[j] = (pg_space_dim){.kind = PG_DIM_INT, .lo = 10, .hi = 512};
  assert_int_equal(pg_space_new(c, 11, &s), PG_OK);
  assert_true(fabs(pg_space_size(s) / (32768.0 * 4096.0 * pow(503, 4)) - 1) < 1e-15);
  pg_space_free(s);
}

static void test_invalid(void **state) {
  (void)state;
  pg_space *s = (pg_space *)1;
  pg_space_dim bad[] = {{.kind = PG_DIM_REAL, .lo = 1, .hi = 1},
                        {.kind = PG_DIM_REAL, .lo = 0, .hi = 1, .log = 1},
                        {.kind = PG_DIM_INT, .lo = 1.5, .hi = 3},
                        {.kind = PG_DIM_INT, .lo = 1, .hi = 3, .step = 0.5},
                        {.kind = PG_DIM_ORDINAL, .levels = 0},
                        {.kind = PG_DIM_REAL, .lo = NAN, .hi = 1},
                        {.kind = (pg_dim_kind)17}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(pg_space_new(&bad[i], 1, &s), PG_EINVAL);
    assert_null(s);
  }
  assert_int_equal(pg_space_new(bad, 0, &s), PG_EINVAL);
}

static void test_roundtrip_and_validity(void **state) {
  (void)state;
  pg_space *s = mixed();
  pg_rng r;
  pg_rng_seed(&r, 7);
  const size_t n = 2000;
  double *x = malloc(n * 6 * sizeof *x), *u = malloc(n * 5 * sizeof *u);
  double *y = malloc(n * 6 * sizeof *y), *h = malloc(n * 7 * sizeof *h);
  for (int method = 0; method < 3; method++) {
    assert_int_equal(pg_space_sample(s, (pg_space_method)method, n, 0, &r, x), PG_OK);
    assert_int_equal(pg_space_check(s, x, n, NULL, NULL), PG_OK);
    assert_int_equal(pg_space_encode(s, x, n, u), PG_OK);
    for (size_t i = 0; i < n * 5; i++) assert_true(u[i] >= 0 && u[i] <= 1);
    assert_int_equal(pg_space_decode(s, u, n, y), PG_OK);
    for (size_t i = 0; i < n * 6; i++) {
      if (i % 6 == 0) /* real: round trip through log/exp */
        assert_true(fabs(y[i] - x[i]) <= 1e-12 * x[i]);
      else
        assert_true(y[i] == x[i]);
    }
    assert_int_equal(pg_space_onehot(s, x, n, h), PG_OK);
    for (size_t i = 0; i < n; i++) {
      double sum = h[i * 7 + 4] + h[i * 7 + 5] + h[i * 7 + 6];
      assert_true(sum == 1.0);
      assert_true(h[i * 7 + 4 + (size_t)x[i * 6 + 4]] == 1.0);
    }
    assert_int_equal(pg_space_from_onehot(s, h, n, y), PG_OK);
    for (size_t i = 0; i < n * 6; i++)
      if (i % 6 != 0) assert_true(y[i] == x[i]);
  }
  /* decoding clamps and rounds: u = 1 gives the top level, u = -3 the bottom */
  double uu[5] = {1, 1, 1, 1, 1}, xx[6];
  assert_int_equal(pg_space_decode(s, uu, 1, xx), PG_OK);
  assert_true(xx[0] == 2 && xx[1] == 64 && xx[2] == 512 && xx[3] == 7 && xx[4] == 2);
  double ul[5] = {-3, -3, -3, -3, -3};
  assert_int_equal(pg_space_decode(s, ul, 1, xx), PG_OK);
  assert_true(xx[0] == 0.5 && xx[1] == 1 && xx[2] == 10 && xx[3] == 0 && xx[4] == 0);
  double nanrow[5] = {NAN, 0, 0, 0, 0};
  assert_int_equal(pg_space_decode(s, nanrow, 1, xx), PG_EDOM);
  double badx[6] = {1, 2.5, 10, 0, 0, 0};
  size_t br = 9, bd = 9;
  assert_int_equal(pg_space_check(s, badx, 1, &br, &bd), PG_ERANGE);
  assert_int_equal(br, 0);
  assert_int_equal(bd, 1);
  free(x);
  free(u);
  free(y);
  free(h);
  pg_space_free(s);
}

/* LHS and Sobol on an int dimension with n = levels: every level once. */
static void test_strata(void **state) {
  (void)state;
  pg_space_dim d[2] = {{.kind = PG_DIM_INT, .lo = 1, .hi = 64}, {.kind = PG_DIM_ORDINAL, .levels = 64}};
  pg_space *s;
  assert_int_equal(pg_space_new(d, 2, &s), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 3);
  double x[128];
  for (int method = 1; method < 3; method++) {
    assert_int_equal(pg_space_sample(s, (pg_space_method)method, 64, 0, &r, x), PG_OK);
    int seen0[64] = {0}, seen1[64] = {0};
    for (int i = 0; i < 64; i++) {
      seen0[(int)x[2 * i] - 1]++;
      seen1[(int)x[2 * i + 1]]++;
    }
    for (int i = 0; i < 64; i++) {
      assert_int_equal(seen0[i], 1);
      assert_int_equal(seen1[i], 1);
    }
  }
  /* same seed, same sample */
  double a[128], b[128];
  pg_rng_seed(&r, 11);
  assert_int_equal(pg_space_sample(s, PG_SAMPLE_UNIFORM, 64, 0, &r, a), PG_OK);
  pg_rng_seed(&r, 11);
  assert_int_equal(pg_space_sample(s, PG_SAMPLE_UNIFORM, 64, 0, &r, b), PG_OK);
  assert_memory_equal(a, b, sizeof a);
  pg_space_free(s);
}

static void test_neighbours_mutation_crossover_hash(void **state) {
  (void)state;
  pg_space *s = mixed();
  size_t maxn = pg_space_max_neighbours(s);
  assert_int_equal(maxn, 2 + 2 + 2 + 2 + 2);
  double *nb = malloc(maxn * 6 * sizeof *nb);
  double corner[6] = {0.5, 1, 10, 3, 1, 0};
  size_t cnt;
  assert_int_equal(pg_space_neighbours(s, corner, 0.1, nb, &cnt), PG_OK);
  /* real at lower bound: only up; int 1: only 2; int 10 step 2: only 12;
   * ordinal 3: 2 and 4; choice 1: 0 and 2 */
  assert_int_equal(cnt, 1 + 1 + 1 + 2 + 2);
  for (size_t i = 0; i < cnt; i++) {
    int diff = 0;
    for (size_t j = 0; j < 6; j++) diff += nb[i * 6 + j] != corner[j];
    assert_int_equal(diff, 1);
    assert_int_equal(pg_space_check(s, nb + i * 6, 1, NULL, NULL), PG_OK);
  }
  free(nb);
  pg_rng r;
  pg_rng_seed(&r, 5);
  const size_t n = 500;
  double *x = malloc(n * 6 * sizeof *x), *y = malloc(n * 6 * sizeof *y);
  double *z = malloc(n * 6 * sizeof *z);
  uint64_t *hx = malloc(n * sizeof *hx), *hy = malloc(n * sizeof *hy);
  assert_int_equal(pg_space_sample(s, PG_SAMPLE_UNIFORM, n, 0, &r, x), PG_OK);
  assert_int_equal(pg_space_mutate(s, x, n, 0, 0.2, &r, y), PG_OK);
  assert_int_equal(pg_space_check(s, y, n, NULL, NULL), PG_OK);
  assert_int_equal(pg_space_hash(s, x, n, hx), PG_OK);
  assert_int_equal(pg_space_hash(s, y, n, hy), PG_OK);
  for (size_t i = 0; i < n; i++) {
    assert_true(memcmp(x + 6 * i, y + 6 * i, 6 * sizeof *x) != 0); /* at least one change */
    assert_true(hx[i] != hy[i]);
  }
  /* hash of a copy is equal; -0.0 and 0.0 hash the same */
  uint64_t h1, h2;
  double p1[6] = {1, 5, 20, 0, 0, 0}, p2[6] = {1, 5, 20, -0.0, 0, 0};
  assert_int_equal(pg_space_hash(s, p1, 1, &h1), PG_OK);
  assert_int_equal(pg_space_hash(s, p2, 1, &h2), PG_OK);
  assert_true(h1 == h2);
  assert_int_equal(pg_space_crossover(s, x, y, n, &r, z, y), PG_OK);
  assert_int_equal(pg_space_check(s, z, n, NULL, NULL), PG_OK);
  free(x);
  free(y);
  free(z);
  free(hx);
  free(hy);
  pg_space_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),  cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_roundtrip_and_validity), cmocka_unit_test(test_strata),
      cmocka_unit_test(test_neighbours_mutation_crossover_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
