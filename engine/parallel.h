/*
 * parallel.h -- the thread count of the OpenMP loops, and BLAS threads.
 *
 * perigee parallelises, with OpenMP, the loops that dominate on one machine
 * (candidate-pool prediction of the exact and sparse GP, cost-model sweeps
 * over (network, hardware) pairs). Every such loop splits its work into
 * blocks whose boundaries depend on the problem size only, never on the
 * thread count, and each block is computed by one thread with single-threaded
 * BLAS: results are bit-identical whatever the thread count.
 *
 * The count is process-wide (an OpenMP property): pg_threads_set(n) chooses
 * it; before any call it is omp_get_max_threads() (OMP_NUM_THREADS, or the
 * number of cores). Without OpenMP (CMake found none) every loop runs on one
 * thread and pg_threads_get() returns 1.
 *
 * BLAS: OpenBLAS keeps its own thread pool. Calls made from inside a parallel
 * region must not fan out again (oversubscription, and OpenBLAS's pthread
 * build serialises concurrent callers). pg_par_enter() sets OpenBLAS to one
 * thread for the duration of a parallel loop, whatever its thread count: a
 * multi-threaded OpenBLAS call splits its work by its own thread count and
 * may round differently, so a loop with 1 OpenMP thread must also call the
 * single-threaded BLAS for its results to equal those of a loop with N
 * threads. pg_par_leave() restores the previous count. (Fitting, outside
 * these loops, keeps OpenBLAS's threads.)
 */
#ifndef PG_PARALLEL_H
#define PG_PARALLEL_H

#include <stddef.h>

/* 1 when perigee was built with OpenMP, else 0. */
int pg_threads_available(void);

/* Current thread count of perigee's parallel loops (>= 1). */
int pg_threads_get(void);

/* Choose the thread count; n < 1 is taken as 1. Without OpenMP it is
 * remembered but loops still run on one thread. Returns the previous count. */
int pg_threads_set(int n);

/* Number of threads a loop over `nblocks` independent blocks will use:
 * min(pg_threads_get(), nblocks), at least 1. */
int pg_par_threads(size_t nblocks);

/* Before / after a parallel loop of `nt` threads: pin OpenBLAS to one
 * thread. pg_par_leave takes what pg_par_enter returned. */
int pg_par_enter(int nt);
void pg_par_leave(int saved);

/* OpenBLAS's thread count (1 when the BLAS is not OpenBLAS). */
int pg_blas_threads_get(void);
/* Set OpenBLAS's thread count (no-op for another BLAS). */
void pg_blas_threads_set(int n);

#endif
