/*
 * lhw.c -- perigee.hw: workloads (hardware/workload.c) and the Scale-Sim
 * compatible systolic model (hardware/systolic.c).
 *
 *   local hw = perigee.hw
 *   net = hw.network.nats_sss("64:64:64:64:64" [, {input=32, classes=10}])
 *   net = hw.network.nb201(arch [, {C=16, N=5, input=32, classes=10}])
 *   net = hw.network.resnet18([{input=224, classes=1000}]), .resnet50, .mobilenetv2
 *   net = hw.network.shufflenet_spos{preset="spos", ops={...20}, factors={...20}, ...}
 *   net = hw.network.from_layers{ {kind="conv", C=3, K=16, H=32, W=32, F=3, stride=1, pad=1}, ... }
 *   net, err = hw.network.scalesim_topology(path [, {gemm=true}])
 *   #net, net:layers(), net:layer(i), net:macs(), net:params(), net:name(), tostring(net)
 *   arr = hw.systolic{rows=32, cols=32, dataflow="ws", ifmap_sram_kb=64, ...}
 *   res = arr:evaluate(net)  -> {layers = {...}, total = {...}}
 *   arr:config() -> table of the configuration
 *
 * The `hw` table is shared with other hardware bindings (dataflow model):
 * this file gets or creates perigee.hw and perigee.hw.network and only adds
 * its own fields.
 */
#include <math.h>
#include <string.h>

#include "../hardware/systolic.h"
#include "../hardware/workload.h"
#include "lpg.h"

#define NET_MT "perigee.HwNetwork"
#define SYS_MT "perigee.Systolic"

/* ------------------------------------------------------------------ */
/* network userdata                                                     */
/* ------------------------------------------------------------------ */

/* A new empty network userdata (metatable set first, so __gc always sees a
 * valid, possibly empty, network). */
static pg_hw_network *newnet(lua_State *L) {
  pg_hw_network *n = lua_newuserdatauv(L, sizeof *n, 0);
  memset(n, 0, sizeof *n);
  luaL_setmetatable(L, NET_MT);
  return n;
}

static pg_hw_network *checknet(lua_State *L, int arg) { return luaL_checkudata(L, arg, NET_MT); }

static int net_gc(lua_State *L) {
  pg_hw_network *n = luaL_checkudata(L, 1, NET_MT);
  pg_hw_network_free(n);
  return 0;
}

static int net_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checknet(L, 1)->n);
  return 1;
}

static int net_macs(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_hw_network_macs(checknet(L, 1)));
  return 1;
}

static int net_params(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_hw_network_params(checknet(L, 1)));
  return 1;
}

static int net_ops(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_hw_network_ops(checknet(L, 1)));
  return 1;
}

static int net_name(lua_State *L) {
  lua_pushstring(L, checknet(L, 1)->name);
  return 1;
}

static int net_tostring(lua_State *L) {
  pg_hw_network *n = checknet(L, 1);
  lua_pushfstring(L, "perigee.hw.network '%s': %d layers, %I MACs, %I parameters", n->name,
                  (int)n->n, (lua_Integer)pg_hw_network_macs(n),
                  (lua_Integer)pg_hw_network_params(n));
  return 1;
}

#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (lua_Number)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, v), lua_setfield(L, -2, k))
#define SETB(k, v) (lua_pushboolean(L, v), lua_setfield(L, -2, k))

/* producer index as seen from Lua: layer i -> i + 1, input -> 0, zero -> -1 */
static lua_Integer lua_producer(int p) {
  if (p == PG_HW_INPUT) return 0;
  if (p == PG_HW_ZERO) return -1;
  return (lua_Integer)p + 1;
}

