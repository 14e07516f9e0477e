/*
 * radix.h -- stable LSD radix sort of (64-bit key, 32-bit index) pairs and
 * the order-preserving map from doubles to keys. Private to the engine: the
 * sweeps of pareto.c and hv.c sort 10^5-10^6 points, where this is several
 * times faster than qsort with a comparison callback.
 */
#ifndef PG_RADIX_H
#define PG_RADIX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Key whose unsigned order is the numeric order of x (-0.0 maps like 0.0;
 * NaN must not occur). */
static inline uint64_t pg_radix_key(double x) {
  uint64_t u;
  x += 0.0; /* -0.0 -> +0.0 */
  memcpy(&u, &x, sizeof u);
  return (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));
}

typedef struct pg_radix_item {
  uint64_t key;
  size_t pos;
  uint32_t idx;
} pg_radix_item;

static inline int pg_radix_cmp(const void *pa, const void *pb) {
  const pg_radix_item *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return (a->pos > b->pos) - (a->pos < b->pos);
}

#define PG_RADIX_BITS 11
#define PG_RADIX_B ((size_t)1 << PG_RADIX_BITS)
#define PG_RADIX_PASSES 6 /* 6 x 11 bits >= 64 */

/* Sort idx[0..n) stably by key[0..n) (both permuted together): LSD radix
 * with 11-bit digits, skipping digits on which all keys agree; below 256
 * items a comparison sort (stable through the position tie-break). ktmp and
 * itmp are scratch of n entries. Returns -1 on allocation failure. */
static inline int pg_radix_sort(uint64_t *key, uint32_t *idx, size_t n, uint64_t *ktmp,
                                uint32_t *itmp) {
  if (n < 2) return 0;
  if (n < 256) {
    pg_radix_item *a = malloc(n * sizeof *a);
    if (!a) return -1;
    for (size_t i = 0; i < n; i++) a[i] = (pg_radix_item){key[i], i, idx[i]};
    qsort(a, n, sizeof *a, pg_radix_cmp);
    for (size_t i = 0; i < n; i++) {
      key[i] = a[i].key;
      idx[i] = a[i].idx;
    }
    free(a);
    return 0;
  }
  size_t *cnt = calloc(PG_RADIX_PASSES * PG_RADIX_B, sizeof *cnt);
  if (!cnt) return -1;
  for (size_t i = 0; i < n; i++) {
    uint64_t k = key[i];
    for (int p = 0; p < PG_RADIX_PASSES; p++)
      cnt[(size_t)p * PG_RADIX_B + ((k >> (PG_RADIX_BITS * p)) & (PG_RADIX_B - 1))]++;
  }
  uint64_t *ks = key, *kd = ktmp;
  uint32_t *is = idx, *id = itmp;
  for (int pass = 0; pass < PG_RADIX_PASSES; pass++) {
    size_t *c = cnt + (size_t)pass * PG_RADIX_B;
    int shift = PG_RADIX_BITS * pass;
    if (c[(ks[0] >> shift) & (PG_RADIX_B - 1)] == n) continue; /* all keys share this digit */
    size_t sum = 0;
    for (size_t b = 0; b < PG_RADIX_B; b++) {
      size_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) {
      size_t o = c[(ks[i] >> shift) & (PG_RADIX_B - 1)]++;
      kd[o] = ks[i];
      id[o] = is[i];
    }
    uint64_t *kt = ks;
    ks = kd;
    kd = kt;
    uint32_t *it = is;
    is = id;
    id = it;
  }
  if (ks != key) {
    memcpy(key, ks, n * sizeof *key);
    memcpy(idx, is, n * sizeof *idx);
  }
  free(cnt);
  return 0;
}

#endif
