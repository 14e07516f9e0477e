/*
 * kernel.c -- covariance functions and their gradients (see kernel.h).
 *
 * Rasmussen and Williams, "Gaussian Processes for Machine Learning", MIT
 * Press 2006: SE and Matern forms (eq. 4.9, 4.17), ARD (sec. 5.1).
 *
 * Every stationary base kernel is s2 * f(q) with q = |z - z'|^2, z = x / l
 * over the kernel's columns. Then d k / d log l_j = s2 * w(q) * (z_j - z'_j)^2
 * with w(q) = -2 f'(q), and for a weight matrix W_ab = dLdK_ab s2 w(q_ab)
 *   sum_ab W_ab (z_aj - z'_bj)^2 = sum_a z_aj^2 rowsum_a(W)
 *                                + sum_b z'_bj^2 colsum_b(W) - 2 sum_a z_aj (W Z')_aj,
 * one GEMM. The unit functions and weights:
 *   SE   f = exp(-q/2)                      w = exp(-q/2)
 *   M12  f = exp(-r)                        w = exp(-r) / r   (0 at r = 0)
 *   M32  f = (1 + s r) exp(-s r), s = sqrt3 w = 3 exp(-s r)
 *   M52  f = (1 + s r + s^2 r^2/3) e^{-s r} w = (5/3)(1 + s r) exp(-s r), s = sqrt5
 */
#include "kernel.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const char *const kind_names[PG_KERNEL_KIND_COUNT] = {
    "se", "matern12", "matern32", "matern52", "hamming", "sum", "product"};

const char *pg_kernel_kind_name(pg_kernel_kind kind) {
  return (unsigned)kind < PG_KERNEL_KIND_COUNT ? kind_names[kind] : "?";
}

pg_status pg_kernel_kind_parse(const char *name, pg_kernel_kind *kind) {
  static const struct {
    const char *name;
    pg_kernel_kind kind;
  } alias[] = {{"rbf", PG_KERNEL_SE},          {"sqexp", PG_KERNEL_SE},
               {"exponential", PG_KERNEL_MATERN12}, {"overlap", PG_KERNEL_HAMMING},
               {"categorical", PG_KERNEL_HAMMING},  {"prod", PG_KERNEL_PRODUCT}};
  if (!name) return PG_EINVAL;
  for (int i = 0; i < PG_KERNEL_KIND_COUNT; i++)
    if (strcmp(name, kind_names[i]) == 0) {
      *kind = (pg_kernel_kind)i;
      return PG_OK;
    }
  for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
    if (strcmp(name, alias[i].name) == 0) {
      *kind = alias[i].kind;
      return PG_OK;
    }
  return PG_EINVAL;
}

static int is_base(pg_kernel_kind kind) { return kind <= PG_KERNEL_HAMMING; }

pg_status pg_kernel_new(pg_kernel **out, pg_kernel_kind kind, const size_t *dims, size_t ndims) {
  *out = NULL;
  if (!is_base(kind) || ndims == 0 || ndims > ((size_t)1 << 20)) return PG_EINVAL;
  pg_kernel *k = calloc(1, sizeof *k);
  if (!k) return PG_ENOMEM;
  k->kind = kind;
  k->ndims = ndims;
  k->dims = malloc(ndims * sizeof *k->dims);
  k->loglen = calloc(ndims, sizeof *k->loglen);
  if (!k->dims || !k->loglen) {
    pg_kernel_free(k);
    return PG_ENOMEM;
  }
  for (size_t j = 0; j < ndims; j++) k->dims[j] = dims ? dims[j] : j;
  k->logvar = 0.0;
  *out = k;
  return PG_OK;
}

pg_status pg_kernel_combine(pg_kernel **out, pg_kernel_kind kind, pg_kernel **children,
                            size_t n) {
  *out = NULL;
  pg_status st = PG_OK;
  pg_kernel *k = NULL;
  if ((kind != PG_KERNEL_SUM && kind != PG_KERNEL_PRODUCT) || n == 0) st = PG_EINVAL;
  for (size_t i = 0; st == PG_OK && i < n; i++)
    if (!children[i]) st = PG_EINVAL;
  if (st == PG_OK) {
    k = calloc(1, sizeof *k);
    if (k) k->child = malloc(n * sizeof *k->child);
    if (!k || !k->child) {
      free(k);
      k = NULL;
      st = PG_ENOMEM;
    }
  }
  if (st != PG_OK) {
    for (size_t i = 0; i < n; i++) pg_kernel_free(children[i]);
    return st;
  }
  k->kind = kind;
  k->nchild = n;
  memcpy(k->child, children, n * sizeof *children);
  *out = k;
  return PG_OK;
}

void pg_kernel_free(pg_kernel *k) {
  if (!k) return;
  for (size_t i = 0; i < k->nchild; i++) pg_kernel_free(k->child[i]);
  free(k->child);
  free(k->dims);
  free(k->loglen);
  free(k);
}

pg_kernel *pg_kernel_clone(const pg_kernel *k) {
  if (!k) return NULL;
  pg_kernel *c = NULL;
  if (is_base(k->kind)) {
    if (pg_kernel_new(&c, k->kind, k->dims, k->ndims) != PG_OK) return NULL;
    memcpy(c->loglen, k->loglen, k->ndims * sizeof *k->loglen);
    c->logvar = k->logvar;
    return c;
  }
  pg_kernel **ch = calloc(k->nchild, sizeof *ch);
  if (!ch) return NULL;
  for (size_t i = 0; i < k->nchild; i++) {
    ch[i] = pg_kernel_clone(k->child[i]);
    if (!ch[i]) {
      for (size_t j = 0; j < i; j++) pg_kernel_free(ch[j]);
      free(ch);
      return NULL;
    }
  }
  pg_status st = pg_kernel_combine(&c, k->kind, ch, k->nchild);
  free(ch);
  return st == PG_OK ? c : NULL;
}

size_t pg_kernel_nparams(const pg_kernel *k) {
  if (is_base(k->kind)) return k->ndims + 1;
  size_t p = 0;
  for (size_t i = 0; i < k->nchild; i++) p += pg_kernel_nparams(k->child[i]);
  return p;
}

size_t pg_kernel_mindim(const pg_kernel *k) {
  size_t m = 0;
  if (is_base(k->kind)) {
    for (size_t j = 0; j < k->ndims; j++)
      if (k->dims[j] + 1 > m) m = k->dims[j] + 1;
    return m;
  }
  for (size_t i = 0; i < k->nchild; i++) {
    size_t c = pg_kernel_mindim(k->child[i]);
    if (c > m) m = c;
  }
  return m;
}

