/*
 * lgp.c -- perigee.gp: exact and sparse Gaussian processes (engine/gp.c,
 * engine/sgp.c, engine/kernel.c).
 *
 *   local m = perigee.gp.exact{kernel = "matern52", noise = 1e-4, train = 1}
 *   local s = perigee.gp.sparse{kernel = "matern52", inducing = 64, method = "vfe",
 *                               select = "kmeans++", seed = 1}
 *   m:fit(X, y)                 -- X: matrix or table of rows, y: vector; returns m
 *   local mu, var = m:predict(Xc)            -- n x 1 matrices
 *   local mu, cov = m:predict(Xc, {full = true})
 *   local F = m:sample(Xc, nsamples, rng)     -- nsamples x #Xc matrix
 *   m:loglik(), m:params(), m:set_params(t), m:train{restarts = 3, seed = 7}
 *
 * Kernel specs: a name ("se"/"rbf", "matern12", "matern32", "matern52",
 * "hamming") over every column, or a table {kind = ..., dims = {1, 2},
 * lengthscale = 0.5, variance = 1}, or a composite
 * { "product" | "sum", spec1, spec2, ... }.
 * The C model is built at the first fit, when the number of columns is known.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../engine/gp.h"
#include "../engine/kernel.h"
#include "../engine/linalg.h"
#include "../engine/sgp.h"
#include "lpg.h"

#define LGP_MT "perigee.GP"
#define HOLDER_MT "perigee.KernelHolder"
#define PARSE_CHECK_D ((size_t)1 << 12) /* d used to check a spec before fit */

typedef struct lgp {
  int sparse;
  pg_gp *g;
  pg_sgp *s;
  pg_gp_opts go;
  pg_sgp_opts so;
  pg_rng rng;
  int train;      /* restarts of the automatic training in fit (0: none) */
  double ls, var; /* initial lengthscale and variance */
  size_t d;       /* columns the model was built for (0: not built) */
} lgp;

/* ---- kernel specs ---- */

typedef struct holder {
  pg_kernel *k;
} holder;

static int holder_gc(lua_State *L) {
  holder *h = luaL_checkudata(L, 1, HOLDER_MT);
  pg_kernel_free(h->k);
  h->k = NULL;
  return 0;
}

