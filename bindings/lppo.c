/*
 * lppo.c -- perigee.ppo: PPO agents (engine/ppo.c), the Sim-is-More
 * NAS-Bench-201 environment (engine/nasenv.c) and environments written in
 * Lua, plus a gzip CSV reader (engine/gzcsv_ppo.c).
 *
 *   pg.ppo.new{obs_dim=, heads={6,5}, ...}     -> agent        (perigee.PPO)
 *   pg.ppo.load(path)                           -> agent
 *   agent:learn(env_or_envs, steps)             -> stats table
 *   agent:act(obs[, deterministic[, rng]])      -> {a1, a2, ...} (1-based), logp, value
 *   agent:probs(obs)                            -> {{p...}, {p...}} per head (one if joint)
 *   agent:episode(nasenv[, {deterministic=true, start=code, rng=, explore=, climb=}]) -> trace
 *   agent:save(path), agent:config(), agent:nparams()
 *   pg.ppo.nasdata(tf, pool)                    -> shared data (perigee.NASData)
 *   pg.ppo.nasenv(data[, opts])                 -> env          (perigee.NASEnv)
 *   env:reset([start_code]) -> obs; env:step{edge, op} -> obs, reward, terminal, truncated
 *   env:set_device("synthetic" | {lut={5 ms}} | {table=15625 ms by code}) ...
 *   pg.ppo.read_gzcsv(path, {columns}) -> {column = {values}}
 *   pg.ppo.encode(ops) -> code, pg.ppo.decode(code) -> ops (0-based op indices)
 *
 * A Lua environment is a table with fields obs_dim (integer) and heads (list
 * of integers) and methods reset(self) -> obs and step(self, action) -> obs,
 * reward, terminal, truncated (action is 1-based per head). Errors raised
 * inside them stop training and are re-raised by learn.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lpg.h"

#include "../engine/gzcsv.h"
#include "../engine/linalg.h"
#include "../engine/nasenv.h"
#include "../engine/ppo.h"

#define PPO_MT "perigee.PPO"
#define DATA_MT "perigee.NASData"
#define ENV_MT "perigee.NASEnv"
#define CSV_MT "perigee.CsvHolder"

typedef struct lagent {
  pg_ppo *p;
} lagent;
typedef struct ldata {
  pg_nas_data *d;
} ldata;
typedef struct lenv {
  pg_nasenv *e;
  pg_rng rng;
} lenv;

static pg_ppo *check_agent(lua_State *L, int arg) {
  lagent *a = luaL_checkudata(L, arg, PPO_MT);
  if (!a->p) luaL_argerror(L, arg, "agent already freed");
  return a->p;
}

static pg_nasenv *check_env(lua_State *L, int arg) {
  lenv *e = luaL_checkudata(L, arg, ENV_MT);
  if (!e->e) luaL_argerror(L, arg, "environment already freed");
  return e->e;
}

/* ---- options ---- */

/* A list field of positive integers (at most max, each <= lim). */
static size_t int_list_field(lua_State *L, int idx, const char *key, size_t *out, size_t max,
                             size_t lim, int required) {
  idx = lua_absindex(L, idx);
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    if (required) luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' is required", key));
    return (size_t)-1;
  }
  if (t != LUA_TTABLE)
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a list of integers", key));
  lua_Integer n = luaL_len(L, -1);
  if (n < 0 || (size_t)n > max)
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' has more than %d entries", key, (int)max));
  for (lua_Integer i = 1; i <= n; i++) {
    int isint;
    lua_rawgeti(L, -1, i);
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < 1 || (lua_Unsigned)v > lim)
      luaL_argerror(L, idx,
                    lua_pushfstring(L, "option '%s' entries must be integers in 1..%d", key, (int)lim));
    out[i - 1] = (size_t)v;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return (size_t)n;
}

static const char *const ACT_NAMES[] = {"tanh", "relu", NULL};
static const int ACT_VALUES[] = {PG_MLP_TANH, PG_MLP_RELU};

