/*
 * proxy.c -- NASWOT, SynFlow, LogSynflow, SkipScore and their combination
 * (see proxy.h for the definitions and sources).
 */
#include "proxy.h"

#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* ---- NASWOT ------------------------------------------------------------------- */

typedef struct naswot_ctx {
  size_t n;        /* batch */
  double *K;       /* n x n, both triangles */
  uint64_t *bits;  /* n x words scratch */
  size_t words;    /* capacity per sample */
  pg_status st;
} naswot_ctx;

/* Hamming distance of two bit strings; the hardware popcount when the CPU
 * has one (chosen at run time, so the build needs no -m flag). */
__attribute__((target("popcnt"))) static uint64_t hamming_hw(const uint64_t *a, const uint64_t *b,
                                                             size_t words) {
  uint64_t h = 0;
  for (size_t w = 0; w < words; w++) h += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
  return h;
}

static uint64_t hamming_sw(const uint64_t *a, const uint64_t *b, size_t words) {
  uint64_t h = 0;
  for (size_t w = 0; w < words; w++) h += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
  return h;
}


#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PG_CLONES
#endif

/* bits[i][w] bit b = [y[i][64 w + b] > 0] for the n samples of m values:
 * pack_codes from double activations, pack_codes_f from float ones. */
#define PG_PACK_CODES(NAME, T)                                                               \
  PG_CLONES static void NAME(const T *y, size_t n, size_t m, size_t words, uint64_t *bits) { \
    for (size_t i = 0; i < n; i++) {                                                         \
      const T *yi = y + i * m;                                                               \
      uint64_t *bi = bits + i * words;                                                       \
      size_t full = m / 64;                                                                  \
      for (size_t w = 0; w < full; w++) {                                                    \
        const T *yw = yi + 64 * w;                                                           \
        uint64_t v = 0;                                                                      \
        for (unsigned b = 0; b < 64; b++) v |= (uint64_t)(yw[b] > 0) << b;                   \
        bi[w] = v;                                                                           \
      }                                                                                      \
      if (full < words) {                                                                    \
        uint64_t v = 0;                                                                      \
        for (size_t e = 64 * full; e < m; e++) v |= (uint64_t)(yi[e] > 0) << (e - 64 * full); \
        bi[full] = v;                                                                        \
      }                                                                                      \
    }                                                                                        \
  }
PG_PACK_CODES(pack_codes, double)
PG_PACK_CODES(pack_codes_f, float)

/* Add the kernel of one ReLU output of m values per sample: K_ij += mult *
 * (m - Hamming(c_i, c_j)) with c_i = [y_i > 0] packed 64 codes a word, from
 * double (yd) or float (yf) activations. */
static void naswot_add(naswot_ctx *c, const double *yd, const float *yf, size_t m, int mult) {
  if (c->st) return;
  size_t n = c->n, words = (m + 63) / 64;
  if (words > c->words) {
    uint64_t *b = realloc(c->bits, n * words * sizeof *b);
    if (!b) {
      c->st = PG_ENOMEM;
      return;
    }
    c->bits = b;
    c->words = words;
  }
  if (yf)
    pack_codes_f(yf, n, m, words, c->bits);
  else
    pack_codes(yd, n, m, words, c->bits);
  int hw = __builtin_cpu_supports("popcnt");
  for (size_t i = 0; i < n; i++) {
    const uint64_t *bi = c->bits + i * words;
    c->K[i * n + i] += (double)mult * (double)m;
    for (size_t j = i + 1; j < n; j++) {
      const uint64_t *bj = c->bits + j * words;
      uint64_t ham = hw ? hamming_hw(bi, bj, words) : hamming_sw(bi, bj, words);
      double v = (double)mult * (double)(m - ham);
      c->K[i * n + j] += v;
      c->K[j * n + i] += v;
    }
  }
}

static void naswot_hook(void *vctx, const pg_tensor *y, int mult) {
  naswot_add(vctx, y->data, NULL, y->c * y->h * y->w, mult);
}

static void naswot_hook_f(void *vctx, const pg_tensorf *y, int mult) {
  naswot_add(vctx, NULL, y->data, y->c * y->h * y->w, mult);
}

/* ln |det A| of the n x n matrix A (overwritten) by LU with partial
 * pivoting, as numpy.linalg.slogdet does; -INFINITY when singular. */
static pg_status logabsdet(double *A, size_t n, double *out) {
  lapack_int *piv = malloc((n ? n : 1) * sizeof *piv);
  if (!piv) return PG_ENOMEM;
  lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, A,
                                   (lapack_int)n, piv);
  free(piv);
  if (info < 0) return PG_ELAPACK;
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    double u = fabs(A[i * n + i]);
    if (u == 0.0) {
      *out = -INFINITY;
      return PG_OK;
    }
    s += log(u);
  }
  *out = s;
  return PG_OK;
}

pg_status pg_proxy_naswot(pg_net *net, const pg_tensor *x, double *score, double *K) {
  if (x->n < 2) return PG_EINVAL;
  size_t n = x->n;
  naswot_ctx c = {.n = n};
  c.K = calloc(n * n, sizeof *c.K);
  if (!c.K) return PG_ENOMEM;
  pg_status st;
  if (net->single) { /* float activations end to end */
    st = pg_net_forward_f32(net, x, PG_BN_TRAIN, naswot_hook_f, &c);
  } else {
    pg_tensor out;
    st = pg_net_forward(net, x, PG_BN_TRAIN, 0, naswot_hook, &c, &out);
    pg_tensor_free(&out);
  }
  free(c.bits);
  if (!st) st = c.st;
  if (!st && K) memcpy(K, c.K, n * n * sizeof *K);
  if (!st) st = logabsdet(c.K, n, score);
  free(c.K);
  return st;
}

