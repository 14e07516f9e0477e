/*
 * ldataflow.c -- perigee.hw.accelerator, perigee.hw.coflex_accelerator and
 * the Coflex hardware parameters (hardware/dataflow.c; docs/dataflow.md).
 *
 *   acc = perigee.hw.accelerator "meta_prototype_df"   -- hardware/accelerators/<name>.lua
 *   acc = perigee.hw.accelerator { name = ..., array = {...}, levels = {...}, ... }
 *   r = acc:evaluate(net, { schedule = "depth_first" | "layer_by_layer",
 *                           tile = {8, 8}, mode = "fully_cached" |
 *                           "h_cached_v_recompute" | "fully_recompute", fuse = true,
 *                           layers = true })  -- false: totals only; "bits": per-layer
 *                                             -- read/write bits per level too
 *   acc:describe() -> the description table (edit it and pass it back)
 *   acc:name()
 *   perigee.hw.accelerators() -> names of the description files found
 *   perigee.hw.coflex_accelerator { pe_x=, pe_y=, reg_input=, reg_weight=,
 *                                   reg_output=, reg_bw=, mapping = "full" | "coflex" }
 *   perigee.hw.coflex_parameters  -- the six parameters and their ranges
 *   perigee.hw.coflex_space_size() -> inclusive grid size, README's 2^48
 *
 * `net` is a network of perigee.hw.network.* (bindings/lhw.c) or a table of
 * layer tables (name, kind, B, K, C, OY, OX, FY, FX, SY, SX, PY, PX, groups,
 * IY, IX, input, input2; producers are 1-based layer indices, 0 = network
 * input, -1 = a zero tensor (NAS-Bench-201 'none'), default: the previous
 * layer).
 *
 * The accelerator directory is $PERIGEE_HW_DIR, else the source tree's
 * hardware/accelerators (PG_SOURCE_DIR from the generated version.h), else
 * the install share directories.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../hardware/dataflow.h"
#include "../hardware/workload.h"
#include "lpg.h"
#include "version.h"

#define ACCEL_MT "perigee.Accelerator"
#define HWNET_MT "perigee.HwNetwork" /* bindings/lhw.c */

static pg_df_accel *checkaccel(lua_State *L, int arg) { return luaL_checkudata(L, arg, ACCEL_MT); }

static pg_df_accel *newaccel(lua_State *L) {
  pg_df_accel *a = lua_newuserdatauv(L, sizeof *a, 0);
  memset(a, 0, sizeof *a);
  luaL_setmetatable(L, ACCEL_MT);
  return a;
}

/* ---- directory of description files ---- */