static void push_layer(lua_State *L, const pg_hw_layer *l) {
  lua_createtable(L, 0, 28);
  SETS("name", l->name);
  SETS("kind", pg_hw_kind_name(l->kind));
  SETI("B", l->B);
  SETI("K", l->K);
  SETI("C", l->C);
  SETI("OY", l->OY);
  SETI("OX", l->OX);
  SETI("FY", l->FY);
  SETI("FX", l->FX);
  SETI("IY", l->IY);
  SETI("IX", l->IX);
  SETI("SY", l->SY);
  SETI("SX", l->SX);
  SETI("PY", l->PY);
  SETI("PX", l->PX);
  SETI("groups", l->groups);
  SETI("prec_i", l->prec_i);
  SETI("prec_w", l->prec_w);
  SETI("prec_o", l->prec_o);
  SETI("input", lua_producer(l->input));
  if (l->input2 != -1) SETI("input2", lua_producer(l->input2));
  SETB("bias", l->bias);
  SETB("bn", l->bn);
  SETI("macs", pg_hw_layer_macs(l));
  SETI("ops", pg_hw_layer_ops(l));
  SETI("params", pg_hw_layer_params(l));
}

static int net_layers(lua_State *L) {
  pg_hw_network *n = checknet(L, 1);
  lua_createtable(L, (int)n->n, 0);
  for (size_t i = 0; i < n->n; i++) {
    push_layer(L, &n->layers[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int net_layer(lua_State *L) {
  pg_hw_network *n = checknet(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && (size_t)i <= n->n, 2, "layer index out of range");
  push_layer(L, &n->layers[i - 1]);
  return 1;
}

/* ------------------------------------------------------------------ */
/* builders                                                             */
/* ------------------------------------------------------------------ */

/* optional options table at arg: integer field in [lo, hi] */
static int64_t optint(lua_State *L, int arg, const char *key, int64_t def, int64_t lo, int64_t hi) {
  if (lua_isnoneornil(L, arg)) return def;
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_Integer v = pgL_optintegerfield(L, arg, key, def);
  if (v < lo || v > hi)
    luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be in [%I, %I]", key,
                                          (lua_Integer)lo, (lua_Integer)hi));
  return v;
}

/* raise for a builder status (after the partial network was freed) */
static int build_error(lua_State *L, int arg, pg_status s, const char *what) {
  if (s == PG_ENOMEM) return pgL_error(L, s, NULL);
  return pgL_argstatus(L, arg, s, what);
}

static int nw_nats_sss(lua_State *L) {
  const char *ch = luaL_checkstring(L, 1);
  int64_t input = optint(L, 2, "input", 32, 4, 4096);
  int64_t classes = optint(L, 2, "classes", 10, 1, 1000000);
  pg_hw_network *n = newnet(L);
  pg_status s = pg_hw_net_nats_sss(n, ch, input, classes);
  if (s) return build_error(L, 1, s, "expected \"C1:C2:C3:C4:C5\" with channels in 1..4096");
  return 1;
}

static int nw_nb201(lua_State *L) {
  const char *arch = luaL_checkstring(L, 1);
  int64_t C = optint(L, 2, "C", 16, 1, 4096);
  int64_t N = optint(L, 2, "N", 5, 1, 64);
  int64_t input = optint(L, 2, "input", 32, 4, 4096);
  int64_t classes = optint(L, 2, "classes", 10, 1, 1000000);
  pg_hw_network *n = newnet(L);
  pg_status s = pg_hw_net_nb201(n, arch, C, N, input, classes);
  if (s) return build_error(L, 1, s, "expected \"|op~0|+|op~0|op~1|+|op~0|op~1|op~2|\"");
  return 1;
}

typedef pg_status (*imagenet_builder)(pg_hw_network *, int64_t, int64_t);

static int imagenet(lua_State *L, imagenet_builder f) {
  int64_t input = optint(L, 1, "input", 224, 32, 8192);
  int64_t classes = optint(L, 1, "classes", 1000, 1, 1000000);
  pg_hw_network *n = newnet(L);
  pg_status s = f(n, input, classes);
  if (s) return build_error(L, 1, s, NULL);
  return 1;
}

static int nw_resnet18(lua_State *L) { return imagenet(L, pg_hw_net_resnet18); }
static int nw_resnet50(lua_State *L) { return imagenet(L, pg_hw_net_resnet50); }
static int nw_mobilenetv2(lua_State *L) { return imagenet(L, pg_hw_net_mobilenetv2); }

static const char *const shuffle_ops[] = {"3x3", "5x5", "7x7", "xception", "skip", NULL};

static int nw_shufflenet(lua_State *L) {
  if (lua_isnoneornil(L, 1)) lua_newtable(L), lua_replace(L, 1);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "preset");
  const char *preset = lua_isnil(L, -1) ? "spos" : lua_tostring(L, -1);
  if (!preset || (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING))
    luaL_argerror(L, 1, "option 'preset' must be a string");
  pg_hw_shufflenet_cfg cfg;
  if (pg_hw_shufflenet_preset(&cfg, preset))
    luaL_argerror(L, 1, lua_pushfstring(L, "unknown preset '%s' (spos, A, B, small, medium, "
                                           "large, v2plus_small, v2plus_medium, v2plus_large)",
                                        preset));
  lua_pop(L, 1);
  cfg.input = optint(L, 1, "input", cfg.input, 32, 8192);
  cfg.classes = optint(L, 1, "classes", cfg.classes, 1, 1000000);
  cfg.last = optint(L, 1, "last", cfg.last, 1, 65536);
  cfg.stem = optint(L, 1, "stem", cfg.stem, 1, 65536);
  cfg.se = pgL_optbooleanfield(L, 1, "se", cfg.se);
  /* channels = {c1, c2, c3, c4} */
  if (lua_getfield(L, 1, "channels") != LUA_TNIL) {
    luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) == 4, 1,
                  "option 'channels' must be a table of 4 even integers");
    for (int i = 0; i < 4; i++) {
      lua_geti(L, -1, i + 1);
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 2 || v > 65536 || v % 2)
        luaL_argerror(L, 1, "option 'channels' must be a table of 4 even integers in 2..65536");
      cfg.channels[i] = v;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  /* ops: 20 entries, names or codes 0..4 */
  if (lua_getfield(L, 1, "ops") != LUA_TNIL) {
    luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) == PG_HW_SHUFFLE_LAYERS, 1,
                  "option 'ops' must be a table of 20 operators");
    for (int i = 0; i < PG_HW_SHUFFLE_LAYERS; i++) {
      lua_geti(L, -1, i + 1);
      int op = -1, isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (lua_type(L, -1) == LUA_TNUMBER && isint && v >= 0 && v <= 4) op = (int)v;
      else if (lua_type(L, -1) == LUA_TSTRING)
        for (int k = 0; shuffle_ops[k]; k++)
          if (strcmp(shuffle_ops[k], lua_tostring(L, -1)) == 0) op = k;
      if (op < 0)
        luaL_argerror(L, 1, lua_pushfstring(L, "ops[%d] must be 0..4 or one of '3x3', '5x5', "
                                               "'7x7', 'xception', 'skip'",
                                            i + 1));
      cfg.ops[i] = op;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "factors") != LUA_TNIL) {
    luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) == PG_HW_SHUFFLE_LAYERS, 1,
                  "option 'factors' must be a table of 20 numbers");
    for (int i = 0; i < PG_HW_SHUFFLE_LAYERS; i++) {
      lua_geti(L, -1, i + 1);
      int isnum;
      double f = lua_tonumberx(L, -1, &isnum);
      if (!isnum || !(f > 0) || f > 16)
        luaL_argerror(L, 1, lua_pushfstring(L, "factors[%d] must be a number in (0, 16]", i + 1));
      cfg.factors[i] = f;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  pg_hw_network *n = newnet(L);
  pg_status s = pg_hw_net_shufflenet(n, &cfg);
  if (s) return build_error(L, 1, s, "skip is only legal at stride-1 layers (not 1, 5, 9, 17)");
  return 1;
}