static void read_config(lua_State *L, int idx, pg_ppo_config *c) {
  luaL_checktype(L, idx, LUA_TTABLE);
  pg_ppo_config_default(c);
  lua_Integer od = pgL_optintegerfield(L, idx, "obs_dim", -1);
  luaL_argcheck(L, od >= 1 && od <= PG_MLP_MAX_WIDTH, idx, "option 'obs_dim' (1..65536) is required");
  c->obs_dim = (size_t)od;
  c->nheads = int_list_field(L, idx, "heads", c->head_sizes, PG_PPO_MAX_HEADS, PG_PPO_MAX_LOGITS, 1);
  size_t nh = int_list_field(L, idx, "hidden", c->hidden, PG_MLP_MAX_LAYERS - 1, PG_MLP_MAX_WIDTH, 0);
  if (nh != (size_t)-1) c->nhidden = nh;
  c->joint = pgL_optbooleanfield(L, idx, "joint", 0);
  c->shared = pgL_optbooleanfield(L, idx, "shared", 0);
  c->act = (pg_mlp_act)pgL_optenum(L, idx, "activation", ACT_NAMES, ACT_VALUES, PG_MLP_TANH);
  c->lr = pgL_optnumberfield(L, idx, "lr", c->lr);
  c->adam_eps = pgL_optnumberfield(L, idx, "adam_eps", c->adam_eps);
  c->gamma = pgL_optnumberfield(L, idx, "gamma", c->gamma);
  c->lambda = pgL_optnumberfield(L, idx, "lambda", c->lambda);
  c->clip = pgL_optnumberfield(L, idx, "clip", c->clip);
  c->clip_vf = pgL_optnumberfield(L, idx, "clip_vf", c->clip_vf);
  c->vf_coef = pgL_optnumberfield(L, idx, "vf_coef", c->vf_coef);
  c->ent_coef = pgL_optnumberfield(L, idx, "ent_coef", c->ent_coef);
  c->max_grad_norm = pgL_optnumberfield(L, idx, "max_grad_norm", c->max_grad_norm);
  c->norm_adv = pgL_optbooleanfield(L, idx, "norm_adv", c->norm_adv);
  lua_Integer v;
  v = pgL_optintegerfield(L, idx, "n_steps", (lua_Integer)c->n_steps);
  luaL_argcheck(L, v >= 1 && v <= (1 << 24), idx, "option 'n_steps' must be in 1..2^24");
  c->n_steps = (size_t)v;
  v = pgL_optintegerfield(L, idx, "batch_size", (lua_Integer)c->batch_size);
  luaL_argcheck(L, v >= 1 && v <= (1 << 20), idx, "option 'batch_size' must be in 1..2^20");
  c->batch_size = (size_t)v;
  v = pgL_optintegerfield(L, idx, "n_epochs", (lua_Integer)c->n_epochs);
  luaL_argcheck(L, v >= 1 && v <= 10000, idx, "option 'n_epochs' must be in 1..10000");
  c->n_epochs = (size_t)v;
  c->seed = (uint64_t)pgL_optintegerfield(L, idx, "seed", 0);
  const char *msg = pg_ppo_config_check(c);
  if (msg) luaL_argerror(L, idx, msg);
}

static lagent *new_agent_ud(lua_State *L) {
  lagent *a = lua_newuserdatauv(L, sizeof *a, 1); /* uservalue: the last environments */
  a->p = NULL;
  luaL_setmetatable(L, PPO_MT);
  return a;
}

static const char *const THREADS_NAMES[] = {"auto", "off", "on", NULL};
static const int THREADS_VALUES[] = {PG_PPO_THREADS_AUTO, PG_PPO_THREADS_OFF, PG_PPO_THREADS_ON};

static int ppo_new(lua_State *L) {
  pg_ppo_config c;
  read_config(L, 1, &c);
  /* threads of the separate-network update (results do not depend on it) */
  int threads = pgL_optenum(L, 1, "threads", THREADS_NAMES, THREADS_VALUES, PG_PPO_THREADS_AUTO);
  lagent *a = new_agent_ud(L);
  pg_status st = pg_ppo_new(&a->p, &c);
  if (st != PG_OK) return pgL_error(L, st, "creating the networks");
  pg_ppo_set_threads(a->p, threads);
  return 1;
}

static int ppo_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lagent *a = new_agent_ud(L);
  pg_status st = pg_ppo_load(&a->p, path);
  if (st != PG_OK) return pgL_argstatus(L, 1, st, path);
  return 1;
}

static int agent_gc(lua_State *L) {
  lagent *a = luaL_checkudata(L, 1, PPO_MT);
  pg_ppo_free(a->p);
  a->p = NULL;
  return 0;
}

static int agent_save(lua_State *L) {
  pg_ppo *p = check_agent(L, 1);
  const char *path = luaL_checkstring(L, 2);
  pg_status st = pg_ppo_save(p, path);
  if (st != PG_OK) return pgL_argstatus(L, 2, st, path);
  lua_pushboolean(L, 1);
  return 1;
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}
static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}
static void set_list(lua_State *L, const char *k, const size_t *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, k);
}

static int agent_config(lua_State *L) {
  const pg_ppo_config *c = pg_ppo_get_config(check_agent(L, 1));
  lua_newtable(L);
  set_int(L, "obs_dim", (lua_Integer)c->obs_dim);
  set_list(L, "heads", c->head_sizes, c->nheads);
  set_list(L, "hidden", c->hidden, c->nhidden);
  lua_pushboolean(L, c->joint);
  lua_setfield(L, -2, "joint");
  lua_pushboolean(L, c->shared);
  lua_setfield(L, -2, "shared");
  lua_pushstring(L, ACT_NAMES[c->act]);
  lua_setfield(L, -2, "activation");
  set_num(L, "lr", c->lr);
  set_num(L, "adam_eps", c->adam_eps);
  set_num(L, "gamma", c->gamma);
  set_num(L, "lambda", c->lambda);
  set_num(L, "clip", c->clip);
  set_num(L, "clip_vf", c->clip_vf);
  set_num(L, "vf_coef", c->vf_coef);
  set_num(L, "ent_coef", c->ent_coef);
  set_num(L, "max_grad_norm", c->max_grad_norm);
  lua_pushboolean(L, c->norm_adv);
  lua_setfield(L, -2, "norm_adv");
  set_int(L, "n_steps", (lua_Integer)c->n_steps);
  set_int(L, "batch_size", (lua_Integer)c->batch_size);
  set_int(L, "n_epochs", (lua_Integer)c->n_epochs);
  set_int(L, "seed", (lua_Integer)c->seed);
  return 1;
}

static int agent_nparams(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pg_ppo_nparams(check_agent(L, 1)));
  return 1;
}

/* One observation of the agent's dimension from argument arg. */
static const double *check_obs(lua_State *L, int arg, size_t dim) {
  size_t n;
  const double *x = pgL_checkvector(L, arg, &n, 0);
  if (n != dim)
    luaL_argerror(L, arg, lua_pushfstring(L, "observation must have %d entries, got %d", (int)dim,
                                          (int)n));
  return x;
}