static int is_dir(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Push the accelerator directory, or nil if none exists. */
static void push_hw_dir(lua_State *L) {
  const char *env = getenv("PERIGEE_HW_DIR");
  if (env && *env) {
    lua_pushstring(L, env);
    return;
  }
  const char *cands[] = {PG_SOURCE_DIR "/hardware/accelerators",
                         "/usr/local/share/perigee/accelerators",
                         "/usr/share/perigee/accelerators"};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
    if (is_dir(cands[i])) {
      lua_pushstring(L, cands[i]);
      return;
    }
  lua_pushnil(L);
}

/* ---- description table -> pg_df_accel ---- */

/* Raise "bad argument #arg to 'fn' (what: message)". */
static int desc_error(lua_State *L, int arg, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return luaL_argerror(L, arg, lua_pushfstring(L, "%s: %s", what, msg));
}

/* Number field k of the table at t (absent: def, or an error if def is NaN). */
static double numfield(lua_State *L, int arg, const char *what, int t, const char *k, double def,
                       double lo, double hi) {
  int ty = lua_getfield(L, t, k);
  double v = def;
  if (ty == LUA_TNIL) {
    if (isnan(def)) desc_error(L, arg, what, "field '%s' is missing", k);
  } else {
    int ok;
    v = lua_tonumberx(L, -1, &ok);
    if (!ok || ty != LUA_TNUMBER) desc_error(L, arg, what, "field '%s' must be a number", k);
    if (isnan(v) || v < lo || v > hi)
      desc_error(L, arg, what, "field '%s' = %f is out of range [%f, %f]", k, v, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

static const char *strfield(lua_State *L, int t, const char *k, char *buf, size_t n) {
  buf[0] = 0;
  if (lua_getfield(L, t, k) == LUA_TSTRING) {
    strncpy(buf, lua_tostring(L, -1), n - 1);
    buf[n - 1] = 0;
  }
  lua_pop(L, 1);
  return buf;
}

static int operand_index(const char *s) {
  if (strcmp(s, "I") == 0 || strcmp(s, "I1") == 0) return PG_DF_I;
  if (strcmp(s, "W") == 0 || strcmp(s, "I2") == 0) return PG_DF_W;
  if (strcmp(s, "O") == 0) return PG_DF_O;
  return -1;
}

/* Parse the description table at index t (argument arg) into *a. */
static void parse_accel(lua_State *L, int arg, int t, pg_df_accel *a, const char *what) {
  t = lua_absindex(L, t);
  if (!lua_istable(L, t)) desc_error(L, arg, what, "must be a table");
  memset(a, 0, sizeof *a);
  char buf[64];
  strfield(L, t, "name", a->name, sizeof a->name);
  if (!a->name[0]) strcpy(a->name, "accelerator");
  a->e_mac = numfield(L, arg, what, t, "mac_energy", NAN, 0, 1e9);
  a->psum_bits = numfield(L, arg, what, t, "psum_bits", 16, 1, 1024);
  a->clock_hz = numfield(L, arg, what, t, "clock_hz", 2.2e9, 1, 1e15);
  /* array */
  if (lua_getfield(L, t, "array") != LUA_TTABLE) desc_error(L, arg, what, "field 'array' must be a table");
  int at = lua_gettop(L);
  lua_Integer nd = luaL_len(L, at);
  if (nd < 1 || nd > PG_DF_MAX_DIMS)
    desc_error(L, arg, what, "'array' must list 1 to %d dimensions", PG_DF_MAX_DIMS);
  a->n_dims = (int)nd;
  for (int d = 0; d < a->n_dims; d++) {
    if (lua_rawgeti(L, at, d + 1) != LUA_TTABLE) desc_error(L, arg, what, "array[%d] must be a table", d + 1);
    int dt = lua_gettop(L);
    char sub[48];
    snprintf(sub, sizeof sub, "%s: array[%d]", what, d + 1);
    a->dim_size[d] = (int64_t)numfield(L, arg, sub, dt, "size", NAN, 1, 1 << 20);
    a->dim_limit[d] = (int64_t)numfield(L, arg, sub, dt, "limit", 0, 0, 1 << 20);
    a->dim_loop[d] = pg_df_loop_from_name(strfield(L, dt, "loop", buf, sizeof buf));
    if (a->dim_loop[d] < 0) desc_error(L, arg, sub, "field 'loop' must be one of B K C OY OX FY FX");
    if (lua_getfield(L, dt, "alt") != LUA_TNIL) {
      int al = lua_type(L, -1) == LUA_TSTRING ? pg_df_loop_from_name(lua_tostring(L, -1)) : -1;
      if (al < 0) desc_error(L, arg, sub, "field 'alt' must be one of B K C OY OX FY FX");
      a->dim_alt[d] = al + 1;
    }
    lua_pop(L, 1);
    strfield(L, dt, "name", a->dim_name[d], sizeof a->dim_name[d]);
    if (!a->dim_name[d][0]) { /* D1..D4 */
      a->dim_name[d][0] = 'D';
      a->dim_name[d][1] = (char)('1' + d);
      a->dim_name[d][2] = 0;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  unsigned all = (1u << a->n_dims) - 1u;
  /* temporal order */
  int ty = lua_getfield(L, t, "order");
  if (ty == LUA_TNIL) {
    const int def[PG_DF_NLOOPS] = {PG_DF_FX, PG_DF_FY, PG_DF_C, PG_DF_OX, PG_DF_OY, PG_DF_B, PG_DF_K};
    memcpy(a->order, def, sizeof def);
  } else {
    if (ty != LUA_TTABLE || luaL_len(L, -1) != PG_DF_NLOOPS)
      desc_error(L, arg, what, "'order' must list the 7 loops B K C OY OX FY FX, innermost first");
    int seen = 0;
    for (int i = 0; i < PG_DF_NLOOPS; i++) {
      lua_rawgeti(L, -1, i + 1);
      int lp = lua_type(L, -1) == LUA_TSTRING ? pg_df_loop_from_name(lua_tostring(L, -1)) : -1;
      if (lp < 0 || (seen & (1 << lp)))
        desc_error(L, arg, what, "'order' must list each of B K C OY OX FY FX once");
      seen |= 1 << lp;
      a->order[i] = lp;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  /* levels */
  if (lua_getfield(L, t, "levels") != LUA_TTABLE) desc_error(L, arg, what, "field 'levels' must be a table");
  int lt = lua_gettop(L);
  lua_Integer nl = luaL_len(L, lt);
  if (nl < 1 || nl > PG_DF_MAX_LEVELS)
    desc_error(L, arg, what, "'levels' must list 1 to %d memory levels", PG_DF_MAX_LEVELS);
  a->n_levels = (int)nl;
  for (int l = 0; l < a->n_levels; l++) {
    pg_df_level *v = &a->levels[l];
    if (lua_rawgeti(L, lt, l + 1) != LUA_TTABLE) desc_error(L, arg, what, "levels[%d] must be a table", l + 1);
    int vt = lua_gettop(L);
    char sub[64];
    snprintf(sub, sizeof sub, "%s: levels[%d]", what, l + 1);
    strfield(L, vt, "name", v->name, sizeof v->name);
    if (!v->name[0]) snprintf(v->name, sizeof v->name, "L%d", l + 1);
    double size = numfield(L, arg, sub, vt, "size", 0, 0, INFINITY);
    v->size = isinf(size) ? 0 : size;
    double bw = numfield(L, arg, sub, vt, "bw", 0, 1e-9, 1e12); /* both widths at once */
    double b2 = numfield(L, arg, sub, vt, "r_bw", bw > 0 ? bw : NAN, 1e-9, 1e12);
    v->rbw = b2;
    v->wbw = numfield(L, arg, sub, vt, "w_bw", bw > 0 ? bw : b2, 1e-9, 1e12);
    v->e_rd = numfield(L, arg, sub, vt, "r_energy", NAN, 0, 1e12);
    v->e_wr = numfield(L, arg, sub, vt, "w_energy", NAN, 0, 1e12);
    if (lua_getfield(L, vt, "operands") != LUA_TTABLE)
      desc_error(L, arg, sub, "field 'operands' must be a list of \"I\", \"W\", \"O\"");
    for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
      lua_rawgeti(L, -1, i);
      int X = lua_type(L, -1) == LUA_TSTRING ? operand_index(lua_tostring(L, -1)) : -1;
      if (X < 0) desc_error(L, arg, sub, "operands must be \"I\", \"W\" or \"O\"");
      v->operands |= 1u << X;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!v->operands) desc_error(L, arg, sub, "'operands' is empty");
    ty = lua_getfield(L, vt, "served");
    if (ty == LUA_TSTRING && strcmp(lua_tostring(L, -1), "all") == 0) {
      v->served = all;
    } else if (ty == LUA_TTABLE) {
      for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        const char *s = lua_tostring(L, -1);
        int d = -1;
        for (int k = 0; s && k < a->n_dims; k++)
          if (strcmp(s, a->dim_name[k]) == 0) d = k;
        if (d < 0) desc_error(L, arg, sub, "'served' names an unknown array dimension");
        v->served |= 1u << d;
        lua_pop(L, 1);
      }
    } else if (ty != LUA_TNIL) {
      desc_error(L, arg, sub, "'served' must be \"all\" or a list of array dimension names");
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  const pg_df_level *top = &a->levels[a->n_levels - 1];
  if (top->size != 0 || top->operands != 7u || top->served != all)
    desc_error(L, arg, what, "the last level must be DRAM: unbounded (no size), operands I, W, O, "
               "served \"all\"");
  for (int l = 0; l + 1 < a->n_levels; l++)
    if (a->levels[l].size <= 0)
      desc_error(L, arg, what, "levels[%d] needs a positive size (only the last level is unbounded)", l + 1);
  if (pg_df_validate(a) != PG_OK) desc_error(L, arg, what, "invalid accelerator description");
}

/* ---- pg_df_accel -> description table ---- */

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void push_description(lua_State *L, const pg_df_accel *a) {
  static const char *const ops[3] = {"I", "W", "O"};
  lua_newtable(L);
  lua_pushstring(L, a->name);
  lua_setfield(L, -2, "name");
  setnum(L, "mac_energy", a->e_mac);
  setnum(L, "psum_bits", a->psum_bits);
  setnum(L, "clock_hz", a->clock_hz);
  lua_createtable(L, a->n_dims, 0);
  for (int d = 0; d < a->n_dims; d++) {
    lua_newtable(L);
    lua_pushstring(L, a->dim_name[d]);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, a->dim_size[d]);
    lua_setfield(L, -2, "size");
    lua_pushstring(L, pg_df_loop_name(a->dim_loop[d]));
    lua_setfield(L, -2, "loop");
    if (a->dim_limit[d] > 0) {
      lua_pushinteger(L, a->dim_limit[d]);
      lua_setfield(L, -2, "limit");
    }
    if (a->dim_alt[d] > 0) {
      lua_pushstring(L, pg_df_loop_name(a->dim_alt[d] - 1));
      lua_setfield(L, -2, "alt");
    }
    lua_rawseti(L, -2, d + 1);
  }
  lua_setfield(L, -2, "array");
  lua_createtable(L, PG_DF_NLOOPS, 0);
  for (int i = 0; i < PG_DF_NLOOPS; i++) {
    lua_pushstring(L, pg_df_loop_name(a->order[i]));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "order");
  lua_createtable(L, a->n_levels, 0);
  unsigned all = (1u << a->n_dims) - 1u;
  for (int l = 0; l < a->n_levels; l++) {
    const pg_df_level *v = &a->levels[l];
    lua_newtable(L);
    lua_pushstring(L, v->name);
    lua_setfield(L, -2, "name");
    if (v->size > 0) setnum(L, "size", v->size);
    setnum(L, "r_bw", v->rbw);
    setnum(L, "w_bw", v->wbw);
    setnum(L, "r_energy", v->e_rd);
    setnum(L, "w_energy", v->e_wr);
    lua_newtable(L);
    int k = 1;
    for (int X = 0; X < 3; X++)
      if (v->operands & (1u << X)) {
        lua_pushstring(L, ops[X]);
        lua_rawseti(L, -2, k++);
      }
    lua_setfield(L, -2, "operands");
    if (v->served == all) {
      lua_pushliteral(L, "all");
    } else {
      lua_newtable(L);
      k = 1;
      for (int d = 0; d < a->n_dims; d++)
        if (v->served & (1u << d)) {
          lua_pushstring(L, a->dim_name[d]);
          lua_rawseti(L, -2, k++);
        }
    }
    lua_setfield(L, -2, "served");
    lua_rawseti(L, -2, l + 1);
  }
  lua_setfield(L, -2, "levels");
}

/* ---- perigee.hw.accelerator(name | table) ---- */

static int hw_accelerator(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    pg_df_accel tmp;
    parse_accel(L, 1, 1, &tmp, "accelerator description");
    *newaccel(L) = tmp;
    return 1;
  }
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len > 0 && len < 40, 1, "accelerator name must have 1 to 39 characters");
  for (size_t i = 0; i < len; i++)
    luaL_argcheck(L, (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                         (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-',
                  1, "accelerator name may only use letters, digits, '_' and '-'");
  push_hw_dir(L);
  if (lua_isnil(L, -1))
    return luaL_error(L, "perigee.hw.accelerator: no accelerator directory (set PERIGEE_HW_DIR)");
  const char *path = lua_pushfstring(L, "%s/%s.lua", lua_tostring(L, -1), name);
  int path_idx = lua_gettop(L);
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg && strstr(msg, "cannot open"))
      return luaL_argerror(L, 1, lua_pushfstring(L, "unknown accelerator '%s' (no file %s)", name, path));
    return luaL_error(L, "perigee.hw.accelerator: %s", msg);
  }
  /* plain data: run with an environment holding only `math` */
  lua_newtable(L);
  lua_getglobal(L, "math");
  lua_setfield(L, -2, "math");
  lua_setupvalue(L, -2, 1);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK)
    return luaL_error(L, "perigee.hw.accelerator: %s", lua_tostring(L, -1));
  if (!lua_istable(L, -1))
    return luaL_error(L, "perigee.hw.accelerator: %s must return a table", lua_tostring(L, path_idx));
  pg_df_accel tmp;
  parse_accel(L, 1, -1, &tmp, lua_tostring(L, path_idx));
  *newaccel(L) = tmp;
  return 1;
}

/* perigee.hw.accelerators() -> sorted list of available description names */
static int no_arguments(lua_State *L) {
  if (lua_gettop(L) > 0) luaL_argerror(L, 1, "no arguments expected");
  return 0;
}

static int hw_accelerators(lua_State *L) {
  no_arguments(L);
  push_hw_dir(L);
  lua_newtable(L);
  if (lua_isnil(L, -2)) return 1;
  DIR *d = opendir(lua_tostring(L, -2));
  if (!d) return 1;
  int k = 1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0 && e->d_name[0] != '.') {
      lua_pushlstring(L, e->d_name, n - 4);
      lua_rawseti(L, -2, k++);
    }
  }
  closedir(d);
  /* sort with table.sort when available */
  if (lua_getglobal(L, "table") == LUA_TTABLE && lua_getfield(L, -1, "sort") == LUA_TFUNCTION) {
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 2);
  }
  return 1;
}

/* ---- networks from Lua tables ---- */

static int64_t layer_int(lua_State *L, int arg, int t, int idx, const char *k, int64_t def,
                         int64_t lo) {
  int ty = lua_getfield(L, t, k);
  int64_t v = def;
  if (ty != LUA_TNIL) {
    int ok;
    lua_Integer x = lua_tointegerx(L, -1, &ok);
    if (!ok || ty != LUA_TNUMBER || x < lo || x > ((int64_t)1 << 31))
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: field '%s' must be an integer >= %d", idx,
                                            k, (int)lo));
    v = x;
  }
  lua_pop(L, 1);
  return v;
}