static holder *new_holder(lua_State *L) {
  holder *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->k = NULL;
  if (luaL_newmetatable(L, HOLDER_MT)) {
    lua_pushcfunction(L, holder_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return h;
}

/* Parse the spec at absolute index idx for d columns; pushes a holder
 * owning the kernel. Errors name argument `arg`. */
static holder *parse_kernel(lua_State *L, int idx, int arg, size_t d, int depth) {
  if (depth > 16) luaL_argerror(L, arg, "kernel spec nested too deeply");
  int checking = d == PARSE_CHECK_D; /* constructor-time syntax check */
  holder *h = NULL;
  pg_kernel_kind kind;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *name = lua_tostring(L, idx);
    if (pg_kernel_kind_parse(name, &kind) != PG_OK || kind >= PG_KERNEL_SUM)
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown kernel '%s' (se, matern12, matern32, "
                                               "matern52, hamming, or a sum/product table)",
                                            name));
    h = new_holder(L);
    if (pg_kernel_new(&h->k, kind, NULL, d) != PG_OK) pgL_argstatus(L, arg, PG_ENOMEM, "kernel");
    return h;
  }
  if (lua_type(L, idx) != LUA_TTABLE) luaL_typeerror(L, arg, "kernel name or table");
  int t1 = lua_rawgeti(L, idx, 1);
  if (t1 == LUA_TSTRING) { /* { "sum" | "product", children... } */
    const char *name = lua_tostring(L, -1);
    if (pg_kernel_kind_parse(name, &kind) != PG_OK || kind < PG_KERNEL_SUM)
      luaL_argerror(L, arg,
                    lua_pushfstring(L, "kernel table must start with 'sum' or 'product', got '%s'",
                                    name));
    lua_pop(L, 1);
    lua_Integer nc = luaL_len(L, idx) - 1;
    if (nc < 1 || nc > 64) luaL_argerror(L, arg, "a sum or product needs 1 to 64 kernels");
    int base = lua_gettop(L);
    for (lua_Integer c = 0; c < nc; c++) {
      lua_rawgeti(L, idx, c + 2);
      int ci = lua_gettop(L);
      parse_kernel(L, ci, arg, d, depth + 1);
      lua_remove(L, ci); /* keep only the holder */
    }
    pg_kernel **ch = pgL_newbuffer(L, (size_t)nc * sizeof *ch);
    for (lua_Integer c = 0; c < nc; c++) {
      holder *hc = lua_touserdata(L, base + 1 + (int)c);
      ch[c] = hc->k;
      hc->k = NULL; /* ownership moves to combine */
    }
    h = new_holder(L);
    pg_status st = pg_kernel_combine(&h->k, kind, ch, (size_t)nc);
    if (st != PG_OK) pgL_argstatus(L, arg, st, "kernel");
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return h;
  }
  lua_pop(L, 1);
  int top = lua_gettop(L);
  lua_getfield(L, idx, "kind");
  const char *name = lua_tostring(L, -1);
  if (lua_type(L, -1) != LUA_TSTRING || pg_kernel_kind_parse(name, &kind) != PG_OK ||
      kind >= PG_KERNEL_SUM)
    luaL_argerror(L, arg, "kernel table needs kind = 'se' | 'matern12' | 'matern32' | "
                          "'matern52' | 'hamming' (or { 'sum' | 'product', ... })");
  lua_pop(L, 1);
  size_t nd = d;
  size_t *dims = NULL;
  if (lua_getfield(L, idx, "dims") != LUA_TNIL) {
    if (!lua_istable(L, -1)) luaL_argerror(L, arg, "kernel 'dims' must be a list of columns");
    lua_Integer len = luaL_len(L, -1);
    if (len < 1 || (size_t)len > d)
      luaL_argerror(L, arg, lua_pushfstring(L, "kernel 'dims' must list 1 to %d columns", (int)d));
    nd = (size_t)len;
    dims = pgL_newbuffer(L, nd * sizeof *dims);
    for (lua_Integer j = 1; j <= len; j++) {
      lua_rawgeti(L, -2, j);
      int isint;
      lua_Integer c = lua_tointegerx(L, -1, &isint);
      if (!isint || c < 1 || (size_t)c > d)
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "kernel 'dims' entries must be integers in 1..%d", (int)d));
      dims[j - 1] = (size_t)(c - 1);
      lua_pop(L, 1);
    }
  }
  if (checking && !dims) { /* syntax check only: size from 'lengthscales' */
    nd = 1;
    if (lua_getfield(L, idx, "lengthscales") == LUA_TTABLE && luaL_len(L, -1) > 0)
      nd = (size_t)luaL_len(L, -1);
    lua_pop(L, 1);
  }
  double ls = pgL_optnumberfield(L, idx, "lengthscale", 1.0);
  double var = pgL_optnumberfield(L, idx, "variance", 1.0);
  if (!(ls > 0.0) || !(var > 0.0))
    luaL_argerror(L, arg, "kernel 'lengthscale' and 'variance' must be positive");
  h = new_holder(L);
  if (pg_kernel_new(&h->k, kind, dims, nd) != PG_OK) pgL_argstatus(L, arg, PG_ENOMEM, "kernel");
  pg_kernel_init(h->k, ls, var);
  int hi = lua_gettop(L);
  lua_getfield(L, idx, "lengthscales");
  if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1) || luaL_len(L, -1) != (lua_Integer)nd)
      luaL_argerror(L, arg, "kernel 'lengthscales' must list one value per column");
    for (size_t j = 0; j < nd; j++) {
      lua_rawgeti(L, -1, (lua_Integer)j + 1);
      double v = lua_tonumber(L, -1);
      if (!(v > 0.0) || !isfinite(v)) luaL_argerror(L, arg, "kernel lengthscales must be positive");
      h->k->loglen[j] = log(v);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, hi);
  if (hi > top + 1) { /* leave only the holder above the caller's stack */
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
  }
  return h;
}

