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
 *   local C = pg.bo.cands({P1, P2, ...})      -- candidate store over posteriors
 *   local first, count = C:add(U)             -- unit rows; indices first..first+count-1
 *   C:score(idx, acq, {z1, z2, ...})          -- acquisition per index (table)
 *   C:samples(idx, {z1, ...})                 -- per output: #idx x S matrices
 *   C:moments(idx)                            -- per output: means, variances (tables)
 *   pg.bo.acq_hvi(sets, ref) ; pg.bo.acq_nei(t) ; pg.bo.acq_cheb(w, rho, t)
 *   pg.bo.acq_hvi_q({P1, P2}, first, base, ref [, per_sample])
 *       -- acq_hvi on base (or base[s]) plus the samples of conditioning points first..nq
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
#define LCANDS_MT "perigee.BoCands"
#define LACQ_MT "perigee.BoAcq"

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

/* ---- candidate stores ---- */

typedef struct lcands {
  pg_bo_cands *c;
  size_t m;
} lcands;

typedef struct lacq {
  pg_bo_acq *a;
} lacq;

static int cands_gc(lua_State *L) {
  lcands *u = luaL_checkudata(L, 1, LCANDS_MT);
  pg_bo_cands_free(u->c);
  u->c = NULL;
  return 0;
}

/* the store, after checking that its posteriors (uservalue 1) are alive */
static lcands *check_cands(lua_State *L, int arg) {
  lcands *u = luaL_checkudata(L, arg, LCANDS_MT);
  if (!u->c) luaL_argerror(L, arg, "candidate store already freed");
  lua_getiuservalue(L, arg, 1);
  for (size_t j = 0; j < u->m; j++) {
    lua_rawgeti(L, -1, (lua_Integer)j + 1);
    lbo *p = luaL_testudata(L, -1, LBO_MT);
    if (!p || !p->p) luaL_argerror(L, arg, "a posterior of this store was freed");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return u;
}

/* pg.bo.cands({P1, ...}) */
static int bo_cands(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t m = (size_t)luaL_len(L, 1);
  luaL_argcheck(L, m >= 1 && m <= PG_BO_ACQ_MAXM, 1, "one to 16 posteriors");
  pg_bo_post **posts = pgL_newbuffer(L, m * sizeof *posts);
  lua_createtable(L, (int)m, 0); /* uservalue: keeps the posteriors alive */
  int keep = lua_gettop(L);
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, 1, (lua_Integer)j + 1);
    lbo *p = luaL_testudata(L, -1, LBO_MT);
    if (!p || !p->p) luaL_argerror(L, 1, "entries must be live pg.bo posteriors");
    posts[j] = p->p;
    lua_rawseti(L, keep, (lua_Integer)j + 1);
  }
  lcands *u = lua_newuserdatauv(L, sizeof *u, 1);
  u->c = NULL;
  u->m = m;
  luaL_setmetatable(L, LCANDS_MT);
  lua_pushvalue(L, keep);
  lua_setiuservalue(L, -2, 1);
  pg_status st = pg_bo_cands_new(&u->c, posts, m);
  if (st == PG_EINVAL) luaL_argerror(L, 1, "posteriors must have the same dimension and samples");
  if (st) return pgL_error(L, st, "cands");
  return 1;
}

/* C:add(U) -> first index, count */
static int cands_add(lua_State *L) {
  lcands *u = check_cands(L, 1);
  size_t nc, d;
  const double *U = pgL_checkpoints(L, 2, &nc, &d, PGL_ALLOW_EMPTY);
  size_t first = pg_bo_cands_count(u->c) + 1;
  if (nc > 0) {
    lua_getiuservalue(L, 1, 1);
    lua_rawgeti(L, -1, 1);
    luaL_argcheck(L, d == ((lbo *)lua_touserdata(L, -1))->d, 2, "wrong number of columns");
    lua_pop(L, 2);
  }
  pg_status st = pg_bo_cands_add(u->c, U, nc);
  if (st) return pgL_error(L, st, "add");
  lua_pushinteger(L, (lua_Integer)first);
  lua_pushinteger(L, (lua_Integer)nc);
  return 2;
}