/* Fill net from argument arg: a perigee.hw network userdata (borrowed: it
 * stays alive as an argument), or a table of layer tables (layers in a
 * GC-managed buffer pushed on the stack). */
static void check_network(lua_State *L, int arg, pg_hw_network *net) {
  const pg_hw_network *ud = luaL_testudata(L, arg, HWNET_MT);
  if (ud) { /* a network of perigee.hw.network.* (bindings/lhw.c) */
    luaL_argcheck(L, ud->n >= 1, arg, "network is empty");
    *net = *ud;
    return;
  }
  if (lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, "perigee.hw network or table of layers");
  lua_Integer n = luaL_len(L, arg);
  luaL_argcheck(L, n >= 1 && n <= 100000, arg, "network must be a non-empty list of layer tables");
  pg_hw_layer *ls = pgL_newbuffer(L, (size_t)n * sizeof *ls);
  memset(ls, 0, (size_t)n * sizeof *ls);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, arg, i) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d must be a table", (int)i));
    int t = lua_gettop(L);
    pg_hw_layer *l = &ls[i - 1];
    int idx = (int)i;
    if (lua_getfield(L, t, "name") == LUA_TSTRING) strncpy(l->name, lua_tostring(L, -1), PG_HW_NAME_MAX - 1);
    lua_pop(L, 1);
    l->kind = PG_HW_CONV;
    if (lua_getfield(L, t, "kind") != LUA_TNIL) {
      pg_hw_kind k;
      if (lua_type(L, -1) != LUA_TSTRING || pg_hw_kind_parse(lua_tostring(L, -1), &k) != PG_OK)
        luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: kind must be conv, depthwise, "
                                              "pointwise, fc, pool or add", idx));
      l->kind = k;
    }
    lua_pop(L, 1);
    l->C = layer_int(L, arg, t, idx, "C", -1, 1);
    if (l->C < 0) luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: field 'C' is missing", idx));
    int weightless = l->kind == PG_HW_POOL || l->kind == PG_HW_ADD || l->kind == PG_HW_DEPTHWISE;
    l->K = layer_int(L, arg, t, idx, "K", weightless ? l->C : -1, 1);
    if (l->K < 0) luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: field 'K' is missing", idx));
    l->B = layer_int(L, arg, t, idx, "B", 1, 1);
    int flat = l->kind == PG_HW_FC;
    l->FY = layer_int(L, arg, t, idx, "FY", 1, 1);
    l->FX = layer_int(L, arg, t, idx, "FX", flat ? 1 : l->FY, 1);
    l->SY = layer_int(L, arg, t, idx, "SY", 1, 1);
    l->SX = layer_int(L, arg, t, idx, "SX", l->SY, 1);
    l->PY = layer_int(L, arg, t, idx, "PY", 0, 0);
    l->PX = layer_int(L, arg, t, idx, "PX", l->PY, 0);
    l->groups = layer_int(L, arg, t, idx, "groups", l->kind == PG_HW_DEPTHWISE ? l->C : 1, 1);
    l->IY = layer_int(L, arg, t, idx, "IY", 0, 1);
    l->IX = layer_int(L, arg, t, idx, "IX", l->IY, 1);
    int64_t oy = l->IY ? (l->IY + 2 * l->PY - l->FY) / l->SY + 1 : 0;
    int64_t ox = l->IX ? (l->IX + 2 * l->PX - l->FX) / l->SX + 1 : 0;
    l->OY = layer_int(L, arg, t, idx, "OY", oy > 0 ? oy : (flat ? 1 : -1), 1);
    l->OX = layer_int(L, arg, t, idx, "OX", ox > 0 ? ox : l->OY, 1);
    if (l->OY < 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: give OY/OX or IY/IX", idx));
    if (!l->IY) l->IY = l->SY * (l->OY - 1) + l->FY - 2 * l->PY;
    if (!l->IX) l->IX = l->SX * (l->OX - 1) + l->FX - 2 * l->PX;
    if (l->IY < 1 || l->IX < 1)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: padding larger than the input", idx));
    l->prec_i = (int)layer_int(L, arg, t, idx, "prec_i", 8, 1);
    l->prec_w = (int)layer_int(L, arg, t, idx, "prec_w", 8, 1);
    l->prec_o = (int)layer_int(L, arg, t, idx, "prec_o", 8, 1);
    /* producers: 1-based layers, 0 the network input, -1 a zero tensor */
    int64_t in = layer_int(L, arg, t, idx, "input", idx - 1, -1);
    int64_t in2 = layer_int(L, arg, t, idx, "input2", 0, -1);
    if (in >= idx || in2 >= idx)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: producers must be earlier layers", idx));
    l->input = (int)in - 1;
    l->input2 = l->kind == PG_HW_ADD ? (int)in2 - 1 : -1;
    if (l->C % l->groups || l->K % l->groups)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: groups must divide C and K", idx));
    if ((l->kind == PG_HW_POOL || l->kind == PG_HW_ADD || l->kind == PG_HW_DEPTHWISE) && l->K != l->C)
      luaL_argerror(L, arg, lua_pushfstring(L, "layer %d: K must equal C for this kind", idx));
    lua_pop(L, 1);
  }
  memset(net, 0, sizeof *net);
  strcpy(net->name, "lua");
  net->n = (size_t)n;
  net->cap = (size_t)n;
  net->layers = ls;
}

