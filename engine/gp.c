/*
 * gp.c -- exact GP regression (see gp.h). Rasmussen and Williams 2006,
 * alg. 2.1 and eq. 2.30, 5.9.
 */
#include "gp.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "optim.h"
#include "parallel.h"

struct pg_gp {
  pg_kernel *k;
  pg_gp_opts o;
  double lognoise;
  /* fitted state */
  size_t n, d;
  double *X, *y;   /* copies; y standardised */
  double *U;       /* n x n upper Cholesky factor of K + (noise + jitter) I = U^T U
                     (row-major; the strict lower triangle is not used) */
  double *alpha;   /* (K + noise I)^-1 y */
  double offset, scale, jitter, lml;
  int fitted;
  double *ws; /* 2 n^2 + n + P workspace of pg_gp_lml_grad, kept while training */
  /* ws holds the Cholesky factor and alpha at the P parameters stored at
   * its end (a call without gradient keeps them for a call with gradient at
   * the same parameters, see pg_lbfgs_opts.lazy_grad) */
  int ws_valid;
  double ws_lml, ws_jit;
};

pg_gp_opts pg_gp_defaults(void) {
  pg_gp_opts o = {1e-4, 1, 1, 1e-8, 10.0, 1e-4, 1e4, 6, 200};
  return o;
}

pg_status pg_gp_new(pg_gp **out, pg_kernel *k, const pg_gp_opts *opts) {
  *out = NULL;
  pg_gp_opts o = opts ? *opts : pg_gp_defaults();
  if (!k) return PG_EINVAL;
  if (!(o.noise > 0.0) || !isfinite(o.noise) || !(o.noise_lo > 0.0) || !(o.noise_hi >= o.noise_lo) ||
      !(o.param_lo > 0.0) || !(o.param_hi >= o.param_lo) || !isfinite(o.param_hi) ||
      !isfinite(o.noise_hi) || o.jitter_tries < 0 || o.max_iter < 1) {
    pg_kernel_free(k);
    return PG_EINVAL;
  }
  pg_gp *g = calloc(1, sizeof *g);
  if (!g) {
    pg_kernel_free(k);
    return PG_ENOMEM;
  }
  g->k = k;
  g->o = o;
  g->lognoise = log(o.noise);
  g->lml = NAN;
  *out = g;
  return PG_OK;
}

static void clear_fit(pg_gp *g) {
  free(g->X);
  free(g->y);
  free(g->U);
  free(g->alpha);
  free(g->ws);
  g->X = g->y = g->U = g->alpha = g->ws = NULL;
  g->ws_valid = 0;
  g->n = 0;
  g->fitted = 0;
  g->lml = NAN;
}

void pg_gp_free(pg_gp *g) {
  if (!g) return;
  clear_fit(g);
  pg_kernel_free(g->k);
  free(g);
}

void pg_gp_standardize(const double *y, size_t n, int on, double *offset, double *scale) {
  *offset = 0.0;
  *scale = 1.0;
  if (!on || n == 0) return;
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m += y[i];
  m /= (double)n;
  double v = 0.0;
  for (size_t i = 0; i < n; i++) v += (y[i] - m) * (y[i] - m);
  v /= (double)n;
  *offset = m;
  double s = sqrt(v);
  *scale = s > 1e-300 && s > 1e-12 * fabs(m) ? s : 1.0;
}

/* alpha = K^-1 y from the factor U in A (row-major upper, K = U^T U);
 * returns the LML ([RW] eq. 2.30). */
static double solve_lml(const pg_gp *g, const double *A, double *alpha) {
  size_t n = g->n;
  memcpy(alpha, g->y, n * sizeof *alpha);
  cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, A, (int)n, alpha, 1);
  cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, A, (int)n, alpha, 1);
  double q = 0.0;
  for (size_t i = 0; i < n; i++) q += g->y[i] * alpha[i];
  return -0.5 * q - 0.5 * pg_chol_logdet(A, n) - 0.5 * (double)n * log(2.0 * M_PI);
}

