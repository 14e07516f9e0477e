/*
 * indicators.c -- IGD, IGD+, GD, GD+ and the additive epsilon indicator.
 *
 * The distance kernels work on the searched set stored transposed
 * (column-major, one contiguous array per objective) in blocks of BLK
 * points, so that the inner loop over points is a unit-stride loop the
 * compiler vectorises; the square root is taken once per minimum. A GEMM
 * formulation (|a|^2 + |b|^2 - 2 a.b, as pg_sqdist) is not used: for the
 * few objectives of multi-objective problems it is no faster and it loses
 * the exact zero distance between coincident points to cancellation.
 */
#include "indicators.h"

#include <math.h>
#include <stdlib.h>

#define BLK 512

enum kind { EUCLID, PLUS, EPS };

/* For every row a of A (na x d): out[a] = min over rows b of B of
 *   EUCLID: sum_j (b_j - a_j)^2,  PLUS: sum_j max(b_j - a_j, 0)^2,
 *   EPS:    max_j (b_j - a_j). */
static pg_status nearest(const double *A, size_t na, const double *B, size_t nb, size_t d,
                         enum kind k, double *out) {
  double *Bt = malloc(d * BLK * sizeof *Bt), *acc = malloc(BLK * sizeof *acc);
  if (!Bt || !acc) {
    free(Bt);
    free(acc);
    return PG_ENOMEM;
  }
  for (size_t a = 0; a < na; a++) out[a] = INFINITY;
  for (size_t b0 = 0; b0 < nb; b0 += BLK) {
    size_t bl = nb - b0 < BLK ? nb - b0 : BLK;
    for (size_t i = 0; i < bl; i++)
      for (size_t j = 0; j < d; j++) Bt[j * BLK + i] = B[(b0 + i) * d + j];
    for (size_t a = 0; a < na; a++) {
      const double *x = A + a * d;
      if (k == EPS) {
        for (size_t i = 0; i < bl; i++) acc[i] = -INFINITY;
        for (size_t j = 0; j < d; j++) {
          const double *c = Bt + j * BLK;
          double xj = x[j];
          for (size_t i = 0; i < bl; i++) {
            double v = c[i] - xj;
            acc[i] = v > acc[i] ? v : acc[i];
          }
        }
      } else {
        for (size_t i = 0; i < bl; i++) acc[i] = 0.0;
        for (size_t j = 0; j < d; j++) {
          const double *c = Bt + j * BLK;
          double xj = x[j];
          if (k == EUCLID) {
            for (size_t i = 0; i < bl; i++) {
              double v = c[i] - xj;
              acc[i] += v * v;
            }
          } else {
            for (size_t i = 0; i < bl; i++) {
              double v = c[i] - xj;
              v = v > 0.0 ? v : 0.0;
              acc[i] += v * v;
            }
          }
        }
      }
      double m = out[a];
      for (size_t i = 0; i < bl; i++) m = acc[i] < m ? acc[i] : m;
      out[a] = m;
    }
  }
  free(Bt);
  free(acc);
  return PG_OK;
}

static pg_status check(const double *Y, size_t n, const double *R, size_t m, size_t d) {
  if (d == 0 || n == 0 || m == 0) return PG_EINVAL;
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(Y[i])) return PG_EDOM;
  for (size_t i = 0; i < m * d; i++)
    if (!isfinite(R[i])) return PG_EDOM;
  return PG_OK;
}

/* Mean over the rows of A of the square root of the nearest() minimum. */
static pg_status mean_dist(const double *A, size_t na, const double *B, size_t nb, size_t d,
                           enum kind k, double *out) {
  *out = NAN;
  double *mn = malloc(na * sizeof *mn);
  if (!mn) return PG_ENOMEM;
  pg_status s = nearest(A, na, B, nb, d, k, mn);
  if (s == PG_OK) {
    double sum = 0.0;
    for (size_t a = 0; a < na; a++) sum += sqrt(mn[a]);
    *out = sum / (double)na;
  }
  free(mn);
  return s;
}

pg_status pg_igd(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out) {
  pg_status s = check(Y, n, R, m, d);
  return s != PG_OK ? s : mean_dist(R, m, Y, n, d, EUCLID, out);
}

pg_status pg_igd_plus(const double *Y, size_t n, const double *R, size_t m, size_t d,
                      double *out) {
  /* d+(r, y) = ||max(y - r, 0)||: B = Y, A = R gives max(b - a, 0) */
  pg_status s = check(Y, n, R, m, d);
  return s != PG_OK ? s : mean_dist(R, m, Y, n, d, PLUS, out);
}

pg_status pg_gd(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out) {
  pg_status s = check(Y, n, R, m, d);
  return s != PG_OK ? s : mean_dist(Y, n, R, m, d, EUCLID, out);
}

pg_status pg_gd_plus(const double *Y, size_t n, const double *R, size_t m, size_t d, double *out) {
  /* d+(y, r) = ||max(y - r, 0)|| = ||max(-(r - y), 0)||: negate both sets */
  pg_status s = check(Y, n, R, m, d);
  if (s != PG_OK) return s;
  double *Yn = malloc(n * d * sizeof *Yn), *Rn = malloc(m * d * sizeof *Rn);
  if (!Yn || !Rn) {
    free(Yn);
    free(Rn);
    return PG_ENOMEM;
  }
  for (size_t i = 0; i < n * d; i++) Yn[i] = -Y[i];
  for (size_t i = 0; i < m * d; i++) Rn[i] = -R[i];
  s = mean_dist(Yn, n, Rn, m, d, PLUS, out);
  free(Yn);
  free(Rn);
  return s;
}

pg_status pg_epsilon_additive(const double *Y, size_t n, const double *R, size_t m, size_t d,
                              double *out) {
  pg_status s = check(Y, n, R, m, d);
  if (s != PG_OK) return s;
  *out = NAN;
  double *mn = malloc(m * sizeof *mn);
  if (!mn) return PG_ENOMEM;
  if ((s = nearest(R, m, Y, n, d, EPS, mn)) == PG_OK) {
    double e = -INFINITY;
    for (size_t a = 0; a < m; a++) e = mn[a] > e ? mn[a] : e;
    *out = e;
  }
  free(mn);
  return s;
}
