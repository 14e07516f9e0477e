/*
 * pareto.c -- non-dominated sorting, Pareto filter, crowding distance.
 *
 * Every algorithm first sorts the points lexicographically and merges
 * identical rows (they share a rank). In lexicographic order a point can
 * only be dominated by points before it, and an earlier distinct point q
 * dominates p iff q_j <= p_j for j >= 1 (q_0 <= p_0 holds already). Points
 * are then assigned to fronts in that order; "front k dominates p" is
 * monotone in k (whatever dominates p in front k+1 is dominated by a point
 * of front k), so the front of p is found by binary search.
 *
 * References: M. T. Jensen, "Reducing the run-time complexity of multiobjective
 * EAs: the NSGA-II and other algorithms", IEEE TEVC 7(5), 2003; H. T. Kung,
 * F. Luccio and F. P. Preparata, "On finding the maxima of a set of vectors",
 * JACM 22(4), 1975; X. Zhang, Y. Tian, R. Cheng and Y. Jin, "An efficient
 * approach to nondominated sorting for evolutionary multiobjective
 * optimization", IEEE TEVC 19(2), 2015; K. Deb et al., "A fast and elitist
 * multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2), 2002.
 */
#define _GNU_SOURCE /* qsort_r */
#include "pareto.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stair.h"

int pg_pareto_dominates(const double *a, const double *b, size_t d) {
  int strict = 0;
  for (size_t j = 0; j < d; j++) {
    if (a[j] > b[j]) return 0;
    if (a[j] < b[j]) strict = 1;
  }
  return strict;
}

typedef struct lexctx {
  const double *Y;
  size_t d;
} lexctx;

static int cmp_lex(const void *pa, const void *pb, void *pc) {
  const lexctx *c = pc;
  const double *a = c->Y + *(const int32_t *)pa * c->d, *b = c->Y + *(const int32_t *)pb * c->d;
  for (size_t j = 0; j < c->d; j++) {
    if (a[j] < b[j]) return -1;
    if (a[j] > b[j]) return 1;
  }
  return 0;
}

/* Sort indices lexicographically and group identical rows. On return
 * uniq[0..*nu) are the representatives in lexicographic order and
 * grp[i] (for every original row i) the position of its group in uniq. */
static pg_status lex_unique(const double *Y, size_t n, size_t d, int32_t *uniq, int32_t *grp,
                            size_t *nu) {
  int32_t *ord = malloc((n ? n : 1) * sizeof *ord);
  if (!ord) return PG_ENOMEM;
  for (size_t i = 0; i < n; i++) ord[i] = (int32_t)i;
  lexctx c = {Y, d};
  qsort_r(ord, n, sizeof *ord, cmp_lex, &c);
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || cmp_lex(&ord[i], &uniq[u - 1], &c) != 0) uniq[u++] = ord[i];
    grp[ord[i]] = (int32_t)(u - 1);
  }
  free(ord);
  *nu = u;
  return PG_OK;
}

/* Fronts of the unique points (lexicographic order), 1-based, at most
 * maxfront: a point beyond front maxfront gets maxfront + 1 and is not
 * stored. Returns the number of fronts (capped at maxfront + 1). */

static int fronts_1d(size_t nu, int *fr, int maxfront) {
  for (size_t i = 0; i < nu; i++) fr[i] = (int)i + 1 > maxfront ? maxfront + 1 : (int)i + 1;
  return nu == 0 ? 0 : fr[nu - 1];
}

static pg_status fronts_2d(const double *Y, const int32_t *u, size_t nu, int *fr, int maxfront,
                           int *nf) {
  double *last = malloc((nu ? nu : 1) * sizeof *last); /* min second objective per front */
  if (!last) return PG_ENOMEM;
  int k = 0, over = 0;
  for (size_t i = 0; i < nu; i++) {
    double y = Y[(size_t)u[i] * 2 + 1];
    /* first front whose last y is > y (fronts with last <= y dominate p) */
    int lo = 0, hi = k;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (last[mid] <= y)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo >= maxfront) {
      fr[i] = maxfront + 1;
      over = 1;
      continue;
    }
    last[lo] = y;
    if (lo == k) k++;
    fr[i] = lo + 1;
  }
  free(last);
  *nf = k + over;
  return PG_OK;
}

