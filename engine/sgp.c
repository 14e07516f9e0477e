/*
 * sgp.c -- inducing-point sparse GP: VFE (Titsias 2009) and FITC (Snelson
 * and Ghahramani 2006), see sgp.h and docs/gp.md.
 *
 * Notation: V = Luu^-1 Kuf (stored transposed, Vt = Kfu Luu^-T, n x m),
 * Lambda = diag(lam) with lam_i = s2n (VFE) or s2n + Kff_ii - Qff_ii (FITC),
 * A = I + V Lambda^-1 V^T = LA LA^T, b = V Lambda^-1 y, c = LA^-1 b,
 * u = A^-1 b. Then Sigma = Qff + Lambda = V^T V + Lambda and
 *   log|Sigma| = log|A| + sum log lam,  y^T Sigma^-1 y = y^T Lambda^-1 y - c^T c,
 *   beta = Sigma^-1 y = Lambda^-1 (y - V^T u),
 *   (Sigma^-1)_ii = 1/lam_i - v_i^T A^-1 v_i / lam_i^2.
 * With G = dL/dSigma = (beta beta^T - Sigma^-1)/2, g_i = G_ii, and e_i the
 * coefficient of Qff_ii outside Sigma (VFE: +1/(2 s2n) from the trace term;
 * FITC: -g_i through lam), the chain rule through Qff = Kfu Kuu^-1 Kuf gives
 *   dL/dKfu = [beta (V beta)^T - Lambda^-1 V^T A^-1 + 2 diag(e) V^T] Luu^-1
 *   dL/dKuu = Luu^-T [-(V beta)(V beta)^T/2 + (I - A^-1)/2 - V diag(e) V^T] Luu^-1
 *   dL/dKff_ii = g_i (FITC) or -1/(2 s2n) (VFE)
 *   dL/ds2n = sum g_i (+ tr(Kff - Qff) / (2 s2n^2) for VFE),
 * using Kuf Sigma^-1 = Kuu B^-1 Kuf Lambda^-1 with B = Kuu + Kuf Lambda^-1 Kfu
 * = Luu A Luu^T. Every term is a BLAS-3 pass over Vt.
 */
#include "sgp.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "gp.h"
#include "linalg.h"
#include "optim.h"
#include "parallel.h"

struct pg_sgp {
  pg_kernel *k;
  pg_sgp_opts o;
  double lognoise;
  size_t n, d, m;
  double *X, *y, *Z;
  int zfixed;
  double offset, scale;
  /* fitted state */
  double *Luu, *LA, *T, *wmean;
  int use_T; /* predictive variance through T T^T = Kuu^-1 - B^-1 */
  double bound, jitter;
  int fitted;
};

pg_sgp_opts pg_sgp_defaults(void) {
  pg_sgp_opts o;
  o.m = 64;
  o.method = PG_SGP_VFE;
  o.select = PG_SGP_SELECT_KMEANSPP;
  o.noise = 1e-2;
  o.standardize = 1;
  o.train_noise = 1;
  o.noise_lo = 1e-6;
  o.noise_hi = 10.0;
  o.param_lo = 1e-4;
  o.param_hi = 1e4;
  o.jitter = 1e-6;
  o.max_iter = 100;
  o.reselect = 1;
  o.train_max = 10000;
  o.inducing_iters = 0;
  o.inducing_max = 2000;
  return o;
}

static const char *const method_names[] = {"vfe", "fitc"};
static const char *const select_names[] = {"kmeans++", "greedy", "random"};

const char *pg_sgp_method_name(pg_sgp_method m) {
  return (unsigned)m < 2 ? method_names[m] : "?";
}
const char *pg_sgp_select_name(pg_sgp_select s) {
  return (unsigned)s < 3 ? select_names[s] : "?";
}
pg_status pg_sgp_method_parse(const char *s, pg_sgp_method *m) {
  for (int i = 0; s && i < 2; i++)
    if (strcmp(s, method_names[i]) == 0) {
      *m = (pg_sgp_method)i;
      return PG_OK;
    }
  return PG_EINVAL;
}
pg_status pg_sgp_select_parse(const char *s, pg_sgp_select *m) {
  for (int i = 0; s && i < 3; i++)
    if (strcmp(s, select_names[i]) == 0) {
      *m = (pg_sgp_select)i;
      return PG_OK;
    }
  if (s && strcmp(s, "kmeans") == 0) {
    *m = PG_SGP_SELECT_KMEANSPP;
    return PG_OK;
  }
  return PG_EINVAL;
}

/* ---- inducing-point selection ---- */

static pg_status choose_random(size_t n, size_t m, pg_rng *rng, size_t *idx) {
  size_t *perm = malloc(n * sizeof *perm);
  if (!perm) return PG_ENOMEM;
  for (size_t i = 0; i < n; i++) perm[i] = i;
  for (size_t j = 0; j < m; j++) { /* partial Fisher-Yates */
    size_t r = j + (size_t)pg_rng_below(rng, n - j);
    size_t t = perm[j];
    perm[j] = perm[r];
    perm[r] = t;
    idx[j] = perm[j];
  }
  free(perm);
  return PG_OK;
}

/* k-means++ seeding: each new centre drawn with probability proportional to
 * the squared distance to the nearest centre chosen so far. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PG_SGP_VECTOR                                                                  \
  __attribute__((optimize("O3", "no-trapping-math"), target_clones("avx512f", "avx2", "default")))
#else
#define PG_SGP_VECTOR
#endif

/* dist[i] = min(dist[i], |x_i - z|^2) over a block of nb points stored by
 * columns (Xc[t * ld + i]); returns the block's sum of dist. Memory-bound:
 * one pass over the block's columns. */
PG_SGP_VECTOR static double kpp_update(const double *Xc, size_t ld, size_t nb, size_t d,
                                       const double *z, double *dist, double *s) {
  for (size_t i = 0; i < nb; i++) s[i] = 0.0;
  for (size_t t = 0; t < d; t++) {
    const double *x = Xc + t * ld, zt = z[t];
    for (size_t i = 0; i < nb; i++) s[i] += (x[i] - zt) * (x[i] - zt);
  }
  double tot = 0.0;
  for (size_t i = 0; i < nb; i++) {
    double v = s[i] < dist[i] ? s[i] : dist[i];
    dist[i] = v;
    tot += v;
  }
  return tot;
}

