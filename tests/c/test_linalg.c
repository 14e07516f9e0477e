/* test_linalg.c -- Cholesky with jitter, solves, log-determinants and
 * distances against closed forms and brute force. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lapacke.h>

#include "linalg.h"
#include "rng.h"

static void test_cholesky_closed_form(void **state) {
  (void)state;
  /* [[4,2],[2,3]] = L L^T with L = [[2,0],[1,sqrt(2)]] */
  double A[4] = {4, 2, 2, 3}, jit = 0;
  assert_int_equal(pg_cholesky(A, 2, &jit, 5, NULL), PG_OK);
  assert_true(jit == 0.0);
  assert_true(fabs(A[0] - 2) < 1e-15 && A[1] == 0.0);
  assert_true(fabs(A[2] - 1) < 1e-15 && fabs(A[3] - sqrt(2.0)) < 1e-15);
  assert_true(fabs(pg_chol_logdet(A, 2) - log(8.0)) < 1e-14); /* det = 12 - 4 */
  /* solve [[4,2],[2,3]] x = [2, 5] -> x = [-0.5, 2] */
  double b[2] = {2, 5};
  pg_chol_solve(A, 2, b, 1);
  assert_true(fabs(b[0] + 0.5) < 1e-14 && fabs(b[1] - 2) < 1e-14);
}

static void test_cholesky_jitter(void **state) {
  (void)state;
  /* rank-one PSD matrix: needs jitter */
  double A[9];
  for (int i = 0; i < 9; i++) A[i] = 1.0;
  double jit = 0;
  assert_int_equal(pg_cholesky(A, 3, &jit, 10, NULL), PG_OK);
  assert_true(jit > 0.0 && jit < 1e-2);
  /* L L^T reproduces A + jitter I */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double s = 0;
      for (int k = 0; k < 3; k++) s += A[i * 3 + k] * A[j * 3 + k];
      assert_true(fabs(s - (1.0 + (i == j ? jit : 0.0))) < 1e-12);
    }
}

static void test_cholesky_indefinite(void **state) {
  (void)state;
  double A[4] = {1, 2, 2, 1}, orig[4] = {1, 2, 2, 1}, jit = 0;
  assert_int_equal(pg_cholesky(A, 2, &jit, 3, NULL), PG_ENOTPD);
  assert_memory_equal(A, orig, sizeof A); /* restored */
  double N[4] = {1, NAN, NAN, 1};
  assert_int_equal(pg_cholesky(N, 2, &jit, 3, NULL), PG_EDOM);
}

/* Random SPD matrix: solve and log-det against a brute-force check. */
static void test_solve_random(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 4);
  enum { n = 20 };
  double G[n * n], A[n * n], L[n * n], x[n], b[n];
  for (int i = 0; i < n * n; i++) G[i] = pg_rng_normal(&r);
  pg_gemm(n, n, n, 1.0, G, G, 1, 0.0, A); /* A = G G^T */
  for (int i = 0; i < n; i++) A[i * n + i] += n;
  memcpy(L, A, sizeof A);
  double jit = 0;
  assert_int_equal(pg_cholesky(L, n, &jit, 0, NULL), PG_OK);
  for (int i = 0; i < n; i++) x[i] = b[i] = pg_rng_normal(&r);
  pg_chol_solve(L, n, x, 1);
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < n; j++) s += A[i * n + j] * x[j];
    assert_true(fabs(s - b[i]) < 1e-10);
  }
}

/* pg_chol_inverse: K K^-1 = I for random SPD K, below and above the
 * recursion's leaf size (upper factor U = L^T in, upper triangle out). */
static void test_chol_inverse(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 17);
  size_t sizes[3] = {1, 7, 211};
  for (int t = 0; t < 3; t++) {
    size_t n = sizes[t];
    double *B = malloc(n * n * sizeof *B), *K = malloc(n * n * sizeof *K);
    double *L = malloc(n * n * sizeof *L), *Ki = malloc(n * n * sizeof *Ki);
    for (size_t i = 0; i < n * n; i++) B[i] = pg_rng_normal(&r);
    pg_gemm(n, n, n, 1.0 / (double)n, B, B, 1, 0.0, K);
    for (size_t i = 0; i < n; i++) K[i * n + i] += 0.5;
    memcpy(L, K, n * n * sizeof *L);
    double jit = 0;
    assert_int_equal(pg_cholesky(L, n, &jit, 0, NULL), PG_OK);
    /* U = L^T in the upper triangle; the strict lower one must stay untouched */
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j <= i; j++) {
        L[j * n + i] = L[i * n + j];
        if (j < i) L[i * n + j] = -7.0;
      }
    assert_int_equal(pg_chol_inverse(L, n), PG_OK);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        if (j < i) assert_true(L[i * n + j] == -7.0);
        Ki[i * n + j] = j >= i ? L[i * n + j] : L[j * n + i];
      }
    pg_gemm(n, n, n, 1.0, K, Ki, 0, 0.0, B);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++)
        assert_true(fabs(B[i * n + j] - (i == j ? 1.0 : 0.0)) < 1e-10);
    free(B);
    free(K);
    free(L);
    free(Ki);
  }
}