static void scales_rec(const pg_kernel *k, size_t d, double *scale) {
  if (is_base(k->kind)) {
    if (k->kind == PG_KERNEL_HAMMING) return;
    for (size_t j = 0; j < k->ndims; j++) {
      size_t c = k->dims[j];
      double l = exp(k->loglen[j]);
      if (c < d && isfinite(l) && l > 0.0 && (scale[c] == 0.0 || l < scale[c])) scale[c] = l;
    }
    return;
  }
  for (size_t i = 0; i < k->nchild; i++) scales_rec(k->child[i], d, scale);
}

void pg_kernel_input_scales(const pg_kernel *k, size_t d, double *scale) {
  for (size_t c = 0; c < d; c++) scale[c] = 0.0;
  scales_rec(k, d, scale);
  for (size_t c = 0; c < d; c++)
    if (scale[c] == 0.0) scale[c] = 1.0;
}

static size_t get_rec(const pg_kernel *k, double *theta) {
  if (is_base(k->kind)) {
    memcpy(theta, k->loglen, k->ndims * sizeof *theta);
    theta[k->ndims] = k->logvar;
    return k->ndims + 1;
  }
  size_t p = 0;
  for (size_t i = 0; i < k->nchild; i++) p += get_rec(k->child[i], theta + p);
  return p;
}

void pg_kernel_get_params(const pg_kernel *k, double *theta) { get_rec(k, theta); }

static size_t set_rec(pg_kernel *k, const double *theta) {
  if (is_base(k->kind)) {
    memcpy(k->loglen, theta, k->ndims * sizeof *theta);
    k->logvar = theta[k->ndims];
    return k->ndims + 1;
  }
  size_t p = 0;
  for (size_t i = 0; i < k->nchild; i++) p += set_rec(k->child[i], theta + p);
  return p;
}

pg_status pg_kernel_set_params(pg_kernel *k, const double *theta) {
  size_t p = pg_kernel_nparams(k);
  for (size_t i = 0; i < p; i++)
    if (!isfinite(theta[i]) || fabs(theta[i]) > 700.0) return PG_EDOM;
  set_rec(k, theta);
  return PG_OK;
}

void pg_kernel_init(pg_kernel *k, double ls, double var) {
  if (is_base(k->kind)) {
    for (size_t j = 0; j < k->ndims; j++) k->loglen[j] = log(ls);
    k->logvar = log(var);
    return;
  }
  for (size_t i = 0; i < k->nchild; i++) pg_kernel_init(k->child[i], ls, var);
}

/* Parameter i of the subtree k, path prefix already in buf. */
static int name_rec(const pg_kernel *k, size_t i, char *buf, size_t len, const char *prefix) {
  if (is_base(k->kind)) {
    if (i < k->ndims)
      snprintf(buf, len, "%s%s.lengthscale[%zu]", prefix, kind_names[k->kind], k->dims[i] + 1);
    else
      snprintf(buf, len, "%s%s.variance", prefix, kind_names[k->kind]);
    return 1;
  }
  for (size_t c = 0; c < k->nchild; c++) {
    size_t p = pg_kernel_nparams(k->child[c]);
    if (i < p) {
      char pre[256];
      snprintf(pre, sizeof pre, "%s%s[%zu].", prefix, kind_names[k->kind], c + 1);
      return name_rec(k->child[c], i, buf, len, pre);
    }
    i -= p;
  }
  snprintf(buf, len, "?");
  return 0;
}

void pg_kernel_param_name(const pg_kernel *k, size_t i, char *buf, size_t len) {
  if (len) buf[0] = 0;
  name_rec(k, i, buf, len, "");
}

static size_t describe_rec(const pg_kernel *k, char *buf, size_t len) {
  size_t w = 0;
#define EMIT(...)                                                              \
  do {                                                                         \
    int r_ = snprintf(buf + (w < len ? w : len), w < len ? len - w : 0, __VA_ARGS__); \
    if (r_ > 0) w += (size_t)r_;                                               \
  } while (0)
  if (is_base(k->kind)) {
    EMIT("%s{", kind_names[k->kind]);
    for (size_t j = 0; j < k->ndims; j++) {
      if (j == 8 && k->ndims > 10) {
        EMIT(",...,%zu", k->dims[k->ndims - 1] + 1);
        break;
      }
      EMIT(j ? ",%zu" : "%zu", k->dims[j] + 1);
    }
    EMIT("}");
  } else {
    EMIT("%s(", kind_names[k->kind]);
    for (size_t c = 0; c < k->nchild; c++) {
      if (c) EMIT(", ");
      w += describe_rec(k->child[c], buf + (w < len ? w : len), w < len ? len - w : 0);
    }
    EMIT(")");
  }
#undef EMIT
  return w;
}

void pg_kernel_describe(const pg_kernel *k, char *buf, size_t len) {
  if (len) buf[0] = 0;
  describe_rec(k, buf, len);
  if (len) buf[len - 1] = 0;
}

/* ---- vectorisable exp ---- */

/* exp(x) = 2^k exp(r), |r| <= ln2/2, exp(r) by its degree-13 Taylor
 * polynomial (truncation below 4e-18 relative), 2^k as two normal powers
 * of two so that results down to the subnormal range are right. Only
 * add/sub/mul/shift-left, so GCC vectorises the loop. */