static void push_action(lua_State *L, const int *a, size_t nh) {
  lua_createtable(L, (int)nh, 0);
  for (size_t h = 0; h < nh; h++) {
    lua_pushinteger(L, a[h] + 1);
    lua_rawseti(L, -2, (lua_Integer)h + 1);
  }
}

static int agent_act(lua_State *L) {
  pg_ppo *p = check_agent(L, 1);
  const pg_ppo_config *c = pg_ppo_get_config(p);
  int det = lua_toboolean(L, 3);
  pg_rng *rng = NULL;
  if (!det) rng = pgL_checkrng(L, 4);
  const double *x = check_obs(L, 2, c->obs_dim); /* pushes a value: read the others first */
  int a[PG_PPO_MAX_HEADS];
  double lp, v;
  pg_status st = pg_ppo_act(p, x, 1, det, rng, a, &lp, &v);
  if (st != PG_OK) return pgL_error(L, st, NULL);
  push_action(L, a, c->nheads);
  lua_pushnumber(L, lp);
  lua_pushnumber(L, v);
  return 3;
}

static int agent_probs(lua_State *L) {
  pg_ppo *p = check_agent(L, 1);
  const pg_ppo_config *c = pg_ppo_get_config(p);
  const double *x = check_obs(L, 2, c->obs_dim);
  size_t nl = pg_ppo_nlogits(p);
  double *out = pgL_newbuffer(L, nl * sizeof *out);
  pg_status st = pg_ppo_probs(p, x, out);
  if (st != PG_OK) return pgL_error(L, st, NULL);
  size_t nb = c->joint ? 1 : c->nheads, off = 0;
  lua_createtable(L, (int)nb, 0);
  for (size_t b = 0; b < nb; b++) {
    size_t k = c->joint ? nl : c->head_sizes[b];
    lua_createtable(L, (int)k, 0);
    for (size_t j = 0; j < k; j++) {
      lua_pushnumber(L, out[off + j]);
      lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)b + 1);
    off += k;
  }
  return 1;
}

/* ---- Lua environments ---- */

typedef struct luaenv {
  lua_State *L;
  int idx;         /* absolute stack index of the environment table */
  size_t obs_dim, nheads;
  int failed;
  char err[512];
} luaenv;

static pg_status luaenv_fail(luaenv *le, const char *msg) {
  le->failed = 1;
  snprintf(le->err, sizeof le->err, "%s", msg ? msg : "(error object is not a string)");
  return PG_EINVAL;
}

/* Read the observation table at the top of the stack into obs (pops it). */
static pg_status luaenv_obs(luaenv *le, double *obs, const char *who) {
  lua_State *L = le->L;
  char msg[200];
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    snprintf(msg, sizeof msg, "environment %s must return a table of %zu numbers", who,
             le->obs_dim);
    return luaenv_fail(le, msg);
  }
  if (luaL_len(L, -1) != (lua_Integer)le->obs_dim) {
    snprintf(msg, sizeof msg, "environment %s returned %lld values, expected %zu", who,
             (long long)luaL_len(L, -1), le->obs_dim);
    lua_pop(L, 1);
    return luaenv_fail(le, msg);
  }
  for (size_t i = 0; i < le->obs_dim; i++) {
    int isnum;
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    obs[i] = lua_tonumberx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum || !isfinite(obs[i])) {
      lua_pop(L, 1);
      snprintf(msg, sizeof msg, "environment %s: observation entry %zu is not a finite number",
               who, i + 1);
      return luaenv_fail(le, msg);
    }
  }
  lua_pop(L, 1);
  return PG_OK;
}

static pg_status luaenv_reset(void *ctx, pg_rng *rng, double *obs) {
  (void)rng;
  luaenv *le = ctx;
  lua_State *L = le->L;
  lua_getfield(L, le->idx, "reset");
  lua_pushvalue(L, le->idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    pg_status st = luaenv_fail(le, lua_tostring(L, -1));
    lua_pop(L, 1);
    return st;
  }
  return luaenv_obs(le, obs, "reset");
}

static pg_status luaenv_step(void *ctx, pg_rng *rng, const int *action, double *obs,
                             double *reward, int *terminal, int *truncated) {
  (void)rng;
  luaenv *le = ctx;
  lua_State *L = le->L;
  lua_getfield(L, le->idx, "step");
  lua_pushvalue(L, le->idx);
  push_action(L, action, le->nheads);
  if (lua_pcall(L, 2, 4, 0) != LUA_OK) {
    pg_status st = luaenv_fail(le, lua_tostring(L, -1));
    lua_pop(L, 1);
    return st;
  }
  int isnum;
  *reward = lua_tonumberx(L, -3, &isnum);
  *terminal = lua_toboolean(L, -2);
  *truncated = lua_toboolean(L, -1);
  lua_pop(L, 3);
  if (!isnum || !isfinite(*reward)) {
    lua_pop(L, 1);
    return luaenv_fail(le, "environment step must return a finite reward as its second value");
  }
  return luaenv_obs(le, obs, "step");
}

