/*
 * lfusion.c -- perigee.fusion.select: Pareto-based fusion of per-objective
 * predictions into a batch (engine/fusion.c; docs/coflex.md).
 *
 *   local idx, gains, nkeep = perigee.fusion.select(means, vars, Y, Ud, Uc, q, {
 *       score = "lcb" | "ei", beta = 1.0, diversity = 0.01, min_keep = 256,
 *       ref_margin = 0.1, kappa = beta, exclude = {i, ...} })
 *
 * means, vars: lists of m perigee.matrix vectors (nc x 1, what gp:predict
 * returns), one per objective; Y (n x m) and Ud (n x du) the observations;
 * Uc (nc x du) the candidates in the same input encoding as Ud; q the batch
 * size; exclude lists 1-based candidate indices that must not be chosen.
 * Returns the chosen candidate indices (1-based, in pick order), the
 * predicted normalised hypervolume improvement of each pick, and the number
 * of candidates left by the non-dominated filter.
 *
 *   local M = perigee.fusion.stack(A, B, ...)   -- rows of A, then B, ...
 */
#include <math.h>
#include <string.h>

#include "../engine/fusion.h"
#include "../engine/linalg.h"
#include "lpg.h"

/* Interleave the list of m vectors at arg into an nc x m buffer. */
static double *gather(lua_State *L, int arg, size_t m, size_t *nc) {
  luaL_checktype(L, arg, LUA_TTABLE);
  if ((size_t)luaL_len(L, arg) != m)
    luaL_argerror(L, arg, lua_pushfstring(L, "expected %d prediction vectors", (int)m));
  double *out = NULL;
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, arg, (lua_Integer)j + 1);
    pgL_matrix *v = pgL_testmatrix(L, -1);
    if (!v || (v->cols != 1 && v->rows != 1))
      luaL_argerror(L, arg, "entries must be perigee.matrix vectors (as gp:predict returns)");
    size_t len = v->rows * v->cols;
    if (j == 0) {
      *nc = len;
      size_t tot;
      if (pg_size_mul(len ? len : 1, m, &tot) != PG_OK || tot > ((size_t)1 << 30))
        luaL_argerror(L, arg, "too many candidates");
      out = pgL_newbuffer(L, tot * sizeof *out);
      lua_replace(L, -2); /* keep the buffer, drop the vector */
      lua_rawgeti(L, arg, 1);
    } else if (len != *nc) {
      luaL_argerror(L, arg, "prediction vectors of different lengths");
    }
    for (size_t i = 0; i < len; i++) out[i * m + j] = v->data[i];
    lua_pop(L, 1);
  }
  return out; /* the buffer stays on the stack */
}