static pg_status choose_kmeanspp(const double *X, size_t n, size_t d, size_t m, pg_rng *rng,
                                 size_t *idx) {
  enum { KB = 512 }; /* points per block: the block's sums are kept for the draw */
  size_t nblk = (n + KB - 1) / KB;
  double *dist = malloc(n * sizeof *dist), *Xc = malloc(n * d * sizeof *Xc);
  double *bsum = malloc(nblk * sizeof *bsum), s[KB];
  unsigned char *used = calloc(n, 1);
  if (!dist || !used || !Xc || !bsum) {
    free(dist);
    free(used);
    free(Xc);
    free(bsum);
    return PG_ENOMEM;
  }
  /* columns by blocks of KB points: block k holds d columns of KB values */
  for (size_t k = 0; k < nblk; k++) {
    size_t i0 = k * KB, nb = n - i0 < KB ? n - i0 : KB;
    for (size_t i = 0; i < nb; i++)
      for (size_t t = 0; t < d; t++) Xc[i0 * d + t * nb + i] = X[(i0 + i) * d + t];
  }
  for (size_t i = 0; i < n; i++) dist[i] = INFINITY;
  size_t c = (size_t)pg_rng_below(rng, n);
  for (size_t j = 0; j < m; j++) {
    if (j > 0) {
      /* draw with probability dist_i / sum(dist): find the block, then the point */
      double total = 0.0;
      for (size_t k = 0; k < nblk; k++) total += bsum[k];
      c = n;
      if (total > 0.0 && isfinite(total)) {
        double u = pg_rng_uniform(rng) * total, acc = 0.0;
        size_t k = 0;
        while (k + 1 < nblk && u >= acc + bsum[k]) acc += bsum[k++];
        size_t i0 = k * KB, i1 = i0 + KB < n ? i0 + KB : n, last = n;
        for (size_t i = i0; i < i1; i++) {
          if (dist[i] <= 0.0) continue;
          acc += dist[i];
          last = i;
          if (u < acc) break;
        }
        c = last;
      }
      if (c >= n || used[c]) { /* all remaining points coincide with centres */
        size_t r = (size_t)pg_rng_below(rng, n - j), cnt = 0;
        for (c = 0; c < n; c++)
          if (!used[c] && cnt++ == r) break;
      }
    }
    idx[j] = c;
    used[c] = 1;
    dist[c] = 0.0;
    const double *z = X + c * d;
    for (size_t k = 0; k < nblk; k++) {
      size_t i0 = k * KB, nb = n - i0 < KB ? n - i0 : KB;
      bsum[k] = kpp_update(Xc + i0 * d, nb, nb, d, z, dist + i0, s);
    }
  }
  free(dist);
  free(used);
  free(Xc);
  free(bsum);
  return PG_OK;
}

/* Greedy variance reduction = pivoted Cholesky of Kff: take the point with
 * the largest residual variance k(x,x) - Qff_ii. O(n m^2). */
static pg_status choose_greedy(const pg_kernel *k, const double *X, size_t n, size_t d,
                               size_t m, size_t *idx, size_t *mout) {
  size_t nm;
  if (pg_size_mul(n, m, &nm) != PG_OK) return PG_ERANGE;
  double *Lc = malloc(nm * sizeof *Lc);
  double *res = malloc(n * sizeof *res), *col = malloc(n * sizeof *col);
  pg_status st = PG_OK;
  if (!Lc || !res || !col) st = PG_ENOMEM;
  if (st == PG_OK) st = pg_kernel_diag(k, X, n, d, res);
  size_t j = 0;
  double tol = 0.0;
  for (size_t i = 0; st == PG_OK && i < n; i++) tol = fmax(tol, res[i]);
  tol *= 1e-10;
  for (; st == PG_OK && j < m; j++) {
    size_t p = 0;
    double best = -1.0;
    for (size_t i = 0; i < n; i++)
      if (res[i] > best) {
        best = res[i];
        p = i;
      }
    if (!(best > tol)) break;
    idx[j] = p;
    st = pg_kernel_matrix(k, X, n, X + p * d, 1, d, col);
    if (st != PG_OK) break;
    if (j > 0)
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)j, -1.0, Lc, (int)m, Lc + p * m, 1,
                  1.0, col, 1);
    double piv = sqrt(best);
    for (size_t i = 0; i < n; i++) {
      double l = col[i] / piv;
      Lc[i * m + j] = l;
      res[i] -= l * l;
    }
    res[p] = -INFINITY;
  }
  *mout = j;
  free(Lc);
  free(res);
  free(col);
  return st;
}

pg_status pg_sgp_choose_inducing(const pg_kernel *k, const double *X, size_t n, size_t d,
                                 size_t m, pg_sgp_select how, pg_rng *rng, size_t *idx,
                                 size_t *mout) {
  *mout = 0;
  if (n == 0 || m == 0) return PG_EINVAL;
  if (m > n) m = n;
  pg_status st;
  switch (how) {
  case PG_SGP_SELECT_GREEDY: return choose_greedy(k, X, n, d, m, idx, mout);
  case PG_SGP_SELECT_RANDOM:
    if (!rng) return PG_EINVAL;
    st = choose_random(n, m, rng, idx);
    break;
  case PG_SGP_SELECT_KMEANSPP:
    if (!rng) return PG_EINVAL;
    st = choose_kmeanspp(X, n, d, m, rng, idx);
    break;
  default: return PG_EINVAL;
  }
  if (st == PG_OK) *mout = m;
  return st;
}

/* ---- model ---- */

pg_status pg_sgp_new(pg_sgp **out, pg_kernel *k, const pg_sgp_opts *opts) {
  *out = NULL;
  pg_sgp_opts o = opts ? *opts : pg_sgp_defaults();
  if (!k) return PG_EINVAL;
  if (o.m == 0 || o.m > ((size_t)1 << 16) || (unsigned)o.method > 1 || (unsigned)o.select > 2 ||
      !(o.noise > 0.0) || !isfinite(o.noise) || !(o.noise_lo > 0.0) ||
      !(o.noise_hi >= o.noise_lo) || !isfinite(o.noise_hi) || !(o.param_lo > 0.0) ||
      !(o.param_hi >= o.param_lo) || !isfinite(o.param_hi) || !(o.jitter >= 0.0) ||
      !isfinite(o.jitter) || o.max_iter < 1 || o.inducing_iters < 0) {
    pg_kernel_free(k);
    return PG_EINVAL;
  }
  pg_sgp *s = calloc(1, sizeof *s);
  if (!s) {
    pg_kernel_free(k);
    return PG_ENOMEM;
  }
  s->k = k;
  s->o = o;
  s->lognoise = log(o.noise);
  s->bound = NAN;
  *out = s;
  return PG_OK;
}

