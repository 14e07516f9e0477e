/* mlp.c -- small MLPs: forward, backward, init, Adam, files (see mlp.h). */
#include "mlp.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Every multiply-add in this file is written out: fma() / _mm*_fmadd_pd
 * where fused, separate roundings elsewhere. GNU C would otherwise contract
 * a * b + c in the functions built for FMA targets and not in the others,
 * and the kernels of different levels would stop agreeing bit for bit. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* Hot elementwise loops get an AVX2 clone chosen at load time (ifunc).
 * AVX2 without FMA: no contraction, so every clone gives bit-identical
 * results (elementwise IEEE operations in the same order). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define PG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PG_CLONES
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define PG_HAVE_AVX2 1
#else
#define PG_HAVE_AVX2 0
#endif

/* Rows (ptr, idx, val) of n x ni to columns (cptr, crow, cval), rows in
 * increasing order within each column (counting sort). */
void pg_mlp_rows_to_columns(size_t n, size_t ni, const size_t *restrict ptr,
                            const uint32_t *restrict idx, const double *restrict val,
                            size_t *restrict cptr, uint32_t *restrict crow,
                            double *restrict cval) {
  size_t base = ptr[0], nnz = ptr[n] - base;
  memset(cptr, 0, (ni + 1) * sizeof *cptr);
  for (size_t c = 0; c < nnz; c++) cptr[idx[c] + 1]++;
  for (size_t k = 0; k < ni; k++) cptr[k + 1] += cptr[k];
  for (size_t r = 0; r < n; r++)
    for (size_t c = ptr[r] - base; c < ptr[r + 1] - base; c++) {
      size_t at = cptr[idx[c]]++;
      crow[at] = (uint32_t)r;
      cval[at] = val[c];
    }
  /* cptr[k] now holds the end of column k: shift back */
  for (size_t k = ni; k > 0; k--) cptr[k] = cptr[k - 1];
  cptr[0] = 0;
}

/* Compress the non-zero entries of X (n x ni) into (ptr, idx, val), without
 * branches on the data; returns their number. */
static size_t compress_rows(size_t n, size_t ni, const double *restrict X, size_t *restrict ptr,
                            uint32_t *restrict idx, double *restrict val) {
  size_t c = 0;
  for (size_t r = 0; r < n; r++) {
    ptr[r] = c;
    const double *x = X + r * ni;
    for (size_t k = 0; k < ni; k++) {
      idx[c] = (uint32_t)k;
      val[c] = x[k];
      c += x[k] != 0.0;
    }
  }
  ptr[n] = c;
  return c;
}

static size_t max_width(const pg_mlp *m) {
  size_t w = 0;
  for (size_t l = 0; l <= m->nlayers; l++)
    if (m->sizes[l] > w) w = m->sizes[l];
  return w;
}

pg_status pg_mlp_new(pg_mlp **out, size_t nlayers, const size_t *sizes, pg_mlp_act act,
                     int act_out) {
  *out = NULL;
  if (nlayers < 1 || nlayers > PG_MLP_MAX_LAYERS) return PG_EINVAL;
  if (act != PG_MLP_TANH && act != PG_MLP_RELU) return PG_EINVAL;
  for (size_t l = 0; l <= nlayers; l++)
    if (sizes[l] < 1 || sizes[l] > PG_MLP_MAX_WIDTH) return PG_EINVAL;
  pg_mlp *m = calloc(1, sizeof *m);
  if (!m) return PG_ENOMEM;
  m->nlayers = nlayers;
  memcpy(m->sizes, sizes, (nlayers + 1) * sizeof *sizes);
  m->act = act;
  m->act_out = act_out ? 1 : 0;
  size_t np = 0;
  for (size_t l = 0; l < nlayers; l++) {
    m->offset[l] = np;
    np += sizes[l + 1] * sizes[l] + sizes[l + 1];
  }
  if (np > PG_MLP_MAX_WIDTH * (size_t)PG_MLP_MAX_WIDTH) {
    free(m);
    return PG_EINVAL;
  }
  m->nparams = np;
  m->params = calloc(np, sizeof *m->params);
  m->grad = calloc(np, sizeof *m->grad);
  size_t wmax = 1;
  for (size_t l = 0; l < nlayers; l++)
    if (sizes[l] * sizes[l + 1] > wmax) wmax = sizes[l] * sizes[l + 1];
  m->wt = malloc(wmax * sizeof *m->wt);
  if (!m->params || !m->grad || !m->wt) {
    pg_mlp_free(m);
    return PG_ENOMEM;
  }
  *out = m;
  return PG_OK;
}

void pg_mlp_free(pg_mlp *m) {
  if (!m) return;
  for (size_t l = 0; l < m->nlayers; l++) free(m->h[l]);
  free(m->dbuf[0]);
  free(m->dbuf[1]);
  free(m->wt);
  free(m->nzptr);
  free(m->nzidx);
  free(m->nzval);
  free(m->cptr);
  free(m->crow);
  free(m->cval);
  free(m->params);
  free(m->grad);
  free(m);
}

/* Grow the forward cache to hold batches of n rows. */
static pg_status reserve(pg_mlp *m, size_t n) {
  if (n <= m->cap) return PG_OK;
  size_t cap = m->cap ? m->cap : 16;
  while (cap < n) cap *= 2;
  size_t w = max_width(m);
  if (cap > ((size_t)1 << 40) / w) return PG_ERANGE;
  for (size_t l = 0; l < m->nlayers; l++) {
    double *p = realloc(m->h[l], cap * m->sizes[l + 1] * sizeof *p);
    if (!p) return PG_ENOMEM;
    m->h[l] = p;
  }
  for (int k = 0; k < 2; k++) {
    double *p = realloc(m->dbuf[k], cap * w * sizeof *p);
    if (!p) return PG_ENOMEM;
    m->dbuf[k] = p;
  }
  size_t *q = realloc(m->nzptr, (cap + 1) * sizeof *q);
  if (!q) return PG_ENOMEM;
  m->nzptr = q;
  /* compress_rows stores one candidate past the non-zeros found (at most n x in) */
  uint32_t *ix = realloc(m->nzidx, (cap * m->sizes[0] + 1) * sizeof *ix);
  if (!ix) return PG_ENOMEM;
  m->nzidx = ix;
  double *v = realloc(m->nzval, (cap * m->sizes[0] + 1) * sizeof *v);
  if (!v) return PG_ENOMEM;
  m->nzval = v;
  if (!m->cptr && !(m->cptr = malloc((m->sizes[0] + 1) * sizeof *m->cptr))) return PG_ENOMEM;
  ix = realloc(m->crow, cap * m->sizes[0] * sizeof *ix);
  if (!ix) return PG_ENOMEM;
  m->crow = ix;
  v = realloc(m->cval, cap * m->sizes[0] * sizeof *v);
  if (!v) return PG_ENOMEM;
  m->cval = v;
  m->cap = cap;
  return PG_OK;
}