static int nw_scalesim_topology(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int gemm = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    gemm = pgL_optbooleanfield(L, 2, "gemm", 0);
  }
  pg_hw_network *n = newnet(L);
  pg_status s = pg_hw_net_scalesim_topology(n, path, gemm);
  if (s == PG_ENOMEM) return pgL_error(L, s, NULL);
  if (s) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path,
                    s == PG_EIO ? "cannot read the file"
                                : (gemm ? "malformed GEMM topology (rows 'name, M, N, K,')"
                                        : "malformed topology (rows 'name, H, W, Fh, Fw, C, N, S,')"));
    return 2;
  }
  return 1;
}

/* one integer field of layer table at idx (-1 = absent) */
static int64_t lfield(lua_State *L, int idx, int li, const char *key, int64_t def, int64_t lo,
                      int64_t hi) {
  int t = lua_getfield(L, idx, key);
  int64_t v = def;
  if (t != LUA_TNIL) {
    int isint;
    lua_Integer x = lua_tointegerx(L, -1, &isint);
    if (t != LUA_TNUMBER || !isint || x < lo || x > hi)
      luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: field '%s' must be an integer in [%I, %I]",
                                          li, key, (lua_Integer)lo, (lua_Integer)hi));
    v = x;
  }
  lua_pop(L, 1);
  return v;
}