/* ---- the model userdata ---- */

static lgp *check_gp(lua_State *L, int arg) { return luaL_checkudata(L, arg, LGP_MT); }

static int gp_gc(lua_State *L) {
  lgp *u = check_gp(L, 1);
  pg_gp_free(u->g);
  pg_sgp_free(u->s);
  u->g = NULL;
  u->s = NULL;
  return 0;
}

/* Build the C model for d columns from the stored spec (uservalue 1). */
static void ensure_model(lua_State *L, lgp *u, size_t d, int arg) {
  if (u->g || u->s) {
    if (d != u->d)
      luaL_argerror(L, arg, lua_pushfstring(L, "has %d columns, the model was built for %d",
                                            (int)d, (int)u->d));
    return;
  }
  int top = lua_gettop(L);
  lua_getiuservalue(L, 1, 1);
  holder *h = parse_kernel(L, top + 1, arg, d, 0);
  if (pg_kernel_mindim(h->k) > d)
    luaL_argerror(L, arg, "has fewer columns than the kernel's dims");
  if (lua_type(L, top + 1) == LUA_TSTRING) pg_kernel_init(h->k, u->ls, u->var);
  pg_kernel *k = h->k;
  h->k = NULL;
  pg_status st = u->sparse ? pg_sgp_new(&u->s, k, &u->so) : pg_gp_new(&u->g, k, &u->go);
  if (st != PG_OK) pgL_error(L, st, "model options");
  u->d = d;
  lua_settop(L, top);
}