/* ---- results ---- */

static void push_levels(lua_State *L, const pg_df_accel *a, const pg_df_cost *c, int bits) {
  static const char *const ops[3] = {"I", "W", "O"};
  lua_createtable(L, a->n_levels, 0);
  for (int l = 0; l < a->n_levels; l++) {
    lua_createtable(L, 0, 6);
    lua_pushstring(L, a->levels[l].name);
    lua_setfield(L, -2, "name");
    double tot = 0;
    lua_createtable(L, 0, 3);
    for (int X = 0; X < 3; X++) {
      setnum(L, ops[X], c->e_level[l][X]);
      tot += c->e_level[l][X];
    }
    lua_setfield(L, -2, "energy");
    setnum(L, "total", tot);
    if (bits) {
      lua_createtable(L, 0, 3);
      for (int X = 0; X < 3; X++) setnum(L, ops[X], c->rd_bits[l][X]);
      lua_setfield(L, -2, "read_bits");
      lua_createtable(L, 0, 3);
      for (int X = 0; X < 3; X++) setnum(L, ops[X], c->wr_bits[l][X]);
      lua_setfield(L, -2, "write_bits");
    }
    lua_rawseti(L, -2, l + 1);
  }
}

static void push_cost(lua_State *L, const pg_df_accel *a, const pg_df_cost *c, int detail) {
  setnum(L, "energy", c->energy);
  setnum(L, "energy_mac", c->e_mac);
  setnum(L, "cycles", c->cycles);
  setnum(L, "cycles_compute", c->cycles_compute);
  setnum(L, "cycles_stall", c->cycles_stall);
  setnum(L, "cycles_load", c->cycles_load);
  setnum(L, "cycles_copy", c->cycles_copy);
  setnum(L, "macs", c->macs);
  setnum(L, "cache_bits", c->cache_bits);
  setnum(L, "edp", pg_df_edp(c, a->clock_hz));
  double dram = 0;
  for (int X = 0; X < 3; X++)
    dram += c->rd_bits[a->n_levels - 1][X] + c->wr_bits[a->n_levels - 1][X];
  setnum(L, "dram_bits", dram);
  push_levels(L, a, c, detail);
  lua_setfield(L, -2, "levels");
}