static int lbool(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static int nw_from_layers(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "name");
  const char *name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "custom";
  pg_hw_network *n = newnet(L);
  pg_status s = pg_hw_network_init(n, name);
  if (s) return pgL_error(L, s, NULL);
  lua_Integer count = luaL_len(L, 1);
  luaL_argcheck(L, count >= 1, 1, "expected a list of layer tables");
  const int64_t D = (int64_t)1 << 30;
  for (lua_Integer i = 1; i <= count; i++) {
    int li = (int)i;
    if (lua_geti(L, 1, i) != LUA_TTABLE)
      luaL_argerror(L, 1, lua_pushfstring(L, "layer %d is not a table", li));
    int t = lua_gettop(L);
    pg_hw_kind kind = PG_HW_CONV;
    if (lua_getfield(L, t, "kind") != LUA_TNIL) {
      const char *k = lua_tostring(L, -1);
      if (lua_type(L, -1) != LUA_TSTRING || pg_hw_kind_parse(k, &kind))
        luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: kind must be conv, depthwise, "
                                               "pointwise, fc, gemm, pool or add",
                                            li));
    }
    lua_pop(L, 1);
    int fcl = kind == PG_HW_FC;
    int64_t C = lfield(L, t, li, "C", -1, 1, D), K = lfield(L, t, li, "K", -1, 1, D);
    if (C < 0) luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: field 'C' is required", li));
    if (K < 0) K = (kind == PG_HW_DEPTHWISE || kind == PG_HW_POOL || kind == PG_HW_ADD) ? C : -1;
    if (K < 0) luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: field 'K' is required", li));
    int64_t H = lfield(L, t, li, "H", fcl ? 1 : -1, 1, D);
    int64_t W = lfield(L, t, li, "W", H, 1, D);
    if (H < 0) luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: field 'H' is required", li));
    int64_t F = lfield(L, t, li, "F", 1, 1, D);
    int64_t FY = lfield(L, t, li, "FY", F, 1, D), FX = lfield(L, t, li, "FX", F, 1, D);
    int64_t S = lfield(L, t, li, "stride", 1, 1, D);
    int64_t P = lfield(L, t, li, "pad", 0, 0, D);
    int64_t G = lfield(L, t, li, "groups", 1, 1, D);
    pg_hw_layer l;
    char nm[32];
    const char *lname = nm;
    snprintf(nm, sizeof nm, "L%d", li);
    if (lua_getfield(L, t, "name") == LUA_TSTRING) lname = lua_tostring(L, -1);
    s = pg_hw_layer_make(&l, lname, kind, C, K, H, W, FY, FX, S, P, G);
    lua_pop(L, 1);
    if (s)
      luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: impossible shape (window larger than the "
                                             "padded input, groups not dividing C and K, or "
                                             "kind constraints)",
                                          li));
    l.SY = lfield(L, t, li, "SY", S, 1, D);
    l.SX = lfield(L, t, li, "SX", S, 1, D);
    l.PY = lfield(L, t, li, "PY", P, 0, D);
    l.PX = lfield(L, t, li, "PX", P, 0, D);
    l.OY = (l.IY + 2 * l.PY - l.FY) / l.SY + 1;
    l.OX = (l.IX + 2 * l.PX - l.FX) / l.SX + 1;
    l.B = lfield(L, t, li, "B", 1, 1, D);
    l.prec_i = (int)lfield(L, t, li, "prec_i", 8, 1, 64);
    l.prec_w = (int)lfield(L, t, li, "prec_w", 8, 1, 64);
    l.prec_o = (int)lfield(L, t, li, "prec_o", 8, 1, 64);
    l.bias = lbool(L, t, "bias");
    l.bn = lbool(L, t, "bn");
    /* producers: 1-based layer indices, 0 = network input; default: the
     * previous layer */
    l.input = (int)lfield(L, t, li, "input", li - 1, 0, li - 1) - 1;
    int64_t in2 = lfield(L, t, li, "input2", 0, 0, li - 1);
    l.input2 = in2 >= 1 ? (int)in2 - 1 : -1;
    if ((s = pg_hw_network_append(n, &l, NULL))) {
      if (s == PG_ENOMEM) return pgL_error(L, s, NULL);
      luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: invalid layer (%s)", li, pg_strerror(s)));
    }
    lua_settop(L, t - 1);
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* systolic arrays                                                      */
/* ------------------------------------------------------------------ */

