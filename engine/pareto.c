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

#include "fastset.h"
#include "radix.h"
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
  uint32_t *ord = malloc(n * sizeof *ord), *it = malloc(n * sizeof *it);
  uint64_t *key = malloc(n * sizeof *key), *kt = malloc(n * sizeof *kt);
  pg_status s = PG_ENOMEM;
  if (!ord || !it || !key || !kt) goto done;
  /* LSD over the columns: stable radix sorts from the last objective to the
   * first give the lexicographic order */
  for (size_t i = 0; i < n; i++) ord[i] = (uint32_t)i;
  for (size_t j = d; j-- > 0;) {
    for (size_t i = 0; i < n; i++) key[i] = pg_radix_key(Y[(size_t)ord[i] * d + j]);
    if (pg_radix_sort(key, ord, n, kt, it) != 0) goto done;
  }
  lexctx c = {Y, d};
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t oi = (int32_t)ord[i];
    if (i == 0 || cmp_lex(&oi, &uniq[u - 1], &c) != 0) uniq[u++] = oi;
    grp[oi] = (int32_t)(u - 1);
  }
  *nu = u;
  s = PG_OK;
done:
  free(ord);
  free(it);
  free(key);
  free(kt);
  return s;
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

/* ---- divide and conquer for d >= 4 ----
 *
 * M. Buzdalov and A. Shalyto, "A provably asymptotically fast version of the
 * generalized Jensen algorithm for non-dominated sorting", PPSN XIII, 2014
 * (after Jensen 2003 and Fortin, Grenier and Parizeau, GECCO 2013).
 * Points are the distinct rows in lexicographic order, identified by their
 * position (so "lexicographically before" is "smaller index"); rank[] holds
 * 0-based lower bounds that only grow.
 *   helperA(S, k): final ranks inside S, when all of S agree on the
 *     objectives above k (so dominance inside S depends on 0..k only).
 *   helperB(L, H, k): raise the ranks of H by those of L (final), when every
 *     l is <= every h on the objectives above k.
 * Both split at the median of objective k; at k = 1 they become sweeps over
 * objective 1 with a staircase of (value, -rank) (stair.h); small inputs are
 * compared pairwise. Time O(n log^(d-1) n). The filter variant (dominated
 * or not) stops at k = 2 with the 3-D sweep of Kung, Luccio and Preparata,
 * its staircase in a bit trie (fastset.h): O(n log^(d-2) n). */

typedef struct dc {
  const double *V; /* column-major: objective k of point i at V[k * nu + i] */
  size_t d, nu;
  int *rank;
  pg_stair_pool pool;
  double *tmp;   /* median selection scratch */
  int32_t *mid;  /* split scratch for the "equal" part, nu entries */
  int fail;
  int filter; /* only tell dominated (rank > 0) from non-dominated points */
  /* filter mode's 3-D sweeps: staircase over (objective 1, objective 2)
   * keyed by the dense lexicographic rank of that pair, in a bit trie */
  int32_t *key12;  /* key of each point */
  double *ky;      /* objective 2 of the points with each key */
  pg_fastset fs;
  int32_t *ins;    /* keys inserted by the current sweep (cleared at its end) */
  size_t nins;
} dc;

#ifndef DC_SMALL
#define DC_SMALL 24
#endif

static inline double dcv(const dc *c, int32_t i, size_t k) { return c->V[k * c->nu + (size_t)i]; }

/* i (earlier) dominates j on objectives 0..k (distinct rows, so weak suffices) */
static inline int dc_dom(const dc *c, int32_t i, int32_t j, size_t k) {
  for (size_t t = 1; t <= k; t++)
    if (dcv(c, i, t) > dcv(c, j, t)) return 0;
  return 1;
}

static void dc_update(dc *c, int32_t l, int32_t h) {
  if (c->rank[h] <= c->rank[l]) c->rank[h] = c->rank[l] + 1;
}

