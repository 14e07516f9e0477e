/*
 * test_nn.c -- engine/nn: convolution against a direct loop, and every
 * backward pass against central finite differences of L = sum(r * y) for a
 * random r (so dL/dy = r).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn.h"

static void fill_normal(double *a, size_t n, pg_rng *r) {
  for (size_t i = 0; i < n; i++) a[i] = pg_rng_normal(r);
}

/* A layer under test: forward(ctx) writes ctx->y from ctx->x and parameters. */
typedef struct fdctx {
  int kind; /* 0 conv, 1 bn, 2 avgpool, 3 maxpool, 4 gap, 5 linear, 6 relu */
  pg_conv2d conv;
  pg_batchnorm bn;
  pg_pool2d pool;
  pg_linear lin;
  pg_tensor x, y, r;
} fdctx;

static void forward(fdctx *c) {
  pg_status st = PG_OK;
  switch (c->kind) {
  case 0: st = pg_conv2d_forward(&c->conv, &c->x, &c->y); break;
  case 1: st = pg_batchnorm_forward(&c->bn, PG_BN_TRAIN, &c->x, &c->y); break;
  case 2: st = pg_avgpool_forward(&c->pool, &c->x, &c->y); break;
  case 3: st = pg_maxpool_forward(&c->pool, &c->x, &c->y); break;
  case 4: st = pg_gap_forward(&c->x, &c->y); break;
  case 5: st = pg_linear_forward(&c->lin, &c->x, &c->y); break;
  case 6: pg_relu_forward(&c->x, &c->y); break;
  }
  assert_int_equal(st, PG_OK);
}

static double loss(fdctx *c) {
  forward(c);
  double s = 0.0;
  for (size_t i = 0; i < pg_tensor_numel(&c->y); i++) s += c->r.data[i] * c->y.data[i];
  return s;
}

/* Compare g[i] with the central difference of the loss in p[i], all i < n. */
static void check_fd(fdctx *c, double *p, const double *g, size_t n, const char *what) {
  const double h = 1e-5;
  for (size_t i = 0; i < n; i++) {
    double keep = p[i];
    p[i] = keep + h;
    double lp = loss(c);
    p[i] = keep - h;
    double lm = loss(c);
    p[i] = keep;
    double fd = (lp - lm) / (2 * h);
    if (fabs(fd - g[i]) > 1e-6 * (1.0 + fabs(fd))) {
      print_error("%s[%zu]: analytic %.10g, finite difference %.10g\n", what, i, g[i], fd);
      fail();
    }
  }
}

static void setup(fdctx *c, size_t n, size_t ch, size_t h, size_t w, size_t yc, size_t yh,
                  size_t yw, pg_rng *rng) {
  assert_int_equal(pg_tensor_alloc(&c->x, n, ch, h, w), PG_OK);
  assert_int_equal(pg_tensor_alloc(&c->y, n, yc, yh, yw), PG_OK);
  assert_int_equal(pg_tensor_alloc(&c->r, n, yc, yh, yw), PG_OK);
  fill_normal(c->x.data, pg_tensor_numel(&c->x), rng);
  fill_normal(c->r.data, pg_tensor_numel(&c->r), rng);
}

static void teardown(fdctx *c) {
  pg_tensor_free(&c->x);
  pg_tensor_free(&c->y);
  pg_tensor_free(&c->r);
}

/* Direct 7-loop convolution, the oracle for pg_conv2d_forward. */
static double direct_conv(const pg_conv2d *p, const pg_tensor *x, size_t n, size_t k, size_t oy,
                          size_t ox) {
  size_t cg = p->cin / p->groups, kg = p->cout / p->groups, g = k / kg;
  double s = p->b ? p->b[k] : 0.0;
  for (size_t c = 0; c < cg; c++)
    for (size_t fy = 0; fy < p->kh; fy++)
      for (size_t fx = 0; fx < p->kw; fx++) {
        long iy = (long)(oy * p->stride + fy) - (long)p->pad;
        long ix = (long)(ox * p->stride + fx) - (long)p->pad;
        if (iy < 0 || ix < 0 || iy >= (long)x->h || ix >= (long)x->w) continue;
        s += p->w[((k * cg + c) * p->kh + fy) * p->kw + fx] *
             x->data[((n * x->c + g * cg + c) * x->h + (size_t)iy) * x->w + (size_t)ix];
      }
  return s;
}

