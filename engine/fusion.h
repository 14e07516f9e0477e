/*
 * fusion.h -- Pareto-based fusion of per-objective surrogate predictions
 * into a batch of q candidates (the selection step of Coflex as perigee
 * implements it; docs/coflex.md).
 *
 * Coflex (Ma et al., "Coflex: Enhancing HW-NAS with Sparse Gaussian
 * Processes for Efficient and Scalable Software-Hardware Co-Design", 2025)
 * describes per-objective sparse GPs combined by non-dominance filtering;
 * the exact rule is not published. This file implements:
 *   1. objectives normalised by the observed data: z = (y - lo) / (hi - lo)
 *      per objective (lo, hi: minimum and maximum of the observations);
 *   2. an optimistic score per objective and candidate:
 *      LCB  s = mu - beta sigma (Srinivas et al., ICML 2010), or
 *      EI   s = -EI(mu, sigma; best = lo) (Jones et al., 1998), per objective;
 *   3. non-dominated filtering of the candidates on the score vectors,
 *      keeping further fronts until at least min_keep candidates remain;
 *   4. a greedy batch: each step takes the kept candidate maximising
 *      HVI(P, h_c) + diversity * dmin_c, where P is the observed front
 *      (normalised) plus the points already picked, h_c is the candidate's
 *      predicted point mu - kappa sigma (kappa = beta by default: the LCB
 *      vector; 0: the mean; the mean for EI), the reference
 *      point is the nadir of the observed front plus ref_margin in the same
 *      normalised units, and dmin_c is the distance (in the model's input
 *      encoding, divided by sqrt(du)) to the nearest evaluated or picked
 *      input. Picked points join P, so later picks fill other gaps.
 * Ties go to the lowest candidate index: the selection is deterministic.
 */
#ifndef PG_FUSION_H
#define PG_FUSION_H

#include <stddef.h>

#include "status.h"

typedef enum pg_fusion_score { PG_FUSION_LCB = 0, PG_FUSION_EI } pg_fusion_score;

typedef struct pg_fusion_opts {
  pg_fusion_score score; /* LCB (default) or per-objective EI */
  double beta;           /* LCB width (default 1.0) */
  double diversity;      /* weight of the distance term (default 0.01) */
  size_t min_keep;       /* candidates kept by the front filter, at least (default 256) */
  double ref_margin;     /* reference = observed-front nadir + margin, normalised (0.1) */
  double kappa;          /* predicted point for the HVI: mu - kappa sigma (LCB default: beta) */
} pg_fusion_opts;

pg_fusion_opts pg_fusion_defaults(void);

/* Select up to q of nc candidates.
 *   mean, var  nc x m predictions (latent mean and variance per objective,
 *              internal minimised units)
 *   Y, Ud      the n >= 1 observations: n x m objectives, n x du inputs
 *   Uc         nc x du candidate inputs (same encoding as Ud)
 *   excl       nc flags (non-zero: not eligible, e.g. already evaluated), or NULL
 * Writes chosen[q] (0-based), *nchosen (< q only when fewer candidates are
 * eligible), gain[q] (the HVI part of each pick's criterion, normalised
 * units; may be NULL) and *nkeep (candidates after filtering; may be NULL).
 * Errors: PG_EINVAL (sizes, options), PG_EDOM (NaN in Y or Ud), PG_ENOMEM.
 * Candidates with a non-finite prediction are skipped. */
pg_status pg_fusion_select(const double *mean, const double *var, size_t nc, size_t m,
                           const double *Y, const double *Ud, size_t n, const double *Uc,
                           size_t du, const unsigned char *excl, size_t q,
                           const pg_fusion_opts *opts, size_t *chosen, size_t *nchosen,
                           double *gain, size_t *nkeep);

#endif