/* Orthogonal matrix W (rows x cols) scaled by gain: QR of a Gaussian matrix
 * with the signs of diag(R) folded in (Mezzadri 2007), transposed when
 * rows < cols, as torch.nn.init.orthogonal_ does. */
static pg_status orthogonal(double *W, size_t rows, size_t cols, double gain, pg_rng *rng) {
  size_t a = rows >= cols ? rows : cols, b = rows >= cols ? cols : rows;
  double *G = malloc(a * b * sizeof *G), *tau = malloc(b * sizeof *tau);
  if (!G || !tau) {
    free(G);
    free(tau);
    return PG_ENOMEM;
  }
  for (size_t i = 0; i < a * b; i++) G[i] = pg_rng_normal(rng);
  pg_status st = PG_OK;
  if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)a, (lapack_int)b, G, (lapack_int)b, tau) != 0) {
    st = PG_ELAPACK;
    goto done;
  }
  double *d = malloc(b * sizeof *d);
  if (!d) {
    st = PG_ENOMEM;
    goto done;
  }
  for (size_t j = 0; j < b; j++) d[j] = G[j * b + j] < 0.0 ? -1.0 : 1.0;
  if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)a, (lapack_int)b, (lapack_int)b, G,
                     (lapack_int)b, tau) != 0) {
    free(d);
    st = PG_ELAPACK;
    goto done;
  }
  for (size_t i = 0; i < a; i++)
    for (size_t j = 0; j < b; j++) {
      double q = G[i * b + j] * d[j] * gain;
      if (rows >= cols)
        W[i * cols + j] = q; /* a = rows, b = cols */
      else
        W[j * cols + i] = q; /* a = cols, b = rows: W = Q^T */
    }
  free(d);
done:
  free(G);
  free(tau);
  return st;
}

pg_status pg_mlp_init(pg_mlp *m, pg_rng *rng, pg_mlp_init_kind kind, double gain,
                      double gain_out) {
  if (!isfinite(gain) || !isfinite(gain_out)) return PG_EDOM;
  for (size_t l = 0; l < m->nlayers; l++) {
    size_t in = m->sizes[l], out = m->sizes[l + 1];
    double *W = m->params + m->offset[l], *b = W + out * in;
    double g = l + 1 == m->nlayers ? gain_out : gain;
    if (kind == PG_MLP_INIT_ORTHOGONAL) {
      pg_status st = orthogonal(W, in, out, g, rng); /* stored in x out */
      if (st != PG_OK) return st;
    } else if (kind == PG_MLP_INIT_NORMAL) {
      double sd = g / sqrt((double)in);
      for (size_t i = 0; i < out * in; i++) W[i] = sd * pg_rng_normal(rng);
    } else {
      return PG_EINVAL;
    }
    memset(b, 0, out * sizeof *b);
  }
  return PG_OK;
}

/* tanh without libm, in straight-line code that runs four lanes at a time
 * (AVX2) or one (scalar) with the same IEEE operations in the same order, so
 * both give the same bits:
 *   |x| < 0.02: Taylor polynomial to x^7 (truncation < 1e-17 relative);
 *   else t = exp(-2|x|) (|x| clamped at 20, where tanh = 1 in double) and
 *   tanh = sign(x) (1 - t) / (1 + t).
 * exp(y), y in [-40, 0]: y = n ln2 + r with n = round(y / ln2) (the
 * 1.5 * 2^52 rounding trick), ln2 split in a high part with trailing zero
 * bits and a low part (Cody-Waite), |r| <= ln2 / 2; e^r by its Taylor series
 * to r^13 (truncation < 1e-17 relative), times 2^n built in the exponent
 * bits. Multiply-adds are fused (one rounding). The vector path needs
 * AVX2 and FMA. Error: a few ulp, like the exp-based formula it replaces. */
#define TANH_SMALL 0.02
#define TANH_BIG 20.0
#define EXP_MAGIC 6755399441055744.0 /* 1.5 * 2^52 */
#define EXP_LOG2E 1.4426950408889634
#define EXP_LN2HI 6.93147180369123816490e-01
#define EXP_LN2LO 1.90821492927058770002e-10

static const double EXP_C[14] = {1.0,
                                 1.0,
                                 1.0 / 2,
                                 1.0 / 6,
                                 1.0 / 24,
                                 1.0 / 120,
                                 1.0 / 720,
                                 1.0 / 5040,
                                 1.0 / 40320,
                                 1.0 / 362880,
                                 1.0 / 3628800,
                                 1.0 / 39916800,
                                 1.0 / 479001600,
                                 1.0 / 6227020800.0};

/* Every multiply-add is an explicit fused one (exactly rounded: C's fma and
 * vfmadd agree), nothing is left for the compiler to contract. */
__attribute__((noinline)) static double tanh_scalar(double x) {
  double a = fabs(x);
  double x2 = x * x;
  double q = fma(x2, -17.0 / 315.0, 2.0 / 15.0);
  q = fma(x2, q, -1.0 / 3.0);
  q = fma(x2, q, 1.0);
  double small = x * q;
  double ac = TANH_BIG < a ? TANH_BIG : a; /* NaN stays NaN, as minpd(20, a) */
  double y = -2.0 * ac;
  double k = fma(y, EXP_LOG2E, EXP_MAGIC);
  double nd = k - EXP_MAGIC;
  double r = fma(nd, -EXP_LN2HI, y);
  r = fma(nd, -EXP_LN2LO, r);
  double p = EXP_C[13];
  for (int i = 12; i >= 0; i--) p = fma(p, r, EXP_C[i]);
  uint64_t kb, mb, sb;
  double magic = EXP_MAGIC, scale;
  memcpy(&kb, &k, sizeof kb);
  memcpy(&mb, &magic, sizeof mb);
  sb = (kb - mb + 1023) << 52;
  memcpy(&scale, &sb, sizeof scale);
  double t = p * scale;
  double big = (1.0 - t) / (1.0 + t);
  big = x < 0.0 ? -big : big;
  return a < TANH_SMALL ? small : big;
}