/* ---- SynFlow / LogSynflow ----------------------------------------------------------- */

pg_status pg_proxy_synflow(pg_net *net, double *synflow, double *logsynflow) {
  if (!net->params) return PG_ESTATE;
  size_t np = net->nparams;
  double *saved = malloc((np ? np : 1) * sizeof *saved);
  if (!saved) return PG_ENOMEM;
  memcpy(saved, net->params, np * sizeof *saved);
  for (size_t i = 0; i < np; i++) net->params[i] = fabs(net->params[i]);
  int single = net->single; /* values reach 1e67: always double here */
  net->single = 0;
  memset(net->grads, 0, np * sizeof *net->grads);
  const pg_net_node *in = &net->nodes[0];
  pg_tensor x = {0}, out = {0};
  pg_status st = pg_tensor_alloc(&x, 1, in->c, in->h, in->w);
  if (!st) {
    for (size_t i = 0; i < pg_tensor_numel(&x); i++) x.data[i] = 1.0;
    st = pg_net_forward(net, &x, PG_BN_IDENTITY, 1, NULL, NULL, &out);
  }
  if (!st) {
    /* R = sum of the outputs: dR/dout = 1 */
    for (size_t i = 0; i < pg_tensor_numel(&out); i++) out.data[i] = 1.0;
    st = pg_net_backward(net, PG_BN_IDENTITY, &out, NULL);
  }
  double s = 0.0, ls = 0.0;
  if (!st)
    for (size_t i = 0; i < net->n; i++) {
      const pg_net_node *nd = &net->nodes[i];
      if (nd->op != PG_NET_CONV && nd->op != PG_NET_LINEAR) continue;
      const double *w = net->params + nd->woff, *g = net->grads + nd->woff;
      for (size_t e = 0; e < nd->wcount; e++) {
        s += fabs(w[e] * g[e]);
        ls += fabs(w[e] * log1p(g[e]));
      }
    }
  pg_net_release(net);
  net->single = single;
  memcpy(net->params, saved, np * sizeof *saved);
  memset(net->grads, 0, np * sizeof *net->grads);
  free(saved);
  pg_tensor_free(&x);
  pg_tensor_free(&out);
  if (st) return st;
  if (synflow) *synflow = s;
  if (logsynflow) *logsynflow = ls;
  return PG_OK;
}

/* ---- SkipScore ---------------------------------------------------------------------- */

double pg_proxy_skipscore(const int ops[PG_NB201_EDGES]) {
  static const int src[PG_NB201_EDGES] = {0, 0, 1, 0, 1, 2};
  static const int dst[PG_NB201_EDGES] = {1, 2, 2, 3, 3, 3};
  double s = 0.0;
  int k = 0;
  for (int e = 0; e < PG_NB201_EDGES; e++)
    if (ops[e] == PG_NB201_SKIP) {
      s += dst[e] - 1 - src[e];
      k++;
    }
  return k ? s / k : 0.0;
}

/* ---- repeats and combination --------------------------------------------------------------- */

pg_status pg_proxy_scores(pg_net *net, const pg_tensor *x, unsigned which, int repeats,
                          pg_rng *rng, pg_proxy_result *out) {
  out->naswot = out->synflow = out->logsynflow = NAN;
  if (repeats < 1 || !which || (which & ~(PG_PROXY_NASWOT | PG_PROXY_SYNFLOW))) return PG_EINVAL;
  if ((which & PG_PROXY_NASWOT) && !x) return PG_EINVAL;
  double nw = 0.0, sf = 0.0, ls = 0.0;
  for (int r = 0; r < repeats; r++) {
    pg_net_init_params(net, rng);
    pg_status st;
    if (which & PG_PROXY_NASWOT) {
      double v;
      st = pg_proxy_naswot(net, x, &v, NULL);
      if (st) return st;
      nw += v;
    }
    if (which & PG_PROXY_SYNFLOW) {
      double a, b;
      st = pg_proxy_synflow(net, &a, &b);
      if (st) return st;
      sf += a;
      ls += b;
    }
  }
  if (which & PG_PROXY_NASWOT) out->naswot = nw / repeats;
  if (which & PG_PROXY_SYNFLOW) {
    out->synflow = sf / repeats;
    out->logsynflow = ls / repeats;
  }
  return PG_OK;
}

pg_status pg_proxy_combine(size_t n, size_t k, const double *scores, pg_combine_mode mode,
                           double *out) {
  if (mode != PG_COMBINE_MINMAX && mode != PG_COMBINE_MAXABS) return PG_EINVAL;
  for (size_t i = 0; i < n; i++) out[i] = 0.0;
  if (!n || !k) return PG_OK;
  for (size_t j = 0; j < k; j++) {
    double lo = INFINITY, hi = -INFINITY, amax = 0.0;
    for (size_t i = 0; i < n; i++) {
      double v = scores[i * k + j];
      if (!isfinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (fabs(v) > amax) amax = fabs(v);
    }
    for (size_t i = 0; i < n; i++) {
      double v = scores[i * k + j], t = 0.0;
      if (isfinite(v)) {
        if (mode == PG_COMBINE_MINMAX)
          t = hi > lo ? (v - lo) / (hi - lo) : 0.0;
        else
          t = v / (amax + 1e-9);
      }
      out[i] += t;
    }
  }
  if (mode == PG_COMBINE_MINMAX)
    for (size_t i = 0; i < n; i++) out[i] /= (double)k;
  return PG_OK;
}