static pg_status fronts_3d(const double *Y, const int32_t *u, size_t nu, int *fr, int maxfront,
                           int *nf) {
  pg_stair_pool pool;
  pg_status s = pg_stair_init(&pool, nu);
  int32_t *root = malloc((nu ? nu : 1) * sizeof *root);
  if (s != PG_OK || !root) {
    pg_stair_free(&pool);
    free(root);
    return s != PG_OK ? s : PG_ENOMEM;
  }
  int k = 0, over = 0;
  for (size_t i = 0; i < nu; i++) {
    const double *p = Y + (size_t)u[i] * 3;
    int lo = 0, hi = k;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (pg_stair_dominated(&pool, root[mid], p[1], p[2]))
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo >= maxfront) {
      fr[i] = maxfront + 1;
      over = 1;
      continue;
    }
    if (lo == k) root[k++] = -1;
    pg_stair_insert(&pool, &root[lo], p[1], p[2], 0.0, 0.0, NULL);
    fr[i] = lo + 1;
  }
  pg_stair_free(&pool);
  free(root);
  *nf = k + over;
  return PG_OK;
}

/* q (earlier, distinct) dominates p: compare objectives 1..d-1 only. */
static inline int dom_tail(const double *q, const double *p, size_t d) {
  for (size_t j = 1; j < d; j++)
    if (q[j] > p[j]) return 0;
  return 1;
}

static pg_status fronts_ens(const double *Y, size_t d, const int32_t *u, size_t nu, int *fr,
                            int maxfront, int *nf) {
  /* each front is a singly linked list of its members, newest first */
  int32_t *head = malloc((nu ? nu : 1) * sizeof *head);
  int32_t *next = malloc((nu ? nu : 1) * sizeof *next);
  if (!head || !next) {
    free(head);
    free(next);
    return PG_ENOMEM;
  }
  int k = 0, over = 0;
  for (size_t i = 0; i < nu; i++) {
    const double *p = Y + (size_t)u[i] * d;
    int lo = 0, hi = k;
    while (lo < hi) {
      int mid = (lo + hi) / 2, dom = 0;
      for (int32_t q = head[mid]; q >= 0; q = next[q])
        if (dom_tail(Y + (size_t)u[q] * d, p, d)) {
          dom = 1;
          break;
        }
      if (dom)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo >= maxfront) {
      fr[i] = maxfront + 1;
      over = 1;
      continue;
    }
    if (lo == k) head[k++] = -1;
    next[i] = head[lo];
    head[lo] = (int32_t)i;
    fr[i] = lo + 1;
  }
  free(head);
  free(next);
  *nf = k + over;
  return PG_OK;
}

/* Shared driver: fronts capped at maxfront, result per original row. */
static pg_status rank_capped(const double *Y, size_t n, size_t d, int *rank, int *nfronts,
                             int maxfront) {
  if (nfronts) *nfronts = 0;
  if (d == 0 || n >= (size_t)INT32_MAX) return PG_EINVAL;
  if (n == 0) return PG_OK;
  for (size_t i = 0; i < n * d; i++)
    if (isnan(Y[i])) return PG_EDOM;
  int32_t *uniq = malloc(n * sizeof *uniq), *grp = malloc(n * sizeof *grp);
  int *fr = malloc(n * sizeof *fr);
  pg_status s = PG_ENOMEM;
  size_t nu = 0;
  int nf = 0;
  if (!uniq || !grp || !fr) goto done;
  if ((s = lex_unique(Y, n, d, uniq, grp, &nu)) != PG_OK) goto done;
  if (d == 1)
    nf = fronts_1d(nu, fr, maxfront);
  else if (d == 2)
    s = fronts_2d(Y, uniq, nu, fr, maxfront, &nf);
  else if (d == 3)
    s = fronts_3d(Y, uniq, nu, fr, maxfront, &nf);
  else
    s = fronts_ens(Y, d, uniq, nu, fr, maxfront, &nf);
  if (s != PG_OK) goto done;
  for (size_t i = 0; i < n; i++) rank[i] = fr[grp[i]];
  if (nfronts) *nfronts = nf;
done:
  free(uniq);
  free(grp);
  free(fr);
  return s;
}

