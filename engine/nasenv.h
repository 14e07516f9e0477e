/*
 * nasenv.h -- the Sim-is-More NAS-Bench-201 environment (C speed).
 *
 * F. Capuano, G. Tiboni, N. Cavagnero, G. Averta, "Sim-is-More: Randomizing
 * HW-NAS with Synthetic Devices"; public code fracapuano/sim-is-more (MIT).
 * See /work/shared/research/simismore.md and docs/simismore.md.
 *
 * Cells. A NAS-Bench-201 cell has 6 edges (order of the architecture string:
 * 0->1, 0->2, 1->2, 0->3, 1->3, 2->3), each with one of 5 operations in
 * Sim-is-More's encoding: 0 none, 1 skip_connect, 2 avg_pool_3x3,
 * 3 nor_conv_1x1, 4 nor_conv_3x3. A cell's code is the base-5 number of its
 * ops, edge 0 most significant (0..15624). This is NOT the benchmark's
 * arch_index; tables indexed by arch_index are reordered by the caller.
 *
 * MDP. State: the cell and its latency. Action (edge, new op): two
 * categorical heads of sizes 6 and 5 (writing the op already on the edge is
 * a no-op, as in the public code). Horizon T = 50 steps (or 49 transitions
 * in "code" horizon mode, where the public code truncates when
 * step + 1 >= 50). Every edit is accepted.
 *
 * Observation (PG_NAS_OBS_DIM = 241 doubles), newest first:
 *   6 state slots (current + the 5 previous), each 30 one-hot op indicators
 *   (6 edges x 5 ops) and 1 latency feature; then 5 action slots (the last 5
 *   actions), each a 6-way edge one-hot and a 5-way op one-hot. Empty slots
 *   are all zeros. The latency feature is latency_ms / lat_scale (default
 *   lat_scale = 6 x the mean per-op latency of the pool: no knowledge of the
 *   target device is needed) or, with obs_latency = NORMALISED, l(h).
 *
 * Devices. Per episode the latency of a cell is the sum over its edges of a
 * per-op latency t(o) (a lookup table, LUT):
 *   SYNTHETIC: t(o) drawn at every reset from N(mu_o, sigma_o^2) fitted to a
 *     pool of devices (mean and population standard deviation per op), with
 *     truncation "paper" = support [1e-3, 1e3] ms (rejection), or "code" =
 *     the public code's truncnorm(a = 1e-3, b = 1e3, loc = mu, scale =
 *     sigma), whose bounds are in units of sigma: the upper half
 *     [mu + 1e-3 sigma, mu + 1e3 sigma] only (mean mu + 0.798 sigma).
 *   LUT: a fixed per-op table (a real device's row of the pool).
 *   TABLE: measured latencies of all 15,625 cells (by code), not owned.
 * The pool is a plain n x 5 table of per-op latencies, so any source
 * (the 18 published devices, perigee's cost models) can fill it.
 *
 * Reward of the new cell h (every step):
 *   l(h) = (lat(h) - lat_min) / (lat_max - lat_min), min and max over all
 *          15,625 cells under the episode's device (LUT: 6 min_o t(o) and
 *          6 max_o t(o); TABLE: the table's extremes);
 *   PAPER: r = p(h) + (1 - l(h))
 *   CODE:  r = p(h) (1e-3 + l(h))^-0.3 - 1
 * with p(h) the normalised proxy (tf) in [0, 1] supplied by the caller.
 *
 * Measurement budget (test-time adaptation): with budget > 0, the latency of
 * a cell is "measured" the first time the episode visits it; when the budget
 * is spent, an edit leading to an unmeasured cell is refused and the episode
 * terminates (the paper's "at most 10 measurements").
 */
#ifndef PG_NASENV_H
#define PG_NASENV_H

#include <stddef.h>
#include <stdint.h>

#include "ppo.h"
#include "rng.h"
#include "status.h"

#define PG_NAS_EDGES 6
#define PG_NAS_OPS 5
#define PG_NAS_CELLS 15625
#define PG_NAS_HIST 5
#define PG_NAS_OBS_DIM (6 * (PG_NAS_EDGES * PG_NAS_OPS + 1) + PG_NAS_HIST * (PG_NAS_EDGES + PG_NAS_OPS))
/* with obs_device: 5 more inputs, the device estimate (see pg_nasenv_config) */
#define PG_NAS_OBS_DIM_DEVICE (PG_NAS_OBS_DIM + PG_NAS_OPS)
#define PG_NAS_MAX_POOL 4096

typedef enum { PG_NAS_REWARD_PAPER = 0, PG_NAS_REWARD_CODE = 1 } pg_nas_reward;
typedef enum { PG_NAS_TRUNC_PAPER = 0, PG_NAS_TRUNC_CODE = 1 } pg_nas_trunc;
typedef enum { PG_NAS_DEV_SYNTHETIC = 0, PG_NAS_DEV_LUT = 1, PG_NAS_DEV_TABLE = 2 } pg_nas_device;
typedef enum { PG_NAS_OBS_SCALED = 0, PG_NAS_OBS_NORMALISED = 1 } pg_nas_obs_latency;

/* Data shared by many environments (read-only once built). */
typedef struct pg_nas_data {
  double tf[PG_NAS_CELLS]; /* normalised proxy by cell code */
  size_t npool;
  double *pool;            /* npool x 5 per-op latencies (ms) */
  double mu[PG_NAS_OPS], sigma[PG_NAS_OPS]; /* fit: mean, population std */
} pg_nas_data;

