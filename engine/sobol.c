/*
 * sobol.c -- Sobol' sequences with computed primitive polynomials (see
 * sobol.h for the references and the rule for initial direction numbers).
 */
#include "sobol.h"

#include <stdlib.h>
#include <string.h>

struct pg_sobol {
  size_t d;
  uint64_t index;  /* number of the next point */
  uint32_t *v;     /* d x 32 direction numbers, v[j*32 + c] for bit c */
  uint32_t *x;     /* current point as integers (unshifted) */
  uint32_t *shift; /* digital shift (zero when not scrambled) */
};

#define MAXDEG 20 /* degrees up to 20 give far more than PG_SOBOL_MAXDIM polys */

static uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* a * b mod p over GF(2); p has degree s, a and b have degree < s. */
static uint64_t gf2_mulmod(uint64_t a, uint64_t b, uint64_t p, unsigned s) {
  uint64_t r = 0;
  while (b) {
    if (b & 1u) r ^= a;
    b >>= 1;
    a <<= 1;
    if (a >> s & 1u) a ^= p;
  }
  return r;
}

/* x^e mod p over GF(2). */
static uint64_t gf2_powx(uint64_t e, uint64_t p, unsigned s) {
  uint64_t result = 1, base = s > 1 ? 2u : (2u ^ p); /* x mod p */
  while (e) {
    if (e & 1u) result = gf2_mulmod(result, base, p, s);
    base = gf2_mulmod(base, base, p, s);
    e >>= 1;
  }
  return result;
}

/* Is p (degree s, p(0) = 1) primitive: x has order exactly 2^s - 1 mod p.
 * A reducible p has fewer than 2^s - 1 units modulo p, so the order test
 * alone also proves irreducibility. */
static int is_primitive(uint64_t p, unsigned s) {
  uint64_t n = (UINT64_C(1) << s) - 1;
  if (gf2_powx(n, p, s) != 1) return 0;
  uint64_t m = n;
  for (uint64_t q = 2; q * q <= m; q++) {
    if (m % q) continue;
    while (m % q == 0) m /= q;
    if (gf2_powx(n / q, p, s) == 1) return 0;
  }
  if (m > 1 && m != n && gf2_powx(n / m, p, s) == 1) return 0;
  return 1;
}

/* Visit primitive polynomials in order (degree, then middle coefficients
 * read as Joe-Kuo's integer a with a_1 the most significant bit). Stops
 * after `count` of them, storing degrees and coefficient masks. */
static pg_status primitive_polys(size_t count, unsigned *deg, uint64_t *poly) {
  size_t k = 0;
  for (unsigned s = 1; s <= MAXDEG && k < count; s++) {
    uint64_t na = s >= 2 ? UINT64_C(1) << (s - 1) : 1;
    for (uint64_t a = 0; a < na && k < count; a++) {
      /* a's bit (s-1-i) is a_i, the coefficient of x^(s-i) */
      uint64_t p = (UINT64_C(1) << s) | 1u | (a << 1);
      if (is_primitive(p, s)) {
        deg[k] = s;
        poly[k] = p;
        k++;
      }
    }
  }
  return k == count ? PG_OK : PG_ERANGE;
}

pg_status pg_sobol_polynomial(size_t k, unsigned *degree, uint64_t *poly) {
  if (!degree || !poly || k >= PG_SOBOL_MAXDIM) return PG_EINVAL;
  unsigned *deg = malloc((k + 1) * sizeof *deg);
  uint64_t *pl = malloc((k + 1) * sizeof *pl);
  pg_status st = deg && pl ? primitive_polys(k + 1, deg, pl) : PG_ENOMEM;
  if (st == PG_OK) {
    *degree = deg[k];
    *poly = pl[k];
  }
  free(deg);
  free(pl);
  return st;
}

/* Direction numbers of one dimension from its polynomial and initial m. */
static void directions(uint32_t *v, unsigned s, uint64_t p, const uint32_t *minit) {
  uint64_t m[PG_SOBOL_BITS + 1];
  for (unsigned k = 1; k <= PG_SOBOL_BITS; k++) {
    if (k <= s) {
      m[k] = minit[k - 1];
    } else {
      uint64_t mk = m[k - s] ^ (m[k - s] << s);
      for (unsigned i = 1; i < s; i++)
        if (p >> (s - i) & 1u) mk ^= m[k - i] << i;
      m[k] = mk;
    }
    v[k - 1] = (uint32_t)(m[k] << (PG_SOBOL_BITS - k));
  }
}

