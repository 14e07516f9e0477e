/*
 * space.c -- mixed search spaces (see space.h for the encodings).
 */
#include "space.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sobol.h"

#define MAX_LEVELS 9007199254740992.0 /* 2^53: levels stay exact doubles */

pg_status pg_space_new(const pg_space_dim *dims, size_t d, pg_space **out) {
  if (!out) return PG_EINVAL;
  *out = NULL;
  if (!dims || d == 0 || d > ((size_t)1 << 20)) return PG_EINVAL;
  pg_space *s = calloc(1, sizeof *s);
  if (!s) return PG_ENOMEM;
  s->dims = malloc(d * sizeof *s->dims);
  if (!s->dims) {
    free(s);
    return PG_ENOMEM;
  }
  s->d = d;
  for (size_t j = 0; j < d; j++) {
    pg_space_dim m = dims[j];
    int ok = 1;
    switch (m.kind) {
    case PG_DIM_REAL:
      ok = isfinite(m.lo) && isfinite(m.hi) && m.lo < m.hi && (!m.log || m.lo > 0);
      m.levels = 0;
      m.step = 0;
      break;
    case PG_DIM_INT: {
      if (m.step == 0) m.step = 1;
      ok = isfinite(m.lo) && isfinite(m.hi) && m.lo == floor(m.lo) && m.hi == floor(m.hi) &&
           m.lo <= m.hi && isfinite(m.step) && m.step >= 1 && m.step == floor(m.step) &&
           (!m.log || m.lo > 0);
      if (ok) {
        double lv = floor((m.hi - m.lo) / m.step) + 1;
        ok = lv <= MAX_LEVELS;
        m.levels = ok ? (size_t)lv : 0;
        if (ok) m.hi = m.lo + (double)(m.levels - 1) * m.step; /* last grid value */
      }
      break;
    }
    case PG_DIM_ORDINAL:
    case PG_DIM_CHOICE:
      ok = m.levels >= 1 && (double)m.levels <= MAX_LEVELS;
      m.log = 0;
      break;
    case PG_DIM_FIXED:
      m.levels = 1;
      m.log = 0;
      break;
    default:
      ok = 0;
    }
    if (!ok) {
      pg_space_free(s);
      return PG_EINVAL;
    }
    s->dims[j] = m;
    if (m.kind != PG_DIM_FIXED) s->unit_d++;
    s->onehot_d += m.kind == PG_DIM_FIXED ? 0 : m.kind == PG_DIM_CHOICE ? m.levels : 1;
  }
  *out = s;
  return PG_OK;
}

void pg_space_free(pg_space *s) {
  if (!s) return;
  free(s->dims);
  free(s);
}

double pg_space_size(const pg_space *s) {
  double n = 1;
  for (size_t j = 0; j < s->d; j++) {
    if (s->dims[j].kind == PG_DIM_REAL) return INFINITY;
    n *= (double)s->dims[j].levels;
  }
  return n;
}

/* ---- one dimension ---- */

static double clamp01(double u) { return u < 0 ? 0 : u > 1 ? 1 : u; }

/* Level of a unit coordinate among k equal strata. */
static double stratum(double u, size_t k) {
  double i = floor(clamp01(u) * (double)k);
  return i > (double)(k - 1) ? (double)(k - 1) : i;
}

/* Nearest grid value of an INT dimension (clamped). */
static double int_snap(const pg_space_dim *m, double v) {
  double i = nearbyint((v - m->lo) / m->step);
  if (i < 0) i = 0;
  if (i > (double)(m->levels - 1)) i = (double)(m->levels - 1);
  return m->lo + i * m->step;
}

static double level_snap(const pg_space_dim *m, double v) {
  double i = nearbyint(v);
  if (i < 0) i = 0;
  if (i > (double)(m->levels - 1)) i = (double)(m->levels - 1);
  return i;
}

static double snap_dim(const pg_space_dim *m, double v) {
  switch (m->kind) {
  case PG_DIM_REAL: return v < m->lo ? m->lo : v > m->hi ? m->hi : v;
  case PG_DIM_INT: return int_snap(m, v);
  case PG_DIM_ORDINAL:
  case PG_DIM_CHOICE: return level_snap(m, v);
  default: return 0;
  }
}

