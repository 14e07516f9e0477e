/* test_hv.c -- hypervolume against inclusion-exclusion, a slicing oracle,
 * analytic values; invariances; contributions; improvement; Monte Carlo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastset.h"
#include "hv.h"
#include "radix.h"
#include "rng.h"

/* sum over non-empty subsets T of (-1)^(|T|+1) prod_j max(0, r_j - max_T p_j) */
static double hv_incl_excl(const double *Y, size_t n, size_t d, const double *ref) {
  double total = 0.0, mx[16];
  for (uint32_t mask = 1; mask < (1u << n); mask++) {
    int bits = 0;
    for (size_t j = 0; j < d; j++) mx[j] = -INFINITY;
    for (size_t i = 0; i < n; i++)
      if (mask & (1u << i)) {
        bits++;
        for (size_t j = 0; j < d; j++)
          if (Y[i * d + j] > mx[j]) mx[j] = Y[i * d + j];
      }
    double v = 1.0;
    for (size_t j = 0; j < d; j++) v *= fmax(0.0, ref[j] - mx[j]);
    total += (bits & 1) ? v : -v;
  }
  return total;
}

/* Slicing oracle: sweep the last objective over the distinct values, the
 * (d-1)-volume of the points at or below each slab times its thickness. */
static double hv_slice(const double *Y, size_t n, size_t d, const double *ref) {
  if (d == 1) {
    double lo = ref[0];
    for (size_t i = 0; i < n; i++) lo = fmin(lo, Y[i]);
    return ref[0] - lo;
  }
  double *z = malloc((n + 1) * sizeof *z), *sub = malloc(n * (d - 1) * sizeof *sub);
  size_t nz = 0;
  for (size_t i = 0; i < n; i++) {
    int skip = 0;
    for (size_t j = 0; j < d; j++)
      if (!(Y[i * d + j] < ref[j])) skip = 1;
    if (!skip) z[nz++] = Y[i * d + d - 1];
  }
  double total = 0.0;
  for (size_t a = 0; a < nz; a++) { /* selection order: small n */
    /* next distinct level above z[a] among z, or ref */
    double hi = ref[d - 1];
    int first = 1;
    for (size_t b = 0; b < nz; b++) {
      if (z[b] > z[a] && z[b] < hi) hi = z[b];
      if (z[b] == z[a] && b < a) first = 0;
    }
    if (!first) continue;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      int ok = Y[i * d + d - 1] <= z[a];
      for (size_t j = 0; j < d; j++)
        if (!(Y[i * d + j] < ref[j])) ok = 0;
      if (ok) memcpy(sub + (m++) * (d - 1), Y + i * d, (d - 1) * sizeof *Y);
    }
    total += (hi - z[a]) * hv_slice(sub, m, d - 1, ref);
  }
  free(z);
  free(sub);
  return total;
}

static double hv(const double *Y, size_t n, size_t d, const double *ref) {
  double v = NAN;
  assert_int_equal(pg_hv(Y, n, d, ref, &v), PG_OK);
  return v;
}

static void random_set(pg_rng *g, double *Y, size_t n, size_t d, int tied) {
  for (size_t i = 0; i < n; i++) {
    if (tied && i > 0 && pg_rng_uniform(g) < 0.2) {
      memcpy(Y + i * d, Y + pg_rng_below(g, i) * d, d * sizeof *Y);
      continue;
    }
    for (size_t j = 0; j < d; j++)
      Y[i * d + j] = tied ? (double)pg_rng_below(g, 5) / 4.0 * 1.1 : pg_rng_uniform(g) * 1.1;
  }
}

static void test_vs_inclusion_exclusion(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 3);
  double Y[10 * 8], ref[8];
  for (size_t d = 1; d <= 8; d++)
    for (size_t n = 1; n <= 9; n += 2)
      for (int rep = 0; rep < 6; rep++) {
        random_set(&g, Y, n, d, rep & 1);
        for (size_t j = 0; j < d; j++) ref[j] = 1.0;
        double want = hv_incl_excl(Y, n, d, ref), got = hv(Y, n, d, ref);
        assert_true(fabs(got - want) <= 1e-12 * (1.0 + fabs(want)));
      }
}

static void test_vs_slicing(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 4);
  int vg = getenv("PERIGEE_VALGRIND") != NULL;
  double *Y = malloc(100 * 6 * sizeof *Y), ref[6] = {1, 1, 1, 1, 1, 1};
  for (size_t d = 2; d <= 5; d++)
    for (int rep = 0; rep < 4; rep++) {
      /* above 64 points the 3-D and 4-D routines leave their small-set paths */
      size_t n = d <= 4 ? (vg ? 70 : 100) : (vg ? 25 : 60);
      /* points near the sphere: many mutually non-dominated */
      for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d; j++) {
          double v = fabs(pg_rng_normal(&g));
          Y[i * d + j] = v;
          s += v * v;
        }
        for (size_t j = 0; j < d; j++)
          Y[i * d + j] = Y[i * d + j] / sqrt(s) * (rep & 1 ? 1.0 + 0.1 * pg_rng_uniform(&g) : 1.0);
      }
      double want = hv_slice(Y, n, d, ref), got = hv(Y, n, d, ref);
      assert_true(fabs(got - want) <= 1e-12 * (1.0 + fabs(want)));
    }
  free(Y);
}