/* K + noise I factored in place as K = U^T U, in the layout that OpenBLAS
 * factors fastest (pg_chol_upper: dpotrf 'L' in column-major order is
 * 15-20 % faster than 'U' at n = 1000 here): the upper triangle of A
 * (row-major) is computed and overwritten by U; nothing else is read or
 * written. On failure the
 * kernel matrix is recomputed with jitter 1e-10 mean|diag| times 10^k, at
 * most jitter_tries times (*jitter: the jitter used). alpha = K^-1 y, *lml. */
static pg_status factor(const pg_gp *g, const pg_kernel *k, double lognoise, double *A,
                              double *alpha, double *jitter, double *lml) {
  size_t n = g->n;
  double nz = exp(lognoise), jit = 0.0;
  int info = 1;
  for (int attempt = 0; attempt <= g->o.jitter_tries && info > 0; attempt++) {
    pg_status st = pg_kernel_matrix_upper(k, g->X, n, g->d, A);
    if (st != PG_OK) return st;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++) mean += fabs(A[i * n + i] += nz);
    if (!isfinite(mean)) return PG_EDOM;
    mean = mean > 0.0 ? mean / (double)n : 1.0;
    if (attempt > 0) {
      jit = attempt == 1 ? 1e-10 * mean : jit * 10.0;
      for (size_t i = 0; i < n; i++) A[i * n + i] += jit;
    }
    info = pg_chol_upper(A, n);
    if (info < 0) return PG_ELAPACK;
  }
  if (info > 0) return PG_ENOTPD;
  *jitter = jit;
  *lml = solve_lml(g, A, alpha);
  return PG_OK;
}

static pg_status refit(pg_gp *g) {
  pg_status st = factor(g, g->k, g->lognoise, g->U, g->alpha, &g->jitter, &g->lml);
  g->fitted = st == PG_OK;
  if (st != PG_OK) g->lml = NAN;
  return st;
}

pg_status pg_gp_fit(pg_gp *g, const double *X, size_t n, size_t d, const double *y) {
  if (n == 0) return PG_EINVAL;
  if (d < pg_kernel_mindim(g->k)) return PG_ESHAPE;
  size_t nd, nn;
  if (pg_size_mul(n, d, &nd) != PG_OK || pg_size_mul(n, n, &nn) != PG_OK) return PG_ERANGE;
  if (!pg_all_finite(X, nd) || !pg_all_finite(y, n)) return PG_EDOM;
  clear_fit(g);
  g->X = malloc(nd * sizeof *g->X);
  g->y = malloc(n * sizeof *g->y);
  g->U = malloc(nn * sizeof *g->U);
  g->alpha = malloc(n * sizeof *g->alpha);
  if (!g->X || !g->y || !g->U || !g->alpha) {
    clear_fit(g);
    return PG_ENOMEM;
  }
  memcpy(g->X, X, nd * sizeof *X);
  g->n = n;
  g->d = d;
  pg_gp_standardize(y, n, g->o.standardize, &g->offset, &g->scale);
  for (size_t i = 0; i < n; i++) g->y[i] = (y[i] - g->offset) / g->scale;
  pg_status st = refit(g);
  if (st != PG_OK) clear_fit(g);
  return st;
}

size_t pg_gp_nparams(const pg_gp *g) { return pg_kernel_nparams(g->k) + 1; }

void pg_gp_get_params(const pg_gp *g, double *theta) {
  size_t p = pg_kernel_nparams(g->k);
  pg_kernel_get_params(g->k, theta);
  theta[p] = g->lognoise;
}

pg_status pg_gp_set_params(pg_gp *g, const double *theta) {
  size_t p = pg_kernel_nparams(g->k);
  if (!isfinite(theta[p]) || fabs(theta[p]) > 700.0) return PG_EDOM;
  double *old = malloc((p + 1) * sizeof *old);
  if (!old) return PG_ENOMEM;
  pg_gp_get_params(g, old);
  pg_status st = pg_kernel_set_params(g->k, theta);
  if (st == PG_OK) {
    g->lognoise = theta[p];
    if (g->n > 0) {
      st = refit(g);
      if (st != PG_OK) { /* keep the model usable with the old values */
        pg_kernel_set_params(g->k, old);
        g->lognoise = old[p];
        refit(g);
      }
    }
  }
  free(old);
  return st;
}