/* Describe the Lua environment table at absolute index idx (argument arg). */
static void luaenv_make(lua_State *L, int arg, int idx, luaenv *le, pg_env *v) {
  memset(le, 0, sizeof *le);
  memset(v, 0, sizeof *v);
  le->L = L;
  le->idx = idx;
  if (lua_getfield(L, idx, "reset") == LUA_TNIL)
    luaL_argerror(L, arg, "environment table needs a reset function");
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "step") == LUA_TNIL)
    luaL_argerror(L, arg, "environment table needs a step function");
  lua_pop(L, 1);
  int isint;
  lua_getfield(L, idx, "obs_dim");
  lua_Integer od = lua_tointegerx(L, -1, &isint);
  lua_pop(L, 1);
  if (!isint || od < 1 || od > PG_MLP_MAX_WIDTH)
    luaL_argerror(L, arg, "environment table needs an integer obs_dim in 1..65536");
  le->obs_dim = v->obs_dim = (size_t)od;
  v->nheads = le->nheads =
      int_list_field(L, idx, "heads", v->head_sizes, PG_PPO_MAX_HEADS, PG_PPO_MAX_LOGITS, 1);
  if (v->nheads < 1) luaL_argerror(L, arg, "environment 'heads' must list at least one size");
  v->ctx = le;
  v->reset = luaenv_reset;
  v->step = luaenv_step;
}

/* learn(env | {env, env, ...}, steps) */
static int agent_learn(lua_State *L) {
  pg_ppo *p = check_agent(L, 1);
  lua_Integer steps = luaL_checkinteger(L, 3);
  luaL_argcheck(L, steps >= 0 && steps <= ((lua_Integer)1 << 40), 3, "steps must be in 0..2^40");
  size_t n = 1;
  int single = 1;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "step");
    single = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!single) {
      lua_Integer len = luaL_len(L, 2);
      luaL_argcheck(L, len >= 1 && len <= 4096, 2, "expected an environment or a list of 1..4096");
      n = (size_t)len;
    }
  } else if (!luaL_testudata(L, 2, ENV_MT)) {
    luaL_typeerror(L, 2, "environment (perigee.NASEnv, Lua table) or list of environments");
  }
  luaL_checkstack(L, (int)n + 20, "too many environments");
  pg_env *views = pgL_newbuffer(L, n * sizeof *views);
  luaenv *adapters = pgL_newbuffer(L, n * sizeof *adapters);
  memset(adapters, 0, n * sizeof *adapters);
  int base = lua_gettop(L);
  for (size_t i = 0; i < n; i++) {
    if (single)
      lua_pushvalue(L, 2);
    else
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
    int idx = base + (int)i + 1;
    lenv *ue = luaL_testudata(L, idx, ENV_MT);
    if (ue) {
      if (!ue->e) luaL_argerror(L, 2, "environment already freed");
      views[i] = pg_nasenv_as_env(ue->e);
    } else if (lua_type(L, idx) == LUA_TTABLE) {
      luaenv_make(L, 2, idx, &adapters[i], &views[i]);
    } else {
      luaL_argerror(L, 2, lua_pushfstring(L, "entry %d is not an environment", (int)i + 1));
    }
  }
  /* Episodes in progress continue only with the very same C environments
     as last time (kept referenced by the agent, so that no new object can
     take their address); Lua environments are reset at every call. */
  int same = lua_getiuservalue(L, 1, 1) == LUA_TTABLE && luaL_len(L, -1) == (lua_Integer)n;
  for (size_t i = 0; same && i < n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    same = lua_rawequal(L, -1, base + (int)i + 1) && !adapters[i].L;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!same) pg_ppo_detach(p);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushvalue(L, base + (int)i + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setiuservalue(L, 1, 1);
  pg_ppo_stats s;
  pg_status st = pg_ppo_learn(p, views, n, (uint64_t)steps, &s);
  if (st != PG_OK) {
    for (size_t i = 0; i < n; i++)
      if (adapters[i].failed) return luaL_error(L, "learn: %s", adapters[i].err);
    if (st == PG_ESHAPE) return luaL_argerror(L, 2, "environment does not match the agent's obs_dim/heads");
    return pgL_error(L, st, NULL);
  }
  lua_newtable(L);
  set_int(L, "timesteps", (lua_Integer)s.timesteps);
  set_int(L, "updates", (lua_Integer)s.updates);
  set_num(L, "policy_loss", s.policy_loss);
  set_num(L, "value_loss", s.value_loss);
  set_num(L, "entropy", s.entropy);
  set_num(L, "approx_kl", s.approx_kl);
  set_num(L, "clip_fraction", s.clip_fraction);
  set_num(L, "explained_variance", s.explained_variance);
  set_num(L, "grad_norm", s.grad_norm);
  set_int(L, "episodes", (lua_Integer)s.episodes);
  set_num(L, "ep_return_mean", s.ep_return_mean);
  set_num(L, "ep_len_mean", s.ep_len_mean);
  return 1;
}

/* agent:episode(nasenv, opts): one full episode in C. With explore = true
 * and a measurement budget, each step takes the most probable edit
 * (p(edge) p(op)) that reaches an unmeasured cell (test-time use of the
 * whole budget); with climb = true as well, it steps back to the best
 * measured cell after every edit that did not improve on it (the policy as
 * the proposal of a hill climber). Returns
 * {cells = {codes from the start}, rewards = {...}, ret, final, steps, refused} */