/* Native value -> unit coordinate (value assumed valid or at least finite). */
static double encode_dim(const pg_space_dim *m, double v) {
  switch (m->kind) {
  case PG_DIM_REAL:
    if (m->log) return clamp01((log(v) - log(m->lo)) / (log(m->hi) - log(m->lo)));
    return clamp01((v - m->lo) / (m->hi - m->lo));
  case PG_DIM_INT:
    if (m->levels == 1) return 0.5;
    if (m->log) return clamp01((log(v) - log(m->lo)) / (log(m->hi) - log(m->lo)));
    return (nearbyint((v - m->lo) / m->step) + 0.5) / (double)m->levels;
  case PG_DIM_ORDINAL:
  case PG_DIM_CHOICE: return (level_snap(m, v) + 0.5) / (double)m->levels;
  default: return 0.5;
  }
}

/* Unit coordinate -> valid native value. */
static double decode_dim(const pg_space_dim *m, double u) {
  u = clamp01(u);
  switch (m->kind) {
  case PG_DIM_REAL:
    if (u == 0 || u == 1) return u == 0 ? m->lo : m->hi; /* bounds exactly */
    if (m->log) return snap_dim(m, exp(log(m->lo) + u * (log(m->hi) - log(m->lo))));
    return snap_dim(m, m->lo + u * (m->hi - m->lo));
  case PG_DIM_INT:
    if (m->levels == 1) return m->lo;
    if (m->log) return int_snap(m, exp(log(m->lo) + u * (log(m->hi) - log(m->lo))));
    return m->lo + stratum(u, m->levels) * m->step;
  case PG_DIM_ORDINAL:
  case PG_DIM_CHOICE: return stratum(u, m->levels);
  default: return 0;
  }
}

static pg_status check_nan(const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isnan(x[i])) return PG_EDOM;
  return PG_OK;
}

/* ---- batches ---- */

pg_status pg_space_encode(const pg_space *s, const double *x, size_t n, double *out) {
  pg_status st = check_nan(x, n * s->d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++) {
    size_t c = 0;
    for (size_t j = 0; j < s->d; j++) {
      const pg_space_dim *m = &s->dims[j];
      if (m->kind == PG_DIM_FIXED) continue;
      out[i * s->unit_d + c++] = encode_dim(m, snap_dim(m, x[i * s->d + j]));
    }
  }
  return PG_OK;
}

pg_status pg_space_decode(const pg_space *s, const double *u, size_t n, double *out) {
  pg_status st = check_nan(u, n * s->unit_d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++) {
    size_t c = 0;
    for (size_t j = 0; j < s->d; j++) {
      const pg_space_dim *m = &s->dims[j];
      out[i * s->d + j] = m->kind == PG_DIM_FIXED ? 0 : decode_dim(m, u[i * s->unit_d + c++]);
    }
  }
  return PG_OK;
}

pg_status pg_space_onehot(const pg_space *s, const double *x, size_t n, double *out) {
  pg_status st = check_nan(x, n * s->d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++) {
    double *row = out + i * s->onehot_d;
    size_t c = 0;
    for (size_t j = 0; j < s->d; j++) {
      const pg_space_dim *m = &s->dims[j];
      double v = snap_dim(m, x[i * s->d + j]);
      if (m->kind == PG_DIM_FIXED) continue;
      if (m->kind == PG_DIM_CHOICE) {
        for (size_t k = 0; k < m->levels; k++) row[c + k] = 0;
        row[c + (size_t)v] = 1;
        c += m->levels;
      } else {
        row[c++] = encode_dim(m, v);
      }
    }
  }
  return PG_OK;
}

pg_status pg_space_from_onehot(const pg_space *s, const double *h, size_t n, double *out) {
  pg_status st = check_nan(h, n * s->onehot_d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++) {
    const double *row = h + i * s->onehot_d;
    size_t c = 0;
    for (size_t j = 0; j < s->d; j++) {
      const pg_space_dim *m = &s->dims[j];
      double *o = out + i * s->d + j;
      if (m->kind == PG_DIM_FIXED) {
        *o = 0;
      } else if (m->kind == PG_DIM_CHOICE) {
        size_t best = 0;
        for (size_t k = 1; k < m->levels; k++)
          if (row[c + k] > row[c + best]) best = k;
        *o = (double)best;
        c += m->levels;
      } else {
        *o = decode_dim(m, row[c++]);
      }
    }
  }
  return PG_OK;
}