/* Build shared data: tf (15,625 finite values by code) and a pool of npool
 * devices (npool x 5 ms, positive finite; npool >= 1). */
pg_status pg_nas_data_new(pg_nas_data **out, const double *tf, const double *pool, size_t npool);
void pg_nas_data_free(pg_nas_data *d);

typedef struct pg_nasenv_config {
  pg_nas_reward reward;
  pg_nas_trunc trunc;
  pg_nas_obs_latency obs_latency;
  size_t horizon;     /* steps per episode (default 50) */
  int code_horizon;   /* 1: truncate when step + 1 >= horizon (49 transitions) */
  long start;         /* -1: random start cell; else a fixed cell code */
  double lat_scale;   /* <= 0: 6 x mean of the pool's per-op means */
  size_t budget;      /* measurements per episode, 0 = unlimited */
  /* 1: append the device estimate to the observation (PG_NAS_OBS_DIM_DEVICE
   * inputs): the posterior mean m of the per-op latencies t given the
   * latencies of the distinct cells visited so far in the episode, under
   * the prior of the synthetic devices, t ~ N(mu, diag sigma^2), and the
   * model lat(h) = sum_o n_o(h) t_o + noise of sd dev_noise * lat(h)
   * (n_o(h): number of edges with op o); encoded scale-free as
   * (m_o - min m) / (max m - min m). Only measured latencies enter it. */
  int obs_device;
  double dev_noise;   /* relative noise sd of the model (default 0.05) */
} pg_nasenv_config;

void pg_nasenv_config_default(pg_nasenv_config *c);

typedef struct pg_nasenv {
  const pg_nas_data *data;
  pg_nasenv_config cfg;
  double lat_scale;
  pg_nas_device device;
  double lut[PG_NAS_OPS];          /* current per-op latencies (SYNTHETIC, LUT) */
  const double *table;             /* TABLE device (not owned) */
  double table_min, table_max;
  double *table_sorted;            /* for percentiles (owned) */
  double lat_min, lat_max;         /* episode normalisation */
  /* episode state */
  int cell[PG_NAS_EDGES];
  size_t t;
  double lat;                      /* latency of the current cell (ms) */
  int hist_cell[PG_NAS_HIST][PG_NAS_EDGES];
  double hist_lat[PG_NAS_HIST];
  int hist_act[PG_NAS_HIST][2];
  size_t nhist, nact;
  double last_reward;
  /* measurements */
  unsigned char *measured;         /* PG_NAS_CELLS flags (owned, when budget > 0) */
  uint16_t *measured_list;
  size_t nmeasured;
  int refused;                     /* last step was refused by the budget */
  /* device estimate (obs_device): precision P and P m of the posterior */
  double post_prec[PG_NAS_OPS][PG_NAS_OPS], post_rhs[PG_NAS_OPS], post_mean[PG_NAS_OPS];
} pg_nasenv;

/* Number of inputs of e's observation (PG_NAS_OBS_DIM or, with
 * obs_device, PG_NAS_OBS_DIM_DEVICE). */
size_t pg_nasenv_obs_dim(const pg_nasenv *e);

/* Create an environment on shared data (SYNTHETIC device). cfg may be NULL
 * for the defaults. */
pg_status pg_nasenv_new(pg_nasenv **out, const pg_nas_data *data, const pg_nasenv_config *cfg);
void pg_nasenv_free(pg_nasenv *e);

/* Choose the device: synthetic (resampled at every reset), a fixed per-op
 * LUT (5 ms values), or a table of 15,625 measured latencies by code (kept
 * by reference: it must outlive the environment's use). */
void pg_nasenv_set_synthetic(pg_nasenv *e);
pg_status pg_nasenv_set_lut(pg_nasenv *e, const double *lut);
pg_status pg_nasenv_set_table(pg_nasenv *e, const double *table);

/* Draw one synthetic per-op LUT from the pool's fit (5 values). */
void pg_nas_sample_lut(const pg_nas_data *d, pg_nas_trunc trunc, pg_rng *rng, double *lut);

/* Reset (start < 0: cfg.start, which may be random) and step, writing the
 * observation; the pg_env interface wraps these. */
pg_status pg_nasenv_reset(pg_nasenv *e, pg_rng *rng, long start, double *obs);
pg_status pg_nasenv_step(pg_nasenv *e, const int *action, double *obs, double *reward,
                         int *terminal, int *truncated);
/* The pg_env view of e (for pg_ppo_learn). */
pg_env pg_nasenv_as_env(pg_nasenv *e);

/* Latency (ms) of a cell under the current device, its normalised value
 * l(h), the reward of a cell, and its latency percentile in [0, 100]: the
 * share of the 15,625 cells strictly faster plus half the ties. */
double pg_nasenv_latency(const pg_nasenv *e, long code);
double pg_nasenv_norm_latency(const pg_nasenv *e, long code);
double pg_nasenv_reward_of(const pg_nasenv *e, long code);
double pg_nasenv_percentile(const pg_nasenv *e, long code);

/* Cell code <-> ops. */
long pg_nas_encode(const int *ops);
void pg_nas_decode(long code, int *ops);
/* Current cell code. */
long pg_nasenv_cell(const pg_nasenv *e);

/* Fill obs from the current state (called by reset and step). */
void pg_nasenv_observe(const pg_nasenv *e, double *obs);

#endif
