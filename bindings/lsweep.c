/*
 * lsweep.c -- parallel cost-model sweeps (hardware/sweep.h).
 *
 *   pg.hw.sweep(arrays, networks) -> M, columns
 *     arrays    list of pg.hw.systolic{...} configurations (n_a)
 *     networks  list of pg.hw.network.* networks (n_n)
 *     M         perigee.matrix of n_a * n_n rows: row (i-1)*n_n + j is the
 *               pair (arrays[i], networks[j]); columns are named by
 *     columns   {"total_cycles", "energy_pj", "latency_s", "edp_js",
 *                "overall_util", "macs"}
 *   Each row equals arrays[i]:evaluate(networks[j]).total bit for bit; the
 *   pairs run on pg.threads() threads.
 *
 *   pg.hw.sweep(accelerators, networks [, {schedule=, mode=, fuse=}]) -> M, columns
 *     the same over dataflow accelerators (pg.hw.accelerator / coflex_accelerator);
 *     columns {"cycles", "energy_pj", "edp", "macs", "dram_bits"}, each
 *     equal to acc:evaluate(net, opts) (edp in uJ*s at the accelerator's clock).
 */
#include <string.h>

#include "lpg.h"
#include "sweep.h"

#define NET_MT "perigee.HwNetwork"
#define SYS_MT "perigee.Systolic"
#define ACCEL_MT "perigee.Accelerator"

static const char *const sweep_columns[] = {"total_cycles", "energy_pj", "latency_s", "edp_js",
                                            "overall_util", "macs", NULL};

static const char *const df_columns[] = {"cycles", "energy_pj", "edp", "macs", "dram_bits", NULL};
static const char *const sched_names[] = {"depth_first", "layer_by_layer", NULL};
static const int sched_values[] = {PG_DF_DEPTH_FIRST, PG_DF_LAYER_BY_LAYER};
static const char *const mode_names[] = {"fully_cached", "h_cached_v_recompute", "fully_recompute", NULL};
static const int mode_values[] = {PG_DF_FULLY_CACHED, PG_DF_H_CACHED_V_RECOMPUTE, PG_DF_FULLY_RECOMPUTE};

static void push_columns(lua_State *L, const char *const *cols) {
  lua_newtable(L);
  for (int k = 0; cols[k]; k++) {
    lua_pushstring(L, cols[k]);
    lua_rawseti(L, -2, k + 1);
  }
}

/* The dataflow sweep (accelerators at argument 1). */
static int df_sweep(lua_State *L, lua_Integer na, lua_Integer nn) {
  pg_df_options o;
  pg_df_options_default(&o);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    o.schedule = (pg_df_schedule)pgL_optenum(L, 3, "schedule", sched_names, sched_values, o.schedule);
    o.mode = (pg_df_mode)pgL_optenum(L, 3, "mode", mode_names, mode_values, o.mode);
    o.fuse = pgL_optbooleanfield(L, 3, "fuse", 1);
  }
  lua_settop(L, 3);
  const pg_df_accel **acc = pgL_newbuffer(L, (size_t)na * sizeof *acc);
  const pg_hw_network **nets = pgL_newbuffer(L, (size_t)nn * sizeof *nets);
  for (lua_Integer i = 1; i <= na; i++) {
    lua_geti(L, 1, i);
    const pg_df_accel *a = luaL_testudata(L, -1, ACCEL_MT);
    if (!a) return luaL_argerror(L, 1, lua_pushfstring(L, "item %d is not a dataflow accelerator", (int)i));
    acc[i - 1] = a; /* anchored by argument 1 */
    lua_pop(L, 1);
  }
  for (lua_Integer j = 1; j <= nn; j++) {
    lua_geti(L, 2, j);
    pg_hw_network *n = luaL_testudata(L, -1, NET_MT);
    if (!n) return luaL_argerror(L, 2, lua_pushfstring(L, "item %d is not a network", (int)j));
    if (n->n == 0) return luaL_argerror(L, 2, lua_pushfstring(L, "network %d has no layers", (int)j));
    nets[j - 1] = n;
    lua_pop(L, 1);
  }
  size_t np = (size_t)na * (size_t)nn;
  pg_df_cost *cost = pgL_newbuffer(L, np * sizeof *cost);
  pg_status *st = pgL_newbuffer(L, np * sizeof *st);
  pg_status s = pg_hw_df_sweep(acc, (size_t)na, nets, (size_t)nn, &o, cost, st);
  if (s != PG_OK) return pgL_error(L, s, "pg.hw.sweep");
  for (size_t p = 0; p < np; p++)
    if (st[p] != PG_OK)
      return luaL_error(L, "pg.hw.sweep: pair (accelerator %d, network %d): %s",
                        (int)(p / (size_t)nn) + 1, (int)(p % (size_t)nn) + 1, pg_strerror(st[p]));
  pgL_matrix *M = pgL_newmatrix(L, np, 5);
  for (size_t p = 0; p < np; p++) {
    const pg_df_accel *a = acc[p / (size_t)nn];
    const pg_df_cost *c = &cost[p];
    double *r = M->data + p * 5;
    double dram = 0;
    for (int X = 0; X < 3; X++) dram += c->rd_bits[a->n_levels - 1][X] + c->wr_bits[a->n_levels - 1][X];
    r[0] = c->cycles;
    r[1] = c->energy;
    r[2] = pg_df_edp(c, a->clock_hz);
    r[3] = c->macs;
    r[4] = dram;
  }
  push_columns(L, df_columns);
  return 2;
}

