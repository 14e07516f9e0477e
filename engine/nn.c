/* nn.c -- tensors and layers with their backward passes (see nn.h). */
#include "nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* Hot elementwise loops get an AVX2 clone chosen at load time (GCC function
 * multi-versioning), so the build needs no -march flag. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PG_CLONES
#endif

pg_status pg_tensor_alloc(pg_tensor *t, size_t n, size_t c, size_t h, size_t w) {
  size_t a, b, m;
  if (pg_size_mul(n, c, &a) || pg_size_mul(h, w, &b) || pg_size_mul(a, b, &m)) return PG_ERANGE;
  t->n = n;
  t->c = c;
  t->h = h;
  t->w = w;
  t->data = calloc(m ? m : 1, sizeof(double));
  return t->data ? PG_OK : PG_ENOMEM;
}

void pg_tensor_free(pg_tensor *t) {
  if (!t) return;
  free(t->data);
  memset(t, 0, sizeof *t);
}

size_t pg_tensor_numel(const pg_tensor *t) { return t->n * t->c * t->h * t->w; }

static int same_shape(const pg_tensor *a, const pg_tensor *b) {
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

/* ---- convolution ------------------------------------------------------------ */

size_t pg_conv_out(size_t in, size_t k, size_t stride, size_t pad) {
  if (stride == 0 || in + 2 * pad < k) return 0;
  return (in + 2 * pad - k) / stride + 1;
}

pg_status pg_conv2d_check(const pg_conv2d *p) {
  if (!p->w || !p->cin || !p->cout || !p->kh || !p->kw || !p->stride || !p->groups)
    return PG_EINVAL;
  if (p->cin % p->groups || p->cout % p->groups) return PG_EINVAL;
  return PG_OK;
}

/* Is the convolution a plain channel mix (1x1, stride 1, no padding), so
 * that the input plane already is the im2col matrix? */
static int is_pointwise(const pg_conv2d *p) {
  return p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0;
}

/* col[(c*kh + fy)*kw + fx][oy*ow + ox] = x[c][oy*s + fy - pad][ox*s + fx - pad]
 * for the cg channels starting at x (one sample, one group); col rows are
 * ld apart. Instantiated for double and float columns. */
#define DEFINE_IM2COL(NAME, TI, T)                                                               \
  PG_CLONES static void NAME(const TI *x, size_t cg, size_t h, size_t w, const pg_conv2d *p,          \
                   size_t oh, size_t ow, T *col, size_t ld) {                                    \
    size_t s = p->stride;                                                                        \
    for (size_t c = 0; c < cg; c++)                                                              \
      for (size_t fy = 0; fy < p->kh; fy++)                                                      \
        for (size_t fx = 0; fx < p->kw; fx++) {                                                  \
          T *row = col + ((c * p->kh + fy) * p->kw + fx) * ld;                                   \
          const TI *xc = x + c * h * w;                                                          \
          /* output columns whose input column is in bounds: [lo, hi) */                         \
          long off = (long)fx - (long)p->pad;                                                    \
          size_t lo = off >= 0 ? 0 : (size_t)((-off + (long)s - 1) / (long)s);                   \
          size_t hi = (long)w - off <= 0 ? 0 : (size_t)(((long)w - off + (long)s - 1) / (long)s); \
          if (hi > ow) hi = ow;                                                                  \
          if (lo > hi) lo = hi;                                                                  \
          for (size_t oy = 0; oy < oh; oy++) {                                                   \
            long iy = (long)(oy * s + fy) - (long)p->pad;                                        \
            T *r = row + oy * ow;                                                                \
            if (iy < 0 || iy >= (long)h) {                                                       \
              for (size_t ox = 0; ox < ow; ox++) r[ox] = 0;                                      \
              continue;                                                                          \
            }                                                                                    \
            const TI *xr = xc + (size_t)iy * w;                                                  \
            for (size_t ox = 0; ox < lo; ox++) r[ox] = 0;                                        \
            if (s == 1) {                                                                        \
              const TI *xo = xr + ((long)lo + off);                                              \
              T *ro = r + lo;                                                                    \
              for (size_t i = 0, m = hi - lo; i < m; i++) ro[i] = (T)xo[i];                      \
            } else {                                                                             \
              for (size_t ox = lo; ox < hi; ox++) r[ox] = (T)xr[(long)(ox * s) + off];           \
            }                                                                                    \
            for (size_t ox = hi; ox < ow; ox++) r[ox] = 0;                                       \
          }                                                                                      \
        }                                                                                        \
  }

DEFINE_IM2COL(im2col, double, double)
DEFINE_IM2COL(im2col_f, double, float)
DEFINE_IM2COL(im2col_ff, float, float)

/* The adjoint of im2col: dx[c][iy][ix] += col[...] (dx zeroed by the caller). */
static void col2im(const double *col, size_t cg, size_t h, size_t w, const pg_conv2d *p,
                   size_t oh, size_t ow, double *dx) {
  size_t s = p->stride;
  for (size_t c = 0; c < cg; c++)
    for (size_t fy = 0; fy < p->kh; fy++)
      for (size_t fx = 0; fx < p->kw; fx++) {
        const double *row = col + ((c * p->kh + fy) * p->kw + fx) * oh * ow;
        double *dc = dx + c * h * w;
        for (size_t oy = 0; oy < oh; oy++) {
          long iy = (long)(oy * s + fy) - (long)p->pad;
          if (iy < 0 || iy >= (long)h) continue;
          const double *r = row + oy * ow;
          double *dr = dc + (size_t)iy * w;
          for (size_t ox = 0; ox < ow; ox++) {
            long ix = (long)(ox * s + fx) - (long)p->pad;
            if (ix >= 0 && ix < (long)w) dr[ix] += r[ox];
          }
        }
      }
}

static pg_status conv_shapes(const pg_conv2d *p, const pg_tensor *x, const pg_tensor *y) {
  pg_status st = pg_conv2d_check(p);
  if (st) return st;
  size_t oh = pg_conv_out(x->h, p->kh, p->stride, p->pad);
  size_t ow = pg_conv_out(x->w, p->kw, p->stride, p->pad);
  if (x->c != p->cin || !oh || !ow) return PG_ESHAPE;
  if (y->n != x->n || y->c != p->cout || y->h != oh || y->w != ow) return PG_ESHAPE;
  return PG_OK;
}

/* tmp[k][s*ohw + i] -> y[n0+s][g*kg + k][i], plus the bias. */
PG_CLONES static void scatter(const pg_conv2d *p, pg_tensor *y, const void *tmp, int f32,
                              size_t n0, size_t cur, size_t g, size_t kg, size_t ohw) {
  size_t ld = cur * ohw;
  for (size_t s = 0; s < cur; s++)
    for (size_t k = 0; k < kg; k++) {
      double *yk = y->data + ((n0 + s) * y->c + g * kg + k) * ohw;
      double bk = p->b ? p->b[g * kg + k] : 0.0;
      if (f32) {
        const float *t = (const float *)tmp + k * ld + s * ohw;
        for (size_t i = 0; i < ohw; i++) yk[i] = (double)t[i] + bk;
      } else {
        const double *t = (const double *)tmp + k * ld + s * ohw;
        for (size_t i = 0; i < ohw; i++) yk[i] = t[i] + bk;
      }
    }
}

/* Samples per GEMM: about 2048 columns (measured faster than 1024 or 8192:
 * the column buffer stays in cache while OpenBLAS packs it),
 * with the column buffer under 16 MB. */
static size_t chunk_samples(size_t n, size_t kk, size_t ohw, size_t esz) {
  size_t nb = 2048 / ohw;
  if (nb < 1) nb = 1;
  if (nb > n) nb = n;
  while (nb > 1 && kk * nb * ohw * esz > ((size_t)16 << 20)) nb /= 2;
  return nb;
}

pg_status pg_conv2d_forward(const pg_conv2d *p, const pg_tensor *x, pg_tensor *y) {
  pg_status st = conv_shapes(p, x, y);
  if (st) return st;
  size_t G = p->groups, cg = p->cin / G, kg = p->cout / G;
  size_t oh = y->h, ow = y->w, ohw = oh * ow, kk = cg * p->kh * p->kw;
  int f32 = p->single;
  size_t esz = f32 ? sizeof(float) : sizeof(double);
  size_t nb = chunk_samples(x->n, kk, ohw, esz);
  void *col = malloc(kk * nb * ohw * esz), *tmp = malloc(kg * nb * ohw * esz);
  float *wf = f32 ? malloc(p->cout * kk * sizeof *wf) : NULL;
  if (!col || !tmp || (f32 && !wf)) {
    free(col);
    free(tmp);
    free(wf);
    return PG_ENOMEM;
  }
  if (f32)
    for (size_t i = 0; i < p->cout * kk; i++) wf[i] = (float)p->w[i];
  for (size_t n0 = 0; n0 < x->n; n0 += nb) {
    size_t cur = x->n - n0 < nb ? x->n - n0 : nb, ld = cur * ohw;
    for (size_t g = 0; g < G; g++) {
      /* columns of the chunk side by side: col[kk x (cur*ohw)] */
      for (size_t s = 0; s < cur; s++) {
        const double *xg = x->data + ((n0 + s) * x->c + g * cg) * x->h * x->w;
        if (f32)
          im2col_f(xg, cg, x->h, x->w, p, oh, ow, (float *)col + s * ohw, ld);
        else
          im2col(xg, cg, x->h, x->w, p, oh, ow, (double *)col + s * ohw, ld);
      }
      if (f32)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)ld, (int)kk, 1.0f,
                    wf + g * kg * kk, (int)kk, col, (int)ld, 0.0f, tmp, (int)ld);
      else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)ld, (int)kk, 1.0,
                    p->w + g * kg * kk, (int)kk, col, (int)ld, 0.0, tmp, (int)ld);
      scatter(p, y, tmp, f32, n0, cur, g, kg, ohw);
    }
  }
  free(col);
  free(tmp);
  free(wf);
  return PG_OK;
}