#if PG_HAVE_AVX2
__attribute__((target("avx2,fma"))) static void tanh_avx2(double *h, size_t n) {
  const __m256d sgn = _mm256_set1_pd(-0.0), one = _mm256_set1_pd(1.0),
                magic = _mm256_set1_pd(EXP_MAGIC);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d x = _mm256_loadu_pd(h + i);
    __m256d a = _mm256_andnot_pd(sgn, x);
    __m256d x2 = _mm256_mul_pd(x, x);
    __m256d q = _mm256_fmadd_pd(x2, _mm256_set1_pd(-17.0 / 315.0), _mm256_set1_pd(2.0 / 15.0));
    q = _mm256_fmadd_pd(x2, q, _mm256_set1_pd(-1.0 / 3.0));
    q = _mm256_fmadd_pd(x2, q, one);
    __m256d small = _mm256_mul_pd(x, q);
    __m256d ac = _mm256_min_pd(_mm256_set1_pd(TANH_BIG), a);
    __m256d y = _mm256_mul_pd(_mm256_set1_pd(-2.0), ac);
    __m256d k = _mm256_fmadd_pd(y, _mm256_set1_pd(EXP_LOG2E), magic);
    __m256d nd = _mm256_sub_pd(k, magic);
    __m256d r = _mm256_fmadd_pd(nd, _mm256_set1_pd(-EXP_LN2HI), y);
    r = _mm256_fmadd_pd(nd, _mm256_set1_pd(-EXP_LN2LO), r);
    __m256d p = _mm256_set1_pd(EXP_C[13]);
    for (int j = 12; j >= 0; j--) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(EXP_C[j]));
    __m256i sb = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_sub_epi64(_mm256_castpd_si256(k), _mm256_castpd_si256(magic)),
                         _mm256_set1_epi64x(1023)),
        52);
    __m256d t = _mm256_mul_pd(p, _mm256_castsi256_pd(sb));
    __m256d big = _mm256_div_pd(_mm256_sub_pd(one, t), _mm256_add_pd(one, t));
    /* sign of x (x < 0: negate; -0.0 and +0.0 take the small branch) */
    __m256d neg = _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LT_OQ);
    big = _mm256_blendv_pd(big, _mm256_xor_pd(big, sgn), neg);
    __m256d issmall = _mm256_cmp_pd(a, _mm256_set1_pd(TANH_SMALL), _CMP_LT_OQ);
    _mm256_storeu_pd(h + i, _mm256_blendv_pd(big, small, issmall));
  }
  for (; i < n; i++) h[i] = tanh_scalar(h[i]);
}
#endif

static int simd_level(void);

