/*
 * sgp.h -- sparse (inducing-point) Gaussian-process regression.
 *
 * With m inducing inputs Z, Kuu = k(Z, Z), Kuf = k(Z, X), Qff = Kfu Kuu^-1 Kuf:
 *   VFE  (Titsias, "Variational learning of inducing variables in sparse
 *        Gaussian processes", AISTATS 2009): maximise the collapsed bound
 *        F = log N(y | 0, Qff + s2n I) - tr(Kff - Qff) / (2 s2n)  <=  exact LML;
 *   FITC (Snelson and Ghahramani, "Sparse Gaussian processes using
 *        pseudo-inputs", NIPS 2006): log N(y | 0, Qff + diag(Kff - Qff) + s2n I).
 * Both are computed through V = Luu^-1 Kuf and A = I + V Lambda^-1 V^T
 * (Lambda = s2n I or the FITC diagonal) in O(n m^2) time and O(n m) memory;
 * no n x n matrix is ever formed. Gradients with respect to the kernel's
 * log-parameters and the log noise are analytic (see docs/gp.md for the
 * derivation) and cost a few more O(n m^2) BLAS-3 passes.
 * Prediction: mean = k*u^T Luu^-T A^-1 V Lambda^-1 y and variance
 * k** - k*u^T (Kuu^-1 - (Kuu + Kuf Lambda^-1 Kfu)^-1) ku*, both O(m^2) per
 * candidate, in blocks (10^6 candidates need O(block x m) memory).
 *
 * Inducing selection: a random subset of the inputs, k-means++ seeding
 * (Arthur and Vassilvitskii, SODA 2007) on the inputs, or greedy variance
 * reduction = pivoted Cholesky of Kff (Harbrecht, Peters and Schneider,
 * Appl. Numer. Math. 2012; Burt, Rasmussen and van der Wilk, JMLR 2020).
 *
 * Typical use (Coflex: one model per objective, refit every iteration):
 *   pg_sgp_opts o = pg_sgp_defaults(); o.m = 64;
 *   pg_sgp *s; pg_sgp_new(&s, kernel, &o);        // s owns kernel
 *   pg_sgp_fit(s, X, n, d, y, &rng);              // select Z, factorise
 *   pg_sgp_train(s, &rng, 3);                     // hyperparameters, Z fixed
 *   pg_sgp_predict(s, Xc, 1000000, mean, var);
 *   next iteration: pg_sgp_fit(s, X2, ...); pg_sgp_train(s, &rng, 1) starts
 *   from the previous hyperparameters (warm start).
 */
#ifndef PG_SGP_H
#define PG_SGP_H

#include <stddef.h>

#include "kernel.h"
#include "rng.h"
#include "status.h"

typedef enum pg_sgp_method { PG_SGP_VFE = 0, PG_SGP_FITC } pg_sgp_method;
typedef enum pg_sgp_select {
  PG_SGP_SELECT_KMEANSPP = 0,
  PG_SGP_SELECT_GREEDY,
  PG_SGP_SELECT_RANDOM
} pg_sgp_select;

typedef struct pg_sgp_opts {
  size_t m;              /* inducing points (default 64; capped at n) */
  pg_sgp_method method;  /* default VFE */
  pg_sgp_select select;  /* default k-means++ */
  double noise;          /* initial noise variance (1e-2) */
  int standardize;       /* centre and scale y (1) */
  int train_noise;       /* noise trained with the kernel (1) */
  double noise_lo, noise_hi; /* noise bounds in training (1e-6, 10) */
  double param_lo, param_hi; /* kernel parameter bounds (1e-4, 1e4) */
  double jitter;         /* Kuu += jitter * mean(diag Kuu) I (1e-6; x10 while indefinite) */
  int max_iter;          /* L-BFGS iterations per start (100) */
  int reselect;          /* re-select Z on every fit (1); 0 keeps Z once chosen */
  size_t train_max;      /* training uses a random subset of this many points when
                            n is larger (10000; 0 = all points), then refits on all */
  int inducing_iters;    /* > 0: after selecting Z, fit moves it by at most this many
                            L-BFGS iterations on the objective, hyperparameters fixed
                            (pg_sgp_optimize_inducing; default 0 = off) */
  size_t inducing_max;   /* that objective on a random subset of this many points
                            when n is larger (2000; 0 = all points) */
} pg_sgp_opts;

pg_sgp_opts pg_sgp_defaults(void);

