/*
 * lbo.c -- Lua bindings of engine/bo.c (perigee.bo): joint posterior
 * samples with a growing conditioning set and Monte-Carlo acquisitions for
 * the batch BO optimizers (lua/perigee/acqopt.lua).
 *
 *   local P = pg.bo.posterior(X, y, params, {samples = 128, qmax = 20,
 *                             kernel = "matern52", standardize = true})
 *       -- params: a GP's m:params() (kernel log-parameters, then log noise)
 *   local mu, var = P:predict(Xc)             -- tables
 *   P:add(x, z)                               -- condition on x, base samples z[S]
 *   local F = P:samples(Xc, mu, var, z)       -- nc x S matrix of joint draws
 *   local Fq = P:qsamples()                   -- S x nq samples of the conditioning set
 *   pg.bo.hvi({F1, F2, ...}, sets, ref)       -- mean HVI per candidate
 *   pg.bo.nei(F, t)                           -- mean max(t_s - F_cs, 0)
 *   pg.bo.nei_cheb({F1, F2, ...}, w, rho, t)  -- the same of the Chebyshev scalarisation
 *   pg.bo.normal_qmc(S, D, rng)               -- S x D QMC normal base samples
 *   local th, lp = pg.bo.train(X, y, theta0, {prior = "gamma", restarts = 1, max_iter = 30,
 *                              noise_lo = 1e-4, rng = r, kernel = "matern52"})
 *       -- MAP hyperparameters (prior "gamma": BoTorch <= 0.11, "dimscaled":
 *       -- BoTorch >= 0.12) or maximum likelihood (prior = false)
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <string.h>

#include "bo.h"
#include "linalg.h"
#include "lpg.h"

#define LBO_MT "perigee.BoPosterior"

typedef struct lbo {
  pg_bo_post *p;
  size_t d;
} lbo;

static lbo *check_post(lua_State *L, int arg) {
  lbo *u = luaL_checkudata(L, arg, LBO_MT);
  if (!u->p) luaL_argerror(L, arg, "posterior already freed");
  return u;
}

static int post_gc(lua_State *L) {
  lbo *u = luaL_checkudata(L, 1, LBO_MT);
  pg_bo_post_free(u->p);
  u->p = NULL;
  return 0;
}

static void push_table(lua_State *L, const double *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* pg.bo.posterior(X, y, params [, opts]) */
static int bo_posterior(lua_State *L) {
  size_t n, d, ny, np;
  int has_opts = !lua_isnoneornil(L, 4); /* before table arguments are converted (pushed) */
  const double *X = pgL_checkpoints(L, 1, &n, &d, 0);
  const double *y = pgL_checkvector(L, 2, &ny, 0);
  luaL_argcheck(L, ny == n, 2, "y must have one value per row of X");
  const double *th = pgL_checkvector(L, 3, &np, 0);
  int top = lua_gettop(L);
  size_t S = 128, qmax = 16;
  int standardize = 1;
  const char *kname = "matern52";
  if (has_opts) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_Integer s = pgL_optintegerfield(L, 4, "samples", 128);
    lua_Integer q = pgL_optintegerfield(L, 4, "qmax", 16);
    luaL_argcheck(L, s >= 1 && s <= 65536, 4, "samples must be in 1..65536");
    luaL_argcheck(L, q >= 0 && q <= 4096, 4, "qmax must be in 0..4096");
    S = (size_t)s;
    qmax = (size_t)q;
    standardize = pgL_optbooleanfield(L, 4, "standardize", 1);
    lua_getfield(L, 4, "kernel");
    if (!lua_isnil(L, -1)) kname = luaL_checkstring(L, -1);
    lua_settop(L, top);
  }
  pg_kernel_kind kind;
  if (pg_kernel_kind_parse(kname, &kind) || kind >= PG_KERNEL_SUM)
    luaL_argerror(L, 4, "kernel must be a base kernel name (se, matern12/32/52, hamming)");
  lbo *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  u->d = d;
  luaL_setmetatable(L, LBO_MT);
  pg_kernel *k;
  pg_status st = pg_kernel_new(&k, kind, NULL, d);
  if (st) return pgL_error(L, st, "kernel");
  size_t kp = pg_kernel_nparams(k);
  if (np != kp + 1) {
    pg_kernel_free(k);
    return luaL_argerror(L, 3, lua_pushfstring(L, "expected %d log-parameters (kernel, then noise), got %d",
                                               (int)kp + 1, (int)np));
  }
  st = pg_kernel_set_params(k, th);
  if (st) {
    pg_kernel_free(k);
    return pgL_argstatus(L, 3, st, "kernel parameters");
  }
  st = pg_bo_post_new(&u->p, k, X, n, d, y, exp(th[kp]), standardize, S, qmax);
  if (st) return pgL_error(L, st, "posterior");
  return 1;
}

