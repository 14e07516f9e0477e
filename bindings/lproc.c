/*
 * lproc.c -- process identity, for the experiment runner's worker processes
 * (lua/perigee/experiment.lua, "Parallel runs").
 *
 *   perigee.getpid()  -> this process's id
 *   perigee.getppid() -> its parent's id (changes when the parent dies: the
 *                        process is re-parented, so a worker can tell that
 *                        the process that started it is gone)
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "lpg.h"

static int proc_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static int proc_getppid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getppid());
  return 1;
}

void pgL_open_proc(lua_State *L, int mod) {
  lua_pushcfunction(L, proc_getpid);
  lua_setfield(L, mod, "getpid");
  lua_pushcfunction(L, proc_getppid);
  lua_setfield(L, mod, "getppid");
}