static void clear_state(pg_sgp *s) {
  free(s->Luu);
  free(s->LA);
  free(s->T);
  free(s->wmean);
  s->Luu = s->LA = s->T = s->wmean = NULL;
  s->fitted = 0;
  s->bound = NAN;
}

void pg_sgp_free(pg_sgp *s) {
  if (!s) return;
  clear_state(s);
  free(s->X);
  free(s->y);
  free(s->Z);
  pg_kernel_free(s->k);
  free(s);
}

pg_status pg_sgp_set_inducing(pg_sgp *s, const double *Z, size_t m, size_t d) {
  if (m == 0 || m > ((size_t)1 << 16)) return PG_EINVAL;
  if (d < pg_kernel_mindim(s->k)) return PG_ESHAPE;
  if (s->n > 0 && d != s->d) return PG_ESHAPE;
  if (!pg_all_finite(Z, m * d)) return PG_EDOM;
  double *c = malloc(m * d * sizeof *c);
  if (!c) return PG_ENOMEM;
  memcpy(c, Z, m * d * sizeof *c);
  free(s->Z);
  clear_state(s);
  s->Z = c;
  s->m = m;
  s->d = d;
  s->zfixed = 1;
  return PG_OK;
}

/* Outputs of one pass of the core computation (all optional). */
typedef struct core_out {
  double *Luu, *LA, *T, *wmean; /* m x m, m x m, m x m, m */
  int use_T;
  double jitter;
} core_out;

/* Objective (and gradient, and/or the predictive factors) for kernel k and
 * log noise ln on the stored data and inducing inputs. */
/* vtbuf: caller's n x m buffer for Vt (or NULL: allocated when needed), so
 * that repeated evaluations do not map and fault in a fresh buffer. */
