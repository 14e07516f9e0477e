/* lpg.c -- shared binding helpers (see lpg.h). */
#include "lpg.h"

#include <math.h>
#include <string.h>

#include "../engine/linalg.h"

void *pgL_newbuffer(lua_State *L, size_t bytes) {
  return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

pgL_matrix *pgL_newmatrix(lua_State *L, size_t rows, size_t cols) {
  size_t n;
  if (pg_size_mul(rows, cols, &n) != PG_OK || n > PG_MAX_ELEMS / 8)
    luaL_error(L, "matrix of %I x %I elements is too large", (lua_Integer)rows, (lua_Integer)cols);
  pgL_matrix *m = lua_newuserdatauv(L, sizeof(pgL_matrix) + n * sizeof(double), 0);
  m->rows = rows;
  m->cols = cols;
  memset(m->data, 0, n * sizeof(double));
  luaL_setmetatable(L, PGL_MATRIX_MT);
  return m;
}

pgL_matrix *pgL_testmatrix(lua_State *L, int idx) {
  return luaL_testudata(L, idx, PGL_MATRIX_MT);
}

pgL_matrix *pgL_checkmatrix(lua_State *L, int arg) {
  return luaL_checkudata(L, arg, PGL_MATRIX_MT);
}

static void check_finite_data(lua_State *L, int arg, const double *x, size_t n, unsigned flags) {
  if (flags & PGL_ALLOW_NONFINITE) return;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) luaL_argerror(L, arg, "contains NaN or infinite values");
}

const double *pgL_checkpoints(lua_State *L, int arg, size_t *rows, size_t *cols, unsigned flags) {
  arg = lua_absindex(L, arg);
  pgL_matrix *m = pgL_testmatrix(L, arg);
  if (m) {
    if (m->rows == 0 && !(flags & PGL_ALLOW_EMPTY)) luaL_argerror(L, arg, "empty point set");
    check_finite_data(L, arg, m->data, m->rows * m->cols, flags);
    *rows = m->rows;
    *cols = m->cols;
    lua_pushvalue(L, arg);
    return m->data;
  }
  if (lua_type(L, arg) != LUA_TTABLE)
    luaL_typeerror(L, arg, "matrix or table of rows");
  lua_Integer n = luaL_len(L, arg);
  if (n == 0) {
    if (!(flags & PGL_ALLOW_EMPTY)) luaL_argerror(L, arg, "empty point set");
    *rows = 0;
    *cols = 0;
    return pgL_newmatrix(L, 0, 0)->data;
  }
  int t1 = lua_rawgeti(L, arg, 1);
  lua_pop(L, 1);
  if (t1 == LUA_TNUMBER) { /* flat table: one row */
    pgL_matrix *out = pgL_newmatrix(L, 1, (size_t)n);
    for (lua_Integer j = 1; j <= n; j++) {
      if (lua_rawgeti(L, arg, j) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is not a number", (int)j));
      out->data[j - 1] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    check_finite_data(L, arg, out->data, (size_t)n, flags);
    *rows = 1;
    *cols = (size_t)n;
    return out->data;
  }
  if (t1 != LUA_TTABLE)
    luaL_argerror(L, arg, "expected a matrix, a table of rows or a table of numbers");
  lua_rawgeti(L, arg, 1);
  lua_Integer d = luaL_len(L, -1);
  lua_pop(L, 1);
  if (d <= 0) luaL_argerror(L, arg, "row 1 is empty");
  pgL_matrix *out = pgL_newmatrix(L, (size_t)n, (size_t)d);
  int top = lua_gettop(L);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, arg, i) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "row %d is not a table", (int)i));
    if ((lua_Integer)lua_rawlen(L, -1) != d)
      luaL_argerror(L, arg,
                    lua_pushfstring(L, "row %d has %d entries, row 1 has %d", (int)i,
                                    (int)lua_rawlen(L, -1), (int)d));
    for (lua_Integer j = 1; j <= d; j++) {
      if (lua_rawgeti(L, -1, j) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "entry [%d][%d] is not a number", (int)i, (int)j));
      out->data[(size_t)(i - 1) * (size_t)d + (size_t)(j - 1)] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    lua_settop(L, top);
  }
  check_finite_data(L, arg, out->data, (size_t)(n * d), flags);
  *rows = (size_t)n;
  *cols = (size_t)d;
  return out->data;
}

