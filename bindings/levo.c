/*
 * levo.c -- perigee.evo: evolutionary operators and NSGA-II selection
 * (engine/evo.c).
 *
 *   local C1, C2 = perigee.evo.sbx(space, A, B, rng [, {pc = 0.9, pvar = 0.5, eta = 15}])
 *   local M = perigee.evo.pm(space, X, rng [, {prob = 1/unit_dim, eta = 20}])
 *   local idx, ranks, crowd = perigee.evo.survive(Y, k)
 *   local winners = perigee.evo.tournament(ranks, crowd, k, rng)
 *
 * `space` is a pg.space{...} (its compiled .c field is used) or the
 * perigee.Space userdata itself; A, B, X are native rows (matrices or tables
 * of rows, one column per dimension). Indices are 1-based.
 */
#include <math.h>
#include <string.h>

#include "../engine/evo.h"
#include "lpg.h"

/* The compiled space at arg: a perigee.Space userdata, or a Lua space
 * table whose field `c` holds one. (lspace.c's userdata holds one pointer.) */
static const pg_space *check_space(lua_State *L, int arg) {
  int idx = arg;
  if (lua_type(L, arg) == LUA_TTABLE) {
    lua_getfield(L, arg, "c");
    idx = lua_gettop(L);
  }
  pg_space **u = luaL_testudata(L, idx, "perigee.Space");
  if (!u || !*u) luaL_argerror(L, arg, "search space expected (pg.space{...})");
  if (idx != arg) lua_pop(L, 1); /* the table keeps the userdata alive */
  return *u;
}

static const double *check_rows(lua_State *L, int arg, const pg_space *s, size_t *n) {
  size_t c;
  const double *x = pgL_checkpoints(L, arg, n, &c, PGL_ALLOW_EMPTY);
  if (*n > 0 && c != s->d)
    luaL_argerror(L, arg, lua_pushfstring(L, "expected %d columns, got %d", (int)s->d, (int)c));
  pg_status st = *n ? pg_space_check(s, x, *n, &(size_t){0}, &(size_t){0}) : PG_OK;
  if (st != PG_OK) luaL_argerror(L, arg, "rows must be valid native points of the space");
  return x;
}

static double opt_prob(lua_State *L, int t, const char *key, double def) {
  double v = pgL_optnumberfield(L, t, key, def);
  if (!(v >= 0.0 && v <= 1.0))
    luaL_argerror(L, t, lua_pushfstring(L, "option '%s' must be in [0, 1]", key));
  return v;
}

static double opt_eta(lua_State *L, int t, double def) {
  double v = pgL_optnumberfield(L, t, "eta", def);
  if (!(v >= 0.0 && v <= 1000.0)) luaL_argerror(L, t, "option 'eta' must be in [0, 1000]");
  return v;
}

/* sbx(space, A, B, rng [, opts]) -> C1, C2 */
static int evo_sbx(lua_State *L) {
  lua_settop(L, 5);
  const pg_space *s = check_space(L, 1);
  size_t na, nb;
  const double *a = check_rows(L, 2, s, &na);
  const double *b = check_rows(L, 3, s, &nb);
  luaL_argcheck(L, na == nb, 3, "parents must have the same number of rows");
  pg_rng *r = pgL_checkrng(L, 4);
  if (!lua_isnil(L, 5)) luaL_checktype(L, 5, LUA_TTABLE);
  double pc = opt_prob(L, 5, "pc", 0.9), pv = opt_prob(L, 5, "pvar", 0.5);
  double eta = opt_eta(L, 5, 15.0);
  pgL_matrix *c1 = pgL_newmatrix(L, na, s->d);
  pgL_matrix *c2 = pgL_newmatrix(L, na, s->d);
  pg_status st = pg_evo_sbx(s, a, b, na, pc, pv, eta, r, c1->data, c2->data);
  if (st != PG_OK) return pgL_error(L, st, "sbx");
  return 2;
}