static pg_status core(const pg_sgp *s, const pg_kernel *k, double ln, double *bound,
                      double *grad, double *gZ, core_out *out, double *vtbuf) {
  const size_t n = s->n, m = s->m, d = s->d, mm = m * m;
  const double *X = s->X, *Z = s->Z, *y = s->y;
  const double nz = exp(ln);
  const int fitc = s->o.method == PG_SGP_FITC;
  const size_t P = pg_kernel_nparams(k);
  size_t nm;
  if (pg_size_mul(n, m, &nm) != PG_OK) return PG_ERANGE;
  const size_t B = 512; /* rows per block (a 1 MB block of Kfu at m = 256) */
  size_t bm = (n < B ? n : B) * m;
  /* m x m: Luu, A (then LA), A0, Ainv, C, work, Luu^-1; n x m: Vt; blocks; vectors */
  double *mbuf = malloc((7 * mm + 4 * m) * sizeof *mbuf);
  /* the n x m Vt is kept only for the gradient; a fit streams it by blocks */
  double *Vt = grad || gZ ? (vtbuf ? vtbuf : malloc(nm * sizeof *Vt)) : NULL;
  double *blk = malloc(3 * bm * sizeof *blk);
  double *nv = malloc(5 * n * sizeof *nv);
  double *gt = malloc((P + 1) * sizeof *gt);
  pg_status st = PG_OK;
  if (!mbuf || ((grad || gZ) && !Vt) || !blk || !nv || !gt) st = PG_ENOMEM;
  double *Luu = mbuf, *A = Luu + mm, *A0 = A + mm, *Ai = A0 + mm, *C = Ai + mm, *W = C + mm;
  double *Li = W + mm, *b = Li + mm, *u = b + m, *vb = u + m, *tmpm = vb + m;
  double *lam = nv, *kd = lam + n, *qd = kd + n, *beta = qd + n, *dld = beta + n;
  double *S1 = blk, *S2 = blk + bm, *S3 = S2 + bm;
  /* jitter relative to the mean diagonal of Kuu: Kuu + c * mean(diag) I */
  double jit = 0.0, kmean = 0.0;
  if (st == PG_OK) st = pg_kernel_matrix(k, Z, m, Z, m, d, Luu);
  if (st == PG_OK) {
    for (size_t j = 0; j < m; j++) kmean += Luu[j * m + j];
    kmean /= (double)m;
    jit = s->o.jitter * kmean;
    st = pg_cholesky(Luu, m, &jit, 8, W); /* jit > 0: added from the start */
  }
  if (st == PG_OK) {
    /* Luu^-1 once (m^3/3 flops): the n x m products by Luu^-T and Luu^-1
     * below are dtrmm, about twice as fast in OpenBLAS as dtrsm (even the
     * recursive one that puts most flops into dgemm) */
    memcpy(Li, Luu, mm * sizeof *Li);
    lapack_int info = LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', (lapack_int)m, Li,
                                          (lapack_int)m); /* row-major lower = col-major upper */
    if (info != 0) st = info < 0 ? PG_ELAPACK : PG_ENOTPD;
  }
  if (st == PG_OK) st = pg_kernel_diag(k, X, n, d, kd);
  if (st != PG_OK) goto done;
  /* By blocks of B rows: Vt = Kfu Luu^-T; A = I + Vt^T Lambda^-1 Vt (lower
   * triangle), b = Vt^T Lambda^-1 y. The same blocks with or without the
   * gradient, so that the fit and the bound of the training agree. */
  double trace = 0.0, sumloglam = 0.0, yly = 0.0;
  memset(A, 0, mm * sizeof *A);
  for (size_t j = 0; j < m; j++) A[j * m + j] = 1.0;
  memset(b, 0, m * sizeof *b);
  for (size_t i0 = 0; i0 < n; i0 += B) {
    size_t nb = n - i0 < B ? n - i0 : B;
    double *Vb = Vt ? Vt + i0 * m : S1;
    st = pg_kernel_matrix(k, X + i0 * d, nb, Z, m, d, Vb);
    if (st != PG_OK) goto done;
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)nb, (int)m,
                1.0, Li, (int)m, Vb, (int)m); /* Vb = Kfu Luu^-T */
    for (size_t i = i0; i < i0 + nb; i++) {
      const double *v = Vb + (i - i0) * m;
      double q = 0.0;
      for (size_t j = 0; j < m; j++) q += v[j] * v[j];
      qd[i] = q;
      double r = kd[i] - q;
      r = r > 0.0 ? r : 0.0;
      trace += r;
      lam[i] = fitc ? nz + r : nz;
      sumloglam += log(lam[i]);
      beta[i] = y[i] / lam[i]; /* Lambda^-1 y for now */
      yly += y[i] * beta[i];
    }
    if (!fitc) {
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)m, (int)nb, 1.0 / nz, Vb, (int)m,
                  1.0, A, (int)m);
    } else {
      for (size_t i = 0; i < nb; i++) {
        double sc = 1.0 / sqrt(lam[i0 + i]);
        for (size_t j = 0; j < m; j++) S2[i * m + j] = Vb[i * m + j] * sc;
      }
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)m, (int)nb, 1.0, S2, (int)m, 1.0,
                  A, (int)m);
    }
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, (int)m, 1.0, Vb, (int)m, beta + i0, 1, 1.0,
                b, 1);
  }
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < i; j++) A[j * m + i] = A[i * m + j];
  memcpy(A0, A, mm * sizeof *A);
  double jA = 0.0;
  st = pg_cholesky(A, m, &jA, 4, W); /* A is now LA */
  if (st != PG_OK) goto done;
  memcpy(u, b, m * sizeof *u);
  cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)m, A, (int)m, u, 1);
  double cc = 0.0;
  for (size_t j = 0; j < m; j++) cc += u[j] * u[j]; /* u = c for now */
  double F = -0.5 * (double)n * log(2.0 * M_PI) - 0.5 * (pg_chol_logdet(A, m) + sumloglam) -
             0.5 * (yly - cc);
  if (!fitc) F -= 0.5 * trace / nz;
  *bound = F;
  cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)m, A, (int)m, u, 1);
  /* u = A^-1 b */

  int need_ai = grad || gZ || (out && out->T);
  if (need_ai) {
    memcpy(Ai, A, mm * sizeof *Ai);
    lapack_int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)m, Ai, (lapack_int)m);
    if (info != 0) {
      st = info < 0 ? PG_ELAPACK : PG_ENOTPD;
      goto done;
    }
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < i; j++) Ai[j * m + i] = Ai[i * m + j];
  }
  if (out) {
    out->jitter = jit;
    if (out->Luu) memcpy(out->Luu, Luu, mm * sizeof *Luu);
    if (out->LA) memcpy(out->LA, A, mm * sizeof *A);
    if (out->wmean) {
      memcpy(out->wmean, u, m * sizeof *u);
      cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)m, Luu, (int)m,
                  out->wmean, 1);
    }
    if (out->T) {
      /* M = Luu^-T (I - A^-1) Luu^-1; T = chol(M) if it needs no jitter */
      double *M = out->T;
      for (size_t i = 0; i < mm; i++) M[i] = -Ai[i];
      for (size_t j = 0; j < m; j++) M[j * m + j] += 1.0;
      cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)m,
                  (int)m, 1.0, Luu, (int)m, M, (int)m);
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)m,
                  (int)m, 1.0, Luu, (int)m, M, (int)m);
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < i; j++) {
          double v = 0.5 * (M[i * m + j] + M[j * m + i]);
          M[i * m + j] = M[j * m + i] = v;
        }
      double jt = 0.0;
      out->use_T = pg_cholesky(M, m, &jt, 0, W) == PG_OK;
    }
  }
  if (!grad && !gZ) goto done;

  /* beta = Lambda^-1 (y - Vt u), vb = Vt^T beta */
  for (size_t i = 0; i < n; i++) beta[i] = y[i];
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, -1.0, Vt, (int)m, u, 1, 1.0, beta, 1);
  for (size_t i = 0; i < n; i++) beta[i] /= lam[i];
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, 1.0, Vt, (int)m, beta, 1, 0.0, vb, 1);
  /* C = -(vb vb^T)/2 + (I - A^-1)/2 - V diag(e) V^T */
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < m; j++)
      C[i * m + j] = -0.5 * vb[i] * vb[j] - 0.5 * Ai[i * m + j] + (i == j ? 0.5 : 0.0);
  if (!fitc) /* e = 1/(2 nz): V V^T / (2 nz) = (A - I) / 2 */
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < m; j++) C[i * m + j] -= 0.5 * (A0[i * m + j] - (i == j ? 1.0 : 0.0));
  for (size_t i = 0; grad && i < P; i++) grad[i] = 0.0;
  if (gZ) memset(gZ, 0, m * d * sizeof *gZ);
  double dnoise = fitc ? 0.0 : 0.5 * trace / (nz * nz);
  /* VFE, Z gradient alone: dL/dKfu = beta w^T + Vt M2 with w = Luu^-T vb and
   * M2 = (I - A^-1) Luu^-1 / s2n (R Luu^-1 below with e = 1/(2 s2n)): one
   * dgemm per block instead of a dsymm and a dtrsm */
  const int zfast = !grad && !fitc;
  if (zfast) {
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < m; j++) W[i * m + j] = ((i == j ? 1.0 : 0.0) - Ai[i * m + j]) / nz;
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)m,
                (int)m, 1.0, Luu, (int)m, W, (int)m);
    memcpy(tmpm, vb, m * sizeof *tmpm);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)m, Luu, (int)m, tmpm, 1);
  }
  for (size_t i0 = 0; i0 < n && st == PG_OK; i0 += B) {
    size_t nb = n - i0 < B ? n - i0 : B;
    const double *Vb = Vt + i0 * m;
    if (zfast) {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)m, (int)m, 1.0, Vb,
                  (int)m, W, (int)m, 0.0, S2, (int)m);
      cblas_dger(CblasRowMajor, (int)nb, (int)m, 1.0, beta + i0, 1, tmpm, 1, S2, (int)m);
      st = pg_kernel_grad_inputs(k, X + i0 * d, nb, Z, m, d, S2, gZ, S1);
      continue;
    }
    /* S1 = Vb A^-1 */
    cblas_dsymm(CblasRowMajor, CblasRight, CblasLower, (int)nb, (int)m, 1.0, Ai, (int)m, Vb,
                (int)m, 0.0, S1, (int)m);
    for (size_t i = 0; i < nb; i++) {
      size_t gi = i0 + i;
      const double *v = Vb + i * m;
      double *x = S1 + i * m, *r = S2 + i * m;
      double sv = 0.0;
      for (size_t j = 0; j < m; j++) sv += x[j] * v[j];
      double l = lam[gi];
      double g = 0.5 * (beta[gi] * beta[gi] - 1.0 / l + sv / (l * l));
      double e = fitc ? -g : 0.5 / nz;
      dnoise += g;
      dld[gi] = fitc ? g : -0.5 / nz;
      for (size_t j = 0; j < m; j++) r[j] = beta[gi] * vb[j] - x[j] / l + 2.0 * e * v[j];
      if (fitc)
        for (size_t j = 0; j < m; j++) S3[i * m + j] = e * v[j];
    }
    if (fitc) /* C -= sum_i e_i v_i v_i^T */
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)nb, -1.0, S3,
                  (int)m, Vb, (int)m, 1.0, C, (int)m);
    /* dL/dKfu block = R Luu^-1 */
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)nb,
                (int)m, 1.0, Li, (int)m, S2, (int)m);
    if (grad) {
      st = pg_kernel_grad(k, X + i0 * d, nb, Z, m, d, S2, gt);
      for (size_t i = 0; st == PG_OK && i < P; i++) grad[i] += gt[i];
    }
    if (gZ && st == PG_OK) st = pg_kernel_grad_inputs(k, X + i0 * d, nb, Z, m, d, S2, gZ, S1);
  }
  if (st != PG_OK) goto done;
  /* dL/dKuu = Luu^-T C Luu^-1 */
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)m, (int)m,
              1.0, Luu, (int)m, C, (int)m);
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)m, (int)m,
              1.0, Luu, (int)m, C, (int)m);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < i; j++) {
      double v = 0.5 * (C[i * m + j] + C[j * m + i]);
      C[i * m + j] = C[j * m + i] = v;
    }
  if (gZ) { /* Kuu depends on Z through both arguments: twice one side */
    for (size_t i = 0; i < mm; i++) W[i] = 2.0 * C[i];
    st = pg_kernel_grad_inputs(k, Z, m, Z, m, d, W, gZ, A0); /* A0 is free by now */
    /* the jitter c * mean(diag Kuu) does not move with Z (stationary diagonal) */
  }
  if (!grad || st != PG_OK) goto done;
  st = pg_kernel_grad(k, Z, m, Z, m, d, C, gt);
  for (size_t i = 0; st == PG_OK && i < P; i++) grad[i] += gt[i];
  if (st == PG_OK && jit > 0.0 && kmean > 0.0) {
    /* the jitter c * mean(diag Kuu) moves with the kernel variance */
    double tr = 0.0;
    for (size_t j = 0; j < m; j++) tr += C[j * m + j];
    for (size_t j = 0; j < m; j++) tmpm[j] = (jit / kmean) * tr / (double)m;
    st = pg_kernel_grad_diag(k, Z, m, d, tmpm, gt);
    for (size_t i = 0; st == PG_OK && i < P; i++) grad[i] += gt[i];
  }
  if (st == PG_OK) st = pg_kernel_grad_diag(k, X, n, d, dld, gt);
  for (size_t i = 0; st == PG_OK && i < P; i++) grad[i] += gt[i];
  grad[P] = dnoise * nz;