/* pg.bo.train(X, y, theta0 [, opts]) -> theta (table), log posterior */
static int bo_train(lua_State *L) {
  size_t n, d, ny, np;
  int has_opts = !lua_isnoneornil(L, 4); /* before table arguments are converted (pushed) */
  const double *X = pgL_checkpoints(L, 1, &n, &d, 0);
  const double *y = pgL_checkvector(L, 2, &ny, 0);
  luaL_argcheck(L, ny == n, 2, "y must have one value per row of X");
  const double *th0 = pgL_checkvector(L, 3, &np, 0);
  luaL_argcheck(L, np == d + 2, 3, "need d + 2 log-parameters (lengthscales, variance, noise)");
  int top = lua_gettop(L);
  int kindp = 1; /* 0 none, 1 gamma, 2 dimscaled */
  lua_Integer restarts = 1, max_iter = 30;
  double noise_lo = 1e-4;
  pg_rng *rng = NULL;
  const char *kname = "matern52";
  if (has_opts) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_getfield(L, 4, "prior");
    if (lua_isboolean(L, -1)) {
      kindp = lua_toboolean(L, -1);
    } else if (!lua_isnil(L, -1)) {
      static const char *const names[] = {"none", "gamma", "dimscaled", NULL};
      const char *pn = lua_tostring(L, -1);
      kindp = -1;
      for (int i = 0; pn && names[i]; i++)
        if (!strcmp(pn, names[i])) kindp = i;
      luaL_argcheck(L, kindp >= 0, 4, "prior must be false, \"gamma\" or \"dimscaled\"");
    }
    lua_settop(L, top);
    restarts = pgL_optintegerfield(L, 4, "restarts", 1);
    max_iter = pgL_optintegerfield(L, 4, "max_iter", 30);
    noise_lo = pgL_optnumberfield(L, 4, "noise_lo", 1e-4);
    luaL_argcheck(L, restarts >= 1 && restarts <= 1000, 4, "restarts must be in 1..1000");
    luaL_argcheck(L, max_iter >= 1 && max_iter <= 100000, 4, "max_iter must be in 1..100000");
    luaL_argcheck(L, noise_lo > 0 && noise_lo < 10, 4, "noise_lo must be in (0, 10)");
    lua_getfield(L, 4, "kernel");
    if (!lua_isnil(L, -1)) kname = luaL_checkstring(L, -1);
    lua_settop(L, top);
    if (lua_getfield(L, 4, "rng") != LUA_TNIL) { /* stays on the stack: kept alive */
      rng = luaL_testudata(L, -1, PGL_RNG_MT);
      if (!rng) luaL_argerror(L, 4, "rng must be a perigee rng");
    } else {
      lua_settop(L, top);
    }
  }
  luaL_argcheck(L, restarts <= 1 || rng, 4, "restarts > 1 needs an rng");
  pg_kernel_kind kind;
  if (pg_kernel_kind_parse(kname, &kind) || kind >= PG_KERNEL_SUM)
    luaL_argerror(L, 4, "kernel must be a base kernel name (se, matern12/32/52, hamming)");
  double *th = pgL_newbuffer(L, np * sizeof *th);
  memcpy(th, th0, np * sizeof *th);
  pg_bo_prior pr = kindp == 2 ? pg_bo_prior_dimscaled(d) : pg_bo_prior_gamma();
  double lp;
  pg_status st = pg_bo_train(kind, X, n, d, y, kindp ? &pr : NULL, noise_lo, (int)max_iter,
                             (int)restarts, rng, th, &lp);
  if (st) return pgL_error(L, st, "train");
  push_table(L, th, np);
  lua_pushnumber(L, lp);
  return 2;
}

/* P:predict(Xc) -> mean, var (tables) */
static int post_predict(lua_State *L) {
  lbo *u = check_post(L, 1);
  size_t nc, d;
  const double *Xc = pgL_checkpoints(L, 2, &nc, &d, PGL_ALLOW_EMPTY);
  luaL_argcheck(L, nc == 0 || d == u->d, 2, "wrong number of columns");
  double *mv = pgL_newbuffer(L, (2 * nc + 1) * sizeof *mv);
  pg_status st = pg_bo_post_predict(u->p, Xc, nc, mv, mv + nc);
  if (st) return pgL_error(L, st, NULL);
  push_table(L, mv, nc);
  push_table(L, mv + nc, nc);
  return 2;
}