/* Quickselect (Hoare / Wirth): the element of rank n/2 of a[0..n). */
static double select_median(double *a, size_t n) {
  long lo = 0, hi = (long)n - 1, k = (long)(n / 2);
  while (lo < hi) {
    double pv = a[k];
    long i = lo, j = hi;
    do {
      while (a[i] < pv) i++;
      while (pv < a[j]) j--;
      if (i <= j) {
        double t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return a[k];
}

/* Split S (index order) by objective k against m into a new block
 * [lo | eq | hi], each part in index order (one pass: lo from the front, hi
 * from the back then reversed, eq through the scratch). NULL on failure. */
static int32_t *dc_split(dc *c, const int32_t *S, size_t n, size_t k, double m, size_t *nl,
                         size_t *ne) {
  int32_t *out = malloc((n ? n : 1) * sizeof *out);
  if (!out) {
    c->fail = 1;
    return NULL;
  }
  const double *col = c->V + k * c->nu;
  size_t a = 0, b = 0, h = n;
  for (size_t i = 0; i < n; i++) {
    double v = col[S[i]];
    if (v < m)
      out[a++] = S[i];
    else if (v > m)
      out[--h] = S[i];
    else
      c->mid[b++] = S[i];
  }
  memcpy(out + a, c->mid, b * sizeof *out);
  for (size_t i = h, j = n - 1; i < j; i++, j--) {
    int32_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  *nl = a;
  *ne = b;
  return out;
}

/* Split value for objective k over the lists A and B: the exact median of
 * their values when small, else the median of an evenly spaced sample of 63
 * (always a value present, so every split makes progress). */
static double dc_pivot(dc *c, const int32_t *A, size_t na, const int32_t *B, size_t nb,
                       size_t k) {
  const double *col = c->V + k * c->nu;
  size_t n = na + nb, t = 0;
  if (n <= 128) {
    for (size_t i = 0; i < na; i++) c->tmp[t++] = col[A[i]];
    for (size_t i = 0; i < nb; i++) c->tmp[t++] = col[B[i]];
  } else {
    for (size_t s = 0; s < 63; s++) {
      size_t i = (2 * s + 1) * n / 126;
      c->tmp[t++] = col[i < na ? A[i] : B[i - na]];
    }
  }
  return select_median(c->tmp, t);
}

/* Merge two index-sorted lists into a new array. */
static int32_t *dc_merge(dc *c, const int32_t *A, size_t na, const int32_t *B, size_t nb) {
  int32_t *out = malloc((na + nb ? na + nb : 1) * sizeof *out);
  if (!out) {
    c->fail = 1;
    return NULL;
  }
  size_t i = 0, j = 0, o = 0;
  while (i < na && j < nb) out[o++] = A[i] < B[j] ? A[i++] : B[j++];
  while (i < na) out[o++] = A[i++];
  while (j < nb) out[o++] = B[j++];
  return out;
}

static void stair_reset(pg_stair_pool *p) {
  p->used = 0;
  p->freelist = -1;
}

static void sweep_a(dc *c, const int32_t *S, size_t n) {
  stair_reset(&c->pool);
  int32_t root = -1;
  for (size_t i = 0; i < n; i++) {
    double y = dcv(c, S[i], 1);
    int32_t f = pg_stair_floor(&c->pool, root, y);
    if (f >= 0) {
      int r = (int)-c->pool.node[f].y + 1;
      if (c->rank[S[i]] < r) c->rank[S[i]] = r;
    }
    double key = -(double)c->rank[S[i]];
    if (!pg_stair_dominated(&c->pool, root, y, key))
      pg_stair_insert(&c->pool, &root, y, key, 0.0, 0.0, NULL);
  }
}

static void sweep_b(dc *c, const int32_t *L, size_t nl, const int32_t *H, size_t nh) {
  stair_reset(&c->pool);
  int32_t root = -1;
  size_t i = 0;
  for (size_t j = 0; j < nh; j++) {
    int32_t h = H[j];
    for (; i < nl && L[i] < h; i++) {
      double y = dcv(c, L[i], 1), key = -(double)c->rank[L[i]];
      if (!pg_stair_dominated(&c->pool, root, y, key))
        pg_stair_insert(&c->pool, &root, y, key, 0.0, 0.0, NULL);
    }
    int32_t f = pg_stair_floor(&c->pool, root, dcv(c, h, 1));
    if (f >= 0) {
      int r = (int)-c->pool.node[f].y + 1;
      if (c->rank[h] < r) c->rank[h] = r;
    }
  }
}

/* Filter mode, objectives 0..2 (Kung, Luccio and Preparata's 3-D sweep):
 * a point is dominated iff an earlier point of the staircase over
 * objectives (1, 2) weakly dominates it there. Dominated points are never
 * inserted: whatever they dominate, their own dominators dominate too, and
 * that pair is examined in some call of the recursion. */
static inline int st12_dominated(const dc *c, size_t r, double y) {
  long p = pg_fs_pred(&c->fs, r);
  return p >= 0 && c->ky[p] <= y;
}

/* Insert key r (objective 2 value y, not dominated), deleting the keys it
 * dominates (larger pair rank, objective 2 >= y). */
static inline void st12_insert(dc *c, size_t r, double y) {
  long s = pg_fs_succ(&c->fs, r);
  while (s >= 0 && c->ky[s] >= y) {
    pg_fs_erase(&c->fs, (size_t)s);
    s = pg_fs_succ(&c->fs, (size_t)s + 1);
  }
  pg_fs_insert(&c->fs, r);
  c->ins[c->nins++] = (int32_t)r;
}

static void st12_reset(dc *c) {
  for (size_t i = 0; i < c->nins; i++) pg_fs_erase(&c->fs, (size_t)c->ins[i]);
  c->nins = 0;
}

static void sweep3_a(dc *c, const int32_t *S, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t r = (size_t)c->key12[S[i]];
    double z = dcv(c, S[i], 2);
    if (st12_dominated(c, r, z)) {
      if (c->rank[S[i]] < 1) c->rank[S[i]] = 1;
    } else if (c->rank[S[i]] == 0) {
      st12_insert(c, r, z);
    }
  }
  st12_reset(c);
}

static void sweep3_b(dc *c, const int32_t *L, size_t nl, const int32_t *H, size_t nh) {
  size_t i = 0;
  for (size_t j = 0; j < nh; j++) {
    int32_t h = H[j];
    for (; i < nl && L[i] < h; i++) {
      if (c->rank[L[i]] != 0) continue;
      size_t r = (size_t)c->key12[L[i]];
      double z = dcv(c, L[i], 2);
      if (!st12_dominated(c, r, z)) st12_insert(c, r, z);
    }
    if (c->rank[h] == 0 && st12_dominated(c, (size_t)c->key12[h], dcv(c, h, 2))) c->rank[h] = 1;
  }
  st12_reset(c);
}

static void helper_b(dc *c, const int32_t *L, size_t nl, const int32_t *H, size_t nh, size_t k);

static void helper_a(dc *c, const int32_t *S, size_t n, size_t k) {
  if (n < 2 || c->fail) return;
  if (n <= DC_SMALL) {
    for (size_t j = 1; j < n; j++)
      for (size_t i = 0; i < j; i++)
        if (dc_dom(c, S[i], S[j], k)) dc_update(c, S[i], S[j]);
    return;
  }
  if (c->filter && k == 2) {
    sweep3_a(c, S, n);
    return;
  }
  if (k == 1) {
    sweep_a(c, S, n);
    return;
  }
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double v = dcv(c, S[i], k);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (lo == hi) {
    helper_a(c, S, n, k - 1);
    return;
  }
  double m = dc_pivot(c, S, n, NULL, 0, k);
  size_t nl, ne;
  int32_t *P = dc_split(c, S, n, k, m, &nl, &ne);
  if (!P) return;
  size_t nh = n - nl - ne;
  int32_t *Lp = P, *Mp = P + nl, *Hp = P + nl + ne;
  helper_a(c, Lp, nl, k);
  helper_b(c, Lp, nl, Mp, ne, k - 1);
  helper_a(c, Mp, ne, k - 1);
  int32_t *LM = dc_merge(c, Lp, nl, Mp, ne);
  if (LM) {
    helper_b(c, LM, nl + ne, Hp, nh, k - 1);
    free(LM);
  }
  helper_a(c, Hp, nh, k);
  free(P);
}

static void helper_b(dc *c, const int32_t *L, size_t nl, const int32_t *H, size_t nh, size_t k) {
  if (nl == 0 || nh == 0 || c->fail) return;
  if (nl == 1 || nh == 1 || nl * nh <= DC_SMALL * DC_SMALL / 2) {
    for (size_t j = 0; j < nh; j++)
      for (size_t i = 0; i < nl && L[i] < H[j]; i++)
        if (dc_dom(c, L[i], H[j], k)) dc_update(c, L[i], H[j]);
    return;
  }
  if (c->filter && k == 2) {
    sweep3_b(c, L, nl, H, nh);
    return;
  }
  if (k == 1) {
    sweep_b(c, L, nl, H, nh);
    return;
  }
  double lmin = INFINITY, lmax = -INFINITY, hmin = INFINITY, hmax = -INFINITY;
  for (size_t i = 0; i < nl; i++) {
    double v = dcv(c, L[i], k);
    lmin = v < lmin ? v : lmin;
    lmax = v > lmax ? v : lmax;
  }
  for (size_t i = 0; i < nh; i++) {
    double v = dcv(c, H[i], k);
    hmin = v < hmin ? v : hmin;
    hmax = v > hmax ? v : hmax;
  }
  if (lmax <= hmin) {
    helper_b(c, L, nl, H, nh, k - 1);
    return;
  }
  if (lmin > hmax) return;
  double m = dc_pivot(c, L, nl, H, nh, k);
  size_t l1, m1, l2, m2;
  int32_t *A = dc_split(c, L, nl, k, m, &l1, &m1);
  int32_t *B = dc_split(c, H, nh, k, m, &l2, &m2);
  if (A && B) {
    size_t h1 = nl - l1 - m1, h2 = nh - l2 - m2;
    int32_t *L1 = A, *M1 = A + l1, *H1 = A + l1 + m1;
    int32_t *L2 = B, *M2 = B + l2, *H2 = B + l2 + m2;
    helper_b(c, L1, l1, L2, l2, k);
    helper_b(c, L1, l1, M2, m2, k - 1);
    helper_b(c, M1, m1, M2, m2, k - 1);
    int32_t *LM = dc_merge(c, L1, l1, M1, m1);
    if (LM) {
      helper_b(c, LM, l1 + m1, H2, h2, k - 1);
      free(LM);
    }
    helper_b(c, H1, h1, H2, h2, k);
  }
  free(A);
  free(B);
}

/* Dense rank of each point's (objective 1, objective 2) pair in
 * lexicographic order (equal pairs share a key) and ky[key] = objective 2.
 * 0 on success. */
static int pair_keys(dc *c) {
  size_t n = c->nu;
  uint64_t *key = malloc(n * sizeof *key), *kt = malloc(n * sizeof *kt);
  uint32_t *ord = malloc(n * sizeof *ord), *it = malloc(n * sizeof *it);
  int r = -1;
  if (key && kt && ord && it) {
    for (size_t i = 0; i < n; i++) {
      ord[i] = (uint32_t)i;
      key[i] = pg_radix_key(dcv(c, (int32_t)i, 2));
    }
    if (pg_radix_sort(key, ord, n, kt, it) == 0) {
      for (size_t i = 0; i < n; i++) key[i] = pg_radix_key(dcv(c, (int32_t)ord[i], 1));
      if (pg_radix_sort(key, ord, n, kt, it) == 0) {
        int32_t k = -1;
        for (size_t i = 0; i < n; i++) {
          int32_t a = (int32_t)ord[i];
          if (i == 0 || dcv(c, a, 1) != dcv(c, (int32_t)ord[i - 1], 1) ||
              dcv(c, a, 2) != dcv(c, (int32_t)ord[i - 1], 2))
            k++;
          c->key12[a] = k;
          c->ky[k] = dcv(c, a, 2);
        }
        r = 0;
      }
    }
  }
  free(key);
  free(kt);
  free(ord);
  free(it);
  return r;
}

/* Fronts of the unique points by divide and conquer. While fronts are
 * large, they are peeled one at a time with the filter variant (one log
 * factor cheaper: its bottom is the 3-D sweep); once a front holds less
 * than a quarter of the remaining points, the ranking variant finishes. */
static pg_status fronts_dc(const double *Y, size_t d, const int32_t *u, size_t nu, int *fr,
                           int maxfront, int *nf) {
  dc c;
  memset(&c, 0, sizeof c);
  c.d = d;
  c.nu = nu;
  double *V = malloc(nu * d * sizeof *V);
  int32_t *S = malloc(nu * sizeof *S), *R = malloc(nu * sizeof *R);
  c.rank = calloc(nu, sizeof *c.rank);
  c.tmp = malloc(128 * sizeof *c.tmp);
  c.mid = malloc(nu * sizeof *c.mid);
  c.key12 = malloc(nu * sizeof *c.key12);
  c.ky = malloc(nu * sizeof *c.ky);
  c.ins = malloc(nu * sizeof *c.ins);
  pg_status s = pg_stair_init(&c.pool, nu);
  if (s == PG_OK && (!V || !S || !R || !c.rank || !c.tmp || !c.mid || !c.key12 || !c.ky ||
                     !c.ins || pg_fs_init(&c.fs, nu) != 0))
    s = PG_ENOMEM;
  if (s == PG_OK) {
    for (size_t i = 0; i < nu; i++) {
      for (size_t k = 0; k < d; k++) V[k * nu + i] = Y[(size_t)u[i] * d + k];
      S[i] = (int32_t)i;
    }
    c.V = V;
    if (pair_keys(&c) != 0) s = PG_ENOMEM;
  }
  if (s == PG_OK) {
    size_t ns = nu;
    int offset = 0;
    while (ns > 0 && !c.fail) {
      if (offset >= maxfront) { /* beyond the cap: no need to rank further */
        for (size_t i = 0; i < ns; i++) fr[S[i]] = maxfront + 1;
        break;
      }
      c.filter = 1;
      for (size_t i = 0; i < ns; i++) c.rank[S[i]] = 0;
      helper_a(&c, S, ns, d - 1);
      size_t nr = 0, nfirst = 0;
      for (size_t i = 0; i < ns; i++) {
        if (c.rank[S[i]] == 0) {
          fr[S[i]] = offset + 1;
          nfirst++;
        } else {
          R[nr++] = S[i];
        }
      }
      offset++;
      memcpy(S, R, nr * sizeof *S);
      ns = nr;
      if (ns > 0 && nfirst * 4 < ns + nfirst && offset < maxfront) {
        c.filter = 0;
        for (size_t i = 0; i < ns; i++) c.rank[S[i]] = 0;
        helper_a(&c, S, ns, d - 1);
        for (size_t i = 0; i < ns; i++) {
          long r = (long)offset + c.rank[S[i]] + 1;
          fr[S[i]] = r > maxfront ? maxfront + 1 : (int)r;
        }
        break;
      }
    }
    if (c.fail) s = PG_ENOMEM;
  }
  if (s == PG_OK) {
    int k = 0;
    for (size_t i = 0; i < nu; i++) k = fr[i] > k ? fr[i] : k;
    *nf = k;
  }
  pg_stair_free(&c.pool);
  pg_fs_free(&c.fs);
  free(V);
  free(S);
  free(R);
  free(c.rank);
  free(c.tmp);
  free(c.mid);
  free(c.key12);
  free(c.ky);
  free(c.ins);
  return s;
}

/* Below this many distinct points ENS-BS is used for d >= 4. */
#ifndef ENS_MAX
#define ENS_MAX 64
#endif

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
  else if (nu <= ENS_MAX)
    s = fronts_ens(Y, d, uniq, nu, fr, maxfront, &nf);
  else
    s = fronts_dc(Y, d, uniq, nu, fr, maxfront, &nf);
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
