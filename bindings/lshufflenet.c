/*
 * lshufflenet.c -- perigee.shufflenet: training-free proxies of the HSCoNAS /
 * SPOS ShuffleNetV2 networks (engine/shufflenet.c, engine/proxy.c).
 *
 *   perigee.shufflenet.scores(archs [, opts]) -> records, input ("fmnist" | "noise")
 *   perigee.shufflenet.info(arch [, opts])    -> {macs=, params=, nodes=, shuffles=, splits=,
 *                                                 concats=, convs=}
 *
 * arch: {ops = {20 operators}, factors = {20 numbers}}, an operator being a
 * name ("3x3", "5x5", "7x7", "xception", "skip") or its index 1..5.
 * records[i] = {naswot=, logsynflow=, synflow=, skip = 0, macs=, params=}.
 * Options (all optional): channels = {48, 128, 256, 512} (layout A), stem = 16,
 * last = 1280, classes = 1000, side = 32 (input side), batch = 16, seed = 0
 * (initialisation), data_seed = 3, input = "fmnist" | "noise", repeats = 1,
 * precision = "single" | "double" (NASWOT's convolutions), proxies =
 * "all" | "synflow". The networks of one call are scored on perigee's
 * threads (pg.threads()), results independent of the thread count.
 * The Fashion-MNIST file is $PERIGEE_FMNIST or Debian's
 * /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz; without it
 * the input falls back to seeded Gaussian noise (second result "noise").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/shufflenet.h"
#include "lpg.h"

#define FMNIST_DEFAULT "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define MAX_ARCHS 100000

static const char *const OPNAMES[] = {"3x3", "5x5", "7x7", "xception", "skip", NULL};

typedef struct sopts {
  pg_hw_shufflenet_cfg base; /* channels, stem, last, classes, input */
  size_t batch;
  lua_Integer seed, data_seed;
  int noise, repeats, single, synflow_only;
} sopts;

static sopts check_opts(lua_State *L, int idx) {
  static const char *const inputs[] = {"fmnist", "noise", NULL};
  static const int input_v[] = {0, 1};
  static const char *const precs[] = {"single", "double", NULL};
  static const int prec_v[] = {1, 0};
  static const char *const which[] = {"all", "synflow", NULL};
  static const int which_v[] = {0, 1};
  sopts o;
  memset(&o, 0, sizeof o);
  if (!lua_isnoneornil(L, idx)) luaL_checktype(L, idx, LUA_TTABLE);
  static const int64_t layout_a[4] = {48, 128, 256, 512};
  memcpy(o.base.channels, layout_a, sizeof layout_a);
  if (!lua_isnoneornil(L, idx) && lua_getfield(L, idx, "channels") != LUA_TNIL) {
    luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) == 4, idx,
                  "option 'channels' must be a list of 4 widths");
    for (int i = 0; i < 4; i++) {
      lua_rawgeti(L, -1, i + 1);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      luaL_argcheck(L, ok && v >= 2 && v <= 65536 && v % 2 == 0, idx,
                    "option 'channels': widths must be even integers in 2..65536");
      o.base.channels[i] = v;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, idx)) {
    lua_pop(L, 1);
  }
  lua_Integer stem = pgL_optintegerfield(L, idx, "stem", 16);
  lua_Integer last = pgL_optintegerfield(L, idx, "last", 1280);
  lua_Integer classes = pgL_optintegerfield(L, idx, "classes", 1000);
  lua_Integer side = pgL_optintegerfield(L, idx, "side", 32);
  lua_Integer batch = pgL_optintegerfield(L, idx, "batch", 16);
  lua_Integer repeats = pgL_optintegerfield(L, idx, "repeats", 1);
  luaL_argcheck(L, stem >= 1 && stem <= 65536, idx, "option 'stem' must be in 1..65536");
  luaL_argcheck(L, last >= 1 && last <= 65536, idx, "option 'last' must be in 1..65536");
  luaL_argcheck(L, classes >= 1 && classes <= 100000, idx, "option 'classes' must be in 1..100000");
  luaL_argcheck(L, side >= 8 && side <= 512, idx, "option 'side' must be in 8..512");
  luaL_argcheck(L, batch >= 2 && batch <= 1024, idx, "option 'batch' must be in 2..1024");
  luaL_argcheck(L, repeats >= 1 && repeats <= 100, idx, "option 'repeats' must be in 1..100");
  o.base.stem = stem;
  o.base.last = last;
  o.base.classes = classes;
  o.base.input = side;
  o.batch = (size_t)batch;
  o.repeats = (int)repeats;
  o.seed = pgL_optintegerfield(L, idx, "seed", 0);
  o.data_seed = pgL_optintegerfield(L, idx, "data_seed", 3);
  o.noise = pgL_optenum(L, idx, "input", inputs, input_v, 0);
  o.single = pgL_optenum(L, idx, "precision", precs, prec_v, 1);
  o.synflow_only = pgL_optenum(L, idx, "proxies", which, which_v, 0);
  return o;
}