const double *pgL_checkvector(lua_State *L, int arg, size_t *n, unsigned flags) {
  arg = lua_absindex(L, arg);
  pgL_matrix *m = pgL_testmatrix(L, arg);
  if (m) {
    if (m->rows != 1 && m->cols != 1 && m->rows * m->cols != 0)
      luaL_argerror(L, arg, "expected a vector (a matrix with one row or one column)");
    *n = m->rows * m->cols;
    if (*n == 0 && !(flags & PGL_ALLOW_EMPTY)) luaL_argerror(L, arg, "empty vector");
    check_finite_data(L, arg, m->data, *n, flags);
    lua_pushvalue(L, arg);
    return m->data;
  }
  if (lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, "table of numbers or matrix");
  lua_Integer len = luaL_len(L, arg);
  if (len == 0 && !(flags & PGL_ALLOW_EMPTY)) luaL_argerror(L, arg, "empty vector");
  pgL_matrix *out = pgL_newmatrix(L, (size_t)len, 1);
  for (lua_Integer i = 1; i <= len; i++) {
    if (lua_rawgeti(L, arg, i) != LUA_TNUMBER)
      luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is not a number", (int)i));
    out->data[i - 1] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  check_finite_data(L, arg, out->data, (size_t)len, flags);
  *n = (size_t)len;
  return out->data;
}

size_t pgL_checksize(lua_State *L, int arg, size_t max) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, arg, &isnum);
  if (!isnum) {
    if (lua_type(L, arg) == LUA_TNUMBER)
      luaL_argerror(L, arg, "number has no integer representation");
    luaL_typeerror(L, arg, "integer");
  }
  if (v < 0) luaL_argerror(L, arg, "must be non-negative");
  if ((lua_Unsigned)v > max)
    luaL_argerror(L, arg, lua_pushfstring(L, "too large (at most %I)", (lua_Integer)max));
  return (size_t)v;
}

size_t pgL_optsize(lua_State *L, int arg, size_t def, size_t max) {
  return lua_isnoneornil(L, arg) ? def : pgL_checksize(L, arg, max);
}

double pgL_checkfinite(lua_State *L, int arg) {
  double v = luaL_checknumber(L, arg);
  if (!isfinite(v)) luaL_argerror(L, arg, "must be a finite number");
  return v;
}

static const char *caller_name(lua_State *L) {
  lua_Debug ar;
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
  return "?";
}

int pgL_error(lua_State *L, pg_status s, const char *what) {
  if (what) return luaL_error(L, "%s: %s (%s)", caller_name(L), pg_strerror(s), what);
  return luaL_error(L, "%s: %s", caller_name(L), pg_strerror(s));
}

int pgL_argstatus(lua_State *L, int arg, pg_status s, const char *what) {
  if (what) return luaL_argerror(L, arg, lua_pushfstring(L, "%s (%s)", pg_strerror(s), what));
  return luaL_argerror(L, arg, pg_strerror(s));
}

static int field(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) return LUA_TNIL;
  if (!lua_istable(L, idx)) luaL_typeerror(L, idx, "table of options");
  return lua_getfield(L, idx, key);
}

int pgL_optenum(lua_State *L, int idx, const char *key, const char *const names[],
                const int values[], int def) {
  idx = lua_absindex(L, idx);
  if (field(L, idx, key) == LUA_TNIL) {
    if (!lua_isnoneornil(L, idx)) lua_pop(L, 1);
    return def;
  }
  const char *s = lua_tostring(L, -1);
  if (s && lua_type(L, -1) == LUA_TSTRING)
    for (int i = 0; names[i]; i++)
      if (strcmp(names[i], s) == 0) {
        lua_pop(L, 1);
        return values[i];
      }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; names[i]; i++) {
    if (i) luaL_addstring(&b, ", ");
    luaL_addchar(&b, '\'');
    luaL_addstring(&b, names[i]);
    luaL_addchar(&b, '\'');
  }
  luaL_pushresult(&b);
  return luaL_argerror(
      L, idx, lua_pushfstring(L, "option '%s' must be one of %s", key, lua_tostring(L, -1)));
}

double pgL_optnumberfield(lua_State *L, int idx, const char *key, double def) {
  idx = lua_absindex(L, idx);
  int t = field(L, idx, key);
  if (t == LUA_TNIL) {
    if (!lua_isnoneornil(L, idx)) lua_pop(L, 1);
    return def;
  }
  int isnum;
  double v = lua_tonumberx(L, -1, &isnum);
  if (!isnum || t != LUA_TNUMBER)
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a number", key));
  if (!isfinite(v))
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be finite", key));
  lua_pop(L, 1);
  return v;
}

lua_Integer pgL_optintegerfield(lua_State *L, int idx, const char *key, lua_Integer def) {
  idx = lua_absindex(L, idx);
  int t = field(L, idx, key);
  if (t == LUA_TNIL) {
    if (!lua_isnoneornil(L, idx)) lua_pop(L, 1);
    return def;
  }
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || t != LUA_TNUMBER)
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an integer", key));
  lua_pop(L, 1);
  return v;
}

int pgL_optbooleanfield(lua_State *L, int idx, const char *key, int def) {
  idx = lua_absindex(L, idx);
  int t = field(L, idx, key);
  if (t == LUA_TNIL) {
    if (!lua_isnoneornil(L, idx)) lua_pop(L, 1);
    return def;
  }
  if (t != LUA_TBOOLEAN)
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a boolean", key));
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

void pgL_setfuncs(lua_State *L, int mod, const luaL_Reg *l) {
  for (; l->name; l++) {
    lua_pushcfunction(L, l->func);
    lua_setfield(L, mod, l->name);
  }
}
