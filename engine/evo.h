/*
 * evo.h -- evolutionary operators over mixed search spaces (engine/space.h)
 * and the NSGA-II selection steps.
 *
 * Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective
 * genetic algorithm: NSGA-II", IEEE TEVC 6(2), 2002: binary tournament on
 * (rank, crowding), survival by non-dominated sorting then crowding.
 * Deb and Agrawal, "Simulated binary crossover for continuous search
 * space", Complex Systems 9, 1995 (SBX, bounded form of Deb's NSGA-II C
 * code); Deb and Goyal, 1996 (polynomial mutation, bounded form).
 *
 * Variation works on the unit encoding of the space: REAL, INT and ORDINAL
 * columns are treated as continuous in [0, 1] (SBX and polynomial mutation)
 * and decoded by the space's rounding, so every level is reachable; CHOICE
 * columns are exchanged between the children (crossover) or redrawn as a
 * uniformly chosen other level (mutation); FIXED dimensions are untouched.
 * Points are native rows (n x s->d), row-major; the caller owns outputs.
 */
#ifndef PG_EVO_H
#define PG_EVO_H

#include <stddef.h>

#include "rng.h"
#include "space.h"
#include "status.h"

/* SBX of parent pairs (a[i], b[i]) into child1[i], child2[i]. Each pair is
 * recombined with probability pc (otherwise copied); within a recombined
 * pair each column is crossed with probability pvar (0.5 in NSGA-II).
 * eta >= 0 is the distribution index (15-20 usual). */
pg_status pg_evo_sbx(const pg_space *s, const double *a, const double *b, size_t n, double pc,
                     double pvar, double eta, pg_rng *rng, double *child1, double *child2);

/* Polynomial mutation of n rows: each non-fixed column mutates with
 * probability pm (pm <= 0: 1 / unit_d), distribution index eta >= 0. */
pg_status pg_evo_pm(const pg_space *s, const double *x, size_t n, double pm, double eta,
                    pg_rng *rng, double *out);

/* NSGA-II environmental selection: the k (<= n) best of n objective rows
 * Y (n x m, minimised) by (rank ascending, crowding distance descending,
 * index ascending); crowding is computed within each front. Writes the
 * chosen indices (0-based, in that order) to idx[k]; rank[n] and crowd[n]
 * (may be NULL) receive every point's front rank (1 = non-dominated) and
 * crowding distance. */
pg_status pg_evo_survive(const double *Y, size_t n, size_t m, size_t k, size_t *idx, int *rank,
                         double *crowd);

/* k binary tournaments among n individuals: two distinct contestants drawn
 * uniformly (one when n = 1); the lower rank wins, then the larger
 * crowding distance, then a fair coin. Writes winners (0-based) to out[k]. */
pg_status pg_evo_tournament(const int *rank, const double *crowd, size_t n, size_t k, pg_rng *rng,
                            size_t *out);

#endif
