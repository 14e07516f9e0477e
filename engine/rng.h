/*
 * rng.h -- the seeded random generator every stochastic routine takes.
 *
 * xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021), seeded through splitmix64. The sequence
 * depends only on the seed: integer arithmetic for the state, and for the
 * derived draws only IEEE-754 operations plus log() (normals), so the same
 * seed gives the same numbers on every x86-64 / aarch64 machine with glibc.
 * There is no global generator anywhere in perigee.
 */
#ifndef PG_RNG_H
#define PG_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_rng {
  uint64_t s[4];
} pg_rng;

/* Seed from a 64-bit integer (splitmix64 expansion; seed 0 is fine). */
void pg_rng_seed(pg_rng *r, uint64_t seed);

/* Next raw 64-bit output. */
uint64_t pg_rng_next(pg_rng *r);

/* Uniform double in [0, 1) with 53 random bits. */
double pg_rng_uniform(pg_rng *r);

/* Standard normal N(0, 1) by the Marsaglia polar method (one value per call;
 * the second value of the pair is discarded so the state is the only state). */
double pg_rng_normal(pg_rng *r);

/* Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject);
 * returns 0 when n == 0. */
uint64_t pg_rng_below(pg_rng *r, uint64_t n);

/* Index in [0, k) drawn with probability w[i] / sum(w). Weights must be
 * finite and non-negative with a positive sum; returns k on invalid weights. */
size_t pg_rng_categorical(pg_rng *r, const double *w, size_t k);

/* Fisher-Yates shuffle of idx[0..n). */
void pg_rng_shuffle(pg_rng *r, size_t *idx, size_t n);

/* Derive an independent stream: child is seeded from four outputs of the
 * parent passed through splitmix64; the parent advances by four draws. */
void pg_rng_split(pg_rng *parent, pg_rng *child);

/* Latin hypercube design: n points in [0,1)^d, row-major out[n*d]. Each
 * column has exactly one point in each of the n strata, jittered uniformly. */
void pg_rng_lhs(pg_rng *r, size_t n, size_t d, double *out);

#endif
