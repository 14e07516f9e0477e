/*
 * bo.c -- joint posterior samples with a growing conditioning set,
 * Monte-Carlo hypervolume / noisy improvement, QMC normal base samples.
 * See bo.h for the formulas and sources.
 */
#include "bo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "stair.h"
#include "hv.h"
#include "linalg.h"
#include "optim.h"
#include "sobol.h"

#define BLOCK 256

struct pg_bo_post {
  pg_kernel *k;
  size_t n, d, S, qmax, nq;
  double *X;     /* n x d */
  double *L;     /* n x n lower Cholesky of K + noise I (standardised scale) */
  double *alpha; /* n: K^-1 (y - off) / scale */
  double off, scale;
  double *Xq;    /* qmax x d conditioning points */
  double *Wt;    /* qmax x n: row i = K^-1 k(X, q_i) */
  double *Vt;    /* qmax x n: row i = L^-1 k(X, q_i) (candidate stores, pg_bo_cands) */
  double *Lq;    /* qmax x qmax lower factor of the posterior covariance of Q (original units) */
  double *Zq;    /* S x qmax base samples */
  double *Fq;    /* S x qmax samples of f at Q */
  double *muq;   /* qmax */
};

void pg_bo_post_free(pg_bo_post *p) {
  if (!p) return;
  pg_kernel_free(p->k);
  free(p->X);
  free(p->L);
  free(p->alpha);
  free(p->Xq);
  free(p->Wt);
  free(p->Vt);
  free(p->Lq);
  free(p->Zq);
  free(p->Fq);
  free(p->muq);
  free(p);
}

pg_status pg_bo_post_new(pg_bo_post **out, pg_kernel *k, const double *X, size_t n, size_t d,
                         const double *y, double noise, int standardize, size_t S,
                         size_t qmax) {
  *out = NULL;
  if (!k) return PG_EINVAL;
  if (n == 0 || d == 0 || S == 0 || !(noise > 0) || !isfinite(noise)) {
    pg_kernel_free(k);
    return PG_EINVAL;
  }
  size_t nd, nn, sq, qq, qd, qn;
  if (pg_size_mul(n, d, &nd) || pg_size_mul(n, n, &nn) || pg_size_mul(S, qmax + 1, &sq) ||
      pg_size_mul(qmax + 1, qmax + 1, &qq) || pg_size_mul(qmax + 1, d, &qd) ||
      pg_size_mul(qmax + 1, n, &qn)) {
    pg_kernel_free(k);
    return PG_ERANGE;
  }
  if (!pg_all_finite(X, nd) || !pg_all_finite(y, n)) {
    pg_kernel_free(k);
    return PG_EDOM;
  }
  pg_bo_post *p = calloc(1, sizeof *p);
  if (!p) {
    pg_kernel_free(k);
    return PG_ENOMEM;
  }
  p->k = k;
  p->n = n;
  p->d = d;
  p->S = S;
  p->qmax = qmax;
  p->X = malloc(nd * sizeof *p->X);
  p->L = malloc(nn * sizeof *p->L);
  p->alpha = malloc(n * sizeof *p->alpha);
  p->Xq = malloc(qd * sizeof *p->Xq);
  p->Wt = malloc(qn * sizeof *p->Wt);
  p->Vt = malloc(qn * sizeof *p->Vt);
  p->Lq = calloc(qq, sizeof *p->Lq);
  p->Zq = malloc(sq * sizeof *p->Zq);
  p->Fq = malloc(sq * sizeof *p->Fq);
  p->muq = malloc((qmax + 1) * sizeof *p->muq);
  if (!p->X || !p->L || !p->alpha || !p->Xq || !p->Wt || !p->Vt || !p->Lq || !p->Zq || !p->Fq || !p->muq) {
    pg_bo_post_free(p);
    return PG_ENOMEM;
  }
  memcpy(p->X, X, nd * sizeof *X);
  pg_status st = pg_kernel_matrix(k, X, n, X, n, d, p->L);
  if (st) {
    pg_bo_post_free(p);
    return st;
  }
  for (size_t i = 0; i < n; i++) p->L[i * n + i] += noise;
  double jitter = 0;
  st = pg_cholesky(p->L, n, &jitter, 6, NULL);
  if (st) {
    pg_bo_post_free(p);
    return st;
  }
  pg_gp_standardize(y, n, standardize, &p->off, &p->scale);
  for (size_t i = 0; i < n; i++) p->alpha[i] = (y[i] - p->off) / p->scale;
  pg_chol_solve(p->L, n, p->alpha, 1);
  *out = p;
  return PG_OK;
}

/* ---- MAP training of the hyperparameters ---- */

pg_bo_prior pg_bo_prior_gamma(void) {
  pg_bo_prior p = {{PG_BO_GAMMA, 3.0, 6.0}, {PG_BO_GAMMA, 2.0, 0.15}, {PG_BO_GAMMA, 1.1, 0.05}};
  return p;
}

pg_bo_prior pg_bo_prior_dimscaled(size_t d) {
  pg_bo_prior p = {{PG_BO_LOGNORMAL, sqrt(2.0) + 0.5 * log((double)(d ? d : 1)), sqrt(3.0)},
                   {PG_BO_NOPRIOR, 0, 0},
                   {PG_BO_LOGNORMAL, -4.0, 1.0}};
  return p;
}

/* log density (up to a constant) of v = e^t, its derivative in t and
 * minus its second derivative (*ct, the prior's curvature) */
