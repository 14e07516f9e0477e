/*
 * hv.c -- exact hypervolume (minimisation) and the quantities built on it.
 *
 * d = 2: radix sort and add the rectangles of the staircase.
 * d = 3: N. Beume, C. M. Fonseca, M. Lopez-Ibanez, L. Paquete and
 *   J. Vahrenhold, "On the complexity of computing the hypervolume
 *   indicator", IEEE TEVC 13(5):1075-1082, 2009: sweep along the third
 *   objective keeping the 2-D staircase of the points seen so far and its
 *   dominated area, O(n log n). The staircase is keyed by the points'
 *   lexicographic (x, y) rank in a 64-ary bit trie (fastset.h); the sorts
 *   are radix sorts (radix.h).
 * d >= 4: L. While, L. Bradstreet and L. Barone, "A fast way of calculating
 *   exact hypervolumes", IEEE TEVC 16(1):86-95, 2012 (WFG): exclusive
 *   volumes of limited sets, V(p) - HV_{d-1}(nds(limit(S, p))) with
 *   limit(q, p) = max(q, p) componentwise and V(p) the volume of [p, r],
 *   evaluated as a sweep along the last objective in increasing order that
 *   keeps only the points non-dominated on the first d-1 objectives (the
 *   scheme of HV4D, A. P. Guerreiro and C. M. Fonseca, "Computing and
 *   updating hypervolume contributions in up to four dimensions", IEEE TEVC
 *   22(3), 2018). d = 4: the 3-D contribution of each new point by an
 *   online sweep of the limited set in z order that needs the staircase
 *   only inside the box left by the two "axis" points of the base level (its
 *   scans compare (x, y) pairs with SSE2 where available) and stops once
 *   p's (x, y) box is covered. d >= 5: limited sets cut first by
 *   their axis rows (one comparison each), then filtered pairwise; for
 *   d = 5 both passes are unrolled and use SSE2 masks where available.
 *   Below 64 points, allocation-free 3-D / 4-D routines; the 4-D one keeps
 *   its S in z order, so that each limited set max(S, p) comes out in z
 *   order too and its 3-D sweep needs no sort and stops at the first row
 *   covering p in (x, y).
 * Contributions in 2-D: a point's exclusive region is the box between its
 *   neighbours on the first front minus what the second front covers in it
 *   (a point of the second front inside that box is dominated by that point
 *   alone), O(n log n). In 3-D: the 4-D step's online sweep per point. In
 *   any dimension: V(p) - HV(limit(S \ {p}, p)).
 */
#define _GNU_SOURCE /* qsort_r */
#include "hv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fastset.h"
#include "radix.h"
#include "stair.h"

/* ---- helpers ---- */

static pg_status check_args(const double *Y, size_t n, size_t d, const double *ref) {
  if (d == 0) return PG_EINVAL;
  for (size_t j = 0; j < d; j++)
    if (!isfinite(ref[j])) return PG_EDOM;
  for (size_t i = 0; i < n * d; i++)
    if (isnan(Y[i])) return PG_EDOM;
  return PG_OK;
}

static inline int strictly_below(const double *p, const double *ref, size_t d) {
  for (size_t j = 0; j < d; j++)
    if (!(p[j] < ref[j])) return 0;
  return 1;
}

/* Volume of the box [p, ref]. */
static inline double box_volume(const double *p, const double *ref, size_t d) {
  double v = 1.0;
  for (size_t j = 0; j < d; j++) v *= ref[j] - p[j];
  return v;
}

/* 1 when a <= b componentwise (a weakly dominates b). */
static inline int weakly_dominates(const double *a, const double *b, size_t d) {
  for (size_t j = 0; j < d; j++)
    if (a[j] > b[j]) return 0;
  return 1;
}

typedef struct sumidx {
  double sum;
  size_t i;
} sumidx;