/* Element-wise loops: GCC vectorises them only without errno-setting sqrt
 * and with non-trapping compares; one clone per x86-64 ISA level. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PG_VECTOR_LOOPS                                                                \
  __attribute__((optimize("O3", "no-trapping-math", "no-math-errno"),                 \
                 target_clones("avx512f", "avx2", "default")))
#else
#define PG_VECTOR_LOOPS
#endif

/* dst[i] = sqrt(max(src[i], 0)) with packed sqrt instructions (the libm
 * call may set errno, which stops GCC from vectorising a loop that
 * contains it): AVX-512 or AVX2 when the CPU has them, else SSE2. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define PG_HAVE_VSQRT_X86 1
__attribute__((target("avx512f"))) static void vsqrt_avx512(double *dst, const double *src,
                                                             size_t n) {
  size_t i = 0;
  const __m512d zero = _mm512_setzero_pd();
  for (; i + 8 <= n; i += 8)
    _mm512_storeu_pd(dst + i, _mm512_sqrt_pd(_mm512_max_pd(_mm512_loadu_pd(src + i), zero)));
  for (; i < n; i++) dst[i] = src[i] > 0.0 ? sqrt(src[i]) : 0.0;
}
__attribute__((target("avx2"))) static void vsqrt_avx2(double *dst, const double *src, size_t n) {
  size_t i = 0;
  const __m256d zero = _mm256_setzero_pd();
  for (; i + 4 <= n; i += 4)
    _mm256_storeu_pd(dst + i, _mm256_sqrt_pd(_mm256_max_pd(_mm256_loadu_pd(src + i), zero)));
  for (; i < n; i++) dst[i] = src[i] > 0.0 ? sqrt(src[i]) : 0.0;
}
#endif

static void vsqrt(double *dst, const double *src, size_t n) {
#ifdef PG_HAVE_VSQRT_X86
  if (__builtin_cpu_supports("avx512f")) {
    vsqrt_avx512(dst, src, n);
    return;
  }
  if (__builtin_cpu_supports("avx2")) {
    vsqrt_avx2(dst, src, n);
    return;
  }
#endif
  size_t i = 0;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd();
  for (; i + 2 <= n; i += 2)
    _mm_storeu_pd(dst + i, _mm_sqrt_pd(_mm_max_pd(_mm_loadu_pd(src + i), zero)));
#endif
  for (; i < n; i++) dst[i] = src[i] > 0.0 ? sqrt(src[i]) : 0.0;
}

PG_VECTOR_LOOPS
void pg_vexp(double *x, size_t n) {
  const double magic = 0x1.8p52;
  const union {
    double d;
    uint64_t u;
  } mg = {magic};
  const uint64_t mbits = mg.u;
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    v = v < -745.2 ? -745.2 : v;
    v = v > 709.7 ? 709.7 : v;
    double t = v * 1.4426950408889634 + magic;
    double kf = t - magic;
    double r = (v - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double t1 = kf * 0.5 + magic; /* k1 = round(k/2), k2 = k - k1 */
    double k1f = t1 - magic;
    double t2 = (kf - k1f) + magic;
    union {
      double d;
      uint64_t u;
    } a = {t1}, b = {t2}, e1, e2; /* bit casts, inlined in every clone */
    e1.u = ((a.u - mbits) + 1023u) << 52;
    e2.u = ((b.u - mbits) + 1023u) << 52;
    x[i] = p * e1.d * e2.d;
  }
}

/* ---- evaluation ---- */

/* Z[n x nd] = X[:, dims] / l. */
static pg_status scale_cols(const pg_kernel *k, const double *X, size_t n, size_t d, double *Z) {
  size_t nd = k->ndims;
  double *il = malloc(nd * sizeof *il);
  if (!il) return PG_ENOMEM;
  for (size_t j = 0; j < nd; j++) il[j] = exp(-k->loglen[j]);
  for (size_t i = 0; i < n; i++) {
    const double *x = X + i * d;
    double *z = Z + i * nd;
    for (size_t j = 0; j < nd; j++) z[j] = x[k->dims[j]] * il[j];
  }
  free(il);
  return PG_OK;
}

/* Row norms and the distance assembly of kdist (vectorised). */
PG_VECTOR_LOOPS
static void rownorms(const double *A, size_t n, size_t d, double *out) {
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t k = 0; k < d; k++) s += A[i * d + k] * A[i * d + k];
    out[i] = s;
  }
}

PG_VECTOR_LOOPS
static void addnorms(double *D, size_t n, size_t m, const double *na, const double *nb) {
  for (size_t i = 0; i < n; i++) {
    double *row = D + i * m, a = na[i];
    for (size_t j = 0; j < m; j++) {
      double v = row[j] + a + nb[j];
      row[j] = v > 0.0 ? v : 0.0;
    }
  }
}

/* D = squared distances between the rows of A (n x d) and B (m x d):
 * |a|^2 + |b|^2 - 2 A B^T with one GEMM (like pg_sqdist, vectorised). */
static pg_status kdist(const double *A, size_t n, const double *B, size_t m, size_t d,
                       double *D) {
  double *nrm = malloc((n + m) * sizeof *nrm);
  if (!nrm) return PG_ENOMEM;
  rownorms(A, n, d, nrm);
  rownorms(B, m, d, nrm + n);
  pg_gemm(n, m, d, -2.0, A, B, 1, 0.0, D);
  addnorms(D, n, m, nrm, nrm + n);
  free(nrm);
  return PG_OK;
}

/* Q[n1 x n2]: squared scaled distances (continuous kernels) or the
 * weighted mismatch count sum_j [x_j != x'_j] / l_j (Hamming). */
static pg_status base_q(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                        size_t n2, size_t d, double *Q) {
  size_t nd = k->ndims;
  if (k->kind == PG_KERNEL_HAMMING) {
    double *il = malloc(nd * sizeof *il);
    if (!il) return PG_ENOMEM;
    for (size_t j = 0; j < nd; j++) il[j] = exp(-k->loglen[j]);
    for (size_t a = 0; a < n1; a++) {
      const double *x = X1 + a * d;
      double *q = Q + a * n2;
      for (size_t b = 0; b < n2; b++) q[b] = 0.0;
      for (size_t j = 0; j < nd; j++) {
        size_t c = k->dims[j];
        double xv = x[c], w = il[j];
        for (size_t b = 0; b < n2; b++) q[b] += X2[b * d + c] != xv ? w : 0.0;
      }
    }
    free(il);
    return PG_OK;
  }
  int same = X1 == X2 && n1 == n2;
  double *Z1 = malloc((n1 + (same ? 0 : n2)) * nd * sizeof *Z1);
  if (!Z1) return PG_ENOMEM;
  double *Z2 = same ? Z1 : Z1 + n1 * nd;
  pg_status st = scale_cols(k, X1, n1, d, Z1);
  if (st == PG_OK && !same) st = scale_cols(k, X2, n2, d, Z2);
  if (st == PG_OK) st = kdist(Z1, n1, Z2, n2, nd, Q);
  if (same)
    for (size_t a = 0; a < n1; a++) Q[a * n2 + a] = 0.0;
  free(Z1);
  return st;
}

/* ---- the symmetric case K(X, X), upper triangle by rows ---- */

/* Zt[j n + b] = X[b, dims[j]] / l_j: the scaled inputs by column, so that a
 * row of the triangle reads each coordinate contiguously. */
static double *scaled_columns(const pg_kernel *k, const double *X, size_t n, size_t d) {
  size_t nd = k->ndims;
  double *Zt = malloc(nd * n * sizeof *Zt);
  if (!Zt) return NULL;
  for (size_t j = 0; j < nd; j++) {
    double il = exp(-k->loglen[j]);
    const double *x = X + k->dims[j];
    double *z = Zt + j * n;
    for (size_t b = 0; b < n; b++) z[b] = x[b * d] * il;
  }
  return Zt;
}

/* Eight doubles as one GCC vector (one AVX-512 register, two AVX2 ones, four
 * SSE2 ones in the clones), loaded and stored unaligned, and allowed to
 * alias double arrays (as the SSE intrinsic types are). */
