/*
 * lspace.c -- perigee.cspace(dims): the C search space (engine/space.c).
 *
 * dims is a list of tables {kind = "real"|"int"|"ordinal"|"choice"|"fixed",
 * lo =, hi =, step =, log =, levels =}. The Lua layer (lua/perigee/space.lua)
 * builds it from pg.real/pg.int/... and maps level indices to values.
 * Methods of the returned perigee.Space (points are perigee.matrix or tables
 * of rows in native form, see engine/space.h):
 *   s:dim(), s:unit_dim(), s:onehot_dim(), s:size()
 *   s:sample(n, rng [, method [, offset]]) -> matrix n x d
 *       method "uniform" (default) | "sobol" | "lhs"; for "sobol" rng may be
 *       nil (no scrambling) and offset is the index of the first point
 *   s:encode(X) -> unit matrix, s:decode(U) -> native matrix
 *   s:onehot(X), s:from_onehot(H), s:snap(X)
 *   s:check(X) -> true | false, row, dim, message
 *   s:neighbours(x [, delta = 0.1]) -> matrix
 *   s:mutate(X, rng [, prob [, sigma = 0.2]]) -> matrix
 *   s:crossover(A, B, rng) -> matrix, matrix
 *   s:hash(X) -> list of 64-bit integers
 */
#include <math.h>
#include <string.h>

#include "../engine/space.h"
#include "lpg.h"

#define SPACE_MT "perigee.Space"

typedef struct lspace {
  pg_space *s;
} lspace;

static pg_space *checkspace(lua_State *L, int arg) {
  lspace *u = luaL_checkudata(L, arg, SPACE_MT);
  if (!u->s) luaL_argerror(L, arg, "space has been freed");
  return u->s;
}

static int space_gc(lua_State *L) {
  lspace *u = luaL_checkudata(L, 1, SPACE_MT);
  pg_space_free(u->s);
  u->s = NULL;
  return 0;
}

static const char *const kind_names[] = {"real", "int", "ordinal", "choice", "fixed", NULL};
static const int kind_values[] = {PG_DIM_REAL, PG_DIM_INT, PG_DIM_ORDINAL, PG_DIM_CHOICE,
                                  PG_DIM_FIXED};

/* perigee.cspace(dims) */
static int space_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer d = luaL_len(L, 1);
  luaL_argcheck(L, d >= 1 && d <= (1 << 20), 1, "needs 1 to 2^20 dimensions");
  pg_space_dim *dims = pgL_newbuffer(L, (size_t)d * sizeof *dims);
  for (lua_Integer j = 1; j <= d; j++) {
    if (lua_rawgeti(L, 1, j) != LUA_TTABLE) luaL_argerror(L, 1, "every dimension must be a table");
    int t = lua_gettop(L);
    lua_getfield(L, t, "kind");
    if (!lua_isstring(L, -1))
      luaL_error(L, "bad argument #1 to 'cspace' (dimension %d has no kind)", (int)j);
    lua_pop(L, 1);
    pg_space_dim *m = &dims[j - 1];
    memset(m, 0, sizeof *m);
    m->kind = (pg_dim_kind)pgL_optenum(L, t, "kind", kind_names, kind_values, PG_DIM_REAL);
    m->lo = pgL_optnumberfield(L, t, "lo", 0);
    m->hi = pgL_optnumberfield(L, t, "hi", 0);
    m->step = pgL_optnumberfield(L, t, "step", 0);
    m->log = pgL_optbooleanfield(L, t, "log", 0);
    lua_Integer lv = pgL_optintegerfield(L, t, "levels", 0);
    if (lv < 0) luaL_error(L, "bad argument #1 to 'cspace' (dimension %d: negative levels)", (int)j);
    m->levels = (size_t)lv;
    /* the engine validates again; a message naming the dimension helps */
    pg_space *probe = NULL;
    if (pg_space_new(m, 1, &probe) != PG_OK)
      luaL_error(L, "bad argument #1 to 'cspace' (dimension %d is invalid: check bounds, step, "
                 "log scale with positive bounds, levels)", (int)j);
    pg_space_free(probe);
    lua_pop(L, 1);
  }
  lspace *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->s = NULL;
  luaL_setmetatable(L, SPACE_MT);
  pg_status st = pg_space_new(dims, (size_t)d, &u->s);
  if (st != PG_OK) pgL_argstatus(L, 1, st, NULL);
  return 1;
}

