/*
 * bo.h -- Monte-Carlo machinery for batch Bayesian optimisation: joint
 * posterior samples of candidates conditioned on a growing set of points
 * (baseline and pending points), hypervolume improvement and noisy
 * improvement of those samples, quasi-Monte-Carlo normal base samples.
 *
 * Sources: Balandat et al., "BoTorch: a framework for efficient Monte-Carlo
 * Bayesian optimization", NeurIPS 2020 (sample average approximation with
 * fixed quasi-Monte-Carlo base samples, sequential greedy batches);
 * Daulton, Balandat and Bakshy, "Differentiable expected hypervolume
 * improvement for parallel multi-objective Bayesian optimization", NeurIPS
 * 2020 (qEHVI) and "Parallel Bayesian optimization of multiple noisy
 * objectives with expected hypervolume improvement", NeurIPS 2021 (qNEHVI).
 *
 * Joint samples by a growing Cholesky factor. Let Q = (q_1..q_k) be the
 * conditioning points with posterior covariance Sigma_Q = Lq Lq^T and
 * samples f_Q[s] = mu_Q + Lq z_Q[s] (z_Q the fixed base samples). For a
 * candidate x with cross-covariance c = cov(x, Q) and variance v, the joint
 * factor of (Q, x) has last row (a^T, t), a = Lq^-1 c, t^2 = v - |a|^2, so
 *   f_x[s] = mu_x + a . z_Q[s] + t z_x[s]
 * is a joint draw consistent with the samples already drawn for Q. Adding x
 * to Q appends that row (no refactorisation). cov(x, q) needs only
 * k(x, q) - k(X, x)^T W_q with W_q = K^-1 k(X, q) stored per point of Q, so
 * a candidate costs O(n (d + k) + k^2 + S k) once its mean and variance are
 * known (those cost O(n^2), computed in blocks and cached by the caller).
 */
#ifndef PG_BO_H
#define PG_BO_H

#include <stddef.h>

#include "kernel.h"
#include "rng.h"
#include "status.h"

typedef struct pg_bo_post pg_bo_post;

/* Posterior of an exact GP y = f(x) + e with kernel k (taken over: freed
 * with the object, also on failure), noise variance `noise` (on the
 * standardised scale when `standardize`, like pg_gp), training X (n x d)
 * and y (n). S samples per point, at most qmax conditioning points.
 * PG_EINVAL (n = 0, S = 0, noise <= 0), PG_EDOM, PG_ENOTPD, PG_ENOMEM. */
pg_status pg_bo_post_new(pg_bo_post **out, pg_kernel *k, const double *X, size_t n, size_t d,
                         const double *y, double noise, int standardize, size_t S,
                         size_t qmax);
void pg_bo_post_free(pg_bo_post *p);

/* Priors on the hyperparameters of a base-kernel GP, one per group
 * (lengthscales, output variance, noise variance on the standardised
 * scale). Densities are of the natural parameter v = e^theta, as in GPyTorch
 * (no Jacobian of the log transform):
 *   PG_BO_GAMMA(a = shape, b = rate):     log p(v) = (a - 1) log v - b v
 *   PG_BO_LOGNORMAL(a = loc, b = scale):  log p(v) = -log v - (log v - a)^2 / (2 b^2)
 * (up to constants). pg_bo_prior_gamma(): BoTorch's SingleTaskGP defaults up
 * to version 0.11 (the version of the qEHVI / qNEHVI papers): lengthscales
 * Gamma(3, 6), output variance Gamma(2, 0.15), noise Gamma(1.1, 0.05).
 * pg_bo_prior_dimscaled(d): BoTorch >= 0.12 (Hvarfner, Hellsten and Nardi,
 * "Vanilla Bayesian optimization performs great in high dimensions", ICML
 * 2024): lengthscales LogNormal(sqrt 2 + log(d) / 2, sqrt 3), noise
 * LogNormal(-4, 1), no prior on the variance (BoTorch fixes it to 1). */