static int cands_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_bo_cands_count(check_cands(L, 1)->c));
  return 1;
}

/* indices (1-based, table) -> 0-based buffer */
static size_t *check_indices(lua_State *L, int arg, const lcands *u, size_t *ni) {
  luaL_checktype(L, arg, LUA_TTABLE);
  size_t n = (size_t)luaL_len(L, arg), count = pg_bo_cands_count(u->c);
  size_t *idx = pgL_newbuffer(L, (n + 1) * sizeof *idx);
  for (size_t r = 0; r < n; r++) {
    lua_rawgeti(L, arg, (lua_Integer)r + 1);
    int isnum;
    lua_Integer i = lua_tointegerx(L, -1, &isnum);
    if (!isnum || i < 1 || (size_t)i > count) luaL_argerror(L, arg, "candidate index out of range");
    idx[r] = (size_t)i - 1;
    lua_pop(L, 1);
  }
  *ni = n;
  return idx;
}

/* base samples per output: a table of m vectors of S values (perigee
 * matrices with one row or column, or tables of numbers) */
static const double **check_z(lua_State *L, int arg, size_t m, size_t S) {
  luaL_checktype(L, arg, LUA_TTABLE);
  luaL_argcheck(L, (size_t)luaL_len(L, arg) >= m, arg, "one base-sample vector per output");
  const double **z = pgL_newbuffer(L, m * sizeof *z);
  lua_createtable(L, (int)m, 0); /* keeps converted vectors alive */
  int keep = lua_gettop(L);
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, arg, (lua_Integer)j + 1);
    int top = lua_gettop(L);
    size_t n = 0;
    pgL_matrix *M = pgL_testmatrix(L, top);
    if (M && (M->rows == 1 || M->cols == 1)) {
      n = M->rows * M->cols;
      if (!pg_all_finite(M->data, n)) luaL_argerror(L, arg, "non-finite base sample");
      z[j] = M->data;
    } else if (lua_istable(L, top)) {
      n = (size_t)luaL_len(L, top);
      double *b = pgL_newbuffer(L, (n + 1) * sizeof *b);
      for (size_t s = 0; s < n; s++) {
        lua_rawgeti(L, top, (lua_Integer)s + 1);
        int isnum;
        b[s] = lua_tonumberx(L, -1, &isnum);
        if (!isnum || !isfinite(b[s])) luaL_argerror(L, arg, "base samples must be finite numbers");
        lua_pop(L, 1);
      }
      z[j] = b;
    } else {
      luaL_argerror(L, arg, "base samples must be vectors");
    }
    if (n != S) luaL_argerror(L, arg, "need one base sample per MC sample");
    lua_rawseti(L, keep, (lua_Integer)j + 1); /* the buffer, or the matrix itself */
    lua_settop(L, keep);
  }
  return z;
}

static size_t cands_S(lua_State *L, int arg) {
  lua_getiuservalue(L, arg, 1);
  lua_rawgeti(L, -1, 1);
  size_t S = pg_bo_post_nsamples(((lbo *)lua_touserdata(L, -1))->p);
  lua_pop(L, 2);
  return S;
}