static int agent_episode(lua_State *L) {
  pg_ppo *p = check_agent(L, 1);
  lenv *ue = luaL_checkudata(L, 2, ENV_MT);
  if (!ue->e) luaL_argerror(L, 2, "environment already freed");
  const pg_ppo_config *c = pg_ppo_get_config(p);
  if (c->obs_dim != pg_nasenv_obs_dim(ue->e) || c->nheads != 2 ||
      c->head_sizes[0] != PG_NAS_EDGES || c->head_sizes[1] != PG_NAS_OPS)
    luaL_argerror(L, 1, "agent does not match the NAS-Bench-201 environment (its obs_dim inputs, "
                        "heads 6, 5)");
  int det = pgL_optbooleanfield(L, 3, "deterministic", 1);
  int explore = pgL_optbooleanfield(L, 3, "explore", 0);
  int climb = pgL_optbooleanfield(L, 3, "climb", 0);
  luaL_argcheck(L, !explore || !c->joint, 3, "option 'explore' needs factored heads");
  luaL_argcheck(L, !climb || explore, 3, "option 'climb' needs explore = true");
  lua_Integer start = pgL_optintegerfield(L, 3, "start", -1);
  luaL_argcheck(L, start >= -1 && start < PG_NAS_CELLS, 3, "option 'start' must be a cell code 0..15624");
  pg_rng *rng = &ue->rng;
  if (!lua_isnoneornil(L, 3)) {
    lua_getfield(L, 3, "rng");
    if (!lua_isnil(L, -1)) rng = pgL_checkrng(L, -1);
    lua_pop(L, 1); /* the generator stays referenced by the options table */
  }
  double obs[PG_NAS_OBS_DIM_DEVICE], r, ret = 0.0;
  pg_status st = pg_nasenv_reset(ue->e, &ue->rng, (long)start, obs);
  if (st != PG_OK) return pgL_error(L, st, "reset");
  lua_newtable(L); /* result */
  lua_newtable(L); /* cells */
  lua_newtable(L); /* rewards */
  lua_pushinteger(L, pg_nasenv_cell(ue->e));
  lua_rawseti(L, -3, 1);
  int term = 0, trunc = 0, a[2];
  lua_Integer k = 0;
  double probs[PG_NAS_EDGES + PG_NAS_OPS];
  long inc = pg_nasenv_cell(ue->e); /* climb: the best cell measured so far */
  double inc_r = pg_nasenv_reward_of(ue->e, inc);
  while (!term && !trunc) {
    long here = pg_nasenv_cell(ue->e);
    int diff = -1;
    if (climb && here != inc) { /* step back to the incumbent (a free revisit) */
      int h6[PG_NAS_EDGES], i6[PG_NAS_EDGES];
      pg_nas_decode(here, h6);
      pg_nas_decode(inc, i6);
      for (int ed = 0; ed < PG_NAS_EDGES; ed++)
        if (h6[ed] != i6[ed]) diff = ed;
      if (diff >= 0) {
        a[0] = diff;
        a[1] = i6[diff];
      }
    }
    if (diff >= 0) {
      /* the revert chosen above */
    } else if (explore && ue->e->measured) {
      /* the most probable edit (p(edge) p(op)) that reaches a cell not yet
         measured; the policy's own choice when every neighbour is measured */
      if ((st = pg_ppo_probs(p, obs, probs)) != PG_OK) return pgL_error(L, st, NULL);
      double best = -1.0;
      int cur[PG_NAS_EDGES];
      pg_nas_decode(pg_nasenv_cell(ue->e), cur);
      for (int ed = 0; ed < PG_NAS_EDGES; ed++)
        for (int op = 0; op < PG_NAS_OPS; op++) {
          if (op == cur[ed]) continue;
          int nx[PG_NAS_EDGES];
          memcpy(nx, cur, sizeof nx);
          nx[ed] = op;
          if (ue->e->measured[pg_nas_encode(nx)]) continue;
          double sc = probs[ed] * probs[PG_NAS_EDGES + op];
          if (sc > best) {
            best = sc;
            a[0] = ed;
            a[1] = op;
          }
        }
      if (best < 0.0 && (st = pg_ppo_act(p, obs, 1, 1, NULL, a, NULL, NULL)) != PG_OK)
        return pgL_error(L, st, NULL);
    } else if ((st = pg_ppo_act(p, obs, 1, det, rng, a, NULL, NULL)) != PG_OK) {
      return pgL_error(L, st, NULL);
    }
    if ((st = pg_nasenv_step(ue->e, a, obs, &r, &term, &trunc)) != PG_OK)
      return pgL_error(L, st, NULL);
    if (ue->e->refused) break;
    if (climb) {
      long now = pg_nasenv_cell(ue->e);
      double rn = pg_nasenv_reward_of(ue->e, now);
      if (rn > inc_r) {
        inc = now;
        inc_r = rn;
      }
    }
    k++;
    ret += r;
    lua_pushinteger(L, pg_nasenv_cell(ue->e));
    lua_rawseti(L, -3, k + 1);
    lua_pushnumber(L, r);
    lua_rawseti(L, -2, k);
  }
  lua_setfield(L, -3, "rewards");
  lua_setfield(L, -2, "cells");
  set_num(L, "ret", ret);
  set_int(L, "final", pg_nasenv_cell(ue->e));
  set_int(L, "steps", k);
  lua_pushboolean(L, ue->e->refused);
  lua_setfield(L, -2, "refused");
  return 1;
}

/* ---- shared data and the NAS-Bench-201 environment ---- */