static const char *const sched_names[] = {"depth_first", "layer_by_layer", NULL};
static const int sched_values[] = {PG_DF_DEPTH_FIRST, PG_DF_LAYER_BY_LAYER};
static const char *const mode_names[] = {"fully_cached", "h_cached_v_recompute", "fully_recompute", NULL};
static const int mode_values[] = {PG_DF_FULLY_CACHED, PG_DF_H_CACHED_V_RECOMPUTE, PG_DF_FULLY_RECOMPUTE};

/* acc:evaluate(net, opts) */
static int accel_evaluate(lua_State *L) {
  pg_df_accel *a = checkaccel(L, 1);
  lua_settop(L, 3); /* buffers pushed below must not take the options' slot */
  pg_hw_network net;
  check_network(L, 2, &net);
  pg_df_options o;
  pg_df_options_default(&o);
  int detail = 1;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    o.schedule = (pg_df_schedule)pgL_optenum(L, 3, "schedule", sched_names, sched_values, o.schedule);
    o.mode = (pg_df_mode)pgL_optenum(L, 3, "mode", mode_names, mode_values, o.mode);
    o.fuse = pgL_optbooleanfield(L, 3, "fuse", 1);
    int ty = lua_getfield(L, 3, "layers");
    if (ty == LUA_TBOOLEAN) detail = lua_toboolean(L, -1);
    else if (ty == LUA_TSTRING && strcmp(lua_tostring(L, -1), "bits") == 0) detail = 2;
    else if (ty != LUA_TNIL) luaL_argerror(L, 3, "option 'layers' must be true, false or \"bits\"");
    lua_pop(L, 1);
    ty = lua_getfield(L, 3, "tile");
    if (ty == LUA_TNUMBER) {
      lua_Integer v = lua_tointeger(L, -1);
      luaL_argcheck(L, lua_isinteger(L, -1) && v >= 1 && v <= (1 << 24), 3,
                    "option 'tile' must be a positive integer or {x, y}");
      o.tile_x = o.tile_y = v;
    } else if (ty == LUA_TTABLE) {
      for (int k = 0; k < 2; k++) {
        lua_rawgeti(L, -1, k + 1);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        luaL_argcheck(L, ok && v >= 1 && v <= (1 << 24), 3,
                      "option 'tile' must be {x, y} with positive integers");
        if (k == 0) o.tile_x = v;
        else o.tile_y = v;
        lua_pop(L, 1);
      }
    } else if (ty != LUA_TNIL) {
      luaL_argerror(L, 3, "option 'tile' must be a positive integer or {x, y}");
    }
    lua_pop(L, 1);
  }
  pg_df_cost *per = pgL_newbuffer(L, net.n * sizeof *per);
  pg_df_cost total;
  pg_status st = pg_df_evaluate(a, &net, &o, &total, per);
  if (st) return pgL_argstatus(L, 2, st, "network not accepted by the dataflow model");
  lua_createtable(L, 0, 16);
  push_cost(L, a, &total, 1);
  lua_pushinteger(L, total.stack);
  lua_setfield(L, -2, "stacks");
  setnum(L, "tiles", total.tiles);
  lua_pushstring(L, a->name);
  lua_setfield(L, -2, "accelerator");
  if (!detail) return 1; /* {layers = false}: totals only, for search loops */
  lua_createtable(L, (int)net.n, 0);
  for (size_t i = 0; i < net.n; i++) {
    lua_createtable(L, 0, 16);
    lua_pushstring(L, net.layers[i].name);
    lua_setfield(L, -2, "name");
    push_cost(L, a, &per[i], detail == 2);
    lua_pushinteger(L, per[i].stack + 1);
    lua_setfield(L, -2, "stack");
    setnum(L, "tiles", per[i].tiles);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "layers");
  return 1;
}