pg_status pg_pareto_rank(const double *Y, size_t n, size_t d, int *rank, int *nfronts) {
  return rank_capped(Y, n, d, rank, nfronts, INT32_MAX - 1);
}

pg_status pg_pareto_filter(const double *Y, size_t n, size_t d, size_t *idx, size_t *count) {
  *count = 0;
  if (n == 0) return d == 0 ? PG_EINVAL : PG_OK;
  int *rank = malloc(n * sizeof *rank);
  if (!rank) return PG_ENOMEM;
  pg_status s = rank_capped(Y, n, d, rank, NULL, 1);
  if (s == PG_OK)
    for (size_t i = 0; i < n; i++)
      if (rank[i] == 1) idx[(*count)++] = i;
  free(rank);
  return s;
}

typedef struct cdctx {
  const double *Y;
  size_t d, j;
} cdctx;

static int cmp_obj(const void *pa, const void *pb, void *pc) {
  const cdctx *c = pc;
  size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  double va = c->Y[a * c->d + c->j], vb = c->Y[b * c->d + c->j];
  if (va < vb) return -1;
  if (va > vb) return 1;
  return a < b ? -1 : a > b;
}

pg_status pg_pareto_crowding(const double *Y, size_t n, size_t d, const int *rank, double *out) {
  if (d == 0) return PG_EINVAL;
  if (n == 0) return PG_OK;
  for (size_t i = 0; i < n * d; i++)
    if (isnan(Y[i])) return PG_EDOM;
  /* group the points by front: counting sort on rank */
  int maxr = 1;
  if (rank)
    for (size_t i = 0; i < n; i++) {
      if (rank[i] < 1) return PG_EINVAL;
      if (rank[i] > maxr) maxr = rank[i];
    }
  size_t *start = calloc((size_t)maxr + 2, sizeof *start), *ord = malloc(n * sizeof *ord);
  if (!start || !ord) {
    free(start);
    free(ord);
    return PG_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) start[(rank ? rank[i] : 1) + 1]++;
  for (int r = 1; r <= maxr + 1; r++) start[r] += start[r - 1];
  for (size_t i = 0; i < n; i++) ord[start[rank ? rank[i] : 1]++] = i;
  /* start[r] now is the end of front r, the beginning of front r + 1 */
  for (size_t i = 0; i < n; i++) out[i] = 0.0;
  size_t b = 0;
  for (int r = 1; r <= maxr; r++) {
    size_t e = start[r], m = e - b;
    size_t *f = ord + b;
    if (m <= 2) {
      for (size_t t = 0; t < m; t++) out[f[t]] = INFINITY;
    } else {
      for (size_t j = 0; j < d; j++) {
        cdctx c = {Y, d, j};
        qsort_r(f, m, sizeof *f, cmp_obj, &c);
        double lo = Y[f[0] * d + j], hi = Y[f[m - 1] * d + j];
        out[f[0]] = out[f[m - 1]] = INFINITY;
        if (!(hi > lo) || !isfinite(hi - lo)) continue;
        for (size_t t = 1; t + 1 < m; t++)
          out[f[t]] += (Y[f[t + 1] * d + j] - Y[f[t - 1] * d + j]) / (hi - lo);
      }
    }
    b = e;
  }
  free(start);
  free(ord);
  return PG_OK;
}