static const char *const sys_keys[] = {
  "rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "word_bytes",
  "bandwidth", "mode", "clock_hz", "e_mac_pj", "e_sram_pj_per_byte", "e_dram_pj_per_byte", NULL};

static double numfield(lua_State *L, int idx, const char *key, double def, double lo, double hi) {
  double v = pgL_optnumberfield(L, idx, key, def);
  if (!(isfinite(v) && v >= lo && v <= hi))
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a finite number in [%f, %f]",
                                          key, lo, hi));
  return v;
}

static int hw_systolic(lua_State *L) {
  if (lua_isnoneornil(L, 1)) lua_newtable(L), lua_replace(L, 1);
  luaL_checktype(L, 1, LUA_TTABLE);
  /* unknown keys are errors: a typo must not silently give defaults */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (int i = 0; sys_keys[i]; i++)
        if (strcmp(sys_keys[i], lua_tostring(L, -2)) == 0) ok = 1;
    if (!ok)
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s'",
                                          lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?"));
    lua_pop(L, 1);
  }
  pg_hw_systolic_cfg *c = lua_newuserdatauv(L, sizeof *c, 0);
  pg_hw_systolic_default(c);
  luaL_setmetatable(L, SYS_MT);
  c->rows = optint(L, 1, "rows", c->rows, 1, 65536);
  c->cols = optint(L, 1, "cols", c->cols, 1, 65536);
  static const char *const dfn[] = {"os", "ws", "is", NULL};
  static const int dfv[] = {PG_HW_OS, PG_HW_WS, PG_HW_IS};
  c->dataflow = (pg_hw_dataflow)pgL_optenum(L, 1, "dataflow", dfn, dfv, PG_HW_WS);
  static const char *const mn[] = {"analytical", "exact", NULL};
  static const int mv[] = {PG_HW_SYS_ANALYTICAL, PG_HW_SYS_EXACT};
  c->mode = (pg_hw_sys_mode)pgL_optenum(L, 1, "mode", mn, mv, PG_HW_SYS_ANALYTICAL);
  c->word_bytes = (int)optint(L, 1, "word_bytes", 1, 1, 16);
  c->ifmap_sram_kb = numfield(L, 1, "ifmap_sram_kb", 64, 0, 1073741824.0);
  c->filter_sram_kb = numfield(L, 1, "filter_sram_kb", 64, 0, 1073741824.0);
  c->ofmap_sram_kb = numfield(L, 1, "ofmap_sram_kb", 64, 0, 1073741824.0);
  c->bandwidth = numfield(L, 1, "bandwidth", 0, 0, 1e15);
  c->clock_hz = numfield(L, 1, "clock_hz", 1e9, 1, 1e15);
  c->e_mac_pj = numfield(L, 1, "e_mac_pj", c->e_mac_pj, 0, 1e12);
  c->e_sram_pj_per_byte = numfield(L, 1, "e_sram_pj_per_byte", c->e_sram_pj_per_byte, 0, 1e12);
  c->e_dram_pj_per_byte = numfield(L, 1, "e_dram_pj_per_byte", c->e_dram_pj_per_byte, 0, 1e12);
  if (pg_hw_systolic_check(c))
    luaL_argerror(L, 1, "each SRAM must hold at least 100 words (kB * 1024 / word_bytes)");
  return 1;
}