static int data_new(lua_State *L) {
  size_t n, rows, cols;
  const double *tf = pgL_checkvector(L, 1, &n, 0);
  luaL_argcheck(L, n == PG_NAS_CELLS, 1, "tf must hold 15625 values (by cell code)");
  const double *pool = pgL_checkpoints(L, 2, &rows, &cols, 0);
  luaL_argcheck(L, cols == PG_NAS_OPS, 2, "pool must have 5 columns (ms per op)");
  luaL_argcheck(L, rows >= 1 && rows <= PG_NAS_MAX_POOL, 2, "pool needs 1..4096 devices");
  ldata *d = lua_newuserdatauv(L, sizeof *d, 0);
  d->d = NULL;
  luaL_setmetatable(L, DATA_MT);
  pg_status st = pg_nas_data_new(&d->d, tf, pool, rows);
  if (st != PG_OK) return pgL_argstatus(L, 2, st, "per-op latencies must be positive and finite");
  return 1;
}

static int data_gc(lua_State *L) {
  ldata *d = luaL_checkudata(L, 1, DATA_MT);
  pg_nas_data_free(d->d);
  d->d = NULL;
  return 0;
}

static int data_fit(lua_State *L) {
  ldata *d = luaL_checkudata(L, 1, DATA_MT);
  if (!d->d) luaL_argerror(L, 1, "data already freed");
  lua_newtable(L);
  lua_createtable(L, 5, 0);
  lua_createtable(L, 5, 0);
  for (int o = 0; o < PG_NAS_OPS; o++) {
    lua_pushnumber(L, d->d->mu[o]);
    lua_rawseti(L, -3, o + 1);
    lua_pushnumber(L, d->d->sigma[o]);
    lua_rawseti(L, -2, o + 1);
  }
  lua_setfield(L, -3, "sigma");
  lua_setfield(L, -2, "mu");
  set_int(L, "devices", (lua_Integer)d->d->npool);
  return 1;
}

static const char *const REWARD_NAMES[] = {"paper", "code", NULL};
static const int REWARD_VALUES[] = {PG_NAS_REWARD_PAPER, PG_NAS_REWARD_CODE};
static const char *const TRUNC_NAMES[] = {"paper", "code", NULL};
static const int TRUNC_VALUES[] = {PG_NAS_TRUNC_PAPER, PG_NAS_TRUNC_CODE};
static const char *const OBSLAT_NAMES[] = {"scaled", "normalised", NULL};
static const int OBSLAT_VALUES[] = {PG_NAS_OBS_SCALED, PG_NAS_OBS_NORMALISED};

