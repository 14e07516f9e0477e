/*
 * acq.h -- acquisition functions on Gaussian predictions and posterior
 * samples. Every objective is minimised: improvement means a smaller value.
 *
 * Single objective (vectorised over n candidates with predictive means mu
 * and standard deviations sigma >= 0, incumbent best):
 *   EI(x)     = E[max(best - f, 0)] = sigma (z Phi(z) + phi(z)),  z = (best - mu) / sigma
 *   logEI(x)  = log EI, accurate for very negative z (Ament, Daulton,
 *               Eriksson, Balandat and Bakshy, "Unexpected improvements to
 *               expected improvement", NeurIPS 2023)
 *   LCB(x)    = mu - beta sigma (to minimise), UCB(x) = mu + beta sigma
 *               (Srinivas, Krause, Kakade and Seeger, ICML 2010)
 * sigma = 0 gives the deterministic values (EI = max(best - mu, 0)).
 *
 * Two objectives: exact expected hypervolume improvement under independent
 * Gaussians through the decomposition of the non-dominated region into
 * k + 1 vertical strips (Emmerich, Deutz and Klinkenberg, CEC 2011; Yang,
 * Emmerich, Deutz and Back, "Efficient computation of expected hypervolume
 * improvement using box decomposition algorithms", J. Global Optim. 2019):
 *   EHVI = sum_i [G1(u_i) - G1(l_i)] G2(h_i),  G(c) = E[(c - Y)^+]
 * O(k log k) once for the front plus O(k) per candidate.
 *
 * Batches (Daulton, Balandat and Bakshy, NeurIPS 2020 and 2021): qEHVI is
 * the mean over posterior samples of HV(front u Q_s) - HV(front); qNEHVI
 * takes joint samples of the baseline points and the batch and uses the
 * sampled baseline's front in each sample. Each sample's improvement is
 * computed exactly (pg_hv_improvement).
 *
 * ParEGO (Knowles, IEEE TEVC 10(1), 2006): augmented Chebyshev
 *   g(y) = max_j w_j y_j + rho sum_j w_j y_j
 * with weights drawn uniformly on the simplex.
 */
#ifndef PG_ACQ_H
#define PG_ACQ_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

/* out[i] for n candidates. PG_EDOM on non-finite mu/best or sigma < 0 /
 * non-finite. */
pg_status pg_acq_ei(const double *mu, const double *sigma, size_t n, double best, double *out);
pg_status pg_acq_logei(const double *mu, const double *sigma, size_t n, double best,
                       double *out);
pg_status pg_acq_lcb(const double *mu, const double *sigma, size_t n, double beta, double *out);
pg_status pg_acq_ucb(const double *mu, const double *sigma, size_t n, double beta, double *out);

/* log(phi(z) + z Phi(z)) for any finite z (the scaled EI). */
double pg_acq_log_h(double z);

/* Exact 2-objective EHVI of n candidates: mu and sigma are n x 2 (row i the
 * means / standard deviations of the two objectives), front k x 2 (any
 * points; the dominated ones and those not below ref are ignored), ref[2]. */
pg_status pg_acq_ehvi2d(const double *mu, const double *sigma, size_t n, const double *front,
                        size_t k, const double *ref, double *out);

/* Monte-Carlo qEHVI: samples is ns x q x m (sample s, batch point t,
 * objective j at samples[(s q + t) m + j]), front k x m, ref[m]. *out the
 * mean improvement, *se its standard error (NULL allowed). */
pg_status pg_acq_qehvi(const double *samples, size_t ns, size_t q, size_t m, const double *front,
                       size_t k, const double *ref, double *out, double *se);

/* Monte-Carlo qNEHVI: samples is ns x (nb + q) x m; in each sample the first
 * nb rows are the baseline (previously evaluated points), the last q the
 * batch. */
pg_status pg_acq_qnehvi(const double *samples, size_t ns, size_t nb, size_t q, size_t m,
                        const double *ref, double *out, double *se);

/* Augmented Chebyshev scalarisation of the n x m rows of Y with weights w[m]
 * (the caller normalises Y, e.g. to [0, 1] per objective as ParEGO does). */
pg_status pg_acq_chebyshev(const double *Y, size_t n, size_t m, const double *w, double rho,
                           double *out);

/* Weights uniform on the simplex {w >= 0, sum w = 1} (normalised
 * exponentials, i.e. Dirichlet(1, ..., 1)). */
pg_status pg_acq_simplex_weights(size_t m, pg_rng *rng, double *w);

#endif