pg_status pg_conv2d_backward(const pg_conv2d *p, const pg_tensor *x, const pg_tensor *dy,
                             pg_tensor *dx, double *dw, double *db) {
  pg_status st = conv_shapes(p, x, dy);
  if (st) return st;
  if (dx && !same_shape(dx, x)) return PG_ESHAPE;
  size_t G = p->groups, cg = p->cin / G, kg = p->cout / G;
  size_t oh = dy->h, ow = dy->w, ohw = oh * ow, kk = cg * p->kh * p->kw;
  int direct = is_pointwise(p);
  double *col = NULL;
  if (!direct) {
    col = malloc(kk * ohw * sizeof *col);
    if (!col) return PG_ENOMEM;
  }
  if (dx) memset(dx->data, 0, pg_tensor_numel(dx) * sizeof(double));
  for (size_t n = 0; n < x->n; n++)
    for (size_t g = 0; g < G; g++) {
      const double *dyg = dy->data + (n * dy->c + g * kg) * ohw;
      if (dw) {
        const double *xg = x->data + (n * x->c + g * cg) * x->h * x->w;
        const double *B = xg;
        if (!direct) {
          im2col(xg, cg, x->h, x->w, p, oh, ow, col, ohw);
          B = col;
        }
        /* dW_g[kg x kk] += dy_g[kg x ohw] * col^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kg, (int)kk, (int)ohw, 1.0,
                    dyg, (int)ohw, B, (int)ohw, 1.0, dw + g * kg * kk, (int)kk);
      }
      if (dx) {
        double *dxg = dx->data + (n * dx->c + g * cg) * dx->h * dx->w;
        /* dcol[kk x ohw] = W_g^T * dy_g */
        double *dcol = direct ? dxg : col;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)ohw, (int)kg, 1.0,
                    p->w + g * kg * kk, (int)kk, dyg, (int)ohw, 0.0, dcol, (int)ohw);
        if (!direct) col2im(col, cg, x->h, x->w, p, oh, ow, dxg);
      }
    }
  if (db && p->b)
    for (size_t n = 0; n < dy->n; n++)
      for (size_t k = 0; k < dy->c; k++) {
        const double *d = dy->data + (n * dy->c + k) * ohw;
        double s = 0.0;
        for (size_t i = 0; i < ohw; i++) s += d[i];
        db[k] += s;
      }
  free(col);
  return PG_OK;
}

