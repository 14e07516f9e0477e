/*
 * lpareto.c -- Lua bindings of engine/pareto.c, engine/hv.c and
 * engine/indicators.c.
 *
 *   perigee.pareto.sort(Y)            -> ranks (table, 1 = non-dominated), number of fronts
 *   perigee.pareto.filter(Y)          -> indices (1-based, increasing) of the non-dominated rows
 *   perigee.pareto.crowding(Y [, ranks]) -> crowding distances (table; +inf at the extremes)
 *   perigee.pareto.dominates(a, b)    -> boolean
 *   perigee.hv(Y, ref)                -> hypervolume
 *   perigee.hv_contrib(Y, ref)        -> table of exclusive contributions
 *   perigee.hv_improvement(Y, ref, P) -> HV(Y u P) - HV(Y) (P a point or a set)
 *   perigee.hv_mc(Y, ref, n, rng)     -> estimate, standard error
 *   perigee.igd(Y, front), .igd_plus, .gd, .gd_plus, .epsilon -> number
 *
 * Y, P and front are perigee.matrix values or tables of rows (a flat table
 * is one point); all objectives are minimised. Y may be empty for hv*,
 * sort, filter and crowding; never for the indicators.
 */
#include <math.h>
#include <string.h>

#include "../engine/hv.h"
#include "../engine/indicators.h"
#include "../engine/pareto.h"
#include "lpg.h"

#define MAX_SAMPLES ((size_t)1 << 40)

/* Y at arg (may be empty) and, when refarg > 0, the reference point with
 * as many entries as Y has columns. */
static const double *check_set(lua_State *L, int arg, size_t *n, size_t *d) {
  const double *Y = pgL_checkpoints(L, arg, n, d, PGL_ALLOW_EMPTY);
  return Y;
}

static const double *check_ref(lua_State *L, int arg, size_t n, size_t *d) {
  size_t m;
  const double *r = pgL_checkvector(L, arg, &m, 0);
  if (n > 0 && m != *d)
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "reference point has %d entries, the points have %d", (int)m,
                                  (int)*d));
  *d = m;
  return r;
}