static int space_dim(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkspace(L, 1)->d);
  return 1;
}
static int space_unit_dim(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkspace(L, 1)->unit_d);
  return 1;
}
static int space_onehot_dim(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkspace(L, 1)->onehot_d);
  return 1;
}
static int space_size(lua_State *L) {
  lua_pushnumber(L, pg_space_size(checkspace(L, 1)));
  return 1;
}

/* Points at arg with exactly `cols` columns (empty allowed). */
static const double *checkrows(lua_State *L, int arg, size_t cols, size_t *n) {
  size_t c;
  const double *x = pgL_checkpoints(L, arg, n, &c, PGL_ALLOW_EMPTY | PGL_ALLOW_NONFINITE);
  if (*n > 0 && c != cols)
    luaL_argerror(L, arg, lua_pushfstring(L, "expected %d columns, got %d", (int)cols, (int)c));
  for (size_t i = 0; i < *n * cols; i++)
    if (!isfinite(x[i])) luaL_argerror(L, arg, "contains NaN or infinite values");
  return x;
}

static const char *const method_names[] = {"uniform", "sobol", "lhs", NULL};

static int space_sample(lua_State *L) {
  lua_settop(L, 5); /* optional arguments keep their slots when values are pushed */
  pg_space *s = checkspace(L, 1);
  size_t n = pgL_checksize(L, 2, (size_t)1 << 28);
  pg_rng *r = lua_isnoneornil(L, 3) ? NULL : pgL_checkrng(L, 3);
  int method = luaL_checkoption(L, 4, "uniform", method_names);
  lua_Integer off = luaL_optinteger(L, 5, 0);
  luaL_argcheck(L, off >= 0, 5, "offset must be non-negative");
  if (!r && method != PG_SAMPLE_SOBOL) luaL_argerror(L, 3, "a perigee.rng is required");
  pgL_matrix *m = pgL_newmatrix(L, n, s->d);
  pg_status st = pg_space_sample(s, (pg_space_method)method, n, (uint64_t)off, r, m->data);
  if (st == PG_ERANGE) luaL_argerror(L, 5, "past the end of the Sobol sequence (2^32 points)");
  if (st != PG_OK) pgL_error(L, st, NULL);
  return 1;
}

typedef pg_status (*map_fn)(const pg_space *, const double *, size_t, double *);

static int map_rows(lua_State *L, map_fn f, int in_kind, int out_kind) {
  pg_space *s = checkspace(L, 1);
  size_t widths[3] = {s->d, s->unit_d, s->onehot_d};
  size_t n;
  const double *x = checkrows(L, 2, widths[in_kind], &n);
  pgL_matrix *m = pgL_newmatrix(L, n, widths[out_kind]);
  pg_status st = n ? f(s, x, n, m->data) : PG_OK;
  if (st != PG_OK) pgL_argstatus(L, 2, st, NULL);
  return 1;
}

static int space_encode(lua_State *L) { return map_rows(L, pg_space_encode, 0, 1); }
static int space_decode(lua_State *L) { return map_rows(L, pg_space_decode, 1, 0); }
static int space_onehot(lua_State *L) { return map_rows(L, pg_space_onehot, 0, 2); }
static int space_from_onehot(lua_State *L) { return map_rows(L, pg_space_from_onehot, 2, 0); }
static int space_snap(lua_State *L) { return map_rows(L, pg_space_snap, 0, 0); }