/* ---- batch norm --------------------------------------------------------------- */

PG_CLONES pg_status pg_batchnorm_forward(pg_batchnorm *p, pg_bn_mode mode, const pg_tensor *x,
                               pg_tensor *y) {
  if (!same_shape(x, y) || x->c != p->c) return PG_ESHAPE;
  size_t hw = x->h * x->w, m = x->n * hw;
  if (mode == PG_BN_IDENTITY) {
    if (y->data != x->data) memcpy(y->data, x->data, pg_tensor_numel(x) * sizeof(double));
    return PG_OK;
  }
  if (m == 0 || !p->mean || !p->invstd) return PG_EINVAL;
  for (size_t c = 0; c < x->c; c++) {
    /* one pass for the sums, shifted by the channel's first value so that
     * E[(x-K)^2] - E[x-K]^2 does not cancel when the mean is large */
    double K = x->data[c * hw], s = 0.0, s2 = 0.0;
    for (size_t n = 0; n < x->n; n++) {
      const double *xc = x->data + (n * x->c + c) * hw;
      double a[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0}; /* four lanes: vectorisable */
      size_t i = 0;
      for (; i + 4 <= hw; i += 4)
        for (int l = 0; l < 4; l++) {
          double d = xc[i + l] - K;
          a[l] += d;
          q[l] += d * d;
        }
      for (; i < hw; i++) {
        double d = xc[i] - K;
        a[0] += d;
        q[0] += d * d;
      }
      s += (a[0] + a[1]) + (a[2] + a[3]);
      s2 += (q[0] + q[1]) + (q[2] + q[3]);
    }
    double md = s / (double)m, mean = K + md, v = s2 - (double)m * md * md;
    if (v < 0) v = 0;
    double inv = 1.0 / sqrt(v / (double)m + p->eps);
    double g = p->gamma ? p->gamma[c] : 1.0, b = p->beta ? p->beta[c] : 0.0;
    p->mean[c] = mean;
    p->invstd[c] = inv;
    double scale = g * inv, shift = b - mean * scale;
    for (size_t n = 0; n < x->n; n++) {
      const double *xc = x->data + (n * x->c + c) * hw;
      double *yc = y->data + (n * y->c + c) * hw;
      for (size_t i = 0; i < hw; i++) yc[i] = xc[i] * scale + shift;
    }
  }
  return PG_OK;
}

pg_status pg_batchnorm_backward(const pg_batchnorm *p, pg_bn_mode mode, const pg_tensor *x,
                                const pg_tensor *dy, pg_tensor *dx, double *dgamma,
                                double *dbeta) {
  if (!same_shape(x, dy) || x->c != p->c || (dx && !same_shape(dx, x))) return PG_ESHAPE;
  size_t hw = x->h * x->w, m = x->n * hw;
  if (mode == PG_BN_IDENTITY) {
    if (dx && dx->data != dy->data) memcpy(dx->data, dy->data, pg_tensor_numel(dy) * sizeof(double));
    return PG_OK;
  }
  if (m == 0) return PG_EINVAL;
  for (size_t c = 0; c < x->c; c++) {
    double mean = p->mean[c], inv = p->invstd[c], g = p->gamma ? p->gamma[c] : 1.0;
    double sdy = 0.0, sdyx = 0.0; /* sum dy, sum dy * xhat */
    for (size_t n = 0; n < x->n; n++) {
      const double *xc = x->data + (n * x->c + c) * hw, *dc = dy->data + (n * dy->c + c) * hw;
      for (size_t i = 0; i < hw; i++) {
        sdy += dc[i];
        sdyx += dc[i] * (xc[i] - mean) * inv;
      }
    }
    if (dgamma) dgamma[c] += sdyx;
    if (dbeta) dbeta[c] += sdy;
    if (!dx) continue;
    double a = g * inv / (double)m;
    for (size_t n = 0; n < x->n; n++) {
      const double *xc = x->data + (n * x->c + c) * hw, *dc = dy->data + (n * dy->c + c) * hw;
      double *o = dx->data + (n * dx->c + c) * hw;
      for (size_t i = 0; i < hw; i++) {
        double xh = (xc[i] - mean) * inv;
        o[i] = a * ((double)m * dc[i] - sdy - xh * sdyx);
      }
    }
  }
  return PG_OK;
}

/* ---- ReLU ----------------------------------------------------------------------- */

PG_CLONES void pg_relu_forward(const pg_tensor *x, pg_tensor *y) {
  size_t m = pg_tensor_numel(x);
  for (size_t i = 0; i < m; i++) y->data[i] = x->data[i] > 0.0 ? x->data[i] : 0.0;
}

void pg_relu_backward(const pg_tensor *x, const pg_tensor *dy, pg_tensor *dx) {
  size_t m = pg_tensor_numel(x);
  for (size_t i = 0; i < m; i++) dx->data[i] = x->data[i] > 0.0 ? dy->data[i] : 0.0;
}

/* ---- pooling --------------------------------------------------------------------- */

/* Pooling settings and shapes of x (n, c, h, w) -> y; shared by the double
 * and float layers (pool_shapes, pool_shapes_f). */
static pg_status pool_dims(const pg_pool2d *p, size_t xn, size_t xc, size_t xh, size_t xw,
                           size_t yn, size_t yc, size_t yh, size_t yw) {
  if (!p->k || !p->stride || 2 * p->pad > p->k) return PG_EINVAL;
  size_t oh = pg_conv_out(xh, p->k, p->stride, p->pad);
  size_t ow = pg_conv_out(xw, p->k, p->stride, p->pad);
  if (!oh || !ow || yn != xn || yc != xc || yh != oh || yw != ow) return PG_ESHAPE;
  return PG_OK;
}

