/*
 * lio.c -- small system helpers for the experiment layer (engine/io.c):
 *   perigee.journal_append(path, s, sync) -> true | nil, message
 *       one write(2) with O_APPEND, then fdatasync when sync (a boolean,
 *       required so that a stray call can never create a file by accident)
 *   perigee.wtime() -> monotonic seconds (for durations)
 *   perigee.isatty([fd = 1]) -> boolean
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../engine/io.h"
#include "lpg.h"

static int io_journal_append(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  luaL_checktype(L, 2, LUA_TSTRING);
  luaL_checktype(L, 3, LUA_TBOOLEAN);
  luaL_argcheck(L, lua_isnone(L, 4), 4, "three arguments expected");
  const char *path = lua_tostring(L, 1);
  size_t len;
  const char *s = lua_tolstring(L, 2, &len);
  int sync = lua_toboolean(L, 3);
  if (pg_io_append(path, s, len, sync) != PG_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(e));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int io_wtime(lua_State *L) {
  luaL_argcheck(L, lua_isnone(L, 1), 1, "no arguments expected");
  lua_pushnumber(L, pg_io_wtime());
  return 1;
}

static int io_isatty(lua_State *L) {
  lua_Integer fd = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, fd >= 0 && fd < 1024, 1, "file descriptor out of range");
  lua_pushboolean(L, isatty((int)fd));
  return 1;
}

static const luaL_Reg io_funcs[] = {
    {"journal_append", io_journal_append}, {"wtime", io_wtime}, {"isatty", io_isatty}, {NULL, NULL}};

void pgL_open_io(lua_State *L, int mod) { pgL_setfuncs(L, mod, io_funcs); }