pg_status pg_space_snap(const pg_space *s, const double *x, size_t n, double *out) {
  pg_status st = check_nan(x, n * s->d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < s->d; j++) out[i * s->d + j] = snap_dim(&s->dims[j], x[i * s->d + j]);
  return PG_OK;
}

pg_status pg_space_check(const pg_space *s, const double *x, size_t n, size_t *bad_row,
                         size_t *bad_dim) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < s->d; j++) {
      double v = x[i * s->d + j];
      pg_status st = isnan(v) ? PG_EDOM : snap_dim(&s->dims[j], v) != v ? PG_ERANGE : PG_OK;
      if (st != PG_OK) {
        if (bad_row) *bad_row = i;
        if (bad_dim) *bad_dim = j;
        return st;
      }
    }
  return PG_OK;
}

pg_status pg_space_sample(const pg_space *s, pg_space_method method, size_t n, uint64_t offset,
                          pg_rng *rng, double *out) {
  if (n == 0) return PG_OK;
  if (!rng && method != PG_SAMPLE_SOBOL) return PG_EINVAL;
  size_t k = s->unit_d;
  if (k == 0) { /* only fixed dimensions: every sample is the one point */
    memset(out, 0, n * s->d * sizeof *out);
    return PG_OK;
  }
  if (n > SIZE_MAX / k / sizeof(double)) return PG_ENOMEM;
  double *u = malloc(n * k * sizeof *u);
  if (!u) return PG_ENOMEM;
  pg_status st = PG_OK;
  switch (method) {
  case PG_SAMPLE_UNIFORM:
    for (size_t i = 0; i < n * k; i++) u[i] = pg_rng_uniform(rng);
    break;
  case PG_SAMPLE_LHS: pg_rng_lhs(rng, n, k, u); break;
  case PG_SAMPLE_SOBOL: {
    pg_sobol *sob = NULL;
    st = pg_sobol_new(k, &sob);
    if (st == PG_OK && rng) pg_sobol_scramble(sob, rng);
    if (st == PG_OK) st = pg_sobol_seek(sob, offset);
    if (st == PG_OK) st = pg_sobol_next(sob, n, u);
    pg_sobol_free(sob);
    break;
  }
  default: st = PG_EINVAL;
  }
  if (st == PG_OK) st = pg_space_decode(s, u, n, out);
  free(u);
  return st;
}

/* ---- neighbourhoods and variation ---- */

size_t pg_space_max_neighbours(const pg_space *s) {
  size_t c = 0;
  for (size_t j = 0; j < s->d; j++) {
    const pg_space_dim *m = &s->dims[j];
    c += m->kind == PG_DIM_CHOICE ? m->levels - 1 : m->kind == PG_DIM_FIXED ? 0 : 2;
  }
  return c;
}

pg_status pg_space_neighbours(const pg_space *s, const double *x, double delta, double *out,
                              size_t *count) {
  if (!isfinite(delta) || delta < 0) return PG_EINVAL;
  double *base = malloc(s->d * sizeof *base);
  if (!base) return PG_ENOMEM;
  pg_status st = pg_space_snap(s, x, 1, base);
  if (st != PG_OK) {
    free(base);
    return st;
  }
  size_t c = 0;
  for (size_t j = 0; j < s->d; j++) {
    const pg_space_dim *m = &s->dims[j];
    double cand[2];
    size_t nc = 0;
    switch (m->kind) {
    case PG_DIM_REAL: {
      double u = encode_dim(m, base[j]);
      cand[nc++] = decode_dim(m, u - delta);
      cand[nc++] = decode_dim(m, u + delta);
      break;
    }
    case PG_DIM_INT:
      cand[nc++] = base[j] - m->step;
      cand[nc++] = base[j] + m->step;
      break;
    case PG_DIM_ORDINAL:
      cand[nc++] = base[j] - 1;
      cand[nc++] = base[j] + 1;
      break;
    case PG_DIM_CHOICE:
      for (size_t k = 0; k < m->levels; k++) {
        if ((double)k == base[j]) continue;
        memcpy(out + c * s->d, base, s->d * sizeof *base);
        out[c * s->d + j] = (double)k;
        c++;
      }
      break;
    default: break;
    }
    for (size_t t = 0; t < nc; t++) {
      double v = cand[t];
      if (v == base[j] || snap_dim(m, v) != v) continue; /* outside or no move */
      memcpy(out + c * s->d, base, s->d * sizeof *base);
      out[c * s->d + j] = v;
      c++;
    }
  }
  *count = c;
  free(base);
  return PG_OK;
}