static pg_status pool_shapes(const pg_pool2d *p, const pg_tensor *x, const pg_tensor *y) {
  return pool_dims(p, x->n, x->c, x->h, x->w, y->n, y->c, y->h, y->w);
}

/* Window of output (oy, ox) clipped to the input: rows [y0, y1), cols [x0, x1). */
static void window(const pg_pool2d *p, size_t h, size_t w, size_t oy, size_t ox, size_t *y0,
                   size_t *y1, size_t *x0, size_t *x1) {
  long a = (long)(oy * p->stride) - (long)p->pad, b = (long)(ox * p->stride) - (long)p->pad;
  long a1 = a + (long)p->k, b1 = b + (long)p->k;
  *y0 = a < 0 ? 0 : (size_t)a;
  *x0 = b < 0 ? 0 : (size_t)b;
  *y1 = a1 > (long)h ? h : (size_t)a1;
  *x1 = b1 > (long)w ? w : (size_t)b1;
}

/* Average pooling window by window in element type T (the double and float
 * layers' path for strides above 1). */
#define PG_AVGPOOL_WINDOWS(T, p, x, y)                                                          \
  for (size_t nc = 0; nc < (x)->n * (x)->c; nc++) {                                            \
    const T *xp = (x)->data + nc * (x)->h * (x)->w;                                            \
    T *yp = (y)->data + nc * (y)->h * (y)->w;                                                  \
    for (size_t oy = 0; oy < (y)->h; oy++)                                                     \
      for (size_t ox = 0; ox < (y)->w; ox++) {                                                 \
        size_t y0, y1, x0, x1;                                                                 \
        window(p, (x)->h, (x)->w, oy, ox, &y0, &y1, &x0, &x1);                                 \
        T s = 0;                                                                               \
        for (size_t iy = y0; iy < y1; iy++)                                                    \
          for (size_t ix = x0; ix < x1; ix++) s += xp[iy * (x)->w + ix];                       \
        T cnt = (p)->count_include_pad ? (T)((p)->k * (p)->k) : (T)((y1 - y0) * (x1 - x0));    \
        yp[oy * (y)->w + ox] = s / cnt;                                                        \
      }                                                                                        \
  }

/* Stride-1 average pooling as two 1-D window sums (rows, then columns):
 * k + k additions per output instead of k*k. */
/* The column windows [c0, c1) of the ow outputs of a row and the row
 * windows [r0, r1) of the oh outputs of a column, in one allocation
 * (c0, c1, r0, r1 in this order; NULL when out of memory). */
static size_t *s1_windows(const pg_pool2d *p, size_t h, size_t w, size_t oh, size_t ow) {
  size_t *c0 = malloc(2 * (ow + oh) * sizeof *c0);
  if (!c0) return NULL;
  size_t *c1 = c0 + ow, *r0 = c1 + ow, *r1 = r0 + oh;
  for (size_t o = 0; o < ow; o++) window(p, h, w, 0, o, &r0[0], &r1[0], &c0[o], &c1[o]);
  for (size_t o = 0; o < oh; o++) {
    size_t a, b;
    window(p, h, w, o, 0, &r0[o], &r1[o], &a, &b);
  }
  return c0;
}

PG_CLONES static pg_status avgpool_s1(const pg_pool2d *p, const pg_tensor *x, pg_tensor *y) {
  size_t h = x->h, w = x->w, oh = y->h, ow = y->w;
  double *r = malloc(h * ow * sizeof *r);
  size_t *c0 = s1_windows(p, h, w, oh, ow);
  if (!r || !c0) {
    free(r);
    free(c0);
    return PG_ENOMEM;
  }
  size_t *c1 = c0 + ow, *r0 = c1 + ow, *r1 = r0 + oh;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    const double *xp = x->data + nc * h * w;
    double *yp = y->data + nc * oh * ow;
    for (size_t iy = 0; iy < h; iy++)
      for (size_t ox = 0; ox < ow; ox++) {
        double s = 0.0;
        for (size_t ix = c0[ox]; ix < c1[ox]; ix++) s += xp[iy * w + ix];
        r[iy * ow + ox] = s;
      }
    for (size_t oy = 0; oy < oh; oy++) {
      double *yr = yp + oy * ow;
      for (size_t ox = 0; ox < ow; ox++) yr[ox] = 0.0;
      for (size_t iy = r0[oy]; iy < r1[oy]; iy++) {
        const double *rr = r + iy * ow;
        for (size_t ox = 0; ox < ow; ox++) yr[ox] += rr[ox];
      }
      for (size_t ox = 0; ox < ow; ox++) {
        double cnt = p->count_include_pad ? (double)(p->k * p->k)
                                          : (double)((r1[oy] - r0[oy]) * (c1[ox] - c0[ox]));
        yr[ox] /= cnt;
      }
    }
  }
  free(r);
  free(c0);
  return PG_OK;
}

pg_status pg_avgpool_forward(const pg_pool2d *p, const pg_tensor *x, pg_tensor *y) {
  pg_status st = pool_shapes(p, x, y);
  if (st) return st;
  if (p->stride == 1) return avgpool_s1(p, x, y);
  PG_AVGPOOL_WINDOWS(double, p, x, y);
  return PG_OK;
}

pg_status pg_avgpool_backward(const pg_pool2d *p, const pg_tensor *dy, pg_tensor *dx) {
  pg_status st = pool_shapes(p, dx, dy);
  if (st) return st;
  memset(dx->data, 0, pg_tensor_numel(dx) * sizeof(double));
  for (size_t nc = 0; nc < dx->n * dx->c; nc++) {
    double *xp = dx->data + nc * dx->h * dx->w;
    const double *yp = dy->data + nc * dy->h * dy->w;
    for (size_t oy = 0; oy < dy->h; oy++)
      for (size_t ox = 0; ox < dy->w; ox++) {
        size_t y0, y1, x0, x1;
        window(p, dx->h, dx->w, oy, ox, &y0, &y1, &x0, &x1);
        double cnt = p->count_include_pad ? (double)(p->k * p->k) : (double)((y1 - y0) * (x1 - x0));
        double g = yp[oy * dy->w + ox] / cnt;
        for (size_t iy = y0; iy < y1; iy++)
          for (size_t ix = x0; ix < x1; ix++) xp[iy * dx->w + ix] += g;
      }
  }
  return PG_OK;
}