static int accel_describe(lua_State *L) {
  push_description(L, checkaccel(L, 1));
  return 1;
}

static int accel_name(lua_State *L) {
  lua_pushstring(L, checkaccel(L, 1)->name);
  return 1;
}

static int accel_tostring(lua_State *L) {
  pg_df_accel *a = checkaccel(L, 1);
  int64_t pe = 1;
  for (int d = 0; d < a->n_dims; d++) pe *= a->dim_size[d];
  lua_pushfstring(L, "perigee.accelerator '%s' (%d PEs, %d memory levels)", a->name, (int)pe,
                  a->n_levels);
  return 1;
}

/* ---- Coflex ---- */

static const struct {
  const char *name, *coflex, *label;
  int lo, hi;
} coflex_params[6] = {
    {"pe_x", "X1", "PEs, x-axis (array dimension D1, unrolls K)", 1, 64},
    {"pe_y", "X2", "PEs, y-axis (array dimension D2, unrolls C)", 1, 64},
    {"reg_input", "X3", "input register, bits (published as 'I memory')", 10, 512},
    {"reg_weight", "X4", "weight register, bits (published as 'O memory')", 10, 512},
    {"reg_output", "X5", "output register, bits (published as 'W memory')", 10, 512},
    {"reg_bw", "X6", "register width, bits/cycle (published as 'Bandwidth')", 10, 512},
};