typedef double pg_v8d __attribute__((vector_size(64), aligned(8), may_alias));

/* q[t] = |z_a - z_{a+t}|^2 for t < n - a: row a of the upper triangle of
 * the squared scaled distances, from the coordinates themselves (no
 * cancellation as in |z|^2 + |z'|^2 - 2 z.z', exactly 0 on the diagonal). */
PG_VECTOR_LOOPS
static void qrow(const double *Zt, size_t n, size_t nd, size_t a, double *q) {
  size_t len = n - a, t = 0;
  /* 32 distances in four registers over all coordinates: four independent
   * add chains hide the FMA latency */
  for (; t + 32 <= len; t += 32) {
    pg_v8d c0 = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, c1 = c0, c2 = c0, c3 = c0;
    for (size_t j = 0; j < nd; j++) {
      const double *z = Zt + j * n + a, *zt = z + t;
      double za = z[0];
      pg_v8d u0 = *(const pg_v8d *)zt - za, u1 = *(const pg_v8d *)(zt + 8) - za;
      pg_v8d u2 = *(const pg_v8d *)(zt + 16) - za, u3 = *(const pg_v8d *)(zt + 24) - za;
      c0 += u0 * u0;
      c1 += u1 * u1;
      c2 += u2 * u2;
      c3 += u3 * u3;
    }
    *(pg_v8d *)(q + t) = c0;
    *(pg_v8d *)(q + t + 8) = c1;
    *(pg_v8d *)(q + t + 16) = c2;
    *(pg_v8d *)(q + t + 24) = c3;
  }
  for (; t + 8 <= len; t += 8) {
    pg_v8d c0 = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (size_t j = 0; j < nd; j++) {
      const double *z = Zt + j * n + a;
      pg_v8d u = *(const pg_v8d *)(z + t) - z[0];
      c0 += u * u;
    }
    *(pg_v8d *)(q + t) = c0;
  }
  for (; t < len; t++) {
    double s = 0.0;
    for (size_t j = 0; j < nd; j++) {
      double u = Zt[j * n + a + t] - Zt[j * n + a];
      s += u * u;
    }
    q[t] = s;
  }
}

/* g[j] = sum_t w[t] (z_aj - z_{a+t},j)^2 for the row of qrow (8 partial
 * sums per coordinate, as in sum8). */
PG_VECTOR_LOOPS
static void wrow(const double *Zt, size_t n, size_t nd, size_t a, const double *w, double *g) {
  size_t len = n - a;
  for (size_t j = 0; j < nd; j++) {
    const double *z = Zt + j * n + a;
    double za = z[0], acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    size_t t = 0;
    for (; t + 8 <= len; t += 8)
      for (size_t l = 0; l < 8; l++) {
        double u = z[t + l] - za;
        acc[l] += w[t + l] * u * u;
      }
    for (size_t l = 0; t + l < len; l++) {
      double u = z[t + l] - za;
      acc[l] += w[t + l] * u * u;
    }
    g[j] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  }
}

/* In place: Q -> K = s2 f(Q). */
PG_VECTOR_LOOPS
static void base_apply(const pg_kernel *k, double *Q, size_t cnt) {
  double s2 = exp(k->logvar);
  switch (k->kind) {
  case PG_KERNEL_SE:
    for (size_t i = 0; i < cnt; i++) Q[i] *= -0.5;
    pg_vexp(Q, cnt);
    for (size_t i = 0; i < cnt; i++) Q[i] *= s2;
    break;
  case PG_KERNEL_HAMMING:
    for (size_t i = 0; i < cnt; i++) Q[i] = -Q[i];
    pg_vexp(Q, cnt);
    for (size_t i = 0; i < cnt; i++) Q[i] *= s2;
    break;
  case PG_KERNEL_MATERN12: {
    vsqrt(Q, Q, cnt);
    for (size_t i = 0; i < cnt; i++) Q[i] = -Q[i];
    pg_vexp(Q, cnt);
    for (size_t i = 0; i < cnt; i++) Q[i] *= s2;
    break;
  }
  case PG_KERNEL_MATERN32:
  case PG_KERNEL_MATERN52: {
    const size_t B = 512;
    double e[512], sr[512];
    int five = k->kind == PG_KERNEL_MATERN52;
    double s = five ? sqrt(5.0) : sqrt(3.0);
    for (size_t i0 = 0; i0 < cnt; i0 += B) {
      size_t nb = cnt - i0 < B ? cnt - i0 : B;
      double *q = Q + i0;
      vsqrt(sr, q, nb);
      for (size_t i = 0; i < nb; i++) {
        sr[i] *= s;
        e[i] = -sr[i];
      }
      pg_vexp(e, nb);
      if (five)
        for (size_t i = 0; i < nb; i++) q[i] = s2 * (1.0 + sr[i] + sr[i] * sr[i] * (1.0 / 3.0)) * e[i];
      else
        for (size_t i = 0; i < nb; i++) q[i] = s2 * (1.0 + sr[i]) * e[i];
    }
    break;
  }
  default:
    break;
  }
}

/* Upper triangle (row-major, b >= a) of K(X, X) for a continuous base
 * kernel, row by row; the strict lower triangle is not touched. */
static pg_status base_sym_upper(const pg_kernel *k, const double *X, size_t n, size_t d,
                                double *K) {
  double *Zt = scaled_columns(k, X, n, d);
  if (!Zt) return PG_ENOMEM;
  for (size_t a = 0; a < n; a++) {
    qrow(Zt, n, k->ndims, a, K + a * n + a);
    base_apply(k, K + a * n + a, n - a);
  }
  free(Zt);
  return PG_OK;
}

/* The strict lower triangle from the upper one, in tiles. */
static void mirror_upper(double *A, size_t n) {
  const size_t T = 32;
  for (size_t i0 = 0; i0 < n; i0 += T)
    for (size_t j0 = 0; j0 <= i0; j0 += T)
      for (size_t i = i0; i < i0 + T && i < n; i++)
        for (size_t j = j0; j < j0 + T && j < i; j++) A[i * n + j] = A[j * n + i];
}