static lgp *new_model(lua_State *L, int sparse) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  lgp *u = lua_newuserdatauv(L, sizeof *u, 1);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, LGP_MT);
  u->sparse = sparse;
  u->go = pg_gp_defaults();
  u->so = pg_sgp_defaults();
  /* kernel spec: validated now against a generous d so errors show early */
  if (lua_isnoneornil(L, 1) || lua_getfield(L, 1, "kernel") == LUA_TNIL) {
    if (!lua_isnoneornil(L, 1)) lua_pop(L, 1);
    lua_pushliteral(L, "matern52");
  }
  int t = lua_type(L, -1);
  if (t != LUA_TSTRING && t != LUA_TTABLE) luaL_argerror(L, 1, "option 'kernel' must be a name or a table");
  {
    int top = lua_gettop(L);
    parse_kernel(L, top, 1, PARSE_CHECK_D, 0); /* check the syntax; freed by GC */
    lua_settop(L, top);
  }
  lua_setiuservalue(L, -2, 1);
  u->ls = pgL_optnumberfield(L, 1, "lengthscale", 1.0);
  u->var = pgL_optnumberfield(L, 1, "variance", 1.0);
  luaL_argcheck(L, u->ls > 0.0 && u->var > 0.0, 1, "options 'lengthscale' and 'variance' must be positive");
  double noise = pgL_optnumberfield(L, 1, "noise", sparse ? u->so.noise : u->go.noise);
  luaL_argcheck(L, noise > 0.0, 1, "option 'noise' must be positive");
  int stdz = pgL_optbooleanfield(L, 1, "standardize", 1);
  int trn = pgL_optbooleanfield(L, 1, "train_noise", 1);
  lua_Integer maxit = pgL_optintegerfield(L, 1, "max_iter", sparse ? u->so.max_iter : u->go.max_iter);
  luaL_argcheck(L, maxit >= 1 && maxit <= 100000, 1, "option 'max_iter' must be in 1..100000");
  lua_Integer train = pgL_optintegerfield(L, 1, "train", 1);
  luaL_argcheck(L, train >= 0 && train <= 1000, 1, "option 'train' must be a number of restarts in 0..1000");
  u->train = (int)train;
  lua_Integer seed = pgL_optintegerfield(L, 1, "seed", 1);
  pg_rng_seed(&u->rng, (uint64_t)seed);
  if (!sparse) {
    u->go.noise = noise;
    u->go.standardize = stdz;
    u->go.train_noise = trn;
    u->go.max_iter = (int)maxit;
    if (noise < u->go.noise_lo) u->go.noise_lo = noise;
  } else {
    u->so.noise = noise;
    u->so.standardize = stdz;
    u->so.train_noise = trn;
    u->so.max_iter = (int)maxit;
    if (noise < u->so.noise_lo) u->so.noise_lo = noise;
    lua_Integer m = pgL_optintegerfield(L, 1, "inducing", 64);
    luaL_argcheck(L, m >= 1 && m <= 65536, 1, "option 'inducing' must be in 1..65536");
    u->so.m = (size_t)m;
    static const char *const mnames[] = {"vfe", "fitc", NULL};
    static const int mvals[] = {PG_SGP_VFE, PG_SGP_FITC};
    u->so.method = (pg_sgp_method)pgL_optenum(L, 1, "method", mnames, mvals, PG_SGP_VFE);
    static const char *const snames[] = {"kmeans++", "greedy", "random", NULL};
    static const int svals[] = {PG_SGP_SELECT_KMEANSPP, PG_SGP_SELECT_GREEDY, PG_SGP_SELECT_RANDOM};
    u->so.select =
        (pg_sgp_select)pgL_optenum(L, 1, "select", snames, svals, PG_SGP_SELECT_KMEANSPP);
    u->so.reselect = pgL_optbooleanfield(L, 1, "reselect", 1);
    double jit = pgL_optnumberfield(L, 1, "jitter", u->so.jitter);
    luaL_argcheck(L, jit >= 0.0, 1, "option 'jitter' must be non-negative");
    u->so.jitter = jit;
    lua_Integer tm = pgL_optintegerfield(L, 1, "train_max", (lua_Integer)u->so.train_max);
    luaL_argcheck(L, tm >= 0 && tm <= ((lua_Integer)1 << 30), 1, "option 'train_max' must be >= 0");
    u->so.train_max = (size_t)tm;
    lua_Integer zi = pgL_optintegerfield(L, 1, "inducing_iters", u->so.inducing_iters);
    luaL_argcheck(L, zi >= 0 && zi <= 100000, 1, "option 'inducing_iters' must be in 0..100000");
    u->so.inducing_iters = (int)zi;
    lua_Integer zm = pgL_optintegerfield(L, 1, "inducing_max", (lua_Integer)u->so.inducing_max);
    luaL_argcheck(L, zm >= 0 && zm <= ((lua_Integer)1 << 30), 1,
                  "option 'inducing_max' must be >= 0");
    u->so.inducing_max = (size_t)zm;
  }
  return u;
}

static int gp_exact(lua_State *L) {
  new_model(L, 0);
  return 1;
}

static int gp_sparse(lua_State *L) {
  new_model(L, 1);
  return 1;
}

static lgp *check_fitted(lua_State *L) {
  lgp *u = check_gp(L, 1);
  size_t n = u->sparse ? (u->s ? pg_sgp_n(u->s) : 0) : (u->g ? pg_gp_n(u->g) : 0);
  if (n == 0) luaL_error(L, "%s: model is not fitted (call fit first)", u->sparse ? "sparse GP" : "GP");
  return u;
}

static void do_train(lua_State *L, lgp *u, int restarts, pg_rng *rng) {
  pg_status st = u->sparse ? pg_sgp_train(u->s, rng, restarts) : pg_gp_train(u->g, rng, restarts);
  if (st != PG_OK && st != PG_ENOCONV) pgL_error(L, st, "training");
}