static int fusion_select(lua_State *L) {
  lua_settop(L, 7);
  size_t n, m, nd, du, nc2, du2;
  const double *Y = pgL_checkpoints(L, 3, &n, &m, 0);
  const double *Ud = pgL_checkpoints(L, 4, &nd, &du, 0);
  luaL_argcheck(L, nd == n, 4, "needs one row per observation");
  size_t nc = 0, ncv = 0;
  double *mean = gather(L, 1, m, &nc);
  double *var = gather(L, 2, m, &ncv);
  luaL_argcheck(L, ncv == nc, 2, "needs as many variances as means");
  const double *Uc = pgL_checkpoints(L, 5, &nc2, &du2, PGL_ALLOW_EMPTY | PGL_ALLOW_NONFINITE);
  luaL_argcheck(L, nc2 == nc, 5, "needs one row per prediction");
  luaL_argcheck(L, nc == 0 || du2 == du, 5, "needs the columns of the observed inputs");
  size_t q = pgL_checksize(L, 6, (size_t)1 << 20);
  if (!lua_isnil(L, 7)) luaL_checktype(L, 7, LUA_TTABLE);
  pg_fusion_opts o = pg_fusion_defaults();
  static const char *const snames[] = {"lcb", "ei", NULL};
  static const int svals[] = {PG_FUSION_LCB, PG_FUSION_EI};
  o.score = (pg_fusion_score)pgL_optenum(L, 7, "score", snames, svals, PG_FUSION_LCB);
  o.beta = pgL_optnumberfield(L, 7, "beta", o.beta);
  o.diversity = pgL_optnumberfield(L, 7, "diversity", o.diversity);
  o.ref_margin = pgL_optnumberfield(L, 7, "ref_margin", o.ref_margin);
  o.kappa = pgL_optnumberfield(L, 7, "kappa", o.beta);
  luaL_argcheck(L, o.kappa >= 0.0 && isfinite(o.kappa), 7, "option 'kappa' must be >= 0");
  lua_Integer mk = pgL_optintegerfield(L, 7, "min_keep", (lua_Integer)o.min_keep);
  luaL_argcheck(L, mk >= 1 && mk <= (1 << 24), 7, "option 'min_keep' must be in 1..2^24");
  o.min_keep = (size_t)mk;
  luaL_argcheck(L, o.beta >= 0.0 && isfinite(o.beta), 7, "option 'beta' must be >= 0");
  luaL_argcheck(L, o.diversity >= 0.0 && isfinite(o.diversity), 7, "option 'diversity' must be >= 0");
  luaL_argcheck(L, o.ref_margin > 0.0 && isfinite(o.ref_margin), 7, "option 'ref_margin' must be > 0");
  unsigned char *excl = pgL_newbuffer(L, nc ? nc : 1);
  memset(excl, 0, nc ? nc : 1);
  if (!lua_isnil(L, 7)) {
    if (lua_getfield(L, 7, "exclude") != LUA_TNIL) {
      if (!lua_istable(L, -1)) luaL_argerror(L, 7, "option 'exclude' must be a list of indices");
      lua_Integer len = luaL_len(L, -1);
      for (lua_Integer i = 1; i <= len; i++) {
        lua_rawgeti(L, -1, i);
        int isint;
        lua_Integer k = lua_tointegerx(L, -1, &isint);
        if (!isint || k < 1 || (size_t)k > nc)
          luaL_argerror(L, 7, "option 'exclude' entries must be candidate indices");
        excl[k - 1] = 1;
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  size_t *chosen = pgL_newbuffer(L, (q ? q : 1) * sizeof *chosen);
  double *gain = pgL_newbuffer(L, (q ? q : 1) * sizeof *gain);
  size_t nch = 0, nkeep = 0;
  pg_status st = pg_fusion_select(mean, var, nc, m, Y, Ud, n, Uc, du, excl, q, &o, chosen, &nch,
                                  gain, &nkeep);
  if (st != PG_OK) return pgL_error(L, st, "fusion.select");
  lua_createtable(L, (int)nch, 0);
  for (size_t i = 0; i < nch; i++) {
    lua_pushinteger(L, (lua_Integer)chosen[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_createtable(L, (int)nch, 0);
  for (size_t i = 0; i < nch; i++) {
    lua_pushnumber(L, gain[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_pushinteger(L, (lua_Integer)nkeep);
  return 3;
}

/* stack(A, B, ...) -> the rows of the matrices one after another (all with
 * the same number of columns; empty matrices are skipped). */
static int fusion_stack(lua_State *L) {
  int na = lua_gettop(L);
  luaL_argcheck(L, na >= 1, 1, "at least one matrix expected");
  size_t rows = 0, cols = 0;
  for (int a = 1; a <= na; a++) {
    pgL_matrix *x = pgL_checkmatrix(L, a);
    if (x->rows == 0) continue;
    if (cols == 0) cols = x->cols;
    luaL_argcheck(L, x->cols == cols, a, "matrices must have the same number of columns");
    luaL_argcheck(L, rows + x->rows >= rows && rows + x->rows <= ((size_t)1 << 30), a,
                  "too many rows");
    rows += x->rows;
  }
  if (cols == 0) cols = pgL_checkmatrix(L, 1)->cols;
  pgL_matrix *out = pgL_newmatrix(L, rows, cols);
  size_t at = 0;
  for (int a = 1; a <= na; a++) {
    pgL_matrix *x = pgL_checkmatrix(L, a);
    if (x->rows == 0) continue;
    memcpy(out->data + at * cols, x->data, x->rows * cols * sizeof(double));
    at += x->rows;
  }
  return 1;
}

static const luaL_Reg fusion_funcs[] = {{"select", fusion_select}, {"stack", fusion_stack}, {NULL, NULL}};

void pgL_open_fusion(lua_State *L, int mod) {
  luaL_newlib(L, fusion_funcs);
  lua_setfield(L, mod, "fusion");
}