/* Mutate dimension m of value v. */
static double mutate_dim(const pg_space_dim *m, double v, double sigma, pg_rng *rng) {
  switch (m->kind) {
  case PG_DIM_REAL: return decode_dim(m, encode_dim(m, v) + sigma * pg_rng_normal(rng));
  case PG_DIM_INT:
  case PG_DIM_ORDINAL: {
    if (m->levels <= 1) return v;
    double w = m->kind == PG_DIM_INT ? decode_dim(m, encode_dim(m, v) + sigma * pg_rng_normal(rng))
                                     : stratum(encode_dim(m, v) + sigma * pg_rng_normal(rng),
                                               m->levels);
    if (w != v) return w;
    /* move by one level at least, away from a bound */
    double step = m->kind == PG_DIM_INT ? m->step : 1;
    double lo = m->kind == PG_DIM_INT ? m->lo : 0;
    double hi = m->kind == PG_DIM_INT ? m->hi : (double)(m->levels - 1);
    int up = v <= lo ? 1 : v >= hi ? 0 : (int)(pg_rng_next(rng) >> 63);
    return up ? v + step : v - step;
  }
  case PG_DIM_CHOICE: {
    if (m->levels <= 1) return v;
    double k = (double)pg_rng_below(rng, m->levels - 1);
    return k >= v ? k + 1 : k;
  }
  default: return 0;
  }
}

pg_status pg_space_mutate(const pg_space *s, const double *x, size_t n, double prob,
                          double sigma, pg_rng *rng, double *out) {
  if (!isfinite(prob) || !isfinite(sigma) || sigma < 0) return PG_EINVAL;
  pg_status st = pg_space_snap(s, x, n, out);
  if (st != PG_OK || s->unit_d == 0) return st;
  if (prob <= 0) prob = 1.0 / (double)s->unit_d;
  for (size_t i = 0; i < n; i++) {
    double *row = out + i * s->d;
    int any = 0;
    for (size_t j = 0; j < s->d; j++) {
      if (s->dims[j].kind == PG_DIM_FIXED) continue;
      if (pg_rng_uniform(rng) < prob) {
        row[j] = mutate_dim(&s->dims[j], row[j], sigma, rng);
        any = 1;
      }
    }
    if (!any) { /* pick one non-fixed dimension */
      size_t t = (size_t)pg_rng_below(rng, s->unit_d), c = 0;
      for (size_t j = 0; j < s->d; j++) {
        if (s->dims[j].kind == PG_DIM_FIXED) continue;
        if (c++ == t) {
          row[j] = mutate_dim(&s->dims[j], row[j], sigma, rng);
          break;
        }
      }
    }
  }
  return PG_OK;
}

pg_status pg_space_crossover(const pg_space *s, const double *a, const double *b, size_t n,
                             pg_rng *rng, double *child1, double *child2) {
  pg_status st = pg_space_snap(s, a, n, child1);
  if (st == PG_OK) st = pg_space_snap(s, b, n, child2);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n * s->d; i++) {
    if (pg_rng_next(rng) >> 63) {
      double t = child1[i];
      child1[i] = child2[i];
      child2[i] = t;
    }
  }
  return PG_OK;
}

pg_status pg_space_hash(const pg_space *s, const double *x, size_t n, uint64_t *out) {
  pg_status st = check_nan(x, n * s->d);
  if (st != PG_OK) return st;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t j = 0; j < s->d; j++) {
      double v = snap_dim(&s->dims[j], x[i * s->d + j]) + 0.0; /* -0 -> +0 */
      uint64_t bits;
      memcpy(&bits, &v, sizeof bits);
      for (int b = 0; b < 8; b++) {
        h ^= (bits >> (8 * b)) & 0xffu;
        h *= 0x100000001b3ULL;
      }
    }
    out[i] = h;
  }
  return PG_OK;
}