static double prior_logp(const pg_bo_hprior *h, double t, double *dt, double *ct) {
  if (h->kind == PG_BO_GAMMA) {
    double v = exp(t);
    *dt = (h->a - 1) - h->b * v;
    *ct = h->b * v;
    return (h->a - 1) * t - h->b * v;
  }
  if (h->kind == PG_BO_LOGNORMAL) {
    double z = (t - h->a) / h->b;
    *dt = -1 - z / h->b;
    *ct = 1 / (h->b * h->b);
    return -t - 0.5 * z * z;
  }
  *dt = *ct = 0;
  return 0;
}

typedef struct map_ctx {
  pg_gp *g;
  const pg_bo_prior *prior;
  size_t d;
  double *ai;  /* (d + 2)^2: average information plus the prior's curvature */
  double *sys; /* (d + 2)^2 + d + 2: pg_precond_solve's work */
  int ai_ok;
} map_ctx;

static double map_obj(const double *x, double *grad, void *vctx) {
  map_ctx *c = vctx;
  size_t d = c->d, P = d + 2;
  double lml;
  pg_status st = pg_gp_lml_grad_ai(c->g, x, &lml, grad, grad ? c->ai : NULL);
  if (grad) c->ai_ok = st == PG_OK && pg_all_finite(c->ai, P * P);
  if (st != PG_OK || !isfinite(lml)) return INFINITY;
  double f = -lml;
  if (grad)
    for (size_t i = 0; i < P; i++) grad[i] = -grad[i];
  if (c->prior) {
    const pg_bo_prior *pr = c->prior;
    for (size_t i = 0; i < P; i++) {
      double dt, ct;
      double lp = prior_logp(i < d ? &pr->ls : i == d ? &pr->var : &pr->noise, x[i], &dt, &ct);
      f -= lp;
      if (grad) {
        grad[i] -= dt;
        c->ai[i * P + i] += ct;
      }
    }
  }
  return f;
}

/* The MAP objective's initial inverse Hessian for L-BFGS, as pg_gp_train's:
 * the average information of -LML plus the prior's curvature. */
static int map_precond(const double *x, double *v, const unsigned char *active, size_t n,
                       void *vctx) {
  (void)x;
  map_ctx *c = vctx;
  return c->ai_ok ? pg_precond_solve(c->ai, n, PG_GP_AI_RIDGE, v, active, n, c->sys) : 1;
}

pg_status pg_bo_train(pg_kernel_kind kind, const double *X, size_t n, size_t d, const double *y,
                      const pg_bo_prior *prior, double noise_lo, int max_iter, int restarts,
                      pg_rng *rng, double *theta, double *logpost) {
  if (n == 0 || d == 0 || kind >= PG_KERNEL_SUM || max_iter < 1 || !(noise_lo > 0) ||
      !(noise_lo < 10))
    return PG_EINVAL;
  if (restarts < 1) restarts = 1;
  if (restarts > 1 && !rng) return PG_EINVAL;
  size_t P = d + 2;
  if (!pg_all_finite(theta, P)) return PG_EDOM;
  pg_kernel *k;
  pg_status st = pg_kernel_new(&k, kind, NULL, d);
  if (st) return st;
  if (pg_kernel_nparams(k) != d + 1) {
    pg_kernel_free(k);
    return PG_EINVAL;
  }
  double *buf = malloc((5 * P + 2 * P * P + P) * sizeof *buf);
  if (!buf) {
    pg_kernel_free(k);
    return PG_ENOMEM;
  }
  double *x = buf, *best = x + P, *start = best + P, *lo = start + P, *hi = lo + P;
  double *ai = hi + P, *sys = ai + P * P;
  for (size_t i = 0; i < P; i++) {
    lo[i] = i < d + 1 ? log(1e-4) : log(noise_lo);
    hi[i] = i < d + 1 ? log(1e4) : log(10.0);
    start[i] = theta[i] < lo[i] ? lo[i] : theta[i] > hi[i] ? hi[i] : theta[i];
  }
  st = pg_kernel_set_params(k, start);
  pg_gp_opts go = pg_gp_defaults();
  go.noise = exp(start[d + 1]);
  go.noise_lo = noise_lo;
  pg_gp *g = NULL;
  if (st) pg_kernel_free(k);
  else st = pg_gp_new(&g, k, &go);
  if (!st) st = pg_gp_fit(g, X, n, d, y);
  map_ctx c = {g, prior, d, ai, sys, 0};
  pg_lbfgs_opts lo_opts = pg_lbfgs_defaults();
  lo_opts.max_iter = max_iter;
  lo_opts.max_evals = 3 * max_iter;
  lo_opts.gtol = 1e-5;
  lo_opts.ftol = 1e-9;
  lo_opts.lower = lo;
  lo_opts.upper = hi;
  lo_opts.lazy_grad = 1;
  lo_opts.precond = map_precond; /* as pg_gp_train (docs/gp.md) */
  lo_opts.max_step = 2.0;
  double fbest = INFINITY;
  memcpy(best, start, P * sizeof *best);
  for (int r = 0; !st && r < restarts; r++) {
    memcpy(x, start, P * sizeof *x);
    if (r > 0)
      for (size_t i = 0; i < P; i++) x[i] += 1.5 * (2.0 * pg_rng_uniform(rng) - 1.0);
    c.ai_ok = 0;
    double fv;
    pg_status s = pg_lbfgs(map_obj, &c, x, P, &lo_opts, &fv, NULL);
    if (s == PG_ENOMEM) st = s;
    else if (s == PG_OK && isfinite(fv) && fv < fbest) {
      fbest = fv;
      memcpy(best, x, P * sizeof *best);
    }
  }
  if (!st && !isfinite(fbest)) st = PG_ENOCONV;
  if (!st) {
    memcpy(theta, best, P * sizeof *theta);
    if (logpost) *logpost = -fbest;
  }
  pg_gp_free(g);
  free(buf);
  return st;
}

