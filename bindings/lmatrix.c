/*
 * lmatrix.c -- perigee.matrix: a dense row-major double matrix userdata.
 *
 *   perigee.matrix{{1,2},{3,4}}      from a table of rows (a flat table is one row)
 *   perigee.matrix(rows, cols [, v]) filled with v (default 0)
 *   perigee.matrix.zeros/ones(r, c), .eye(n), .random(r, c, rng [, "uniform"|"normal"])
 *   #m (rows), m:shape(), m[i][j], m[i][j] = v, m:get(i,j), m:set(i,j,v),
 *   m:row(i), m:col(j), m:totable(), m:copy(), m:t(), tostring(m)
 * Indices are 1-based as everywhere in Lua.
 */
#include <math.h>
#include <string.h>

#include "lpg.h"

#define MAX_DIM ((size_t)1 << 31)

/* One row of a matrix, referring to the matrix through its user value. */
typedef struct {
  size_t row;
} row_ref;

static size_t check_index(lua_State *L, int arg, size_t n, const char *what) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, arg, &isnum);
  if (!isnum) luaL_argerror(L, arg, lua_pushfstring(L, "%s index must be an integer", what));
  if (i < 1 || (lua_Unsigned)i > n)
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "%s index %I out of range 1..%I", what, i, (lua_Integer)n));
  return (size_t)(i - 1);
}

static int matrix_new(lua_State *L) {
  /* called as perigee.matrix(...) through __call: drop the callee so that
     argument numbers in error messages are the ones the user wrote */
  lua_remove(L, 1);
  if (lua_istable(L, 1) || pgL_testmatrix(L, 1)) {
    size_t r, c;
    const double *x = pgL_checkpoints(L, 1, &r, &c, PGL_ALLOW_NONFINITE | PGL_ALLOW_EMPTY);
    pgL_matrix *m = pgL_newmatrix(L, r, c);
    if (r && c) memcpy(m->data, x, r * c * sizeof(double));
    return 1;
  }
  size_t r = pgL_checksize(L, 1, MAX_DIM), c = pgL_checksize(L, 2, MAX_DIM);
  double v = luaL_optnumber(L, 3, 0.0);
  pgL_matrix *m = pgL_newmatrix(L, r, c);
  if (v != 0.0)
    for (size_t i = 0; i < r * c; i++) m->data[i] = v;
  return 1;
}

static int matrix_zeros(lua_State *L) {
  size_t r = pgL_checksize(L, 1, MAX_DIM), c = pgL_checksize(L, 2, MAX_DIM);
  pgL_newmatrix(L, r, c);
  return 1;
}

static int matrix_ones(lua_State *L) {
  size_t r = pgL_checksize(L, 1, MAX_DIM), c = pgL_checksize(L, 2, MAX_DIM);
  pgL_matrix *m = pgL_newmatrix(L, r, c);
  for (size_t i = 0; i < r * c; i++) m->data[i] = 1.0;
  return 1;
}

static int matrix_eye(lua_State *L) {
  size_t n = pgL_checksize(L, 1, 1u << 20);
  pgL_matrix *m = pgL_newmatrix(L, n, n);
  for (size_t i = 0; i < n; i++) m->data[i * n + i] = 1.0;
  return 1;
}

static int matrix_random(lua_State *L) {
  static const char *const kinds[] = {"uniform", "normal", NULL};
  size_t r = pgL_checksize(L, 1, MAX_DIM), c = pgL_checksize(L, 2, MAX_DIM);
  pg_rng *g = pgL_checkrng(L, 3);
  int kind = luaL_checkoption(L, 4, "uniform", kinds);
  pgL_matrix *m = pgL_newmatrix(L, r, c);
  for (size_t i = 0; i < r * c; i++)
    m->data[i] = kind == 0 ? pg_rng_uniform(g) : pg_rng_normal(g);
  return 1;
}

static int matrix_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pgL_checkmatrix(L, 1)->rows);
  return 1;
}

