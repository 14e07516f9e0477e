/*
 * evo.c -- SBX, polynomial mutation, NSGA-II survival and tournament
 * selection (see evo.h for the sources and contracts).
 */
#include "evo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "pareto.h"

/* Column kinds of the unit encoding: 1 for CHOICE columns, 0 otherwise;
 * also the number of levels of CHOICE columns. Returns unit_d columns. */
static size_t unit_kinds(const pg_space *s, unsigned char *choice, size_t *levels) {
  size_t c = 0;
  for (size_t j = 0; j < s->d; j++) {
    if (s->dims[j].kind == PG_DIM_FIXED) continue;
    choice[c] = s->dims[j].kind == PG_DIM_CHOICE;
    levels[c] = s->dims[j].levels;
    c++;
  }
  return c;
}

static double clamp01(double v) { return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v); }

/* Bounded SBX on one pair of unit values (Deb's NSGA-II code, realcross). */
static void sbx_pair(double x1, double x2, double eta, pg_rng *rng, double *c1, double *c2) {
  if (fabs(x1 - x2) <= 1e-14) {
    *c1 = x1;
    *c2 = x2;
    return;
  }
  double y1 = x1 < x2 ? x1 : x2, y2 = x1 < x2 ? x2 : x1;
  double r = pg_rng_uniform(rng), e1 = eta + 1.0;
  /* lower child */
  double beta = 1.0 + 2.0 * (y1 - 0.0) / (y2 - y1);
  double alpha = 2.0 - pow(beta, -e1);
  double bq = r <= 1.0 / alpha ? pow(r * alpha, 1.0 / e1) : pow(1.0 / (2.0 - r * alpha), 1.0 / e1);
  double a = clamp01(0.5 * ((y1 + y2) - bq * (y2 - y1)));
  /* upper child */
  beta = 1.0 + 2.0 * (1.0 - y2) / (y2 - y1);
  alpha = 2.0 - pow(beta, -e1);
  bq = r <= 1.0 / alpha ? pow(r * alpha, 1.0 / e1) : pow(1.0 / (2.0 - r * alpha), 1.0 / e1);
  double b = clamp01(0.5 * ((y1 + y2) + bq * (y2 - y1)));
  if (pg_rng_uniform(rng) < 0.5) {
    *c1 = b;
    *c2 = a;
  } else {
    *c1 = a;
    *c2 = b;
  }
}

pg_status pg_evo_sbx(const pg_space *s, const double *a, const double *b, size_t n, double pc,
                     double pvar, double eta, pg_rng *rng, double *child1, double *child2) {
  if (!s || !rng || (n && (!a || !b || !child1 || !child2))) return PG_EINVAL;
  if (!(pc >= 0.0 && pc <= 1.0) || !(pvar >= 0.0 && pvar <= 1.0) || !(eta >= 0.0) ||
      !isfinite(eta))
    return PG_EINVAL;
  if (n == 0) return PG_OK;
  size_t ud = s->unit_d, tot;
  if (pg_size_mul(n, ud ? ud : 1, &tot) != PG_OK) return PG_EINVAL;
  double *ua = malloc(4 * tot * sizeof *ua);
  unsigned char *choice = malloc(ud ? ud : 1);
  size_t *levels = malloc((ud ? ud : 1) * sizeof *levels);
  pg_status st = PG_OK;
  if (!ua || !choice || !levels) {
    st = PG_ENOMEM;
    goto done;
  }
  double *ub = ua + tot, *u1 = ub + tot, *u2 = u1 + tot;
  unit_kinds(s, choice, levels);
  if ((st = pg_space_encode(s, a, n, ua)) != PG_OK) goto done;
  if ((st = pg_space_encode(s, b, n, ub)) != PG_OK) goto done;
  for (size_t i = 0; i < n; i++) {
    const double *pa = ua + i * ud, *pb = ub + i * ud;
    double *q1 = u1 + i * ud, *q2 = u2 + i * ud;
    int cross = pg_rng_uniform(rng) < pc;
    for (size_t c = 0; c < ud; c++) {
      q1[c] = pa[c];
      q2[c] = pb[c];
      if (!cross || pg_rng_uniform(rng) >= pvar) continue;
      if (choice[c]) {
        q1[c] = pb[c];
        q2[c] = pa[c];
      } else {
        sbx_pair(pa[c], pb[c], eta, rng, q1 + c, q2 + c);
      }
    }
  }
  if ((st = pg_space_decode(s, u1, n, child1)) != PG_OK) goto done;
  st = pg_space_decode(s, u2, n, child2);
done:
  free(ua);
  free(choice);
  free(levels);
  return st;
}