/* tanh over n values (tanh_avx2 and tanh_scalar give the same bits) */
static void tanh_row(double *h, size_t n) {
#if PG_HAVE_AVX2
  if (simd_level() >= 1) {
    tanh_avx2(h, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) h[i] = tanh_scalar(h[i]);
}

/* ---- layer kernels ----
 * Every product of a layer is computed per output as
 *   C[i, j] = init + sum_t A(i, t) B[t, j],   t ascending,
 * one fused multiply-add per term (init: 0, the bias row, or C's own value),
 * followed by an elementwise epilogue: tanh or ReLU (forward), or the
 * product with the activation's derivative at H (backward: tanh' = 1 - h^2
 * as fma(-h, h, 1), ReLU' = [h > 0]). The AVX-512 kernels vectorise over j
 * and hold blocks of 4 rows x 32 columns (sparse: 1 row x 64 columns) in
 * registers; the portable kernels run the same operations per output with
 * C's fma, so every path gives the same bits (tests/c/test_mlp.c compares
 * them). */
typedef enum { EPI_NONE, EPI_TANH, EPI_RELU, EPI_DTANH, EPI_DRELU } epi_kind;
typedef enum { INIT_ZERO, INIT_ROW, INIT_C } init_kind;

typedef struct gemm_args {
  size_t m, n, k;               /* C is m x n, k terms per output */
  const double *A;              /* A(i, t) = A[i * ars + t * ats] */
  size_t ars, ats;
  const double *B;              /* B[t, j] = B[t * ldb + j] */
  size_t ldb;
  double *C;
  size_t ldc;
  init_kind init;
  const double *row;            /* INIT_ROW: row[j] */
  epi_kind epi;
  const double *H;              /* EPI_D*: H[i * ldh + j] */
  size_t ldh;
} gemm_args;

/* kernel level: 0 portable, 1 AVX2+FMA build of the portable source, 2
 * AVX-512; the CPU's best unless capped by pg_mlp_set_simd */
static int simd_cpu = -1, simd_cap = 2;

static int simd_level(void) {
  if (simd_cpu < 0) {
    int l = 0;
#if PG_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
    if (l && __builtin_cpu_supports("avx512f")) l = 2;
#endif
    simd_cpu = l;
  }
  return simd_cpu < simd_cap ? simd_cpu : simd_cap;
}

int pg_mlp_set_simd(int level) {
  simd_cap = level < 0 ? 0 : level > 2 ? 2 : level;
  return simd_level();
}

static inline double epi_scalar(epi_kind e, double c, double h) {
  switch (e) {
  case EPI_TANH: return tanh_scalar(c);
  case EPI_RELU: return c > 0.0 ? c : 0.0;
  case EPI_DTANH: return c * fma(-h, h, 1.0);
  case EPI_DRELU: return h > 0.0 ? c : 0.0;
  default: return c;
  }
}

/* The portable kernels (an AVX2+FMA build of the same source where the CPU
 * has it: vectorised over j, the same operations). */
#define GEMM_PORTABLE_BODY                                                                   \
  for (size_t i = 0; i < g->m; i++) {                                                        \
    double *restrict c = g->C + i * g->ldc;                                                  \
    if (g->init == INIT_ZERO)                                                                \
      for (size_t j = 0; j < g->n; j++) c[j] = 0.0;                                          \
    else if (g->init == INIT_ROW)                                                            \
      for (size_t j = 0; j < g->n; j++) c[j] = g->row[j];                                    \
    for (size_t t = 0; t < g->k; t++) {                                                      \
      double a = g->A[i * g->ars + t * g->ats];                                              \
      const double *restrict b = g->B + t * g->ldb;                                          \
      for (size_t j = 0; j < g->n; j++) c[j] = fma(a, b[j], c[j]);                           \
    }                                                                                        \
    if (g->epi == EPI_TANH)                                                                  \
      tanh_row(c, g->n);                                                                     \
    else if (g->epi != EPI_NONE)                                                             \
      for (size_t j = 0; j < g->n; j++)                                                      \
        c[j] = epi_scalar(g->epi, c[j], g->H ? g->H[i * g->ldh + j] : 0.0);                  \
  }

/* h[r, :] = act(b + sum_k X[r, k] W[k, :]) over the non-zero X[r, k], given
 * as compressed rows (ptr, idx, val), k increasing. */
#define SPF_PORTABLE_BODY                                                                    \
  for (size_t r = 0; r < n; r++) {                                                           \
    double *restrict c = h + r * no;                                                         \
    for (size_t j = 0; j < no; j++) c[j] = b[j];                                             \
    for (size_t q = ptr[r] - ptr[0]; q < ptr[r + 1] - ptr[0]; q++) {                         \
      const double *restrict w = W + (size_t)idx[q] * no;                                    \
      double a = val[q];                                                                     \
      for (size_t j = 0; j < no; j++) c[j] = fma(a, w[j], c[j]);                             \
    }                                                                                        \
    if (epi == EPI_TANH)                                                                     \
      tanh_row(c, no);                                                                       \
    else if (epi != EPI_NONE)                                                                \
      for (size_t j = 0; j < no; j++) c[j] = epi_scalar(epi, c[j], 0.0);                     \
  }

/* gW[k, :] (= or +=) sum X[r, k] dZ[r, :] over the non-zero X[r, k], given
 * by columns (cptr, crow, cval), r increasing. */
#define SPG_PORTABLE_BODY                                                                    \
  for (size_t k = 0; k < ni; k++) {                                                          \
    double *restrict g = gW + k * no;                                                        \
    if (set)                                                                                 \
      for (size_t j = 0; j < no; j++) g[j] = 0.0;                                            \
    for (size_t q = cptr[k]; q < cptr[k + 1]; q++) {                                         \
      const double *restrict d = dZ + (size_t)crow[q] * no;                                  \
      double a = cval[q];                                                                    \
      for (size_t j = 0; j < no; j++) g[j] = fma(a, d[j], g[j]);                             \
    }                                                                                        \
  }

#define SPF_ARGS                                                                             \
  size_t n, size_t no, const size_t *restrict ptr, const uint32_t *restrict idx,             \
      const double *restrict val, const double *restrict W, const double *restrict b,        \
      double *restrict h, epi_kind epi
#define SPG_ARGS                                                                             \
  size_t ni, size_t no, const size_t *restrict cptr, const uint32_t *restrict crow,          \
      const double *restrict cval, const double *restrict dZ, double *restrict gW, int set

static void gemm_portable(const gemm_args *g) { GEMM_PORTABLE_BODY }
static void spf_portable(SPF_ARGS) { SPF_PORTABLE_BODY }
static void spg_portable(SPG_ARGS) { SPG_PORTABLE_BODY }

#if PG_HAVE_AVX2
#define TFMA __attribute__((target("avx2,fma")))
TFMA static void gemm_fma(const gemm_args *g) { GEMM_PORTABLE_BODY }
TFMA static void spf_fma(SPF_ARGS) { SPF_PORTABLE_BODY }
TFMA static void spg_fma(SPG_ARGS) { SPG_PORTABLE_BODY }

#define T512 __attribute__((target("avx512f,avx2,fma")))

/* tanh_avx2's operations, eight lanes */
T512 __attribute__((noinline)) static __m512d tanh512(__m512d x) {
  const __m512d one = _mm512_set1_pd(1.0), magic = _mm512_set1_pd(EXP_MAGIC);
  const __m512i sgn = _mm512_set1_epi64((long long)0x8000000000000000ULL);
  __m512d a = _mm512_castsi512_pd(_mm512_andnot_si512(sgn, _mm512_castpd_si512(x)));
  __m512d x2 = _mm512_mul_pd(x, x);
  __m512d q = _mm512_fmadd_pd(x2, _mm512_set1_pd(-17.0 / 315.0), _mm512_set1_pd(2.0 / 15.0));
  q = _mm512_fmadd_pd(x2, q, _mm512_set1_pd(-1.0 / 3.0));
  q = _mm512_fmadd_pd(x2, q, one);
  __m512d small = _mm512_mul_pd(x, q);
  __m512d ac = _mm512_min_pd(_mm512_set1_pd(TANH_BIG), a);
  __m512d y = _mm512_mul_pd(_mm512_set1_pd(-2.0), ac);
  __m512d k = _mm512_fmadd_pd(y, _mm512_set1_pd(EXP_LOG2E), magic);
  __m512d nd = _mm512_sub_pd(k, magic);
  __m512d r = _mm512_fmadd_pd(nd, _mm512_set1_pd(-EXP_LN2HI), y);
  r = _mm512_fmadd_pd(nd, _mm512_set1_pd(-EXP_LN2LO), r);
  __m512d p = _mm512_set1_pd(EXP_C[13]);
  for (int j = 12; j >= 0; j--) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(EXP_C[j]));
  __m512i sb = _mm512_slli_epi64(
      _mm512_add_epi64(_mm512_sub_epi64(_mm512_castpd_si512(k), _mm512_castpd_si512(magic)),
                       _mm512_set1_epi64(1023)),
      52);
  __m512d t = _mm512_mul_pd(p, _mm512_castsi512_pd(sb));
  __m512d big = _mm512_div_pd(_mm512_sub_pd(one, t), _mm512_add_pd(one, t));
  __mmask8 neg = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LT_OQ);
  big = _mm512_mask_mov_pd(big, neg, _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(big), sgn)));
  __mmask8 issmall = _mm512_cmp_pd_mask(a, _mm512_set1_pd(TANH_SMALL), _CMP_LT_OQ);
  return _mm512_mask_mov_pd(big, issmall, small);
}

T512 static inline __m512d epi512(epi_kind e, __m512d c, const double *h, __mmask8 mk) {
  switch (e) {
  case EPI_TANH: return tanh512(c);
  case EPI_RELU: return _mm512_max_pd(c, _mm512_setzero_pd()); /* c > 0 ? c : 0 */
  case EPI_DTANH: {
    __m512d hv = _mm512_maskz_loadu_pd(mk, h);
    return _mm512_mul_pd(c, _mm512_fnmadd_pd(hv, hv, _mm512_set1_pd(1.0)));
  }
  case EPI_DRELU: {
    __m512d hv = _mm512_maskz_loadu_pd(mk, h);
    return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(hv, _mm512_setzero_pd(), _CMP_GT_OQ), c);
  }
  default: return c;
  }
}

/* R rows (<= 4) x NV vectors (<= 4) of C from row i0, column j0; the last
 * vector masked by `last`. */
