/*
 * lacq.c -- perigee.acq: acquisition functions of engine/acq.c.
 *
 *   acq.ei(mu, sigma, best), acq.logei(mu, sigma, best)   (minimisation)
 *   acq.lcb(mu, sigma, beta), acq.ucb(mu, sigma, beta)
 *       mu, sigma numbers -> number; vectors (tables or matrices) -> table
 *   acq.ehvi(mu, sigma, front, ref)   2 objectives; mu/sigma one point {m1, m2}
 *       -> number, or n x 2 sets -> table
 *   acq.qehvi(samples, front, ref)    samples: table of ns sets, each q x m -> mean, se
 *   acq.qnehvi(samples, nbaseline, ref) each sample (nbaseline + q) x m -> mean, se
 *   acq.chebyshev(Y, weights [, rho = 0.05]) -> table
 *   acq.simplex_weights(m, rng) -> table
 */
#include <math.h>
#include <string.h>

#include "../engine/acq.h"
#include "lpg.h"

#define MAX_M 4096

typedef pg_status (*single_fn)(const double *, const double *, size_t, double, double *);

static void push_nums(lua_State *L, const double *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* f(mu, sigma, third): numbers or vectors of equal length. */
static int single(lua_State *L, single_fn f) {
  lua_settop(L, 3);
  double c = pgL_checkfinite(L, 3);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    double mu = pgL_checkfinite(L, 1), sd = pgL_checkfinite(L, 2), out;
    luaL_argcheck(L, sd >= 0.0, 2, "standard deviation must be non-negative");
    pg_status s = f(&mu, &sd, 1, c, &out);
    if (s != PG_OK) return pgL_error(L, s, NULL);
    lua_pushnumber(L, out);
    return 1;
  }
  size_t n, m;
  const double *mu = pgL_checkvector(L, 1, &n, 0);
  const double *sd = pgL_checkvector(L, 2, &m, 0);
  luaL_argcheck(L, m == n, 2, "sigma and mu have different lengths");
  for (size_t i = 0; i < n; i++)
    luaL_argcheck(L, sd[i] >= 0.0, 2, "standard deviations must be non-negative");
  double *out = pgL_newbuffer(L, n * sizeof *out);
  pg_status s = f(mu, sd, n, c, out);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  push_nums(L, out, n);
  return 1;
}

static int acq_ei(lua_State *L) { return single(L, pg_acq_ei); }
static int acq_logei(lua_State *L) { return single(L, pg_acq_logei); }
static int acq_lcb(lua_State *L) { return single(L, pg_acq_lcb); }
static int acq_ucb(lua_State *L) { return single(L, pg_acq_ucb); }

static int acq_ehvi(lua_State *L) {
  lua_settop(L, 4);
  int one = lua_istable(L, 1) && !pgL_testmatrix(L, 1) &&
            lua_rawgeti(L, 1, 1) == LUA_TNUMBER;
  lua_settop(L, 4);
  size_t n, d, n2, d2, k, e, r;
  const double *mu = pgL_checkpoints(L, 1, &n, &d, 0);
  luaL_argcheck(L, d == 2, 1, "EHVI is implemented for 2 objectives");
  const double *sd = pgL_checkpoints(L, 2, &n2, &d2, 0);
  luaL_argcheck(L, n2 == n && d2 == 2, 2, "sigma must have the shape of mu");
  for (size_t i = 0; i < 2 * n; i++)
    luaL_argcheck(L, sd[i] >= 0.0, 2, "standard deviations must be non-negative");
  const double *front = pgL_checkpoints(L, 3, &k, &e, PGL_ALLOW_EMPTY);
  luaL_argcheck(L, k == 0 || e == 2, 3, "front must have 2 objectives");
  const double *ref = pgL_checkvector(L, 4, &r, 0);
  luaL_argcheck(L, r == 2, 4, "reference point must have 2 entries");
  double *out = pgL_newbuffer(L, n * sizeof *out);
  pg_status s = pg_acq_ehvi2d(mu, sd, n, front, k, ref, out);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  if (one)
    lua_pushnumber(L, out[0]);
  else
    push_nums(L, out, n);
  return 1;
}

/* Gather the table of ns sets of equal shape at arg into one ns x q x m
 * buffer, left on the stack (errors inside a sample name the position of
 * its converted copy on the stack, the message says which sample). */