done:
  free(mbuf);
  if (Vt != vtbuf) free(Vt);
  free(blk);
  free(nv);
  free(gt);
  return st;
}

static pg_status refit(pg_sgp *s) {
  size_t m = s->m, mm = m * m;
  clear_state(s);
  s->Luu = malloc(mm * sizeof *s->Luu);
  s->LA = malloc(mm * sizeof *s->LA);
  s->T = malloc(mm * sizeof *s->T);
  s->wmean = malloc(m * sizeof *s->wmean);
  if (!s->Luu || !s->LA || !s->T || !s->wmean) {
    clear_state(s);
    return PG_ENOMEM;
  }
  core_out o = {s->Luu, s->LA, s->T, s->wmean, 0, 0.0};
  double F;
  pg_status st = core(s, s->k, s->lognoise, &F, NULL, NULL, &o, NULL);
  if (st != PG_OK) {
    clear_state(s);
    return st;
  }
  s->use_T = o.use_T;
  s->jitter = o.jitter;
  s->bound = F;
  s->fitted = 1;
  return PG_OK;
}

static pg_status zoptimize(pg_sgp *s, int iters, size_t nsub, pg_rng *rng, int prefitted);

pg_status pg_sgp_fit(pg_sgp *s, const double *X, size_t n, size_t d, const double *y,
                     pg_rng *rng) {
  if (n == 0) return PG_EINVAL;
  if (d < pg_kernel_mindim(s->k) || (s->zfixed && d != s->d)) return PG_ESHAPE;
  size_t nd, nm;
  size_t m = s->zfixed ? s->m : (s->o.m < n ? s->o.m : n);
  if (pg_size_mul(n, d, &nd) != PG_OK || pg_size_mul(n, m, &nm) != PG_OK) return PG_ERANGE;
  if (!pg_all_finite(X, nd) || !pg_all_finite(y, n)) return PG_EDOM;
  if (!s->zfixed && !rng && s->o.select != PG_SGP_SELECT_GREEDY &&
      (s->o.reselect || !s->Z || s->d != d))
    return PG_EINVAL;
  double *Xc = malloc(nd * sizeof *Xc), *yc = malloc(n * sizeof *yc);
  if (!Xc || !yc) {
    free(Xc);
    free(yc);
    return PG_ENOMEM;
  }
  memcpy(Xc, X, nd * sizeof *X);
  pg_gp_standardize(y, n, s->o.standardize, &s->offset, &s->scale);
  for (size_t i = 0; i < n; i++) yc[i] = (y[i] - s->offset) / s->scale;
  clear_state(s);
  free(s->X);
  free(s->y);
  s->X = Xc;
  s->y = yc;
  s->n = n;
  pg_status st = PG_OK;
  if (!s->zfixed && (s->o.reselect || !s->Z || s->d != d)) {
    size_t *idx = malloc(m * sizeof *idx), mo = 0;
    double *Z = malloc(m * d * sizeof *Z);
    if (!idx || !Z) st = PG_ENOMEM;
    if (st == PG_OK) st = pg_sgp_choose_inducing(s->k, Xc, n, d, m, s->o.select, rng, idx, &mo);
    if (st == PG_OK) {
      for (size_t j = 0; j < mo; j++) memcpy(Z + j * d, Xc + idx[j] * d, d * sizeof *Z);
      free(s->Z);
      s->Z = Z;
      s->m = mo;
      Z = NULL;
    }
    free(idx);
    free(Z);
  }
  s->d = d;
  int zopt = !s->zfixed && s->o.inducing_iters > 0;
  size_t nsub = rng ? s->o.inducing_max : 0;
  int direct = zopt && !(nsub > 0 && nsub < n); /* Z moved on all points: one fit, after */
  if (st == PG_OK && !direct) st = refit(s);
  if (st == PG_OK && zopt) st = zoptimize(s, s->o.inducing_iters, nsub, rng, !direct);
  if (st != PG_OK) {
    free(s->X);
    free(s->y);
    s->X = s->y = NULL;
    s->n = 0;
  }
  return st;
}