/* C:score(idx, acq, zs) -> table */
static int cands_score(lua_State *L) {
  lcands *u = check_cands(L, 1);
  size_t ni;
  size_t *idx = check_indices(L, 2, u, &ni);
  lacq *a = luaL_checkudata(L, 3, LACQ_MT);
  if (!a->a) luaL_argerror(L, 3, "acquisition already freed");
  size_t S = cands_S(L, 1);
  luaL_argcheck(L, pg_bo_acq_outputs(a->a) <= u->m, 3, "acquisition needs more outputs than the store has");
  const double **z = check_z(L, 4, u->m, S);
  double *out = pgL_newbuffer(L, (ni + 1) * sizeof *out);
  pg_status st = pg_bo_cands_score(u->c, idx, ni, z, a->a, out);
  if (st == PG_EINVAL) luaL_argerror(L, 3, "acquisition built for another number of samples");
  if (st) return pgL_error(L, st, "score");
  push_table(L, out, ni);
  return 1;
}

/* C:samples(idx, zs) -> list of m matrices (#idx x S) */
static int cands_samples(lua_State *L) {
  lcands *u = check_cands(L, 1);
  size_t ni;
  size_t *idx = check_indices(L, 2, u, &ni);
  size_t S = cands_S(L, 1);
  const double **z = check_z(L, 3, u->m, S);
  double *F = pgL_newbuffer(L, (u->m * ni * S + 1) * sizeof *F);
  pg_status st = pg_bo_cands_samples(u->c, idx, ni, z, F);
  if (st) return pgL_error(L, st, "samples");
  lua_createtable(L, (int)u->m, 0);
  for (size_t j = 0; j < u->m; j++) {
    pgL_matrix *M = pgL_newmatrix(L, ni, S);
    memcpy(M->data, F + j * ni * S, ni * S * sizeof *F);
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
  return 1;
}

/* C:moments(idx) -> means, variances: per output, tables over idx */
static int cands_moments(lua_State *L) {
  lcands *u = check_cands(L, 1);
  size_t ni;
  size_t *idx = check_indices(L, 2, u, &ni);
  double mv[2 * PG_BO_ACQ_MAXM];
  lua_createtable(L, (int)u->m, 0);
  lua_createtable(L, (int)u->m, 0);
  int tm = lua_gettop(L) - 1, tv = tm + 1;
  for (size_t j = 0; j < u->m; j++) {
    lua_createtable(L, (int)ni, 0);
    lua_rawseti(L, tm, (lua_Integer)j + 1);
    lua_createtable(L, (int)ni, 0);
    lua_rawseti(L, tv, (lua_Integer)j + 1);
  }
  for (size_t r = 0; r < ni; r++) {
    pg_bo_cands_moments(u->c, idx[r], mv, mv + PG_BO_ACQ_MAXM);
    for (size_t j = 0; j < u->m; j++) {
      lua_rawgeti(L, tm, (lua_Integer)j + 1);
      lua_pushnumber(L, mv[j]);
      lua_rawseti(L, -2, (lua_Integer)r + 1);
      lua_pop(L, 1);
      lua_rawgeti(L, tv, (lua_Integer)j + 1);
      lua_pushnumber(L, mv[PG_BO_ACQ_MAXM + j]);
      lua_rawseti(L, -2, (lua_Integer)r + 1);
      lua_pop(L, 1);
    }
  }
  return 2;
}

static int acq_gc(lua_State *L) {
  lacq *a = luaL_checkudata(L, 1, LACQ_MT);
  pg_bo_acq_free(a->a);
  a->a = NULL;
  return 0;
}

static lacq *new_acq(lua_State *L) {
  lacq *a = lua_newuserdatauv(L, sizeof *a, 0);
  a->a = NULL;
  luaL_setmetatable(L, LACQ_MT);
  return a;
}

/* pg.bo.acq_hvi(sets, ref) */
static int bo_acq_hvi(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t m;
  const double *ref = pgL_checkvector(L, 2, &m, 0);
  luaL_argcheck(L, m >= 2 && m <= PG_BO_ACQ_MAXM, 2, "2 to 16 objectives");
  size_t S = (size_t)luaL_len(L, 1);
  luaL_argcheck(L, S >= 1, 1, "one point set per sample");
  const double **sets = pgL_newbuffer(L, S * sizeof *sets);
  size_t *k = pgL_newbuffer(L, S * sizeof *k);
  lua_createtable(L, (int)S, 0);
  int keep = lua_gettop(L);
  for (size_t s = 0; s < S; s++) {
    lua_rawgeti(L, 1, (lua_Integer)s + 1);
    size_t r, c;
    sets[s] = pgL_checkpoints(L, -1, &r, &c, PGL_ALLOW_EMPTY);
    if (r > 0 && c != m) luaL_argerror(L, 1, "point sets must have one column per objective");
    k[s] = r;
    lua_rawseti(L, keep, (lua_Integer)s + 1);
    lua_pop(L, 1);
  }
  lacq *a = new_acq(L);
  pg_status st = pg_bo_acq_hvi(&a->a, S, m, sets, k, ref);
  if (st) return pgL_error(L, st, "acq_hvi");
  return 1;
}

/* pg.bo.acq_hvi_q(posts, first, base, ref [, per_sample]) -- as acq_hvi with
 * sets[s] = base (per_sample: base[s]) plus the samples of conditioning
 * points first..nq of the posteriors (one per objective) in sample s */
static int bo_acq_hvi_q(lua_State *L) {
  int per_sample = lua_toboolean(L, 5); /* before table arguments are converted (pushed) */
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer first = luaL_checkinteger(L, 2);
  luaL_checkany(L, 3);
  size_t m;
  const double *ref = pgL_checkvector(L, 4, &m, 0);
  luaL_argcheck(L, m >= 2 && m <= PG_BO_ACQ_MAXM && (size_t)luaL_len(L, 1) == m, 1,
                "one posterior per objective (2 to 16)");
  pg_bo_post *posts[PG_BO_ACQ_MAXM];
  for (size_t j = 0; j < m; j++) {
    lua_rawgeti(L, 1, (lua_Integer)j + 1);
    lbo *p = luaL_testudata(L, -1, LBO_MT);
    if (!p || !p->p) luaL_argerror(L, 1, "entries must be live pg.bo posteriors");
    posts[j] = p->p;
    lua_pop(L, 1);
  }
  size_t S = pg_bo_post_nsamples(posts[0]), nq = pg_bo_post_nq(posts[0]);
  for (size_t j = 1; j < m; j++)
    luaL_argcheck(L, pg_bo_post_nsamples(posts[j]) == S && pg_bo_post_nq(posts[j]) == nq, 1,
                  "posteriors with different samples or conditioning sets");
  luaL_argcheck(L, first >= 1 && (size_t)first <= nq + 1, 2, "first must be in 1..nq+1");
  size_t nf = nq + 1 - (size_t)first;
  /* base sets */
  const double **bsets = pgL_newbuffer(L, S * sizeof *bsets);
  size_t *bk = pgL_newbuffer(L, S * sizeof *bk);
  lua_createtable(L, (int)S, 0);
  int keep = lua_gettop(L);
  if (per_sample) {
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_argcheck(L, (size_t)luaL_len(L, 3) == S, 3, "one base set per sample");
  }
  size_t kmax = 0;
  for (size_t s = 0; s < S; s++) {
    size_t r = 0, c = m;
    if (per_sample || s == 0) {
      if (per_sample) lua_rawgeti(L, 3, (lua_Integer)s + 1);
      else lua_pushvalue(L, 3);
      bsets[s] = pgL_checkpoints(L, lua_gettop(L), &r, &c, PGL_ALLOW_EMPTY);
      if (r > 0 && c != m) luaL_argerror(L, 3, "base sets must have one column per objective");
      lua_rawseti(L, keep, (lua_Integer)s + 1);
      lua_pop(L, 1);
      bk[s] = r;
    } else {
      bsets[s] = bsets[0];
      bk[s] = bk[0];
    }
    kmax = bk[s] > kmax ? bk[s] : kmax;
  }
  /* samples of the conditioning points */
  double *Fq = pgL_newbuffer(L, (m * S * nq + 1) * sizeof *Fq);
  for (size_t j = 0; j < m; j++) pg_bo_post_qsamples(posts[j], Fq + j * S * nq);
  double *pts = pgL_newbuffer(L, (S * (kmax + nf) * m + 1) * sizeof *pts);
  const double **sets = pgL_newbuffer(L, S * sizeof *sets);
  size_t *k = pgL_newbuffer(L, S * sizeof *k);
  for (size_t s = 0; s < S; s++) {
    double *o = pts + s * (kmax + nf) * m;
    memcpy(o, bsets[s], bk[s] * m * sizeof *o);
    for (size_t i = 0; i < nf; i++)
      for (size_t j = 0; j < m; j++)
        o[(bk[s] + i) * m + j] = Fq[j * S * nq + s * nq + (size_t)first - 1 + i];
    sets[s] = o;
    k[s] = bk[s] + nf;
  }
  lacq *a = new_acq(L);
  pg_status st = pg_bo_acq_hvi(&a->a, S, m, sets, k, ref);
  if (st) return pgL_error(L, st, "acq_hvi_q");
  return 1;
}

/* pg.bo.acq_nei(t) */
static int bo_acq_nei(lua_State *L) {
  size_t S;
  const double *t = pgL_checkvector(L, 1, &S, 0);
  lacq *a = new_acq(L);
  pg_status st = pg_bo_acq_nei(&a->a, S, t);
  if (st) return pgL_error(L, st, "acq_nei");
  return 1;
}

/* pg.bo.acq_cheb(w, rho, t) */
static int bo_acq_cheb(lua_State *L) {
  size_t m, S;
  const double *w = pgL_checkvector(L, 1, &m, 0);
  luaL_argcheck(L, m >= 1 && m <= PG_BO_ACQ_MAXM, 1, "1 to 16 weights");
  for (size_t j = 0; j < m; j++) luaL_argcheck(L, w[j] >= 0, 1, "weights must be >= 0");
  double rho = pgL_checkfinite(L, 2);
  const double *t = pgL_checkvector(L, 3, &S, 0);
  lacq *a = new_acq(L);
  pg_status st = pg_bo_acq_cheb(&a->a, S, m, w, rho, t);
  if (st) return pgL_error(L, st, "acq_cheb");
  return 1;
}

static const luaL_Reg cands_methods[] = {{"add", cands_add},         {"count", cands_count},
                                         {"score", cands_score},     {"samples", cands_samples},
                                         {"moments", cands_moments}, {NULL, NULL}};

static const luaL_Reg post_methods[] = {{"predict", post_predict}, {"add", post_add},
                                        {"samples", post_samples}, {"qsamples", post_qsamples},
                                        {"nq", post_nq},           {NULL, NULL}};

static const luaL_Reg bo_funcs[] = {{"posterior", bo_posterior}, {"train", bo_train},
                                    {"hvi", bo_hvi},             {"nei", bo_nei},
                                    {"nei_cheb", bo_nei_cheb},   {"normal_qmc", bo_normal_qmc},
                                    {"norminv", bo_norminv},     {"cands", bo_cands},
                                    {"acq_hvi", bo_acq_hvi},     {"acq_nei", bo_acq_nei},
                                    {"acq_cheb", bo_acq_cheb},   {"acq_hvi_q", bo_acq_hvi_q},
                                    {NULL, NULL}};

/* a userdata metatable: methods (or none) as __index, gc as __gc and __close */
static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  if (methods) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}

void pgL_open_bo(lua_State *L, int mod) {
  new_class(L, LBO_MT, post_methods, post_gc);
  new_class(L, LCANDS_MT, cands_methods, cands_gc);
  new_class(L, LACQ_MT, NULL, acq_gc);
  luaL_newlib(L, bo_funcs);
  lua_setfield(L, mod, "bo");
}
