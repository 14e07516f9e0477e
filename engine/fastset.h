/*
 * fastset.h -- an ordered set of integer keys in [0, K) as a hierarchy of
 * 64-bit occupancy words (a 64-ary van Emde Boas-like trie): insert, erase,
 * predecessor and successor in O(log_64 K) word operations. Private to the
 * engine (the 3-D hypervolume sweeps key their staircase by x-rank).
 */
#ifndef PG_FASTSET_H
#define PG_FASTSET_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PG_FS_LEVELS 4 /* up to 64^4 = 16.7 million keys */

typedef struct pg_fastset {
  uint64_t *w[PG_FS_LEVELS]; /* w[0]: one bit per key; w[l+1]: one bit per word of w[l] */
  size_t nw[PG_FS_LEVELS];
  int levels;
} pg_fastset;

/* 0 on success, -1 on allocation failure or K above 64^4. */
static inline int pg_fs_init(pg_fastset *s, size_t K) {
  memset(s, 0, sizeof *s);
  size_t n = K ? K : 1;
  for (int l = 0; l < PG_FS_LEVELS; l++) {
    size_t nw = (n + 63) / 64;
    s->w[l] = calloc(nw, sizeof(uint64_t));
    if (!s->w[l]) return -1;
    s->nw[l] = nw;
    s->levels = l + 1;
    if (nw == 1) return 0;
    n = nw;
  }
  return -1;
}

static inline void pg_fs_free(pg_fastset *s) {
  for (int l = 0; l < PG_FS_LEVELS; l++) free(s->w[l]);
  memset(s, 0, sizeof *s);
}

static inline void pg_fs_clear(pg_fastset *s) {
  for (int l = 0; l < s->levels; l++) memset(s->w[l], 0, s->nw[l] * sizeof(uint64_t));
}

static inline void pg_fs_insert(pg_fastset *s, size_t k) {
  for (int l = 0; l < s->levels; l++, k >>= 6) s->w[l][k >> 6] |= (uint64_t)1 << (k & 63);
}

static inline void pg_fs_erase(pg_fastset *s, size_t k) {
  for (int l = 0; l < s->levels; l++, k >>= 6) {
    s->w[l][k >> 6] &= ~((uint64_t)1 << (k & 63));
    if (s->w[l][k >> 6]) return;
  }
}

/* Largest key <= k, or -1. */
static inline long pg_fs_pred(const pg_fastset *s, size_t k) {
  int l = 0;
  for (;;) {
    uint64_t m = s->w[l][k >> 6] & (~(uint64_t)0 >> (63 - (k & 63)));
    if (m) {
      k = (k & ~(size_t)63) | (size_t)(63 - __builtin_clzll(m));
      break;
    }
    if ((k >> 6) == 0 || l + 1 >= s->levels) return -1;
    k = (k >> 6) - 1;
    l++;
  }
  while (l > 0) { /* descend to the largest set bit below */
    l--;
    k = (k << 6) | (size_t)(63 - __builtin_clzll(s->w[l][k]));
  }
  return (long)k;
}

/* Smallest key >= k, or -1. */
static inline long pg_fs_succ(const pg_fastset *s, size_t k) {
  int l = 0;
  for (;;) {
    if ((k >> 6) >= s->nw[l]) return -1;
    uint64_t m = s->w[l][k >> 6] & (~(uint64_t)0 << (k & 63));
    if (m) {
      k = (k & ~(size_t)63) | (size_t)__builtin_ctzll(m);
      break;
    }
    if (l + 1 >= s->levels) return -1;
    k = (k >> 6) + 1;
    l++;
  }
  while (l > 0) {
    l--;
    k = (k << 6) | (size_t)__builtin_ctzll(s->w[l][k]);
  }
  return (long)k;
}

#endif
