/* test_evo.c -- engine/evo.c (SBX, polynomial mutation, NSGA-II survival,
 * tournaments) and engine/fusion.c (Pareto-based fusion): closed forms,
 * brute-force front peeling, hand-computed hypervolume improvements. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evo.h"
#include "fusion.h"
#include "pareto.h"
#include "rng.h"
#include "space.h"

static pg_space *mixed_space(void) {
  pg_space_dim d[5];
  memset(d, 0, sizeof d);
  d[0].kind = PG_DIM_REAL, d[0].lo = 0, d[0].hi = 1;
  d[1].kind = PG_DIM_INT, d[1].lo = 1, d[1].hi = 64, d[1].step = 1;
  d[2].kind = PG_DIM_ORDINAL, d[2].levels = 8;
  d[3].kind = PG_DIM_CHOICE, d[3].levels = 5;
  d[4].kind = PG_DIM_FIXED, d[4].levels = 1;
  pg_space *s = NULL;
  assert_int_equal(pg_space_new(d, 5, &s), PG_OK);
  return s;
}

/* Children are valid points; pc = 0 copies; choice columns come from a parent. */
static void test_sbx_pm_valid(void **st) {
  (void)st;
  pg_space *s = mixed_space();
  pg_rng r;
  pg_rng_seed(&r, 5);
  enum { N = 300 };
  double *A = malloc(4 * N * 5 * sizeof *A), *B = A + N * 5, *C1 = B + N * 5, *C2 = C1 + N * 5;
  assert_int_equal(pg_space_sample(s, PG_SAMPLE_UNIFORM, N, 0, &r, A), PG_OK);
  assert_int_equal(pg_space_sample(s, PG_SAMPLE_UNIFORM, N, 0, &r, B), PG_OK);
  size_t br, bd;
  assert_int_equal(pg_evo_sbx(s, A, B, N, 1.0, 0.5, 15, &r, C1, C2), PG_OK);
  assert_int_equal(pg_space_check(s, C1, N, &br, &bd), PG_OK);
  assert_int_equal(pg_space_check(s, C2, N, &br, &bd), PG_OK);
  for (size_t i = 0; i < N; i++) {
    double c = C1[i * 5 + 3], a = A[i * 5 + 3], b = B[i * 5 + 3];
    assert_true(c == a || c == b);
    /* the two children share the parents' choice values between them */
    assert_true((C1[i * 5 + 3] == a && C2[i * 5 + 3] == b) || (C1[i * 5 + 3] == b && C2[i * 5 + 3] == a));
  }
  assert_int_equal(pg_evo_sbx(s, A, B, N, 0.0, 0.5, 15, &r, C1, C2), PG_OK);
  assert_memory_equal(C1, A, N * 5 * sizeof *A);
  assert_memory_equal(C2, B, N * 5 * sizeof *B);
  assert_int_equal(pg_evo_pm(s, A, N, 1.0, 20, &r, C1), PG_OK);
  assert_int_equal(pg_space_check(s, C1, N, &br, &bd), PG_OK);
  for (size_t i = 0; i < N; i++) assert_true(C1[i * 5 + 3] != A[i * 5 + 3]); /* choice moved */
  assert_int_equal(pg_evo_sbx(s, A, B, N, 1.5, 0.5, 15, &r, C1, C2), PG_EINVAL);
  assert_int_equal(pg_evo_pm(s, A, N, 0.5, -1, &r, C1), PG_EINVAL);
  free(A);
  pg_space_free(s);
}

/* SBX is symmetric about the parents' midpoint (away from the bounds). */
static void test_sbx_mean(void **st) {
  (void)st;
  pg_space_dim d = {PG_DIM_REAL, 0, 1, 0, 0, 0};
  pg_space *s = NULL;
  assert_int_equal(pg_space_new(&d, 1, &s), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 9);
  double a = 0.45, b = 0.55, c1, c2;
  for (int k = 0; k < 1000; k++) {
    assert_int_equal(pg_evo_sbx(s, &a, &b, 1, 1.0, 1.0, 15, &r, &c1, &c2), PG_OK);
    assert_true(fabs(0.5 * (c1 + c2) - 0.5) < 1e-12);
  }
  pg_space_free(s);
}