size_t pg_bo_post_nq(const pg_bo_post *p) { return p->nq; }
size_t pg_bo_post_nsamples(const pg_bo_post *p) { return p->S; }
void pg_bo_post_qsamples(const pg_bo_post *p, double *out) {
  for (size_t s = 0; s < p->S; s++) memcpy(out + s * p->nq, p->Fq + s * p->qmax, p->nq * sizeof *out);
}

/* Conditional standard deviation from the residual variance t2, floored at
 * 1e-13 of the prior variance so that the factor of Q stays invertible when
 * a point repeats one already in Q (the same rule in add and samples keeps
 * the samples of a point identical before and after it is added). */
static double cond_sd(double t2, double prior) {
  double floor = 1e-13 * (prior > 0 ? prior : 1);
  return sqrt(t2 > floor ? t2 : floor);
}

/* mean and variance of a block of nb <= BLOCK rows; Kc is scratch n x nb. */
static pg_status predict_block(const pg_bo_post *p, const double *Xc, size_t nb, double *mean,
                               double *var, double *Kc, double *kd) {
  size_t n = p->n;
  pg_status st = pg_kernel_matrix(p->k, p->X, n, Xc, nb, p->d, Kc);
  if (st) return st;
  if (mean) {
    for (size_t c = 0; c < nb; c++) mean[c] = 0;
    for (size_t i = 0; i < n; i++) {
      const double *row = Kc + i * nb;
      double a = p->alpha[i];
      for (size_t c = 0; c < nb; c++) mean[c] += a * row[c];
    }
    for (size_t c = 0; c < nb; c++) mean[c] = p->off + p->scale * mean[c];
  }
  if (var) {
    st = pg_kernel_diag(p->k, Xc, nb, p->d, kd);
    if (st) return st;
    pg_trsm_lower(p->L, n, Kc, nb, 0);
    for (size_t c = 0; c < nb; c++) var[c] = 0;
    for (size_t i = 0; i < n; i++) {
      const double *row = Kc + i * nb;
      for (size_t c = 0; c < nb; c++) var[c] += row[c] * row[c];
    }
    double s2 = p->scale * p->scale;
    for (size_t c = 0; c < nb; c++) {
      double v = kd[c] - var[c];
      var[c] = v > 0 ? s2 * v : 0;
    }
  }
  return PG_OK;
}

pg_status pg_bo_post_predict(const pg_bo_post *p, const double *Xc, size_t nc, double *mean,
                             double *var) {
  if (nc == 0) return PG_OK;
  if (!pg_all_finite(Xc, nc * p->d)) return PG_EDOM;
  size_t bn = nc < BLOCK ? nc : BLOCK;
  double *Kc = malloc(p->n * bn * sizeof *Kc);
  double *kd = malloc(bn * sizeof *kd);
  pg_status st = (Kc && kd) ? PG_OK : PG_ENOMEM;
  for (size_t c0 = 0; !st && c0 < nc; c0 += BLOCK) {
    size_t nb = nc - c0 < BLOCK ? nc - c0 : BLOCK;
    st = predict_block(p, Xc + c0 * p->d, nb, mean ? mean + c0 : NULL, var ? var + c0 : NULL,
                       Kc, kd);
  }
  free(Kc);
  free(kd);
  return st;
}

pg_status pg_bo_post_add(pg_bo_post *p, const double *x, const double *z) {
  if (p->nq >= p->qmax) return PG_ERANGE;
  if (!pg_all_finite(x, p->d) || !pg_all_finite(z, p->S)) return PG_EDOM;
  size_t n = p->n, nq = p->nq, S = p->S, Q = p->qmax;
  double *w = p->Wt + nq * n;
  pg_status st = pg_kernel_matrix(p->k, p->X, n, x, 1, p->d, w); /* k(X, x) */
  if (st) return st;
  double kxx, mu = 0, quad = 0;
  st = pg_kernel_diag(p->k, x, 1, p->d, &kxx);
  if (st) return st;
  for (size_t i = 0; i < n; i++) mu += p->alpha[i] * w[i];
  mu = p->off + p->scale * mu;
  /* cross-covariances with the current Q before w is overwritten */
  double *kq = malloc((nq + 1) * sizeof *kq);
  if (!kq) return PG_ENOMEM;
  if (nq) {
    st = pg_kernel_matrix(p->k, p->Xq, nq, x, 1, p->d, kq);
    if (st) {
      free(kq);
      return st;
    }
  }
  double s2 = p->scale * p->scale;
  for (size_t i = 0; i < nq; i++) {
    const double *wi = p->Wt + i * n;
    double dot = 0;
    for (size_t j = 0; j < n; j++) dot += w[j] * wi[j];
    kq[i] = s2 * (kq[i] - dot);
  }
  /* v = L^-1 k(X, x) as in prediction (same rounding), then w = L^-T v */
  pg_trsm_lower(p->L, n, w, 1, 0);
  for (size_t j = 0; j < n; j++) quad += w[j] * w[j];
  memcpy(p->Vt + nq * n, w, n * sizeof *w);
  pg_trsm_lower(p->L, n, w, 1, 1);
  double v = kxx - quad > 0 ? s2 * (kxx - quad) : 0;
  /* a = Lq^-1 c (forward substitution), t^2 = v - |a|^2 */
  double *a = p->Lq + nq * Q, aa = 0;
  for (size_t i = 0; i < nq; i++) {
    double r = kq[i];
    for (size_t j = 0; j < i; j++) r -= p->Lq[i * Q + j] * a[j];
    a[i] = r / p->Lq[i * Q + i];
    aa += a[i] * a[i];
  }
  free(kq);
  a[nq] = cond_sd(v - aa, s2 * kxx);
  memcpy(p->Xq + nq * p->d, x, p->d * sizeof *x);
  p->muq[nq] = mu;
  /* Zq and Fq are S x qmax; column nq */
  for (size_t s = 0; s < S; s++) {
    double f = mu;
    const double *zs = p->Zq + s * Q;
    for (size_t j = 0; j < nq; j++) f += a[j] * zs[j];
    f += a[nq] * z[s];
    p->Zq[s * Q + nq] = z[s];
    p->Fq[s * Q + nq] = f;
  }
  p->nq = nq + 1;
  return PG_OK;
}