static pg_hw_systolic_cfg *checksys(lua_State *L, int arg) { return luaL_checkudata(L, arg, SYS_MT); }

static void push_cfg(lua_State *L, const pg_hw_systolic_cfg *c) {
  lua_createtable(L, 0, 13);
  SETI("rows", c->rows);
  SETI("cols", c->cols);
  SETS("dataflow", pg_hw_dataflow_name(c->dataflow));
  SETS("mode", c->mode == PG_HW_SYS_EXACT ? "exact" : "analytical");
  SETN("ifmap_sram_kb", c->ifmap_sram_kb);
  SETN("filter_sram_kb", c->filter_sram_kb);
  SETN("ofmap_sram_kb", c->ofmap_sram_kb);
  SETI("word_bytes", c->word_bytes);
  SETN("bandwidth", c->bandwidth);
  SETN("clock_hz", c->clock_hz);
  SETN("e_mac_pj", c->e_mac_pj);
  SETN("e_sram_pj_per_byte", c->e_sram_pj_per_byte);
  SETN("e_dram_pj_per_byte", c->e_dram_pj_per_byte);
}

static int sys_config(lua_State *L) {
  push_cfg(L, checksys(L, 1));
  return 1;
}

static int sys_tostring(lua_State *L) {
  pg_hw_systolic_cfg *c = checksys(L, 1);
  lua_pushfstring(L, "perigee.hw.systolic %dx%d %s (%s)", (int)c->rows, (int)c->cols,
                  pg_hw_dataflow_name(c->dataflow),
                  c->mode == PG_HW_SYS_EXACT ? "exact" : "analytical");
  return 1;
}

static void push_result(lua_State *L, const pg_hw_layer *l, const pg_hw_systolic_result *r) {
  lua_createtable(L, 0, 48);
  SETS("name", l->name);
  SETS("kind", pg_hw_kind_name(l->kind));
  SETB("mapped", r->mapped);
  SETI("instances", r->instances);
  SETI("M", r->M);
  SETI("N", r->N);
  SETI("K", r->K);
  SETI("Sr", r->Sr);
  SETI("Sc", r->Sc);
  SETI("T", r->T);
  SETI("fold_r", r->fold_r);
  SETI("fold_c", r->fold_c);
  SETI("macs", r->macs);
  SETI("total_cycles", r->total_cycles);
  SETI("stall_cycles", r->stall_cycles);
  SETN("overall_util", r->overall_util);
  SETN("mapping_eff", r->mapping_eff);
  SETN("compute_util", r->compute_util);
  SETI("sram_ifmap_reads", r->sram_ifmap_reads);
  SETI("sram_filter_reads", r->sram_filter_reads);
  SETI("sram_ofmap_writes", r->sram_ofmap_writes);
  SETI("dram_ifmap_reads", r->dram_ifmap_reads);
  SETI("dram_filter_reads", r->dram_filter_reads);
  SETI("dram_ofmap_writes", r->dram_ofmap_writes);
  SETB("dram_exact", r->dram_exact);
  SETI("sram_ifmap_start", r->sram_ifmap_start);
  SETI("sram_ifmap_stop", r->sram_ifmap_stop);
  SETI("sram_filter_start", r->sram_filter_start);
  SETI("sram_filter_stop", r->sram_filter_stop);
  SETI("sram_ofmap_start", r->sram_ofmap_start);
  SETI("sram_ofmap_stop", r->sram_ofmap_stop);
  SETI("dram_ifmap_start", r->dram_ifmap_start);
  SETI("dram_ifmap_stop", r->dram_ifmap_stop);
  SETI("dram_filter_start", r->dram_filter_start);
  SETI("dram_filter_stop", r->dram_filter_stop);
  SETI("dram_ofmap_start", r->dram_ofmap_start);
  SETI("dram_ofmap_stop", r->dram_ofmap_stop);
  SETN("bw_sram_ifmap", r->bw_sram_ifmap);
  SETN("bw_sram_filter", r->bw_sram_filter);
  SETN("bw_sram_ofmap", r->bw_sram_ofmap);
  SETN("bw_dram_ifmap", r->bw_dram_ifmap);
  SETN("bw_dram_filter", r->bw_dram_filter);
  SETN("bw_dram_ofmap", r->bw_dram_ofmap);
  SETN("energy_pj", r->energy_pj);
  SETN("latency_s", r->latency_s);
}