static int hw_coflex_accelerator(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t v[6];
  for (int i = 0; i < 6; i++) {
    int ty = lua_getfield(L, 1, coflex_params[i].name);
    int ok = 0;
    lua_Integer x = lua_tointegerx(L, -1, &ok);
    if (ty != LUA_TNUMBER || !ok || x < coflex_params[i].lo || x > coflex_params[i].hi)
      luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be an integer in [%d, %d]",
                                          coflex_params[i].name, coflex_params[i].lo,
                                          coflex_params[i].hi));
    v[i] = x;
    lua_pop(L, 1);
  }
  static const char *const maps[] = {"full", "coflex", NULL};
  static const int mapv[] = {0, 1};
  pg_df_coflex_params p = {v[0], v[1], v[2], v[3], v[4], v[5],
                           pgL_optenum(L, 1, "mapping", maps, mapv, 0)};
  pg_df_accel a;
  pg_status st = pg_df_coflex_accel(&a, &p);
  if (st) return pgL_argstatus(L, 1, st, NULL);
  *newaccel(L) = a;
  return 1;
}

/* inclusive integer grid, and the README's count (512 values per register
 * parameter: 64^2 * 512^4 = 2^48) */
static int hw_coflex_space_size(lua_State *L) {
  no_arguments(L);
  double n = 1;
  for (int i = 0; i < 6; i++) n *= coflex_params[i].hi - coflex_params[i].lo + 1;
  lua_pushnumber(L, n);
  lua_pushnumber(L, ldexp(1.0, 48));
  return 2;
}

