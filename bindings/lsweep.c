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
 */
#include <string.h>

#include "lpg.h"
#include "sweep.h"

#define NET_MT "perigee.HwNetwork"
#define SYS_MT "perigee.Systolic"

static const char *const sweep_columns[] = {"total_cycles", "energy_pj", "latency_s", "edp_js",
                                            "overall_util", "macs", NULL};

static int hw_sweep(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer na = luaL_len(L, 1), nn = luaL_len(L, 2);
  luaL_argcheck(L, na >= 1 && na <= (1 << 24), 1, "a non-empty list of systolic arrays expected");
  luaL_argcheck(L, nn >= 1 && nn <= (1 << 24), 2, "a non-empty list of networks expected");
  luaL_argcheck(L, (double)na * (double)nn <= 1e8, 2, "too many pairs (more than 1e8)");
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
  lua_createtable(L, 6, 0);
  for (int k = 0; sweep_columns[k]; k++) {
    lua_pushstring(L, sweep_columns[k]);
    lua_rawseti(L, -2, k + 1);
  }
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
