/*
 * lrng.c -- perigee.rng(seed): seeded generator objects (engine/rng.c).
 *
 *   r:uniform() in [0,1), r:uniform(a, b) in [a,b), r:normal([mu, sigma]),
 *   r:integer(n) in 1..n, r:integer(lo, hi) in lo..hi, r:categorical(w) -> 1..#w,
 *   r:permutation(n) -> table, r:split() -> independent generator,
 *   r:state() -> string, perigee.rng.from_state(s), r:clone()
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lpg.h"

pg_rng *pgL_checkrng(lua_State *L, int arg) { return luaL_checkudata(L, arg, PGL_RNG_MT); }

pg_rng *pgL_newrng(lua_State *L) {
  pg_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, PGL_RNG_MT);
  return r;
}

static int rng_new(lua_State *L) {
  lua_remove(L, 1); /* called through __call */
  int isint;
  lua_Integer seed = lua_tointegerx(L, 1, &isint);
  if (!isint) {
    if (lua_type(L, 1) == LUA_TNUMBER) luaL_argerror(L, 1, "seed must be an integer");
    luaL_typeerror(L, 1, "integer seed");
  }
  pg_rng_seed(pgL_newrng(L), (uint64_t)seed);
  return 1;
}

static int rng_uniform(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_pushnumber(L, pg_rng_uniform(r));
    return 1;
  }
  double a = pgL_checkfinite(L, 2), b = pgL_checkfinite(L, 3);
  luaL_argcheck(L, a <= b, 3, "upper bound below lower bound");
  lua_pushnumber(L, a + (b - a) * pg_rng_uniform(r));
  return 1;
}

static int rng_normal(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  double mu = lua_isnoneornil(L, 2) ? 0.0 : pgL_checkfinite(L, 2);
  double sd = lua_isnoneornil(L, 3) ? 1.0 : pgL_checkfinite(L, 3);
  luaL_argcheck(L, sd >= 0.0, 3, "standard deviation must be non-negative");
  lua_pushnumber(L, mu + sd * pg_rng_normal(r));
  return 1;
}

static int rng_integer(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  lua_Integer lo = 1, hi;
  if (lua_isnoneornil(L, 3)) {
    hi = luaL_checkinteger(L, 2);
    luaL_argcheck(L, hi >= 1, 2, "must be at least 1");
  } else {
    lo = luaL_checkinteger(L, 2);
    hi = luaL_checkinteger(L, 3);
    luaL_argcheck(L, lo <= hi, 3, "interval is empty");
  }
  lua_Unsigned span = (lua_Unsigned)hi - (lua_Unsigned)lo;
  lua_Unsigned off = span == (lua_Unsigned)-1 ? pg_rng_next(r) : pg_rng_below(r, span + 1);
  lua_pushinteger(L, (lua_Integer)((lua_Unsigned)lo + off));
  return 1;
}

static int rng_categorical(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  size_t k;
  const double *w = pgL_checkvector(L, 2, &k, 0);
  size_t i = pg_rng_categorical(r, w, k);
  if (i == k) luaL_argerror(L, 2, "weights must be non-negative with a positive sum");
  lua_pushinteger(L, (lua_Integer)i + 1);
  return 1;
}

static int rng_permutation(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  size_t n = pgL_checksize(L, 2, (size_t)1 << 26);
  size_t *idx = pgL_newbuffer(L, n * sizeof *idx);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  pg_rng_shuffle(r, idx, n);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)idx[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int rng_split(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  pg_rng *c = pgL_newrng(L);
  pg_rng_split(r, c);
  return 1;
}

static int rng_clone(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  *pgL_newrng(L) = *r;
  return 1;
}

/* The state as 64 hex digits, so a journal can restore a generator. */
static int rng_state(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  char buf[65];
  for (int i = 0; i < 4; i++) snprintf(buf + 16 * i, 17, "%016llx", (unsigned long long)r->s[i]);
  lua_pushlstring(L, buf, 64);
  return 1;
}

static int rng_from_state(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len == 64, 1, "state must be 64 hexadecimal digits");
  pg_rng g;
  for (int i = 0; i < 4; i++) {
    uint64_t v = 0;
    for (int k = 0; k < 16; k++) {
      char ch = s[16 * i + k];
      int dgt = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
      luaL_argcheck(L, dgt >= 0, 1, "state must be 64 hexadecimal digits");
      v = (v << 4) | (uint64_t)dgt;
    }
    g.s[i] = v;
  }
  luaL_argcheck(L, g.s[0] | g.s[1] | g.s[2] | g.s[3], 1, "the all-zero state is invalid");
  *pgL_newrng(L) = g;
  return 1;
}

static int rng_tostring(lua_State *L) {
  pg_rng *r = pgL_checkrng(L, 1);
  lua_pushfstring(L, "perigee.rng (xoshiro256**) %p", (void *)r);
  return 1;
}

static const luaL_Reg rng_methods[] = {
    {"uniform", rng_uniform},         {"normal", rng_normal}, {"integer", rng_integer},
    {"categorical", rng_categorical}, {"permutation", rng_permutation},
    {"split", rng_split},             {"clone", rng_clone},   {"state", rng_state},
    {NULL, NULL}};

void pgL_open_rng(lua_State *L, int mod) {
  luaL_newmetatable(L, PGL_RNG_MT);
  luaL_newlib(L, rng_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, rng_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_newtable(L); /* perigee.rng: callable table */
  lua_pushcfunction(L, rng_from_state);
  lua_setfield(L, -2, "from_state");
  lua_newtable(L);
  lua_pushcfunction(L, rng_new);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, mod, "rng");
}