static pg_status matrix_rec(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                            size_t n2, size_t d, double *K) {
  size_t cnt = n1 * n2;
  if (is_base(k->kind)) {
    if (X1 == X2 && n1 == n2 && k->kind != PG_KERNEL_HAMMING) {
      pg_status st = base_sym_upper(k, X1, n1, d, K);
      if (st == PG_OK) mirror_upper(K, n1);
      return st;
    }
    pg_status st = base_q(k, X1, n1, X2, n2, d, K);
    if (st == PG_OK) base_apply(k, K, cnt);
    return st;
  }
  double *T = malloc(cnt * sizeof *T);
  if (!T) return PG_ENOMEM;
  pg_status st = matrix_rec(k->child[0], X1, n1, X2, n2, d, K);
  for (size_t c = 1; st == PG_OK && c < k->nchild; c++) {
    st = matrix_rec(k->child[c], X1, n1, X2, n2, d, T);
    if (st != PG_OK) break;
    if (k->kind == PG_KERNEL_SUM)
      for (size_t i = 0; i < cnt; i++) K[i] += T[i];
    else
      for (size_t i = 0; i < cnt; i++) K[i] *= T[i];
  }
  free(T);
  return st;
}

pg_status pg_kernel_matrix(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                           size_t n2, size_t d, double *K) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt;
  if (pg_size_mul(n1, n2, &cnt) != PG_OK) return PG_ERANGE;
  if (cnt == 0) return PG_OK;
  return matrix_rec(k, X1, n1, X2, n2, d, K);
}

pg_status pg_kernel_matrix_upper(const pg_kernel *k, const double *X, size_t n, size_t d,
                                 double *K) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt;
  if (pg_size_mul(n, n, &cnt) != PG_OK) return PG_ERANGE;
  if (cnt == 0) return PG_OK;
  if (is_base(k->kind) && k->kind != PG_KERNEL_HAMMING) return base_sym_upper(k, X, n, d, K);
  return matrix_rec(k, X, n, X, n, d, K);
}

static double diag_rec(const pg_kernel *k) {
  if (is_base(k->kind)) return exp(k->logvar);
  double v = k->kind == PG_KERNEL_SUM ? 0.0 : 1.0;
  for (size_t c = 0; c < k->nchild; c++) {
    double dc = diag_rec(k->child[c]);
    v = k->kind == PG_KERNEL_SUM ? v + dc : v * dc;
  }
  return v;
}

pg_status pg_kernel_diag(const pg_kernel *k, const double *X, size_t n, size_t d, double *diag) {
  (void)X;
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  double v = diag_rec(k); /* every kernel here is stationary: k(x, x) = const */
  for (size_t i = 0; i < n; i++) diag[i] = v;
  return PG_OK;
}

/* Sum of t[0..n) with 8 interleaved partial sums (a vector reduction: one
 * add chain per lane instead of one for all). */