/* The architecture table at idx (entry `entry` of argument arg, 0 for the
 * argument itself) into cfg's ops and factors. */
static void check_arch(lua_State *L, int idx, int arg, lua_Integer entry, pg_hw_shufflenet_cfg *cfg) {
  const char *where = entry ? lua_pushfstring(L, "entry %d: ", (int)entry) : "";
  if (!lua_istable(L, idx))
    luaL_argerror(L, arg, lua_pushfstring(L, "%sarchitecture must be a table {ops=, factors=}", where));
  if (lua_getfield(L, idx, "ops") != LUA_TTABLE || luaL_len(L, -1) != PG_HW_SHUFFLE_LAYERS)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s'ops' must be a list of 20 operators", where));
  for (int l = 0; l < PG_HW_SHUFFLE_LAYERS; l++) {
    int t = lua_rawgeti(L, -1, l + 1), op = -1;
    if (t == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1);
      for (int k = 0; OPNAMES[k]; k++)
        if (!strcmp(s, OPNAMES[k])) op = k;
    } else if (lua_isinteger(L, -1)) {
      lua_Integer v = lua_tointeger(L, -1);
      if (v >= 1 && v <= 5) op = (int)v - 1;
    }
    if (op < 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "%sops[%d] must be 3x3, 5x5, 7x7, xception, skip "
                                               "or 1..5", where, l + 1));
    int stride2 = l == 0 || l == 4 || l == 8 || l == 16;
    if (stride2 && op == PG_HW_SHUFFLE_SKIP)
      luaL_argerror(L, arg, lua_pushfstring(L, "%sops[%d]: skip is illegal at a stride-2 layer "
                                               "(1, 5, 9, 17)", where, l + 1));
    cfg->ops[l] = op;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "factors") != LUA_TTABLE || luaL_len(L, -1) != PG_HW_SHUFFLE_LAYERS)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s'factors' must be a list of 20 numbers", where));
  for (int l = 0; l < PG_HW_SHUFFLE_LAYERS; l++) {
    lua_rawgeti(L, -1, l + 1);
    int ok;
    double f = lua_tonumberx(L, -1, &ok);
    if (!ok || !(f > 0.0) || f > 16.0)
      luaL_argerror(L, arg, lua_pushfstring(L, "%sfactors[%d] must be a number in (0, 16]", where,
                                            l + 1));
    cfg->factors[l] = f;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (entry) lua_pop(L, 1); /* the prefix */
}

/* Input batch (cached per options in the upvalue table); pushes the
 * userdata holding it and returns its data. */
static const double *get_batch(lua_State *L, const sopts *o, int *noise) {
  const char *path = getenv("PERIGEE_FMNIST");
  if (!path || !*path) path = FMNIST_DEFAULT;
  lua_pushfstring(L, "%s:%I:%I:%I:%s", o->noise ? "noise" : "fmnist", (lua_Integer)o->batch,
                  (lua_Integer)o->base.input, o->data_seed, path);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TUSERDATA) {
    lua_getiuservalue(L, -1, 1);
    *noise = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_remove(L, -2);
    return lua_touserdata(L, -1);
  }
  lua_pop(L, 1);
  size_t side = (size_t)o->base.input;
  double *ud = lua_newuserdatauv(L, o->batch * 3 * side * side * sizeof(double), 1);
  pg_rng rng;
  pg_rng_seed(&rng, (uint64_t)o->data_seed);
  pg_tensor t = {0};
  pg_status st = PG_EIO;
  *noise = o->noise;
  if (!o->noise) st = pg_fmnist_batch(path, o->batch, side, &rng, &t);
  if (st) { /* documented fallback: seeded noise */
    pg_rng_seed(&rng, (uint64_t)o->data_seed);
    st = pg_noise_batch(o->batch, side, &rng, &t);
    *noise = 1;
  }
  if (st) return pgL_error(L, st, "input batch"), NULL;
  memcpy(ud, t.data, pg_tensor_numel(&t) * sizeof(double));
  pg_tensor_free(&t);
  lua_pushinteger(L, *noise);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(1));
  lua_remove(L, -2);
  return ud;
}