size_t pg_sgp_nparams(const pg_sgp *s) { return pg_kernel_nparams(s->k) + 1; }

void pg_sgp_get_params(const pg_sgp *s, double *theta) {
  pg_kernel_get_params(s->k, theta);
  theta[pg_kernel_nparams(s->k)] = s->lognoise;
}

pg_status pg_sgp_set_params(pg_sgp *s, const double *theta) {
  size_t p = pg_kernel_nparams(s->k);
  if (!isfinite(theta[p]) || fabs(theta[p]) > 700.0) return PG_EDOM;
  double *old = malloc((p + 1) * sizeof *old);
  if (!old) return PG_ENOMEM;
  pg_sgp_get_params(s, old);
  pg_status st = pg_kernel_set_params(s->k, theta);
  if (st == PG_OK) {
    s->lognoise = theta[p];
    if (s->n > 0) {
      st = refit(s);
      if (st != PG_OK) {
        pg_kernel_set_params(s->k, old);
        s->lognoise = old[p];
        refit(s);
      }
    }
  }
  free(old);
  return st;
}

pg_status pg_sgp_bound_grad(pg_sgp *s, const double *theta, double *bound, double *grad) {
  if (s->n == 0 || !s->Z) return PG_ESTATE;
  size_t p = pg_kernel_nparams(s->k);
  if (!isfinite(theta[p]) || fabs(theta[p]) > 700.0) return PG_EDOM;
  pg_kernel *k = pg_kernel_clone(s->k);
  if (!k) return PG_ENOMEM;
  pg_status st = pg_kernel_set_params(k, theta);
  if (st == PG_OK) st = core(s, k, theta[p], bound, grad, NULL, NULL, NULL);
  pg_kernel_free(k);
  return st;
}

static pg_status bound_grad_z(pg_sgp *s, const double *Z, double *bound, double *gZ,
                              double *vtbuf) {
  if (s->n == 0 || !s->Z) return PG_ESTATE;
  if (!pg_all_finite(Z, s->m * s->d)) return PG_EDOM;
  double *own = s->Z;
  s->Z = (double *)(uintptr_t)Z; /* read only: core takes a const model */
  pg_status st = core(s, s->k, s->lognoise, bound, NULL, gZ, NULL, vtbuf);
  s->Z = own;
  return st;
}

pg_status pg_sgp_bound_grad_z(pg_sgp *s, const double *Z, double *bound, double *gZ) {
  return bound_grad_z(s, Z, bound, gZ, NULL);
}

/* L-BFGS on u = Z / l (column c divided by the lengthscale l_c acting on
 * it, pg_kernel_input_scales): in these units the bound's curvature is far
 * less uneven across columns than in raw inputs (lengthscales differ), and
 * the optimiser's first, steepest-descent step moves every column by a
 * comparable amount. */
typedef struct zopt_ctx {
  pg_sgp *s;
  double *gZ, *vt, *Z, *sc; /* gradient, n x m buffer, Z = u * sc, sc[d] */
  double f0;                /* the bound at the first evaluation (the start) */
  int nev;
} zopt_ctx;

static double zopt_obj(const double *x, double *grad, void *vctx) {
  zopt_ctx *c = vctx;
  size_t md = c->s->m * c->s->d, d = c->s->d;
  for (size_t i = 0; i < md; i++) c->Z[i] = x[i] * c->sc[i % d];
  double F;
  pg_status st = bound_grad_z(c->s, c->Z, &F, grad ? c->gZ : NULL, c->vt);
  if (c->nev++ == 0) c->f0 = st == PG_OK ? F : NAN;
  if (st != PG_OK || !isfinite(F)) return INFINITY;
  if (grad)
    for (size_t i = 0; i < md; i++) grad[i] = -c->gZ[i] * c->sc[i % d];
  return -F;
}

/* prefitted 0 (only without a subset): the model is not fitted yet; the
 * bound at the start comes from the optimiser's first evaluation and the
 * model is fitted once at the end, with whichever Z is kept (this saves a
 * fit in pg_sgp_fit). */
