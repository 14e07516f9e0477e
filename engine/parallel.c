/*
 * parallel.c -- thread count of the OpenMP loops; OpenBLAS threads around
 * parallel regions. See parallel.h.
 */
#include "parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS's thread control; weak so that another BLAS still links. */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

/* 0 = not chosen yet (use the OpenMP default). A process-wide setting, like
 * OpenMP's own; set it from the main thread before a parallel region. */
static int pg_nthreads = 0;

int pg_threads_available(void) {
#ifdef _OPENMP
  return 1;
#else
  return 0;
#endif
}

int pg_threads_get(void) {
#ifdef _OPENMP
  if (pg_nthreads < 1) {
    int n = omp_get_max_threads();
    return n < 1 ? 1 : n;
  }
  return pg_nthreads;
#else
  return 1;
#endif
}

int pg_threads_set(int n) {
  int old = pg_threads_get();
  pg_nthreads = n < 1 ? 1 : n;
  return old;
}

int pg_par_threads(size_t nblocks) {
  int nt = pg_threads_get();
  if (nblocks < (size_t)nt) nt = (int)nblocks;
  return nt < 1 ? 1 : nt;
}

int pg_blas_threads_get(void) { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }

void pg_blas_threads_set(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n < 1 ? 1 : n);
}

int pg_par_enter(int nt) {
  (void)nt; /* pinned for any nt: see parallel.h */
  int saved = pg_blas_threads_get();
  if (saved > 1) pg_blas_threads_set(1);
  return saved;
}

void pg_par_leave(int saved) {
  if (saved > 1) pg_blas_threads_set(saved);
}