PG_VECTOR_LOOPS
static double sum8(const double *t, size_t n) {
  double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t l = 0; l < 8; l++) a[l] += t[i + l];
  for (size_t l = 0; i + l < n; l++) a[l] += t[i + l];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* Continuous base kernels, in place on nb entries: q (squared scaled
 * distances) -> f(q), the lengthscale weight (dK/dlog l_j = f(q) (z_j -
 * z'_j)^2 in scaled coordinates z = x / l), and kv[i] = K. rr: nb scratch. */
PG_VECTOR_LOOPS
static void kf_block(const pg_kernel *k, double s2, double *q, size_t nb, double *kv,
                     double *rr) {
  switch (k->kind) {
  case PG_KERNEL_SE:
    for (size_t i = 0; i < nb; i++) kv[i] = -0.5 * q[i];
    pg_vexp(kv, nb);
    for (size_t i = 0; i < nb; i++) {
      kv[i] *= s2;
      q[i] = kv[i];
    }
    break;
  case PG_KERNEL_MATERN12:
    vsqrt(rr, q, nb);
    for (size_t i = 0; i < nb; i++) kv[i] = -rr[i];
    pg_vexp(kv, nb);
    for (size_t i = 0; i < nb; i++) {
      kv[i] *= s2;
      q[i] = rr[i] > 0.0 ? kv[i] / rr[i] : 0.0;
    }
    break;
  case PG_KERNEL_MATERN32: {
    double s = sqrt(3.0);
    vsqrt(rr, q, nb);
    for (size_t i = 0; i < nb; i++) {
      rr[i] *= s;
      kv[i] = -rr[i];
    }
    pg_vexp(kv, nb);
    for (size_t i = 0; i < nb; i++) {
      double se = s2 * kv[i];
      kv[i] = se * (1.0 + rr[i]);
      q[i] = 3.0 * se;
    }
    break;
  }
  default: { /* Matern 5/2 */
    double s = sqrt(5.0);
    vsqrt(rr, q, nb);
    for (size_t i = 0; i < nb; i++) {
      rr[i] *= s;
      kv[i] = -rr[i];
    }
    pg_vexp(kv, nb);
    for (size_t i = 0; i < nb; i++) {
      double se = s2 * kv[i];
      kv[i] = se * (1.0 + rr[i] + rr[i] * rr[i] * (1.0 / 3.0));
      q[i] = (5.0 / 3.0) * (1.0 + rr[i]) * se;
    }
    break;
  }
  }
}

/* Continuous base kernels, in place on nb entries: q (squared scaled
 * distances) -> dLdK * f(q) (see kf_block); returns the sum of dLdK * K
 * (the variance gradient's terms). e, rr: nb scratch each. */
PG_VECTOR_LOOPS
static double wq_block(const pg_kernel *k, double s2, double *q, const double *g, size_t nb,
                       double *e, double *rr) {
  kf_block(k, s2, q, nb, e, rr);
  for (size_t i = 0; i < nb; i++) {
    q[i] *= g[i];
    e[i] *= g[i];
  }
  return sum8(e, nb);
}

/* Gradient of a base kernel; grad has ndims + 1 entries (overwritten). */
PG_VECTOR_LOOPS
static pg_status base_grad(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                           size_t n2, size_t d, const double *dLdK, double *grad, double *work) {
  size_t nd = k->ndims, cnt = n1 * n2;
  double s2 = exp(k->logvar);
  double *own = work ? NULL : malloc(cnt * sizeof *own); /* Q unless the caller's */
  double *Q = work ? work : own;
  if (!Q) return PG_ENOMEM;
  pg_status st = base_q(k, X1, n1, X2, n2, d, Q);
  if (st != PG_OK) {
    free(own);
    return st;
  }
  if (k->kind == PG_KERNEL_HAMMING) {
    /* K = s2 exp(-Q); dK/dlog l_j = K [x_j != x'_j] / l_j. */
    base_apply(k, Q, cnt);
    double gv = 0.0;
    for (size_t i = 0; i < cnt; i++) {
      Q[i] *= dLdK[i];
      gv += Q[i];
    }
    grad[nd] = gv;
    for (size_t j = 0; j < nd; j++) {
      size_t c = k->dims[j];
      double g = 0.0;
      for (size_t a = 0; a < n1; a++) {
        double xv = X1[a * d + c];
        const double *w = Q + a * n2;
        for (size_t b = 0; b < n2; b++) g += X2[b * d + c] != xv ? w[b] : 0.0;
      }
      grad[j] = g * exp(-k->loglen[j]);
    }
    free(own);
    return PG_OK;
  }
  /* W = dLdK * s2 * w(q) and, for the variance, sum dLdK * K. */
  double gv = 0.0;
  const size_t B = 512;
  double e[512], rr[512];
  for (size_t i0 = 0; i0 < cnt; i0 += B) {
    size_t nb = cnt - i0 < B ? cnt - i0 : B;
    gv += wq_block(k, s2, Q + i0, dLdK + i0, nb, e, rr);
  }
  grad[nd] = gv;
  /* Lengthscale part: one GEMM (W Z2), then row/column sums. */
  int same = X1 == X2 && n1 == n2;
  double *Z1 = malloc((2 * n1 + (same ? 0 : n2)) * nd * sizeof *Z1);
  double *cs = malloc(n2 * sizeof *cs);
  if (!Z1 || !cs) {
    free(Z1);
    free(cs);
    free(own);
    return PG_ENOMEM;
  }
  double *Z2 = same ? Z1 : Z1 + n1 * nd;
  double *WZ = same ? Z1 + n1 * nd : Z2 + n2 * nd;
  st = scale_cols(k, X1, n1, d, Z1);
  if (st == PG_OK && !same) st = scale_cols(k, X2, n2, d, Z2);
  if (st != PG_OK) {
    free(Z1);
    free(cs);
    free(own);
    return st;
  }
  pg_gemm(n1, nd, n2, 1.0, Q, Z2, 0, 0.0, WZ);
  for (size_t j = 0; j < nd; j++) grad[j] = 0.0;
  for (size_t b = 0; b < n2; b++) cs[b] = 0.0;
  for (size_t a = 0; a < n1; a++) {
    const double *w = Q + a * n2;
    double rs = sum8(w, n2);
    for (size_t b = 0; b < n2; b++) cs[b] += w[b];
    const double *z = Z1 + a * nd, *wz = WZ + a * nd;
    for (size_t j = 0; j < nd; j++) grad[j] += z[j] * (z[j] * rs - 2.0 * wz[j]);
  }
  for (size_t b = 0; b < n2; b++) {
    const double *z = Z2 + b * nd;
    for (size_t j = 0; j < nd; j++) grad[j] += z[j] * z[j] * cs[b];
  }
  free(Z1);
  free(cs);
  free(own);
  return PG_OK;
}

static pg_status grad_rec(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                          size_t n2, size_t d, const double *dLdK, double *grad, double *work) {
  if (is_base(k->kind)) return base_grad(k, X1, n1, X2, n2, d, dLdK, grad, work);
  size_t cnt = n1 * n2;
  if (k->kind == PG_KERNEL_SUM) {
    size_t p = 0;
    for (size_t c = 0; c < k->nchild; c++) {
      pg_status st = grad_rec(k->child[c], X1, n1, X2, n2, d, dLdK, grad + p, work);
      if (st != PG_OK) return st;
      p += pg_kernel_nparams(k->child[c]);
    }
    return PG_OK;
  }
  /* Product: dL/dK_c = dLdK * prod_{c' != c} K_c'. */
  size_t C = k->nchild;
  double *Ks = malloc((C + 1) * cnt * sizeof *Ks);
  if (!Ks) return PG_ENOMEM;
  double *D = Ks + C * cnt;
  pg_status st = PG_OK;
  for (size_t c = 0; st == PG_OK && c < C; c++)
    st = matrix_rec(k->child[c], X1, n1, X2, n2, d, Ks + c * cnt);
  size_t p = 0;
  for (size_t c = 0; st == PG_OK && c < C; c++) {
    memcpy(D, dLdK, cnt * sizeof *D);
    for (size_t o = 0; o < C; o++)
      if (o != c)
        for (size_t i = 0; i < cnt; i++) D[i] *= Ks[o * cnt + i];
    st = grad_rec(k->child[c], X1, n1, X2, n2, d, D, grad + p, work);
    p += pg_kernel_nparams(k->child[c]);
  }
  free(Ks);
  return st;
}

pg_status pg_kernel_grad(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                         size_t n2, size_t d, const double *dLdK, double *grad) {
  return pg_kernel_grad_work(k, X1, n1, X2, n2, d, dLdK, grad, NULL);
}

pg_status pg_kernel_grad_work(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                              size_t n2, size_t d, const double *dLdK, double *grad,
                              double *work) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt, p = pg_kernel_nparams(k);
  if (pg_size_mul(n1, n2, &cnt) != PG_OK) return PG_ERANGE;
  if (cnt == 0) {
    for (size_t i = 0; i < p; i++) grad[i] = 0.0;
    return PG_OK;
  }
  return grad_rec(k, X1, n1, X2, n2, d, dLdK, grad, work);
}

/* Diagonal gradient: only the variances matter (k(x, x) = prod/sum of s2). */
static size_t graddiag_rec(const pg_kernel *k, double coef, double *grad) {
  /* coef = d L / d (this subtree's diagonal value), summed over points */
  if (is_base(k->kind)) {
    for (size_t j = 0; j < k->ndims; j++) grad[j] = 0.0;
    grad[k->ndims] = coef * exp(k->logvar);
    return k->ndims + 1;
  }
  size_t p = 0;
  for (size_t c = 0; c < k->nchild; c++) {
    double cc = coef;
    if (k->kind == PG_KERNEL_PRODUCT)
      for (size_t o = 0; o < k->nchild; o++)
        if (o != c) cc *= diag_rec(k->child[o]);
    p += graddiag_rec(k->child[c], cc, grad + p);
  }
  return p;
}

pg_status pg_kernel_grad_diag(const pg_kernel *k, const double *X, size_t n, size_t d,
                              const double *dLdiag, double *grad) {
  (void)X;
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += dLdiag[i];
  graddiag_rec(k, s, grad);
  return PG_OK;
}

/* Symmetric base-kernel gradient (continuous kernels) from the upper
 * triangle of dLdK, row by row: the distances of the row (qrow), its
 * weights Wq (wq_block) and sum_b Wq_ab (z_aj - z_bj)^2 (wrow). Q: scratch,
 * only its upper triangle is written. */
static pg_status base_grad_sym(const pg_kernel *k, const double *X, size_t n, size_t d,
                               const double *dLdK, double *grad, double *Q) {
  size_t nd = k->ndims;
  double s2 = exp(k->logvar);
  double *Zt = scaled_columns(k, X, n, d), *rs = malloc(nd * sizeof *rs);
  if (!Zt || !rs) {
    free(Zt);
    free(rs);
    return PG_ENOMEM;
  }
  enum { B = 512 };
  double e[B], rr[B], gv = 0.0, gd = 0.0;
  for (size_t j = 0; j < nd; j++) grad[j] = 0.0;
  for (size_t a = 0; a < n; a++) {
    double *q = Q + a * n + a;
    const double *g = dLdK + a * n + a;
    size_t len = n - a;
    qrow(Zt, n, nd, a, q);
    for (size_t t0 = 0; t0 < len; t0 += B)
      gv += wq_block(k, s2, q + t0, g + t0, len - t0 < B ? len - t0 : B, e, rr);
    wrow(Zt, n, nd, a, q, rs);
    for (size_t j = 0; j < nd; j++) grad[j] += rs[j];
    gd += g[0];
  }
  /* the full sums: twice the upper triangle's, less the diagonal once
   * (where the distances are 0 and K = s2) */
  for (size_t j = 0; j < nd; j++) grad[j] *= 2.0;
  grad[nd] = 2.0 * gv - gd * s2;
  free(Zt);
  free(rs);
  return PG_OK;
}

pg_status pg_kernel_grad_sym(const pg_kernel *k, const double *X, size_t n, size_t d,
                             double *dLdK, double *grad, double *work) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt, p = pg_kernel_nparams(k);
  if (pg_size_mul(n, n, &cnt) != PG_OK) return PG_ERANGE;
  if (cnt == 0) {
    for (size_t i = 0; i < p; i++) grad[i] = 0.0;
    return PG_OK;
  }
  if (is_base(k->kind) && k->kind != PG_KERNEL_HAMMING && n <= 0x7fffffff) {
    double *own = work ? NULL : malloc(cnt * sizeof *own);
    if (!work && !own) return PG_ENOMEM;
    pg_status st = base_grad_sym(k, X, n, d, dLdK, grad, work ? work : own);
    free(own);
    return st;
  }
  /* composite or Hamming kernels: mirror and take the general path */
  mirror_upper(dLdK, n);
  return grad_rec(k, X, n, X, n, d, dLdK, grad, work);
}