/* Fronts with ties: near-sphere points rounded to a grid of eighths, some
 * repeated, so limited sets are full of equal coordinates, duplicates and
 * axis rows (the 4-D and 5-D sweeps' pruning). */
static void test_vs_slicing_tied(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 5);
  int vg = getenv("PERIGEE_VALGRIND") != NULL;
  double *Y = malloc(90 * 6 * sizeof *Y), ref[6] = {1, 1, 1, 1, 1, 1};
  for (size_t d = 3; d <= 6; d++)
    for (int rep = 0; rep < 6; rep++) {
      size_t n = d == 6 ? 30 : (rep < 3 || vg ? 40 : 90);
      for (size_t i = 0; i < n; i++) {
        if (i > 0 && pg_rng_uniform(&g) < 0.15) {
          memcpy(Y + i * d, Y + pg_rng_below(&g, i) * d, d * sizeof *Y);
          continue;
        }
        double s = 0.0;
        for (size_t j = 0; j < d; j++) {
          double v = fabs(pg_rng_normal(&g));
          Y[i * d + j] = v;
          s += v * v;
        }
        for (size_t j = 0; j < d; j++) Y[i * d + j] = round(Y[i * d + j] / sqrt(s) * 8.0) / 8.0;
      }
      double want = hv_slice(Y, n, d, ref), got = hv(Y, n, d, ref);
      assert_true(fabs(got - want) <= 1e-12 * (1.0 + fabs(want)));
    }
  free(Y);
}

/* Staircase i/k, (k-i)/k: HV with ref (1,1) is (k-1)/(2k). Quarter circle:
 * HV -> 1 - pi/4 with error below 1/k (each strip is off by < 1/k^2). */
static void test_analytic(void **state) {
  (void)state;
  size_t k = 1000;
  double *Y = malloc((k + 1) * 3 * sizeof *Y), ref[3] = {1, 1, 1};
  for (size_t i = 0; i <= k; i++) {
    Y[2 * i] = (double)i / (double)k;
    Y[2 * i + 1] = (double)(k - i) / (double)k;
  }
  assert_true(fabs(hv(Y, k + 1, 2, ref) - (double)(k - 1) / (2.0 * (double)k)) < 1e-13);
  for (size_t i = 0; i <= k; i++) {
    double t = M_PI / 2 * (double)i / (double)k;
    Y[2 * i] = cos(t);
    Y[2 * i + 1] = sin(t);
  }
  double v = hv(Y, k + 1, 2, ref);
  assert_true(v < 1.0 - M_PI / 4 && v > 1.0 - M_PI / 4 - 2.0 / (double)k);
  /* 3-D octant of the sphere on a (k+1)^2 angular grid: 1 - pi/6 */
  size_t a = getenv("PERIGEE_VALGRIND") ? 40 : 120, m = 0;
  double *S = malloc((a + 1) * (a + 1) * 3 * sizeof *S);
  for (size_t i = 0; i <= a; i++)
    for (size_t j = 0; j <= a; j++) {
      double th = M_PI / 2 * (double)i / (double)a, ph = M_PI / 2 * (double)j / (double)a;
      S[m * 3] = sin(th) * cos(ph);
      S[m * 3 + 1] = sin(th) * sin(ph);
      S[m * 3 + 2] = cos(th);
      m++;
    }
  v = hv(S, m, 3, ref);
  assert_true(v < 1.0 - M_PI / 6 && v > 1.0 - M_PI / 6 - 4.0 / (double)a);
  /* 3-D simplex lattice x+y+z = 1 (steps 1/k): HV -> 1 - 1/6 from below */
  m = 0;
  for (size_t i = 0; i <= a; i++)
    for (size_t j = 0; i + j <= a; j++) {
      S[m * 3] = (double)i / (double)a;
      S[m * 3 + 1] = (double)j / (double)a;
      S[m * 3 + 2] = (double)(a - i - j) / (double)a;
      m++;
    }
  v = hv(S, m, 3, ref);
  assert_true(v < 5.0 / 6.0 && v > 5.0 / 6.0 - 3.0 / (double)a);
  free(Y);
  free(S);
}

