/*
 * rng.c -- xoshiro256** with splitmix64 seeding and derived draws.
 * Reference: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
 * generators", ACM Trans. Math. Softw. 47(4), 2021; D. Lemire, "Fast random
 * integer generation in an interval", ACM TOMACS 29(1), 2019.
 */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void pg_rng_seed(pg_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t pg_rng_next(pg_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double pg_rng_uniform(pg_rng *r) {
  return (double)(pg_rng_next(r) >> 11) * 0x1.0p-53;
}

double pg_rng_normal(pg_rng *r) {
  double u, v, s;
  do {
    u = 2.0 * pg_rng_uniform(r) - 1.0;
    v = 2.0 * pg_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  return u * sqrt(-2.0 * log(s) / s);
}

uint64_t pg_rng_below(pg_rng *r, uint64_t n) {
  if (n == 0) return 0;
  unsigned __int128 m = (unsigned __int128)pg_rng_next(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t threshold = (0 - n) % n;
    while (lo < threshold) {
      m = (unsigned __int128)pg_rng_next(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

size_t pg_rng_categorical(pg_rng *r, const double *w, size_t k) {
  double total = 0.0;
  for (size_t i = 0; i < k; i++) {
    if (!(w[i] >= 0.0) || isinf(w[i])) return k;
    total += w[i];
  }
  if (!(total > 0.0) || isinf(total)) return k;
  double u = pg_rng_uniform(r) * total, acc = 0.0;
  size_t last = k;
  for (size_t i = 0; i < k; i++) {
    if (w[i] <= 0.0) continue;
    acc += w[i];
    last = i;
    if (u < acc) return i;
  }
  return last; /* rounding: u landed on the total */
}

void pg_rng_shuffle(pg_rng *r, size_t *idx, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)pg_rng_below(r, i);
    size_t t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}

void pg_rng_split(pg_rng *parent, pg_rng *child) {
  for (int i = 0; i < 4; i++) {
    uint64_t x = pg_rng_next(parent);
    child->s[i] = splitmix64(&x);
  }
  if (!(child->s[0] | child->s[1] | child->s[2] | child->s[3])) child->s[0] = 1;
}

void pg_rng_lhs(pg_rng *r, size_t n, size_t d, double *out) {
  if (n == 0) return;
  for (size_t j = 0; j < d; j++) {
    /* a random permutation of the strata for column j, built in place */
    for (size_t i = 0; i < n; i++) out[i * d + j] = (double)i;
    for (size_t i = n; i > 1; i--) {
      size_t k = (size_t)pg_rng_below(r, i);
      double t = out[(i - 1) * d + j];
      out[(i - 1) * d + j] = out[k * d + j];
      out[k * d + j] = t;
    }
    for (size_t i = 0; i < n; i++)
    {
      double v = (out[i * d + j] + pg_rng_uniform(r)) / (double)n;
      out[i * d + j] = v < 1.0 ? v : 0x1.fffffffffffffp-1; /* rounding may reach 1 */
    }
  }
}