/* pm(space, X, rng [, opts]) -> matrix */
static int evo_pm(lua_State *L) {
  lua_settop(L, 4);
  const pg_space *s = check_space(L, 1);
  size_t n;
  const double *x = check_rows(L, 2, s, &n);
  pg_rng *r = pgL_checkrng(L, 3);
  if (!lua_isnil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  double pm = opt_prob(L, 4, "prob", 0.0), eta = opt_eta(L, 4, 20.0);
  pgL_matrix *out = pgL_newmatrix(L, n, s->d);
  pg_status st = pg_evo_pm(s, x, n, pm, eta, r, out->data);
  if (st != PG_OK) return pgL_error(L, st, "pm");
  return 1;
}

/* survive(Y, k) -> indices (best first), ranks, crowding */
static int evo_survive(lua_State *L) {
  lua_settop(L, 2);
  size_t n, m;
  const double *Y = pgL_checkpoints(L, 1, &n, &m, PGL_ALLOW_EMPTY);
  size_t k = pgL_checksize(L, 2, n);
  if (n == 0) m = 1;
  size_t *idx = pgL_newbuffer(L, (k ? k : 1) * sizeof *idx);
  int *rank = pgL_newbuffer(L, (n ? n : 1) * sizeof *rank);
  double *cd = pgL_newbuffer(L, (n ? n : 1) * sizeof *cd);
  pg_status st = pg_evo_survive(Y, n, m, k, idx, rank, cd);
  if (st != PG_OK) return pgL_argstatus(L, 1, st, NULL);
  lua_createtable(L, (int)k, 0);
  for (size_t i = 0; i < k; i++) {
    lua_pushinteger(L, (lua_Integer)idx[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, rank[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, cd[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 3;
}

/* tournament(ranks, crowd, k, rng) -> winners */
static int evo_tournament(lua_State *L) {
  lua_settop(L, 4);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n <= (1 << 28), 1, "needs 1 to 2^28 ranks");
  luaL_argcheck(L, luaL_len(L, 2) == n, 2, "needs one crowding distance per rank");
  size_t k = pgL_checksize(L, 3, (size_t)1 << 28);
  pg_rng *r = pgL_checkrng(L, 4);
  int *rank = pgL_newbuffer(L, (size_t)n * sizeof *rank);
  double *cd = pgL_newbuffer(L, (size_t)n * sizeof *cd);
  size_t *out = pgL_newbuffer(L, (k ? k : 1) * sizeof *out);
  for (lua_Integer i = 1; i <= n; i++) {
    int isint;
    lua_rawgeti(L, 1, i);
    lua_Integer rv = lua_tointegerx(L, -1, &isint);
    if (!isint || rv < 1 || rv > 0x7fffffff)
      luaL_argerror(L, 1, lua_pushfstring(L, "rank %d is not a positive integer", (int)i));
    rank[i - 1] = (int)rv;
    lua_pop(L, 1);
    lua_rawgeti(L, 2, i);
    int isnum;
    double c = lua_tonumberx(L, -1, &isnum);
    if (!isnum || isnan(c))
      luaL_argerror(L, 2, lua_pushfstring(L, "crowding %d is not a number", (int)i));
    cd[i - 1] = c;
    lua_pop(L, 1);
  }
  pg_status st = pg_evo_tournament(rank, cd, (size_t)n, k, r, out);
  if (st != PG_OK) return pgL_error(L, st, "tournament");
  lua_createtable(L, (int)k, 0);
  for (size_t i = 0; i < k; i++) {
    lua_pushinteger(L, (lua_Integer)out[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const luaL_Reg evo_funcs[] = {{"sbx", evo_sbx},
                                     {"pm", evo_pm},
                                     {"survive", evo_survive},
                                     {"tournament", evo_tournament},
                                     {NULL, NULL}};

void pgL_open_evo(lua_State *L, int mod) {
  luaL_newlib(L, evo_funcs);
  lua_setfield(L, mod, "evo");
}
