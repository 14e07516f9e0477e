/* test_pareto.c -- non-dominated sorting, filter and crowding distance
 * against O(n^2) references on random sets with ties and duplicates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "pareto.h"
#include "rng.h"

/* Reference ranks: repeatedly peel the points no remaining point dominates. */
static int naive_rank(const double *Y, size_t n, size_t d, int *rank) {
  for (size_t i = 0; i < n; i++) rank[i] = 0;
  size_t left = n;
  int r = 0;
  int *mark = malloc(n * sizeof *mark);
  while (left > 0) {
    r++;
    for (size_t i = 0; i < n; i++) {
      mark[i] = 0;
      if (rank[i]) continue;
      int dom = 0;
      for (size_t j = 0; j < n && !dom; j++)
        if (!rank[j] && pg_pareto_dominates(Y + j * d, Y + i * d, d)) dom = 1;
      mark[i] = !dom;
    }
    for (size_t i = 0; i < n; i++)
      if (mark[i]) {
        rank[i] = r;
        left--;
      }
  }
  free(mark);
  return r;
}

/* Random set with coordinates on a coarse grid (many ties) and copies. */
static void tied_set(pg_rng *g, double *Y, size_t n, size_t d, int levels) {
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && pg_rng_uniform(g) < 0.15) {
      size_t k = pg_rng_below(g, i);
      for (size_t j = 0; j < d; j++) Y[i * d + j] = Y[k * d + j];
      continue;
    }
    for (size_t j = 0; j < d; j++) Y[i * d + j] = (double)pg_rng_below(g, (uint64_t)levels);
  }
}

static void test_rank_vs_naive(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 11);
  size_t sizes[] = {1, 2, 3, 7, 40, 200};
  for (size_t d = 1; d <= 6; d++)
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
      for (int levels = 2; levels <= 50; levels *= 5)
        for (int rep = 0; rep < 3; rep++) {
          size_t n = sizes[si];
          double *Y = malloc(n * d * sizeof *Y);
          int *r1 = malloc(n * sizeof *r1), *r2 = malloc(n * sizeof *r2);
          if (rep == 2)
            for (size_t i = 0; i < n * d; i++) Y[i] = pg_rng_uniform(&g);
          else
            tied_set(&g, Y, n, d, levels);
          int nf = -1;
          assert_int_equal(pg_pareto_rank(Y, n, d, r1, &nf), PG_OK);
          int nf2 = naive_rank(Y, n, d, r2);
          assert_int_equal(nf, nf2);
          for (size_t i = 0; i < n; i++) assert_int_equal(r1[i], r2[i]);
          /* filter = rank 1, indices increasing */
          size_t *idx = malloc(n * sizeof *idx), cnt = 0, c1 = 0;
          assert_int_equal(pg_pareto_filter(Y, n, d, idx, &cnt), PG_OK);
          for (size_t i = 0; i < n; i++)
            if (r2[i] == 1) {
              assert_true(c1 < cnt);
              assert_int_equal(idx[c1++], i);
            }
          assert_int_equal(c1, cnt);
          free(idx);
          free(Y);
          free(r1);
          free(r2);
        }
}

/* Larger 2-D and 3-D sets: a front of points on a line / plane is one rank;
 * shifted copies form the next fronts. */
static void test_rank_layers(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 5);
  for (size_t d = 2; d <= 5; d++) {
    size_t per = 300, layers = 4, n = per * layers;
    double *Y = malloc(n * d * sizeof *Y);
    int *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < per; i++) {
      double s = 0.0, w[8];
      for (size_t j = 0; j < d; j++) s += (w[j] = -log(1.0 - pg_rng_uniform(&g)));
      for (size_t l = 0; l < layers; l++)
        for (size_t j = 0; j < d; j++) Y[(l * per + i) * d + j] = w[j] / s + 0.5 * (double)l;
    }
    int nf;
    assert_int_equal(pg_pareto_rank(Y, n, d, r, &nf), PG_OK);
    assert_int_equal(nf, (int)layers);
    for (size_t i = 0; i < n; i++) assert_int_equal(r[i], (int)(i / per) + 1);
    free(Y);
    free(r);
  }
}

static void test_rank_edge(void **state) {
  (void)state;
  int r[4];
  double nanset[] = {0, 1, NAN, 2};
  assert_int_equal(pg_pareto_rank(nanset, 2, 2, r, NULL), PG_EDOM);
  assert_int_equal(pg_pareto_rank(nanset, 1, 0, r, NULL), PG_EINVAL);
  int nf = 7;
  assert_int_equal(pg_pareto_rank(NULL, 0, 3, r, &nf), PG_OK);
  assert_int_equal(nf, 0);
  /* identical points share rank 1; -0.0 equals 0.0 */
  double dup[] = {0.0, 1.0, -0.0, 1.0, 1.0, 0.0, 1.0, 1.0};
  assert_int_equal(pg_pareto_rank(dup, 4, 2, r, &nf), PG_OK);
  assert_int_equal(nf, 2);
  assert_int_equal(r[0], 1);
  assert_int_equal(r[1], 1);
  assert_int_equal(r[2], 1);
  assert_int_equal(r[3], 2);
  /* infinities are ordinary values */
  double inf[] = {INFINITY, 0.0, 0.0, INFINITY, 0.0, 0.0};
  assert_int_equal(pg_pareto_rank(inf, 3, 2, r, &nf), PG_OK);
  assert_int_equal(r[0], 2);
  assert_int_equal(r[1], 2);
  assert_int_equal(r[2], 1);
}

static void test_crowding(void **state) {
  (void)state;
  /* one front on a line: interior distances from the definition */
  double Y[] = {0.0, 4.0, 1.0, 3.0, 3.0, 1.0, 4.0, 0.0, 2.0, 2.0};
  double cd[5];
  assert_int_equal(pg_pareto_crowding(Y, 5, 2, NULL, cd), PG_OK);
  assert_true(isinf(cd[0]) && isinf(cd[3]));
  /* point (1,3): neighbours in f1 are 0 and 2 -> 2/4; in f2 4 and 2 -> 2/4 */
  assert_true(fabs(cd[1] - 1.0) < 1e-15);
  assert_true(fabs(cd[4] - 1.0) < 1e-15);
  assert_true(fabs(cd[2] - 1.0) < 1e-15);
  /* per front with ranks: a two-point front is all Inf */
  int rank[] = {1, 1, 2, 2, 1};
  assert_int_equal(pg_pareto_crowding(Y, 5, 2, rank, cd), PG_OK);
  assert_true(isinf(cd[2]) && isinf(cd[3]));
  /* front 1 = {0, 1, 4}: point 1 is interior: (2-0)/2 + (4-2)/2 = 2 */
  assert_true(isinf(cd[0]) && isinf(cd[4]));
  assert_true(fabs(cd[1] - 2.0) < 1e-15);
  int bad[] = {0, 1, 1, 1, 1};
  assert_int_equal(pg_pareto_crowding(Y, 5, 2, bad, cd), PG_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rank_vs_naive),
      cmocka_unit_test(test_rank_layers),
      cmocka_unit_test(test_rank_edge),
      cmocka_unit_test(test_crowding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