/* Configurations: {cin, cout, kh, kw, stride, pad, groups, bias, h, w}. */
static const size_t conv_cfg[][10] = {
    {4, 6, 3, 3, 2, 1, 2, 1, 5, 6}, /* grouped, strided, padded, biased */
    {3, 5, 1, 1, 1, 0, 1, 0, 4, 4}, /* pointwise fast path */
    {2, 2, 3, 3, 1, 1, 2, 0, 4, 3}, /* depthwise */
    {3, 4, 2, 3, 1, 0, 1, 1, 5, 4}, /* rectangular kernel, no padding */
};

static void test_conv_forward_direct(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 1);
  for (size_t t = 0; t < sizeof conv_cfg / sizeof conv_cfg[0]; t++) {
    const size_t *q = conv_cfg[t];
    fdctx c = {0};
    double w[256], b[16];
    c.conv = (pg_conv2d){q[0], q[1], q[2], q[3], q[4], q[5], q[6], w, q[7] ? b : NULL, 0};
    fill_normal(w, 256, &rng);
    fill_normal(b, 16, &rng);
    size_t oh = pg_conv_out(q[8], q[2], q[4], q[5]), ow = pg_conv_out(q[9], q[3], q[4], q[5]);
    setup(&c, 2, q[0], q[8], q[9], q[1], oh, ow, &rng);
    forward(&c);
    for (size_t n = 0; n < 2; n++)
      for (size_t k = 0; k < q[1]; k++)
        for (size_t oy = 0; oy < oh; oy++)
          for (size_t ox = 0; ox < ow; ox++)
            assert_true(fabs(c.y.data[((n * q[1] + k) * oh + oy) * ow + ox] -
                             direct_conv(&c.conv, &c.x, n, k, oy, ox)) < 1e-12);
    /* single precision: same values to float accuracy */
    c.conv.single = 1;
    pg_tensor y64 = c.y;
    assert_int_equal(pg_tensor_alloc(&c.y, 2, q[1], oh, ow), PG_OK);
    forward(&c);
    for (size_t i = 0; i < pg_tensor_numel(&c.y); i++)
      assert_true(fabs(c.y.data[i] - y64.data[i]) < 1e-5 * (1.0 + fabs(y64.data[i])));
    pg_tensor_free(&y64);
    teardown(&c);
  }
}

static void test_conv_backward_fd(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 2);
  for (size_t t = 0; t < sizeof conv_cfg / sizeof conv_cfg[0]; t++) {
    const size_t *q = conv_cfg[t];
    fdctx c = {0};
    double w[256], b[16], dw[256] = {0}, db[16] = {0};
    c.conv = (pg_conv2d){q[0], q[1], q[2], q[3], q[4], q[5], q[6], w, q[7] ? b : NULL, 0};
    fill_normal(w, 256, &rng);
    fill_normal(b, 16, &rng);
    size_t oh = pg_conv_out(q[8], q[2], q[4], q[5]), ow = pg_conv_out(q[9], q[3], q[4], q[5]);
    setup(&c, 2, q[0], q[8], q[9], q[1], oh, ow, &rng);
    pg_tensor dx;
    assert_int_equal(pg_tensor_alloc(&dx, 2, q[0], q[8], q[9]), PG_OK);
    assert_int_equal(pg_conv2d_backward(&c.conv, &c.x, &c.r, &dx, dw, db), PG_OK);
    size_t nw = q[1] * (q[0] / q[6]) * q[2] * q[3];
    check_fd(&c, c.x.data, dx.data, pg_tensor_numel(&c.x), "conv dx");
    check_fd(&c, w, dw, nw, "conv dw");
    if (q[7]) check_fd(&c, b, db, q[1], "conv db");
    pg_tensor_free(&dx);
    teardown(&c);
  }
}