static void push_coflex_parameters(lua_State *L) {
  lua_createtable(L, 6, 0);
  for (int i = 0; i < 6; i++) {
    lua_createtable(L, 0, 6);
    lua_pushstring(L, coflex_params[i].name);
    lua_setfield(L, -2, "name");
    lua_pushliteral(L, "int");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, coflex_params[i].lo);
    lua_setfield(L, -2, "min");
    lua_pushinteger(L, coflex_params[i].hi);
    lua_setfield(L, -2, "max");
    lua_pushstring(L, coflex_params[i].coflex);
    lua_setfield(L, -2, "coflex");
    lua_pushstring(L, coflex_params[i].label);
    lua_setfield(L, -2, "label");
    lua_rawseti(L, -2, i + 1);
  }
}

static const luaL_Reg accel_methods[] = {
    {"evaluate", accel_evaluate}, {"describe", accel_describe}, {"name", accel_name}, {NULL, NULL}};

static const luaL_Reg hw_funcs[] = {{"accelerator", hw_accelerator},
                                    {"accelerators", hw_accelerators},
                                    {"coflex_accelerator", hw_coflex_accelerator},
                                    {"coflex_space_size", hw_coflex_space_size},
                                    {NULL, NULL}};

void pgL_open_dataflow(lua_State *L, int mod) {
  luaL_newmetatable(L, ACCEL_MT);
  luaL_newlib(L, accel_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, accel_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  /* perigee.hw is shared with lhw.c: get or create it */
  if (lua_getfield(L, mod, "hw") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, mod, "hw");
  }
  int hw = lua_gettop(L);
  pgL_setfuncs(L, hw, hw_funcs);
  push_coflex_parameters(L);
  lua_setfield(L, hw, "coflex_parameters");
  lua_pop(L, 1);
}