/* Bounded polynomial mutation of one unit value (Deb's NSGA-II code). */
static double pm_value(double y, double eta, pg_rng *rng) {
  double d1 = y, d2 = 1.0 - y, r = pg_rng_uniform(rng), mp = 1.0 / (eta + 1.0), dq;
  if (r < 0.5) {
    double v = 2.0 * r + (1.0 - 2.0 * r) * pow(1.0 - d1, eta + 1.0);
    dq = pow(v, mp) - 1.0;
  } else {
    double v = 2.0 * (1.0 - r) + 2.0 * (r - 0.5) * pow(1.0 - d2, eta + 1.0);
    dq = 1.0 - pow(v, mp);
  }
  return clamp01(y + dq);
}

pg_status pg_evo_pm(const pg_space *s, const double *x, size_t n, double pm, double eta,
                    pg_rng *rng, double *out) {
  if (!s || !rng || (n && (!x || !out))) return PG_EINVAL;
  if (!(pm <= 1.0) || !(eta >= 0.0) || !isfinite(eta) || isnan(pm)) return PG_EINVAL;
  if (n == 0) return PG_OK;
  size_t ud = s->unit_d, tot;
  if (ud == 0) {
    memcpy(out, x, n * s->d * sizeof *out);
    return PG_OK;
  }
  if (pm <= 0.0) pm = 1.0 / (double)ud;
  if (pg_size_mul(n, ud, &tot) != PG_OK) return PG_EINVAL;
  double *u = malloc(tot * sizeof *u);
  unsigned char *choice = malloc(ud);
  size_t *levels = malloc(ud * sizeof *levels);
  pg_status st = PG_OK;
  if (!u || !choice || !levels) {
    st = PG_ENOMEM;
    goto done;
  }
  unit_kinds(s, choice, levels);
  if ((st = pg_space_encode(s, x, n, u)) != PG_OK) goto done;
  for (size_t i = 0; i < n; i++) {
    double *row = u + i * ud;
    for (size_t c = 0; c < ud; c++) {
      if (pg_rng_uniform(rng) >= pm) continue;
      if (choice[c]) {
        size_t L = levels[c];
        if (L < 2) continue;
        size_t cur = (size_t)floor(row[c] * (double)L);
        if (cur >= L) cur = L - 1;
        size_t nw = (size_t)pg_rng_below(rng, L - 1);
        if (nw >= cur) nw++;
        row[c] = ((double)nw + 0.5) / (double)L;
      } else {
        row[c] = pm_value(row[c], eta, rng);
      }
    }
  }
  st = pg_space_decode(s, u, n, out);
done:
  free(u);
  free(choice);
  free(levels);
  return st;
}

typedef struct surv_key {
  int rank;
  double crowd;
  size_t i;
} surv_key;

static int surv_cmp(const void *pa, const void *pb) {
  const surv_key *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  if (a->crowd != b->crowd) return a->crowd > b->crowd ? -1 : 1;
  return a->i < b->i ? -1 : (a->i > b->i);
}

pg_status pg_evo_survive(const double *Y, size_t n, size_t m, size_t k, size_t *idx, int *rank,
                         double *crowd) {
  if (m == 0 || k > n || (n && !Y) || (k && !idx)) return PG_EINVAL;
  if (n == 0) return PG_OK;
  int *rk = malloc(n * sizeof *rk);
  double *cd = malloc(n * sizeof *cd);
  surv_key *key = malloc(n * sizeof *key);
  pg_status st = PG_OK;
  if (!rk || !cd || !key) {
    st = PG_ENOMEM;
    goto done;
  }
  if ((st = pg_pareto_rank(Y, n, m, rk, NULL)) != PG_OK) goto done;
  if ((st = pg_pareto_crowding(Y, n, m, rk, cd)) != PG_OK) goto done;
  for (size_t i = 0; i < n; i++) key[i] = (surv_key){rk[i], cd[i], i};
  qsort(key, n, sizeof *key, surv_cmp);
  for (size_t i = 0; i < k; i++) idx[i] = key[i].i;
  if (rank) memcpy(rank, rk, n * sizeof *rank);
  if (crowd) memcpy(crowd, cd, n * sizeof *crowd);
done:
  free(rk);
  free(cd);
  free(key);
  return st;
}

pg_status pg_evo_tournament(const int *rank, const double *crowd, size_t n, size_t k, pg_rng *rng,
                            size_t *out) {
  if (!rng || (k && (!out || n == 0 || !rank || !crowd))) return PG_EINVAL;
  for (size_t t = 0; t < k; t++) {
    size_t i = (size_t)pg_rng_below(rng, n), j = i;
    if (n > 1) {
      j = (size_t)pg_rng_below(rng, n - 1);
      if (j >= i) j++;
    }
    size_t w;
    if (rank[i] != rank[j])
      w = rank[i] < rank[j] ? i : j;
    else if (crowd[i] != crowd[j])
      w = crowd[i] > crowd[j] ? i : j;
    else
      w = pg_rng_uniform(rng) < 0.5 ? i : j;
    out[t] = w;
  }
  return PG_OK;
}