/* Survivors: lower ranks first, crowding within the last front, vs peeling. */
static void test_survive(void **st) {
  (void)st;
  enum { N = 200, M = 2 };
  pg_rng r;
  pg_rng_seed(&r, 3);
  double Y[N * M];
  for (size_t i = 0; i < N * M; i++) Y[i] = floor(20 * pg_rng_uniform(&r)) / 20; /* ties */
  int rank[N], rk2[N];
  double cd[N];
  size_t idx[N];
  for (size_t k = 0; k <= N; k += 37) {
    assert_int_equal(pg_evo_survive(Y, N, M, k, idx, rank, cd), PG_OK);
    assert_int_equal(pg_pareto_rank(Y, N, M, rk2, NULL), PG_OK);
    assert_memory_equal(rank, rk2, sizeof rank);
    unsigned char in[N] = {0};
    int worst = 0;
    for (size_t i = 0; i < k; i++) {
      in[idx[i]] = 1;
      if (rank[idx[i]] > worst) worst = rank[idx[i]];
    }
    for (size_t i = 0; i < N; i++) {
      if (in[i]) continue;
      assert_true(rank[i] >= worst);
      if (rank[i] == worst)
        for (size_t j = 0; j < k; j++)
          if (rank[idx[j]] == worst) assert_true(cd[idx[j]] >= cd[i]);
    }
  }
  assert_int_equal(pg_evo_survive(Y, N, M, N + 1, idx, NULL, NULL), PG_EINVAL);
}

static void test_tournament(void **st) {
  (void)st;
  pg_rng r;
  pg_rng_seed(&r, 1);
  int rank[3] = {2, 1, 1};
  double cd[3] = {INFINITY, 0.5, 2.0};
  size_t out[400];
  assert_int_equal(pg_evo_tournament(rank, cd, 3, 400, &r, out), PG_OK);
  size_t cnt[3] = {0, 0, 0};
  for (size_t i = 0; i < 400; i++) cnt[out[i]]++;
  /* index 0 loses every duel; 2 beats 1; each pair is drawn with probability 1/3 */
  assert_int_equal(cnt[0], 0);
  assert_true(cnt[2] > cnt[1]);
  assert_true(fabs((double)cnt[1] / 400.0 - 1.0 / 3.0) < 0.08); /* wins only against 0 */
}

/* Fusion: hand-computed HVIs (see tests/lua/coflex_spec.lua for the same case). */
static void test_fusion(void **st) {
  (void)st;
  double Y[4] = {0, 1, 1, 0}, Ud[2] = {0, 1};
  double mean[8] = {0.5, 0.5, 0.2, 0.9, 1.05, 1.05, 0.4, 0.4};
  double var[8] = {0, 0, 0, 0, 0.5625, 0.5625, 0, 0};
  double Uc[4] = {0.5, 0.2, 0.9, 0.45};
  unsigned char excl[4] = {0, 0, 0, 1};
  pg_fusion_opts o = pg_fusion_defaults();
  o.diversity = 0;
  o.beta = 1;
  o.kappa = 1;
  size_t ch[3], nch = 0, nk = 0;
  double g[3];
  assert_int_equal(pg_fusion_select(mean, var, 4, 2, Y, Ud, 2, Uc, 1, excl, 3, &o, ch, &nch, g, &nk),
                   PG_OK);
  assert_int_equal(nch, 3);
  assert_int_equal(ch[0], 2);
  assert_int_equal(ch[1], 1);
  assert_int_equal(ch[2], 0);
  assert_true(fabs(g[0] - 0.49) < 1e-12 && fabs(g[1] - 0.01) < 1e-12 && g[2] == 0.0);
  /* kappa = 0: the HVI uses the mean, candidate 3 (1.05, 1.05) adds nothing, 1 wins */
  o.kappa = 0;
  assert_int_equal(pg_fusion_select(mean, var, 4, 2, Y, Ud, 2, Uc, 1, excl, 1, &o, ch, &nch, g, &nk),
                   PG_OK);
  assert_int_equal(ch[0], 0);
  assert_true(fabs(g[0] - 0.25) < 1e-12);
  o.beta = -1;
  assert_int_equal(pg_fusion_select(mean, var, 4, 2, Y, Ud, 2, Uc, 1, excl, 1, &o, ch, &nch, g, &nk),
                   PG_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sbx_pm_valid), cmocka_unit_test(test_sbx_mean),
      cmocka_unit_test(test_survive),      cmocka_unit_test(test_tournament),
      cmocka_unit_test(test_fusion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