/* The training workspace g->ws, allocated on first use and kept until
 * pg_gp_train ends: A (n x n: the factor, then K^-1), W (n x n), alpha (n),
 * the parameters A and alpha belong to (wtheta, P, meaningful while
 * g->ws_valid), then J and T (P x n each, for the average information). */
static pg_status ws_parts(pg_gp *g, double **A, double **W, double **alpha, double **wtheta,
                          double **J, double **T) {
  size_t n = g->n, P = pg_gp_nparams(g);
  if (!g->ws) {
    g->ws = malloc((2 * n * n + n + P + 2 * P * n) * sizeof *g->ws);
    g->ws_valid = 0;
    if (!g->ws) return PG_ENOMEM;
  }
  *A = g->ws;
  *W = *A + n * n;
  *alpha = *W + n * n;
  *wtheta = *alpha + n;
  *J = *wtheta + P;
  *T = *J + P * n;
  return PG_OK;
}

/* The average-information matrix (Gilmour, Thompson and Cullis, Biometrics
 * 1995; Johnson and Thompson, J. Dairy Sci. 1995) of -LML at the
 * parameters of k and the noise exp(lognoise):
 *   AI_ij = 1/2 alpha^T dK_i K^-1 dK_j alpha = 1/2 J_i^T K^-1 J_j,
 * J_i = dK/dtheta_i alpha, the mean of the observed and expected
 * information with the second-derivative terms (zero in expectation)
 * dropped: positive semi-definite and, near the optimum, close to the
 * Hessian. Kinv: K^-1 (upper triangle, row-major); J, T: P x n scratch. */
static pg_status avg_info(const pg_gp *g, const pg_kernel *k, double lognoise, const double *Kinv,
                          const double *alpha, double *J, double *T, double *ai) {
  size_t n = g->n, p = pg_kernel_nparams(k), P = p + 1;
  pg_status st = pg_kernel_grad_matvec(k, g->X, n, g->d, alpha, J);
  if (st != PG_OK) return st;
  double nz = exp(lognoise);
  for (size_t i = 0; i < n; i++) J[p * n + i] = nz * alpha[i];
  /* T = K^-1 J^T: the row-major upper triangle is the column-major lower */
  cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, (int)n, (int)P, 1.0, Kinv, (int)n, J, (int)n,
              0.0, T, (int)n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P, (int)P, (int)n, 0.5, J, (int)n, T,
              (int)n, 0.0, ai, (int)P);
  return PG_OK;
}