pg_status pg_bo_post_samples(const pg_bo_post *p, const double *Xc, size_t nc,
                             const double *mean, const double *var, const double *z,
                             double *F) {
  if (nc == 0) return PG_OK;
  if (!pg_all_finite(Xc, nc * p->d) || !pg_all_finite(mean, nc) || !pg_all_finite(var, nc) ||
      !pg_all_finite(z, p->S))
    return PG_EDOM;
  size_t n = p->n, nq = p->nq, S = p->S, Q = p->qmax, d = p->d;
  double s2 = p->scale * p->scale;
  if (nq == 0) {
    for (size_t c = 0; c < nc; c++) {
      double kd;
      pg_status st = pg_kernel_diag(p->k, Xc + c * d, 1, d, &kd);
      if (st) return st;
      double sd = cond_sd(var[c], s2 * kd);
      for (size_t s = 0; s < S; s++) F[c * S + s] = mean[c] + sd * z[s];
    }
    return PG_OK;
  }
  size_t bn = nc < BLOCK ? nc : BLOCK;
  double *Kc = malloc(bn * n * sizeof *Kc);   /* k(Xc, X): nb x n */
  double *C = malloc(bn * nq * sizeof *C);    /* cross-covariances, then a */
  double *Kq = malloc(bn * nq * sizeof *Kq);  /* k(Xc, Q) */
  double *Wc = malloc(nq * n * sizeof *Wc);   /* compact Wt (nq x n) */
  double *Zc = malloc(S * nq * sizeof *Zc);   /* compact Zq (S x nq) */
  double *kd = malloc(bn * sizeof *kd);       /* prior variances */
  pg_status st = (Kc && C && Kq && Wc && Zc && kd) ? PG_OK : PG_ENOMEM;
  if (!st) {
    memcpy(Wc, p->Wt, nq * n * sizeof *Wc);
    for (size_t s = 0; s < S; s++) memcpy(Zc + s * nq, p->Zq + s * Q, nq * sizeof *Zc);
  }
  for (size_t c0 = 0; !st && c0 < nc; c0 += BLOCK) {
    size_t nb = nc - c0 < BLOCK ? nc - c0 : BLOCK;
    const double *Xb = Xc + c0 * d;
    st = pg_kernel_matrix(p->k, Xb, nb, p->X, n, d, Kc);
    if (!st) st = pg_kernel_matrix(p->k, Xb, nb, p->Xq, nq, d, Kq);
    if (!st) st = pg_kernel_diag(p->k, Xb, nb, d, kd);
    if (st) break;
    pg_gemm(nb, nq, n, 1.0, Kc, Wc, 1, 0.0, C); /* k(Xc,X) K^-1 k(X,Q) */
    for (size_t c = 0; c < nb; c++) {
      double *ac = C + c * nq, aa = 0;
      for (size_t i = 0; i < nq; i++) {
        double r = s2 * (Kq[c * nq + i] - ac[i]);
        for (size_t j = 0; j < i; j++) r -= p->Lq[i * Q + j] * ac[j];
        ac[i] = r / p->Lq[i * Q + i];
        aa += ac[i] * ac[i];
      }
      double t = cond_sd(var[c0 + c] - aa, s2 * kd[c]);
      double *Fc = F + (c0 + c) * S;
      for (size_t s = 0; s < S; s++) Fc[s] = mean[c0 + c] + t * z[s];
    }
    /* F += A Zc^T: (nb x nq) (nq x S) */
    pg_gemm(nb, S, nq, 1.0, C, Zc, 1, 1.0, F + c0 * S);
  }
  free(Kc);
  free(C);
  free(Kq);
  free(Wc);
  free(Zc);
  free(kd);
  return st;
}

/* ---- hypervolume improvement of samples ---- */


/* HVI of (a, b) over the strips of staircase st (h points): strip i has
 * x in [l_i, u_i), y below h_i: (l_0, u_0, h_0) = (-inf, x_1, r_2),
 * (l_i, u_i, h_i) = (x_i, x_{i+1} or r_1, y_i). */
static double hvi2(const double *st, size_t h, const double *ref, double a, double b) {
  if (!(a < ref[0] && b < ref[1])) return 0;
  /* strips ending at or left of a add nothing: binary search for the first
   * strip with u_i > a (the u_i increase), then add strips while h_i > b */
  size_t i0 = 0, hi = h; /* u_h = ref[0] > a */
  while (i0 < hi) {
    size_t mid = i0 + (hi - i0) / 2;
    if (st[2 * mid] > a) hi = mid;
    else i0 = mid + 1;
  }
  double v = 0, hgt = i0 ? st[2 * (i0 - 1) + 1] : ref[1], lo = i0 ? st[2 * (i0 - 1)] : -INFINITY;
  for (size_t i = i0; i <= h; i++) {
    double up = i < h ? st[2 * i] : ref[0];
    if (hgt <= b) break; /* heights decrease */
    if (up > a) v += (up - (a > lo ? a : lo)) * (hgt - b);
    if (i < h) {
      lo = st[2 * i];
      hgt = st[2 * i + 1];
    }
  }
  return v;
}