T512 static inline __attribute__((always_inline)) void gemm512_blk(const gemm_args *g, size_t i0,
                                                                  const size_t R, size_t j0,
                                                                  const size_t NV,
                                                                  __mmask8 last) {
  __m512d acc[4][4];
  __mmask8 mk[4];
  _Pragma("GCC unroll 8")
  for (size_t v = 0; v < NV; v++) mk[v] = v + 1 == NV ? last : (__mmask8)0xff;
  _Pragma("GCC unroll 8")
  for (size_t r = 0; r < R; r++)
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) {
      if (g->init == INIT_ZERO)
        acc[r][v] = _mm512_setzero_pd();
      else if (g->init == INIT_ROW)
        acc[r][v] = _mm512_maskz_loadu_pd(mk[v], g->row + j0 + 8 * v);
      else
        acc[r][v] = _mm512_maskz_loadu_pd(mk[v], g->C + (i0 + r) * g->ldc + j0 + 8 * v);
    }
  const double *a = g->A + i0 * g->ars, *b = g->B + j0;
  size_t ars = g->ars, ats = g->ats, ldb = g->ldb;
  for (size_t t = 0; t < g->k; t++, a += ats, b += ldb) {
    __m512d bv[4];
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_pd(mk[v], b + 8 * v);
    _Pragma("GCC unroll 8")
    for (size_t r = 0; r < R; r++) {
      __m512d av = _mm512_set1_pd(a[r * ars]);
      _Pragma("GCC unroll 8")
      for (size_t v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_pd(av, bv[v], acc[r][v]);
    }
  }
  _Pragma("GCC unroll 8")
  for (size_t r = 0; r < R; r++)
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) {
      size_t j = j0 + 8 * v;
      __m512d c = acc[r][v];
      if (g->epi != EPI_NONE) c = epi512(g->epi, c, g->H ? g->H + (i0 + r) * g->ldh + j : NULL, mk[v]);
      _mm512_mask_storeu_pd(g->C + (i0 + r) * g->ldc + j, mk[v], c);
    }
}

#define GEMM512_CASE(R, NV)                                                                  \
  case (R) * 8 + (NV):                                                                       \
    gemm512_blk(g, i0, R, j0, NV, last);                                                     \
    break;

T512 static void gemm512(const gemm_args *g) {
  for (size_t j0 = 0; j0 < g->n; j0 += 32) {
    size_t w = g->n - j0 < 32 ? g->n - j0 : 32, NV = (w + 7) / 8;
    __mmask8 last = (__mmask8)((1u << (w - 8 * (NV - 1))) - 1u);
    for (size_t i0 = 0; i0 < g->m; i0 += 4) {
      size_t R = g->m - i0 < 4 ? g->m - i0 : 4;
      switch (R * 8 + NV) {
        GEMM512_CASE(4, 4) GEMM512_CASE(4, 3) GEMM512_CASE(4, 2) GEMM512_CASE(4, 1)
        GEMM512_CASE(3, 4) GEMM512_CASE(3, 3) GEMM512_CASE(3, 2) GEMM512_CASE(3, 1)
        GEMM512_CASE(2, 4) GEMM512_CASE(2, 3) GEMM512_CASE(2, 2) GEMM512_CASE(2, 1)
        GEMM512_CASE(1, 4) GEMM512_CASE(1, 3) GEMM512_CASE(1, 2) GEMM512_CASE(1, 1)
      default: break;
      }
    }
  }
}

/* Sparse forward, NV (<= 8) vectors of columns from j0 */
T512 static inline __attribute__((always_inline)) void spf512_blk(SPF_ARGS, size_t j0,
                                                                 const size_t NV,
                                                                 __mmask8 last) {
  __mmask8 mk[8];
  _Pragma("GCC unroll 8")
  for (size_t v = 0; v < NV; v++) mk[v] = v + 1 == NV ? last : (__mmask8)0xff;
  for (size_t r = 0; r < n; r++) {
    __m512d acc[8];
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) acc[v] = _mm512_maskz_loadu_pd(mk[v], b + j0 + 8 * v);
    for (size_t q = ptr[r] - ptr[0]; q < ptr[r + 1] - ptr[0]; q++) {
      const double *w = W + (size_t)idx[q] * no + j0;
      __m512d a = _mm512_set1_pd(val[q]);
      _Pragma("GCC unroll 8")
      for (size_t v = 0; v < NV; v++)
        acc[v] = _mm512_fmadd_pd(a, _mm512_maskz_loadu_pd(mk[v], w + 8 * v), acc[v]);
    }
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) {
      __m512d c = epi == EPI_NONE ? acc[v] : epi512(epi, acc[v], NULL, mk[v]);
      _mm512_mask_storeu_pd(h + r * no + j0 + 8 * v, mk[v], c);
    }
  }
}

/* Sparse weight gradient, NV (<= 8) vectors of columns from j0 */
T512 static inline __attribute__((always_inline)) void spg512_blk(SPG_ARGS, size_t j0,
                                                                 const size_t NV,
                                                                 __mmask8 last) {
  __mmask8 mk[8];
  _Pragma("GCC unroll 8")
  for (size_t v = 0; v < NV; v++) mk[v] = v + 1 == NV ? last : (__mmask8)0xff;
  for (size_t k = 0; k < ni; k++) {
    double *g = gW + k * no + j0;
    if (!set && cptr[k] == cptr[k + 1]) continue;
    __m512d acc[8];
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++)
      acc[v] = set ? _mm512_setzero_pd() : _mm512_maskz_loadu_pd(mk[v], g + 8 * v);
    for (size_t q = cptr[k]; q < cptr[k + 1]; q++) {
      const double *d = dZ + (size_t)crow[q] * no + j0;
      __m512d a = _mm512_set1_pd(cval[q]);
      _Pragma("GCC unroll 8")
      for (size_t v = 0; v < NV; v++)
        acc[v] = _mm512_fmadd_pd(a, _mm512_maskz_loadu_pd(mk[v], d + 8 * v), acc[v]);
    }
    _Pragma("GCC unroll 8")
    for (size_t v = 0; v < NV; v++) _mm512_mask_storeu_pd(g + 8 * v, mk[v], acc[v]);
  }
}

#define SP_CASES(F, ...)                                                                     \
  switch (NV) {                                                                              \
  case 8: F(__VA_ARGS__, j0, 8, last); break;                                                \
  case 7: F(__VA_ARGS__, j0, 7, last); break;                                                \
  case 6: F(__VA_ARGS__, j0, 6, last); break;                                                \
  case 5: F(__VA_ARGS__, j0, 5, last); break;                                                \
  case 4: F(__VA_ARGS__, j0, 4, last); break;                                                \
  case 3: F(__VA_ARGS__, j0, 3, last); break;                                                \
  case 2: F(__VA_ARGS__, j0, 2, last); break;                                                \
  default: F(__VA_ARGS__, j0, 1, last); break;                                               \
  }