/* m:fit(X, y) -> m */
static int gp_fit(lua_State *L) {
  lgp *u = check_gp(L, 1);
  lua_settop(L, 3);
  size_t n, d, ny;
  const double *X = pgL_checkpoints(L, 2, &n, &d, 0);
  const double *y = pgL_checkvector(L, 3, &ny, 0);
  if (ny != n)
    luaL_argerror(L, 3, lua_pushfstring(L, "has %d values for %d rows of X", (int)ny, (int)n));
  if (n > 20000 && !u->sparse)
    luaL_argerror(L, 2, "more than 20000 rows for an exact GP (use perigee.gp.sparse)");
  ensure_model(L, u, d, 2);
  pg_status st = u->sparse ? pg_sgp_fit(u->s, X, n, d, y, &u->rng) : pg_gp_fit(u->g, X, n, d, y);
  if (st == PG_ENOTPD) pgL_error(L, st, "kernel matrix, even with jitter; raise noise");
  if (st != PG_OK) pgL_error(L, st, NULL);
  if (u->train > 0) do_train(L, u, u->train, &u->rng);
  lua_settop(L, 1);
  return 1;
}

static const double *check_candidates(lua_State *L, lgp *u, int arg, size_t *nc) {
  size_t d;
  const double *Xc = pgL_checkpoints(L, arg, nc, &d, 0);
  if (d != u->d)
    luaL_argerror(L, arg, lua_pushfstring(L, "has %d columns, the model has %d", (int)d, (int)u->d));
  return Xc;
}

/* m:predict(Xc [, {full = true}]) -> mean, variance (or covariance) */
static int gp_predict(lua_State *L) {
  lgp *u = check_fitted(L);
  lua_settop(L, 3);
  size_t nc;
  const double *Xc = check_candidates(L, u, 2, &nc);
  int full = pgL_optbooleanfield(L, 3, "full", 0);
  if (full) luaL_argcheck(L, nc <= 10000, 2, "more than 10000 points for a full covariance");
  pgL_matrix *mu = pgL_newmatrix(L, nc, 1);
  pgL_matrix *v = full ? pgL_newmatrix(L, nc, nc) : pgL_newmatrix(L, nc, 1);
  pg_status st;
  if (full)
    st = u->sparse ? pg_sgp_predict_cov(u->s, Xc, nc, mu->data, v->data)
                   : pg_gp_predict_cov(u->g, Xc, nc, mu->data, v->data);
  else
    st = u->sparse ? pg_sgp_predict(u->s, Xc, nc, mu->data, v->data)
                   : pg_gp_predict(u->g, Xc, nc, mu->data, v->data);
  if (st != PG_OK) pgL_error(L, st, NULL);
  return 2;
}

/* m:sample(Xc, nsamples, rng) -> nsamples x nc matrix of joint draws */
static int gp_sample(lua_State *L) {
  lgp *u = check_fitted(L);
  lua_settop(L, 4);
  size_t nc;
  const double *Xc = check_candidates(L, u, 2, &nc);
  luaL_argcheck(L, nc <= 10000, 2, "more than 10000 points for joint samples");
  size_t ns = pgL_checksize(L, 3, (size_t)1 << 24);
  luaL_argcheck(L, ns >= 1, 3, "need at least one sample");
  pg_rng *r = lua_isnoneornil(L, 4) ? &u->rng : pgL_checkrng(L, 4);
  size_t tot;
  if (pg_size_mul(ns, nc, &tot) != PG_OK || tot > ((size_t)1 << 26))
    luaL_argerror(L, 3, "too many samples");
  pgL_matrix *F = pgL_newmatrix(L, ns, nc);
  pg_status st = u->sparse ? pg_sgp_sample(u->s, Xc, nc, ns, r, F->data)
                           : pg_gp_sample(u->g, Xc, nc, ns, r, F->data);
  if (st != PG_OK) pgL_error(L, st, "posterior covariance");
  return 1;
}