/* sum_t a[t] b[t] with 8 partial sums (as sum8). */
PG_VECTOR_LOOPS
static double dot8(const double *a, const double *b, size_t n) {
  double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t l = 0; l < 8; l++) s[l] += a[i + l] * b[i + l];
  for (size_t l = 0; i + l < n; l++) s[l] += a[i + l] * b[i + l];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* pg_kernel_grad_matvec's terms of a base kernel weighted elementwise by
 * the symmetric M (n x n, only its upper triangle is read; NULL: all
 * ones), added to Jt ((ndims + 1) x n). Row by row over the upper
 * triangle: row a adds sum_{b >= a} M_ab dK_ab v_b to entry a and, by
 * symmetry, M_ab dK_ab v_a to the entries b > a. The row's values K_ab and
 * lengthscale weights f_ab (dK_ab/dlog l_j = f_ab u_abj, u = (z_aj -
 * z_bj)^2 for the continuous kinds, [x_aj != x_bj] / l_j for Hamming) come
 * from kf_block or, for Hamming, directly. */
PG_VECTOR_LOOPS
static pg_status base_grad_matvec(const pg_kernel *k, const double *X, size_t n, size_t d,
                                  const double *v, const double *M, double *Jt) {
  size_t nd = k->ndims;
  double s2 = exp(k->logvar);
  int ham = k->kind == PG_KERNEL_HAMMING;
  double *Zt = ham ? NULL : scaled_columns(k, X, n, d), *q = malloc(2 * n * sizeof *q);
  if ((!ham && !Zt) || !q) {
    free(Zt);
    free(q);
    return PG_ENOMEM;
  }
  double *u = q + n; /* Hamming: the row's mismatch indicator of one input */
  enum { B = 512 };
  double kv[B], rr[B];
  double *Jv = Jt + nd * n;
  for (size_t a = 0; a < n; a++) {
    size_t len = n - a;
    const double *vr = v + a, *m = M ? M + a * n + a : NULL;
    double va = v[a], *jv = Jv + a;
    if (ham) { /* K = s2 exp(-sum_j [x_aj != x_bj] / l_j), f = K */
      for (size_t t = 0; t < len; t++) q[t] = 0.0;
      for (size_t j = 0; j < nd; j++) {
        size_t c = k->dims[j];
        double il = exp(-k->loglen[j]), xa = X[a * d + c];
        for (size_t t = 0; t < len; t++) q[t] -= X[(a + t) * d + c] != xa ? il : 0.0;
      }
      pg_vexp(q, len);
      for (size_t t = 0; t < len; t++) q[t] *= s2 * (m ? m[t] : 1.0);
      jv[0] += dot8(q, vr, len);
      for (size_t t = 1; t < len; t++) jv[t] += va * q[t];
    } else {
      qrow(Zt, n, nd, a, q);
      for (size_t t0 = 0; t0 < len; t0 += B) {
        size_t nb = len - t0 < B ? len - t0 : B;
        kf_block(k, s2, q + t0, nb, kv, rr);
        if (m)
          for (size_t i = 0; i < nb; i++) {
            kv[i] *= m[t0 + i];
            q[t0 + i] *= m[t0 + i];
          }
        jv[0] += dot8(kv, vr + t0, nb);
        for (size_t i = t0 == 0 ? 1 : 0; i < nb; i++) jv[t0 + i] += va * kv[i];
      }
    }
    for (size_t j = 0; j < nd; j++) {
      double *jr = Jt + j * n + a, acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
      if (ham) {
        size_t c = k->dims[j];
        double il = exp(-k->loglen[j]), xa = X[a * d + c];
        for (size_t t = 0; t < len; t++) u[t] = X[(a + t) * d + c] != xa ? il : 0.0;
      } else {
        const double *z = Zt + j * n + a;
        for (size_t t = 0; t < len; t++) u[t] = (z[t] - z[0]) * (z[t] - z[0]);
      }
      size_t t = 1;
      for (; t + 8 <= len; t += 8)
        for (size_t l = 0; l < 8; l++) {
          double w = q[t + l] * u[t + l];
          acc[l] += vr[t + l] * w;
          jr[t + l] += va * w;
        }
      for (size_t l = 0; t + l < len; l++) {
        double w = q[t + l] * u[t + l];
        acc[l] += vr[t + l] * w;
        jr[t + l] += va * w;
      }
      jr[0] += ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
  }
  free(Zt);
  free(q);
  return PG_OK;
}

/* Adds the subtree's terms, weighted by the symmetric M (upper triangle;
 * NULL: ones), to Jt: a sum passes M to its children, a product passes child
 * c the weights M .* prod_{o != c} K_o (upper triangles, as grad_rec). */
static pg_status matvec_rec(const pg_kernel *k, const double *X, size_t n, size_t d,
                            const double *v, const double *M, double *Jt) {
  if (is_base(k->kind)) return base_grad_matvec(k, X, n, d, v, M, Jt);
  size_t p = 0;
  if (k->kind == PG_KERNEL_SUM) {
    for (size_t c = 0; c < k->nchild; c++) {
      pg_status st = matvec_rec(k->child[c], X, n, d, v, M, Jt + p * n);
      if (st != PG_OK) return st;
      p += pg_kernel_nparams(k->child[c]);
    }
    return PG_OK;
  }
  size_t C = k->nchild, cnt = n * n;
  double *Ks = malloc((C + 1) * cnt * sizeof *Ks);
  if (!Ks) return PG_ENOMEM;
  double *W = Ks + C * cnt;
  pg_status st = PG_OK;
  for (size_t c = 0; st == PG_OK && c < C; c++)
    st = pg_kernel_matrix_upper(k->child[c], X, n, d, Ks + c * cnt);
  for (size_t c = 0; st == PG_OK && c < C; c++) {
    for (size_t a = 0; a < n; a++)
      for (size_t b = a; b < n; b++) {
        double w = M ? M[a * n + b] : 1.0;
        for (size_t o = 0; o < C; o++)
          if (o != c) w *= Ks[o * cnt + a * n + b];
        W[a * n + b] = w;
      }
    st = matvec_rec(k->child[c], X, n, d, v, W, Jt + p * n);
    p += pg_kernel_nparams(k->child[c]);
  }
  free(Ks);
  return st;
}

pg_status pg_kernel_grad_matvec(const pg_kernel *k, const double *X, size_t n, size_t d,
                                const double *v, double *Jt) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt;
  if (pg_size_mul(n, n, &cnt) != PG_OK) return PG_ERANGE;
  memset(Jt, 0, pg_kernel_nparams(k) * n * sizeof *Jt);
  return n == 0 ? PG_OK : matvec_rec(k, X, n, d, v, NULL, Jt);
}

