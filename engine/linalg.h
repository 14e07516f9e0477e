/*
 * linalg.h -- thin wrappers over OpenBLAS (CBLAS) and LAPACKE for the dense,
 * row-major double matrices used everywhere in perigee.
 *
 * A matrix is a flat array `a[i*ld + j]`; unless a routine says otherwise the
 * leading dimension equals the column count. Callers own every buffer.
 */
#ifndef PG_LINALG_H
#define PG_LINALG_H

#include <stddef.h>

#include "status.h"

/* Largest element count any routine accepts (guards size_t overflow and
 * absurd requests coming from scripts): 2^34 doubles = 128 GiB. */
#define PG_MAX_ELEMS ((size_t)1 << 34)

/* n*m without overflow, or 0 and PG_ERANGE when above PG_MAX_ELEMS. */
pg_status pg_size_mul(size_t n, size_t m, size_t *out);

/* 1 when every a[0..n) is finite. */
int pg_all_finite(const double *a, size_t n);

/* C[n x m] = alpha * A[n x k] * op(B) + beta * C, op(B) = B[k x m] or
 * B^T when transb (B is then m x k). Row-major, contiguous. */
void pg_gemm(size_t n, size_t m, size_t k, double alpha, const double *A, const double *B,
             int transb, double beta, double *C);

/* In-place lower Cholesky factor of the symmetric n x n matrix A (row-major;
 * the strict upper triangle is zeroed). If A is not numerically positive
 * definite, retries with jitter added to the diagonal: starting at
 * max(*jitter, 1e-10 * mean diagonal), multiplied by 10 each time, at most
 * `tries` times. On success *jitter holds the jitter used (0 if none).
 * `work` (n*n doubles) keeps a copy of A for the retries; may be NULL, then
 * it is allocated. Returns PG_ENOTPD when every attempt failed (A is then
 * restored to its input), PG_EDOM on non-finite input. */
pg_status pg_cholesky(double *A, size_t n, double *jitter, int tries, double *work);

/* Solve L X = B (trans = 0) or L^T X = B (trans = 1) in place, L lower
 * triangular n x n, B n x nrhs. */
void pg_trsm_lower(const double *L, size_t n, double *B, size_t nrhs, int trans);

/* Solve (L L^T) X = B in place. */
void pg_chol_solve(const double *L, size_t n, double *B, size_t nrhs);

/* log det(L L^T) = 2 sum log L_ii. */
double pg_chol_logdet(const double *L, size_t n);

/* In place: the row-major upper triangle of the symmetric n x n A ->
 * U with A = U^T U (LAPACK dpotrf('L') on the same memory in column-major
 * order); the strict lower triangle is neither read nor written. Up to
 * n = 1536 a right-looking loop over 32-wide panels (dpotrf of the diagonal
 * block, dtrsm, dsyrk), which OpenBLAS 0.3.21 runs 10-15 % faster than its
 * own dpotrf at n = 1000; above, dpotrf. Returns 0, or k > 0 when the
 * leading k x k block is not positive definite (A then holds partial
 * results), or < 0 for an argument error (as LAPACK's info). */
int pg_chol_upper(double *A, size_t n);

/* In place: U (upper Cholesky factor of K = U^T U, row-major n x n; the
 * column-major lower factor of LAPACK's dpotrf('L')) -> the upper triangle
 * of K^-1 (the strict lower triangle is not touched). Same result as LAPACK
 * dpotri, through a recursive blocked triangular inverse and L^-T L^-1
 * product (BLAS-3 calls only: faster than OpenBLAS's dpotri, whose triangular
 * inverse falls back to matrix-vector kernels). PG_ENOTPD on a zero pivot. */
pg_status pg_chol_inverse(double *U, size_t n);

/* Squared Euclidean distances D[i*m + j] = |A_i - B_j|^2 between the rows of
 * A (n x d) and B (m x d), through one GEMM; clamped at 0. */
void pg_sqdist(const double *A, size_t n, const double *B, size_t m, size_t d, double *D);

#endif