static int gp_loglik(lua_State *L) {
  lgp *u = check_fitted(L);
  lua_pushnumber(L, u->sparse ? pg_sgp_loglik(u->s) : pg_gp_loglik(u->g));
  return 1;
}

static size_t nparams(lgp *u) { return u->sparse ? pg_sgp_nparams(u->s) : pg_gp_nparams(u->g); }
static const pg_kernel *kernel_of(lgp *u) {
  return u->sparse ? pg_sgp_kernel(u->s) : pg_gp_kernel(u->g);
}

static lgp *check_built(lua_State *L) {
  lgp *u = check_gp(L, 1);
  if (!u->g && !u->s) luaL_error(L, "GP: model has no parameters yet (call fit first)");
  return u;
}

/* m:params() -> { log-parameters..., names = {...}, noise = , [name] = value } */
static int gp_params(lua_State *L) {
  lgp *u = check_built(L);
  size_t P = nparams(u), p = P - 1;
  double *th = pgL_newbuffer(L, P * sizeof *th);
  if (u->sparse)
    pg_sgp_get_params(u->s, th);
  else
    pg_gp_get_params(u->g, th);
  lua_createtable(L, (int)P, (int)P + 3);
  lua_createtable(L, (int)P, 0);
  for (size_t i = 0; i < P; i++) {
    char name[256];
    if (i < p)
      pg_kernel_param_name(kernel_of(u), i, name, sizeof name);
    else
      snprintf(name, sizeof name, "noise");
    lua_pushnumber(L, th[i]);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    lua_pushnumber(L, exp(th[i]));
    lua_setfield(L, -3, name);
  }
  lua_setfield(L, -2, "names");
  return 1;
}

/* m:set_params(t): t = list of log-parameters, or natural values by name
 * ({noise = 1e-3, ["matern52.lengthscale[1]"] = 0.2}). */