static int matrix_shape(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  lua_pushinteger(L, (lua_Integer)m->rows);
  lua_pushinteger(L, (lua_Integer)m->cols);
  return 2;
}

static int matrix_get(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  size_t i = check_index(L, 2, m->rows, "row"), j = check_index(L, 3, m->cols, "column");
  lua_pushnumber(L, m->data[i * m->cols + j]);
  return 1;
}

static int matrix_set(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  size_t i = check_index(L, 2, m->rows, "row"), j = check_index(L, 3, m->cols, "column");
  m->data[i * m->cols + j] = luaL_checknumber(L, 4);
  lua_settop(L, 1);
  return 1;
}

static int matrix_row(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  size_t i = check_index(L, 2, m->rows, "row");
  pgL_matrix *out = pgL_newmatrix(L, 1, m->cols);
  memcpy(out->data, m->data + i * m->cols, m->cols * sizeof(double));
  return 1;
}

static int matrix_col(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  size_t j = check_index(L, 2, m->cols, "column");
  pgL_matrix *out = pgL_newmatrix(L, m->rows, 1);
  for (size_t i = 0; i < m->rows; i++) out->data[i] = m->data[i * m->cols + j];
  return 1;
}

static int matrix_totable(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  if (m->rows > (size_t)INT32_MAX || m->cols > (size_t)INT32_MAX)
    return luaL_error(L, "totable: matrix too large for a table");
  lua_createtable(L, (int)m->rows, 0);
  for (size_t i = 0; i < m->rows; i++) {
    lua_createtable(L, (int)m->cols, 0);
    for (size_t j = 0; j < m->cols; j++) {
      lua_pushnumber(L, m->data[i * m->cols + j]);
      lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int matrix_copy(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  pgL_matrix *out = pgL_newmatrix(L, m->rows, m->cols);
  if (m->rows && m->cols) memcpy(out->data, m->data, m->rows * m->cols * sizeof(double));
  return 1;
}

static int matrix_t(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  pgL_matrix *out = pgL_newmatrix(L, m->cols, m->rows);
  for (size_t i = 0; i < m->rows; i++)
    for (size_t j = 0; j < m->cols; j++) out->data[j * m->rows + i] = m->data[i * m->cols + j];
  return 1;
}

static int matrix_eq(lua_State *L) {
  pgL_matrix *a = pgL_testmatrix(L, 1), *b = pgL_testmatrix(L, 2);
  int eq = a && b && a->rows == b->rows && a->cols == b->cols;
  for (size_t i = 0; eq && i < a->rows * a->cols; i++) eq = a->data[i] == b->data[i];
  lua_pushboolean(L, eq);
  return 1;
}

static void add_number(luaL_Buffer *b, lua_State *L, double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%10.4g", v);
  (void)L;
  luaL_addstring(b, buf);
}

/* A preview: at most 8 rows and 6 columns, with ellipses. */
static int matrix_tostring(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "perigee.matrix %I x %I", (lua_Integer)m->rows, (lua_Integer)m->cols);
  luaL_addvalue(&b);
  const size_t maxr = 8, maxc = 6;
  for (size_t i = 0; i < m->rows; i++) {
    if (m->rows > maxr && i == maxr / 2) {
      luaL_addstring(&b, "\n  ...");
      i = m->rows - maxr / 2;
    }
    luaL_addstring(&b, "\n ");
    for (size_t j = 0; j < m->cols; j++) {
      if (m->cols > maxc && j == maxc / 2) {
        luaL_addstring(&b, "        ...");
        j = m->cols - maxc / 2;
      }
      luaL_addchar(&b, ' ');
      add_number(&b, L, m->data[i * m->cols + j]);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static int row_push(lua_State *L, int midx, size_t i) {
  row_ref *r = lua_newuserdatauv(L, sizeof *r, 1);
  r->row = i;
  lua_pushvalue(L, midx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, PGL_ROW_MT);
  return 1;
}

static int matrix_index(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    size_t i = check_index(L, 2, m->rows, "row");
    return row_push(L, 1, i);
  }
  luaL_getmetatable(L, PGL_MATRIX_MT);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int matrix_newindex(lua_State *L) {
  pgL_matrix *m = pgL_checkmatrix(L, 1);
  size_t i = check_index(L, 2, m->rows, "row");
  size_t n;
  const double *v = pgL_checkvector(L, 3, &n, PGL_ALLOW_NONFINITE);
  if (n != m->cols)
    luaL_argerror(L, 3, lua_pushfstring(L, "row needs %I values, got %I", (lua_Integer)m->cols,
                                        (lua_Integer)n));
  memcpy(m->data + i * m->cols, v, n * sizeof(double));
  return 0;
}

static pgL_matrix *row_matrix(lua_State *L, row_ref **r) {
  *r = luaL_checkudata(L, 1, PGL_ROW_MT);
  lua_getiuservalue(L, 1, 1);
  pgL_matrix *m = lua_touserdata(L, -1);
  lua_pop(L, 1); /* the row keeps the matrix alive */
  return m;
}

static int row_index(lua_State *L) {
  row_ref *r;
  pgL_matrix *m = row_matrix(L, &r);
  size_t j = check_index(L, 2, m->cols, "column");
  lua_pushnumber(L, m->data[r->row * m->cols + j]);
  return 1;
}

static int row_newindex(lua_State *L) {
  row_ref *r;
  pgL_matrix *m = row_matrix(L, &r);
  size_t j = check_index(L, 2, m->cols, "column");
  m->data[r->row * m->cols + j] = luaL_checknumber(L, 3);
  return 0;
}

static int row_len(lua_State *L) {
  row_ref *r;
  pgL_matrix *m = row_matrix(L, &r);
  lua_pushinteger(L, (lua_Integer)m->cols);
  return 1;
}

static int row_tostring(lua_State *L) {
  row_ref *r;
  pgL_matrix *m = row_matrix(L, &r);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "perigee.matrix row %I:", (lua_Integer)r->row + 1);
  luaL_addvalue(&b);
  for (size_t j = 0; j < m->cols; j++) {
    luaL_addchar(&b, ' ');
    add_number(&b, L, m->data[r->row * m->cols + j]);
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg matrix_methods[] = {
    {"shape", matrix_shape}, {"get", matrix_get},         {"set", matrix_set},
    {"row", matrix_row},     {"col", matrix_col},         {"totable", matrix_totable},
    {"copy", matrix_copy},   {"t", matrix_t},             {NULL, NULL}};

static const luaL_Reg matrix_meta[] = {
    {"__len", matrix_len},           {"__index", matrix_index}, {"__newindex", matrix_newindex},
    {"__tostring", matrix_tostring}, {"__eq", matrix_eq},       {NULL, NULL}};

static const luaL_Reg row_meta[] = {{"__index", row_index},
                                    {"__newindex", row_newindex},
                                    {"__len", row_len},
                                    {"__tostring", row_tostring},
                                    {NULL, NULL}};

static const luaL_Reg matrix_funcs[] = {{"zeros", matrix_zeros}, {"ones", matrix_ones},
                                        {"eye", matrix_eye},     {"random", matrix_random},
                                        {NULL, NULL}};

void pgL_open_matrix(lua_State *L, int mod) {
  luaL_newmetatable(L, PGL_MATRIX_MT);
  luaL_setfuncs(L, matrix_meta, 0);
  luaL_newlib(L, matrix_methods);
  lua_setfield(L, -2, "__methods");
  lua_pushliteral(L, "perigee.matrix");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newmetatable(L, PGL_ROW_MT);
  luaL_setfuncs(L, row_meta, 0);
  lua_pop(L, 1);
  /* perigee.matrix: a table of constructors that is also callable */
  luaL_newlib(L, matrix_funcs);
  lua_newtable(L);
  lua_pushcfunction(L, matrix_new);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, mod, "matrix");
}