static void test_invariance(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 9);
  size_t n = 80;
  double *Y = malloc(3 * n * 6 * sizeof *Y), *Z = malloc(3 * n * 6 * sizeof *Z);
  double ref[6] = {1.2, 1.1, 1.3, 1.2, 1.0, 1.1};
  for (size_t d = 2; d <= 5; d++) {
    random_set(&g, Y, n, d, 0);
    double base = hv(Y, n, d, ref);
    /* reversed order plus duplicates plus dominated points */
    for (size_t i = 0; i < n; i++) memcpy(Z + i * d, Y + (n - 1 - i) * d, d * sizeof *Y);
    memcpy(Z + n * d, Y, n * d * sizeof *Y);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++) Z[(2 * n + i) * d + j] = Y[i * d + j] + 0.05 * pg_rng_uniform(&g);
    double v = hv(Z, 3 * n, d, ref);
    assert_true(fabs(v - base) <= 1e-12 * base);
    /* a point beyond the reference adds nothing, a point at -Inf gives Inf */
    for (size_t j = 0; j < d; j++) Z[j] = 0.0;
    Z[0] = ref[0];
    Z[1] = -5.0;
    assert_true(fabs(hv(Z, 1, d, ref)) == 0.0);
    Z[0] = -INFINITY;
    assert_true(isinf(hv(Z, 1, d, ref)));
  }
  double nanref[2] = {NAN, 1}, out;
  assert_int_equal(pg_hv(Y, 2, 2, nanref, &out), PG_EDOM);
  assert_int_equal(pg_hv(Y, 2, 0, ref, &out), PG_EINVAL);
  assert_int_equal(pg_hv(Y, 0, 2, ref, &out), PG_OK);
  assert_true(out == 0.0);
  free(Y);
  free(Z);
}

static void test_contrib_and_improvement(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 21);
  double Y[12 * 6], W[12 * 6], c[12], ref[6] = {1, 1, 1, 1, 1, 1};
  for (size_t d = 1; d <= 6; d++)
    for (int rep = 0; rep < 8; rep++) {
      size_t n = 4 + (size_t)rep;
      random_set(&g, Y, n, d, rep & 1);
      assert_int_equal(pg_hv_contrib(Y, n, d, ref, c), PG_OK);
      double all = hv_incl_excl(Y, n, d, ref);
      for (size_t i = 0; i < n; i++) {
        memcpy(W, Y, i * d * sizeof *Y);
        memcpy(W + i * d, Y + (i + 1) * d, (n - 1 - i) * d * sizeof *Y);
        double want = all - hv_incl_excl(W, n - 1, d, ref);
        assert_true(fabs(c[i] - want) <= 1e-12);
      }
      /* improvement of the last k rows over the first n - k */
      for (size_t k = 1; k <= 3; k++) {
        double imp;
        assert_int_equal(pg_hv_improvement(Y, n - k, d, ref, Y + (n - k) * d, k, &imp), PG_OK);
        double want = all - hv_incl_excl(Y, n - k, d, ref);
        assert_true(fabs(imp - want) <= 1e-12);
      }
    }
  /* 3-D contributions on a larger set (sphere points, copies, dominated
   * points) against the definition through pg_hv */
  {
    size_t n3 = getenv("PERIGEE_VALGRIND") ? 90 : 300;
    double *P3 = malloc(n3 * 3 * sizeof *P3), *C3 = malloc(n3 * sizeof *C3);
    double *Q3 = malloc(n3 * 3 * sizeof *Q3);
    for (size_t i = 0; i < n3; i++) {
      double a = fabs(pg_rng_normal(&g)), b = fabs(pg_rng_normal(&g)), c = fabs(pg_rng_normal(&g));
      double r = sqrt(a * a + b * b + c * c) / (i % 5 == 0 ? 1.1 : 1.0);
      P3[3 * i] = a / r;
      P3[3 * i + 1] = b / r;
      P3[3 * i + 2] = c / r;
      if (i % 13 == 1) memcpy(P3 + 3 * i, P3 + 3 * (i - 1), 3 * sizeof *P3);
    }
    assert_int_equal(pg_hv_contrib(P3, n3, 3, ref, C3), PG_OK);
    double all3 = hv(P3, n3, 3, ref);
    for (size_t i = 0; i < n3; i++) {
      memcpy(Q3, P3, i * 3 * sizeof *P3);
      memcpy(Q3 + i * 3, P3 + (i + 1) * 3, (n3 - 1 - i) * 3 * sizeof *P3);
      assert_true(fabs(C3[i] - (all3 - hv(Q3, n3 - 1, 3, ref))) <= 1e-12);
    }
    free(P3);
    free(C3);
    free(Q3);
  }
  /* 2-D contributions on a larger set against the definition */
  size_t n = 400;
  double *P = malloc(n * 2 * sizeof *P), *C = malloc(n * sizeof *C);
  random_set(&g, P, n, 2, 1);
  for (size_t i = 0; i < n * 2; i++) P[i] = P[i] * 0.6 + 0.3 * pg_rng_uniform(&g) * (i % 3 == 0);
  for (size_t i = 0; i < n; i += 7) memcpy(P + (i + 1) % n * 2, P + i * 2, 2 * sizeof *P);
  assert_int_equal(pg_hv_contrib(P, n, 2, ref, C), PG_OK);
  double all = hv(P, n, 2, ref);
  double *Q = malloc(n * 2 * sizeof *Q);
  for (size_t i = 0; i < n; i++) {
    memcpy(Q, P, i * 2 * sizeof *P);
    memcpy(Q + i * 2, P + (i + 1) * 2, (n - 1 - i) * 2 * sizeof *P);
    assert_true(fabs(C[i] - (all - hv(Q, n - 1, 2, ref))) <= 1e-12);
  }
  free(P);
  free(C);
  free(Q);
}