T512 static void spf512(SPF_ARGS) {
  for (size_t j0 = 0; j0 < no; j0 += 64) {
    size_t w = no - j0 < 64 ? no - j0 : 64, NV = (w + 7) / 8;
    __mmask8 last = (__mmask8)((1u << (w - 8 * (NV - 1))) - 1u);
    SP_CASES(spf512_blk, n, no, ptr, idx, val, W, b, h, epi)
  }
}

T512 static void spg512(SPG_ARGS) {
  for (size_t j0 = 0; j0 < no; j0 += 64) {
    size_t w = no - j0 < 64 ? no - j0 : 64, NV = (w + 7) / 8;
    __mmask8 last = (__mmask8)((1u << (w - 8 * (NV - 1))) - 1u);
    SP_CASES(spg512_blk, ni, no, cptr, crow, cval, dZ, gW, set)
  }
}
#endif

static void gemm(const gemm_args *g) {
#if PG_HAVE_AVX2
  if (simd_level() == 2) {
    gemm512(g);
    return;
  }
  if (simd_level() == 1) {
    gemm_fma(g);
    return;
  }
#endif
  gemm_portable(g);
}

static void sparse_forward(SPF_ARGS) {
#if PG_HAVE_AVX2
  if (simd_level() == 2) {
    spf512(n, no, ptr, idx, val, W, b, h, epi);
    return;
  }
  if (simd_level() == 1) {
    spf_fma(n, no, ptr, idx, val, W, b, h, epi);
    return;
  }
#endif
  spf_portable(n, no, ptr, idx, val, W, b, h, epi);
}

static void sparse_grad(SPG_ARGS) {
#if PG_HAVE_AVX2
  if (simd_level() == 2) {
    spg512(ni, no, cptr, crow, cval, dZ, gW, set);
    return;
  }
  if (simd_level() == 1) {
    spg_fma(ni, no, cptr, crow, cval, dZ, gW, set);
    return;
  }
#endif
  spg_portable(ni, no, cptr, crow, cval, dZ, gW, set);
}

static epi_kind act_epi(const pg_mlp *m, size_t l) {
  if (l + 1 < m->nlayers || m->act_out) return m->act == PG_MLP_TANH ? EPI_TANH : EPI_RELU;
  return EPI_NONE;
}

/* The layers, once the first layer's input is set up (X dense, or the
 * compressed rows in m->nz* when m->sparse). */
static void forward_layers(pg_mlp *m, const double *X, size_t n, double *Y) {
  const double *in = X;
  for (size_t l = 0; l < m->nlayers; l++) {
    size_t ni = m->sizes[l], no = m->sizes[l + 1];
    const double *W = m->params + m->offset[l], *b = W + no * ni;
    double *h = m->h[l];
    if (l == 0 && m->sparse) {
      sparse_forward(n, no, m->sptr, m->sidx, m->sval, W, b, h, act_epi(m, l));
    } else {
      gemm_args g = {.m = n, .n = no, .k = ni, .A = in, .ars = ni, .ats = 1, .B = W, .ldb = no,
                     .C = h, .ldc = no, .init = INIT_ROW, .row = b, .epi = act_epi(m, l)};
      gemm(&g);
    }
    in = h;
  }
  m->n = n;
  m->x = X;
  if (Y) memcpy(Y, m->h[m->nlayers - 1], n * m->sizes[m->nlayers] * sizeof *Y);
}

pg_status pg_mlp_forward(pg_mlp *m, const double *X, size_t n, double *Y) {
  if (n == 0) return PG_EINVAL;
  pg_status st = reserve(m, n);
  if (st != PG_OK) return st;
  size_t nnz = compress_rows(n, m->sizes[0], X, m->nzptr, m->nzidx, m->nzval);
  m->sptr = m->nzptr;
  m->sidx = m->nzidx;
  m->sval = m->nzval;
  m->xcptr = NULL;
  m->sparse = (double)nnz < PG_MLP_SPARSE_MAX_DENSITY * (double)(n * m->sizes[0]);
  forward_layers(m, X, n, Y);
  return PG_OK;
}

pg_status pg_mlp_forward_sparse(pg_mlp *m, size_t n, const size_t *ptr, const uint32_t *idx,
                                const double *val, double *Y) {
  if (n == 0) return PG_EINVAL;
  size_t ni = m->sizes[0];
  for (size_t r = 0; r < n; r++) {
    if (ptr[r + 1] < ptr[r] || ptr[r + 1] - ptr[r] > ni) return PG_EINVAL;
    for (size_t c = ptr[r]; c < ptr[r + 1]; c++)
      if (idx[c - ptr[0]] >= ni || (c > ptr[r] && idx[c - ptr[0]] <= idx[c - 1 - ptr[0]]))
        return PG_EINVAL;
  }
  pg_status st = reserve(m, n);
  if (st != PG_OK) return st;
  size_t nnz = ptr[n] - ptr[0];
  for (size_t r = 0; r <= n; r++) m->nzptr[r] = ptr[r] - ptr[0];
  memcpy(m->nzidx, idx, nnz * sizeof *idx);
  memcpy(m->nzval, val, nnz * sizeof *val);
  m->sptr = m->nzptr;
  m->sidx = m->nzidx;
  m->sval = m->nzval;
  m->xcptr = NULL;
  m->sparse = 1;
  forward_layers(m, NULL, n, Y);
  m->n = n;
  return PG_OK;
}

pg_status pg_mlp_forward_sparse_ref(pg_mlp *m, size_t n, const size_t *ptr,
                                    const uint32_t *idx, const double *val, const size_t *cptr,
                                    const uint32_t *crow, const double *cval, double *Y) {
  if (n == 0) return PG_EINVAL;
  pg_status st = reserve(m, n);
  if (st != PG_OK) return st;
  m->xcptr = cptr;
  m->xcrow = crow;
  m->xcval = cval;
  m->sptr = ptr;
  m->sidx = idx;
  m->sval = val;
  m->sparse = 1;
  forward_layers(m, NULL, n, Y);
  return PG_OK;
}

const double *pg_mlp_output(const pg_mlp *m) { return m->n ? m->h[m->nlayers - 1] : NULL; }

