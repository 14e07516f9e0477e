/*
 * hv.h -- exact hypervolume, exclusive contributions, hypervolume
 * improvement and a Monte-Carlo estimate (minimisation).
 *
 * HV(S; r) is the Lebesgue measure of { z : z <= r and some p in S has
 * p <= z }. Points that do not strictly dominate the reference point r
 * (p_j < r_j for every j) add nothing and are ignored. The contribution of
 * a point is HV(S) - HV(S \ {p}) (so each copy of a duplicated point
 * contributes 0); the improvement of a set P is HV(S u P) - HV(S).
 *
 * Algorithms (docs/pareto.md): d = 1 and 2 sort and sweep, O(n log n);
 * d = 3 the dimension sweep of Beume, Fonseca, Lopez-Ibanez, Paquete and
 * Vahrenhold (IEEE TEVC 13(5), 2009), O(n log n), its staircase kept in a
 * 64-ary bit trie over x-ranks; d >= 4 the exclusive volumes of limited
 * sets of WFG (While, Bradstreet and Barone, IEEE TEVC 16(1), 2012) in a
 * sweep along the last objective that keeps only the points non-dominated
 * on the others (as in HV4D, Guerreiro and Fonseca, IEEE TEVC 22(3), 2018),
 * recursing to the 3-D sweep.
 */
#ifndef PG_HV_H
#define PG_HV_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

/* Hypervolume of the n x d row-major set Y with respect to ref[d] into *out.
 * n = 0 gives 0. Errors: PG_EINVAL (d = 0), PG_EDOM (NaN or Inf in ref, NaN
 * in Y), PG_ENOMEM. Infinite coordinates in Y are allowed (+Inf never
 * dominates ref; -Inf gives an infinite volume). */
pg_status pg_hv(const double *Y, size_t n, size_t d, const double *ref, double *out);

/* Exclusive contribution of every row: out[i] = HV(Y) - HV(Y without row i).
 * d = 2: O(n log n) (the second front fills the hole a point leaves);
 * d >= 3: one hypervolume of the limited set per non-dominated point. */
pg_status pg_hv_contrib(const double *Y, size_t n, size_t d, const double *ref, double *out);

/* Hypervolume improvement HV(Y u P) - HV(Y) of the np x d batch P (np = 1:
 * one point), computed as a sum of exclusive volumes (no cancellation). */
pg_status pg_hv_improvement(const double *Y, size_t n, size_t d, const double *ref,
                            const double *P, size_t np, double *out);

/* Monte-Carlo estimate of HV(Y): nsamples points uniform in the box between
 * the componentwise minimum of the relevant points and ref; *est = box
 * volume x fraction dominated, *se its standard error
 * volume x sqrt(f (1 - f) / nsamples). nsamples >= 1. */
pg_status pg_hv_mc(const double *Y, size_t n, size_t d, const double *ref, size_t nsamples,
                   pg_rng *rng, double *est, double *se);

#endif