static void test_monte_carlo(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 8);
  double Y[20 * 5], ref[5] = {1, 1, 1, 1, 1};
  for (size_t d = 2; d <= 5; d++) {
    random_set(&g, Y, 20, d, 0);
    double exact = hv(Y, 20, d, ref), est, se;
    assert_int_equal(pg_hv_mc(Y, 20, d, ref, 20000, &g, &est, &se), PG_OK);
    assert_true(se > 0.0 && se < 0.02);
    assert_true(fabs(est - exact) < 4.5 * se);
  }
}

/* The private structures under the 3-D sweeps: the bit trie against a byte
 * array, the radix sort against the numeric order (stable, -0.0 == 0.0). */
static void test_fastset_and_radix(void **state) {
  (void)state;
  pg_rng g;
  pg_rng_seed(&g, 31);
  size_t sizes[] = {1, 63, 64, 65, 4097, 70000};
  for (size_t si = 0; si < 6; si++) {
    size_t K = sizes[si];
    pg_fastset fs;
    assert_int_equal(pg_fs_init(&fs, K), 0);
    char *in = calloc(K, 1);
    int ops = getenv("PERIGEE_VALGRIND") ? 600 : 4000;
    for (int it = 0; it < ops; it++) {
      size_t k = pg_rng_below(&g, K);
      switch (pg_rng_below(&g, 4)) {
      case 0:
        pg_fs_insert(&fs, k);
        in[k] = 1;
        break;
      case 1:
        pg_fs_erase(&fs, k);
        in[k] = 0;
        break;
      case 2: {
        long p = -1;
        for (long j = (long)k; j >= 0; j--)
          if (in[j]) {
            p = j;
            break;
          }
        assert_int_equal(pg_fs_pred(&fs, k), p);
        break;
      }
      default: {
        long p = -1;
        for (size_t j = k; j < K; j++)
          if (in[j]) {
            p = (long)j;
            break;
          }
        assert_int_equal(pg_fs_succ(&fs, k), p);
      }
      }
    }
    free(in);
    pg_fs_free(&fs);
  }
  size_t ns[] = {2, 100, 255, 256, 3000};
  for (size_t si = 0; si < 5; si++) {
    size_t n = ns[si];
    double *x = malloc(n * sizeof *x);
    uint64_t *key = malloc(n * sizeof *key), *kt = malloc(n * sizeof *kt);
    uint32_t *idx = malloc(n * sizeof *idx), *it = malloc(n * sizeof *it);
    for (size_t i = 0; i < n; i++) {
      double v = (double)pg_rng_below(&g, 7) - 3.0; /* ties, negatives, zeros */
      x[i] = v == 0.0 && (i & 1) ? -0.0 : v * (1.0 + 0.5 * (double)(i % 3 == 0));
      if (i % 11 == 0) x[i] = pg_rng_normal(&g) * 1e300;
      key[i] = pg_radix_key(x[i]);
      idx[i] = (uint32_t)i;
    }
    assert_int_equal(pg_radix_sort(key, idx, n, kt, it), 0);
    for (size_t i = 1; i < n; i++) {
      assert_true(x[idx[i - 1]] <= x[idx[i]]);
      if (x[idx[i - 1]] == x[idx[i]]) assert_true(idx[i - 1] < idx[i]);
    }
    free(x);
    free(key);
    free(kt);
    free(idx);
    free(it);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vs_inclusion_exclusion),
      cmocka_unit_test(test_vs_slicing),
      cmocka_unit_test(test_vs_slicing_tied),
      cmocka_unit_test(test_analytic),
      cmocka_unit_test(test_invariance),
      cmocka_unit_test(test_contrib_and_improvement),
      cmocka_unit_test(test_monte_carlo),
      cmocka_unit_test(test_fastset_and_radix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