pg_status pg_sobol_new(size_t d, pg_sobol **out) {
  if (!out) return PG_EINVAL;
  *out = NULL;
  if (d < 1 || d > PG_SOBOL_MAXDIM) return PG_EINVAL;
  pg_sobol *s = calloc(1, sizeof *s);
  unsigned *deg = malloc(d * sizeof *deg);
  uint64_t *poly = malloc(d * sizeof *poly);
  if (!s || !deg || !poly) goto nomem;
  s->d = d;
  s->v = malloc(d * PG_SOBOL_BITS * sizeof *s->v);
  s->x = calloc(d, sizeof *s->x);
  s->shift = calloc(d, sizeof *s->shift);
  if (!s->v || !s->x || !s->shift) goto nomem;
  pg_status st = d > 1 ? primitive_polys(d - 1, deg, poly) : PG_OK;
  if (st != PG_OK) {
    free(deg);
    free(poly);
    pg_sobol_free(s);
    return st;
  }
  for (unsigned k = 0; k < PG_SOBOL_BITS; k++) s->v[k] = UINT32_C(1) << (PG_SOBOL_BITS - 1 - k);
  for (size_t j = 1; j < d; j++) {
    unsigned sd = deg[j - 1];
    uint32_t minit[MAXDEG];
    for (unsigned k = 1; k <= sd; k++) {
      if (j == 1) {
        minit[k - 1] = 1; /* x + 1 with m_1 = 1: Pascal's matrix mod 2 */
      } else {
        uint64_t h = splitmix64((UINT64_C(0x50b01) << 20) + 64 * (uint64_t)(j + 1) + k);
        minit[k - 1] = (uint32_t)(1 + 2 * (h % (UINT64_C(1) << (k - 1))));
      }
    }
    directions(s->v + j * PG_SOBOL_BITS, sd, poly[j - 1], minit);
  }
  free(deg);
  free(poly);
  *out = s;
  return PG_OK;
nomem:
  free(deg);
  free(poly);
  pg_sobol_free(s);
  return PG_ENOMEM;
}

void pg_sobol_free(pg_sobol *s) {
  if (!s) return;
  free(s->v);
  free(s->x);
  free(s->shift);
  free(s);
}

size_t pg_sobol_dim(const pg_sobol *s) { return s->d; }

void pg_sobol_scramble(pg_sobol *s, pg_rng *rng) {
  for (size_t j = 0; j < s->d; j++) s->shift[j] = (uint32_t)(pg_rng_next(rng) >> 32);
}

pg_status pg_sobol_seek(pg_sobol *s, uint64_t index) {
  if (index > (UINT64_C(1) << PG_SOBOL_BITS)) return PG_ERANGE;
  uint64_t g = index ^ (index >> 1); /* Gray code */
  for (size_t j = 0; j < s->d; j++) {
    uint32_t x = 0;
    for (unsigned c = 0; c < PG_SOBOL_BITS; c++)
      if (g >> c & 1u) x ^= s->v[j * PG_SOBOL_BITS + c];
    s->x[j] = x;
  }
  s->index = index;
  return PG_OK;
}

pg_status pg_sobol_next(pg_sobol *s, size_t n, double *out) {
  const uint64_t limit = UINT64_C(1) << PG_SOBOL_BITS;
  if (n > limit - s->index) return PG_ERANGE;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < s->d; j++)
      out[i * s->d + j] = (double)(s->x[j] ^ s->shift[j]) * 0x1.0p-32;
    s->index++;
    if (s->index < limit) {
      /* Gray-code step: flip the direction of the lowest zero bit of i */
      unsigned c = (unsigned)__builtin_ctzll(s->index);
      for (size_t j = 0; j < s->d; j++) s->x[j] ^= s->v[j * PG_SOBOL_BITS + c];
    }
  }
  return PG_OK;
}
