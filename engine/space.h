/*
 * space.h -- mixed search spaces compiled from the Lua description: sampling,
 * encoding, decoding, neighbourhoods, mutation, crossover and hashing of
 * batches of points, all in C.
 *
 * A point in "native" form is a row of d doubles, one per dimension:
 *   REAL     the value itself, lo <= v <= hi (log scale: lo > 0)
 *   INT      the integer value, one of lo, lo + step, ..., (levels values)
 *   ORDINAL  the level index 0 .. levels-1 (the Lua layer maps it to values)
 *   CHOICE   the level index 0 .. levels-1 (unordered)
 *   FIXED    0 (the Lua layer holds the value)
 *
 * The "unit" encoding has one column per non-fixed dimension, in [0, 1]:
 *   REAL     (v - lo) / (hi - lo), or the same on log(v)
 *   INT      linear: (i + 0.5) / levels for level i; log: like REAL on log(v)
 *   ORDINAL, CHOICE   (i + 0.5) / levels
 * Decoding is the inverse with rounding: a level is floor(u * levels)
 * (clamped), so the cube is cut into equal strata and every value, bounds
 * included, is reachable; a log-scaled INT rounds exp(...) to the nearest grid
 * value. The unit cube therefore maps uniform, Sobol and Latin-hypercube
 * designs onto the grid with equal weight per level (log-uniform for log
 * scales).
 * The "onehot" encoding is the unit encoding with every CHOICE column
 * replaced by `levels` indicator columns; it decodes by argmax.
 *
 * Point sets are row-major; the caller owns every output.
 */
#ifndef PG_SPACE_H
#define PG_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "status.h"

typedef enum pg_dim_kind {
  PG_DIM_REAL = 0,
  PG_DIM_INT,
  PG_DIM_ORDINAL,
  PG_DIM_CHOICE,
  PG_DIM_FIXED
} pg_dim_kind;

/* Description of one dimension (plain data). For INT, levels is computed by
 * pg_space_new; for ORDINAL and CHOICE it must be set; for FIXED it is 1. */
typedef struct pg_space_dim {
  pg_dim_kind kind;
  double lo, hi; /* REAL, INT bounds (inclusive) */
  double step;   /* INT step >= 1 (0 is read as 1) */
  int log;       /* REAL, INT: log scale (lo > 0) */
  size_t levels; /* number of distinct values (0 = infinite, REAL) */
} pg_space_dim;

typedef struct pg_space {
  size_t d;         /* dimensions */
  size_t unit_d;    /* columns of the unit encoding (non-fixed dimensions) */
  size_t onehot_d;  /* columns of the one-hot encoding */
  pg_space_dim *dims;
} pg_space;

typedef enum pg_space_method {
  PG_SAMPLE_UNIFORM = 0,
  PG_SAMPLE_SOBOL,
  PG_SAMPLE_LHS
} pg_space_method;

/* Validate and copy a description (d >= 1). PG_EINVAL names no dimension:
 * the Lua layer validates first and gives the messages. */
pg_status pg_space_new(const pg_space_dim *dims, size_t d, pg_space **out);
void pg_space_free(pg_space *s);

/* Number of points: product of levels, INFINITY when a REAL dimension is
 * present (as a double; exact up to 2^53). */
double pg_space_size(const pg_space *s);

/* n points sampled in native form out[n*d]. UNIFORM draws each unit column
 * from rng; LHS uses pg_rng_lhs; SOBOL takes points offset .. offset+n-1 of
 * the Sobol' sequence of dimension unit_d, digitally shifted by words drawn
 * from rng when rng is non-NULL (rng may be NULL only for SOBOL). */
pg_status pg_space_sample(const pg_space *s, pg_space_method method, size_t n, uint64_t offset,
                          pg_rng *rng, double *out);

/* Native -> unit (out[n*unit_d]) and unit -> native (values outside [0,1]
 * are clamped). PG_EDOM on NaN input. */
pg_status pg_space_encode(const pg_space *s, const double *x, size_t n, double *out);
pg_status pg_space_decode(const pg_space *s, const double *u, size_t n, double *out);
/* Native -> one-hot (out[n*onehot_d]) and back (argmax per CHOICE block). */
pg_status pg_space_onehot(const pg_space *s, const double *x, size_t n, double *out);
pg_status pg_space_from_onehot(const pg_space *s, const double *h, size_t n, double *out);

/* Round native rows to the nearest valid values (clamped to the bounds). */
pg_status pg_space_snap(const pg_space *s, const double *x, size_t n, double *out);
/* PG_OK if every row is exactly valid; otherwise PG_ERANGE (PG_EDOM for NaN)
 * and *bad_row, *bad_dim (0-based) locate the first offence. */
pg_status pg_space_check(const pg_space *s, const double *x, size_t n, size_t *bad_row,
                         size_t *bad_dim);

/* Number of neighbours pg_space_neighbours can produce at most. */
size_t pg_space_max_neighbours(const pg_space *s);
/* Neighbours of one native point x: per dimension, INT and ORDINAL one level
 * down and up, CHOICE every other level, REAL the value moved by -delta and
 * +delta in the unit encoding (clamped; dropped when it does not move).
 * Writes *count rows (at most pg_space_max_neighbours) to out. */
pg_status pg_space_neighbours(const pg_space *s, const double *x, double delta, double *out,
                              size_t *count);

/* Mutation of n native rows: each non-fixed dimension mutates with
 * probability prob (prob <= 0: 1 / unit_d); at least one dimension mutates
 * per row. REAL and INT and ORDINAL move by sigma * N(0,1) in the unit
 * encoding (at least one level for INT/ORDINAL), CHOICE takes a uniformly
 * drawn other level. */
pg_status pg_space_mutate(const pg_space *s, const double *x, size_t n, double prob,
                          double sigma, pg_rng *rng, double *out);

/* Uniform crossover of parent rows a[i] and b[i]: each dimension of the
 * first child comes from a or b with probability 1/2, the second child gets
 * the other parent's value. */
pg_status pg_space_crossover(const pg_space *s, const double *a, const double *b, size_t n,
                             pg_rng *rng, double *child1, double *child2);

/* 64-bit FNV-1a hash per row of the canonical (snapped) values: equal for
 * equal points, for de-duplication. */
pg_status pg_space_hash(const pg_space *s, const double *x, size_t n, uint64_t *out);

#endif