static pg_status zoptimize(pg_sgp *s, int iters, size_t nsub, pg_rng *rng, int prefitted) {
  if (nsub > 0 && nsub < s->n && !rng) return PG_EINVAL;
  size_t md = s->m * s->d;
  double *x = malloc((3 * md + s->d) * sizeof *x);
  if (!x) return PG_ENOMEM;
  double *sc = x + 3 * md;
  pg_kernel_input_scales(s->k, s->d, sc);
  /* optional random subset for the objective (as in pg_sgp_train) */
  double *fullX = s->X, *fully = s->y, *subX = NULL, *suby = NULL;
  size_t fulln = s->n;
  pg_status st = PG_OK;
  if (nsub > 0 && nsub < s->n) {
    size_t *idx = malloc(nsub * sizeof *idx);
    subX = malloc(nsub * s->d * sizeof *subX);
    suby = malloc(nsub * sizeof *suby);
    if (!idx || !subX || !suby) st = PG_ENOMEM;
    if (st == PG_OK) st = choose_random(s->n, nsub, rng, idx);
    if (st == PG_OK) {
      for (size_t i = 0; i < nsub; i++) {
        memcpy(subX + i * s->d, fullX + idx[i] * s->d, s->d * sizeof *subX);
        suby[i] = fully[idx[i]];
      }
      s->X = subX;
      s->y = suby;
      s->n = nsub;
    }
    free(idx);
  }
  double f0 = prefitted ? s->bound : NAN; /* the fitted objective, unless on a subset */
  if (st == PG_OK && s->n != fulln) st = pg_sgp_bound_grad_z(s, s->Z, &f0, NULL);
  for (size_t i = 0; i < md; i++) x[i] = s->Z[i] / sc[i % s->d];
  double *vt = st == PG_OK ? malloc(s->n * s->m * sizeof *vt) : NULL; /* reused */
  if (st == PG_OK && !vt) st = PG_ENOMEM;
  zopt_ctx c = {s, x + md, vt, x + 2 * md, sc, NAN, 0};
  pg_lbfgs_opts lo = pg_lbfgs_defaults();
  lo.max_iter = iters;
  lo.max_evals = 2 * iters + 5;
  lo.gtol = 1e-6;
  lo.ftol = 1e-10;
  double fv = NAN;
  if (st == PG_OK) st = pg_lbfgs(zopt_obj, &c, x, md, &lo, &fv, NULL);
  if (!prefitted) f0 = c.f0;
  free(vt);
  s->X = fullX;
  s->y = fully;
  s->n = fulln;
  free(subX);
  free(suby);
  if (st == PG_OK && isfinite(fv) && !(-fv <= f0)) { /* keep Z only if the bound rose */
    double *old = malloc(md * sizeof *old);
    if (!old) st = PG_ENOMEM;
    if (st == PG_OK) {
      memcpy(old, s->Z, md * sizeof *old);
      for (size_t i = 0; i < md; i++) s->Z[i] = x[i] * sc[i % s->d];
      st = refit(s);
      if (st != PG_OK) { /* back to the previous inducing inputs */
        memcpy(s->Z, old, md * sizeof *old);
        refit(s);
      }
    }
    free(old);
  } else if (st == PG_EDOM) {
    st = PG_OK; /* the start was not finite: nothing to improve */
  }
  if (st == PG_OK && !s->fitted) st = refit(s); /* Z kept as it was */
  free(x);
  return st;
}

pg_status pg_sgp_optimize_inducing(pg_sgp *s, int iters, size_t nsub, pg_rng *rng) {
  if (!s->fitted) return PG_ESTATE;
  if (iters < 1) return PG_OK;
  return zoptimize(s, iters, nsub, rng, 1);
}

double pg_sgp_loglik(const pg_sgp *s) { return s->fitted ? s->bound : NAN; }

typedef struct sgp_ctx {
  pg_sgp *s;
  size_t p;
  double *theta, *grad;
} sgp_ctx;

static double sgp_obj(const double *x, double *grad, void *vctx) {
  sgp_ctx *c = vctx;
  size_t np = c->s->o.train_noise ? c->p + 1 : c->p;
  memcpy(c->theta, x, np * sizeof *x);
  double F;
  pg_status st = pg_sgp_bound_grad(c->s, c->theta, &F, c->grad);
  if (st != PG_OK || !isfinite(F)) return INFINITY;
  if (grad)
    for (size_t i = 0; i < np; i++) grad[i] = -c->grad[i];
  return -F;
}

pg_status pg_sgp_train(pg_sgp *s, pg_rng *rng, int restarts) {
  if (!s->fitted) return PG_ESTATE;
  if (restarts < 1) restarts = 1;
  if (!rng && (restarts > 1 || (s->o.train_max > 0 && s->n > s->o.train_max))) return PG_EINVAL;
  size_t p = pg_kernel_nparams(s->k), P = p + 1;
  size_t np = s->o.train_noise ? P : p;
  double *buf = malloc(7 * P * sizeof *buf);
  if (!buf) return PG_ENOMEM;
  double *theta = buf, *gr = theta + P, *x = gr + P, *best = x + P, *lo = best + P,
         *hi = lo + P, *start = hi + P;
  pg_sgp_get_params(s, start);
  for (size_t i = 0; i < p; i++) {
    lo[i] = log(s->o.param_lo);
    hi[i] = log(s->o.param_hi);
  }
  lo[p] = log(s->o.noise_lo);
  hi[p] = log(s->o.noise_hi);
  sgp_ctx c = {s, p, theta, gr};
  pg_lbfgs_opts lo_opts = pg_lbfgs_defaults();
  lo_opts.max_iter = s->o.max_iter;
  lo_opts.max_evals = 2 * s->o.max_iter;
  lo_opts.gtol = 1e-5;
  lo_opts.ftol = 1e-9;
  lo_opts.lower = lo;
  lo_opts.upper = hi;
  double fbest = INFINITY;
  memcpy(best, start, P * sizeof *best);
  pg_status st = PG_OK;
  /* optional random subset for the objective */
  double *fullX = s->X, *fully = s->y, *subX = NULL, *suby = NULL;
  size_t fulln = s->n;
  if (s->o.train_max > 0 && s->n > s->o.train_max) {
    size_t ns = s->o.train_max, *idx = malloc(ns * sizeof *idx);
    subX = malloc(ns * s->d * sizeof *subX);
    suby = malloc(ns * sizeof *suby);
    if (!idx || !subX || !suby) st = PG_ENOMEM;
    if (st == PG_OK) st = choose_random(s->n, ns, rng, idx);
    if (st == PG_OK) {
      for (size_t i = 0; i < ns; i++) {
        memcpy(subX + i * s->d, fullX + idx[i] * s->d, s->d * sizeof *subX);
        suby[i] = fully[idx[i]];
      }
      s->X = subX;
      s->y = suby;
      s->n = ns;
    }
    free(idx);
  }
  for (int r = 0; st == PG_OK && r < restarts; r++) {
    memcpy(x, start, P * sizeof *x);
    if (r > 0)
      for (size_t i = 0; i < np; i++) x[i] += 1.5 * (2.0 * pg_rng_uniform(rng) - 1.0);
    memcpy(theta, start, P * sizeof *theta);
    double fv;
    pg_status e = pg_lbfgs(sgp_obj, &c, x, np, &lo_opts, &fv, NULL);
    if (e == PG_ENOMEM) {
      st = e;
      break;
    }
    if (e == PG_OK && isfinite(fv) && fv < fbest) {
      fbest = fv;
      memcpy(best, start, P * sizeof *best);
      memcpy(best, x, np * sizeof *best);
    }
  }
  s->X = fullX;
  s->y = fully;
  s->n = fulln;
  free(subX);
  free(suby);
  if (st == PG_OK) st = pg_sgp_set_params(s, best);
  if (st == PG_OK && !isfinite(fbest)) st = PG_ENOCONV;
  free(buf);
  return st;
}