/* pg_chol_upper against LAPACK's dpotrf('L') on the same memory, across
 * the 32-wide panels and (outside valgrind) above the 1536 switch; the
 * strict lower triangle stays untouched; a matrix that is not positive
 * definite reports its first failing column. */
static void test_chol_upper(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 23);
  size_t sizes[6] = {1, 31, 32, 33, 200, 1600};
  int nt = getenv("PERIGEE_VALGRIND") ? 5 : 6;
  for (int t = 0; t < nt; t++) {
    size_t n = sizes[t];
    double *B = malloc(n * 8 * sizeof *B), *K = malloc(n * n * sizeof *K);
    double *U = malloc(n * n * sizeof *U), *R = malloc(n * n * sizeof *R);
    for (size_t i = 0; i < n * 8; i++) B[i] = pg_rng_normal(&r);
    pg_gemm(n, n, 8, 1.0, B, B, 1, 0.0, K); /* rank 8 + diagonal: well conditioned */
    for (size_t i = 0; i < n; i++) K[i * n + i] += 1.0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) U[i * n + j] = j >= i ? K[i * n + j] : -5.0;
    memcpy(R, U, n * n * sizeof *R);
    assert_int_equal(pg_chol_upper(U, n), 0);
    assert_int_equal(LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (int)n, R, (int)n), 0);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        if (j < i) {
          assert_true(U[i * n + j] == -5.0);
          continue;
        }
        if (fabs(U[i * n + j] - R[i * n + j]) > 1e-12 * (1.0 + fabs(R[i * n + j])))
          fail_msg("n %zu (%zu, %zu): %.17g vs dpotrf %.17g", n, i, j, U[i * n + j], R[i * n + j]);
      }
    if (n >= 33) { /* not positive definite from column min(n, 40) (1-based) on */
      for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) U[i * n + j] = K[i * n + j];
      size_t c = n < 40 ? n - 1 : 39;
      U[c * n + c] = -1.0;
      assert_int_equal(pg_chol_upper(U, n), (int)c + 1);
    }
    free(B);
    free(K);
    free(U);
    free(R);
  }
}

static void test_sqdist(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 8);
  enum { n = 7, m = 5, d = 3 };
  double A[n * d], B[m * d], D[n * m];
  for (int i = 0; i < n * d; i++) A[i] = pg_rng_normal(&r);
  for (int i = 0; i < m * d; i++) B[i] = pg_rng_normal(&r);
  pg_sqdist(A, n, B, m, d, D);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++) {
      double s = 0;
      for (int k = 0; k < d; k++) s += (A[i * d + k] - B[j * d + k]) * (A[i * d + k] - B[j * d + k]);
      assert_true(fabs(D[i * m + j] - s) < 1e-12);
    }
  pg_sqdist(A, 1, A, 1, d, D); /* a point with itself: exactly 0 after clamping */
  assert_true(D[0] >= 0.0 && D[0] < 1e-14);
}

static void test_size_mul(void **state) {
  (void)state;
  size_t out;
  assert_int_equal(pg_size_mul(1000, 1000, &out), PG_OK);
  assert_true(out == 1000000);
  assert_int_equal(pg_size_mul(SIZE_MAX / 2, 3, &out), PG_ERANGE);
  assert_int_equal(pg_size_mul((size_t)1 << 20, (size_t)1 << 20, &out), PG_ERANGE);
  assert_int_equal(pg_size_mul(0, SIZE_MAX, &out), PG_OK);
  assert_true(out == 0);
  double v[3] = {1, INFINITY, 0};
  assert_int_equal(pg_all_finite(v, 1), 1);
  assert_int_equal(pg_all_finite(v, 3), 0);
}

static void test_strerror(void **state) {
  (void)state;
  for (int s = 0; s < PG_STATUS_COUNT; s++) assert_non_null(pg_strerror((pg_status)s));
  assert_string_equal(pg_strerror((pg_status)999), "unknown status");
  assert_string_equal(pg_strerror(PG_OK), "success");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cholesky_closed_form), cmocka_unit_test(test_cholesky_jitter),
      cmocka_unit_test(test_cholesky_indefinite),  cmocka_unit_test(test_solve_random),
      cmocka_unit_test(test_chol_inverse),         cmocka_unit_test(test_chol_upper),
      cmocka_unit_test(test_sqdist),               cmocka_unit_test(test_size_mul),
      cmocka_unit_test(test_strerror),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