static int sn_scores(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  sopts o = check_opts(L, 2);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 0 && n <= MAX_ARCHS, 1, "at most 100000 architectures per call");
  size_t m = n ? (size_t)n : 1;
  pg_hw_shufflenet_cfg *cfgs = pgL_newbuffer(L, m * sizeof *cfgs);
  pg_proxy_result *res = pgL_newbuffer(L, m * sizeof *res);
  double *mp = pgL_newbuffer(L, 2 * m * sizeof *mp);
  for (lua_Integer i = 1; i <= n; i++) {
    cfgs[i - 1] = o.base;
    lua_rawgeti(L, 1, i);
    check_arch(L, lua_gettop(L), 1, i, &cfgs[i - 1]);
    lua_pop(L, 1);
  }
  int noise = 1;
  const double *batch = NULL;
  unsigned which = PG_PROXY_SYNFLOW;
  if (!o.synflow_only) {
    batch = get_batch(L, &o, &noise);
    which |= PG_PROXY_NASWOT;
  } else {
    lua_pushnil(L);
  }
  size_t side = (size_t)o.base.input;
  pg_tensor x = {o.batch, 3, side, side, (double *)batch};
  pg_status st = pg_shufflenet_scores((size_t)n, cfgs, batch ? &x : NULL, which, o.repeats,
                                      (uint64_t)o.seed, o.single, res, mp, mp + m);
  if (st) return pgL_error(L, st, "scoring the networks");
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, o.synflow_only ? NAN : res[i].naswot);
    lua_setfield(L, -2, "naswot");
    lua_pushnumber(L, res[i].logsynflow);
    lua_setfield(L, -2, "logsynflow");
    lua_pushnumber(L, res[i].synflow);
    lua_setfield(L, -2, "synflow");
    lua_pushnumber(L, 0.0);
    lua_setfield(L, -2, "skip");
    lua_pushnumber(L, mp[i]);
    lua_setfield(L, -2, "macs");
    lua_pushnumber(L, mp[m + (size_t)i]);
    lua_setfield(L, -2, "params");
    lua_rawseti(L, -2, i + 1);
  }
  if (o.synflow_only)
    lua_pushnil(L);
  else
    lua_pushstring(L, noise ? "noise" : "fmnist");
  return 2;
}

static int sn_info(lua_State *L) {
  sopts o = check_opts(L, 2);
  pg_hw_shufflenet_cfg cfg = o.base;
  check_arch(L, 1, 1, 0, &cfg);
  pg_net net;
  pg_status st = pg_shufflenet_build(&net, &cfg);
  if (st) return pgL_error(L, st, "building the network");
  double macs = pg_net_macs(&net);
  size_t np = net.nparams, nn = net.n, ns = pg_net_count(&net, PG_NET_SHUFFLE),
         nsp = pg_net_count(&net, PG_NET_SPLIT), nc = pg_net_count(&net, PG_NET_CONCAT),
         nconv = pg_net_count(&net, PG_NET_CONV);
  pg_net_free(&net);
  lua_createtable(L, 0, 7);
  lua_pushnumber(L, macs);
  lua_setfield(L, -2, "macs");
  lua_pushinteger(L, (lua_Integer)np);
  lua_setfield(L, -2, "params");
  lua_pushinteger(L, (lua_Integer)nn);
  lua_setfield(L, -2, "nodes");
  lua_pushinteger(L, (lua_Integer)ns);
  lua_setfield(L, -2, "shuffles");
  lua_pushinteger(L, (lua_Integer)nsp);
  lua_setfield(L, -2, "splits");
  lua_pushinteger(L, (lua_Integer)nc);
  lua_setfield(L, -2, "concats");
  lua_pushinteger(L, (lua_Integer)nconv);
  lua_setfield(L, -2, "convs");
  return 1;
}

static const luaL_Reg sn_funcs[] = {
    {"scores", sn_scores}, {"info", sn_info}, {NULL, NULL}};

void pgL_open_shufflenet(lua_State *L, int mod) {
  lua_createtable(L, 0, 3);
  lua_newtable(L); /* upvalue: cache of input batches */
  luaL_setfuncs(L, sn_funcs, 1);
  lua_setfield(L, mod, "shufflenet");
}
