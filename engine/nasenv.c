/* nasenv.c -- Sim-is-More's NAS-Bench-201 environment (see nasenv.h). */
#include "nasenv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

#define SLOT (PG_NAS_EDGES * PG_NAS_OPS + 1) /* one state slot: 30 one-hot + latency */
#define ACT_OFF (6 * SLOT)
#define ACT_SLOT (PG_NAS_EDGES + PG_NAS_OPS)

pg_status pg_nas_data_new(pg_nas_data **out, const double *tf, const double *pool, size_t npool) {
  *out = NULL;
  if (npool < 1 || npool > PG_NAS_MAX_POOL) return PG_EINVAL;
  if (!pg_all_finite(tf, PG_NAS_CELLS) || !pg_all_finite(pool, npool * PG_NAS_OPS)) return PG_EDOM;
  for (size_t i = 0; i < npool * PG_NAS_OPS; i++)
    if (!(pool[i] > 0.0)) return PG_EINVAL;
  pg_nas_data *d = calloc(1, sizeof *d);
  if (!d) return PG_ENOMEM;
  d->pool = malloc(npool * PG_NAS_OPS * sizeof *d->pool);
  if (!d->pool) {
    free(d);
    return PG_ENOMEM;
  }
  memcpy(d->tf, tf, sizeof d->tf);
  memcpy(d->pool, pool, npool * PG_NAS_OPS * sizeof *pool);
  d->npool = npool;
  /* per-op mean and population standard deviation (numpy's default, as the
     public code) */
  for (int o = 0; o < PG_NAS_OPS; o++) {
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < npool; i++) m += pool[i * PG_NAS_OPS + o];
    m /= (double)npool;
    for (size_t i = 0; i < npool; i++) {
      double x = pool[i * PG_NAS_OPS + o] - m;
      v += x * x;
    }
    d->mu[o] = m;
    d->sigma[o] = sqrt(v / (double)npool);
  }
  *out = d;
  return PG_OK;
}

void pg_nas_data_free(pg_nas_data *d) {
  if (!d) return;
  free(d->pool);
  free(d);
}

void pg_nasenv_config_default(pg_nasenv_config *c) {
  memset(c, 0, sizeof *c);
  c->reward = PG_NAS_REWARD_PAPER;
  c->trunc = PG_NAS_TRUNC_PAPER;
  c->obs_latency = PG_NAS_OBS_SCALED;
  c->horizon = 50;
  c->code_horizon = 0;
  c->start = -1;
  c->lat_scale = 0.0;
  c->budget = 0;
  c->obs_device = 0;
  c->dev_noise = 0.05;
}

size_t pg_nasenv_obs_dim(const pg_nasenv *e) {
  return e->cfg.obs_device ? PG_NAS_OBS_DIM_DEVICE : PG_NAS_OBS_DIM;
}

long pg_nas_encode(const int *ops) {
  long c = 0;
  for (int e = 0; e < PG_NAS_EDGES; e++) c = c * PG_NAS_OPS + ops[e];
  return c;
}

void pg_nas_decode(long code, int *ops) {
  for (int e = PG_NAS_EDGES; e-- > 0;) {
    ops[e] = (int)(code % PG_NAS_OPS);
    code /= PG_NAS_OPS;
  }
}

static void lut_range(pg_nasenv *e) {
  double lo = e->lut[0], hi = e->lut[0];
  for (int o = 1; o < PG_NAS_OPS; o++) {
    if (e->lut[o] < lo) lo = e->lut[o];
    if (e->lut[o] > hi) hi = e->lut[o];
  }
  e->lat_min = PG_NAS_EDGES * lo;
  e->lat_max = PG_NAS_EDGES * hi;
}