static int cmp_sumidx(const void *pa, const void *pb) {
  const sumidx *a = pa, *b = pb;
  if (a->sum != b->sum) return a->sum < b->sum ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* Remove the weakly dominated rows of P (m x d) in place, keeping one copy
 * of duplicates; returns the new count. The rows are visited by increasing
 * coordinate sum, so a row can only be dominated by rows already kept (a
 * dominator has a smaller sum, a duplicate an equal one and comes first):
 * O(m log m + m k d), k the size of the result. W is scratch of m x d. */
static size_t nds_filter(double *P, size_t m, size_t d, double *W, sumidx *o) {
  for (size_t i = 0; i < m; i++) {
    double s = 0.0;
    for (size_t j = 0; j < d; j++) s += P[i * d + j];
    o[i] = (sumidx){s, i};
  }
  qsort(o, m, sizeof *o, cmp_sumidx);
  size_t k = 0;
  for (size_t t = 0; t < m; t++) {
    const double *q = P + o[t].i * d;
    int drop = 0;
    for (size_t u = k; u-- > 0;) /* the most recently kept first: neighbours in sum */
      if (weakly_dominates(W + u * d, q, d)) {
        drop = 1;
        break;
      }
    if (!drop) memcpy(W + (k++) * d, q, d * sizeof *q);
  }
  memcpy(P, W, k * d * sizeof *P);
  return k;
}

/* The same result without sorting, for rows already in an order close to
 * increasing coordinate sum: a new row is checked against the kept ones and
 * removes those it dominates. O(m k d) with k the largest kept set. */
static size_t nds_filter_ordered(double *P, size_t m, size_t d) {
  size_t k = 0;
  for (size_t i = 0; i < m; i++) {
    const double *q = P + i * d;
    int drop = 0;
    size_t t = 0;
    while (t < k) {
      double *r = P + t * d;
      /* both relations without early exits: for the few objectives here
       * the comparisons are cheaper than mispredicted branches */
      int rq = 1, qr = 1;
      for (size_t j = 0; j < d; j++) {
        rq &= r[j] <= q[j];
        qr &= q[j] <= r[j];
      }
      if (rq) {
        drop = 1;
        break;
      }
      if (qr) { /* keep order: shift the rest down */
        memmove(r, r + d, (k - t - 1) * d * sizeof *P);
        k--;
        continue;
      }
      t++;
    }
    if (!drop) {
      if (k != i) memmove(P + k * d, q, d * sizeof *P);
      k++;
    }
  }
  return k;
}

/* nds_filter_ordered for 4 objectives, unrolled. */
static size_t nds_filter_ordered4(double *P, size_t m) {
  size_t k = 0;
  for (size_t i = 0; i < m; i++) {
    const double q0 = P[4 * i], q1 = P[4 * i + 1], q2 = P[4 * i + 2], q3 = P[4 * i + 3];
    int drop = 0;
    size_t t = 0;
#if defined(__SSE2__)
    const __m128d qa = _mm_loadu_pd(P + 4 * i), qb = _mm_loadu_pd(P + 4 * i + 2);
#endif
    while (t < k) {
      double *r = P + t * 4;
#if defined(__SSE2__)
      const __m128d ra = _mm_loadu_pd(r), rb = _mm_loadu_pd(r + 2);
      const int rq = _mm_movemask_pd(_mm_and_pd(_mm_cmple_pd(ra, qa), _mm_cmple_pd(rb, qb))) == 3;
      const int qr = _mm_movemask_pd(_mm_and_pd(_mm_cmple_pd(qa, ra), _mm_cmple_pd(qb, rb))) == 3;
#else
      const int rq = (r[0] <= q0) & (r[1] <= q1) & (r[2] <= q2) & (r[3] <= q3);
      const int qr = (q0 <= r[0]) & (q1 <= r[1]) & (q2 <= r[2]) & (q3 <= r[3]);
#endif
      if (rq | qr) {
        if (rq) {
          drop = 1;
          break;
        }
        memmove(r, r + 4, (k - t - 1) * 4 * sizeof *P);
        k--;
        continue;
      }
      t++;
    }
    if (!drop) {
      double *w = P + k * 4;
      w[0] = q0;
      w[1] = q1;
      w[2] = q2;
      w[3] = q3;
      k++;
    }
  }
  return k;
}

/* nds_filter with its own scratch. */
static pg_status nds_filter_alloc(double *P, size_t *m, size_t d) {
  double *W = malloc((*m ? *m : 1) * d * sizeof *W);
  sumidx *o = malloc((*m ? *m : 1) * sizeof *o);
  pg_status s = PG_ENOMEM;
  if (W && o) {
    *m = nds_filter(P, *m, d, W, o);
    s = PG_OK;
  }
  free(W);
  free(o);
  return s;
}

/* ---- 1-D, 2-D, 3-D ---- */

static double hv1d(const double *P, size_t m, const double *ref) {
  double lo = ref[0];
  for (size_t i = 0; i < m; i++)
    if (P[i] < lo) lo = P[i];
  return ref[0] - lo;
}

static int cmp_pair(const void *pa, const void *pb) {
  const double *a = pa, *b = pb;
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Sweep in x order (radix sort; qsort of pairs below 256 points or when
 * scratch is unavailable). P is reordered by qsort only in that fallback. */
static double hv2d(double *P, size_t m, const double *ref) {
  uint64_t *key = NULL, *kt = NULL;
  uint32_t *idx = NULL, *it = NULL;
  double area = 0.0, cap = ref[1];
  if (m >= 256 && m < UINT32_MAX) {
    key = malloc(m * sizeof *key);
    kt = malloc(m * sizeof *kt);
    idx = malloc(m * sizeof *idx);
    it = malloc(m * sizeof *it);
  }
  if (key && kt && idx && it) {
    /* ties in x: the smaller y first (LSD: y, then x stably) */
    for (size_t i = 0; i < m; i++) {
      idx[i] = (uint32_t)i;
      key[i] = pg_radix_key(P[2 * i + 1]);
    }
    int ok = pg_radix_sort(key, idx, m, kt, it) == 0;
    for (size_t i = 0; ok && i < m; i++) key[i] = pg_radix_key(P[2 * (size_t)idx[i]]);
    ok = ok && pg_radix_sort(key, idx, m, kt, it) == 0;
    if (ok) {
      for (size_t i = 0; i < m; i++) {
        const double *p = P + 2 * (size_t)idx[i];
        if (p[1] < cap) {
          area += (ref[0] - p[0]) * (cap - p[1]);
          cap = p[1];
        }
      }
      free(key);
      free(kt);
      free(idx);
      free(it);
      return area;
    }
  }
  free(key);
  free(kt);
  free(idx);
  free(it);
  qsort(P, m, 2 * sizeof *P, cmp_pair);
  for (size_t i = 0; i < m; i++) {
    double y = P[2 * i + 1];
    if (y < cap) {
      area += (ref[0] - P[2 * i]) * (cap - y);
      cap = y;
    }
  }
  return area;
}

/* ---- staircase keyed by x-rank (fastset.h) ----
 * Same operations as stair.h, but the caller supplies for every point a key
 * whose order agrees with the lexicographic (x, y) order, and the tree is a
 * 64-ary bit trie: a few word operations instead of a treap descent. */
typedef struct fstair {
  pg_fastset fs;
  double *xk, *yk; /* coordinates of the point stored under each key */
} fstair;

static int fstair_init(fstair *f, size_t K) {
  f->xk = malloc((K ? K : 1) * sizeof *f->xk);
  f->yk = malloc((K ? K : 1) * sizeof *f->yk);
  if (pg_fs_init(&f->fs, K) != 0 || !f->xk || !f->yk) return -1;
  return 0;
}

static void fstair_free(fstair *f) {
  pg_fs_free(&f->fs);
  free(f->xk);
  free(f->yk);
}

static inline int fstair_dominated(const fstair *f, size_t r, double b) {
  long p = pg_fs_pred(&f->fs, r);
  return p >= 0 && f->yk[p] <= b;
}

/* Insert (a, b) under key r (not weakly dominated), deleting what it
 * dominates and adding the newly dominated area inside [.., rx] x [.., ry]. */
static inline void fstair_insert(fstair *f, size_t r, double a, double b, double rx, double ry,
                                 double *area) {
  double cap = ry, cur = a;
  if (r > 0) {
    long p = pg_fs_pred(&f->fs, r - 1);
    if (p >= 0) cap = f->yk[p];
  }
  long s = pg_fs_succ(&f->fs, r);
  while (s >= 0 && f->yk[s] >= b) {
    *area += (f->xk[s] - cur) * (cap - b);
    cap = f->yk[s];
    cur = f->xk[s];
    pg_fs_erase(&f->fs, (size_t)s);
    s = pg_fs_succ(&f->fs, (size_t)s + 1);
  }
  *area += ((s >= 0 ? f->xk[s] : rx) - cur) * (cap - b);
  pg_fs_insert(&f->fs, r);
  f->xk[r] = a;
  f->yk[r] = b;
}

typedef struct p3k {
  double x, y, z;
  int32_t key;
} p3k;

/* ---- small sets: allocation-free versions (the recursion of WFG calls
 * these many times on limited sets of a few points) ---- */
#define SMALL 64

/* 3-D sweep of m <= SMALL points: insertion sort by z and a staircase in a
 * sorted array, O(m^2). */
static double hv3d_small(const double *P, size_t m, const double *ref) {
  size_t o[SMALL];
  double sx[SMALL + 1], sy[SMALL + 1];
  for (size_t i = 0; i < m; i++) {
    size_t j = i;
    while (j > 0 && P[3 * o[j - 1] + 2] > P[3 * i + 2]) {
      o[j] = o[j - 1];
      j--;
    }
    o[j] = i;
  }
  size_t c = 0;
  double area = 0.0, vol = 0.0;
  for (size_t t = 0; t < m; t++) {
    const double *p = P + 3 * o[t];
    double x = p[0], y = p[1];
    /* first entry with sx >= x */
    size_t j = 0;
    while (j < c && sx[j] < x) j++;
    int dom = (j > 0 && sy[j - 1] <= y) || (j < c && sx[j] == x && sy[j] <= y);
    if (!dom) {
      double cap = j > 0 ? sy[j - 1] : ref[1], cur = x;
      size_t e = j;
      while (e < c && sy[e] >= y) {
        area += (sx[e] - cur) * (cap - y);
        cap = sy[e];
        cur = sx[e];
        e++;
      }
      area += ((e < c ? sx[e] : ref[0]) - cur) * (cap - y);
      /* replace entries j..e-1 by (x, y) */
      size_t removed = e - j;
      if (removed == 0) {
        memmove(sx + j + 1, sx + j, (c - j) * sizeof *sx);
        memmove(sy + j + 1, sy + j, (c - j) * sizeof *sy);
        c++;
      } else if (removed > 1) {
        memmove(sx + j + 1, sx + e, (c - e) * sizeof *sx);
        memmove(sy + j + 1, sy + e, (c - e) * sizeof *sy);
        c -= removed - 1;
      }
      sx[j] = x;
      sy[j] = y;
    }
    double znext = t + 1 < m ? P[3 * o[t + 1] + 2] : ref[2];
    vol += area * (znext - p[2]);
  }
  return vol;
}

/* 3-D volume of the limited set L (m <= SMALL rows max(q, p), so every row
 * is >= p) given in increasing z: the sweep of hv3d_small without its sort,
 * stopping at the first row equal to p in (x, y), from where the slice is
 * p's whole (x, y) box. */
static double hv3d_limited(const double *L, size_t m, const double *ref, const double *p) {
  double sx[SMALL + 1], sy[SMALL + 1];
  const double full = (ref[0] - p[0]) * (ref[1] - p[1]);
  size_t c = 0;
  double area = 0.0, vol = 0.0, zprev = p[2];
  for (size_t t = 0; t < m; t++) {
    const double *l = L + 3 * t;
    double x = l[0], y = l[1];
    vol += area * (l[2] - zprev);
    zprev = l[2];
    if ((x <= p[0]) & (y <= p[1])) return vol + full * (ref[2] - zprev);
    size_t j = 0;
    while (j < c && sx[j] < x) j++;
    int dom = (j > 0 && sy[j - 1] <= y) || (j < c && sx[j] == x && sy[j] <= y);
    if (dom) continue;
    double cap = j > 0 ? sy[j - 1] : ref[1], cur = x;
    size_t e = j;
    while (e < c && sy[e] >= y) {
      area += (sx[e] - cur) * (cap - y);
      cap = sy[e];
      cur = sx[e];
      e++;
    }
    area += ((e < c ? sx[e] : ref[0]) - cur) * (cap - y);
    size_t removed = e - j;
    if (removed == 0) {
      memmove(sx + j + 1, sx + j, (c - j) * sizeof *sx);
      memmove(sy + j + 1, sy + j, (c - j) * sizeof *sy);
      c++;
    } else if (removed > 1) {
      memmove(sx + j + 1, sx + e, (c - e) * sizeof *sx);
      memmove(sy + j + 1, sy + e, (c - e) * sizeof *sy);
      c -= removed - 1;
    }
    sx[j] = x;
    sy[j] = y;
  }
  return vol + area * (ref[2] - zprev);
}

/* 4-D hypervolume of m <= SMALL points: the slice sweep of wfg() keeping S
 * (the points non-dominated on the first three objectives) in increasing z,
 * so that each limited set max(S, p) is in z order as well (max with p_z is
 * monotone) and hv3d_limited needs no sort. P is not modified. */
static double hv4d_small(const double *P, size_t m, const double *ref) {
  size_t o[SMALL];
  double S[SMALL * 3], L[SMALL * 3];
  for (size_t i = 0; i < m; i++) {
    size_t j = i;
    while (j > 0 && P[4 * o[j - 1] + 3] > P[4 * i + 3]) {
      o[j] = o[j - 1];
      j--;
    }
    o[j] = i;
  }
  size_t ns = 0;
  double slice = 0.0, total = 0.0;
  for (size_t t = 0; t < m; t++) {
    const double *p = P + 4 * o[t];
    const double p0 = p[0], p1 = p[1], p2 = p[2];
    int covered = 0;
    for (size_t u = 0; u < ns; u++) {
      const double *q = S + 3 * u;
      const double q0 = q[0], q1 = q[1], q2 = q[2];
      covered |= (q0 <= p0) & (q1 <= p1) & (q2 <= p2);
      L[3 * u] = q0 > p0 ? q0 : p0;
      L[3 * u + 1] = q1 > p1 ? q1 : p1;
      L[3 * u + 2] = q2 > p2 ? q2 : p2;
    }
    if (!covered) {
      slice += box_volume(p, ref, 3) - hv3d_limited(L, ns, ref, p);
      /* drop what p dominates (all at z >= p_z), insert p before the
       * first member with z >= p_z */
      size_t w = 0, at = SIZE_MAX;
      for (size_t u = 0; u < ns; u++) {
        const double *q = S + 3 * u;
        if (at == SIZE_MAX && q[2] >= p2) at = w;
        if ((q[0] >= p0) & (q[1] >= p1) & (q[2] >= p2)) continue;
        if (w != u) memcpy(S + 3 * w, q, 3 * sizeof *S);
        w++;
      }
      if (at == SIZE_MAX) at = w;
      memmove(S + 3 * (at + 1), S + 3 * at, (w - at) * 3 * sizeof *S);
      S[3 * at] = p0;
      S[3 * at + 1] = p1;
      S[3 * at + 2] = p2;
      ns = w + 1;
    }
    double next = t + 1 < m ? P[4 * o[t + 1] + 3] : ref[3];
    total += slice * (next - p[3]);
  }
  return total;
}

/* 3-D sweep with the x-rank staircase: three radix sorts (y, then x stably:
 * lexicographic ranks; then z) and O(n log_64 n) for the sweep. */
static pg_status hv3d_fast(const double *P, size_t m, const double *ref, double *out) {
  *out = 0.0;
  if (m == 0) return PG_OK;
  if (m <= SMALL) {
    *out = hv3d_small(P, m, ref);
    return PG_OK;
  }
  if (m >= UINT32_MAX) return PG_ERANGE;
  p3k *a = malloc(m * sizeof *a);
  uint64_t *key = malloc(m * sizeof *key), *kt = malloc(m * sizeof *kt);
  uint32_t *idx = malloc(m * sizeof *idx), *it = malloc(m * sizeof *it);
  int32_t *rank = malloc(m * sizeof *rank);
  fstair f;
  memset(&f, 0, sizeof f);
  pg_status s = PG_ENOMEM;
  if (!a || !key || !kt || !idx || !it || !rank || fstair_init(&f, m) != 0) goto done;
  for (size_t i = 0; i < m; i++) {
    idx[i] = (uint32_t)i;
    key[i] = pg_radix_key(P[3 * i + 1]);
  }
  if (pg_radix_sort(key, idx, m, kt, it) != 0) goto done;
  for (size_t i = 0; i < m; i++) key[i] = pg_radix_key(P[3 * (size_t)idx[i]]);
  if (pg_radix_sort(key, idx, m, kt, it) != 0) goto done;
  for (size_t i = 0; i < m; i++) rank[idx[i]] = (int32_t)i;
  for (size_t i = 0; i < m; i++) {
    idx[i] = (uint32_t)i;
    key[i] = pg_radix_key(P[3 * i + 2]);
  }
  if (pg_radix_sort(key, idx, m, kt, it) != 0) goto done;
  for (size_t i = 0; i < m; i++) {
    const double *p = P + 3 * (size_t)idx[i];
    a[i] = (p3k){p[0], p[1], p[2], rank[idx[i]]};
  }
  double area = 0.0, vol = 0.0;
  for (size_t i = 0; i < m; i++) {
    if (!fstair_dominated(&f, (size_t)a[i].key, a[i].y))
      fstair_insert(&f, (size_t)a[i].key, a[i].x, a[i].y, ref[0], ref[1], &area);
    double znext = i + 1 < m ? a[i + 1].z : ref[2];
    vol += area * (znext - a[i].z);
  }
  *out = vol;
  s = PG_OK;
done:
  free(a);
  free(key);
  free(kt);
  free(idx);
  free(it);
  free(rank);
  fstair_free(&f);
  return s;
}

/* ---- WFG for d >= 4 ---- */

static pg_status hv_rec(double *P, size_t m, size_t d, const double *ref, double *out);

typedef struct lastctx {
  size_t d;
} lastctx;

static int cmp_last_asc(const void *pa, const void *pb, void *c) {
  size_t d = ((const lastctx *)c)->d;
  double a = ((const double *)pa)[d - 1], b = ((const double *)pb)[d - 1];
  return (a > b) - (a < b);
}

/* Sweep along the last objective (ascending). S holds the points seen so
 * far that are non-dominated on the first e = d-1 objectives (a point
 * dominated there by an earlier one can never bound a later contribution
 * more than its dominator does, so it is dropped for good); the
 * (d-1)-volume of the slice grows by each new point's exclusive
 * contribution V(p) - HV_{d-1}(nds(limit(S, p))), and each slab between
 * consecutive last-objective values adds slice volume x thickness. This is
 * the WFG decomposition evaluated in increasing order of the last
 * objective, as in HV4D (Guerreiro and Fonseca, IEEE TEVC 22(3), 2018). */
/* Cheap first cut of a limited set L (rows max(q, p), so l >= p): a row
 * equal to p in all coordinates but j ("axis row") dominates every row l
 * with l_j >= its l_j, one comparison. Given amin[j], the lowest axis row
 * value of each coordinate (+Inf if none), keeps the rows none of them
 * dominates followed by those axis rows; returns the new count (never more
 * than k: each axis row present removes at least its own original). */
static size_t axis_cut(double *L, size_t k, const double *p, size_t e, const double *amin) {
  size_t w = 0;
  for (size_t t = 0; t < k; t++) {
    const double *l = L + t * e;
    int dom = 0;
    for (size_t j = 0; j < e; j++) dom |= l[j] >= amin[j];
    if (!dom) {
      if (w != t) memcpy(L + w * e, l, e * sizeof *L);
      w++;
    }
  }
  for (size_t j = 0; j < e; j++)
    if (amin[j] < INFINITY) {
      double *l = L + w * e;
      memcpy(l, p, e * sizeof *L);
      l[j] = amin[j];
      w++;
    }
  return w;
}

/* The axis minima of L (see axis_cut) into amin; 0 when there is none. */
static int axis_minima(const double *L, size_t k, const double *p, size_t e, double *amin) {
  int any = 0;
  for (size_t j = 0; j < e; j++) amin[j] = INFINITY;
  for (size_t t = 0; t < k; t++) {
    const double *l = L + t * e;
    size_t free_j = 0, nfree = 0;
    for (size_t j = 0; j < e; j++) {
      int fr = l[j] != p[j];
      nfree += (size_t)fr;
      free_j = fr ? j : free_j;
    }
    if (nfree == 1 && l[free_j] < amin[free_j]) {
      amin[free_j] = l[free_j];
      any = 1;
    }
  }
  return any;
}

static size_t axis_prefilter(double *L, size_t k, const double *p, size_t e, double *amin) {
  return axis_minima(L, k, p, e, amin) ? axis_cut(L, k, p, e, amin) : k;
}

/* rank[i] = position of row i of P (m x d) in the lexicographic order of
 * its first two objectives. 0 on success. */
static int xy_ranks(const double *P, size_t m, size_t d, int32_t *rank) {
  uint64_t *key = malloc((m ? m : 1) * sizeof *key), *kt = malloc((m ? m : 1) * sizeof *kt);
  uint32_t *idx = malloc((m ? m : 1) * sizeof *idx), *it = malloc((m ? m : 1) * sizeof *it);
  int r = -1;
  if (key && kt && idx && it && m < UINT32_MAX) {
    for (size_t i = 0; i < m; i++) {
      idx[i] = (uint32_t)i;
      key[i] = pg_radix_key(P[i * d + 1]);
    }
    if (pg_radix_sort(key, idx, m, kt, it) == 0) {
      for (size_t i = 0; i < m; i++) key[i] = pg_radix_key(P[(size_t)idx[i] * d]);
      if (pg_radix_sort(key, idx, m, kt, it) == 0) {
        for (size_t i = 0; i < m; i++) rank[idx[i]] = (int32_t)i;
        r = 0;
      }
    }
  }
  free(key);
  free(kt);
  free(idx);
  free(it);
  return r;
}

static pg_status wfg(double *P, size_t m, size_t d, const double *ref, double *out) {
  if (d == 4 && m <= SMALL) {
    *out = hv4d_small(P, m, ref);
    return PG_OK;
  }
  lastctx c = {d};
  qsort_r(P, m, d * sizeof *P, cmp_last_asc, &c);
  size_t e = d - 1, ns = 0;
  double *L = malloc(m * e * sizeof *L), *S = malloc(m * e * sizeof *S);
  double *amin = malloc(e * sizeof *amin), *Ssum = malloc(m * sizeof *Ssum);
  unsigned char *pd = malloc(m);
  /* d = 4: keys of the x-rank staircase, 1 + lexicographic (x, y) rank of
   * each point (key 0 holds the limited points clamped to x = p_x) */
  int32_t *Sk = NULL, *Lk = NULL, *xr = NULL;
  fstair f;
  memset(&f, 0, sizeof f);
  int bad = !L || !S || !amin || !Ssum || !pd;
  if (!bad && e == 3) {
    Sk = malloc(m * sizeof *Sk);
    Lk = malloc(m * sizeof *Lk);
    xr = malloc(m * sizeof *xr);
    bad = !Sk || !Lk || !xr || fstair_init(&f, m + 1) != 0 || xy_ranks(P, m, d, xr) != 0;
  }
  if (bad) {
    free(Ssum);
    free(pd);
    free(amin);
    free(L);
    free(S);
    free(Sk);
    free(Lk);
    free(xr);
    fstair_free(&f);
    return PG_ENOMEM;
  }
  double total = 0.0, slice = 0.0;
  pg_status st = PG_OK;
  for (size_t i = 0; i < m; i++) {
    const double *p = P + i * d;
    int covered = 0, anyaxis = 0;
    if (e == 3) {
      /* online 3-D sweep of limit(S, p) in the z order of S.
       * Base level (q_z <= p_z, a prefix of S): a point left of p (q_x <=
       * p_x) limits to (p_x, q_y), one below (q_y <= p_y) to (q_x, p_y), so
       * only the lowest of each matters; a point up and right of p matters
       * only inside the box those two leave. Above the base, the sweep
       * stops at the first q with q_x <= p_x and q_y <= p_y: from q_z on,
       * the limited set covers p's whole box. */
      pg_fs_clear(&f.fs);
      double area = 0.0, vol = 0.0, full = (ref[0] - p[0]) * (ref[1] - p[1]);
      double zprev = p[2], zend = ref[2];
      size_t base = 0, hi = ns;
      while (base < hi) {
        size_t mid = (base + hi) / 2;
        if (S[3 * mid + 2] <= p[2])
          base = mid + 1;
        else
          hi = mid;
      }
      double yleft = ref[1], xbottom = ref[0];
      size_t tbottom = 0;
      /* (non-short-circuit tests: the outcomes are data-dependent, the
       * branches on their combination are rarely taken) */
#if defined(__SSE2__)
      const __m128d pxy = _mm_loadu_pd(p);
#endif
      for (size_t t = 0; t < base; t++) {
        const double qx = S[t * 3], qy = S[t * 3 + 1];
#if defined(__SSE2__)
        /* bit 0: left (q_x <= p_x), bit 1: below (q_y <= p_y) */
        const int lb = _mm_movemask_pd(_mm_cmple_pd(_mm_loadu_pd(S + t * 3), pxy));
        const int left = lb & 1, below = lb >> 1;
#else
        int left = qx <= p[0], below = qy <= p[1];
#endif
        covered |= left & below;
        yleft = (left & (qy < yleft)) ? qy : yleft;
        if ((!left) & below & (qx < xbottom)) {
          xbottom = qx;
          tbottom = t;
        }
      }
      if (!covered) {
#if defined(__SSE2__)
        const __m128d box = _mm_set_pd(yleft, xbottom);
#endif
        for (size_t t = 0; t < base; t++) {
          const double *q = S + t * 3;
#if defined(__SSE2__)
          const __m128d qxy = _mm_loadu_pd(q);
          if (_mm_movemask_pd(_mm_and_pd(_mm_cmpgt_pd(qxy, pxy), _mm_cmplt_pd(qxy, box))) == 3) {
#else
          if ((q[0] > p[0]) & (q[1] > p[1]) & (q[0] < xbottom) & (q[1] < yleft)) {
#endif
            size_t key = 1 + (size_t)Sk[t];
            if (!fstair_dominated(&f, key, q[1]))
              fstair_insert(&f, key, q[0], q[1], ref[0], ref[1], &area);
          }
        }
        if (yleft < ref[1] && !fstair_dominated(&f, 0, yleft))
          fstair_insert(&f, 0, p[0], yleft, ref[0], ref[1], &area);
        if (xbottom < ref[0]) {
          size_t key = 1 + (size_t)Sk[tbottom];
          if (!fstair_dominated(&f, key, p[1]))
            fstair_insert(&f, key, xbottom, p[1], ref[0], ref[1], &area);
        }
        for (size_t t = base; t < ns; t++) {
          const double *q = S + t * 3;
          double lz = q[2];
          vol += area * (lz - zprev);
          zprev = lz;
          if (q[0] <= p[0] && q[1] <= p[1]) {
            zend = lz;
            break;
          }
          double lx = q[0] > p[0] ? q[0] : p[0], ly = q[1] > p[1] ? q[1] : p[1];
          size_t key = q[0] > p[0] ? 1 + (size_t)Sk[t] : 0;
          if (!fstair_dominated(&f, key, ly)) fstair_insert(&f, key, lx, ly, ref[0], ref[1], &area);
        }
        vol += area * (zend - zprev) + full * (ref[2] - zend);
        slice += full * (ref[2] - p[2]) - vol;
      }
    } else if (e == 4) {
      /* the axis / cover pass of the general case below with the four
       * coordinates unrolled (SSE2 masks when available) and a single
       * branch, on the rare rows with at most one free coordinate; the
       * limited rows themselves are built by the axis cut further down */
      double a0 = INFINITY, a1 = INFINITY, a2 = INFINITY, a3 = INFINITY;
#if defined(__SSE2__)
      const __m128d pa = _mm_loadu_pd(p), pb = _mm_loadu_pd(p + 2);
#else
      const double p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
#endif
      for (size_t t = 0; t < ns; t++) {
        const double *q = S + t * 4;
        const double q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
#if defined(__SSE2__)
        const __m128d qa = _mm_loadu_pd(q), qb = _mm_loadu_pd(q + 2);
        /* bit j: q_j > p_j (a free coordinate of the limited row) */
        const int up = _mm_movemask_pd(_mm_cmpgt_pd(qa, pa)) | _mm_movemask_pd(_mm_cmpgt_pd(qb, pb)) << 2;
        const int ge = _mm_movemask_pd(_mm_cmpge_pd(qa, pa)) & _mm_movemask_pd(_mm_cmpge_pd(qb, pb));
        pd[t] = (unsigned char)(ge == 3);
        if ((up & (up - 1)) == 0) { /* rare: q covers p, or q limits to an axis row */
          const int u0 = up & 1, u1 = (up >> 1) & 1, u2 = (up >> 2) & 1;
          const int nfree = up != 0;
#else
        const int u0 = q0 > p0, u1 = q1 > p1, u2 = q2 > p2, u3 = q3 > p3;
        const int nfree = u0 + u1 + u2 + u3;
        pd[t] = (unsigned char)((q0 >= p0) & (q1 >= p1) & (q2 >= p2) & (q3 >= p3));
        if (nfree <= 1) { /* rare: q covers p, or q limits to an axis row */
#endif
          if (nfree == 0) {
            covered = 1;
            break;
          }
          /* the free coordinate of an axis row is q's own */
          if (u0)
            a0 = q0 < a0 ? q0 : a0;
          else if (u1)
            a1 = q1 < a1 ? q1 : a1;
          else if (u2)
            a2 = q2 < a2 ? q2 : a2;
          else
            a3 = q3 < a3 ? q3 : a3;
        }
      }
      amin[0] = a0;
      amin[1] = a1;
      amin[2] = a2;
      amin[3] = a3;
      anyaxis = (a0 < INFINITY) | (a1 < INFINITY) | (a2 < INFINITY) | (a3 < INFINITY);
    } else {
      for (size_t j = 0; j < e; j++) amin[j] = INFINITY;
      for (size_t t = 0; t < ns; t++) {
        const double *q = S + t * e;
        double *l = L + t * e;
        int ge = 1;
        size_t nfree = 0, fj = 0;
        for (size_t j = 0; j < e; j++) {
          int up = q[j] > p[j];
          l[j] = up ? q[j] : p[j];
          nfree += (size_t)up;
          fj = up ? j : fj;
          ge &= q[j] >= p[j];
        }
        if (nfree == 0) { /* q covers p on the first d-1 objectives */
          covered = 1;
          break;
        }
        if (nfree == 1 && l[fj] < amin[fj]) { /* an axis row (axis_cut) */
          amin[fj] = l[fj];
          anyaxis = 1;
        }
        pd[t] = (unsigned char)ge; /* p dominates q: q leaves S */
      }
    }
    if (!covered && e == 3) {
      /* p goes before the first member with z >= p_z; the points p
       * dominates all lie after it, so only that suffix is rewritten */
      size_t lo = 0, hi = ns;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S[3 * mid + 2] < p[2])
          lo = mid + 1;
        else
          hi = mid;
      }
      size_t w = 0;
      for (size_t t = lo; t < ns; t++) {
        const double *q = S + t * 3;
        if (!((q[0] >= p[0]) & (q[1] >= p[1]) & (q[2] >= p[2]))) {
          memcpy(L + w * 3, q, 3 * sizeof *S);
          Lk[w++] = Sk[t];
        }
      }
      memcpy(S + lo * 3, p, 3 * sizeof *S);
      Sk[lo] = xr[i];
      memcpy(S + (lo + 1) * 3, L, w * 3 * sizeof *S);
      memcpy(Sk + lo + 1, Lk, w * sizeof *Sk);
      ns = lo + 1 + w;
    } else if (!covered) {
      size_t k = ns;
      if (e == 4) {
        /* limited rows that no axis row dominates (axis_cut), compacted
         * without branches, then the axis rows */
        const double p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
        const double a0 = amin[0], a1 = amin[1], a2 = amin[2], a3 = amin[3];
        k = 0;
        for (size_t t = 0; t < ns; t++) {
          const double *q = S + t * 4;
          double *l = L + k * 4;
          const double l0 = q[0] > p0 ? q[0] : p0, l1 = q[1] > p1 ? q[1] : p1;
          const double l2 = q[2] > p2 ? q[2] : p2, l3 = q[3] > p3 ? q[3] : p3;
          l[0] = l0;
          l[1] = l1;
          l[2] = l2;
          l[3] = l3;
          k += (size_t)!((l0 >= a0) | (l1 >= a1) | (l2 >= a2) | (l3 >= a3));
        }
        for (size_t j = 0; j < 4; j++)
          if (amin[j] < INFINITY) {
            double *l = L + k * 4;
            memcpy(l, p, 4 * sizeof *L);
            l[j] = amin[j];
            k++;
          }
      } else if (e > 4 && anyaxis)
        k = axis_cut(L, k, p, e, amin);
      /* S is kept in increasing coordinate sum: L nearly so */
      if (e == 4)
        k = nds_filter_ordered4(L, k);
      else if (e > 4)
        k = nds_filter_ordered(L, k, e);
      double inner = 0.0;
      if ((st = hv_rec(L, k, e, ref, &inner)) != PG_OK) break;
      slice += box_volume(p, ref, e) - inner;
      /* drop the members of S that p dominates on the first e objectives;
       * insert p by coordinate sum */
      double ps = 0.0;
      for (size_t j = 0; j < e; j++) ps += p[j];
      size_t w = 0, at = SIZE_MAX;
      for (size_t t = 0; t < ns; t++) {
        if (pd[t]) continue;
        if (at == SIZE_MAX && Ssum[t] >= ps) at = w;
        if (w != t) {
          memcpy(S + w * e, S + t * e, e * sizeof *S);
          Ssum[w] = Ssum[t];
        }
        w++;
      }
      if (at == SIZE_MAX) at = w;
      memmove(S + (at + 1) * e, S + at * e, (w - at) * e * sizeof *S);
      memmove(Ssum + at + 1, Ssum + at, (w - at) * sizeof *Ssum);
      memcpy(S + at * e, p, e * sizeof *S);
      Ssum[at] = ps;
      ns = w + 1;
    }
    double next = i + 1 < m ? P[(i + 1) * d + d - 1] : ref[d - 1];
    total += slice * (next - p[d - 1]);
  }
  free(Ssum);
  free(pd);
  free(amin);
  free(L);
  free(S);
  free(Sk);
  free(Lk);
  free(xr);
  fstair_free(&f);
  *out = total;
  return st;
}

/* Hypervolume of P (m x d, every row strictly below ref), reordering P. */
static pg_status hv_rec(double *P, size_t m, size_t d, const double *ref, double *out) {
  if (m == 0) {
    *out = 0.0;
    return PG_OK;
  }
  if (m == 1) {
    *out = box_volume(P, ref, d);
    return PG_OK;
  }
  switch (d) {
  case 1:
    *out = hv1d(P, m, ref);
    return PG_OK;
  case 2:
    *out = hv2d(P, m, ref);
    return PG_OK;
  case 3:
    return hv3d_fast(P, m, ref, out);
  default:
    return wfg(P, m, d, ref, out);
  }
}

/* Copy the rows strictly below ref into a new buffer (*buf, *m rows);
 * *neginf is set when one of them has a -Inf coordinate. */
static pg_status relevant(const double *Y, size_t n, size_t d, const double *ref, double **buf,
                          size_t *m, size_t *idx, int *neginf) {
  *buf = malloc((n ? n : 1) * d * sizeof **buf);
  if (!*buf) return PG_ENOMEM;
  size_t k = 0;
  *neginf = 0;
  for (size_t i = 0; i < n; i++) {
    const double *p = Y + i * d;
    if (!strictly_below(p, ref, d)) continue;
    for (size_t j = 0; j < d; j++)
      if (isinf(p[j])) *neginf = 1;
    memcpy(*buf + k * d, p, d * sizeof *p);
    if (idx) idx[k] = i;
    k++;
  }
  *m = k;
  return PG_OK;
}

pg_status pg_hv(const double *Y, size_t n, size_t d, const double *ref, double *out) {
  *out = 0.0;
  pg_status s = check_args(Y, n, d, ref);
  if (s != PG_OK) return s;
  double *P;
  size_t m;
  int neginf;
  if ((s = relevant(Y, n, d, ref, &P, &m, NULL, &neginf)) != PG_OK) return s;
  if (neginf)
    *out = INFINITY;
  else
    s = hv_rec(P, m, d, ref, out);
  free(P);
  return s;
}

/* ---- contributions ---- */

/* V(p) - HV(limit(Q, p)) for the m rows of Q (p itself not among them);
 * L is scratch of m x d. */
static pg_status exclusive(const double *p, const double *Q, size_t m, size_t d,
                           const double *ref, double *L, double *out) {
  *out = 0.0;
  for (size_t t = 0; t < m; t++) {
    const double *q = Q + t * d;
    double *l = L + t * d;
    int all = 1;
    for (size_t j = 0; j < d; j++) {
      l[j] = q[j] > p[j] ? q[j] : p[j];
      if (q[j] > p[j]) all = 0;
    }
    if (all) return PG_OK; /* p weakly dominated by q */
  }
  size_t k = m;
  pg_status s = PG_OK;
  if (d >= 4) {
    double *amin = malloc(d * sizeof *amin);
    if (!amin) return PG_ENOMEM;
    k = axis_prefilter(L, k, p, d, amin);
    free(amin);
    if ((s = nds_filter_alloc(L, &k, d)) != PG_OK) return s;
  }
  double inner;
  s = hv_rec(L, k, d, ref, &inner);
  if (s == PG_OK) *out = box_volume(p, ref, d) - inner;
  return s;
}

typedef struct c2 {
  double x, y;
  size_t i;
} c2;

static int cmp_c2(const void *pa, const void *pb) {
  const c2 *a = pa, *b = pb;
  if (a->x != b->x) return a->x < b->x ? -1 : 1;
  return (a->y > b->y) - (a->y < b->y);
}

/* 2-D contributions of the m relevant points P (indices idx) into out. */
static pg_status contrib2d(const double *P, size_t m, const size_t *idx, const double *ref,
                           double *out) {
  c2 *a = malloc((m ? m : 1) * sizeof *a);
  c2 *f1 = malloc((m ? m : 1) * sizeof *f1), *f2 = malloc((m ? m : 1) * sizeof *f2);
  unsigned char *dup = calloc(m ? m : 1, 1);
  if (!a || !f1 || !f2 || !dup) {
    free(a);
    free(f1);
    free(f2);
    free(dup);
    return PG_ENOMEM;
  }
  for (size_t t = 0; t < m; t++) a[t] = (c2){P[2 * t], P[2 * t + 1], idx[t]};
  qsort(a, m, sizeof *a, cmp_c2);
  /* first and second fronts of the distinct points (lexicographic sweep) */
  size_t n1 = 0, n2 = 0;
  double last1 = INFINITY, last2 = INFINITY;
  for (size_t t = 0; t < m; t++) {
    if (t > 0 && a[t].x == a[t - 1].x && a[t].y == a[t - 1].y) {
      if (n1 > 0 && f1[n1 - 1].x == a[t].x && f1[n1 - 1].y == a[t].y) dup[n1 - 1] = 1;
      continue;
    }
    if (a[t].y < last1) {
      f1[n1++] = a[t];
      last1 = a[t].y;
    } else if (a[t].y < last2) {
      f2[n2++] = a[t];
      last2 = a[t].y;
    }
  }
  size_t j = 0;
  for (size_t t = 0; t < n1; t++) {
    double x = f1[t].x, y = f1[t].y;
    double xc = t + 1 < n1 ? f1[t + 1].x : ref[0];
    double yc = t > 0 ? f1[t - 1].y : ref[1];
    while (j < n2 && f2[j].x < x) j++;
    double covered = 0.0;
    size_t s = j;
    while (s < n2 && f2[s].x < xc) {
      double nx = s + 1 < n2 && f2[s + 1].x < xc ? f2[s + 1].x : xc;
      if (f2[s].y < yc) covered += (nx - f2[s].x) * (yc - f2[s].y);
      s++;
    }
    j = s;
    out[f1[t].i] = dup[t] ? 0.0 : (xc - x) * (yc - y) - covered;
  }
  free(a);
  free(f1);
  free(f2);
  free(dup);
  return PG_OK;
}

/* 3-D contributions of the m relevant points P (indices idx): for every p,
 * V(p) - HV(limit(P \ {p}, p)) by the online sweep of wfg()'s 4-D step, in
 * the global z order, stopping at the first point that covers p in (x, y).
 * O(m^2) bit-trie operations in the worst case, no sorting per point. */
static pg_status contrib3d(const double *P, size_t m, const size_t *idx, const double *ref,
                           double *out) {
  if (m >= UINT32_MAX) return PG_ERANGE;
  uint64_t *key = malloc((m ? m : 1) * sizeof *key), *kt = malloc((m ? m : 1) * sizeof *kt);
  uint32_t *zo = malloc((m ? m : 1) * sizeof *zo), *it = malloc((m ? m : 1) * sizeof *it);
  int32_t *xr = malloc((m ? m : 1) * sizeof *xr);
  fstair f;
  memset(&f, 0, sizeof f);
  pg_status s = PG_ENOMEM;
  if (!key || !kt || !zo || !it || !xr || fstair_init(&f, m + 1) != 0) goto done;
  if (xy_ranks(P, m, 3, xr) != 0) goto done;
  for (size_t i = 0; i < m; i++) {
    zo[i] = (uint32_t)i;
    key[i] = pg_radix_key(P[3 * i + 2]);
  }
  if (pg_radix_sort(key, zo, m, kt, it) != 0) goto done;
  for (size_t i = 0; i < m; i++) {
    const double *p = P + 3 * i;
    pg_fs_clear(&f.fs);
    double area = 0.0, vol = 0.0, full = (ref[0] - p[0]) * (ref[1] - p[1]);
    double zprev = p[2], zend = ref[2];
    int covered = 0;
    /* base level as in wfg()'s 4-D step: the lowest point left of p, the
     * leftmost below it, and the points up and right inside their box */
    size_t base = 0, hi = m;
    while (base < hi) {
      size_t mid = (base + hi) / 2;
      if (P[3 * (size_t)zo[mid] + 2] <= p[2])
        base = mid + 1;
      else
        hi = mid;
    }
    double yleft = ref[1], xbottom = ref[0];
    size_t jbottom = 0;
    for (size_t t = 0; t < base; t++) {
      size_t j = zo[t];
      const double qx = P[3 * j], qy = P[3 * j + 1];
      int left = (qx <= p[0]) & (j != i), below = qy <= p[1];
      covered |= left & below;
      yleft = (left & (qy < yleft)) ? qy : yleft;
      if ((qx > p[0]) & below & (qx < xbottom)) {
        xbottom = qx;
        jbottom = j;
      }
    }
    if (covered) {
      out[idx[i]] = 0.0;
      continue;
    }
    for (size_t t = 0; t < base; t++) {
      size_t j = zo[t];
      const double *q = P + 3 * j;
      if ((j != i) & (q[0] > p[0]) & (q[1] > p[1]) & (q[0] < xbottom) & (q[1] < yleft)) {
        size_t k = 1 + (size_t)xr[j];
        if (!fstair_dominated(&f, k, q[1])) fstair_insert(&f, k, q[0], q[1], ref[0], ref[1], &area);
      }
    }
    if (yleft < ref[1] && !fstair_dominated(&f, 0, yleft))
      fstair_insert(&f, 0, p[0], yleft, ref[0], ref[1], &area);
    if (xbottom < ref[0]) {
      size_t k = 1 + (size_t)xr[jbottom];
      if (!fstair_dominated(&f, k, p[1])) fstair_insert(&f, k, xbottom, p[1], ref[0], ref[1], &area);
    }
    for (size_t t = base; t < m; t++) {
      size_t j = zo[t];
      const double *q = P + 3 * j;
      double lz = q[2];
      vol += area * (lz - zprev);
      zprev = lz;
      if (q[0] <= p[0] && q[1] <= p[1]) {
        zend = lz;
        break;
      }
      double lx = q[0] > p[0] ? q[0] : p[0], ly = q[1] > p[1] ? q[1] : p[1];
      size_t k = q[0] > p[0] ? 1 + (size_t)xr[j] : 0;
      if (!fstair_dominated(&f, k, ly)) fstair_insert(&f, k, lx, ly, ref[0], ref[1], &area);
    }
    vol += area * (zend - zprev) + full * (ref[2] - zend);
    double c = full * (ref[2] - p[2]) - vol;
    out[idx[i]] = c > 0.0 ? c : 0.0;
  }
  s = PG_OK;
done:
  free(key);
  free(kt);
  free(zo);
  free(it);
  free(xr);
  fstair_free(&f);
  return s;
}

pg_status pg_hv_contrib(const double *Y, size_t n, size_t d, const double *ref, double *out) {
  pg_status s = check_args(Y, n, d, ref);
  if (s != PG_OK) return s;
  for (size_t i = 0; i < n; i++) out[i] = 0.0;
  if (n == 0) return PG_OK;
  size_t *idx = malloc(n * sizeof *idx), m;
  double *P = NULL, *Q = NULL, *L = NULL;
  int neginf;
  if (!idx) return PG_ENOMEM;
  if ((s = relevant(Y, n, d, ref, &P, &m, idx, &neginf)) != PG_OK) goto done;
  if (neginf) {
    s = PG_EDOM;
    goto done;
  }
  if (d == 2) {
    s = contrib2d(P, m, idx, ref, out);
    goto done;
  }
  if (d == 3) {
    s = contrib3d(P, m, idx, ref, out);
    goto done;
  }
  Q = malloc((m ? m : 1) * d * sizeof *Q);
  L = malloc((m ? m : 1) * d * sizeof *L);
  if (!Q || !L) {
    s = PG_ENOMEM;
    goto done;
  }
  for (size_t t = 0; t < m; t++) {
    /* Q = P without row t */
    memcpy(Q, P, t * d * sizeof *P);
    memcpy(Q + t * d, P + (t + 1) * d, (m - t - 1) * d * sizeof *P);
    if ((s = exclusive(P + t * d, Q, m - 1, d, ref, L, &out[idx[t]])) != PG_OK) break;
  }
done:
  free(idx);
  free(P);
  free(Q);
  free(L);
  return s;
}

pg_status pg_hv_improvement(const double *Y, size_t n, size_t d, const double *ref,
                            const double *P, size_t np, double *out) {
  *out = 0.0;
  pg_status s = check_args(Y, n, d, ref);
  if (s == PG_OK) s = check_args(P, np, d, ref);
  if (s != PG_OK) return s;
  size_t tot = n + np, m, cnt;
  double *Q, *L = NULL;
  int neginf;
  if (np == 0) return PG_OK;
  /* the relevant points of Y, then those of P appended one at a time */
  if ((s = relevant(Y, n, d, ref, &Q, &m, NULL, &neginf)) != PG_OK) return s;
  if (neginf) {
    s = PG_EDOM; /* HV(Y) is infinite: the improvement is undefined */
    goto done;
  }
  double *Q2 = realloc(Q, tot * d * sizeof *Q);
  if (!Q2) {
    s = PG_ENOMEM;
    goto done;
  }
  Q = Q2;
  if (!(L = malloc(tot * d * sizeof *L))) {
    s = PG_ENOMEM;
    goto done;
  }
  cnt = m;
  for (size_t k = 0; k < np; k++) {
    const double *p = P + k * d;
    if (!strictly_below(p, ref, d)) continue;
    for (size_t j = 0; j < d; j++)
      if (isinf(p[j])) neginf = 1;
    if (neginf) { /* a point at -Inf inside the box adds an infinite volume */
      *out = INFINITY;
      break;
    }
    double ex;
    if ((s = exclusive(p, Q, cnt, d, ref, L, &ex)) != PG_OK) break;
    *out += ex;
    memcpy(Q + cnt * d, p, d * sizeof *p);
    cnt++;
  }
done:
  free(Q);
  free(L);
  return s;
}

pg_status pg_hv_mc(const double *Y, size_t n, size_t d, const double *ref, size_t nsamples,
                   pg_rng *rng, double *est, double *se) {
  *est = *se = 0.0;
  pg_status s = check_args(Y, n, d, ref);
  if (s != PG_OK) return s;
  if (nsamples == 0 || !rng) return PG_EINVAL;
  double *P, *lo = NULL, *z = NULL;
  size_t m;
  int neginf;
  if ((s = relevant(Y, n, d, ref, &P, &m, NULL, &neginf)) != PG_OK) return s;
  if (neginf) {
    *est = INFINITY;
    free(P);
    return PG_OK;
  }
  lo = malloc(d * sizeof *lo);
  z = malloc(d * sizeof *z);
  if (!lo || !z) {
    s = PG_ENOMEM;
    goto done;
  }
  if (m == 0) goto done;
  if ((s = nds_filter_alloc(P, &m, d)) != PG_OK) goto done;
  for (size_t j = 0; j < d; j++) {
    lo[j] = ref[j];
    for (size_t i = 0; i < m; i++)
      if (P[i * d + j] < lo[j]) lo[j] = P[i * d + j];
  }
  double vol = box_volume(lo, ref, d);
  size_t hits = 0;
  for (size_t t = 0; t < nsamples; t++) {
    for (size_t j = 0; j < d; j++) z[j] = lo[j] + (ref[j] - lo[j]) * pg_rng_uniform(rng);
    for (size_t i = 0; i < m; i++)
      if (weakly_dominates(P + i * d, z, d)) {
        hits++;
        break;
      }
  }
  double f = (double)hits / (double)nsamples;
  *est = vol * f;
  *se = vol * sqrt(f * (1.0 - f) / (double)nsamples);
done:
  free(P);
  free(lo);
  free(z);
  return s;
}
