/*
 * gp.h -- exact Gaussian-process regression.
 *
 * Rasmussen and Williams, "Gaussian Processes for Machine Learning", MIT
 * Press 2006: predictions by alg. 2.1 (Cholesky of K + noise I), the log
 * marginal likelihood eq. 2.30 and its gradient eq. 5.9,
 *   dLML/dtheta = 1/2 tr((alpha alpha^T - K^-1) dK/dtheta), alpha = K^-1 y.
 *
 * Model: y = f(x) + e, f ~ GP(0, k), e ~ N(0, noise). With `standardize`
 * the targets are centred and scaled by their standard deviation before the
 * fit (a constant y uses scale 1); noise, the log marginal likelihood and
 * the kernel variance live on that standardised scale, predictions are
 * returned on the original scale.
 *
 * Cost: fit O(n^3 / 3) (one dpotrf) plus the kernel matrix; mean O(n) and
 * variance O(n^2) per candidate (one triangular solve, in blocks); an LML
 * gradient O(n^3) (K^-1 from the factor) plus O(n^2 p).
 *
 * Typical use (BO loop, warm start):
 *   pg_kernel *k; pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, d);
 *   pg_gp_opts o = pg_gp_defaults();
 *   pg_gp *g; pg_gp_new(&g, k, &o);            // g owns k
 *   pg_gp_fit(g, X, n, d, y);                   // factorise, current params
 *   pg_gp_train(g, &rng, 3);                    // L-BFGS from current + 2 random starts
 *   pg_gp_predict(g, Xc, nc, mean, var);
 *   pg_gp_sample(g, Xq, q, S, &rng, F);         // S joint draws of f at q points
 *   ... next iteration: pg_gp_fit(g, X2, n2, d, y2); pg_gp_train(g, &rng, 1);
 */
#ifndef PG_GP_H
#define PG_GP_H

#include <stddef.h>

#include "kernel.h"
#include "rng.h"
#include "status.h"

typedef struct pg_gp_opts {
  double noise;       /* initial noise variance (default 1e-4) */
  int standardize;    /* centre and scale y (default 1) */
  int train_noise;    /* noise is trained with the kernel (default 1) */
  double noise_lo;    /* bounds of the noise variance in training (1e-8, 10) */
  double noise_hi;
  double param_lo;    /* bounds of every kernel parameter (lengthscales, */
  double param_hi;    /* variances) in training: 1e-4 .. 1e4 */
  int jitter_tries;   /* Cholesky retries with growing jitter (default 6) */
  int max_iter;       /* L-BFGS iterations per start (default 200) */
} pg_gp_opts;

/* The defaults listed above. */
pg_gp_opts pg_gp_defaults(void);

typedef struct pg_gp pg_gp;

/* New unfitted model owning kernel k (freed with the model, also when this
 * call fails). opts NULL: defaults. PG_EINVAL on bad options. */
pg_status pg_gp_new(pg_gp **out, pg_kernel *k, const pg_gp_opts *opts);
void pg_gp_free(pg_gp *g);

/* Copy X (n x d) and y (n) and factorise with the current hyperparameters.
 * PG_EDOM for NaN/Inf, PG_ESHAPE when d is too small for the kernel,
 * PG_ENOTPD when K + noise I stays indefinite after jitter escalation (the
 * model is then unfitted). */
pg_status pg_gp_fit(pg_gp *g, const double *X, size_t n, size_t d, const double *y);

/* Hyperparameters: the kernel's log-parameters followed by log noise. */
size_t pg_gp_nparams(const pg_gp *g);
void pg_gp_get_params(const pg_gp *g, double *theta);
/* Sets them and, when fitted, refactorises (status as pg_gp_fit). */
pg_status pg_gp_set_params(pg_gp *g, const double *theta);

/* LML at theta and its gradient grad[nparams] (may be NULL) without
 * changing the model (needs data: PG_ESTATE before fit). */
pg_status pg_gp_lml_grad(pg_gp *g, const double *theta, double *lml, double *grad);