typedef enum pg_bo_prior_kind { PG_BO_NOPRIOR = 0, PG_BO_GAMMA, PG_BO_LOGNORMAL } pg_bo_prior_kind;
typedef struct pg_bo_hprior {
  pg_bo_prior_kind kind;
  double a, b;
} pg_bo_hprior;
typedef struct pg_bo_prior {
  pg_bo_hprior ls, var, noise;
} pg_bo_prior;
pg_bo_prior pg_bo_prior_gamma(void);
pg_bo_prior pg_bo_prior_dimscaled(size_t d);

/* Maximum a posteriori hyperparameters of an exact GP (gp.h) with base
 * kernel `kind` (ARD over all d columns) on X (n x d), y (n), standardised
 * outputs: L-BFGS on -(LML + log prior) over theta = (log l_1..log l_d,
 * log s2, log noise) from theta (in/out, d + 2 values; the warm start)
 * and from restarts - 1 random perturbations of it (rng; NULL allowed when
 * restarts <= 1), at most max_iter iterations each; the best is kept.
 * prior NULL: maximum likelihood. Bounds: kernel parameters 1e-4..1e4,
 * noise noise_lo..10. *logpost (may be NULL): LML + log prior at the
 * result. PG_EINVAL, PG_EDOM, PG_ENOTPD, PG_ENOMEM, PG_ENOCONV. */
pg_status pg_bo_train(pg_kernel_kind kind, const double *X, size_t n, size_t d, const double *y,
                      const pg_bo_prior *prior, double noise_lo, int max_iter, int restarts,
                      pg_rng *rng, double *theta, double *logpost);

/* Latent predictive mean[nc] and variance var[nc] (original scale). */
pg_status pg_bo_post_predict(const pg_bo_post *p, const double *Xc, size_t nc, double *mean,
                             double *var);

/* Append point x (d) to the conditioning set with base samples z[S]
 * (z[s] is the standard normal of sample s). PG_ERANGE when full. */
pg_status pg_bo_post_add(pg_bo_post *p, const double *x, const double *z);

/* Number of conditioning points and of samples; the samples of the
 * conditioning points copied to out[s * nq + i] (S x nq). */
size_t pg_bo_post_nq(const pg_bo_post *p);
size_t pg_bo_post_nsamples(const pg_bo_post *p);
void pg_bo_post_qsamples(const pg_bo_post *p, double *out);

/* Joint samples F[c * S + s] of nc candidates Xc given their mean and
 * variance (from pg_bo_post_predict) and the candidate base samples z[S]
 * (the same for every candidate: common random numbers). */
pg_status pg_bo_post_samples(const pg_bo_post *p, const double *Xc, size_t nc,
                             const double *mean, const double *var, const double *z,
                             double *F);

/* Mean over samples of the hypervolume improvement of candidate samples:
 * F[j] (j < m) is the nc x S matrix of objective j, sets[s] the k[s] x m
 * point set of sample s (e.g. the observed front plus the pending samples),
 * ref[m]. out[c] = (1/S) sum_s HVI(y_cs | sets[s]). For m = 2 each set is
 * reduced once to its staircase (the strip box decomposition of the
 * non-dominated region), then O(k) per candidate and sample; for m >= 3
 * one exact hypervolume improvement (pg_hv_improvement) per pair. */
pg_status pg_bo_hvi(const double *const *F, size_t nc, size_t S, size_t m,
                    const double *const *sets, const size_t *k, const double *ref, double *out);

/* Noisy expected improvement increment for minimisation:
 * out[c] = (1/S) sum_s max(t[s] - F[c * S + s], 0). */
pg_status pg_bo_nei(const double *F, size_t nc, size_t S, const double *t, double *out);

/* Noisy expected improvement of an augmented Chebyshev scalarisation of m
 * sampled objectives (BoTorch's qNParEGO objective, minimised): with
 * g_cs = max_j w_j F[j][c * S + s] + rho sum_j w_j F[j][c * S + s],
 * out[c] = (1/S) sum_s max(t[s] - g_cs, 0). */
pg_status pg_bo_nei_cheb(const double *const *F, size_t nc, size_t S, size_t m, const double *w,
                         double rho, const double *t, double *out);