static double *gather_samples(lua_State *L, int arg, size_t *ns, size_t *q, size_t *m) {
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_Integer cnt = luaL_len(L, arg);
  luaL_argcheck(L, cnt >= 1, arg, "need at least one sample");
  luaL_argcheck(L, cnt <= (1 << 26), arg, "too many samples");
  lua_rawgeti(L, arg, 1);
  pgL_checkpoints(L, -1, q, m, 0);
  lua_pop(L, 2);
  size_t per = *q * *m;
  if (per > ((size_t)1 << 26) || (size_t)cnt * per > ((size_t)1 << 28))
    luaL_argerror(L, arg, "samples too large");
  double *buf = pgL_newbuffer(L, (size_t)cnt * per * sizeof *buf);
  for (lua_Integer s = 1; s <= cnt; s++) {
    size_t r, c;
    if (lua_rawgeti(L, arg, s) != LUA_TTABLE && !pgL_testmatrix(L, -1))
      luaL_argerror(L, arg, lua_pushfstring(L, "sample %d is not a point set", (int)s));
    const double *x = pgL_checkpoints(L, -1, &r, &c, 0);
    if (r != *q || c != *m)
      luaL_argerror(L, arg, lua_pushfstring(L, "sample %d has shape %dx%d, sample 1 has %dx%d",
                                            (int)s, (int)r, (int)c, (int)*q, (int)*m));
    memcpy(buf + (size_t)(s - 1) * per, x, per * sizeof *x);
    lua_pop(L, 2);
  }
  *ns = (size_t)cnt;
  return buf;
}

static int acq_qehvi(lua_State *L) {
  lua_settop(L, 3);
  size_t k, e, r;
  const double *front = pgL_checkpoints(L, 2, &k, &e, PGL_ALLOW_EMPTY);
  const double *ref = pgL_checkvector(L, 3, &r, 0);
  size_t ns, q, m;
  double *S = gather_samples(L, 1, &ns, &q, &m);
  luaL_argcheck(L, k == 0 || e == m, 2, "front and samples have different numbers of objectives");
  luaL_argcheck(L, r == m, 3, "reference point length differs from the number of objectives");
  double out, se;
  pg_status s = pg_acq_qehvi(S, ns, q, m, front, k, ref, &out, &se);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, out);
  lua_pushnumber(L, se);
  return 2;
}

static int acq_qnehvi(lua_State *L) {
  lua_settop(L, 3);
  size_t nb = pgL_checksize(L, 2, (size_t)1 << 30), r;
  const double *ref = pgL_checkvector(L, 3, &r, 0);
  size_t ns, rows, m;
  double *S = gather_samples(L, 1, &ns, &rows, &m);
  luaL_argcheck(L, nb < rows, 2, "each sample needs more rows than the baseline");
  luaL_argcheck(L, r == m, 3, "reference point length differs from the number of objectives");
  double out, se;
  pg_status s = pg_acq_qnehvi(S, ns, nb, rows - nb, m, ref, &out, &se);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  lua_pushnumber(L, out);
  lua_pushnumber(L, se);
  return 2;
}

static int acq_chebyshev(lua_State *L) {
  lua_settop(L, 3);
  double rho = lua_isnoneornil(L, 3) ? 0.05 : pgL_checkfinite(L, 3);
  size_t n, m, k;
  const double *Y = pgL_checkpoints(L, 1, &n, &m, 0);
  const double *w = pgL_checkvector(L, 2, &k, 0);
  luaL_argcheck(L, k == m, 2, "one weight per objective expected");
  for (size_t j = 0; j < k; j++) luaL_argcheck(L, w[j] >= 0.0, 2, "weights must be non-negative");
  double *out = pgL_newbuffer(L, n * sizeof *out);
  pg_status s = pg_acq_chebyshev(Y, n, m, w, rho, out);
  if (s != PG_OK) return pgL_error(L, s, NULL);
  push_nums(L, out, n);
  return 1;
}

static int acq_simplex_weights(lua_State *L) {
  size_t m = pgL_checksize(L, 1, MAX_M);
  luaL_argcheck(L, m >= 1, 1, "need at least one objective");
  pg_rng *r = pgL_checkrng(L, 2);
  double w[MAX_M];
  pg_acq_simplex_weights(m, r, w);
  push_nums(L, w, m);
  return 1;
}

static const luaL_Reg acq_funcs[] = {
    {"ei", acq_ei},
    {"logei", acq_logei},
    {"lcb", acq_lcb},
    {"ucb", acq_ucb},
    {"ehvi", acq_ehvi},
    {"qehvi", acq_qehvi},
    {"qnehvi", acq_qnehvi},
    {"chebyshev", acq_chebyshev},
    {"simplex_weights", acq_simplex_weights},
    {NULL, NULL},
};

void pgL_open_acq(lua_State *L, int mod) {
  luaL_newlib(L, acq_funcs);
  lua_setfield(L, mod, "acq");
}