pg_status pg_gp_lml_grad_ai(pg_gp *g, const double *theta, double *lml, double *grad,
                            double *ai) {
  if (g->n == 0) return PG_ESTATE;
  size_t n = g->n, p = pg_kernel_nparams(g->k);
  pg_kernel *k = pg_kernel_clone(g->k);
  if (!k) return PG_ENOMEM;
  pg_status st = pg_kernel_set_params(k, theta);
  if (st == PG_OK && (!isfinite(theta[p]) || fabs(theta[p]) > 700.0)) st = PG_EDOM;
  double *A = NULL, *W = NULL, *alpha = NULL, *wtheta = NULL, *J = NULL, *T = NULL;
  if (st == PG_OK) st = ws_parts(g, &A, &W, &alpha, &wtheta, &J, &T);
  double jit;
  if (st == PG_OK) {
    if (g->ws_valid && memcmp(wtheta, theta, (p + 1) * sizeof *theta) == 0) {
      *lml = g->ws_lml; /* factored by the previous call at the same theta */
      jit = g->ws_jit;
    } else {
      g->ws_valid = 0;
      st = factor(g, k, theta[p], A, alpha, &jit, lml);
      if (st == PG_OK && !grad) {
        memcpy(wtheta, theta, (p + 1) * sizeof *theta);
        g->ws_lml = *lml;
        g->ws_jit = jit;
        g->ws_valid = 1;
      }
    }
  }
  if (st == PG_OK && grad) {
    g->ws_valid = 0; /* the factor is overwritten by the inverse */
    /* K^-1 from the factor (upper triangle, row-major): recursive BLAS-3
     * triangular inverse and product, see linalg.h */
    st = pg_chol_inverse(A, n);
    if (st == PG_OK) {
      /* W = dL/dK = (alpha alpha^T - K^-1) / 2 on the upper triangle: the
       * symmetric gradient reads nothing else */
      double tr = 0.0;
      for (size_t i = 0; i < n; i++) {
        double *w = W + i * n;
        const double *a = A + i * n, ai = 0.5 * alpha[i];
        for (size_t j = i; j < n; j++) w[j] = ai * alpha[j] - 0.5 * a[j];
        tr += w[i];
      }
      /* the average information; should it fail (memory for a product
       * kernel's factors), training goes on without the preconditioner */
      if (ai && avg_info(g, k, theta[p], A, alpha, J, T, ai) != PG_OK) ai[0] = NAN;
      /* A (the inverse) is no longer needed: it is the gradient's scratch */
      st = pg_kernel_grad_sym(k, g->X, n, g->d, W, grad, A);
      grad[p] = tr * exp(theta[p]); /* dK/dlog noise = noise I (jitter ignored) */
    }
  }
  pg_kernel_free(k);
  return st;
}

/* LML and gradient at theta on the stored data; the model is unchanged
 * (a clone of the kernel carries theta). */
pg_status pg_gp_lml_grad(pg_gp *g, const double *theta, double *lml, double *grad) {
  return pg_gp_lml_grad_ai(g, theta, lml, grad, NULL);
}

double pg_gp_loglik(const pg_gp *g) { return g->fitted ? g->lml : NAN; }

typedef struct train_ctx {
  pg_gp *g;
  size_t p;
  double *theta; /* full parameter vector (noise may be fixed) */
  double *grad;
  double *ai;    /* (p + 1)^2: average information at the last gradient */
  double *sys;   /* (p + 1)^2 + (p + 1): pg_precond_solve's work */
  int ai_ok;
} train_ctx;

static double train_obj(const double *x, double *grad, void *vctx) {
  train_ctx *c = vctx;
  size_t np = c->g->o.train_noise ? c->p + 1 : c->p;
  memcpy(c->theta, x, np * sizeof *x);
  double lml;
  pg_status st =
      pg_gp_lml_grad_ai(c->g, c->theta, &lml, grad ? c->grad : NULL, grad ? c->ai : NULL);
  if (grad) c->ai_ok = st == PG_OK && pg_all_finite(c->ai, (c->p + 1) * (c->p + 1));
  if (st != PG_OK || !isfinite(lml)) return INFINITY;
  if (grad)
    for (size_t i = 0; i < np; i++) grad[i] = -c->grad[i];
  return -lml;
}

/* L-BFGS's initial inverse Hessian: the inverse of the average information
 * at the last gradient (the current iterate's, or the last trial's when a
 * line search stepped back) on the free coordinates, plus a ridge of 1e-3
 * of its largest diagonal entry (Levenberg). The ridge bounds the steps
 * along flat directions: lengthscales of irrelevant inputs and a vanishing
 * noise, whose information tends to 0; 1e-8 to 3e-3 were tried, 1e-3 took
 * the fewest evaluations over 13 test problems (docs/gp.md). */
static int train_precond(const double *x, double *v, const unsigned char *active, size_t nv,
                         void *vctx) {
  (void)x;
  train_ctx *c = vctx;
  if (!c->ai_ok) return 1;
  return pg_precond_solve(c->ai, c->p + 1, PG_GP_AI_RIDGE, v, active, nv, c->sys);
}