/* ---- candidate stores and fused acquisition scoring ----
 * A candidate store holds, for candidates added once per iteration, their
 * unit rows, per output j the predictive mean and variance and
 * v = L_j^-1 k_j(X, x) (O(n^2) once), and the row a of the joint factor
 * with output j's conditioning set, extended lazily when the set grows:
 * a_k = (s2 (k(x, q_k) - v . v_k) - sum_{l<k} Lq_kl a_l) / Lq_kk, O(n + k)
 * per new point. Samples of a candidate then cost O(S |Q|), with no kernel
 * rows recomputed between greedy steps. The posteriors are borrowed (the
 * caller keeps them alive and must not free them before the store); all
 * must have the same d and S. */
typedef struct pg_bo_cands pg_bo_cands;
pg_status pg_bo_cands_new(pg_bo_cands **out, pg_bo_post *const *posts, size_t m);
void pg_bo_cands_free(pg_bo_cands *c);
/* Append nc unit rows U (nc x d); their indices are count..count+nc-1. */
pg_status pg_bo_cands_add(pg_bo_cands *c, const double *U, size_t nc);
size_t pg_bo_cands_count(const pg_bo_cands *c);
/* Predictive mean[m] and variance var[m] of candidate i (either may be NULL). */
pg_status pg_bo_cands_moments(const pg_bo_cands *c, size_t i, double *mean, double *var);
/* Joint samples F[(j * ni + r) * S + s] of candidates idx[0..ni) for every
 * output j, candidate base samples z[j][S] (as pg_bo_post_samples). */
pg_status pg_bo_cands_samples(pg_bo_cands *c, const size_t *idx, size_t ni,
                              const double *const *z, double *F);

/* Acquisitions evaluated on the joint samples of one candidate:
 *   HVI:  (1/S) sum_s HVI(y_s | sets[s]) (ref[m]); the sets are reduced
 *         once at construction (m = 2: staircases, as pg_bo_hvi);
 *   NEI:  (1/S) sum_s max(t[s] - f_s, 0) on output 0;
 *   CHEB: (1/S) sum_s max(t[s] - g_s, 0), g the augmented Chebyshev
 *         scalarisation of the m outputs (as pg_bo_nei_cheb). */
#define PG_BO_ACQ_MAXM 16
typedef enum pg_bo_acq_kind { PG_BO_ACQ_HVI = 0, PG_BO_ACQ_NEI, PG_BO_ACQ_CHEB } pg_bo_acq_kind;
typedef struct pg_bo_acq pg_bo_acq;
pg_status pg_bo_acq_hvi(pg_bo_acq **out, size_t S, size_t m, const double *const *sets,
                        const size_t *k, const double *ref);
pg_status pg_bo_acq_nei(pg_bo_acq **out, size_t S, const double *t);
pg_status pg_bo_acq_cheb(pg_bo_acq **out, size_t S, size_t m, const double *w, double rho,
                         const double *t);
void pg_bo_acq_free(pg_bo_acq *a);
size_t pg_bo_acq_outputs(const pg_bo_acq *a);
/* out[r] = acquisition of candidate idx[r] with base samples z[j][S] of the
 * candidate slot per output. PG_EINVAL when a has more outputs than c or
 * another S; PG_ERANGE for an index out of range. */
pg_status pg_bo_cands_score(pg_bo_cands *c, const size_t *idx, size_t ni, const double *const *z,
                            pg_bo_acq *a, double *out);

/* S x D standard normal base samples: a scrambled Sobol' sequence (digital
 * shift drawn from rng) in the first min(D, PG_SOBOL_MAXDIM) columns mapped
 * through the inverse normal CDF, pseudo-random normals beyond. */
pg_status pg_bo_normal_qmc(size_t S, size_t D, pg_rng *rng, double *out);

/* Inverse of the standard normal CDF for p in (0, 1) (Acklam's rational
 * approximation refined by one Halley step: about 1e-15 relative). */
double pg_bo_norminv(double p);

#endif