/* Index (in the plane) of the first maximum of the window. */
static size_t argmax_window(const double *xp, size_t w, size_t y0, size_t y1, size_t x0, size_t x1) {
  size_t best = y0 * w + x0;
  for (size_t iy = y0; iy < y1; iy++)
    for (size_t ix = x0; ix < x1; ix++)
      if (xp[iy * w + ix] > xp[best]) best = iy * w + ix;
  return best;
}

pg_status pg_maxpool_forward(const pg_pool2d *p, const pg_tensor *x, pg_tensor *y) {
  pg_status st = pool_shapes(p, x, y);
  if (st) return st;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    const double *xp = x->data + nc * x->h * x->w;
    double *yp = y->data + nc * y->h * y->w;
    for (size_t oy = 0; oy < y->h; oy++)
      for (size_t ox = 0; ox < y->w; ox++) {
        size_t y0, y1, x0, x1;
        window(p, x->h, x->w, oy, ox, &y0, &y1, &x0, &x1);
        yp[oy * y->w + ox] = xp[argmax_window(xp, x->w, y0, y1, x0, x1)];
      }
  }
  return PG_OK;
}

pg_status pg_maxpool_backward(const pg_pool2d *p, const pg_tensor *x, const pg_tensor *dy,
                              pg_tensor *dx) {
  pg_status st = pool_shapes(p, x, dy);
  if (st) return st;
  if (!same_shape(x, dx)) return PG_ESHAPE;
  memset(dx->data, 0, pg_tensor_numel(dx) * sizeof(double));
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    const double *xp = x->data + nc * x->h * x->w;
    double *dp = dx->data + nc * x->h * x->w;
    const double *yp = dy->data + nc * dy->h * dy->w;
    for (size_t oy = 0; oy < dy->h; oy++)
      for (size_t ox = 0; ox < dy->w; ox++) {
        size_t y0, y1, x0, x1;
        window(p, x->h, x->w, oy, ox, &y0, &y1, &x0, &x1);
        dp[argmax_window(xp, x->w, y0, y1, x0, x1)] += yp[oy * dy->w + ox];
      }
  }
  return PG_OK;
}

pg_status pg_gap_forward(const pg_tensor *x, pg_tensor *y) {
  if (y->n != x->n || y->c != x->c || y->h != 1 || y->w != 1) return PG_ESHAPE;
  size_t hw = x->h * x->w;
  if (!hw) return PG_ESHAPE;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    double s = 0.0;
    for (size_t i = 0; i < hw; i++) s += x->data[nc * hw + i];
    y->data[nc] = s / (double)hw;
  }
  return PG_OK;
}

pg_status pg_gap_backward(const pg_tensor *dy, pg_tensor *dx) {
  if (dy->n != dx->n || dy->c != dx->c || dy->h != 1 || dy->w != 1) return PG_ESHAPE;
  size_t hw = dx->h * dx->w;
  for (size_t nc = 0; nc < dx->n * dx->c; nc++) {
    double g = dy->data[nc] / (double)hw;
    for (size_t i = 0; i < hw; i++) dx->data[nc * hw + i] = g;
  }
  return PG_OK;
}

/* ---- linear --------------------------------------------------------------------- */

pg_status pg_linear_forward(const pg_linear *p, const pg_tensor *x, pg_tensor *y) {
  if (!p->w || !p->in || !p->out) return PG_EINVAL;
  if (x->c * x->h * x->w != p->in || y->n != x->n || y->c * y->h * y->w != p->out)
    return PG_ESHAPE;
  for (size_t n = 0; n < x->n; n++)
    for (size_t o = 0; o < p->out; o++) y->data[n * p->out + o] = p->b ? p->b[o] : 0.0;
  if (x->n)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)x->n, (int)p->out, (int)p->in, 1.0,
                x->data, (int)p->in, p->w, (int)p->in, 1.0, y->data, (int)p->out);
  return PG_OK;
}

pg_status pg_linear_backward(const pg_linear *p, const pg_tensor *x, const pg_tensor *dy,
                             pg_tensor *dx, double *dw, double *db) {
  if (!p->w || !p->in || !p->out) return PG_EINVAL;
  if (x->c * x->h * x->w != p->in || dy->n != x->n || dy->c * dy->h * dy->w != p->out)
    return PG_ESHAPE;
  if (dx && !same_shape(dx, x)) return PG_ESHAPE;
  if (!x->n) return PG_OK;
  if (dw) /* dW[out x in] += dy^T x */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p->out, (int)p->in, (int)x->n, 1.0,
                dy->data, (int)p->out, x->data, (int)p->in, 1.0, dw, (int)p->in);
  if (db && p->b)
    for (size_t n = 0; n < x->n; n++)
      for (size_t o = 0; o < p->out; o++) db[o] += dy->data[n * p->out + o];
  if (dx) /* dx[n x in] = dy w */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)x->n, (int)p->in, (int)p->out,
                1.0, dy->data, (int)p->out, p->w, (int)p->in, 0.0, dx->data, (int)p->in);
  return PG_OK;
}

void pg_nn_kaiming_normal(double *w, size_t count, size_t fan, double gain, pg_rng *rng) {
  double sd = fan ? gain / sqrt((double)fan) : 0.0;
  for (size_t i = 0; i < count; i++) w[i] = sd * pg_rng_normal(rng);
}

/* ---- single-precision forward ------------------------------------------------------ */

size_t pg_tensorf_numel(const pg_tensorf *t) { return t->n * t->c * t->h * t->w; }

/* Depthwise convolution (one filter per channel): for every output row, each
 * kernel tap adds a shifted input row times one weight (vectorised over x). */