static int env_new(lua_State *L) {
  ldata *d = luaL_checkudata(L, 1, DATA_MT);
  if (!d->d) luaL_argerror(L, 1, "data already freed");
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  pg_nasenv_config c;
  pg_nasenv_config_default(&c);
  c.reward = (pg_nas_reward)pgL_optenum(L, 2, "reward", REWARD_NAMES, REWARD_VALUES, c.reward);
  c.trunc = (pg_nas_trunc)pgL_optenum(L, 2, "truncation", TRUNC_NAMES, TRUNC_VALUES, c.trunc);
  c.obs_latency = (pg_nas_obs_latency)pgL_optenum(L, 2, "obs_latency", OBSLAT_NAMES,
                                                   OBSLAT_VALUES, c.obs_latency);
  lua_Integer h = pgL_optintegerfield(L, 2, "horizon", 50);
  luaL_argcheck(L, h >= 2 && h <= 100000, 2, "option 'horizon' must be in 2..100000");
  c.horizon = (size_t)h;
  c.code_horizon = pgL_optbooleanfield(L, 2, "code_horizon", 0);
  lua_Integer s = pgL_optintegerfield(L, 2, "start", -1);
  luaL_argcheck(L, s >= -1 && s < PG_NAS_CELLS, 2, "option 'start' must be -1 or a cell code 0..15624");
  c.start = (long)s;
  c.lat_scale = pgL_optnumberfield(L, 2, "lat_scale", 0.0);
  luaL_argcheck(L, c.lat_scale >= 0.0, 2, "option 'lat_scale' must be >= 0");
  lua_Integer b = pgL_optintegerfield(L, 2, "budget", 0);
  luaL_argcheck(L, b >= 0 && b <= PG_NAS_CELLS, 2, "option 'budget' must be in 0..15625");
  c.budget = (size_t)b;
  c.obs_device = pgL_optbooleanfield(L, 2, "obs_device", 0);
  c.dev_noise = pgL_optnumberfield(L, 2, "dev_noise", c.dev_noise);
  luaL_argcheck(L, c.dev_noise > 0.0 && c.dev_noise < 10.0, 2,
                "option 'dev_noise' must be in (0, 10)");
  lua_Integer seed = pgL_optintegerfield(L, 2, "seed", 0);
  lenv *e = lua_newuserdatauv(L, sizeof *e, 2);
  e->e = NULL;
  pg_rng_seed(&e->rng, (uint64_t)seed);
  luaL_setmetatable(L, ENV_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* keep the data alive */
  pg_status st = pg_nasenv_new(&e->e, d->d, &c);
  if (st != PG_OK) return pgL_argstatus(L, 2, st, NULL);
  return 1;
}

static int env_gc(lua_State *L) {
  lenv *e = luaL_checkudata(L, 1, ENV_MT);
  pg_nasenv_free(e->e);
  e->e = NULL;
  return 0;
}

static void push_obs(lua_State *L, const pg_nasenv *e, const double *obs) {
  int n = (int)pg_nasenv_obs_dim(e);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, obs[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static lua_Integer check_code(lua_State *L, int arg) {
  lua_Integer c = luaL_checkinteger(L, arg);
  luaL_argcheck(L, c >= 0 && c < PG_NAS_CELLS, arg, "cell code must be in 0..15624");
  return c;
}

static int env_reset(lua_State *L) {
  lenv *ue = luaL_checkudata(L, 1, ENV_MT);
  if (!ue->e) luaL_argerror(L, 1, "environment already freed");
  long start = lua_isnoneornil(L, 2) ? -1 : (long)check_code(L, 2);
  double obs[PG_NAS_OBS_DIM_DEVICE];
  pg_status st = pg_nasenv_reset(ue->e, &ue->rng, start, obs);
  if (st != PG_OK) return pgL_error(L, st, NULL);
  push_obs(L, ue->e, obs);
  return 1;
}

static int env_step(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int a[2];
  for (int h = 0; h < 2; h++) {
    int isint;
    lua_rawgeti(L, 2, h + 1);
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    int lim = h == 0 ? PG_NAS_EDGES : PG_NAS_OPS;
    if (!isint || v < 1 || v > lim)
      luaL_argerror(L, 2, h == 0 ? "action[1] (edge) must be an integer in 1..6"
                                 : "action[2] (op) must be an integer in 1..5");
    a[h] = (int)v - 1;
  }
  double obs[PG_NAS_OBS_DIM_DEVICE], r;
  int term, trunc;
  pg_status st = pg_nasenv_step(e, a, obs, &r, &term, &trunc);
  if (st != PG_OK) return pgL_error(L, st, NULL);
  push_obs(L, e, obs);
  lua_pushnumber(L, r);
  lua_pushboolean(L, term);
  lua_pushboolean(L, trunc);
  return 4;
}

static int env_set_device(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    luaL_argcheck(L, strcmp(lua_tostring(L, 2), "synthetic") == 0, 2,
                  "expected 'synthetic', {lut = ...} or {table = ...}");
    pg_nasenv_set_synthetic(e);
    return 0;
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t n;
  if (lua_getfield(L, 2, "lut") != LUA_TNIL) {
    const double *lut = pgL_checkvector(L, -1, &n, 0);
    if (n != PG_NAS_OPS) luaL_argerror(L, 2, "lut must hold 5 latencies (ms)");
    pg_status st = pg_nasenv_set_lut(e, lut);
    if (st != PG_OK) return pgL_argstatus(L, 2, st, "lut must be finite and non-negative");
    return 0;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 2, "table") != LUA_TNIL) {
    const double *t = pgL_checkvector(L, -1, &n, 0);
    if (n != PG_NAS_CELLS) luaL_argerror(L, 2, "table must hold 15625 latencies (ms, by code)");
    double *copy = pgL_newbuffer(L, PG_NAS_CELLS * sizeof *copy);
    memcpy(copy, t, PG_NAS_CELLS * sizeof *copy);
    pg_status st = pg_nasenv_set_table(e, copy);
    if (st != PG_OK) return pgL_argstatus(L, 2, st, NULL);
    lua_setiuservalue(L, 1, 2); /* the environment keeps the copy alive */
    return 0;
  }
  return luaL_argerror(L, 2, "expected 'synthetic', {lut = ...} or {table = ...}");
}

static int env_latency(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_pushnumber(L, pg_nasenv_latency(e, (long)check_code(L, 2)));
  return 1;
}
static int env_norm_latency(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_pushnumber(L, pg_nasenv_norm_latency(e, (long)check_code(L, 2)));
  return 1;
}
static int env_reward_of(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_pushnumber(L, pg_nasenv_reward_of(e, (long)check_code(L, 2)));
  return 1;
}
static int env_percentile(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_pushnumber(L, pg_nasenv_percentile(e, (long)check_code(L, 2)));
  return 1;
}
static int env_tf(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_pushnumber(L, e->data->tf[check_code(L, 2)]);
  return 1;
}
static int env_cell(lua_State *L) {
  lua_pushinteger(L, pg_nasenv_cell(check_env(L, 1)));
  return 1;
}
static int env_lut(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_createtable(L, PG_NAS_OPS, 0);
  for (int o = 0; o < PG_NAS_OPS; o++) {
    lua_pushnumber(L, e->lut[o]);
    lua_rawseti(L, -2, o + 1);
  }
  return 1;
}
static int env_measured(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_createtable(L, (int)e->nmeasured, 0);
  for (size_t i = 0; i < e->nmeasured; i++) {
    lua_pushinteger(L, e->measured_list[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}
static int env_info(lua_State *L) {
  pg_nasenv *e = check_env(L, 1);
  lua_newtable(L);
  set_int(L, "t", (lua_Integer)e->t);
  set_num(L, "latency", e->lat);
  set_num(L, "lat_min", e->lat_min);
  set_num(L, "lat_max", e->lat_max);
  set_num(L, "lat_scale", e->lat_scale);
  set_int(L, "cell", pg_nasenv_cell(e));
  set_int(L, "measurements", (lua_Integer)e->nmeasured);
  lua_pushboolean(L, e->refused);
  lua_setfield(L, -2, "refused");
  lua_pushstring(L, e->device == PG_NAS_DEV_SYNTHETIC ? "synthetic"
                    : e->device == PG_NAS_DEV_LUT     ? "lut"
                                                      : "table");
  lua_setfield(L, -2, "device");
  set_int(L, "obs_dim", (lua_Integer)pg_nasenv_obs_dim(e));
  if (e->cfg.obs_device) { /* posterior mean of the per-op latencies (ms) */
    lua_createtable(L, PG_NAS_OPS, 0);
    for (int o = 0; o < PG_NAS_OPS; o++) {
      lua_pushnumber(L, e->post_mean[o]);
      lua_rawseti(L, -2, o + 1);
    }
    lua_setfield(L, -2, "device_estimate");
  }
  return 1;
}

static int nas_encode(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, luaL_len(L, 1) == PG_NAS_EDGES, 1, "expected 6 op indices");
  int ops[PG_NAS_EDGES];
  for (int i = 0; i < PG_NAS_EDGES; i++) {
    int isint;
    lua_rawgeti(L, 1, i + 1);
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    luaL_argcheck(L, isint && v >= 0 && v < PG_NAS_OPS, 1, "op indices must be integers 0..4");
    ops[i] = (int)v;
  }
  lua_pushinteger(L, pg_nas_encode(ops));
  return 1;
}

static int nas_decode(lua_State *L) {
  long c = (long)check_code(L, 1);
  int ops[PG_NAS_EDGES];
  pg_nas_decode(c, ops);
  lua_createtable(L, PG_NAS_EDGES, 0);
  for (int i = 0; i < PG_NAS_EDGES; i++) {
    lua_pushinteger(L, ops[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* read_gzcsv(path, {names}) -> {name = {values}}: numbers where every
 * non-empty field parses (empty -> NaN), else strings. */
static int read_gzcsv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer nc = luaL_len(L, 2);
  luaL_argcheck(L, nc >= 1 && nc <= 4096, 2, "expected a list of 1..4096 column names");
  for (lua_Integer j = 1; j <= nc; j++) {
    lua_rawgeti(L, 2, j);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 2, "column names must be strings");
    lua_pop(L, 1);
  }
  /* a userdata owns the table, so that any error below cannot leak it */
  pg_csv *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, CSV_MT);
  pg_status st = pg_csv_read(path, t);
  if (st != PG_OK) return pgL_argstatus(L, 1, st, path);
  long cols[64];
  lua_Integer lim = nc < 64 ? nc : 64;
  for (lua_Integer j = 1; j <= lim; j++) {
    lua_rawgeti(L, 2, j);
    cols[j - 1] = pg_csv_col(t, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (cols[j - 1] < 0) {
      lua_rawgeti(L, 2, j);
      return luaL_argerror(L, 2, lua_pushfstring(L, "no column '%s' in %s", lua_tostring(L, -1), path));
    }
  }
  if (nc > 64) return luaL_argerror(L, 2, "at most 64 columns at a time");
  lua_newtable(L); /* result */
  for (lua_Integer j = 0; j < nc; j++) {
    size_t c = (size_t)cols[j];
    int numeric = 1;
    double v;
    for (size_t r = 0; r < t->nrows && numeric; r++)
      if (pg_csv_number(t, r, c, &v) != PG_OK) numeric = 0;
    lua_createtable(L, (int)t->nrows, 0);
    for (size_t r = 0; r < t->nrows; r++) {
      if (numeric) {
        pg_csv_number(t, r, c, &v);
        lua_pushnumber(L, v);
      } else {
        lua_pushstring(L, pg_csv_cell(t, r, c));
      }
      lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    lua_setfield(L, -2, t->cells[c]); /* row 0 of cells is the header */
  }
  lua_pushinteger(L, (lua_Integer)t->nrows);
  lua_setfield(L, -2, "_rows");
  pg_csv_free(t);
  return 1;
}

static int csv_gc(lua_State *L) {
  pg_csv_free(luaL_checkudata(L, 1, CSV_MT));
  return 0;
}

static const luaL_Reg agent_methods[] = {
    {"learn", agent_learn},   {"act", agent_act},       {"probs", agent_probs},
    {"episode", agent_episode}, {"save", agent_save},   {"config", agent_config},
    {"nparams", agent_nparams}, {NULL, NULL}};

static const luaL_Reg env_methods[] = {
    {"reset", env_reset},           {"step", env_step},           {"set_device", env_set_device},
    {"latency", env_latency},       {"norm_latency", env_norm_latency},
    {"reward_of", env_reward_of},   {"percentile", env_percentile}, {"tf", env_tf},
    {"cell", env_cell},             {"lut", env_lut},             {"measured", env_measured},
    {"info", env_info},             {NULL, NULL}};

static const luaL_Reg data_methods[] = {{"fit", data_fit}, {NULL, NULL}};

static const luaL_Reg ppo_funcs[] = {
    {"new", ppo_new},         {"load", ppo_load},     {"nasdata", data_new},
    {"nasenv", env_new},      {"encode", nas_encode}, {"decode", nas_decode},
    {"read_gzcsv", read_gzcsv}, {NULL, NULL}};

static void make_meta(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}

void pgL_open_ppo(lua_State *L, int mod) {
  make_meta(L, PPO_MT, agent_methods, agent_gc);
  make_meta(L, ENV_MT, env_methods, env_gc);
  make_meta(L, DATA_MT, data_methods, data_gc);
  luaL_newmetatable(L, CSV_MT);
  lua_pushcfunction(L, csv_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_newtable(L);
  luaL_setfuncs(L, ppo_funcs, 0);
  lua_pushinteger(L, PG_NAS_OBS_DIM);
  lua_setfield(L, -2, "NAS_OBS_DIM");
  lua_pushinteger(L, PG_NAS_OBS_DIM_DEVICE);
  lua_setfield(L, -2, "NAS_OBS_DIM_DEVICE");
  lua_setfield(L, mod, "ppo");
}