static void test_conv_bad_shapes(void **state) {
  (void)state;
  double w[9];
  pg_conv2d p = {2, 3, 3, 3, 1, 1, 2, w, NULL, 0}; /* 3 not divisible by 2 groups */
  pg_tensor x, y;
  assert_int_equal(pg_tensor_alloc(&x, 1, 2, 4, 4), PG_OK);
  assert_int_equal(pg_tensor_alloc(&y, 1, 3, 4, 4), PG_OK);
  assert_int_equal(pg_conv2d_forward(&p, &x, &y), PG_EINVAL);
  p.groups = 1;
  p.cout = 4; /* y has 3 channels */
  assert_int_equal(pg_conv2d_forward(&p, &x, &y), PG_ESHAPE);
  pg_tensor_free(&x);
  pg_tensor_free(&y);
}

static void test_batchnorm(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 3);
  fdctx c = {0};
  double gamma[3], beta[3], mean[3], inv[3], dg[3] = {0}, dbt[3] = {0};
  fill_normal(gamma, 3, &rng);
  fill_normal(beta, 3, &rng);
  c.kind = 1;
  c.bn = (pg_batchnorm){3, 1e-5, gamma, beta, mean, inv};
  setup(&c, 3, 3, 2, 3, 3, 2, 3, &rng);
  forward(&c);
  /* closed form: each channel of (y - beta)/gamma has mean 0 and variance
   * var/(var + eps) */
  for (size_t ch = 0; ch < 3; ch++) {
    double s = 0.0, s2 = 0.0;
    for (size_t n = 0; n < 3; n++)
      for (size_t i = 0; i < 6; i++) {
        double z = (c.y.data[(n * 3 + ch) * 6 + i] - beta[ch]) / gamma[ch];
        s += z;
        s2 += z * z;
      }
    assert_true(fabs(s / 18) < 1e-12);
    double var = 1.0 / (inv[ch] * inv[ch]) - 1e-5;
    assert_true(fabs(s2 / 18 - var / (var + 1e-5)) < 1e-12);
  }
  pg_tensor dx;
  assert_int_equal(pg_tensor_alloc(&dx, 3, 3, 2, 3), PG_OK);
  assert_int_equal(pg_batchnorm_backward(&c.bn, PG_BN_TRAIN, &c.x, &c.r, &dx, dg, dbt), PG_OK);
  check_fd(&c, c.x.data, dx.data, pg_tensor_numel(&c.x), "bn dx");
  check_fd(&c, gamma, dg, 3, "bn dgamma");
  check_fd(&c, beta, dbt, 3, "bn dbeta");
  /* identity form: y = x, dx = dy */
  assert_int_equal(pg_batchnorm_forward(&c.bn, PG_BN_IDENTITY, &c.x, &c.y), PG_OK);
  assert_memory_equal(c.y.data, c.x.data, 54 * sizeof(double));
  assert_int_equal(pg_batchnorm_backward(&c.bn, PG_BN_IDENTITY, &c.x, &c.r, &dx, NULL, NULL),
                   PG_OK);
  assert_memory_equal(dx.data, c.r.data, 54 * sizeof(double));
  pg_tensor_free(&dx);
  teardown(&c);
}

static void test_pooling(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 4);
  /* {k, stride, pad, include_pad} */
  const size_t cfg[][4] = {{3, 1, 1, 0}, {3, 1, 1, 1}, {2, 2, 0, 0}, {3, 2, 1, 0}};
  for (int kind = 2; kind <= 3; kind++)
    for (size_t t = 0; t < 4; t++) {
      fdctx c = {0};
      c.kind = kind;
      c.pool = (pg_pool2d){cfg[t][0], cfg[t][1], cfg[t][2], (int)cfg[t][3]};
      size_t oh = pg_conv_out(5, cfg[t][0], cfg[t][1], cfg[t][2]);
      size_t ow = pg_conv_out(4, cfg[t][0], cfg[t][1], cfg[t][2]);
      setup(&c, 2, 2, 5, 4, 2, oh, ow, &rng);
      pg_tensor dx;
      assert_int_equal(pg_tensor_alloc(&dx, 2, 2, 5, 4), PG_OK);
      forward(&c);
      if (kind == 2) {
        /* corner of a 3x3/s1/p1 pool: 4 in-bounds values (or 9 with padding) */
        if (t < 2) {
          double s = c.x.data[0] + c.x.data[1] + c.x.data[4] + c.x.data[5];
          assert_true(fabs(c.y.data[0] - s / (t == 0 ? 4.0 : 9.0)) < 1e-14);
        }
        assert_int_equal(pg_avgpool_backward(&c.pool, &c.r, &dx), PG_OK);
      } else {
        assert_int_equal(pg_maxpool_backward(&c.pool, &c.x, &c.r, &dx), PG_OK);
      }
      check_fd(&c, c.x.data, dx.data, pg_tensor_numel(&c.x), kind == 2 ? "avgpool" : "maxpool");
      pg_tensor_free(&dx);
      teardown(&c);
    }
}

