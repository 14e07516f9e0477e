/*
 * fusion.c -- Pareto-based fusion and greedy hypervolume-improvement batch
 * selection (see fusion.h).
 */
#include "fusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acq.h"
#include "hv.h"
#include "linalg.h"
#include "pareto.h"

pg_fusion_opts pg_fusion_defaults(void) {
  pg_fusion_opts o;
  o.score = PG_FUSION_LCB;
  o.beta = 1.0;
  o.diversity = 0.01;
  o.min_keep = 256;
  o.ref_margin = 0.1;
  o.kappa = -1.0; /* < 0: same as beta */
  return o;
}

static double sqdist(const double *a, const double *b, size_t d) {
  double s = 0.0;
  for (size_t j = 0; j < d; j++) {
    double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

pg_status pg_fusion_select(const double *mean, const double *var, size_t nc, size_t m,
                           const double *Y, const double *Ud, size_t n, const double *Uc,
                           size_t du, const unsigned char *excl, size_t q,
                           const pg_fusion_opts *opts, size_t *chosen, size_t *nchosen,
                           double *gain, size_t *nkeep) {
  pg_fusion_opts o = opts ? *opts : pg_fusion_defaults();
  if (m == 0 || n == 0 || du == 0 || !Y || !Ud || !nchosen || (q && !chosen) ||
      (nc && (!mean || !var || !Uc)))
    return PG_EINVAL;
  if (!(o.beta >= 0.0) || !isfinite(o.beta) || !(o.diversity >= 0.0) || !isfinite(o.diversity) ||
      !(o.ref_margin > 0.0) || !isfinite(o.ref_margin) || isnan(o.kappa) || isinf(o.kappa) ||
      (o.score != PG_FUSION_LCB && o.score != PG_FUSION_EI))
    return PG_EINVAL;
  *nchosen = 0;
  if (nkeep) *nkeep = 0;
  size_t tmp;
  if (pg_size_mul(n, m, &tmp) != PG_OK || pg_size_mul(n, du, &tmp) != PG_OK ||
      pg_size_mul(nc, m > du ? m : du, &tmp) != PG_OK)
    return PG_EINVAL;
  if (!pg_all_finite(Y, n * m) || !pg_all_finite(Ud, n * du)) return PG_EDOM;
  if (nc == 0 || q == 0) return PG_OK;

  pg_status st = PG_OK;
  double *lo = malloc(4 * m * sizeof *lo);
  size_t *fidx = malloc(n * sizeof *fidx);
  size_t *elig = malloc(nc * sizeof *elig);
  double *S = malloc(nc * m * sizeof *S);  /* filter scores of eligible candidates */
  double *H = malloc(nc * m * sizeof *H);  /* predicted points of eligible candidates */
  int *rank = malloc(nc * sizeof *rank);
  double *P = malloc((n + q) * m * sizeof *P);
  size_t *keep = malloc(nc * sizeof *keep);
  double *dmin = malloc(nc * sizeof *dmin);
  unsigned char *used = calloc(nc, 1);
  if (!lo || !fidx || !elig || !S || !H || !rank || !P || !keep || !dmin || !used) {
    st = PG_ENOMEM;
    goto done;
  }
  double *span = lo + m, *ref = span + m, *best = ref + m;
  double kappa = o.kappa < 0.0 ? o.beta : o.kappa;

  /* 1. normalisation from the observations */
  for (size_t j = 0; j < m; j++) {
    double a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      double v = Y[i * m + j];
      if (v < a) a = v;
      if (v > b) b = v;
    }
    lo[j] = a;
    span[j] = b > a ? b - a : 1.0;
    best[j] = a;
  }
  size_t nf = 0;
  if ((st = pg_pareto_filter(Y, n, m, fidx, &nf)) != PG_OK) goto done;
  for (size_t j = 0; j < m; j++) ref[j] = -INFINITY;
  for (size_t k = 0; k < nf; k++)
    for (size_t j = 0; j < m; j++) {
      double z = (Y[fidx[k] * m + j] - lo[j]) / span[j];
      P[k * m + j] = z;
      if (z > ref[j]) ref[j] = z;
    }
  for (size_t j = 0; j < m; j++) ref[j] += o.ref_margin;

  /* 2. scores of the eligible candidates */
  size_t ne = 0;
  for (size_t i = 0; i < nc; i++) {
    if (excl && excl[i]) continue;
    int ok = 1;
    for (size_t j = 0; j < m && ok; j++) {
      double mu = mean[i * m + j], v = var[i * m + j];
      if (!isfinite(mu) || !isfinite(v) || v < -1e-12) ok = 0;
    }
    for (size_t j = 0; j < du && ok; j++)
      if (!isfinite(Uc[i * du + j])) ok = 0;
    if (!ok) continue;
    for (size_t j = 0; j < m; j++) {
      double mu = mean[i * m + j], v = var[i * m + j];
      double sd = v > 0.0 ? sqrt(v) : 0.0;
      if (o.score == PG_FUSION_LCB) {
        S[ne * m + j] = (mu - o.beta * sd - lo[j]) / span[j];
        H[ne * m + j] = (mu - kappa * sd - lo[j]) / span[j];
      } else {
        double ei;
        pg_acq_ei(&mu, &sd, 1, best[j], &ei);
        S[ne * m + j] = -ei / span[j];
        H[ne * m + j] = (mu - lo[j]) / span[j];
      }
    }
    elig[ne++] = i;
  }
  if (ne == 0) goto done;

  /* 3. non-dominated filtering on the score vectors, front by front */
  int nfronts = 0;
  if ((st = pg_pareto_rank(S, ne, m, rank, &nfronts)) != PG_OK) goto done;
  size_t want = o.min_keep > q ? o.min_keep : q, nk = 0;
  for (int r = 1; r <= nfronts && nk < want; r++)
    for (size_t e = 0; e < ne; e++)
      if (rank[e] == r) keep[nk++] = e;
  if (nkeep) *nkeep = nk;

  /* 4. greedy batch by HVI + diversity */
  double inv = 1.0 / sqrt((double)du);
  for (size_t k = 0; k < nk; k++) {
    const double *u = Uc + elig[keep[k]] * du;
    double b = INFINITY;
    for (size_t i = 0; i < n; i++) {
      double s = sqdist(u, Ud + i * du, du);
      if (s < b) b = s;
    }
    dmin[k] = sqrt(b) * inv;
  }
  size_t np = nf;
  for (size_t t = 0; t < q; t++) {
    size_t bi = nk;
    double bg = -INFINITY, bh = 0.0;
    for (size_t k = 0; k < nk; k++) {
      if (used[k]) continue;
      double h = 0.0;
      if ((st = pg_hv_improvement(P, np, m, ref, H + keep[k] * m, 1, &h)) != PG_OK) goto done;
      double g = h + o.diversity * dmin[k];
      if (g > bg) {
        bg = g;
        bh = h;
        bi = k;
      }
    }
    if (bi == nk) break;
    used[bi] = 1;
    chosen[t] = elig[keep[bi]];
    if (gain) gain[t] = bh;
    *nchosen = t + 1;
    memcpy(P + np * m, H + keep[bi] * m, m * sizeof *P);
    np++;
    const double *u = Uc + chosen[t] * du;
    for (size_t k = 0; k < nk; k++) {
      if (used[k]) continue;
      double s = sqrt(sqdist(u, Uc + elig[keep[k]] * du, du)) * inv;
      if (s < dmin[k]) dmin[k] = s;
    }
  }
done:
  free(lo);
  free(fidx);
  free(elig);
  free(S);
  free(H);
  free(rank);
  free(P);
  free(keep);
  free(dmin);
  free(used);
  return st;
}