static int hw_sweep(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer na = luaL_len(L, 1), nn = luaL_len(L, 2);
  luaL_argcheck(L, na >= 1 && na <= (1 << 24), 1, "a non-empty list of systolic arrays expected");
  luaL_argcheck(L, nn >= 1 && nn <= (1 << 24), 2, "a non-empty list of networks expected");
  luaL_argcheck(L, (double)na * (double)nn <= 1e8, 2, "too many pairs (more than 1e8)");
  lua_geti(L, 1, 1);
  int dataflow = luaL_testudata(L, -1, ACCEL_MT) != NULL;
  lua_pop(L, 1);
  if (dataflow) return df_sweep(L, na, nn);
  pg_hw_systolic_cfg *cfgs = pgL_newbuffer(L, (size_t)na * sizeof *cfgs);
  const pg_hw_network **nets = pgL_newbuffer(L, (size_t)nn * sizeof *nets);
  for (lua_Integer i = 1; i <= na; i++) {
    lua_geti(L, 1, i);
    pg_hw_systolic_cfg *c = luaL_testudata(L, -1, SYS_MT);
    if (!c) return luaL_argerror(L, 1, lua_pushfstring(L, "item %d is not a systolic array", (int)i));
    cfgs[i - 1] = *c;
    lua_pop(L, 1);
  }
  /* the networks stay referenced by argument 2 while the sweep runs */
  for (lua_Integer j = 1; j <= nn; j++) {
    lua_geti(L, 2, j);
    pg_hw_network *n = luaL_testudata(L, -1, NET_MT);
    if (!n) return luaL_argerror(L, 2, lua_pushfstring(L, "item %d is not a network", (int)j));
    if (n->n == 0) return luaL_argerror(L, 2, lua_pushfstring(L, "network %d has no layers", (int)j));
    nets[j - 1] = n;
    lua_pop(L, 1);
  }
  size_t np = (size_t)na * (size_t)nn;
  pg_hw_systolic_total *tot = pgL_newbuffer(L, np * sizeof *tot);
  pg_status *st = pgL_newbuffer(L, np * sizeof *st);
  pg_status s = pg_hw_systolic_sweep(cfgs, (size_t)na, nets, (size_t)nn, tot, st);
  if (s != PG_OK) return pgL_error(L, s, "pg.hw.sweep");
  for (size_t p = 0; p < np; p++)
    if (st[p] != PG_OK)
      return luaL_error(L, "pg.hw.sweep: pair (array %d, network %d): %s", (int)(p / (size_t)nn) + 1,
                        (int)(p % (size_t)nn) + 1,
                        st[p] == PG_ERANGE ? "a count overflows 63 bits" : pg_strerror(st[p]));
  pgL_matrix *M = pgL_newmatrix(L, np, 6);
  for (size_t p = 0; p < np; p++) {
    double *r = M->data + p * 6;
    r[0] = (double)tot[p].total_cycles;
    r[1] = tot[p].energy_pj;
    r[2] = tot[p].latency_s;
    r[3] = tot[p].edp_js;
    r[4] = tot[p].overall_util;
    r[5] = (double)tot[p].macs;
  }
  push_columns(L, sweep_columns);
  return 2;
}

void pgL_open_sweep(lua_State *L, int mod) {
  if (lua_getfield(L, mod, "hw") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, mod, "hw");
  }
  lua_pushcfunction(L, hw_sweep);
  lua_setfield(L, -2, "sweep");
  lua_pop(L, 1);
}
