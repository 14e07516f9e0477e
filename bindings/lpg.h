/*
 * lpg.h -- helpers shared by every binding file: matrices as userdata,
 * argument checking that accepts a matrix or a table of rows, and turning
 * pg_status codes into Lua errors.
 *
 * Conventions (see docs/design.md):
 * - Misuse raises: luaL_argerror names the function and argument position.
 * - Temporary buffers are Lua userdata (pgL_newbuffer), so an error raised
 *   half-way through a binding never leaks C memory.
 * - Each binding file lXXX.c defines `void pgL_open_XXX(lua_State *L, int mod)`
 *   that sets its functions into the module table at absolute index `mod`;
 *   CMake collects them (bindings/lopen_list.h is generated).
 */
#ifndef PG_LPG_H
#define PG_LPG_H

#include <stddef.h>

#include <lauxlib.h>
#include <lua.h>

#include "../engine/rng.h"
#include "../engine/status.h"

#define PGL_MATRIX_MT "perigee.Matrix"
#define PGL_ROW_MT "perigee.MatrixRow"
#define PGL_RNG_MT "perigee.Rng"

/* Dense row-major matrix stored inline in its userdata. */
typedef struct pgL_matrix {
  size_t rows, cols;
  double data[];
} pgL_matrix;

/* Push a new rows x cols matrix (zero-filled). Raises on absurd sizes. */
pgL_matrix *pgL_newmatrix(lua_State *L, size_t rows, size_t cols);
/* Matrix at idx or NULL / or a raised argument error. */
pgL_matrix *pgL_testmatrix(lua_State *L, int idx);
pgL_matrix *pgL_checkmatrix(lua_State *L, int arg);

/* Flags for pgL_checkpoints. */
#define PGL_ALLOW_NONFINITE 1u /* accept NaN and Inf entries */
#define PGL_ALLOW_EMPTY 2u     /* accept zero rows */

/* A point set from argument `arg`: a perigee.Matrix, a table of rows (each
 * a table of numbers, all of the same length) or a flat table of numbers
 * (one row). Always pushes exactly one value (the matrix itself or a
 * converted copy) that keeps the returned data alive while it is on the
 * stack. Raises "bad argument #arg to 'fn' (...)" on any problem, including
 * NaN/Inf unless PGL_ALLOW_NONFINITE. */
const double *pgL_checkpoints(lua_State *L, int arg, size_t *rows, size_t *cols, unsigned flags);

/* A vector from `arg`: a flat table of numbers or a matrix with one row or
 * one column. Pushes one value like pgL_checkpoints. */
const double *pgL_checkvector(lua_State *L, int arg, size_t *n, unsigned flags);

/* A non-negative integer argument no larger than max. */
size_t pgL_checksize(lua_State *L, int arg, size_t max);
size_t pgL_optsize(lua_State *L, int arg, size_t def, size_t max);

/* A finite number argument. */
double pgL_checkfinite(lua_State *L, int arg);

/* Push a scratch buffer of `bytes` bytes as userdata (freed by the GC). */
void *pgL_newbuffer(lua_State *L, size_t bytes);

/* Generator userdata. */
pg_rng *pgL_checkrng(lua_State *L, int arg);
pg_rng *pgL_newrng(lua_State *L);

/* Raise a Lua error for status s. The message names the calling function
 * (like luaL_argerror does) and adds `what` when non-NULL. */
int pgL_error(lua_State *L, pg_status s, const char *what);
/* Same, naming argument `arg`. */
int pgL_argstatus(lua_State *L, int arg, pg_status s, const char *what);

/* Read a string option field `key` of the table at idx and map it onto
 * values[] through names[] (NULL-terminated); absent gives def. Raises on
 * an unknown name, listing the valid ones. */
int pgL_optenum(lua_State *L, int idx, const char *key, const char *const names[],
                const int values[], int def);
/* Numeric/integer/boolean option fields of the table at idx (absent: def). */
double pgL_optnumberfield(lua_State *L, int idx, const char *key, double def);
lua_Integer pgL_optintegerfield(lua_State *L, int idx, const char *key, lua_Integer def);
int pgL_optbooleanfield(lua_State *L, int idx, const char *key, int def);

/* Set functions into the table at absolute index mod. */
void pgL_setfuncs(lua_State *L, int mod, const luaL_Reg *l);

#endif