/* P:add(x, z) */
static int post_add(lua_State *L) {
  lbo *u = check_post(L, 1);
  size_t nx, nz;
  const double *x = pgL_checkvector(L, 2, &nx, 0);
  luaL_argcheck(L, nx == u->d, 2, "wrong number of coordinates");
  const double *z = pgL_checkvector(L, 3, &nz, 0);
  luaL_argcheck(L, nz == pg_bo_post_nsamples(u->p), 3, "need one base sample per MC sample");
  pg_status st = pg_bo_post_add(u->p, x, z);
  if (st == PG_ERANGE) return luaL_error(L, "add: conditioning set is full (raise qmax)");
  if (st) return pgL_error(L, st, NULL);
  return 0;
}

/* P:samples(Xc, mean, var, z) -> nc x S matrix */
static int post_samples(lua_State *L) {
  lbo *u = check_post(L, 1);
  size_t nc, d, nm, nv, nz, S = pg_bo_post_nsamples(u->p);
  const double *Xc = pgL_checkpoints(L, 2, &nc, &d, PGL_ALLOW_EMPTY);
  luaL_argcheck(L, nc == 0 || d == u->d, 2, "wrong number of columns");
  const double *mu = pgL_checkvector(L, 3, &nm, PGL_ALLOW_EMPTY);
  const double *var = pgL_checkvector(L, 4, &nv, PGL_ALLOW_EMPTY);
  luaL_argcheck(L, nm == nc, 3, "one mean per candidate");
  luaL_argcheck(L, nv == nc, 4, "one variance per candidate");
  for (size_t i = 0; i < nc; i++) luaL_argcheck(L, var[i] >= 0, 4, "negative variance");
  const double *z = pgL_checkvector(L, 5, &nz, 0);
  luaL_argcheck(L, nz == S, 5, "need one base sample per MC sample");
  pgL_matrix *F = pgL_newmatrix(L, nc, S);
  pg_status st = pg_bo_post_samples(u->p, Xc, nc, mu, var, z, F->data);
  if (st) return pgL_error(L, st, NULL);
  return 1;
}

/* P:qsamples() -> S x nq matrix */
static int post_qsamples(lua_State *L) {
  lbo *u = check_post(L, 1);
  size_t S = pg_bo_post_nsamples(u->p), nq = pg_bo_post_nq(u->p);
  pgL_matrix *F = pgL_newmatrix(L, S, nq);
  pg_bo_post_qsamples(u->p, F->data);
  return 1;
}

static int post_nq(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_bo_post_nq(check_post(L, 1)->p));
  return 1;
}

/* pg.bo.hvi(Fs, sets, ref) -> table */
static int bo_hvi(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t m;
  const double *ref = pgL_checkvector(L, 3, &m, 0);
  luaL_argcheck(L, m >= 2 && (size_t)luaL_len(L, 1) == m, 1, "one sample matrix per objective (at least 2)");
  const double **F = pgL_newbuffer(L, m * sizeof *F);
  size_t nc = 0, S = 0;
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, 1, (lua_Integer)j + 1);
    pgL_matrix *Fj = pgL_testmatrix(L, -1);
    if (!Fj) luaL_argerror(L, 1, "entries must be perigee matrices (candidates x samples)");
    if (j == 0) {
      nc = Fj->rows;
      S = Fj->cols;
    } else if (Fj->rows != nc || Fj->cols != S) {
      luaL_argerror(L, 1, "sample matrices of different shapes");
    }
    if (!pg_all_finite(Fj->data, nc * S)) luaL_argerror(L, 1, "non-finite sample");
    F[j] = Fj->data; /* kept alive by table 1 */
    lua_pop(L, 1);
  }
  luaL_argcheck(L, S >= 1, 1, "need at least one sample");
  luaL_argcheck(L, (size_t)luaL_len(L, 2) == S, 2, "one point set per sample");
  const double **sets = pgL_newbuffer(L, S * sizeof *sets);
  size_t *k = pgL_newbuffer(L, S * sizeof *k);
  lua_createtable(L, (int)S, 0); /* keeps converted sets alive */
  int keep = lua_gettop(L);
  for (size_t s = 0; s < S; s++) {
    lua_rawgeti(L, 2, (lua_Integer)s + 1);
    size_t r, c;
    sets[s] = pgL_checkpoints(L, -1, &r, &c, PGL_ALLOW_EMPTY);
    if (r > 0 && c != m) luaL_argerror(L, 2, "point sets must have one column per objective");
    k[s] = r;
    lua_rawseti(L, keep, (lua_Integer)s + 1);
    lua_pop(L, 1);
  }
  double *out = pgL_newbuffer(L, (nc + 1) * sizeof *out);
  pg_status st = pg_bo_hvi(F, nc, S, m, sets, k, ref, out);
  if (st) return pgL_error(L, st, NULL);
  push_table(L, out, nc);
  return 1;
}