static void push_int_table(lua_State *L, const int *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static void push_num_table(lua_State *L, const double *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int pareto_sort(lua_State *L) {
  lua_settop(L, 1); /* the checks below push converted copies */
  size_t n, d;
  const double *Y = check_set(L, 1, &n, &d);
  int *rank = pgL_newbuffer(L, n * sizeof *rank), nf = 0;
  if (n > 0) {
    pg_status s = pg_pareto_rank(Y, n, d, rank, &nf);
    if (s != PG_OK) return pgL_argstatus(L, 1, s, NULL);
  }
  push_int_table(L, rank, n);
  lua_pushinteger(L, nf);
  return 2;
}

static int pareto_filter(lua_State *L) {
  lua_settop(L, 1); /* the checks below push converted copies */
  size_t n, d, cnt = 0;
  const double *Y = check_set(L, 1, &n, &d);
  size_t *idx = pgL_newbuffer(L, n * sizeof *idx);
  if (n > 0) {
    pg_status s = pg_pareto_filter(Y, n, d, idx, &cnt);
    if (s != PG_OK) return pgL_argstatus(L, 1, s, NULL);
  }
  lua_createtable(L, (int)cnt, 0);
  for (size_t i = 0; i < cnt; i++) {
    lua_pushinteger(L, (lua_Integer)idx[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int pareto_crowding(lua_State *L) {
  lua_settop(L, 2); /* the checks below push converted copies */
  size_t n, d;
  const double *Y = check_set(L, 1, &n, &d);
  int *rank = NULL;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if ((size_t)luaL_len(L, 2) != n)
      luaL_argerror(L, 2, lua_pushfstring(L, "expected %d ranks", (int)n));
    rank = pgL_newbuffer(L, n * sizeof *rank);
    for (size_t i = 0; i < n; i++) {
      int isint;
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      lua_Integer r = lua_tointegerx(L, -1, &isint);
      if (!isint || r < 1 || r > 0x7fffffff)
        luaL_argerror(L, 2, lua_pushfstring(L, "rank %d is not a positive integer", (int)i + 1));
      rank[i] = (int)r;
      lua_pop(L, 1);
    }
  }
  double *cd = pgL_newbuffer(L, n * sizeof *cd);
  if (n > 0) {
    pg_status s = pg_pareto_crowding(Y, n, d, rank, cd);
    if (s != PG_OK) return pgL_argstatus(L, 1, s, NULL);
  }
  push_num_table(L, cd, n);
  return 1;
}

static int pareto_dominates(lua_State *L) {
  lua_settop(L, 2); /* the checks below push converted copies */
  size_t na, nb;
  const double *a = pgL_checkvector(L, 1, &na, 0), *b = pgL_checkvector(L, 2, &nb, 0);
  luaL_argcheck(L, na == nb, 2, "points of different lengths");
  lua_pushboolean(L, pg_pareto_dominates(a, b, na));
  return 1;
}

static int l_hv(lua_State *L) {
  lua_settop(L, 2); /* the checks below push converted copies */
  size_t n, d;
  const double *Y = check_set(L, 1, &n, &d);
  const double *ref = check_ref(L, 2, n, &d);
  double v = 0.0;
  pg_status s = pg_hv(Y, n, d, ref, &v);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, v);
  return 1;
}

static int l_hv_contrib(lua_State *L) {
  lua_settop(L, 2); /* the checks below push converted copies */
  size_t n, d;
  const double *Y = check_set(L, 1, &n, &d);
  const double *ref = check_ref(L, 2, n, &d);
  double *c = pgL_newbuffer(L, n * sizeof *c);
  pg_status s = pg_hv_contrib(Y, n, d, ref, c);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  push_num_table(L, c, n);
  return 1;
}

static int l_hv_improvement(lua_State *L) {
  lua_settop(L, 3); /* the checks below push converted copies */
  size_t n, d, np, dp;
  const double *Y = check_set(L, 1, &n, &d);
  const double *ref = check_ref(L, 2, n, &d);
  const double *P = pgL_checkpoints(L, 3, &np, &dp, 0);
  if (dp != d)
    luaL_argerror(L, 3, lua_pushfstring(L, "points have %d objectives, expected %d", (int)dp,
                                        (int)d));
  double v = 0.0;
  pg_status s = pg_hv_improvement(Y, n, d, ref, P, np, &v);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, v);
  return 1;
}

static int l_hv_mc(lua_State *L) {
  lua_settop(L, 4); /* the checks below push converted copies */
  size_t n, d;
  const double *Y = check_set(L, 1, &n, &d);
  const double *ref = check_ref(L, 2, n, &d);
  size_t ns = pgL_checksize(L, 3, MAX_SAMPLES);
  luaL_argcheck(L, ns >= 1, 3, "need at least one sample");
  pg_rng *r = pgL_checkrng(L, 4);
  double est, se;
  pg_status s = pg_hv_mc(Y, n, d, ref, ns, r, &est, &se);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, est);
  lua_pushnumber(L, se);
  return 2;
}

typedef pg_status (*indicator_fn)(const double *, size_t, const double *, size_t, size_t,
                                  double *);

static int indicator(lua_State *L, indicator_fn f) {
  lua_settop(L, 2); /* the checks below push converted copies */
  size_t n, d, m, e;
  const double *Y = pgL_checkpoints(L, 1, &n, &d, 0);
  const double *R = pgL_checkpoints(L, 2, &m, &e, 0);
  if (e != d)
    luaL_argerror(L, 2, lua_pushfstring(L, "front has %d objectives, the set has %d", (int)e,
                                        (int)d));
  double v;
  pg_status s = f(Y, n, R, m, d, &v);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, v);
  return 1;
}

static int l_igd(lua_State *L) { return indicator(L, pg_igd); }
static int l_igd_plus(lua_State *L) { return indicator(L, pg_igd_plus); }
static int l_gd(lua_State *L) { return indicator(L, pg_gd); }
static int l_gd_plus(lua_State *L) { return indicator(L, pg_gd_plus); }
static int l_epsilon(lua_State *L) { return indicator(L, pg_epsilon_additive); }

static const luaL_Reg pareto_funcs[] = {
    {"sort", pareto_sort},
    {"filter", pareto_filter},
    {"crowding", pareto_crowding},
    {"dominates", pareto_dominates},
    {NULL, NULL},
};

static const luaL_Reg top_funcs[] = {
    {"hv", l_hv},
    {"hv_contrib", l_hv_contrib},
    {"hv_improvement", l_hv_improvement},
    {"hv_mc", l_hv_mc},
    {"igd", l_igd},
    {"igd_plus", l_igd_plus},
    {"gd", l_gd},
    {"gd_plus", l_gd_plus},
    {"epsilon", l_epsilon},
    {NULL, NULL},
};

void pgL_open_pareto(lua_State *L, int mod) {
  pgL_setfuncs(L, mod, top_funcs);
  luaL_newlib(L, pareto_funcs);
  lua_setfield(L, mod, "pareto");
}