pg_status pg_nasenv_new(pg_nasenv **out, const pg_nas_data *data, const pg_nasenv_config *cfg) {
  *out = NULL;
  pg_nasenv_config c;
  if (cfg)
    c = *cfg;
  else
    pg_nasenv_config_default(&c);
  if (c.horizon < 2 || c.horizon > 100000) return PG_EINVAL;
  if (c.start < -1 || c.start >= PG_NAS_CELLS) return PG_EINVAL;
  if (!isfinite(c.lat_scale) || c.budget > PG_NAS_CELLS) return PG_EINVAL;
  if ((c.obs_device != 0 && c.obs_device != 1) || !(c.dev_noise > 0.0 && c.dev_noise < 10.0))
    return PG_EINVAL;
  if ((unsigned)c.reward > PG_NAS_REWARD_CODE || (unsigned)c.trunc > PG_NAS_TRUNC_CODE ||
      (unsigned)c.obs_latency > PG_NAS_OBS_NORMALISED)
    return PG_EINVAL;
  pg_nasenv *e = calloc(1, sizeof *e);
  if (!e) return PG_ENOMEM;
  e->data = data;
  e->cfg = c;
  if (c.lat_scale > 0.0) {
    e->lat_scale = c.lat_scale;
  } else {
    double m = 0.0;
    for (int o = 0; o < PG_NAS_OPS; o++) m += data->mu[o];
    e->lat_scale = PG_NAS_EDGES * m / PG_NAS_OPS;
  }
  if (c.budget > 0 || c.obs_device) {
    e->measured = calloc(PG_NAS_CELLS, 1);
    e->measured_list = malloc(PG_NAS_CELLS * sizeof *e->measured_list);
    if (!e->measured || !e->measured_list) {
      pg_nasenv_free(e);
      return PG_ENOMEM;
    }
  }
  e->device = PG_NAS_DEV_SYNTHETIC;
  memcpy(e->lut, data->mu, sizeof e->lut);
  lut_range(e);
  *out = e;
  return PG_OK;
}

void pg_nasenv_free(pg_nasenv *e) {
  if (!e) return;
  free(e->table_sorted);
  free(e->measured);
  free(e->measured_list);
  free(e);
}

void pg_nasenv_set_synthetic(pg_nasenv *e) { e->device = PG_NAS_DEV_SYNTHETIC; }

