/* module.c -- entry point of the Lua C module perigee/core.so: the same
 * luaopen_perigee_core as the executable, exported for stock lua5.4. */
#include <lua.h>

int luaopen_perigee_core(lua_State *L);

/* Referenced so that the linker keeps the function in the shared module. */
int (*const pg_module_entry)(lua_State *) = luaopen_perigee_core;