static void test_gap_linear_relu(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 5);
  fdctx c = {0};
  c.kind = 4;
  setup(&c, 2, 3, 3, 2, 3, 1, 1, &rng);
  pg_tensor dx;
  assert_int_equal(pg_tensor_alloc(&dx, 2, 3, 3, 2), PG_OK);
  assert_int_equal(pg_gap_backward(&c.r, &dx), PG_OK);
  check_fd(&c, c.x.data, dx.data, 36, "gap");
  pg_tensor_free(&dx);
  teardown(&c);

  double w[12], b[3], dw[12] = {0}, db[3] = {0};
  fill_normal(w, 12, &rng);
  fill_normal(b, 3, &rng);
  c = (fdctx){0};
  c.kind = 5;
  c.lin = (pg_linear){4, 3, w, b};
  setup(&c, 3, 4, 1, 1, 3, 1, 1, &rng);
  assert_int_equal(pg_tensor_alloc(&dx, 3, 4, 1, 1), PG_OK);
  assert_int_equal(pg_linear_backward(&c.lin, &c.x, &c.r, &dx, dw, db), PG_OK);
  check_fd(&c, c.x.data, dx.data, 12, "linear dx");
  check_fd(&c, w, dw, 12, "linear dw");
  check_fd(&c, b, db, 3, "linear db");
  pg_tensor_free(&dx);
  teardown(&c);

  c = (fdctx){0};
  c.kind = 6;
  setup(&c, 2, 2, 3, 3, 2, 3, 3, &rng);
  for (size_t i = 0; i < 36; i++) /* keep away from the kink */
    if (fabs(c.x.data[i]) < 1e-3) c.x.data[i] = 0.5;
  assert_int_equal(pg_tensor_alloc(&dx, 2, 2, 3, 3), PG_OK);
  pg_relu_backward(&c.x, &c.r, &dx);
  check_fd(&c, c.x.data, dx.data, 36, "relu");
  pg_tensor_free(&dx);
  teardown(&c);
}

static void test_kaiming(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 6);
  size_t n = 40000;
  double *w = malloc(n * sizeof *w);
  assert_non_null(w);
  pg_nn_kaiming_normal(w, n, 8 * 9, sqrt(2.0), &rng);
  double s = 0.0, s2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += w[i];
    s2 += w[i] * w[i];
  }
  double var = s2 / (double)n, target = 2.0 / 72.0;
  /* standard error of the variance estimate is target*sqrt(2/n) = 0.7 % */
  assert_true(fabs(var / target - 1.0) < 0.035);
  assert_true(fabs(s / (double)n) < 4.0 * sqrt(target / (double)n));
  free(w);
}

/* ---- single-precision forward against the double layers ---- */

static void to_f32(const pg_tensor *t, pg_tensorf *f) {
  *f = (pg_tensorf){t->n, t->c, t->h, t->w, malloc(pg_tensor_numel(t) * sizeof(float))};
  assert_non_null(f->data);
  for (size_t i = 0; i < pg_tensor_numel(t); i++) f->data[i] = (float)t->data[i];
}