pg_status pg_nasenv_set_lut(pg_nasenv *e, const double *lut) {
  for (int o = 0; o < PG_NAS_OPS; o++)
    if (!isfinite(lut[o]) || !(lut[o] >= 0.0)) return PG_EDOM;
  memcpy(e->lut, lut, sizeof e->lut);
  e->device = PG_NAS_DEV_LUT;
  lut_range(e);
  return PG_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

pg_status pg_nasenv_set_table(pg_nasenv *e, const double *table) {
  if (!pg_all_finite(table, PG_NAS_CELLS)) return PG_EDOM;
  if (!e->table_sorted) {
    e->table_sorted = malloc(PG_NAS_CELLS * sizeof *e->table_sorted);
    if (!e->table_sorted) return PG_ENOMEM;
  }
  memcpy(e->table_sorted, table, PG_NAS_CELLS * sizeof *table);
  qsort(e->table_sorted, PG_NAS_CELLS, sizeof *table, cmp_double);
  e->table = table;
  e->table_min = e->table_sorted[0];
  e->table_max = e->table_sorted[PG_NAS_CELLS - 1];
  e->lat_min = e->table_min;
  e->lat_max = e->table_max;
  e->device = PG_NAS_DEV_TABLE;
  return PG_OK;
}

/* Standard normal truncated to [a, b] by rejection (a < b, the interval
 * holding at least ~0.1% of the mass in every use here). */
static double trunc_normal(pg_rng *rng, double a, double b) {
  for (int i = 0; i < 100000; i++) {
    double z = pg_rng_normal(rng);
    if (z >= a && z <= b) return z;
  }
  return a > 0.0 ? a : (b < 0.0 ? b : 0.0);
}

void pg_nas_sample_lut(const pg_nas_data *d, pg_nas_trunc trunc, pg_rng *rng, double *lut) {
  for (int o = 0; o < PG_NAS_OPS; o++) {
    double mu = d->mu[o], sd = d->sigma[o];
    if (sd <= 0.0) {
      lut[o] = mu;
      continue;
    }
    if (trunc == PG_NAS_TRUNC_CODE) {
      /* scipy truncnorm(a=1e-3, b=1e3, loc=mu, scale=sd): bounds in sd units.
         |z| is half-normal; reject the sliver below 1e-3. */
      double z;
      do z = fabs(pg_rng_normal(rng));
      while (z < 1e-3 || z > 1e3);
      lut[o] = mu + sd * z;
    } else {
      lut[o] = mu + sd * trunc_normal(rng, (1e-3 - mu) / sd, (1e3 - mu) / sd);
    }
  }
}

double pg_nasenv_latency(const pg_nasenv *e, long code) {
  if (e->device == PG_NAS_DEV_TABLE) return e->table[code];
  int ops[PG_NAS_EDGES];
  pg_nas_decode(code, ops);
  double s = 0.0;
  for (int i = 0; i < PG_NAS_EDGES; i++) s += e->lut[ops[i]];
  return s;
}

static double normalise(const pg_nasenv *e, double lat) {
  double span = e->lat_max - e->lat_min;
  return span > 0.0 ? (lat - e->lat_min) / span : 0.0;
}

double pg_nasenv_norm_latency(const pg_nasenv *e, long code) {
  return normalise(e, pg_nasenv_latency(e, code));
}

static double reward_from(const pg_nasenv *e, double tf, double l) {
  if (e->cfg.reward == PG_NAS_REWARD_CODE) return tf * pow(1e-3 + l, -0.3) - 1.0;
  return tf + (1.0 - l);
}

double pg_nasenv_reward_of(const pg_nasenv *e, long code) {
  return reward_from(e, e->data->tf[code], pg_nasenv_norm_latency(e, code));
}

double pg_nasenv_percentile(const pg_nasenv *e, long code) {
  double lat = pg_nasenv_latency(e, code);
  double tol = 1e-9 * (fabs(lat) + 1e-12);
  if (e->device == PG_NAS_DEV_TABLE) {
    double below = 0, ties = 0;
    for (size_t i = 0; i < PG_NAS_CELLS; i++) {
      double x = e->table_sorted[i];
      if (x < lat - tol)
        below++;
      else if (x <= lat + tol)
        ties++;
      else
        break;
    }
    return 100.0 * (below + 0.5 * ties) / PG_NAS_CELLS;
  }
  /* LUT: the latency depends only on the op counts (n_0..n_4), sum 6; a
     composition occurs 6! / prod n_o! times among the 15,625 cells */
  static const double fact[7] = {1, 1, 2, 6, 24, 120, 720};
  double below = 0, ties = 0;
  int n[PG_NAS_OPS];
  for (n[0] = 0; n[0] <= 6; n[0]++)
    for (n[1] = 0; n[0] + n[1] <= 6; n[1]++)
      for (n[2] = 0; n[0] + n[1] + n[2] <= 6; n[2]++)
        for (n[3] = 0; n[0] + n[1] + n[2] + n[3] <= 6; n[3]++) {
          n[4] = 6 - n[0] - n[1] - n[2] - n[3];
          double l = 0, w = 720;
          for (int o = 0; o < PG_NAS_OPS; o++) {
            l += n[o] * e->lut[o];
            w /= fact[n[o]];
          }
          if (l < lat - tol)
            below += w;
          else if (l <= lat + tol)
            ties += w;
        }
  return 100.0 * (below + 0.5 * ties) / PG_NAS_CELLS;
}

long pg_nasenv_cell(const pg_nasenv *e) { return pg_nas_encode(e->cell); }

void pg_nasenv_observe(const pg_nasenv *e, double *obs) {
  memset(obs, 0, pg_nasenv_obs_dim(e) * sizeof *obs);
  if (e->cfg.obs_device) {
    const double *m = e->post_mean;
    double lo = m[0], hi = m[0];
    for (int o = 1; o < PG_NAS_OPS; o++) {
      lo = m[o] < lo ? m[o] : lo;
      hi = m[o] > hi ? m[o] : hi;
    }
    for (int o = 0; o < PG_NAS_OPS; o++)
      obs[PG_NAS_OBS_DIM + o] = hi > lo ? (m[o] - lo) / (hi - lo) : 0.0;
  }
  int norm = e->cfg.obs_latency == PG_NAS_OBS_NORMALISED;
  for (int i = 0; i < PG_NAS_EDGES; i++) obs[i * PG_NAS_OPS + e->cell[i]] = 1.0;
  obs[SLOT - 1] = norm ? normalise(e, e->lat) : e->lat / e->lat_scale;
  for (size_t k = 0; k < e->nhist; k++) {
    double *s = obs + (k + 1) * SLOT;
    for (int i = 0; i < PG_NAS_EDGES; i++) s[i * PG_NAS_OPS + e->hist_cell[k][i]] = 1.0;
    s[SLOT - 1] = norm ? normalise(e, e->hist_lat[k]) : e->hist_lat[k] / e->lat_scale;
  }
  for (size_t k = 0; k < e->nact; k++) {
    double *a = obs + ACT_OFF + k * ACT_SLOT;
    a[e->hist_act[k][0]] = 1.0;
    a[PG_NAS_EDGES + e->hist_act[k][1]] = 1.0;
  }
}

/* Posterior mean of the per-op latencies from the precision P and P m
 * (5 x 5 Cholesky; P is positive definite: prior plus rank-one terms). */
static void posterior_solve(pg_nasenv *e) {
  double L[PG_NAS_OPS][PG_NAS_OPS] = {{0}}, y[PG_NAS_OPS];
  for (int i = 0; i < PG_NAS_OPS; i++)
    for (int j = 0; j <= i; j++) {
      double s = e->post_prec[i][j];
      for (int k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i == j)
        L[i][i] = sqrt(s > 1e-300 ? s : 1e-300);
      else
        L[i][j] = s / L[j][j];
    }
  for (int i = 0; i < PG_NAS_OPS; i++) {
    double s = e->post_rhs[i];
    for (int k = 0; k < i; k++) s -= L[i][k] * y[k];
    y[i] = s / L[i][i];
  }
  for (int i = PG_NAS_OPS; i-- > 0;) {
    double s = y[i];
    for (int k = i + 1; k < PG_NAS_OPS; k++) s -= L[k][i] * e->post_mean[k];
    e->post_mean[i] = s / L[i][i];
  }
}

/* Prior of the device estimate: the synthetic devices' N(mu, sigma^2). */
static void posterior_reset(pg_nasenv *e) {
  memset(e->post_prec, 0, sizeof e->post_prec);
  for (int o = 0; o < PG_NAS_OPS; o++) {
    double sd = e->data->sigma[o] > 1e-9 * e->data->mu[o] ? e->data->sigma[o] : 1e-9 * e->data->mu[o];
    e->post_prec[o][o] = 1.0 / (sd * sd);
    e->post_rhs[o] = e->data->mu[o] / (sd * sd);
    e->post_mean[o] = e->data->mu[o];
  }
}

/* Add the measured latency of a cell to the device estimate. */
static void posterior_add(pg_nasenv *e, long code, double lat) {
  int ops[PG_NAS_EDGES];
  double n[PG_NAS_OPS] = {0};
  pg_nas_decode(code, ops);
  for (int i = 0; i < PG_NAS_EDGES; i++) n[ops[i]] += 1.0;
  double sd = e->cfg.dev_noise * fabs(lat) + 1e-6 * e->lat_scale;
  double w = 1.0 / (sd * sd);
  for (int i = 0; i < PG_NAS_OPS; i++) {
    for (int j = 0; j < PG_NAS_OPS; j++) e->post_prec[i][j] += w * n[i] * n[j];
    e->post_rhs[i] += w * n[i] * lat;
  }
  posterior_solve(e);
}

static void measure(pg_nasenv *e, long code) {
  if (!e->measured || e->measured[code]) return;
  e->measured[code] = 1;
  e->measured_list[e->nmeasured++] = (uint16_t)code;
  if (e->cfg.obs_device) posterior_add(e, code, pg_nasenv_latency(e, code));
}

pg_status pg_nasenv_reset(pg_nasenv *e, pg_rng *rng, long start, double *obs) {
  if (start >= PG_NAS_CELLS) return PG_EINVAL;
  if (start < 0) start = e->cfg.start;
  if (start < 0) {
    if (!rng) return PG_EINVAL;
    start = (long)pg_rng_below(rng, PG_NAS_CELLS);
  }
  if (e->device == PG_NAS_DEV_SYNTHETIC) {
    if (!rng) return PG_EINVAL;
    pg_nas_sample_lut(e->data, e->cfg.trunc, rng, e->lut);
    lut_range(e);
  }
  pg_nas_decode(start, e->cell);
  e->t = 0;
  e->nhist = e->nact = 0;
  e->lat = pg_nasenv_latency(e, start);
  e->last_reward = 0.0;
  e->refused = 0;
  if (e->cfg.obs_device) posterior_reset(e);
  if (e->measured) {
    for (size_t i = 0; i < e->nmeasured; i++) e->measured[e->measured_list[i]] = 0;
    e->nmeasured = 0;
    measure(e, start);
  }
  if (obs) pg_nasenv_observe(e, obs);
  return PG_OK;
}

pg_status pg_nasenv_step(pg_nasenv *e, const int *action, double *obs, double *reward,
                         int *terminal, int *truncated) {
  int edge = action[0], op = action[1];
  if (edge < 0 || edge >= PG_NAS_EDGES || op < 0 || op >= PG_NAS_OPS) return PG_ERANGE;
  int next[PG_NAS_EDGES];
  memcpy(next, e->cell, sizeof next);
  next[edge] = op;
  long code = pg_nas_encode(next);
  *terminal = 0;
  e->refused = 0;
  if (e->cfg.budget > 0 && e->measured && !e->measured[code] &&
      e->nmeasured >= e->cfg.budget) {
    /* the budget is spent: the edit is refused and the episode ends */
    e->refused = 1;
    *terminal = 1;
    *truncated = 0;
    *reward = e->last_reward = pg_nasenv_reward_of(e, pg_nas_encode(e->cell));
    if (obs) pg_nasenv_observe(e, obs);
    return PG_OK;
  }
  /* push the current state and the action into the history, newest first */
  size_t nh = e->nhist < PG_NAS_HIST ? e->nhist + 1 : PG_NAS_HIST;
  memmove(e->hist_cell[1], e->hist_cell[0], (nh - 1) * sizeof e->hist_cell[0]);
  memmove(e->hist_lat + 1, e->hist_lat, (nh - 1) * sizeof e->hist_lat[0]);
  memcpy(e->hist_cell[0], e->cell, sizeof e->cell);
  e->hist_lat[0] = e->lat;
  e->nhist = nh;
  size_t na = e->nact < PG_NAS_HIST ? e->nact + 1 : PG_NAS_HIST;
  memmove(e->hist_act[1], e->hist_act[0], (na - 1) * sizeof e->hist_act[0]);
  e->hist_act[0][0] = edge;
  e->hist_act[0][1] = op;
  e->nact = na;
  memcpy(e->cell, next, sizeof next);
  e->lat = pg_nasenv_latency(e, code);
  measure(e, code);
  e->t++;
  *reward = e->last_reward = reward_from(e, e->data->tf[code], normalise(e, e->lat));
  size_t limit = e->cfg.code_horizon ? e->cfg.horizon - 1 : e->cfg.horizon;
  *truncated = e->t >= limit;
  if (obs) pg_nasenv_observe(e, obs);
  return PG_OK;
}

static pg_status env_reset(void *ctx, pg_rng *rng, double *obs) {
  return pg_nasenv_reset(ctx, rng, -1, obs);
}

static pg_status env_step(void *ctx, pg_rng *rng, const int *action, double *obs, double *reward,
                          int *terminal, int *truncated) {
  (void)rng;
  return pg_nasenv_step(ctx, action, obs, reward, terminal, truncated);
}

pg_env pg_nasenv_as_env(pg_nasenv *e) {
  pg_env v;
  memset(&v, 0, sizeof v);
  v.obs_dim = pg_nasenv_obs_dim(e);
  v.nheads = 2;
  v.head_sizes[0] = PG_NAS_EDGES;
  v.head_sizes[1] = PG_NAS_OPS;
  v.ctx = e;
  v.reset = env_reset;
  v.step = env_step;
  return v;
}