static pg_status backward(pg_mlp *m, const double *dY, double *dX, int set) {
  size_t n = m->n;
  if (n == 0) return PG_ESTATE;
  size_t L = m->nlayers;
  epi_kind deriv = m->act == PG_MLP_TANH ? EPI_DTANH : EPI_DRELU;
  /* d = dL/dz_l of the layer in hand; the buffers alternate */
  const double *d = dY;
  int nb = 0;
  if (m->act_out) {
    const double *h = m->h[L - 1];
    double *o = m->dbuf[nb];
    nb ^= 1;
    for (size_t i = 0; i < n * m->sizes[L]; i++) o[i] = epi_scalar(deriv, dY[i], h[i]);
    d = o;
  }
  for (size_t l = L; l-- > 0;) {
    size_t ni = m->sizes[l], no = m->sizes[l + 1];
    const double *in = l ? m->h[l - 1] : m->x;
    const double *W = m->params + m->offset[l];
    double *gW = m->grad + m->offset[l], *gb = gW + no * ni;
    /* dW (=, +=) X^T dZ (W stored in x out); db (=, +=) column sums of dZ */
    if (l == 0 && m->sparse) {
      if (m->xcptr) {
        sparse_grad(ni, no, m->xcptr, m->xcrow, m->xcval, d, gW, set);
      } else {
        pg_mlp_rows_to_columns(n, ni, m->sptr, m->sidx, m->sval, m->cptr, m->crow, m->cval);
        sparse_grad(ni, no, m->cptr, m->crow, m->cval, d, gW, set);
      }
    } else {
      gemm_args g = {.m = ni, .n = no, .k = n, .A = in, .ars = 1, .ats = ni, .B = d, .ldb = no,
                     .C = gW, .ldc = no, .init = set ? INIT_ZERO : INIT_C, .epi = EPI_NONE};
      gemm(&g);
    }
    if (set) memset(gb, 0, no * sizeof *gb);
    for (size_t r = 0; r < n; r++)
      for (size_t j = 0; j < no; j++) gb[j] += d[r * no + j];
    if (l > 0 || dX) {
      /* dL/dh_{l-1} = dZ W^T, times act'(h_{l-1}) below the input layer */
      double *wt = m->wt;
      for (size_t k = 0; k < ni; k++)
        for (size_t j = 0; j < no; j++) wt[j * ni + k] = W[k * no + j];
      double *target = l > 0 ? m->dbuf[nb] : dX;
      gemm_args g = {.m = n, .n = ni, .k = no, .A = d, .ars = no, .ats = 1, .B = wt, .ldb = ni,
                     .C = target, .ldc = ni, .init = INIT_ZERO,
                     .epi = l > 0 ? deriv : EPI_NONE, .H = l > 0 ? m->h[l - 1] : NULL, .ldh = ni};
      gemm(&g);
      d = target;
      nb ^= 1;
    }
  }
  return PG_OK;
}

pg_status pg_mlp_backward(pg_mlp *m, const double *dY, double *dX) {
  return backward(m, dY, dX, 0);
}

pg_status pg_mlp_backward_set(pg_mlp *m, const double *dY, double *dX) {
  return backward(m, dY, dX, 1);
}

void pg_mlp_zero_grad(pg_mlp *m) { memset(m->grad, 0, m->nparams * sizeof *m->grad); }

pg_status pg_mlp_copy_params(pg_mlp *dst, const pg_mlp *src) {
  if (dst->nlayers != src->nlayers) return PG_ESHAPE;
  for (size_t l = 0; l <= src->nlayers; l++)
    if (dst->sizes[l] != src->sizes[l]) return PG_ESHAPE;
  memcpy(dst->params, src->params, src->nparams * sizeof *src->params);
  return PG_OK;
}

/* ---- Adam ---- */

pg_status pg_mlp_adam_init(pg_mlp_adam *a, size_t n, double lr, double eps) {
  memset(a, 0, sizeof *a);
  if (!(lr > 0.0) || !isfinite(lr) || !(eps > 0.0) || !isfinite(eps)) return PG_EINVAL;
  a->m = calloc(n ? n : 1, sizeof *a->m);
  a->v = calloc(n ? n : 1, sizeof *a->v);
  if (!a->m || !a->v) {
    pg_mlp_adam_free(a);
    return PG_ENOMEM;
  }
  a->n = n;
  a->lr = lr;
  a->beta1 = 0.9;
  a->beta2 = 0.999;
  a->eps = eps;
  return PG_OK;
}

void pg_mlp_adam_free(pg_mlp_adam *a) {
  free(a->m);
  free(a->v);
  a->m = a->v = NULL;
  a->n = 0;
}

/* One Adam update of n parameters. torch's form:
 *   p -= lr/c1 * m / (sqrt(v)/sqrt(c2) + eps). */
static void adam_scalar(size_t n, double b1, double b2, double step, double isc2, double eps,
                        double gs, double *restrict m, double *restrict v,
                        double *restrict params, const double *restrict grad) {
  double ob1 = 1.0 - b1, ob2 = 1.0 - b2;
  for (size_t i = 0; i < n; i++) {
    double g = gs == 1.0 ? grad[i] : grad[i] * gs;
    double mi = b1 * m[i] + ob1 * g, vi = b2 * v[i] + ob2 * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= step * mi / (sqrt(vi) * isc2 + eps);
  }
}

#if PG_HAVE_AVX2
/* The same operations four at a time (the compiler does not vectorise the
 * scalar loop: libm's sqrt may set errno). No FMA, correctly rounded
 * vsqrtpd/vdivpd: bit-identical to adam_scalar. */
