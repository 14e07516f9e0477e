/* bench_blas.c -- dgemm and dpotrf throughput of the BLAS perigee links,
 * to check the OpenBLAS core-type setting (docs/design.md). Run it with and
 * without OPENBLAS_CORETYPE=SkylakeX and compare the GF/s. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "linalg.h"
#include "rng.h"

extern char *openblas_get_corename(void) __attribute__((weak));

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atoi(argv[1]) : 2000;
  pg_rng r;
  pg_rng_seed(&r, 1);
  double *A = malloc(n * n * sizeof *A), *B = malloc(n * n * sizeof *B), *C = malloc(n * n * sizeof *C);
  if (!A || !B || !C) return 1;
  for (size_t i = 0; i < n * n; i++) A[i] = pg_rng_normal(&r), B[i] = pg_rng_normal(&r);
  double t0 = now();
  pg_gemm(n, n, n, 1.0, A, B, 0, 0.0, C);
  double tg = now() - t0;
  pg_gemm(n, n, n, 1.0, A, A, 1, 0.0, C); /* SPD: A A^T + n I */
  for (size_t i = 0; i < n; i++) C[i * n + i] += (double)n;
  double jit = 0;
  t0 = now();
  pg_status s = pg_cholesky(C, n, &jit, 0, B);
  double tc = now() - t0;
  printf("core %s  n=%zu  dgemm %.3f s (%.1f GF/s)  dpotrf %.3f s (%.1f GF/s) %s\n",
         openblas_get_corename ? openblas_get_corename() : "?", n, tg, 2.0 * n * n * n / tg / 1e9,
         tc, n * n * (double)n / 3.0 / tc / 1e9, pg_strerror(s));
  free(A), free(B), free(C);
  return 0;
}