/* Rows of S (nb x m, = K(Xb, Z)) -> q_i = k_i^T (Kuu^-1 - B^-1) k_i,
 * S is overwritten. */
static void quad_terms(const pg_sgp *s, double *S, size_t nb, double *q) {
  size_t m = s->m;
  if (s->use_T) {
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)nb,
                (int)m, 1.0, s->T, (int)m, S, (int)m);
    for (size_t i = 0; i < nb; i++) {
      double a = 0.0;
      for (size_t j = 0; j < m; j++) a += S[i * m + j] * S[i * m + j];
      q[i] = a;
    }
    return;
  }
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)nb, (int)m,
              1.0, s->Luu, (int)m, S, (int)m);
  for (size_t i = 0; i < nb; i++) {
    double a = 0.0;
    for (size_t j = 0; j < m; j++) a += S[i * m + j] * S[i * m + j];
    q[i] = a;
  }
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)nb, (int)m,
              1.0, s->LA, (int)m, S, (int)m);
  for (size_t i = 0; i < nb; i++) {
    double a = 0.0;
    for (size_t j = 0; j < m; j++) a += S[i * m + j] * S[i * m + j];
    q[i] -= a;
  }
}

pg_status pg_sgp_predict(const pg_sgp *s, const double *Xc, size_t nc, double *mean,
                         double *var) {
  if (!s->fitted) return PG_ESTATE;
  if (nc == 0) return PG_OK;
  size_t m = s->m, d = s->d, tmp;
  if (pg_size_mul(nc, d, &tmp) != PG_OK) return PG_ERANGE;
  if (!pg_all_finite(Xc, tmp)) return PG_EDOM;
  /* Blocks of B candidates, one thread each; B depends on nc only, so the
   * results are identical for any thread count (see parallel.h). */
  size_t B = 512;
  if (B > nc) B = nc;
  size_t nblk = (nc + B - 1) / B;
  int nt = pg_par_threads(nblk);
  int saved = pg_par_enter(nt);
  double s2 = s->scale * s->scale;
  pg_status st = PG_OK;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    double *S = malloc(B * m * sizeof *S), *q = malloc(2 * B * sizeof *q);
    pg_status mine = (S && q) ? PG_OK : PG_ENOMEM;
    double *kd = q ? q + B : NULL;
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
      if (mine != PG_OK) continue;
      size_t i0 = b * B;
      size_t nb = nc - i0 < B ? nc - i0 : B;
      const double *Xb = Xc + i0 * d;
      mine = pg_kernel_matrix(s->k, Xb, nb, s->Z, m, d, S);
      if (mine != PG_OK) continue;
      if (mean) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, (int)m, 1.0, S, (int)m, s->wmean, 1, 0.0,
                    mean + i0, 1);
        for (size_t i = 0; i < nb; i++) mean[i0 + i] = mean[i0 + i] * s->scale + s->offset;
      }
      if (var) {
        pg_kernel_diag(s->k, Xb, nb, d, kd);
        quad_terms(s, S, nb, q);
        for (size_t i = 0; i < nb; i++) {
          double v = kd[i] - q[i];
          var[i0 + i] = (v > 0.0 ? v : 0.0) * s2;
        }
      }
    }
    free(S);
    free(q);
    if (mine != PG_OK) {
#pragma omp critical(pg_sgp_predict_status)
      if (st == PG_OK) st = mine;
    }
  }
  pg_par_leave(saved);
  return st;
}

pg_status pg_sgp_predict_cov(const pg_sgp *s, const double *Xc, size_t nc, double *mean,
                             double *cov) {
  if (!s->fitted) return PG_ESTATE;
  if (nc == 0) return PG_OK;
  size_t m = s->m, d = s->d, tmp;
  if (pg_size_mul(nc, d, &tmp) != PG_OK || pg_size_mul(nc, nc > m ? nc : m, &tmp) != PG_OK)
    return PG_ERANGE;
  if (!pg_all_finite(Xc, nc * d)) return PG_EDOM;
  double *S = malloc(nc * m * sizeof *S);
  if (!S) return PG_ENOMEM;
  pg_status st = pg_kernel_matrix(s->k, Xc, nc, s->Z, m, d, S);
  if (st == PG_OK) st = pg_kernel_matrix(s->k, Xc, nc, Xc, nc, d, cov);
  if (st == PG_OK) {
    if (mean) {
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nc, (int)m, 1.0, S, (int)m, s->wmean, 1, 0.0,
                  mean, 1);
      for (size_t i = 0; i < nc; i++) mean[i] = mean[i] * s->scale + s->offset;
    }
    if (s->use_T) {
      cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)nc,
                  (int)m, 1.0, s->T, (int)m, S, (int)m);
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nc, (int)m, -1.0, S, (int)m, 1.0,
                  cov, (int)nc);
    } else {
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)nc,
                  (int)m, 1.0, s->Luu, (int)m, S, (int)m);
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nc, (int)m, -1.0, S, (int)m, 1.0,
                  cov, (int)nc);
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)nc,
                  (int)m, 1.0, s->LA, (int)m, S, (int)m);
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nc, (int)m, 1.0, S, (int)m, 1.0,
                  cov, (int)nc);
    }
    pg_gp_cov_finish(cov, nc, s->scale * s->scale);
  }
  free(S);
  return st;
}

static pg_status sgp_cov(const void *model, const double *Xc, size_t nc, double *mean,
                         double *cov) {
  return pg_sgp_predict_cov(model, Xc, nc, mean, cov);
}

pg_status pg_sgp_sample(const pg_sgp *s, const double *Xc, size_t nc, size_t ns, pg_rng *rng,
                        double *out) {
  if (!s->fitted) return PG_ESTATE;
  return pg_gp_sample_from(sgp_cov, s, Xc, nc, ns, rng, out);
}

const pg_kernel *pg_sgp_kernel(const pg_sgp *s) { return s->k; }
size_t pg_sgp_m(const pg_sgp *s) { return s->Z ? s->m : 0; }
const double *pg_sgp_inducing(const pg_sgp *s) { return s->Z; }
double pg_sgp_noise(const pg_sgp *s) { return exp(s->lognoise); }
size_t pg_sgp_n(const pg_sgp *s) { return s->fitted ? s->n : 0; }
size_t pg_sgp_dim(const pg_sgp *s) { return s->d; }
pg_sgp_opts pg_sgp_options(const pg_sgp *s) { return s->o; }