__attribute__((target("avx2"))) static void adam_avx2(size_t n, double b1, double b2, double step,
                                                      double isc2, double eps, double gs,
                                                      double *restrict m, double *restrict v,
                                                      double *restrict params,
                                                      const double *restrict grad) {
  __m256d vb1 = _mm256_set1_pd(b1), vb2 = _mm256_set1_pd(b2), vob1 = _mm256_set1_pd(1.0 - b1),
          vob2 = _mm256_set1_pd(1.0 - b2), vstep = _mm256_set1_pd(step),
          visc2 = _mm256_set1_pd(isc2), veps = _mm256_set1_pd(eps), vgs = _mm256_set1_pd(gs);
  int scaled = gs != 1.0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d g = _mm256_loadu_pd(grad + i);
    if (scaled) g = _mm256_mul_pd(g, vgs);
    __m256d mi = _mm256_add_pd(_mm256_mul_pd(vb1, _mm256_loadu_pd(m + i)), _mm256_mul_pd(vob1, g));
    __m256d vi = _mm256_add_pd(_mm256_mul_pd(vb2, _mm256_loadu_pd(v + i)),
                               _mm256_mul_pd(_mm256_mul_pd(vob2, g), g));
    _mm256_storeu_pd(m + i, mi);
    _mm256_storeu_pd(v + i, vi);
    __m256d den = _mm256_add_pd(_mm256_mul_pd(_mm256_sqrt_pd(vi), visc2), veps);
    __m256d upd = _mm256_div_pd(_mm256_mul_pd(vstep, mi), den);
    _mm256_storeu_pd(params + i, _mm256_sub_pd(_mm256_loadu_pd(params + i), upd));
  }
  adam_scalar(n - i, b1, b2, step, isc2, eps, gs, m + i, v + i, params + i, grad + i);
}
/* The same, eight at a time (bit-identical as well). */
__attribute__((target("avx512f"))) static void adam_avx512(size_t n, double b1, double b2,
                                                           double step, double isc2, double eps,
                                                           double gs, double *restrict m,
                                                           double *restrict v,
                                                           double *restrict params,
                                                           const double *restrict grad) {
  __m512d vb1 = _mm512_set1_pd(b1), vb2 = _mm512_set1_pd(b2), vob1 = _mm512_set1_pd(1.0 - b1),
          vob2 = _mm512_set1_pd(1.0 - b2), vstep = _mm512_set1_pd(step),
          visc2 = _mm512_set1_pd(isc2), veps = _mm512_set1_pd(eps), vgs = _mm512_set1_pd(gs);
  int scaled = gs != 1.0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512d g = _mm512_loadu_pd(grad + i);
    if (scaled) g = _mm512_mul_pd(g, vgs);
    __m512d mi = _mm512_add_pd(_mm512_mul_pd(vb1, _mm512_loadu_pd(m + i)), _mm512_mul_pd(vob1, g));
    __m512d vi = _mm512_add_pd(_mm512_mul_pd(vb2, _mm512_loadu_pd(v + i)),
                               _mm512_mul_pd(_mm512_mul_pd(vob2, g), g));
    _mm512_storeu_pd(m + i, mi);
    _mm512_storeu_pd(v + i, vi);
    __m512d den = _mm512_add_pd(_mm512_mul_pd(_mm512_sqrt_pd(vi), visc2), veps);
    __m512d upd = _mm512_div_pd(_mm512_mul_pd(vstep, mi), den);
    _mm512_storeu_pd(params + i, _mm512_sub_pd(_mm512_loadu_pd(params + i), upd));
  }
  adam_scalar(n - i, b1, b2, step, isc2, eps, gs, m + i, v + i, params + i, grad + i);
}
#endif

void pg_mlp_adam_step(pg_mlp_adam *a, double *restrict params, const double *restrict grad) {
  pg_mlp_adam_step_scaled(a, params, grad, 1.0);
}

void pg_mlp_adam_step_scaled(pg_mlp_adam *a, double *restrict params, const double *restrict grad,
                             double gs) {
  a->t++;
  double c1 = 1.0 - pow(a->beta1, (double)a->t), c2 = 1.0 - pow(a->beta2, (double)a->t);
  double step = a->lr / c1, isc2 = 1.0 / sqrt(c2);
#if PG_HAVE_AVX2
  if (simd_level() == 2) {
    adam_avx512(a->n, a->beta1, a->beta2, step, isc2, a->eps, gs, a->m, a->v, params, grad);
    return;
  }
  if (__builtin_cpu_supports("avx2")) {
    adam_avx2(a->n, a->beta1, a->beta2, step, isc2, a->eps, gs, a->m, a->v, params, grad);
    return;
  }
#endif
  adam_scalar(a->n, a->beta1, a->beta2, step, isc2, a->eps, gs, a->m, a->v, params, grad);
}

/* ---- files ---- */

pg_status pg_mlp_write(const pg_mlp *m, void *gzfile) {
  gzFile f = gzfile;
  if (gzprintf(f, "perigee-mlp 1\nlayers %zu act %d act_out %d\nsizes", m->nlayers, (int)m->act,
               m->act_out) <= 0)
    return PG_EIO;
  for (size_t l = 0; l <= m->nlayers; l++)
    if (gzprintf(f, " %zu", m->sizes[l]) <= 0) return PG_EIO;
  if (gzprintf(f, "\n") <= 0) return PG_EIO;
  for (size_t i = 0; i < m->nparams; i++)
    if (gzprintf(f, "%a\n", m->params[i]) <= 0) return PG_EIO;
  return PG_OK;
}

pg_status pg_mlp_read(pg_mlp **out, void *gzfile) {
  gzFile f = gzfile;
  char line[512];
  *out = NULL;
  if (!gzgets(f, line, sizeof line) || strcmp(line, "perigee-mlp 1\n") != 0) return PG_EFORMAT;
  size_t nl;
  int act, act_out;
  if (!gzgets(f, line, sizeof line) ||
      sscanf(line, "layers %zu act %d act_out %d", &nl, &act, &act_out) != 3 || nl < 1 ||
      nl > PG_MLP_MAX_LAYERS)
    return PG_EFORMAT;
  size_t sizes[PG_MLP_MAX_LAYERS + 1];
  if (!gzgets(f, line, sizeof line) || strncmp(line, "sizes", 5) != 0) return PG_EFORMAT;
  char *p = line + 5;
  for (size_t l = 0; l <= nl; l++) {
    char *e;
    unsigned long long v = strtoull(p, &e, 10);
    if (e == p) return PG_EFORMAT;
    sizes[l] = (size_t)v;
    p = e;
  }
  pg_mlp *m;
  pg_status st = pg_mlp_new(&m, nl, sizes, (pg_mlp_act)act, act_out);
  if (st != PG_OK) return st == PG_ENOMEM ? st : PG_EFORMAT;
  for (size_t i = 0; i < m->nparams; i++) {
    char *e;
    if (!gzgets(f, line, sizeof line)) {
      pg_mlp_free(m);
      return PG_EFORMAT;
    }
    m->params[i] = strtod(line, &e);
    if (e == line || !isfinite(m->params[i])) {
      pg_mlp_free(m);
      return PG_EFORMAT;
    }
  }
  *out = m;
  return PG_OK;
}

pg_status pg_mlp_save(const pg_mlp *m, const char *path) {
  gzFile f = gzopen(path, "wb");
  if (!f) return PG_EIO;
  pg_status st = pg_mlp_write(m, f);
  if (gzclose(f) != Z_OK && st == PG_OK) st = PG_EIO;
  return st;
}

pg_status pg_mlp_load(pg_mlp **out, const char *path) {
  *out = NULL;
  gzFile f = gzopen(path, "rb");
  if (!f) return PG_EIO;
  pg_status st = pg_mlp_read(out, f);
  gzclose(f);
  return st;
}