/* d/dX2 of sum_ab dLdK_ab k(X1_a, X2_b) for a continuous base kernel:
 * with Wq from wq_block (dk/dlog l_c = w(q) (x_c - z_c)^2 / l_c^2),
 * dk(x, z)/dz_c = w(q) (x_c - z_c) / l_c^2, so
 * dX2_bc += (1/l_c) [(Wq^T X1s)_bc - X2s_bc colsum(Wq)_b] (s: scaled). */
static pg_status base_grad_x2(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                              size_t n2, size_t d, const double *dLdK, double *gX2, double *Q) {
  if (k->kind == PG_KERNEL_HAMMING) return PG_OK; /* categorical inputs do not move */
  size_t nd = k->ndims, cnt = n1 * n2;
  double s2 = exp(k->logvar);
  pg_status st = base_q(k, X1, n1, X2, n2, d, Q);
  if (st != PG_OK) return st;
  const size_t B = 512;
  double e[512], rr[512];
  for (size_t i0 = 0; i0 < cnt; i0 += B) {
    size_t nb = cnt - i0 < B ? cnt - i0 : B;
    wq_block(k, s2, Q + i0, dLdK + i0, nb, e, rr);
  }
  double *S = malloc(((n1 + 2 * n2) * nd + n2) * sizeof *S);
  if (!S) return PG_ENOMEM;
  double *S2 = S + n1 * nd, *WX = S2 + n2 * nd, *cs = WX + n2 * nd;
  scale_cols(k, X1, n1, d, S);
  scale_cols(k, X2, n2, d, S2);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n2, (int)nd, (int)n1, 1.0, Q, (int)n2,
              S, (int)nd, 0.0, WX, (int)nd);
  for (size_t b = 0; b < n2; b++) cs[b] = 0.0;
  for (size_t a = 0; a < n1; a++) {
    const double *w = Q + a * n2;
    for (size_t b = 0; b < n2; b++) cs[b] += w[b];
  }
  for (size_t c = 0; c < nd; c++) {
    double il = exp(-k->loglen[c]);
    size_t col = k->dims[c];
    for (size_t b = 0; b < n2; b++)
      gX2[b * d + col] += il * (WX[b * nd + c] - S2[b * nd + c] * cs[b]);
  }
  free(S);
  return PG_OK;
}

static pg_status grad_x2_rec(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                             size_t n2, size_t d, const double *dLdK, double *gX2, double *work) {
  if (is_base(k->kind)) return base_grad_x2(k, X1, n1, X2, n2, d, dLdK, gX2, work);
  size_t cnt = n1 * n2;
  if (k->kind == PG_KERNEL_SUM) {
    for (size_t c = 0; c < k->nchild; c++) {
      pg_status st = grad_x2_rec(k->child[c], X1, n1, X2, n2, d, dLdK, gX2, work);
      if (st != PG_OK) return st;
    }
    return PG_OK;
  }
  size_t C = k->nchild;
  double *Ks = malloc((C + 1) * cnt * sizeof *Ks);
  if (!Ks) return PG_ENOMEM;
  double *D = Ks + C * cnt;
  pg_status st = PG_OK;
  for (size_t c = 0; st == PG_OK && c < C; c++)
    st = matrix_rec(k->child[c], X1, n1, X2, n2, d, Ks + c * cnt);
  for (size_t c = 0; st == PG_OK && c < C; c++) {
    memcpy(D, dLdK, cnt * sizeof *D);
    for (size_t o = 0; o < C; o++)
      if (o != c)
        for (size_t i = 0; i < cnt; i++) D[i] *= Ks[o * cnt + i];
    st = grad_x2_rec(k->child[c], X1, n1, X2, n2, d, D, gX2, work);
  }
  free(Ks);
  return st;
}

pg_status pg_kernel_grad_inputs(const pg_kernel *k, const double *X1, size_t n1,
                                const double *X2, size_t n2, size_t d, const double *dLdK,
                                double *gX2, double *work) {
  if (d < pg_kernel_mindim(k)) return PG_ESHAPE;
  size_t cnt;
  if (pg_size_mul(n1, n2, &cnt) != PG_OK) return PG_ERANGE;
  if (cnt == 0) return PG_OK;
  double *own = work ? NULL : malloc(cnt * sizeof *own);
  if (!work && !own) return PG_ENOMEM;
  pg_status st = grad_x2_rec(k, X1, n1, X2, n2, d, dLdK, gX2, work ? work : own);
  free(own);
  return st;
}
