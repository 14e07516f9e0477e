/*
 * pareto.h -- non-dominated sorting, Pareto filter and crowding distance.
 *
 * All objectives are minimised. Point sets are row-major `const double *`,
 * n rows of d objectives. a dominates b when a_j <= b_j for every j and
 * a_j < b_j for some j. Identical points do not dominate each other, so
 * duplicates always get the same rank, and the filter keeps every copy of
 * a non-dominated point.
 *
 * Algorithms (see docs/pareto.md):
 * - d = 1: sort, O(n log n);
 * - d = 2: lexicographic sort and a binary search over the fronts' last
 *   second objectives, O(n log n) for all fronts (Jensen, IEEE TEVC 7(5),
 *   2003);
 * - d = 3: lexicographic sweep with one balanced tree (staircase) per front
 *   and a binary search over fronts, O(n log^2 n) for all fronts and
 *   O(n log n) for the filter (Kung, Luccio and Preparata, JACM 22(4), 1975);
 * - d >= 4: the divide and conquer of Jensen generalised to ties (Fortin,
 *   Grenier and Parizeau, GECCO 2013; Buzdalov and Shalyto, PPSN 2014),
 *   O(n log^(d-1) n); below 64 distinct points efficient non-dominated sort
 *   with binary search (ENS-BS, Zhang, Tian, Cheng and Jin, IEEE TEVC 19(2),
 *   2015).
 */
#ifndef PG_PARETO_H
#define PG_PARETO_H

#include <stddef.h>

#include "status.h"

/* 1 when a dominates b (d objectives, minimisation). */
int pg_pareto_dominates(const double *a, const double *b, size_t d);

/* Front index of every point: rank[i] = 1 for the non-dominated points,
 * 2 for those non-dominated once front 1 is removed, and so on. When
 * nfronts is non-NULL it receives the number of fronts. n = 0 is valid.
 * Errors: PG_EINVAL (d = 0 or n > 2^31 - 2), PG_EDOM (NaN), PG_ENOMEM. */
pg_status pg_pareto_rank(const double *Y, size_t n, size_t d, int *rank, int *nfronts);

/* Indices (0-based, increasing) of the non-dominated rows into idx (room
 * for n); *count receives their number. Same errors as pg_pareto_rank. */
pg_status pg_pareto_filter(const double *Y, size_t n, size_t d, size_t *idx, size_t *count);

/* NSGA-II crowding distance (Deb, Pratap, Agarwal and Meyarivan, IEEE TEVC
 * 6(2), 2002), computed within each front given by rank (all points form
 * one front when rank is NULL). For every objective the members of a front
 * are sorted (ties by index); the two extremes get +Inf, each interior point
 * adds (next - previous) / (max - min) (nothing when max = min). Fronts of
 * one or two points are all +Inf. */
pg_status pg_pareto_crowding(const double *Y, size_t n, size_t d, const int *rank, double *out);

#endif