/* The training workspace primed with the fitted factor at the current
 * parameters, where training starts: its first evaluation then costs the
 * inverse only. */
static pg_status ws_from_fit(pg_gp *g) {
  size_t n = g->n;
  double *A, *W, *alpha, *wtheta, *J, *T;
  if (ws_parts(g, &A, &W, &alpha, &wtheta, &J, &T) != PG_OK) return PG_ENOMEM;
  for (size_t i = 0; i < n; i++) memcpy(A + i * n + i, g->U + i * n + i, (n - i) * sizeof *A);
  memcpy(alpha, g->alpha, n * sizeof *alpha);
  pg_gp_get_params(g, wtheta);
  g->ws_lml = g->lml;
  g->ws_jit = g->jitter;
  g->ws_valid = 1;
  return PG_OK;
}

pg_status pg_gp_train(pg_gp *g, pg_rng *rng, int restarts) {
  if (!g->fitted) return PG_ESTATE;
  if (restarts < 1) restarts = 1;
  if (!rng && restarts > 1) return PG_EINVAL;
  size_t p = pg_kernel_nparams(g->k), P = p + 1;
  size_t np = g->o.train_noise ? P : p;
  double *buf = malloc((6 * P + 2 * P * P + P) * sizeof *buf);
  if (!buf) return PG_ENOMEM;
  double *theta = buf, *gr = theta + P, *x = gr + P, *best = x + P, *lo = best + P, *hi = lo + P;
  double *ai = hi + P, *sys = ai + P * P;
  double *start = malloc(P * sizeof *start);
  if (!start) {
    free(buf);
    return PG_ENOMEM;
  }
  pg_gp_get_params(g, start);
  if (ws_from_fit(g) != PG_OK) {
    free(start);
    free(buf);
    return PG_ENOMEM;
  }
  for (size_t i = 0; i < p; i++) {
    lo[i] = log(g->o.param_lo);
    hi[i] = log(g->o.param_hi);
  }
  lo[p] = log(g->o.noise_lo);
  hi[p] = log(g->o.noise_hi);
  memcpy(theta, start, P * sizeof *theta);
  train_ctx c = {g, p, theta, gr, ai, sys, 0};
  double fbest = INFINITY;
  memcpy(best, start, P * sizeof *best);
  pg_lbfgs_opts lo_opts = pg_lbfgs_defaults();
  lo_opts.max_iter = g->o.max_iter;
  lo_opts.max_evals = 3 * g->o.max_iter;
  lo_opts.gtol = 1e-5;
  /* scikit-learn's L-BFGS-B stops at a relative decrease of 2.2e-9 (factr
   * 1e7): below that the LML is rounding noise (of order cond(K) eps n) and
   * the line search only chases it */
  lo_opts.ftol = 2.2e-9;
  lo_opts.lower = lo;
  lo_opts.upper = hi;
  lo_opts.lazy_grad = 1; /* a rejected trial step costs a factorisation only */
  /* the average information as the initial Hessian (one more pass over
   * the kernel's derivatives and an n x n x P product per gradient), and
   * steps of at most 2 in each log-parameter (a factor e^2) */
  lo_opts.precond = train_precond;
  lo_opts.max_step = 2.0;
  pg_status st = PG_OK;
  for (int r = 0; r < restarts; r++) {
    memcpy(x, start, P * sizeof *x);
    if (r > 0)
      for (size_t i = 0; i < np; i++) x[i] += 1.5 * (2.0 * pg_rng_uniform(rng) - 1.0);
    c.ai_ok = 0;
    memcpy(theta, start, P * sizeof *theta); /* fixed noise stays at start */
    double fv;
    pg_status s = pg_lbfgs(train_obj, &c, x, np, &lo_opts, &fv, NULL);
    if (s == PG_ENOMEM) {
      st = s;
      break;
    }
    if (s == PG_OK && isfinite(fv) && fv < fbest) {
      fbest = fv;
      memcpy(best, start, P * sizeof *best);
      memcpy(best, x, np * sizeof *best);
    }
  }
  free(g->ws); /* the training workspace is 2 n^2 doubles: release it */
  g->ws = NULL;
  g->ws_valid = 0;
  if (st == PG_OK) st = pg_gp_set_params(g, best);
  if (st == PG_OK && !isfinite(fbest)) st = PG_ENOCONV;
  free(start);
  free(buf);
  return st;
}

