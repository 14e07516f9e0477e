/* stair.c -- treap staircase for the 3-D sweeps (see stair.h). */
#include "stair.h"

#include <math.h>
#include <stdlib.h>

pg_status pg_stair_init(pg_stair_pool *p, size_t cap) {
  p->node = NULL;
  p->cap = p->used = 0;
  p->freelist = -1;
  p->seed = 0x9e3779b9u;
  if (cap >= (size_t)INT32_MAX) return PG_ERANGE;
  p->node = malloc((cap ? cap : 1) * sizeof *p->node);
  if (!p->node) return PG_ENOMEM;
  p->cap = (int32_t)cap;
  return PG_OK;
}

void pg_stair_free(pg_stair_pool *p) {
  free(p->node);
  p->node = NULL;
}

/* (x1, y1) < (x2, y2) lexicographically. */
static inline int key_less(double x1, double y1, double x2, double y2) {
  return x1 < x2 || (x1 == x2 && y1 < y2);
}

static int32_t new_node(pg_stair_pool *p, double x, double y) {
  int32_t i;
  if (p->freelist >= 0) {
    i = p->freelist;
    p->freelist = p->node[i].l;
  } else {
    i = p->used++; /* the sweeps never hold more than cap live nodes */
  }
  p->seed ^= p->seed << 13;
  p->seed ^= p->seed >> 17;
  p->seed ^= p->seed << 5;
  p->node[i] = (pg_stair_node){x, y, -1, -1, p->seed};
  return i;
}

/* Split t into keys < (a, b) and keys >= (a, b). */
static void split(pg_stair_node *n, int32_t t, double a, double b, int32_t *lo, int32_t *hi) {
  if (t < 0) {
    *lo = *hi = -1;
    return;
  }
  if (key_less(n[t].x, n[t].y, a, b)) {
    split(n, n[t].r, a, b, &n[t].r, hi);
    *lo = t;
  } else {
    split(n, n[t].l, a, b, lo, &n[t].l);
    *hi = t;
  }
}

static int32_t merge(pg_stair_node *n, int32_t a, int32_t b) {
  if (a < 0) return b;
  if (b < 0) return a;
  if (n[a].pri > n[b].pri) {
    n[a].r = merge(n, n[a].r, b);
    return a;
  }
  n[b].l = merge(n, a, n[b].l);
  return b;
}

/* Largest node with key < (a, b), or -1. */
static int32_t lower(const pg_stair_node *n, int32_t t, double a, double b) {
  int32_t best = -1;
  while (t >= 0) {
    if (key_less(n[t].x, n[t].y, a, b)) {
      best = t;
      t = n[t].r;
    } else {
      t = n[t].l;
    }
  }
  return best;
}

/* Smallest node with key >= (a, b), or -1. */
static int32_t geq(const pg_stair_node *n, int32_t t, double a, double b) {
  int32_t best = -1;
  while (t >= 0) {
    if (key_less(n[t].x, n[t].y, a, b)) {
      t = n[t].r;
    } else {
      best = t;
      t = n[t].l;
    }
  }
  return best;
}

int32_t pg_stair_floor(const pg_stair_pool *p, int32_t root, double a) {
  return lower(p->node, root, a, INFINITY);
}

int32_t pg_stair_succ(const pg_stair_pool *p, int32_t root, double a, double b) {
  int32_t t = root, best = -1;
  const pg_stair_node *n = p->node;
  while (t >= 0) {
    if (key_less(a, b, n[t].x, n[t].y)) {
      best = t;
      t = n[t].l;
    } else {
      t = n[t].r;
    }
  }
  return best;
}

int pg_stair_dominated(const pg_stair_pool *p, int32_t root, double a, double b) {
  int32_t f = lower(p->node, root, a, INFINITY);
  return f >= 0 && p->node[f].y <= b;
}

/* Remove the node with exactly key (x, y) from t; returns the new root. */
static int32_t erase(pg_stair_pool *p, int32_t t, double x, double y) {
  pg_stair_node *n = p->node;
  if (t < 0) return -1;
  if (n[t].x == x && n[t].y == y) {
    int32_t m = merge(n, n[t].l, n[t].r);
    n[t].l = p->freelist;
    p->freelist = t;
    return m;
  }
  if (key_less(x, y, n[t].x, n[t].y))
    n[t].l = erase(p, n[t].l, x, y);
  else
    n[t].r = erase(p, n[t].r, x, y);
  return t;
}

void pg_stair_insert(pg_stair_pool *p, int32_t *root, double a, double b, double rx, double ry,
                     double *area) {
  pg_stair_node *n = p->node;
  double cap = ry, cur = a;
  if (area) {
    int32_t pr = lower(n, *root, a, -INFINITY);
    if (pr >= 0) cap = n[pr].y;
  }
  /* points with x >= a form a suffix with decreasing y: delete its prefix
   * with y >= b, accumulating the strips they covered */
  for (;;) {
    int32_t s = geq(n, *root, a, -INFINITY);
    if (s < 0 || n[s].y < b) {
      if (area) *area += ((s >= 0 ? n[s].x : rx) - cur) * (cap - b);
      break;
    }
    if (area) {
      *area += (n[s].x - cur) * (cap - b);
      cap = n[s].y;
      cur = n[s].x;
    }
    *root = erase(p, *root, n[s].x, n[s].y);
  }
  int32_t lo, hi, k = new_node(p, a, b);
  split(p->node, *root, a, b, &lo, &hi);
  *root = merge(p->node, merge(p->node, lo, k), hi);
}

static int cmp_xy(const void *a, const void *b) {
  const double *p = a, *q = b;
  if (p[0] != q[0]) return p[0] < q[0] ? -1 : 1;
  if (p[1] != q[1]) return p[1] < q[1] ? -1 : 1;
  return 0;
}

size_t pg_stair_2d(const double *B, size_t k, const double *ref, double *st) {
  size_t m = 0;
  for (size_t i = 0; i < k; i++)
    if (B[2 * i] < ref[0] && B[2 * i + 1] < ref[1]) {
      st[2 * m] = B[2 * i];
      st[2 * m + 1] = B[2 * i + 1];
      m++;
    }
  qsort(st, m, 2 * sizeof *st, cmp_xy);
  size_t out = 0;
  double last = ref[1];
  for (size_t i = 0; i < m; i++)
    if (st[2 * i + 1] < last) {
      last = st[2 * i + 1];
      st[2 * out] = st[2 * i];
      st[2 * out + 1] = last;
      out++;
    }
  return out;
}