pg_status pg_bo_hvi(const double *const *F, size_t nc, size_t S, size_t m,
                    const double *const *sets, const size_t *k, const double *ref, double *out) {
  if (m == 0 || S == 0) return PG_EINVAL;
  for (size_t j = 0; j < m; j++)
    if (!isfinite(ref[j])) return PG_EDOM;
  for (size_t c = 0; c < nc; c++) out[c] = 0;
  if (m == 2) {
    size_t kmax = 0;
    for (size_t s = 0; s < S; s++) kmax = k[s] > kmax ? k[s] : kmax;
    double *st = malloc((2 * kmax + 2) * sizeof *st);
    if (!st) return PG_ENOMEM;
    for (size_t s = 0; s < S; s++) {
      size_t h = pg_stair_2d(sets[s], k[s], ref, st);
      for (size_t c = 0; c < nc; c++) out[c] += hvi2(st, h, ref, F[0][c * S + s], F[1][c * S + s]);
    }
    free(st);
  } else {
    double *y = malloc(m * sizeof *y);
    if (!y) return PG_ENOMEM;
    for (size_t s = 0; s < S; s++)
      for (size_t c = 0; c < nc; c++) {
        int in = 1;
        for (size_t j = 0; j < m; j++) {
          y[j] = F[j][c * S + s];
          if (!(y[j] < ref[j])) in = 0;
        }
        if (!in) continue;
        double v;
        pg_status st = pg_hv_improvement(sets[s], k[s], m, ref, y, 1, &v);
        if (st) {
          free(y);
          return st;
        }
        out[c] += v;
      }
    free(y);
  }
  for (size_t c = 0; c < nc; c++) out[c] /= (double)S;
  return PG_OK;
}

pg_status pg_bo_nei(const double *F, size_t nc, size_t S, const double *t, double *out) {
  if (S == 0) return PG_EINVAL;
  for (size_t c = 0; c < nc; c++) {
    double v = 0;
    for (size_t s = 0; s < S; s++) {
      double g = t[s] - F[c * S + s];
      if (g > 0) v += g;
    }
    out[c] = v / (double)S;
  }
  return PG_OK;
}

pg_status pg_bo_nei_cheb(const double *const *F, size_t nc, size_t S, size_t m, const double *w,
                         double rho, const double *t, double *out) {
  if (S == 0 || m == 0) return PG_EINVAL;
  if (!isfinite(rho)) return PG_EDOM;
  for (size_t j = 0; j < m; j++)
    if (!isfinite(w[j]) || w[j] < 0) return PG_EDOM;
  for (size_t c = 0; c < nc; c++) {
    double v = 0;
    for (size_t s = 0; s < S; s++) {
      double mx = -INFINITY, sum = 0;
      for (size_t j = 0; j < m; j++) {
        double a = w[j] * F[j][c * S + s];
        mx = a > mx ? a : mx;
        sum += a;
      }
      double g = t[s] - (mx + rho * sum);
      if (g > 0) v += g;
    }
    out[c] = v / (double)S;
  }
  return PG_OK;
}

/* ---- quasi-Monte-Carlo normal samples ---- */