/* Block of candidates per pass so that a block of K(Xc, X) stays ~32 MB. */
/* Candidates per block of a parallel prediction (a fixed size: see parallel.h). */
#define PG_PREDICT_BLOCK 512

static size_t block_rows(size_t n, size_t nc) {
  size_t b = ((size_t)1 << 22) / (n ? n : 1);
  if (b < 16) b = 16;
  return b < nc ? b : nc;
}

pg_status pg_gp_predict(const pg_gp *g, const double *Xc, size_t nc, double *mean,
                        double *var) {
  if (!g->fitted) return PG_ESTATE;
  if (nc == 0) return PG_OK;
  size_t n = g->n, d = g->d, tmp;
  if (pg_size_mul(nc, d, &tmp) != PG_OK) return PG_ERANGE;
  if (!pg_all_finite(Xc, tmp)) return PG_EDOM;
  /* Blocks of at most PG_PREDICT_BLOCK candidates, one thread each (block
   * boundaries depend on n and nc only: identical results for any thread
   * count; see parallel.h). */
  size_t B = block_rows(n, nc);
  if (B > PG_PREDICT_BLOCK) B = PG_PREDICT_BLOCK;
  size_t nblk = (nc + B - 1) / B;
  int nt = pg_par_threads(nblk);
  int saved = pg_par_enter(nt);
  pg_status st = PG_OK;
  double s2 = g->scale * g->scale;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    double *Ks = malloc(B * n * sizeof *Ks);
    double *kd = malloc(B * sizeof *kd);
    pg_status mine = (Ks && kd) ? PG_OK : PG_ENOMEM;
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
      if (mine != PG_OK) continue;
      size_t i0 = b * B;
      size_t nb = nc - i0 < B ? nc - i0 : B;
      const double *Xb = Xc + i0 * d;
      mine = pg_kernel_matrix(g->k, Xb, nb, g->X, n, d, Ks);
      if (mine != PG_OK) continue;
      if (mean) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, (int)n, 1.0, Ks, (int)n, g->alpha, 1,
                    0.0, mean + i0, 1);
        for (size_t i = 0; i < nb; i++) mean[i0 + i] = mean[i0 + i] * g->scale + g->offset;
      }
      if (var) {
        pg_kernel_diag(g->k, Xb, nb, d, kd);
        /* V = Ks U^-1: row i of V is U^-T k_i, |v_i|^2 = k_i^T K^-1 k_i */
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)nb,
                    (int)n, 1.0, g->U, (int)n, Ks, (int)n);
        for (size_t i = 0; i < nb; i++) {
          const double *v = Ks + i * n;
          double q = 0.0;
          for (size_t j = 0; j < n; j++) q += v[j] * v[j];
          double s = kd[i] - q;
          var[i0 + i] = (s > 0.0 ? s : 0.0) * s2;
        }
      }
    }
    free(Ks);
    free(kd);
    if (mine != PG_OK) {
#pragma omp critical(pg_gp_predict_status)
      if (st == PG_OK) st = mine;
    }
  }
  pg_par_leave(saved);
  return st;
}

