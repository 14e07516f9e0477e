/*
 * indicators.h -- quality indicators of an approximation set Y (n x d)
 * against a reference front R (m x d), minimisation.
 *
 *   IGD(Y, R)  = (1/m) sum_{r in R} min_{y in Y} ||y - r||_2
 *   IGD+(Y, R) = (1/m) sum_{r in R} min_{y in Y} ||max(y - r, 0)||_2
 *   GD(Y, R)   = (1/n) sum_{y in Y} min_{r in R} ||y - r||_2
 *   GD+(Y, R)  = (1/n) sum_{y in Y} min_{r in R} ||max(y - r, 0)||_2
 *   eps+(Y, R) = max_{r in R} min_{y in Y} max_j (y_j - r_j)
 *
 * (Coello and Reyes Sierra, MICAI 2004 for IGD; Ishibuchi, Masuda, Tanigaki
 * and Nojima, EMO 2015 for IGD+ and GD+; Van Veldhuizen 1999 for GD in its
 * mean form (p = 1); Zitzler, Thiele, Laumanns, Fonseca and Grunert da
 * Fonseca, IEEE TEVC 7(2), 2003 for the additive epsilon indicator.)
 *
 * All take O(n m d) time and O(d (n + m)) extra memory; both sets must be
 * non-empty and finite (PG_EINVAL for an empty set or d = 0, PG_EDOM for
 * NaN/Inf, PG_ENOMEM).
 */
#ifndef PG_INDICATORS_H
#define PG_INDICATORS_H

#include <stddef.h>

#include "status.h"

pg_status pg_igd(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out);
pg_status pg_igd_plus(const double *Y, size_t n, const double *R, size_t m, size_t d,
                      double *out);
pg_status pg_gd(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out);
pg_status pg_gd_plus(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out);
pg_status pg_epsilon_additive(const double *Y, size_t n, const double *R, size_t m, size_t d,
                              double *out);

#endif