/* pg_gp_lml_grad and, when grad and ai are given, the average-information
 * matrix ai[nparams x nparams] of -LML at theta (docs/gp.md):
 * ai_ij = 1/2 alpha^T dK_i K^-1 dK_j alpha, a positive semi-definite
 * approximation of the Hessian of -LML (pg_gp_train's preconditioner; an
 * initial Hessian for other L-BFGS objectives built on the LML, see
 * pg_precond_solve). Should it fail (memory), ai[0] is NAN and the LML and
 * gradient are still returned. */
pg_status pg_gp_lml_grad_ai(pg_gp *g, const double *theta, double *lml, double *grad,
                            double *ai);

/* The Levenberg ridge, relative to the largest diagonal entry, that
 * pg_gp_train adds to the average information (docs/gp.md). */
#define PG_GP_AI_RIDGE 1e-3

/* Log marginal likelihood of the fitted model (NAN when unfitted). */
double pg_gp_loglik(const pg_gp *g);

/* Maximise the LML by L-BFGS from the current hyperparameters and from
 * restarts - 1 random perturbations drawn from rng, keep the best, refit.
 * L-BFGS's initial Hessian is the average-information matrix at the last
 * gradient (docs/gp.md), which about halves the evaluations; each gradient
 * then costs one more pass over the kernel's derivatives. */
pg_status pg_gp_train(pg_gp *g, pg_rng *rng, int restarts);

/* Predictive mean[nc] and latent variance var[nc] (either may be NULL) at
 * Xc (nc x d), processed in blocks. Add pg_gp_noise() * scale^2 for the
 * variance of a new observation. */
pg_status pg_gp_predict(const pg_gp *g, const double *Xc, size_t nc, double *mean, double *var);

/* Mean[nc] and full latent covariance cov[nc x nc]. */
pg_status pg_gp_predict_cov(const pg_gp *g, const double *Xc, size_t nc, double *mean,
                            double *cov);

/* ns joint draws of the latent f at the nc points Xc: out[s * nc + i].
 * PG_ENOTPD if the posterior covariance stays indefinite after jitter. */
pg_status pg_gp_sample(const pg_gp *g, const double *Xc, size_t nc, size_t ns, pg_rng *rng,
                       double *out);

const pg_kernel *pg_gp_kernel(const pg_gp *g);
double pg_gp_noise(const pg_gp *g);   /* noise variance (standardised scale) */
double pg_gp_jitter(const pg_gp *g);  /* jitter added by the last fit */
size_t pg_gp_n(const pg_gp *g);       /* training points (0 when unfitted) */
size_t pg_gp_dim(const pg_gp *g);
/* Standardisation: y_std = (y - offset) / scale. */
void pg_gp_scaling(const pg_gp *g, double *offset, double *scale);

/* Helpers shared with sgp.c: mean/scale of y (scale 1 when constant or
 * standardisation is off). */
void pg_gp_standardize(const double *y, size_t n, int on, double *offset, double *scale);

/* Finish a predictive covariance whose lower triangle holds the unscaled
 * values: mirror it, multiply by s2 (the output scale squared) and clamp the
 * diagonal at 0. Shared by the exact and the sparse GP. */
void pg_gp_cov_finish(double *cov, size_t nc, double s2);

/* ns joint draws at Xc from a model's predictive N(mu, C), given the model's
 * predict_cov function: C is factored with jitter escalation and the draws
 * go through pg_gp_draw. Shared by pg_gp_sample and pg_sgp_sample. */
typedef pg_status (*pg_gp_cov_fn)(const void *model, const double *Xc, size_t nc, double *mean,
                                  double *cov);
pg_status pg_gp_sample_from(pg_gp_cov_fn predict_cov, const void *model, const double *Xc,
                            size_t nc, size_t ns, pg_rng *rng, double *out);

/* out[s * nc + i] = mu_i + (Lc z_s)_i for ns standard normal vectors z_s
 * drawn from rng in order (Lc lower triangular nc x nc). */
void pg_gp_draw(const double *Lc, const double *mu, size_t nc, size_t ns, pg_rng *rng,
                double *out);

#endif