double pg_bo_norminv(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  if (!(p > 0)) return -INFINITY;
  if (!(p < 1)) return INFINITY;
  double x, q, r;
  if (p < 0.02425) {
    q = sqrt(-2 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    q = p - 0.5;
    r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    q = sqrt(-2 * log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  /* one Halley step on Phi(x) - p */
  double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
  double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

pg_status pg_bo_normal_qmc(size_t S, size_t D, pg_rng *rng, double *out) {
  if (S == 0 || D == 0) return PG_EINVAL;
  size_t SD;
  if (pg_size_mul(S, D, &SD)) return PG_ERANGE;
  size_t ds = D < PG_SOBOL_MAXDIM ? D : PG_SOBOL_MAXDIM;
  pg_sobol *sb;
  pg_status st = pg_sobol_new(ds, &sb);
  if (st) return st;
  pg_sobol_scramble(sb, rng);
  double *u = malloc(ds * sizeof *u);
  if (!u) {
    pg_sobol_free(sb);
    return PG_ENOMEM;
  }
  for (size_t s = 0; s < S && !st; s++) {
    st = pg_sobol_next(sb, 1, u);
    for (size_t j = 0; j < ds && !st; j++) {
      double v = u[j];
      if (v < 1e-12) v = 1e-12;
      if (v > 1 - 1e-12) v = 1 - 1e-12;
      out[s * D + j] = pg_bo_norminv(v);
    }
  }
  free(u);
  pg_sobol_free(sb);
  for (size_t s = 0; s < S && !st; s++)
    for (size_t j = ds; j < D; j++) out[s * D + j] = pg_rng_normal(rng);
  return st;
}

/* ---- candidate stores and fused acquisition scoring ---- */

struct pg_bo_cands {
  size_t m, d, S, cap, nc;
  pg_bo_post **posts; /* borrowed */
  double *U;          /* cap x d */
  double *mu, *var, *kd; /* cap x m: [c * m + j] */
  double **V;         /* per output: cap x n_j rows L_j^-1 k_j(X_j, x) */
  double **A;         /* per output: cap x qmax_j rows of the joint factor */
  size_t *na;         /* cap x m: entries of A computed */
  double *buf;        /* m x S sample scratch */
  double *kq;         /* qmax scratch */
  double **ZT;        /* per output: qmax x S, column k of Zq stored contiguously */
  size_t *nzt;        /* per output: columns copied so far */
};

void pg_bo_cands_free(pg_bo_cands *c) {
  if (!c) return;
  for (size_t j = 0; j < c->m; j++) {
    if (c->V) free(c->V[j]);
    if (c->A) free(c->A[j]);
    if (c->ZT) free(c->ZT[j]);
  }
  free(c->ZT);
  free(c->nzt);
  free(c->V);
  free(c->A);
  free(c->posts);
  free(c->U);
  free(c->mu);
  free(c->var);
  free(c->kd);
  free(c->na);
  free(c->buf);
  free(c->kq);
  free(c);
}

pg_status pg_bo_cands_new(pg_bo_cands **out, pg_bo_post *const *posts, size_t m) {
  *out = NULL;
  if (m == 0) return PG_EINVAL;
  for (size_t j = 0; j < m; j++)
    if (!posts[j] || posts[j]->d != posts[0]->d || posts[j]->S != posts[0]->S) return PG_EINVAL;
  pg_bo_cands *c = calloc(1, sizeof *c);
  if (!c) return PG_ENOMEM;
  c->m = m;
  c->d = posts[0]->d;
  c->S = posts[0]->S;
  c->posts = malloc(m * sizeof *c->posts);
  c->V = calloc(m, sizeof *c->V);
  c->A = calloc(m, sizeof *c->A);
  c->buf = malloc(m * c->S * sizeof *c->buf);
  size_t qm = 1;
  for (size_t j = 0; j < m; j++) qm = posts[j]->qmax > qm ? posts[j]->qmax : qm;
  c->kq = malloc(qm * sizeof *c->kq);
  c->ZT = calloc(m, sizeof *c->ZT);
  c->nzt = calloc(m, sizeof *c->nzt);
  int ok = c->posts && c->V && c->A && c->buf && c->kq && c->ZT && c->nzt;
  for (size_t j = 0; ok && j < m; j++) {
    c->ZT[j] = malloc(((posts[j]->qmax ? posts[j]->qmax : 1) * c->S) * sizeof **c->ZT);
    if (!c->ZT[j]) ok = 0;
  }
  if (!ok) {
    pg_bo_cands_free(c);
    return PG_ENOMEM;
  }
  memcpy(c->posts, posts, m * sizeof *posts);
  *out = c;
  return PG_OK;
}

size_t pg_bo_cands_count(const pg_bo_cands *c) { return c->nc; }

static pg_status cands_grow(pg_bo_cands *c, size_t need) {
  if (need <= c->cap) return PG_OK;
  size_t cap = c->cap ? c->cap : 256;
  while (cap < need) cap *= 2;
  size_t m = c->m;
  double *U = realloc(c->U, cap * c->d * sizeof *U);
  if (!U) return PG_ENOMEM;
  c->U = U;
  double *mu = realloc(c->mu, cap * m * sizeof *mu);
  if (!mu) return PG_ENOMEM;
  c->mu = mu;
  double *var = realloc(c->var, cap * m * sizeof *var);
  if (!var) return PG_ENOMEM;
  c->var = var;
  double *kd = realloc(c->kd, cap * m * sizeof *kd);
  if (!kd) return PG_ENOMEM;
  c->kd = kd;
  size_t *na = realloc(c->na, cap * m * sizeof *na);
  if (!na) return PG_ENOMEM;
  c->na = na;
  for (size_t j = 0; j < m; j++) {
    const pg_bo_post *p = c->posts[j];
    double *V = realloc(c->V[j], cap * p->n * sizeof *V);
    if (!V) return PG_ENOMEM;
    c->V[j] = V;
    double *A = realloc(c->A[j], cap * (p->qmax ? p->qmax : 1) * sizeof *A);
    if (!A) return PG_ENOMEM;
    c->A[j] = A;
  }
  c->cap = cap;
  return PG_OK;
}

pg_status pg_bo_cands_add(pg_bo_cands *c, const double *U, size_t nc) {
  if (nc == 0) return PG_OK;
  size_t d = c->d, m = c->m;
  if (!pg_all_finite(U, nc * d)) return PG_EDOM;
  pg_status st = cands_grow(c, c->nc + nc);
  if (st) return st;
  size_t nmax = 0;
  for (size_t j = 0; j < m; j++) nmax = c->posts[j]->n > nmax ? c->posts[j]->n : nmax;
  size_t bn = nc < BLOCK ? nc : BLOCK;
  double *Kc = malloc(nmax * bn * sizeof *Kc);
  double *kd = malloc(bn * sizeof *kd);
  double *mv = malloc(2 * bn * sizeof *mv);
  double *gq = NULL;
  st = (Kc && kd && mv) ? PG_OK : PG_ENOMEM;
  memcpy(c->U + c->nc * d, U, nc * d * sizeof *U);
  for (size_t j = 0; !st && j < m; j++) {
    const pg_bo_post *p = c->posts[j];
    size_t n = p->n;
    for (size_t c0 = 0; !st && c0 < nc; c0 += BLOCK) {
      size_t nb = nc - c0 < BLOCK ? nc - c0 : BLOCK;
      const double *Xb = U + c0 * d;
      st = predict_block(p, Xb, nb, mv, mv + nb, Kc, kd); /* Kc ends as L^-1 k(X, Xb) */
      if (st) break;
      for (size_t i = 0; i < nb; i++) {
        size_t ci = c->nc + c0 + i;
        c->mu[ci * m + j] = mv[i];
        c->var[ci * m + j] = mv[nb + i];
        c->kd[ci * m + j] = kd[i];
        c->na[ci * m + j] = 0;
        double *v = c->V[j] + ci * n;
        for (size_t r = 0; r < n; r++) v[r] = Kc[r * nb + i];
      }
      /* rows of the joint factor with the current conditioning set in one
       * GEMM (the baseline of qNEHVI / qNParEGO is conditioned on first) */
      size_t nq = p->nq, Q = p->qmax;
      if (nq > 0) {
        double *G = realloc(gq, 2 * nb * nq * sizeof *G);
        if (!G) {
          st = PG_ENOMEM;
          break;
        }
        gq = G;
        double *Kq = G + nb * nq;
        st = pg_kernel_matrix(p->k, Xb, nb, p->Xq, nq, d, Kq);
        if (st) break;
        pg_gemm(nb, nq, n, 1.0, c->V[j] + (c->nc + c0) * n, p->Vt, 1, 0.0, G);
        double s2 = p->scale * p->scale;
        for (size_t i = 0; i < nb; i++) {
          size_t ci = c->nc + c0 + i;
          double *a = c->A[j] + ci * Q;
          for (size_t k = 0; k < nq; k++) {
            double r = s2 * (Kq[i * nq + k] - G[i * nq + k]);
            for (size_t l = 0; l < k; l++) r -= p->Lq[k * Q + l] * a[l];
            a[k] = r / p->Lq[k * Q + k];
          }
          c->na[ci * m + j] = nq;
        }
      }
    }
  }
  free(gq);
  free(Kc);
  free(kd);
  free(mv);
  if (!st) c->nc += nc;
  return st;
}

pg_status pg_bo_cands_moments(const pg_bo_cands *c, size_t i, double *mean, double *var) {
  if (i >= c->nc) return PG_ERANGE;
  for (size_t j = 0; j < c->m; j++) {
    if (mean) mean[j] = c->mu[i * c->m + j];
    if (var) var[j] = c->var[i * c->m + j];
  }
  return PG_OK;
}

/* joint samples f[S] of candidate i, output j, given the current
 * conditioning set of that output (the factor row extended lazily) */
static pg_status cand_samples(pg_bo_cands *c, size_t i, size_t j, const double *z, double *f) {
  const pg_bo_post *p = c->posts[j];
  size_t n = p->n, Q = p->qmax, nq = p->nq, S = c->S, d = c->d, m = c->m;
  double *a = c->A[j] + i * (Q ? Q : 1);
  const double *x = c->U + i * d, *v = c->V[j] + i * n;
  double s2 = p->scale * p->scale;
  size_t k0 = c->na[i * m + j];
  if (k0 < nq) { /* k(x, q_k) for the new conditioning points, one call */
    pg_status st = pg_kernel_matrix(p->k, x, 1, p->Xq + k0 * d, nq - k0, d, c->kq);
    if (st) return st;
  }
  for (size_t k = k0; k < nq; k++) {
    const double *vq = p->Vt + k * n;
    double dot = 0;
    for (size_t r = 0; r < n; r++) dot += v[r] * vq[r];
    double r = s2 * (c->kq[k - k0] - dot);
    for (size_t l = 0; l < k; l++) r -= p->Lq[k * Q + l] * a[l];
    a[k] = r / p->Lq[k * Q + k];
  }
  c->na[i * m + j] = nq;
  double aa = 0;
  for (size_t k = 0; k < nq; k++) aa += a[k] * a[k];
  double mu = c->mu[i * m + j];
  double t = cond_sd(c->var[i * m + j] - aa, s2 * c->kd[i * m + j]);
  /* f = mu + t z + Zq a, as axpys over contiguous columns of Zq (vectorisable) */
  double *ZT = c->ZT[j];
  for (size_t k = c->nzt[j]; k < nq; k++)
    for (size_t s = 0; s < S; s++) ZT[k * S + s] = p->Zq[s * Q + k];
  if (c->nzt[j] < nq) c->nzt[j] = nq;
  for (size_t s = 0; s < S; s++) f[s] = mu + t * z[s];
  for (size_t k = 0; k < nq; k++) {
    const double *col = ZT + k * S, ak = a[k];
    for (size_t s = 0; s < S; s++) f[s] += ak * col[s];
  }
  return PG_OK;
}

pg_status pg_bo_cands_samples(pg_bo_cands *c, const size_t *idx, size_t ni,
                              const double *const *z, double *F) {
  for (size_t r = 0; r < ni; r++)
    if (idx[r] >= c->nc) return PG_ERANGE;
  for (size_t j = 0; j < c->m; j++)
    for (size_t r = 0; r < ni; r++) {
      pg_status st = cand_samples(c, idx[r], j, z[j], F + (j * ni + r) * c->S);
      if (st) return st;
    }
  return PG_OK;
}

struct pg_bo_acq {
  pg_bo_acq_kind kind;
  size_t m, S;
  double ref[PG_BO_ACQ_MAXM];
  double w[PG_BO_ACQ_MAXM], rho;
  double *t;      /* NEI thresholds (S) */
  double *pts;    /* HVI: staircases (m = 2) or point sets, concatenated */
  size_t *off, *k; /* per sample: offset (in points) and size */
  double *y;      /* m scratch */
};

void pg_bo_acq_free(pg_bo_acq *a) {
  if (!a) return;
  free(a->t);
  free(a->pts);
  free(a->off);
  free(a->k);
  free(a->y);
  free(a);
}

static pg_bo_acq *acq_alloc(pg_bo_acq_kind kind, size_t m, size_t S) {
  pg_bo_acq *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->kind = kind;
  a->m = m;
  a->S = S;
  a->y = malloc(m * sizeof *a->y);
  if (!a->y) {
    free(a);
    return NULL;
  }
  return a;
}

pg_status pg_bo_acq_hvi(pg_bo_acq **out, size_t S, size_t m, const double *const *sets,
                        const size_t *k, const double *ref) {
  *out = NULL;
  if (S == 0 || m < 2 || m > PG_BO_ACQ_MAXM) return PG_EINVAL;
  for (size_t j = 0; j < m; j++)
    if (!isfinite(ref[j])) return PG_EDOM;
  size_t tot = 0;
  for (size_t s = 0; s < S; s++) {
    if (!pg_all_finite(sets[s], k[s] * m)) return PG_EDOM;
    tot += k[s];
  }
  pg_bo_acq *a = acq_alloc(PG_BO_ACQ_HVI, m, S);
  if (!a) return PG_ENOMEM;
  memcpy(a->ref, ref, m * sizeof *ref);
  a->pts = malloc((tot * m + 1) * sizeof *a->pts);
  a->off = malloc(S * sizeof *a->off);
  a->k = malloc(S * sizeof *a->k);
  if (!a->pts || !a->off || !a->k) {
    pg_bo_acq_free(a);
    return PG_ENOMEM;
  }
  size_t o = 0;
  for (size_t s = 0; s < S; s++) {
    a->off[s] = o;
    if (m == 2) {
      a->k[s] = pg_stair_2d(sets[s], k[s], ref, a->pts + 2 * o);
    } else {
      memcpy(a->pts + o * m, sets[s], k[s] * m * sizeof *a->pts);
      a->k[s] = k[s];
    }
    o += a->k[s];
  }
  *out = a;
  return PG_OK;
}

pg_status pg_bo_acq_nei(pg_bo_acq **out, size_t S, const double *t) {
  *out = NULL;
  if (S == 0) return PG_EINVAL;
  if (!pg_all_finite(t, S)) return PG_EDOM;
  pg_bo_acq *a = acq_alloc(PG_BO_ACQ_NEI, 1, S);
  if (!a) return PG_ENOMEM;
  a->t = malloc(S * sizeof *a->t);
  if (!a->t) {
    pg_bo_acq_free(a);
    return PG_ENOMEM;
  }
  memcpy(a->t, t, S * sizeof *t);
  *out = a;
  return PG_OK;
}

pg_status pg_bo_acq_cheb(pg_bo_acq **out, size_t S, size_t m, const double *w, double rho,
                         const double *t) {
  *out = NULL;
  if (S == 0 || m == 0 || m > PG_BO_ACQ_MAXM) return PG_EINVAL;
  if (!isfinite(rho) || !pg_all_finite(t, S)) return PG_EDOM;
  for (size_t j = 0; j < m; j++)
    if (!isfinite(w[j]) || w[j] < 0) return PG_EDOM;
  pg_bo_acq *a = acq_alloc(PG_BO_ACQ_CHEB, m, S);
  if (!a) return PG_ENOMEM;
  a->t = malloc(S * sizeof *a->t);
  if (!a->t) {
    pg_bo_acq_free(a);
    return PG_ENOMEM;
  }
  memcpy(a->t, t, S * sizeof *t);
  memcpy(a->w, w, m * sizeof *w);
  a->rho = rho;
  *out = a;
  return PG_OK;
}

size_t pg_bo_acq_outputs(const pg_bo_acq *a) { return a->m; }

/* the acquisition of one candidate from its samples f[j * S + s] */
static pg_status acq_value(pg_bo_acq *a, const double *f, double *out) {
  size_t S = a->S, m = a->m;
  double v = 0;
  if (a->kind == PG_BO_ACQ_NEI) {
    for (size_t s = 0; s < S; s++) {
      double g = a->t[s] - f[s];
      if (g > 0) v += g;
    }
  } else if (a->kind == PG_BO_ACQ_CHEB) {
    for (size_t s = 0; s < S; s++) {
      double mx = -INFINITY, sum = 0;
      for (size_t j = 0; j < m; j++) {
        double b = a->w[j] * f[j * S + s];
        mx = b > mx ? b : mx;
        sum += b;
      }
      double g = a->t[s] - (mx + a->rho * sum);
      if (g > 0) v += g;
    }
  } else if (m == 2) {
    for (size_t s = 0; s < S; s++)
      v += hvi2(a->pts + 2 * a->off[s], a->k[s], a->ref, f[s], f[S + s]);
  } else {
    for (size_t s = 0; s < S; s++) {
      int in = 1;
      for (size_t j = 0; j < m; j++) {
        a->y[j] = f[j * S + s];
        if (!(a->y[j] < a->ref[j])) in = 0;
      }
      if (!in) continue;
      double h;
      pg_status st = pg_hv_improvement(a->pts + a->off[s] * m, a->k[s], m, a->ref, a->y, 1, &h);
      if (st) return st;
      v += h;
    }
  }
  *out = v / (double)S;
  return PG_OK;
}

pg_status pg_bo_cands_score(pg_bo_cands *c, const size_t *idx, size_t ni, const double *const *z,
                            pg_bo_acq *a, double *out) {
  if (a->S != c->S || a->m > c->m) return PG_EINVAL;
  for (size_t r = 0; r < ni; r++)
    if (idx[r] >= c->nc) return PG_ERANGE;
  size_t S = c->S;
  for (size_t r = 0; r < ni; r++) {
    for (size_t j = 0; j < a->m; j++) {
      pg_status st = cand_samples(c, idx[r], j, z[j], c->buf + j * S);
      if (st) return st;
    }
    pg_status st = acq_value(a, c->buf, out + r);
    if (st) return st;
  }
  return PG_OK;
}
