/* linalg.c -- BLAS/LAPACKE wrappers (see linalg.h). */
#include "linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

pg_status pg_size_mul(size_t n, size_t m, size_t *out) {
  if (n != 0 && m > PG_MAX_ELEMS / n) {
    *out = 0;
    return PG_ERANGE;
  }
  *out = n * m;
  return *out > PG_MAX_ELEMS ? PG_ERANGE : PG_OK;
}

int pg_all_finite(const double *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(a[i])) return 0;
  return 1;
}

void pg_gemm(size_t n, size_t m, size_t k, double alpha, const double *A, const double *B,
             int transb, double beta, double *C) {
  if (n == 0 || m == 0) return;
  if (k == 0) {
    for (size_t i = 0; i < n * m; i++) C[i] = beta == 0.0 ? 0.0 : beta * C[i];
    return;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, transb ? CblasTrans : CblasNoTrans, (int)n, (int)m,
              (int)k, alpha, A, (int)k, B, transb ? (int)k : (int)m, beta, C, (int)m);
}

pg_status pg_cholesky(double *A, size_t n, double *jitter, int tries, double *work) {
  if (n == 0) {
    *jitter = 0.0;
    return PG_OK;
  }
  if (!pg_all_finite(A, n * n)) return PG_EDOM;
  double *copy = work;
  if (!copy) {
    copy = malloc(n * n * sizeof *copy);
    if (!copy) return PG_ENOMEM;
  }
  memcpy(copy, A, n * n * sizeof *A);
  double meandiag = 0.0;
  for (size_t i = 0; i < n; i++) meandiag += fabs(A[i * n + i]);
  meandiag /= (double)n;
  if (!(meandiag > 0.0)) meandiag = 1.0;
  double start = *jitter > 0.0 ? *jitter : 1e-10 * meandiag;
  double jit = 0.0;
  pg_status st = PG_ENOTPD;
  for (int attempt = 0; attempt <= tries; attempt++) {
    if (attempt > 0) {
      memcpy(A, copy, n * n * sizeof *A);
      jit = attempt == 1 ? start : jit * 10.0;
      for (size_t i = 0; i < n; i++) A[i * n + i] += jit;
    } else if (*jitter > 0.0) {
      continue; /* caller asked for jitter from the start */
    }
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, A, (lapack_int)n);
    if (info == 0) {
      st = PG_OK;
      break;
    }
    if (info < 0) {
      st = PG_ELAPACK;
      break;
    }
  }
  if (st == PG_OK) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) A[i * n + j] = 0.0;
    *jitter = jit;
  } else {
    memcpy(A, copy, n * n * sizeof *A);
  }
  if (!work) free(copy);
  return st;
}

void pg_trsm_lower(const double *L, size_t n, double *B, size_t nrhs, int trans) {
  if (n == 0 || nrhs == 0) return;
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, trans ? CblasTrans : CblasNoTrans,
              CblasNonUnit, (int)n, (int)nrhs, 1.0, L, (int)n, B, (int)nrhs);
}

void pg_chol_solve(const double *L, size_t n, double *B, size_t nrhs) {
  pg_trsm_lower(L, n, B, nrhs, 0);
  pg_trsm_lower(L, n, B, nrhs, 1);
}

double pg_chol_logdet(const double *L, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += log(L[i * n + i]);
  return 2.0 * s;
}

void pg_sqdist(const double *A, size_t n, const double *B, size_t m, size_t d, double *D) {
  if (n == 0 || m == 0) return;
  double *nb = malloc(m * sizeof *nb);
  for (size_t j = 0; j < m; j++) {
    double s = 0.0;
    for (size_t k = 0; k < d; k++) s += B[j * d + k] * B[j * d + k];
    if (nb) nb[j] = s;
  }
  pg_gemm(n, m, d, -2.0, A, B, 1, 0.0, D);
  for (size_t i = 0; i < n; i++) {
    double na = 0.0;
    for (size_t k = 0; k < d; k++) na += A[i * d + k] * A[i * d + k];
    double *row = D + i * m;
    for (size_t j = 0; j < m; j++) {
      double nbj;
      if (nb) {
        nbj = nb[j];
      } else {
        nbj = 0.0;
        for (size_t k = 0; k < d; k++) nbj += B[j * d + k] * B[j * d + k];
      }
      double v = row[j] + na + nbj;
      row[j] = v > 0.0 ? v : 0.0;
    }
  }
  free(nb);
}

int pg_chol_upper(double *A, size_t n) {
  if (n > 0x7fffffff) return -1;
  int N = (int)n;
  if (n > 1536) return (int)LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', N, A, N);
  enum { NB = 32 };
  for (int k = 0; k < N; k += NB) {
    int b = N - k < NB ? N - k : NB, r = N - k - b;
    double *Akk = A + k + (size_t)k * n, *Ark = Akk + b, *Arr = Ark + (size_t)b * n;
    int info = (int)LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', b, Akk, N);
    if (info != 0) return info > 0 ? info + k : info;
    if (r == 0) break;
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, r, b, 1.0, Akk,
                N, Ark, N);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, r, b, -1.0, Ark, N, 1.0, Arr, N);
  }
  return 0;
}

/* Recursive kernels on the column-major lower triangle L (= row-major
 * upper U = L^T) with leading dimension ld; below LEAF the LAPACK routine. */
enum { CHOLINV_LEAF = 96 };

/* L -> L^-1 (lower, non-unit): [L11 0; L21 L22]^-1 =
 * [L11^-1, 0; -L22^-1 L21 L11^-1, L22^-1]. */
static int trtri_rec(int n, double *A, int ld) {
  if (n <= CHOLINV_LEAF) return (int)LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'L', 'N', n, A, ld);
  int n1 = n / 2, n2 = n - n1;
  double *A21 = A + n1, *A22 = A + (size_t)n1 * (size_t)ld + n1;
  /* each diagonal block inverted before it multiplies the off-diagonal one:
   * two dtrmm (OpenBLAS's dtrmm kernels run about twice as fast as its dtrsm) */
  int info = trtri_rec(n1, A, ld);
  if (info != 0) return info;
  cblas_dtrmm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, n2, n1, -1.0, A,
              ld, A21, ld);
  info = trtri_rec(n2, A22, ld);
  if (info != 0) return info > 0 ? info + n1 : info;
  cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n2, n1, 1.0, A22,
              ld, A21, ld);
  return 0;
}

/* Lower triangle of L^T L: [L11^T L11 + L21^T L21, .; L22^T L21, L22^T L22]. */
static void lauum_rec(int n, double *A, int ld) {
  if (n <= CHOLINV_LEAF) {
    LAPACKE_dlauum_work(LAPACK_COL_MAJOR, 'L', n, A, ld);
    return;
  }
  int n1 = n / 2, n2 = n - n1;
  double *A21 = A + n1, *A22 = A + (size_t)n1 * (size_t)ld + n1;
  lauum_rec(n1, A, ld);
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, n1, n2, 1.0, A21, ld, 1.0, A, ld);
  cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n2, n1, 1.0, A22,
              ld, A21, ld);
  lauum_rec(n2, A22, ld);
}

pg_status pg_chol_inverse(double *U, size_t n) {
  if (n == 0) return PG_OK;
  if (n > (size_t)0x7fffffff / 2) return PG_ERANGE;
  /* K = U^T U = L L^T with L = U^T (column-major lower); K^-1 = L^-T L^-1. */
  int info = trtri_rec((int)n, U, (int)n);
  if (info < 0) return PG_ELAPACK;
  if (info > 0) return PG_ENOTPD;
  lauum_rec((int)n, U, (int)n);
  return PG_OK;
}
