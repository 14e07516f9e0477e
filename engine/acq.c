/*
 * acq.c -- EI, log-EI, confidence bounds, 2-objective EHVI, Monte-Carlo
 * qEHVI / qNEHVI, ParEGO scalarisation (formulas and sources in acq.h and
 * docs/pareto.md).
 */
#include "acq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "stair.h"

#define INV_SQRT2PI 0.39894228040143267794
#define LOG_SQRT2PI 0.91893853320467274178
#define SQRT_PI_2 1.25331413731550025121

static double npdf(double z) { return INV_SQRT2PI * exp(-0.5 * z * z); }
static double ncdf(double z) { return 0.5 * erfc(-z * M_SQRT1_2); }

/* Scaled complementary error function exp(x^2) erfc(x), x >= 0: direct for
 * x < 5, else the continued fraction
 *   erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
static double erfcx(double x) {
  if (x < 5.0) return exp(x * x) * erfc(x);
  double f = x;
  for (int k = 60; k >= 1; k--) f = x + 0.5 * k / f;
  return 1.0 / (sqrt(M_PI) * f);
}

double pg_acq_log_h(double z) {
  if (z > -1.0) return log(npdf(z) + z * ncdf(z));
  /* h(z) = phi(z) (1 - t m(t)), t = -z, m the Mills ratio Phi(-t)/phi(t) */
  double t = -z, u;
  if (t < 100.0) {
    u = 1.0 - t * SQRT_PI_2 * erfcx(t * M_SQRT1_2);
  } else { /* asymptotic series of 1 - t m(t) */
    double s = 1.0 / (t * t);
    u = s * (1.0 - s * (3.0 - s * (15.0 - s * 105.0)));
  }
  return -0.5 * z * z - LOG_SQRT2PI + log(u);
}

static pg_status check_ms(const double *mu, const double *sigma, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(mu[i]) || !isfinite(sigma[i]) || sigma[i] < 0.0) return PG_EDOM;
  return PG_OK;
}

pg_status pg_acq_ei(const double *mu, const double *sigma, size_t n, double best, double *out) {
  if (!isfinite(best) || check_ms(mu, sigma, n) != PG_OK) return PG_EDOM;
  for (size_t i = 0; i < n; i++) {
    double d = best - mu[i], s = sigma[i];
    if (s == 0.0) {
      out[i] = d > 0.0 ? d : 0.0;
      continue;
    }
    double z = d / s;
    out[i] = s * (z * ncdf(z) + npdf(z));
    if (out[i] < 0.0) out[i] = 0.0;
  }
  return PG_OK;
}

pg_status pg_acq_logei(const double *mu, const double *sigma, size_t n, double best,
                       double *out) {
  if (!isfinite(best) || check_ms(mu, sigma, n) != PG_OK) return PG_EDOM;
  for (size_t i = 0; i < n; i++) {
    double d = best - mu[i], s = sigma[i];
    if (s == 0.0)
      out[i] = d > 0.0 ? log(d) : -INFINITY;
    else
      out[i] = log(s) + pg_acq_log_h(d / s);
  }
  return PG_OK;
}

pg_status pg_acq_lcb(const double *mu, const double *sigma, size_t n, double beta, double *out) {
  if (!isfinite(beta) || check_ms(mu, sigma, n) != PG_OK) return PG_EDOM;
  for (size_t i = 0; i < n; i++) out[i] = mu[i] - beta * sigma[i];
  return PG_OK;
}

pg_status pg_acq_ucb(const double *mu, const double *sigma, size_t n, double beta, double *out) {
  if (!isfinite(beta) || check_ms(mu, sigma, n) != PG_OK) return PG_EDOM;
  for (size_t i = 0; i < n; i++) out[i] = mu[i] + beta * sigma[i];
  return PG_OK;
}

/* G(c) = E[(c - Y)^+] for Y ~ N(m, s^2); G(-inf) = 0. */
static double gplus(double c, double m, double s) {
  if (c == -INFINITY) return 0.0;
  if (s == 0.0) return c > m ? c - m : 0.0;
  double z = (c - m) / s;
  return s * (z * ncdf(z) + npdf(z));
}