static void near_f32(const pg_tensorf *f, const pg_tensor *d, double tol, const char *what) {
  assert_int_equal(pg_tensorf_numel(f), pg_tensor_numel(d));
  for (size_t i = 0; i < pg_tensor_numel(d); i++)
    if (!(fabs(f->data[i] - d->data[i]) <= tol * (1.0 + fabs(d->data[i])))) {
      print_error("%s[%zu]: float %.8g, double %.8g\n", what, i, f->data[i], d->data[i]);
      fail();
    }
}

/* {cin, cout, kh, kw, stride, pad, groups, bias, h, w}: one per float path */
static const size_t conv_f32_cfg[][10] = {
    {4, 6, 3, 3, 2, 1, 2, 1, 5, 6},    /* im2col: grouped, strided */
    {3, 5, 1, 1, 1, 0, 1, 0, 4, 4},    /* pointwise, small plane: im2col */
    {3, 5, 1, 1, 1, 0, 1, 1, 16, 17},  /* pointwise, plane >= 256: direct SGEMM */
    {3, 3, 5, 5, 2, 2, 3, 1, 9, 8},    /* depthwise 5x5 stride 2 */
    {4, 4, 3, 3, 1, 1, 4, 0, 7, 6},    /* depthwise 3x3 stride 1 */
    {5, 4, 3, 3, 1, 1, 1, 1, 9, 7},    /* dense stride 1: shifted GEMMs */
    {3, 4, 2, 3, 1, 0, 1, 0, 5, 4},    /* dense stride 1, rectangular, no padding */
    {2, 3, 3, 3, 1, 2, 1, 0, 4, 5},    /* dense stride 1, pad wider than the kernel half */
};