/* pg.bo.nei(F, t) -> table */
static int bo_nei(lua_State *L) {
  pgL_matrix *F = pgL_checkmatrix(L, 1);
  size_t nt;
  const double *t = pgL_checkvector(L, 2, &nt, 0);
  luaL_argcheck(L, nt == F->cols && nt >= 1, 2, "one threshold per sample (column of F)");
  luaL_argcheck(L, pg_all_finite(F->data, F->rows * F->cols), 1, "non-finite sample");
  double *out = pgL_newbuffer(L, (F->rows + 1) * sizeof *out);
  pg_status st = pg_bo_nei(F->data, F->rows, F->cols, t, out);
  if (st) return pgL_error(L, st, NULL);
  push_table(L, out, F->rows);
  return 1;
}

/* pg.bo.nei_cheb(Fs, w, rho, t) -> table */
static int bo_nei_cheb(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t m, nt;
  const double *w = pgL_checkvector(L, 2, &m, 0);
  double rho = luaL_checknumber(L, 3);
  luaL_argcheck(L, isfinite(rho), 3, "rho must be finite");
  for (size_t j = 0; j < m; j++) luaL_argcheck(L, w[j] >= 0, 2, "weights must be >= 0");
  luaL_argcheck(L, (size_t)luaL_len(L, 1) == m, 1, "one sample matrix per weight");
  const double **F = pgL_newbuffer(L, m * sizeof *F);
  size_t nc = 0, S = 0;
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, 1, (lua_Integer)j + 1);
    pgL_matrix *Fj = pgL_testmatrix(L, -1);
    if (!Fj) luaL_argerror(L, 1, "entries must be perigee matrices (candidates x samples)");
    if (j == 0) {
      nc = Fj->rows;
      S = Fj->cols;
    } else if (Fj->rows != nc || Fj->cols != S) {
      luaL_argerror(L, 1, "sample matrices of different shapes");
    }
    if (!pg_all_finite(Fj->data, nc * S)) luaL_argerror(L, 1, "non-finite sample");
    F[j] = Fj->data; /* kept alive by table 1 */
    lua_pop(L, 1);
  }
  const double *t = pgL_checkvector(L, 4, &nt, 0);
  luaL_argcheck(L, nt == S && nt >= 1, 4, "one threshold per sample (column of F)");
  double *out = pgL_newbuffer(L, (nc + 1) * sizeof *out);
  pg_status st = pg_bo_nei_cheb(F, nc, S, m, w, rho, t, out);
  if (st) return pgL_error(L, st, NULL);
  push_table(L, out, nc);
  return 1;
}

/* pg.bo.normal_qmc(S, D, rng) -> S x D matrix */
static int bo_normal_qmc(lua_State *L) {
  size_t S = pgL_checksize(L, 1, (size_t)1 << 20);
  size_t D = pgL_checksize(L, 2, (size_t)1 << 20);
  luaL_argcheck(L, S >= 1, 1, "need at least one sample");
  luaL_argcheck(L, D >= 1, 2, "need at least one dimension");
  pg_rng *r = pgL_checkrng(L, 3);
  pgL_matrix *Z = pgL_newmatrix(L, S, D);
  pg_status st = pg_bo_normal_qmc(S, D, r, Z->data);
  if (st) return pgL_error(L, st, NULL);
  return 1;
}

static int bo_norminv(lua_State *L) {
  double p = luaL_checknumber(L, 1);
  luaL_argcheck(L, p > 0 && p < 1, 1, "probability must be in (0, 1)");
  lua_pushnumber(L, pg_bo_norminv(p));
  return 1;
}

static const luaL_Reg post_methods[] = {{"predict", post_predict}, {"add", post_add},
                                        {"samples", post_samples}, {"qsamples", post_qsamples},
                                        {"nq", post_nq},           {NULL, NULL}};

static const luaL_Reg bo_funcs[] = {{"posterior", bo_posterior}, {"train", bo_train},
                                    {"hvi", bo_hvi},
                                    {"nei", bo_nei},             {"nei_cheb", bo_nei_cheb},             {"normal_qmc", bo_normal_qmc},
                                    {"norminv", bo_norminv},     {NULL, NULL}};

void pgL_open_bo(lua_State *L, int mod) {
  luaL_newmetatable(L, LBO_MT);
  luaL_newlib(L, post_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, post_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, post_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newlib(L, bo_funcs);
  lua_setfield(L, mod, "bo");
}