PG_CLONES static void dwconv_f(const pg_conv2d *p, const float *wf, const pg_tensorf *x,
                               pg_tensorf *y) {
  size_t h = x->h, w = x->w, oh = y->h, ow = y->w, s = p->stride;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    size_t c = nc % x->c;
    const float *xp = x->data + nc * h * w, *wc = wf + c * p->kh * p->kw;
    float *yp = y->data + nc * oh * ow, b = p->b ? (float)p->b[c] : 0.0f;
    for (size_t oy = 0; oy < oh; oy++) {
      float *yr = yp + oy * ow;
      for (size_t ox = 0; ox < ow; ox++) yr[ox] = b;
      for (size_t fy = 0; fy < p->kh; fy++) {
        long iy = (long)(oy * s + fy) - (long)p->pad;
        if (iy < 0 || iy >= (long)h) continue;
        const float *xr = xp + (size_t)iy * w;
        for (size_t fx = 0; fx < p->kw; fx++) {
          float wv = wc[fy * p->kw + fx];
          long off = (long)fx - (long)p->pad;
          size_t lo = off >= 0 ? 0 : (size_t)((-off + (long)s - 1) / (long)s);
          size_t hi = (long)w - off <= 0 ? 0 : (size_t)(((long)w - off + (long)s - 1) / (long)s);
          if (hi > ow) hi = ow;
          if (lo > hi) lo = hi;
          if (s == 1) {
            const float *xo = xr + ((long)lo + off);
            float *yo = yr + lo;
            for (size_t i = 0, m = hi - lo; i < m; i++) yo[i] += wv * xo[i];
          } else {
            for (size_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[(long)(ox * s) + off];
          }
        }
      }
    }
  }
}

/* tmp[k][s*ohw + i] -> y[n0+s][g*kg + k][i] (+ bias), float to float. */
PG_CLONES static void scatter_f(const pg_conv2d *p, pg_tensorf *y, const float *tmp, size_t n0,
                                size_t cur, size_t g, size_t kg, size_t ohw) {
  size_t ld = cur * ohw;
  for (size_t s = 0; s < cur; s++)
    for (size_t k = 0; k < kg; k++) {
      float *yk = y->data + ((n0 + s) * y->c + g * kg + k) * ohw;
      const float *t = tmp + k * ld + s * ohw;
      if (p->b) {
        float bk = (float)p->b[g * kg + k];
        for (size_t i = 0; i < ohw; i++) yk[i] = t[i] + bk;
      } else {
        memcpy(yk, t, ohw * sizeof *yk);
      }
    }
}

static pg_status conv_shifted_f(const pg_conv2d *p, const float *wf, const pg_tensorf *x,
                                pg_tensorf *y);

pg_status pg_conv2d_forward_f32(const pg_conv2d *p, const float *wf, const pg_tensorf *x,
                                pg_tensorf *y) {
  if (!wf || !p->cin || !p->cout || !p->kh || !p->kw || !p->stride || !p->groups ||
      p->cin % p->groups || p->cout % p->groups)
    return PG_EINVAL;
  size_t oh = pg_conv_out(x->h, p->kh, p->stride, p->pad);
  size_t ow = pg_conv_out(x->w, p->kw, p->stride, p->pad);
  if (x->c != p->cin || !oh || !ow || y->n != x->n || y->c != p->cout || y->h != oh ||
      y->w != ow)
    return PG_ESHAPE;
  size_t G = p->groups, cg = p->cin / G, kg = p->cout / G;
  size_t ohw = oh * ow, kk = cg * p->kh * p->kw, n = x->n;
  if (!n) return PG_OK;
  if (G == p->cin && G == p->cout) {
    dwconv_f(p, wf, x, y);
    return PG_OK;
  }
  if (G == 1 && is_pointwise(p) && ohw >= 256) { /* the input plane is the im2col matrix */
    for (size_t s = 0; s < n; s++) {
      float *ys = y->data + s * p->cout * ohw;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->cout, (int)ohw, (int)p->cin,
                  1.0f, wf, (int)p->cin, x->data + s * p->cin * ohw, (int)ohw, 0.0f, ys, (int)ohw);
      if (p->b)
        for (size_t k = 0; k < p->cout; k++)
          for (size_t i = 0; i < ohw; i++) ys[k * ohw + i] += (float)p->b[k];
    }
    return PG_OK;
  }
  if (G == 1 && p->stride == 1 && (p->kh > 1 || p->kw > 1)) return conv_shifted_f(p, wf, x, y);
  size_t nb = chunk_samples(n, kk, ohw, sizeof(float));
  float *col = malloc(kk * nb * ohw * sizeof *col), *tmp = malloc(kg * nb * ohw * sizeof *tmp);
  if (!col || !tmp) {
    free(col);
    free(tmp);
    return PG_ENOMEM;
  }
  for (size_t n0 = 0; n0 < n; n0 += nb) {
    size_t cur = n - n0 < nb ? n - n0 : nb, ld = cur * ohw;
    for (size_t g = 0; g < G; g++) {
      for (size_t s = 0; s < cur; s++) {
        const float *xg = x->data + ((n0 + s) * x->c + g * cg) * x->h * x->w;
        im2col_ff(xg, cg, x->h, x->w, p, oh, ow, col + s * ohw, ld);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)ld, (int)kk, 1.0f,
                  wf + g * kg * kk, (int)kk, col, (int)ld, 0.0f, tmp, (int)ld);
      scatter_f(p, y, tmp, n0, cur, g, kg, ohw);
    }
  }
  free(col);
  free(tmp);
  return PG_OK;
}

/* A dense stride-1 convolution without a full im2col ("shifted GEMMs"):
 * with each input channel zero-padded to a Hp x Wp plane (plus kw slack
 * values) and copied kw times shifted by fx = 0..kw-1 (rows (ci, fx) of
 * Q), the im2col rows of kernel row fy over the padded output positions
 * q = oy*Wp + ox are Q's rows shifted by fy*Wp, so one SGEMM per kernel row
 * (K = cin*kw, rows `ld` apart) accumulates Y += W_fy * Q_shifted, with kw
 * copies of the input instead of kh*kw. The Wp - ow columns past each
 * output row are computed and dropped. Chunks of nb samples share each GEMM
 * (layout Q[ci][fx][s][plane]). */