static int gp_set_params(lua_State *L) {
  lgp *u = check_built(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t P = nparams(u), p = P - 1;
  double *th = pgL_newbuffer(L, P * sizeof *th);
  if (u->sparse)
    pg_sgp_get_params(u->s, th);
  else
    pg_gp_get_params(u->g, th);
  lua_Integer len = luaL_len(L, 2);
  if (len > 0) {
    if ((size_t)len != P)
      luaL_argerror(L, 2, lua_pushfstring(L, "expected %d log-parameters, got %d", (int)P, (int)len));
    for (size_t i = 0; i < P; i++) {
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      int isnum;
      double v = lua_tonumberx(L, -1, &isnum);
      if (!isnum || !isfinite(v) || fabs(v) > 700.0)
        luaL_argerror(L, 2, "log-parameters must be finite numbers in [-700, 700]");
      th[i] = v;
      lua_pop(L, 1);
    }
  } else {
    int any = 0;
    for (size_t i = 0; i < P; i++) {
      char name[256];
      if (i < p)
        pg_kernel_param_name(kernel_of(u), i, name, sizeof name);
      else
        snprintf(name, sizeof name, "noise");
      if (lua_getfield(L, 2, name) != LUA_TNIL) {
        int isnum;
        double v = lua_tonumberx(L, -1, &isnum);
        if (!isnum || !(v > 0.0) || !isfinite(v))
          luaL_argerror(L, 2, lua_pushfstring(L, "'%s' must be a positive number", name));
        th[i] = log(v);
        any = 1;
      }
      lua_pop(L, 1);
    }
    if (!any) luaL_argerror(L, 2, "no known parameter names (see m:params().names)");
  }
  pg_status st = u->sparse ? pg_sgp_set_params(u->s, th) : pg_gp_set_params(u->g, th);
  if (st != PG_OK) pgL_error(L, st, "parameters");
  lua_settop(L, 1);
  return 1;
}

/* m:train{restarts = 3, seed = n | rng = r} -> m, loglik */
static int gp_train(lua_State *L) {
  lgp *u = check_fitted(L);
  lua_Integer restarts = pgL_optintegerfield(L, 2, "restarts", 3);
  luaL_argcheck(L, restarts >= 1 && restarts <= 1000, 2, "option 'restarts' must be in 1..1000");
  pg_rng local, *r = &u->rng;
  if (!lua_isnoneornil(L, 2)) {
    if (lua_getfield(L, 2, "rng") != LUA_TNIL) {
      r = luaL_testudata(L, -1, PGL_RNG_MT);
      if (!r) luaL_argerror(L, 2, "option 'rng' must be a perigee.rng");
    } else {
      lua_pop(L, 1);
      lua_getfield(L, 2, "seed");
      if (!lua_isnil(L, -1)) {
        lua_Integer s = pgL_optintegerfield(L, 2, "seed", 0);
        pg_rng_seed(&local, (uint64_t)s);
        r = &local;
      }
    }
  }
  do_train(L, u, (int)restarts, r);
  lua_settop(L, 1);
  lua_pushnumber(L, u->sparse ? pg_sgp_loglik(u->s) : pg_gp_loglik(u->g));
  return 2;
}

/* m:inducing() -> m x d matrix (sparse only) */
static int gp_inducing(lua_State *L) {
  lgp *u = check_gp(L, 1);
  if (!u->sparse) luaL_argerror(L, 1, "only sparse GPs have inducing points");
  if (!u->s || !pg_sgp_inducing(u->s)) luaL_error(L, "inducing: model is not fitted");
  size_t m = pg_sgp_m(u->s);
  pgL_matrix *Z = pgL_newmatrix(L, m, u->d);
  memcpy(Z->data, pg_sgp_inducing(u->s), m * u->d * sizeof(double));
  return 1;
}

static int gp_n(lua_State *L) {
  lgp *u = check_gp(L, 1);
  size_t n = u->sparse ? (u->s ? pg_sgp_n(u->s) : 0) : (u->g ? pg_gp_n(u->g) : 0);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int gp_tostring(lua_State *L) {
  lgp *u = check_gp(L, 1);
  char kd[512] = "(kernel built at fit)";
  if (u->g || u->s) pg_kernel_describe(kernel_of(u), kd, sizeof kd);
  if (u->sparse) {
    size_t n = u->s ? pg_sgp_n(u->s) : 0;
    lua_pushfstring(L, "perigee.gp.sparse(%s, %s, %s, m=%d, n=%d, noise=%f, objective=%f)", kd,
                    pg_sgp_method_name(u->so.method), pg_sgp_select_name(u->so.select),
                    (int)(u->s ? pg_sgp_m(u->s) : u->so.m), (int)n,
                    u->s ? pg_sgp_noise(u->s) : u->so.noise, u->s ? pg_sgp_loglik(u->s) : NAN);
  } else {
    size_t n = u->g ? pg_gp_n(u->g) : 0;
    lua_pushfstring(L, "perigee.gp.exact(%s, n=%d, noise=%f, loglik=%f)", kd, (int)n,
                    u->g ? pg_gp_noise(u->g) : u->go.noise, u->g ? pg_gp_loglik(u->g) : NAN);
  }
  return 1;
}

static const luaL_Reg gp_methods[] = {
    {"fit", gp_fit},       {"predict", gp_predict},       {"sample", gp_sample},
    {"loglik", gp_loglik}, {"params", gp_params},         {"set_params", gp_set_params},
    {"train", gp_train},   {"inducing", gp_inducing},     {"n", gp_n},
    {NULL, NULL}};

void pgL_open_gp(lua_State *L, int mod) {
  luaL_newmetatable(L, LGP_MT);
  luaL_newlib(L, gp_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gp_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, gp_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gp_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, gp_exact);
  lua_setfield(L, -2, "exact");
  lua_pushcfunction(L, gp_sparse);
  lua_setfield(L, -2, "sparse");
  lua_setfield(L, mod, "gp");
}