static int space_check(lua_State *L) {
  pg_space *s = checkspace(L, 1);
  size_t n, c;
  const double *x = pgL_checkpoints(L, 2, &n, &c, PGL_ALLOW_EMPTY | PGL_ALLOW_NONFINITE);
  if (n > 0 && c != s->d)
    luaL_argerror(L, 2, lua_pushfstring(L, "expected %d columns, got %d", (int)s->d, (int)c));
  size_t br = 0, bd = 0;
  pg_status st = n ? pg_space_check(s, x, n, &br, &bd) : PG_OK;
  if (st == PG_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushinteger(L, (lua_Integer)br + 1);
  lua_pushinteger(L, (lua_Integer)bd + 1);
  lua_pushstring(L, st == PG_EDOM ? "NaN value" : "value is not a valid level or is out of bounds");
  return 4;
}

static int space_neighbours(lua_State *L) {
  lua_settop(L, 3); /* optional arguments keep their slots when values are pushed */
  pg_space *s = checkspace(L, 1);
  size_t n;
  const double *x = checkrows(L, 2, s->d, &n);
  luaL_argcheck(L, n == 1, 2, "expected one point");
  double delta = lua_isnoneornil(L, 3) ? 0.1 : pgL_checkfinite(L, 3);
  luaL_argcheck(L, delta >= 0 && delta <= 1, 3, "delta must be in [0, 1]");
  size_t maxn = pg_space_max_neighbours(s), cnt = 0;
  double *buf = pgL_newbuffer(L, (maxn ? maxn : 1) * s->d * sizeof *buf);
  pg_status st = pg_space_neighbours(s, x, delta, buf, &cnt);
  if (st != PG_OK) pgL_error(L, st, NULL);
  pgL_matrix *m = pgL_newmatrix(L, cnt, s->d);
  memcpy(m->data, buf, cnt * s->d * sizeof *buf);
  return 1;
}

static int space_mutate(lua_State *L) {
  lua_settop(L, 5); /* optional arguments keep their slots when values are pushed */
  pg_space *s = checkspace(L, 1);
  size_t n;
  const double *x = checkrows(L, 2, s->d, &n);
  pg_rng *r = pgL_checkrng(L, 3);
  double prob = lua_isnoneornil(L, 4) ? 0 : pgL_checkfinite(L, 4);
  luaL_argcheck(L, prob >= 0 && prob <= 1, 4, "probability must be in [0, 1]");
  double sigma = lua_isnoneornil(L, 5) ? 0.2 : pgL_checkfinite(L, 5);
  luaL_argcheck(L, sigma >= 0, 5, "sigma must be non-negative");
  pgL_matrix *m = pgL_newmatrix(L, n, s->d);
  pg_status st = n ? pg_space_mutate(s, x, n, prob, sigma, r, m->data) : PG_OK;
  if (st != PG_OK) pgL_error(L, st, NULL);
  return 1;
}

static int space_crossover(lua_State *L) {
  lua_settop(L, 4); /* optional arguments keep their slots when values are pushed */
  pg_space *s = checkspace(L, 1);
  size_t na, nb;
  const double *a = checkrows(L, 2, s->d, &na);
  const double *b = checkrows(L, 3, s->d, &nb);
  luaL_argcheck(L, na == nb, 3, "parents must have the same number of rows");
  pg_rng *r = pgL_checkrng(L, 4);
  pgL_matrix *c1 = pgL_newmatrix(L, na, s->d);
  pgL_matrix *c2 = pgL_newmatrix(L, na, s->d);
  pg_status st = na ? pg_space_crossover(s, a, b, na, r, c1->data, c2->data) : PG_OK;
  if (st != PG_OK) pgL_error(L, st, NULL);
  return 2;
}

static int space_hash(lua_State *L) {
  pg_space *s = checkspace(L, 1);
  size_t n;
  const double *x = checkrows(L, 2, s->d, &n);
  uint64_t *h = pgL_newbuffer(L, (n ? n : 1) * sizeof *h);
  pg_status st = n ? pg_space_hash(s, x, n, h) : PG_OK;
  if (st != PG_OK) pgL_error(L, st, NULL);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)h[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int space_tostring(lua_State *L) {
  pg_space *s = checkspace(L, 1);
  lua_pushfstring(L, "perigee.Space (%d dimensions, %f points)", (int)s->d, pg_space_size(s));
  return 1;
}

static const luaL_Reg space_methods[] = {
    {"dim", space_dim},           {"unit_dim", space_unit_dim},
    {"onehot_dim", space_onehot_dim}, {"size", space_size},
    {"sample", space_sample},     {"encode", space_encode},
    {"decode", space_decode},     {"onehot", space_onehot},
    {"from_onehot", space_from_onehot}, {"snap", space_snap},
    {"check", space_check},       {"neighbours", space_neighbours},
    {"mutate", space_mutate},     {"crossover", space_crossover},
    {"hash", space_hash},         {NULL, NULL}};

void pgL_open_space(lua_State *L, int mod) {
  luaL_newmetatable(L, SPACE_MT);
  luaL_newlib(L, space_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, space_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, space_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, space_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_pushcfunction(L, space_new);
  lua_setfield(L, mod, "cspace");
}