static pg_status conv_shifted_f(const pg_conv2d *p, const float *wf, const pg_tensorf *x,
                                pg_tensorf *y) {
  size_t cin = p->cin, cout = p->cout, kh = p->kh, kw = p->kw, pad = p->pad;
  size_t h = x->h, w = x->w, oh = y->h, ow = y->w, hp = h + 2 * pad, wp = w + 2 * pad;
  size_t plane = hp * wp + kw, n = x->n, kk = cin * kw;
  size_t nb = 4096 / plane;
  if (nb < 1) nb = 1;
  if (nb > n) nb = n;
  size_t ld = nb * plane;
  float *Q = malloc(kk * ld * sizeof *Q), *wt = malloc(kh * cout * kk * sizeof *wt);
  float *tmp = malloc(cout * ld * sizeof *tmp);
  if (!Q || !wt || !tmp) {
    free(Q);
    free(wt);
    free(tmp);
    return PG_ENOMEM;
  }
  for (size_t co = 0; co < cout; co++) /* wt[fy][co][ci*kw + fx] */
    for (size_t ci = 0; ci < cin; ci++)
      for (size_t fy = 0; fy < kh; fy++)
        for (size_t fx = 0; fx < kw; fx++)
          wt[(fy * cout + co) * kk + ci * kw + fx] = wf[((co * cin + ci) * kh + fy) * kw + fx];
  memset(Q, 0, kk * ld * sizeof *Q);
  for (size_t n0 = 0; n0 < n; n0 += nb) {
    size_t cur = n - n0 < nb ? n - n0 : nb;
    size_t N = (cur - 1) * plane + oh * wp;
    /* Q[ci][fx][s][j] = padded x[ci] at j + fx; the zeros written once stay
     * zero: every chunk writes the same interior positions */
    for (size_t ci = 0; ci < cin; ci++)
      for (size_t fx = 0; fx < kw; fx++)
        for (size_t s = 0; s < cur; s++) {
          const float *xs = x->data + ((n0 + s) * cin + ci) * h * w;
          float *qs = Q + (ci * kw + fx) * ld + s * plane;
          for (size_t iy = 0; iy < h; iy++) {
            /* padded (iy + pad, ix + pad) lands at j = that - fx */
            long j0 = (long)((iy + pad) * wp + pad) - (long)fx;
            size_t skip = j0 < 0 ? (size_t)(-j0) : 0;
            if (skip < w) memcpy(qs + j0 + (long)skip, xs + iy * w + skip, (w - skip) * sizeof *qs);
          }
        }
    for (size_t fy = 0; fy < kh; fy++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cout, (int)N, (int)kk, 1.0f,
                  wt + fy * cout * kk, (int)kk, Q + fy * wp, (int)ld, fy ? 1.0f : 0.0f, tmp,
                  (int)ld);
    for (size_t s = 0; s < cur; s++)
      for (size_t co = 0; co < cout; co++) {
        float *yk = y->data + ((n0 + s) * cout + co) * oh * ow, bk = p->b ? (float)p->b[co] : 0.0f;
        const float *tk = tmp + co * ld + s * plane;
        for (size_t oy = 0; oy < oh; oy++)
          for (size_t ox = 0; ox < ow; ox++) yk[oy * ow + ox] = tk[oy * wp + ox] + bk;
      }
  }
  free(Q);
  free(wt);
  free(tmp);
  return PG_OK;
}