pg_status pg_acq_ehvi2d(const double *mu, const double *sigma, size_t n, const double *front,
                        size_t k, const double *ref, double *out) {
  if (!isfinite(ref[0]) || !isfinite(ref[1])) return PG_EDOM;
  if (check_ms(mu, sigma, 2 * n) != PG_OK) return PG_EDOM;
  for (size_t i = 0; i < 2 * k; i++)
    if (isnan(front[i])) return PG_EDOM;
  /* the staircase: relevant non-dominated points, x increasing, y decreasing */
  double *P = malloc((k ? k : 1) * 2 * sizeof *P);
  if (!P) return PG_ENOMEM;
  size_t s = pg_stair_2d(front, k, ref, P);
  if (s > 0 && (isinf(P[0]) || isinf(P[2 * s - 1]))) {
    free(P);
    return PG_EDOM; /* a front point at -Inf leaves no improvement region to integrate */
  }
  for (size_t c = 0; c < n; c++) {
    double m1 = mu[2 * c], m2 = mu[2 * c + 1], s1 = sigma[2 * c], s2 = sigma[2 * c + 1];
    /* strip 0: x in (-inf, p_1.x), y < ref_y; strip i: [p_i.x, p_{i+1}.x), y < p_i.y */
    double h = ref[1], acc = 0.0, gl = 0.0;
    for (size_t i = 0; i <= s; i++) {
      double u = i < s ? P[2 * i] : ref[0];
      double gu = gplus(u, m1, s1);
      acc += (gu - gl) * gplus(h, m2, s2);
      if (i < s) {
        gl = gu;
        h = P[2 * i + 1];
      }
    }
    out[c] = acc > 0.0 ? acc : 0.0;
  }
  free(P);
  return PG_OK;
}

/* Mean and standard error of the per-sample improvements v[0..ns). */
static void mean_se(const double *v, size_t ns, double *out, double *se) {
  double mean = 0.0, ss = 0.0;
  for (size_t s = 0; s < ns; s++) mean += v[s];
  mean /= (double)ns;
  for (size_t s = 0; s < ns; s++) ss += (v[s] - mean) * (v[s] - mean);
  *out = mean;
  if (se) *se = ns > 1 ? sqrt(ss / (double)(ns - 1) / (double)ns) : 0.0;
}

pg_status pg_acq_qehvi(const double *samples, size_t ns, size_t q, size_t m, const double *front,
                       size_t k, const double *ref, double *out, double *se) {
  if (ns == 0 || q == 0 || m == 0) return PG_EINVAL;
  for (size_t i = 0; i < ns * q * m; i++)
    if (!isfinite(samples[i])) return PG_EDOM;
  double *v = malloc(ns * sizeof *v);
  if (!v) return PG_ENOMEM;
  pg_status st = PG_OK;
  for (size_t s = 0; s < ns && st == PG_OK; s++)
    st = pg_hv_improvement(front, k, m, ref, samples + s * q * m, q, &v[s]);
  if (st == PG_OK) mean_se(v, ns, out, se);
  free(v);
  return st;
}

pg_status pg_acq_qnehvi(const double *samples, size_t ns, size_t nb, size_t q, size_t m,
                        const double *ref, double *out, double *se) {
  if (ns == 0 || q == 0 || m == 0) return PG_EINVAL;
  size_t rows = nb + q;
  for (size_t i = 0; i < ns * rows * m; i++)
    if (!isfinite(samples[i])) return PG_EDOM;
  double *v = malloc(ns * sizeof *v);
  if (!v) return PG_ENOMEM;
  pg_status st = PG_OK;
  for (size_t s = 0; s < ns && st == PG_OK; s++) {
    const double *S = samples + s * rows * m;
    st = pg_hv_improvement(S, nb, m, ref, S + nb * m, q, &v[s]);
  }
  if (st == PG_OK) mean_se(v, ns, out, se);
  free(v);
  return st;
}

pg_status pg_acq_chebyshev(const double *Y, size_t n, size_t m, const double *w, double rho,
                           double *out) {
  if (m == 0) return PG_EINVAL;
  if (!isfinite(rho)) return PG_EDOM;
  for (size_t j = 0; j < m; j++)
    if (!isfinite(w[j]) || w[j] < 0.0) return PG_EDOM;
  for (size_t i = 0; i < n; i++) {
    double mx = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < m; j++) {
      double t = w[j] * Y[i * m + j];
      mx = t > mx ? t : mx;
      sum += t;
    }
    out[i] = mx + rho * sum;
  }
  return PG_OK;
}

pg_status pg_acq_simplex_weights(size_t m, pg_rng *rng, double *w) {
  if (m == 0 || !rng) return PG_EINVAL;
  double s = 0.0;
  for (size_t j = 0; j < m; j++) s += (w[j] = -log1p(-pg_rng_uniform(rng)));
  if (!(s > 0.0)) { /* all draws exactly 0: probability 2^-53m */
    for (size_t j = 0; j < m; j++) w[j] = 1.0 / (double)m;
    return PG_OK;
  }
  for (size_t j = 0; j < m; j++) w[j] /= s;
  return PG_OK;
}