static void test_forward_f32(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 9);
  for (size_t t = 0; t < sizeof conv_f32_cfg / sizeof conv_f32_cfg[0]; t++) {
    const size_t *q = conv_f32_cfg[t];
    fdctx c = {0};
    double w[512], b[16];
    float wf[512];
    c.conv = (pg_conv2d){q[0], q[1], q[2], q[3], q[4], q[5], q[6], w, q[7] ? b : NULL, 0};
    fill_normal(w, 512, &rng);
    fill_normal(b, 16, &rng);
    for (int i = 0; i < 512; i++) wf[i] = (float)w[i];
    size_t oh = pg_conv_out(q[8], q[2], q[4], q[5]), ow = pg_conv_out(q[9], q[3], q[4], q[5]);
    setup(&c, 3, q[0], q[8], q[9], q[1], oh, ow, &rng);
    forward(&c);
    pg_tensorf xf, yf;
    to_f32(&c.x, &xf);
    to_f32(&c.y, &yf);
    memset(yf.data, 0, pg_tensorf_numel(&yf) * sizeof(float));
    assert_int_equal(pg_conv2d_forward_f32(&c.conv, wf, &xf, &yf), PG_OK);
    near_f32(&yf, &c.y, 1e-5, "conv f32");
    yf.c++;
    assert_int_equal(pg_conv2d_forward_f32(&c.conv, wf, &xf, &yf), PG_ESHAPE);
    free(xf.data);
    free(yf.data);
    teardown(&c);
  }
  /* batch norm (with and without the fused ReLU), pooling, GAP, linear */
  fdctx c = {0};
  setup(&c, 3, 4, 6, 5, 4, 6, 5, &rng);
  for (size_t i = 0; i < pg_tensor_numel(&c.x); i++) c.x.data[i] = 3.0 + 2.0 * c.x.data[i];
  double g[4], be[4], mean[4], inv[4], mf[4], invf[4];
  fill_normal(g, 4, &rng);
  fill_normal(be, 4, &rng);
  pg_batchnorm bn = {4, 1e-5, g, be, mean, inv}, bnf = {4, 1e-5, g, be, mf, invf};
  assert_int_equal(pg_batchnorm_forward(&bn, PG_BN_TRAIN, &c.x, &c.y), PG_OK);
  pg_tensorf xf, yf;
  to_f32(&c.x, &xf);
  to_f32(&c.x, &yf);
  for (int relu = 0; relu < 2; relu++) {
    assert_int_equal(pg_batchnorm_forward_f32(&bnf, PG_BN_TRAIN, &xf, &yf, relu), PG_OK);
    for (int k = 0; k < 4; k++) {
      assert_true(fabs(mf[k] - mean[k]) < 1e-5 * fabs(mean[k]));
      assert_true(fabs(invf[k] - inv[k]) < 1e-5 * inv[k]);
    }
    pg_tensor want = c.y;
    if (relu) {
      assert_int_equal(pg_tensor_alloc(&want, 3, 4, 6, 5), PG_OK);
      pg_relu_forward(&c.y, &want);
    }
    near_f32(&yf, &want, 1e-5, relu ? "bn+relu f32" : "bn f32");
    if (relu) pg_tensor_free(&want);
  }
  /* in place, identity mode with ReLU */
  memcpy(yf.data, xf.data, pg_tensorf_numel(&xf) * sizeof(float));
  assert_int_equal(pg_batchnorm_forward_f32(&bnf, PG_BN_IDENTITY, &yf, &yf, 1), PG_OK);
  for (size_t i = 0; i < pg_tensorf_numel(&xf); i++)
    assert_true(yf.data[i] == (xf.data[i] > 0 ? xf.data[i] : 0.0f));
  free(yf.data);
  const pg_pool2d pools[] = {{3, 1, 1, 0}, {3, 1, 1, 1}, {2, 2, 0, 1}, {3, 2, 1, 0}, {2, 1, 0, 0}};
  for (size_t t = 0; t < sizeof pools / sizeof pools[0]; t++)
    for (int mx = 0; mx < 2; mx++) {
      size_t oh = pg_conv_out(6, pools[t].k, pools[t].stride, pools[t].pad);
      size_t ow = pg_conv_out(5, pools[t].k, pools[t].stride, pools[t].pad);
      pg_tensor yd;
      assert_int_equal(pg_tensor_alloc(&yd, 3, 4, oh, ow), PG_OK);
      to_f32(&yd, &yf);
      if (mx) {
        assert_int_equal(pg_maxpool_forward(&pools[t], &c.x, &yd), PG_OK);
        assert_int_equal(pg_maxpool_forward_f32(&pools[t], &xf, &yf), PG_OK);
      } else {
        assert_int_equal(pg_avgpool_forward(&pools[t], &c.x, &yd), PG_OK);
        assert_int_equal(pg_avgpool_forward_f32(&pools[t], &xf, &yf), PG_OK);
      }
      near_f32(&yf, &yd, 1e-6, mx ? "maxpool f32" : "avgpool f32");
      pg_tensor_free(&yd);
      free(yf.data);
    }
  pg_tensor gd, ld;
  assert_int_equal(pg_tensor_alloc(&gd, 3, 4, 1, 1), PG_OK);
  assert_int_equal(pg_tensor_alloc(&ld, 3, 2, 1, 1), PG_OK);
  pg_tensorf gf, lf;
  to_f32(&gd, &gf);
  to_f32(&ld, &lf);
  assert_int_equal(pg_gap_forward(&c.x, &gd), PG_OK);
  assert_int_equal(pg_gap_forward_f32(&xf, &gf), PG_OK);
  near_f32(&gf, &gd, 1e-6, "gap f32");
  double lw[8], lb[2];
  fill_normal(lw, 8, &rng);
  fill_normal(lb, 2, &rng);
  pg_linear lin = {4, 2, lw, lb};
  assert_int_equal(pg_linear_forward(&lin, &gd, &ld), PG_OK);
  assert_int_equal(pg_linear_forward_f32(&lin, &gf, &lf), PG_OK);
  near_f32(&lf, &ld, 1e-6, "linear f32");
  free(gf.data);
  free(lf.data);
  pg_tensor_free(&gd);
  pg_tensor_free(&ld);
  free(xf.data);
  teardown(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_forward_direct), cmocka_unit_test(test_conv_backward_fd),
      cmocka_unit_test(test_conv_bad_shapes),     cmocka_unit_test(test_batchnorm),
      cmocka_unit_test(test_pooling),             cmocka_unit_test(test_gap_linear_relu),
      cmocka_unit_test(test_kaiming),             cmocka_unit_test(test_forward_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