static int same_shape_f(const pg_tensorf *a, const pg_tensorf *b) {
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

PG_CLONES void pg_relu_forward_f32(const pg_tensorf *x, pg_tensorf *y) {
  size_t m = pg_tensorf_numel(x);
  for (size_t i = 0; i < m; i++) y->data[i] = x->data[i] > 0.0f ? x->data[i] : 0.0f;
}

PG_CLONES pg_status pg_batchnorm_forward_f32(pg_batchnorm *p, pg_bn_mode mode,
                                             const pg_tensorf *x, pg_tensorf *y, int relu) {
  if (!same_shape_f(x, y) || x->c != p->c) return PG_ESHAPE;
  size_t hw = x->h * x->w, m = x->n * hw;
  if (mode == PG_BN_IDENTITY) {
    if (relu)
      pg_relu_forward_f32(x, y);
    else if (y->data != x->data)
      memcpy(y->data, x->data, pg_tensorf_numel(x) * sizeof(float));
    return PG_OK;
  }
  if (m == 0 || !p->mean || !p->invstd) return PG_EINVAL;
  for (size_t c = 0; c < x->c; c++) {
    /* shifted sums as pg_batchnorm_forward: eight float lanes within a
     * plane (hw/8 terms each), double across planes */
    float Kf = x->data[c * hw];
    double K = Kf, s = 0.0, s2 = 0.0;
    for (size_t n = 0; n < x->n; n++) {
      const float *xc = x->data + (n * x->c + c) * hw;
      float a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, q[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      size_t i = 0;
      for (; i + 8 <= hw; i += 8)
        for (int l = 0; l < 8; l++) {
          float d = xc[i + l] - Kf;
          a[l] += d;
          q[l] += d * d;
        }
      for (; i < hw; i++) {
        float d = xc[i] - Kf;
        a[0] += d;
        q[0] += d * d;
      }
      for (int l = 0; l < 8; l++) {
        s += a[l];
        s2 += q[l];
      }
    }
    double md = s / (double)m, mean = K + md, v = s2 - (double)m * md * md;
    if (v < 0) v = 0;
    double inv = 1.0 / sqrt(v / (double)m + p->eps);
    double g = p->gamma ? p->gamma[c] : 1.0, b = p->beta ? p->beta[c] : 0.0;
    p->mean[c] = mean;
    p->invstd[c] = inv;
    float scale = (float)(g * inv), shift = (float)(b - mean * g * inv);
    for (size_t n = 0; n < x->n; n++) {
      const float *xc = x->data + (n * x->c + c) * hw;
      float *yc = y->data + (n * y->c + c) * hw;
      if (relu)
        for (size_t i = 0; i < hw; i++) {
          float t = xc[i] * scale + shift;
          yc[i] = t > 0.0f ? t : 0.0f;
        }
      else
        for (size_t i = 0; i < hw; i++) yc[i] = xc[i] * scale + shift;
    }
  }
  return PG_OK;
}

static pg_status pool_shapes_f(const pg_pool2d *p, const pg_tensorf *x, const pg_tensorf *y) {
  return pool_dims(p, x->n, x->c, x->h, x->w, y->n, y->c, y->h, y->w);
}

/* Stride-1 average pooling as row then column window sums (avgpool_s1). */
PG_CLONES static pg_status avgpool_s1_f(const pg_pool2d *p, const pg_tensorf *x, pg_tensorf *y) {
  size_t h = x->h, w = x->w, oh = y->h, ow = y->w;
  float *r = malloc(h * ow * sizeof *r);
  size_t *c0 = s1_windows(p, h, w, oh, ow);
  if (!r || !c0) {
    free(r);
    free(c0);
    return PG_ENOMEM;
  }
  size_t *c1 = c0 + ow, *r0 = c1 + ow, *r1 = r0 + oh;
  float *inv = malloc(oh * ow * sizeof *inv);
  if (!inv) {
    free(r);
    free(c0);
    return PG_ENOMEM;
  }
  for (size_t oy = 0; oy < oh; oy++)
    for (size_t ox = 0; ox < ow; ox++)
      inv[oy * ow + ox] = 1.0f / (p->count_include_pad
                                      ? (float)(p->k * p->k)
                                      : (float)((r1[oy] - r0[oy]) * (c1[ox] - c0[ox])));
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    const float *xp = x->data + nc * h * w;
    float *yp = y->data + nc * oh * ow;
    /* row sums: each window column adds a shifted input row (vectorised) */
    for (size_t iy = 0; iy < h; iy++) {
      const float *xr = xp + iy * w;
      float *rr = r + iy * ow;
      for (size_t ox = 0; ox < ow; ox++) rr[ox] = 0.0f;
      for (size_t fx = 0; fx < p->k; fx++) {
        long off = (long)fx - (long)p->pad;
        size_t lo = off >= 0 ? 0 : (size_t)(-off);
        size_t hi = (long)w - off <= 0 ? 0 : (size_t)((long)w - off);
        if (hi > ow) hi = ow;
        for (size_t ox = lo; ox < hi; ox++) rr[ox] += xr[(long)ox + off];
      }
    }
    for (size_t oy = 0; oy < oh; oy++) {
      float *yr = yp + oy * ow;
      for (size_t ox = 0; ox < ow; ox++) yr[ox] = 0.0f;
      for (size_t iy = r0[oy]; iy < r1[oy]; iy++) {
        const float *rr = r + iy * ow;
        for (size_t ox = 0; ox < ow; ox++) yr[ox] += rr[ox];
      }
      for (size_t ox = 0; ox < ow; ox++) yr[ox] *= inv[oy * ow + ox];
    }
  }
  free(inv);
  free(r);
  free(c0);
  return PG_OK;
}

pg_status pg_avgpool_forward_f32(const pg_pool2d *p, const pg_tensorf *x, pg_tensorf *y) {
  pg_status st = pool_shapes_f(p, x, y);
  if (st) return st;
  if (p->stride == 1) return avgpool_s1_f(p, x, y);
  PG_AVGPOOL_WINDOWS(float, p, x, y);
  return PG_OK;
}

pg_status pg_maxpool_forward_f32(const pg_pool2d *p, const pg_tensorf *x, pg_tensorf *y) {
  pg_status st = pool_shapes_f(p, x, y);
  if (st) return st;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    const float *xp = x->data + nc * x->h * x->w;
    float *yp = y->data + nc * y->h * y->w;
    for (size_t oy = 0; oy < y->h; oy++)
      for (size_t ox = 0; ox < y->w; ox++) {
        size_t y0, y1, x0, x1;
        window(p, x->h, x->w, oy, ox, &y0, &y1, &x0, &x1);
        float b = xp[y0 * x->w + x0];
        for (size_t iy = y0; iy < y1; iy++)
          for (size_t ix = x0; ix < x1; ix++)
            if (xp[iy * x->w + ix] > b) b = xp[iy * x->w + ix];
        yp[oy * y->w + ox] = b;
      }
  }
  return PG_OK;
}

pg_status pg_gap_forward_f32(const pg_tensorf *x, pg_tensorf *y) {
  if (y->n != x->n || y->c != x->c || y->h != 1 || y->w != 1) return PG_ESHAPE;
  size_t hw = x->h * x->w;
  if (!hw) return PG_ESHAPE;
  for (size_t nc = 0; nc < x->n * x->c; nc++) {
    double s = 0.0;
    for (size_t i = 0; i < hw; i++) s += x->data[nc * hw + i];
    y->data[nc] = (float)(s / (double)hw);
  }
  return PG_OK;
}

pg_status pg_linear_forward_f32(const pg_linear *p, const pg_tensorf *x, pg_tensorf *y) {
  if (!p->w || !p->in || !p->out) return PG_EINVAL;
  if (x->c * x->h * x->w != p->in || y->n != x->n || y->c * y->h * y->w != p->out)
    return PG_ESHAPE;
  for (size_t n = 0; n < x->n; n++)
    for (size_t o = 0; o < p->out; o++) {
      double s = p->b ? p->b[o] : 0.0;
      const float *xn = x->data + n * p->in;
      const double *wo = p->w + o * p->in;
      for (size_t i = 0; i < p->in; i++) s += wo[i] * (double)xn[i];
      y->data[n * p->out + o] = (float)s;
    }
  return PG_OK;
}
