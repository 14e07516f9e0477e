/*
 * lparallel.c -- thread count of perigee's OpenMP loops (engine/parallel.h).
 *
 *   pg.threads()      -> n            current count
 *   pg.threads(n)     -> previous     choose it (n >= 1)
 *   pg.threads_info() -> {threads, openmp = bool, blas_threads}
 *
 * At load, PERIGEE_THREADS (set by `perigee --threads N` too) chooses the
 * count; otherwise OpenMP's default (OMP_NUM_THREADS, or the core count).
 * Results are identical whatever the count (see docs/scaling.md).
 */
#include <stdlib.h>

#include "lpg.h"
#include "parallel.h"

static int par_threads(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_pushinteger(L, pg_threads_get());
    return 1;
  }
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 4096, 1, "thread count must be in 1..4096");
  lua_pushinteger(L, pg_threads_set((int)n));
  return 1;
}

static int par_info(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, pg_threads_get());
  lua_setfield(L, -2, "threads");
  lua_pushboolean(L, pg_threads_available());
  lua_setfield(L, -2, "openmp");
  lua_pushinteger(L, pg_blas_threads_get());
  lua_setfield(L, -2, "blas_threads");
  return 1;
}

/* PERIGEE_THREADS=N (a positive integer) chooses the count at load time;
 * anything else is ignored with the OpenMP default kept. */
static void threads_from_env(void) {
  const char *s = getenv("PERIGEE_THREADS");
  if (!s || !*s) return;
  char *end;
  long n = strtol(s, &end, 10);
  if (*end == '\0' && n >= 1 && n <= 4096) pg_threads_set((int)n);
}

/* BLAS runs on one thread unless the user asked for more through
 * OPENBLAS_NUM_THREADS: multi-threaded OpenBLAS changes the rounding of
 * gemm/trsm with the thread count (so a run would depend on the machine),
 * and on the small matrices of BO loops its spinning threads cost more than
 * they save (docs/design.md). perigee's own loops use OpenMP instead. */
static void blas_threads_default(void) {
  const char *e = getenv("OPENBLAS_NUM_THREADS");
  if (!e || !*e) pg_blas_threads_set(1);
}

void pgL_open_parallel(lua_State *L, int mod) {
  blas_threads_default();
  threads_from_env();
  lua_pushcfunction(L, par_threads);
  lua_setfield(L, mod, "threads");
  lua_pushcfunction(L, par_info);
  lua_setfield(L, mod, "threads_info");
}