pg_status pg_gp_predict_cov(const pg_gp *g, const double *Xc, size_t nc, double *mean,
                            double *cov) {
  if (!g->fitted) return PG_ESTATE;
  if (nc == 0) return PG_OK;
  size_t n = g->n, d = g->d, tmp;
  if (pg_size_mul(nc, d, &tmp) != PG_OK || pg_size_mul(nc, n > nc ? n : nc, &tmp) != PG_OK)
    return PG_ERANGE;
  if (!pg_all_finite(Xc, nc * d)) return PG_EDOM;
  double *Ks = malloc(nc * n * sizeof *Ks);
  if (!Ks) return PG_ENOMEM;
  pg_status st = pg_kernel_matrix(g->k, Xc, nc, g->X, n, d, Ks);
  if (st == PG_OK) st = pg_kernel_matrix(g->k, Xc, nc, Xc, nc, d, cov);
  if (st == PG_OK) {
    if (mean) {
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nc, (int)n, 1.0, Ks, (int)n, g->alpha, 1,
                  0.0, mean, 1);
      for (size_t i = 0; i < nc; i++) mean[i] = mean[i] * g->scale + g->offset;
    }
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)nc,
                (int)n, 1.0, g->U, (int)n, Ks, (int)n);
    /* cov = K** - V V^T (lower triangle by dsyrk, then mirrored and scaled) */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nc, (int)n, -1.0, Ks, (int)n,
                1.0, cov, (int)nc);
    pg_gp_cov_finish(cov, nc, g->scale * g->scale);
  }
  free(Ks);
  return st;
}

void pg_gp_cov_finish(double *cov, size_t nc, double s2) {
  for (size_t i = 0; i < nc; i++) {
    for (size_t j = 0; j < i; j++) {
      double v = cov[i * nc + j] * s2;
      cov[i * nc + j] = v;
      cov[j * nc + i] = v;
    }
    double v = cov[i * nc + i] * s2;
    cov[i * nc + i] = v > 0.0 ? v : 0.0;
  }
}

pg_status pg_gp_sample_from(pg_gp_cov_fn predict_cov, const void *model, const double *Xc,
                            size_t nc, size_t ns, pg_rng *rng, double *out) {
  size_t tmp;
  if (pg_size_mul(nc, nc, &tmp) != PG_OK || pg_size_mul(ns, nc, &tmp) != PG_OK) return PG_ERANGE;
  if (nc == 0 || ns == 0) return PG_OK;
  double *buf = malloc((2 * nc * nc + nc) * sizeof *buf);
  if (!buf) return PG_ENOMEM;
  double *C = buf, *work = C + nc * nc, *mu = work + nc * nc;
  pg_status st = predict_cov(model, Xc, nc, mu, C);
  if (st == PG_OK) {
    double jit = 0.0;
    st = pg_cholesky(C, nc, &jit, 10, work);
  }
  if (st == PG_OK) pg_gp_draw(C, mu, nc, ns, rng, out);
  free(buf);
  return st;
}

static pg_status gp_cov(const void *model, const double *Xc, size_t nc, double *mean,
                        double *cov) {
  return pg_gp_predict_cov(model, Xc, nc, mean, cov);
}

pg_status pg_gp_sample(const pg_gp *g, const double *Xc, size_t nc, size_t ns, pg_rng *rng,
                       double *out) {
  if (!g->fitted) return PG_ESTATE;
  return pg_gp_sample_from(gp_cov, g, Xc, nc, ns, rng, out);
}

void pg_gp_draw(const double *Lc, const double *mu, size_t nc, size_t ns, pg_rng *rng,
                double *out) {
  for (size_t i = 0; i < ns * nc; i++) out[i] = pg_rng_normal(rng);
  /* row s of out = z_s^T Lc^T, i.e. Lc z_s */
  cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)ns, (int)nc,
              1.0, Lc, (int)nc, out, (int)nc);
  for (size_t s = 0; s < ns; s++)
    for (size_t i = 0; i < nc; i++) out[s * nc + i] += mu[i];
}

const pg_kernel *pg_gp_kernel(const pg_gp *g) { return g->k; }
double pg_gp_noise(const pg_gp *g) { return exp(g->lognoise); }
double pg_gp_jitter(const pg_gp *g) { return g->jitter; }
size_t pg_gp_n(const pg_gp *g) { return g->fitted ? g->n : 0; }
size_t pg_gp_dim(const pg_gp *g) { return g->d; }
void pg_gp_scaling(const pg_gp *g, double *offset, double *scale) {
  *offset = g->offset;
  *scale = g->scale;
}