static int sys_evaluate(lua_State *L) {
  pg_hw_systolic_cfg *c = checksys(L, 1);
  pg_hw_network *n = checknet(L, 2);
  luaL_argcheck(L, n->n > 0, 2, "network has no layers");
  pg_hw_systolic_result *res = pgL_newbuffer(L, n->n * sizeof *res);
  pg_hw_systolic_total t;
  pg_status s = pg_hw_systolic_network(c, n, res, &t);
  if (s) return pgL_argstatus(L, 2, s, s == PG_ERANGE ? "a count overflows 63 bits" : NULL);
  lua_createtable(L, 0, 3);
  lua_createtable(L, (int)n->n, 0);
  for (size_t i = 0; i < n->n; i++) {
    push_result(L, &n->layers[i], &res[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "layers");
  lua_createtable(L, 0, 20);
  SETI("layers_mapped", t.layers_mapped);
  SETI("macs", t.macs);
  SETI("total_cycles", t.total_cycles);
  SETI("stall_cycles", t.stall_cycles);
  SETI("sram_ifmap_reads", t.sram_ifmap_reads);
  SETI("sram_filter_reads", t.sram_filter_reads);
  SETI("sram_ofmap_writes", t.sram_ofmap_writes);
  SETI("dram_ifmap_reads", t.dram_ifmap_reads);
  SETI("dram_filter_reads", t.dram_filter_reads);
  SETI("dram_ofmap_writes", t.dram_ofmap_writes);
  SETN("overall_util", t.overall_util);
  SETN("energy_pj", t.energy_pj);
  SETN("energy_mac_pj", t.energy_mac_pj);
  SETN("energy_sram_pj", t.energy_sram_pj);
  SETN("energy_dram_pj", t.energy_dram_pj);
  SETN("latency_s", t.latency_s);
  SETN("edp_js", t.edp_js);
  lua_setfield(L, -2, "total");
  push_cfg(L, c);
  lua_setfield(L, -2, "config");
  return 1;
}

/* ------------------------------------------------------------------ */
/* registration                                                         */
/* ------------------------------------------------------------------ */

static const luaL_Reg net_methods[] = {
  {"layers", net_layers}, {"layer", net_layer}, {"macs", net_macs}, {"params", net_params},
  {"ops", net_ops},       {"name", net_name},   {NULL, NULL}};
static const luaL_Reg net_meta[] = {
  {"__gc", net_gc}, {"__close", net_gc}, {"__len", net_len}, {"__tostring", net_tostring}, {NULL, NULL}};
static const luaL_Reg sys_methods[] = {{"evaluate", sys_evaluate}, {"config", sys_config}, {NULL, NULL}};
static const luaL_Reg sys_meta[] = {{"__tostring", sys_tostring}, {NULL, NULL}};
static const luaL_Reg network_funcs[] = {
  {"nats_sss", nw_nats_sss},           {"nb201", nw_nb201},
  {"resnet18", nw_resnet18},           {"resnet50", nw_resnet50},
  {"mobilenetv2", nw_mobilenetv2},     {"shufflenet_spos", nw_shufflenet},
  {"from_layers", nw_from_layers},     {"scalesim_topology", nw_scalesim_topology},
  {NULL, NULL}};

static void createmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

/* get-or-create t[key] as a table; leaves it on the stack */
static int subtable(lua_State *L, int t, const char *key) {
  t = lua_absindex(L, t);
  if (lua_getfield(L, t, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, t, key);
  }
  return lua_gettop(L);
}

void pgL_open_hw(lua_State *L, int mod) {
  createmeta(L, NET_MT, net_meta, net_methods);
  createmeta(L, SYS_MT, sys_meta, sys_methods);
  int hw = subtable(L, mod, "hw");
  int nw = subtable(L, hw, "network");
  luaL_setfuncs(L, network_funcs, 0);
  lua_pop(L, 1);
  (void)nw;
  lua_pushcfunction(L, hw_systolic);
  lua_setfield(L, hw, "systolic");
  lua_pop(L, 1);
}