const char *pg_sgp_method_name(pg_sgp_method m);
pg_status pg_sgp_method_parse(const char *s, pg_sgp_method *m);
const char *pg_sgp_select_name(pg_sgp_select s);
pg_status pg_sgp_select_parse(const char *s, pg_sgp_select *m);

/* Choose m of the n rows of X (n x d) as inducing inputs: writes their
 * indices idx[m] and returns the count chosen in *mout (greedy stops early
 * when the residual variance vanishes, e.g. fewer distinct points than m).
 * rng is needed by random and k-means++ (PG_EINVAL when NULL). */
pg_status pg_sgp_choose_inducing(const pg_kernel *k, const double *X, size_t n, size_t d,
                                 size_t m, pg_sgp_select how, pg_rng *rng, size_t *idx,
                                 size_t *mout);

typedef struct pg_sgp pg_sgp;

/* New model owning kernel k (freed with the model, also on failure). */
pg_status pg_sgp_new(pg_sgp **out, pg_kernel *k, const pg_sgp_opts *opts);
void pg_sgp_free(pg_sgp *s);

/* Use Z (m x d) as inducing inputs from now on (copied; fit keeps them
 * even with reselect). */
pg_status pg_sgp_set_inducing(pg_sgp *s, const double *Z, size_t m, size_t d);

/* Copy X, y, select the inducing inputs (unless fixed), factorise with the
 * current hyperparameters. O(n m^2). Statuses as pg_gp_fit. */
pg_status pg_sgp_fit(pg_sgp *s, const double *X, size_t n, size_t d, const double *y,
                     pg_rng *rng);

/* Hyperparameters: kernel log-parameters then log noise. */
size_t pg_sgp_nparams(const pg_sgp *s);
void pg_sgp_get_params(const pg_sgp *s, double *theta);
pg_status pg_sgp_set_params(pg_sgp *s, const double *theta);

/* Objective (VFE bound or FITC log likelihood) at theta and its gradient
 * (grad may be NULL); the model is unchanged. */
pg_status pg_sgp_bound_grad(pg_sgp *s, const double *theta, double *bound, double *grad);

/* Objective at the model's hyperparameters with inducing inputs Z (m x d,
 * m = pg_sgp_m) and its gradient gZ (m x d, may be NULL) with respect to Z;
 * the model is unchanged. Categorical (Hamming) coordinates get 0. */
pg_status pg_sgp_bound_grad_z(pg_sgp *s, const double *Z, double *bound, double *gZ);

/* L-BFGS on the inducing inputs (hyperparameters fixed), at most iters
 * iterations, analytic gradient (pg_sgp_bound_grad_z), in lengthscale units
 * (column c of Z divided by pg_kernel_input_scales); the objective is
 * evaluated on a random subset of nsub points drawn from rng when
 * 0 < nsub < n (rng may be NULL otherwise). Z is kept and the model refitted
 * on all points only if the objective rose. O(iters nsub m (m + d)). */
pg_status pg_sgp_optimize_inducing(pg_sgp *s, int iters, size_t nsub, pg_rng *rng);

/* Objective of the fitted model (NAN when unfitted). */
double pg_sgp_loglik(const pg_sgp *s);

/* L-BFGS on the objective from the current hyperparameters plus
 * restarts - 1 random perturbations; inducing inputs fixed; refits on all
 * data. When n > opts.train_max the objective is evaluated on a random
 * subset of train_max points drawn from rng (O(train_max m^2) per step). */
pg_status pg_sgp_train(pg_sgp *s, pg_rng *rng, int restarts);

/* Mean and latent variance (either may be NULL) for nc candidates. */
pg_status pg_sgp_predict(const pg_sgp *s, const double *Xc, size_t nc, double *mean,
                         double *var);
/* Mean and full latent covariance (nc x nc). */
pg_status pg_sgp_predict_cov(const pg_sgp *s, const double *Xc, size_t nc, double *mean,
                             double *cov);
/* ns joint draws of f at nc points: out[s * nc + i]. */
pg_status pg_sgp_sample(const pg_sgp *s, const double *Xc, size_t nc, size_t ns, pg_rng *rng,
                        double *out);

const pg_kernel *pg_sgp_kernel(const pg_sgp *s);
size_t pg_sgp_m(const pg_sgp *s);            /* inducing points in use */
const double *pg_sgp_inducing(const pg_sgp *s); /* m x d, or NULL */
double pg_sgp_noise(const pg_sgp *s);
size_t pg_sgp_n(const pg_sgp *s);
size_t pg_sgp_dim(const pg_sgp *s);
pg_sgp_opts pg_sgp_options(const pg_sgp *s);

#endif
