/*
 * proxy.h -- training-free accuracy proxies of a network at initialisation.
 *
 * Sources:
 * - NASWOT: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural
 *   architecture search without training", ICML 2021.
 * - SynFlow: H. Tanaka, D. Kunin, D. Yamins, S. Ganguli, "Pruning neural
 *   networks without any data by iteratively conserving synaptic flow",
 *   NeurIPS 2020.
 * - LogSynflow, SkipScore and their combination: N. Cavagnero, L. Robbiano,
 *   B. Caputo, G. Averta, "FreeREA: training-free evolution-based
 *   architecture search", WACV 2023 (code NiccoloCavagnero/FreeREA,
 *   fracapuano/FreeREA); the min-max combination of F. Capuano et al.,
 *   "Sim is more" (fracapuano/sim-is-more).
 * Definitions and conventions: docs/proxies.md.
 */
#ifndef PG_PROXY_H
#define PG_PROXY_H

#include <stddef.h>

#include "nasnet.h"
#include "netgraph.h"
#include "nn.h"
#include "rng.h"
#include "status.h"

/* NASWOT of an initialised network on a batch x (x.n >= 2 samples):
 * c_i in {0,1}^{N_A} are the binary codes (activation > 0) of sample i at
 * every ReLU module (a ReLU node standing for m modules counts m times),
 * K_ij = N_A - Hamming(c_i, c_j) = (c c^T + (1-c)(1-c)^T)_ij, and
 * *score = ln |det K| through an LU factorisation; -INFINITY when K is
 * singular. Batch norm runs in training mode (batch statistics).
 * When K is non-NULL it receives the x.n x x.n kernel. */
pg_status pg_proxy_naswot(pg_net *net, const pg_tensor *x, double *score, double *K);

/* SynFlow and LogSynflow of an initialised network, data-free: every
 * parameter replaced by its absolute value (restored afterwards), batch norm
 * as the identity, one all-ones input, R = sum of the outputs,
 *   synflow    = sum over conv and linear weights of |theta * dR/dtheta|,
 *   logsynflow = sum over conv and linear weights of |theta * ln(dR/dtheta + 1)|.
 * Either output may be NULL. Leaves net->grads zeroed. */
pg_status pg_proxy_synflow(pg_net *net, double *synflow, double *logsynflow);

/* SkipScore of an NB201 cell: the mean over skip_connect edges j -> i of
 * the number of nodes bypassed, i - 1 - j; 0 when the cell has no skip. */
double pg_proxy_skipscore(const int ops[PG_NB201_EDGES]);

/* Which proxies pg_proxy_scores computes. */
#define PG_PROXY_NASWOT 1u
#define PG_PROXY_SYNFLOW 2u /* synflow and logsynflow (one backward pass) */

typedef struct pg_proxy_result {
  double naswot, synflow, logsynflow;
} pg_proxy_result;

/* Mean of the selected proxies over `repeats` re-initialisations of net
 * (pg_net_init_params with rng before each repeat, as FreeREA does with
 * 3 repeats). NASWOT is -INFINITY when any repeat's kernel is singular.
 * Unselected fields are NaN. x may be NULL when NASWOT is not selected. */
pg_status pg_proxy_scores(pg_net *net, const pg_tensor *x, unsigned which, int repeats,
                          pg_rng *rng, pg_proxy_result *out);

/* Combination of k proxies over a candidate set of n architectures
 * (scores: n x k row-major, higher is better for each):
 * - PG_COMBINE_MINMAX (Sim-is-More): out_i = mean_j (s_ij - min_j)/(max_j - min_j);
 * - PG_COMBINE_MAXABS (FreeREA's code): out_i = sum_j s_ij / (max_i |s_ij| + 1e-9).
 * Non-finite scores (a failed NASWOT) count as the worst: they normalise
 * to 0 and are left out of the column's min and max. A constant column
 * contributes 0. */
typedef enum pg_combine_mode { PG_COMBINE_MINMAX = 0, PG_COMBINE_MAXABS } pg_combine_mode;
pg_status pg_proxy_combine(size_t n, size_t k, const double *scores, pg_combine_mode mode,
                           double *out);

/* Input batches (engine/fmnist.c). */

/* n Fashion-MNIST images from the gzip IDX file at path (e.g.
 * /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz), chosen
 * without replacement by a shuffle drawn from rng, scaled to [0, 1],
 * standardised with the dataset mean 0.2860 and std 0.3530, resized
 * bilinearly (align_corners = false) to side x side and replicated to 3
 * channels. *out is allocated (n x 3 x side x side). PG_EIO when the file
 * cannot be read, PG_EFORMAT when it is not an IDX image file. */
pg_status pg_fmnist_batch(const char *path, size_t n, size_t side, pg_rng *rng, pg_tensor *out);

/* The fallback: n x 3 x side x side standard normal noise from rng. */
pg_status pg_noise_batch(size_t n, size_t side, pg_rng *rng, pg_tensor *out);

#endif
