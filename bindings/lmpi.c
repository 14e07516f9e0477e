/*
 * lmpi.c -- the MPI glue of perigee (Open MPI; docs/scaling.md). Compiled
 * with its MPI half only when CMake found MPI (PG_HAVE_MPI); without it,
 * C.built is false and lua/perigee/mpi.lua runs single-process.
 *
 * The C table is the module "perigee.mpi_c" (package.preload); pg.mpi_built
 * says whether MPI is there. In the module (`local C = require "perigee.mpi_c"`):
 *   C.built                       true when built with MPI
 *   C.launched()                  true when started by mpirun / srun
 *                                       (the launcher's environment says so)
 *   C.init() -> rank, size        MPI_Init once (later calls: no-op);
 *                                       MPI_Finalize runs when the Lua state
 *                                       closes (a __gc of a registry value)
 *   C.rank(), C.size()
 *   C.send(dest, tag, bytes)      MPI_Send of a string
 *   C.probe(seconds) -> source, tag | nil   wait for any message (polls
 *                                       MPI_Iprobe with back-off sleeps up to
 *                                       1 ms, so an idle rank leaves the core
 *                                       to a busy one); seconds < 0: forever
 *   C.recv(source, tag) -> bytes  receive the probed message
 *   C.abort(code)                 MPI_Abort on MPI_COMM_WORLD
 *   C.peer_lost()                 a rank is dead or hung: skip MPI_Finalize
 *                                 at exit (it would wait for that rank)
 *
 * Errors return (MPI_ERRORS_RETURN on MPI_COMM_WORLD) and are raised as Lua
 * errors with the MPI error string. Messages are strings: the Lua side
 * serialises tables (lua/perigee/mpi.lua).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lpg.h"

/* The launcher's environment: Open MPI's mpirun, PMIx (srun --mpi=pmix),
 * MPICH / Hydra and Slurm's PMI. */
static int mpi_launched(lua_State *L) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                     NULL};
  int yes = 0;
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i])) yes = 1;
  lua_pushboolean(L, yes);
  return 1;
}

#ifdef PG_HAVE_MPI
#include <mpi.h>

#define MPI_GUARD "perigee.mpi.finalizer"

static int mpi_check(lua_State *L, int rc, const char *what) {
  if (rc == MPI_SUCCESS) return 0;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) strcpy(msg, "unknown MPI error");
  return luaL_error(L, "%s: %s", what, msg);
}

static int initialized(void) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

/* Set by C.peer_lost(): a rank died or hangs, and MPI_Finalize (which
 * waits for every rank) might never return: the process then exits without
 * it, as a failed rank would (mpirun --enable-recovery tolerates both). */
static int peer_lost = 0;

static int guard_gc(lua_State *L) {
  (void)L;
  if (initialized() && !peer_lost) MPI_Finalize();
  return 0;
}

static int mpi_peer_lost(lua_State *L) {
  (void)L;
  peer_lost = 1;
  return 0;
}

static int mpi_init(lua_State *L) {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int provided;
    mpi_check(L, MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    /* finalize when the Lua state closes */
    lua_newuserdatauv(L, 1, 0);
    lua_newtable(L);
    lua_pushcfunction(L, guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, MPI_GUARD);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  lua_pushinteger(L, rank);
  lua_pushinteger(L, size);
  return 2;
}

static void need_init(lua_State *L) {
  if (!initialized()) luaL_error(L, "MPI is not initialised (call perigee.mpi.init())");
}

static int mpi_rank(lua_State *L) {
  int r = 0;
  if (initialized()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  lua_pushinteger(L, r);
  return 1;
}

static int mpi_size(lua_State *L) {
  int s = 1;
  if (initialized()) MPI_Comm_size(MPI_COMM_WORLD, &s);
  lua_pushinteger(L, s);
  return 1;
}

static int check_rank(lua_State *L, int arg) {
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  lua_Integer r = luaL_checkinteger(L, arg);
  luaL_argcheck(L, r >= 0 && r < size, arg, "rank out of range");
  return (int)r;
}

static int check_tag(lua_State *L, int arg) {
  lua_Integer t = luaL_checkinteger(L, arg);
  luaL_argcheck(L, t >= 0 && t <= 32767, arg, "tag must be in 0..32767");
  return (int)t;
}

static int mpi_send(lua_State *L) {
  need_init(L);
  int dest = check_rank(L, 1), tag = check_tag(L, 2);
  size_t n;
  const char *s = luaL_checklstring(L, 3, &n);
  luaL_argcheck(L, n <= (size_t)0x7fffffff, 3, "message too long (2 GiB at most)");
  mpi_check(L, MPI_Send(s, (int)n, MPI_CHAR, dest, tag, MPI_COMM_WORLD), "MPI_Send");
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int mpi_probe(lua_State *L) {
  need_init(L);
  double wait = luaL_optnumber(L, 1, -1);
  double t0 = now_s();
  long sleep_ns = 1000;
  for (;;) {
    int flag = 0;
    MPI_Status st;
    mpi_check(L, MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
    if (flag) {
      lua_pushinteger(L, st.MPI_SOURCE);
      lua_pushinteger(L, st.MPI_TAG);
      return 2;
    }
    if (wait >= 0 && now_s() - t0 >= wait) return 0;
    struct timespec ts = {0, sleep_ns};
    nanosleep(&ts, NULL);
    if (sleep_ns < 1000000) sleep_ns *= 2;
  }
}

static int mpi_recv(lua_State *L) {
  need_init(L);
  int src = check_rank(L, 1), tag = check_tag(L, 2);
  MPI_Status st;
  mpi_check(L, MPI_Probe(src, tag, MPI_COMM_WORLD, &st), "MPI_Probe");
  int n = 0;
  mpi_check(L, MPI_Get_count(&st, MPI_CHAR, &n), "MPI_Get_count");
  char *buf = pgL_newbuffer(L, (size_t)n + 1);
  mpi_check(L, MPI_Recv(buf, n, MPI_CHAR, src, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

static int mpi_abort(lua_State *L) {
  int code = (int)luaL_optinteger(L, 1, 1);
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, code);
  return 0;
}

static const luaL_Reg mpi_funcs[] = {{"init", mpi_init},   {"rank", mpi_rank},   {"size", mpi_size},
                                     {"send", mpi_send},   {"probe", mpi_probe}, {"recv", mpi_recv},
                                     {"abort", mpi_abort}, {"peer_lost", mpi_peer_lost}, {NULL, NULL}};
#endif

/* luaopen of "perigee.mpi_c": the whole C table (reached through
 * package.preload, not through the perigee table, so that generic walks over
 * perigee's functions never call MPI_Init or MPI_Abort). */
static int open_mpi_c(lua_State *L) {
  lua_newtable(L);
#ifdef PG_HAVE_MPI
  luaL_setfuncs(L, mpi_funcs, 0);
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, -2, "built");
  lua_pushcfunction(L, mpi_launched);
  lua_setfield(L, -2, "launched");
  return 1;
}

void pgL_open_mpi(lua_State *L, int mod) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open_mpi_c);
  lua_setfield(L, -2, "perigee.mpi_c");
  lua_pop(L, 1);
#ifdef PG_HAVE_MPI
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, mod, "mpi_built");
}
