/* test_mlp.c -- MLP gradients against finite differences, orthogonal init,
 * Adam's closed-form first step, exact save/load round trip, XOR fit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mlp.h"

/* Loss L = sum_ij c_ij * Y_ij with fixed random c: dL/dY = c. */
static double loss_of(pg_mlp *m, const double *X, size_t n, const double *c) {
  size_t no = m->sizes[m->nlayers];
  assert_int_equal(pg_mlp_forward(m, X, n, NULL), PG_OK);
  const double *Y = pg_mlp_output(m);
  double s = 0.0;
  for (size_t i = 0; i < n * no; i++) s += c[i] * Y[i];
  return s;
}

static void check_gradients(pg_mlp_act act, int act_out, int sparse) {
  size_t sizes[] = {5, 7, 6, 3};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 3, sizes, act, act_out), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 11);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_NORMAL, 1.3, 1.0), PG_OK);
  /* non-zero biases so every parameter is exercised */
  for (size_t i = 0; i < m->nparams; i++) m->params[i] += 0.1 * pg_rng_normal(&r);
  const size_t n = 4;
  double X[4 * 5], c[4 * 3], dX[4 * 5];
  for (size_t i = 0; i < n * 5; i++) X[i] = pg_rng_normal(&r);
  if (sparse) /* 4 non-zeros out of 20: the first layer takes the sparse path */
    for (size_t i = 0; i < n * 5; i++) X[i] = i % 5 == i / 5 ? X[i] : 0.0;
  for (size_t i = 0; i < n * 3; i++) c[i] = pg_rng_normal(&r);
  loss_of(m, X, n, c);
  assert_int_equal(m->sparse, sparse);
  if (sparse) { /* same output as a dense reference computed here */
    const double *Y = pg_mlp_output(m);
    double h0[7], h1[6];
    for (size_t row = 0; row < n; row++) {
      const double *W = m->params;
      for (size_t j = 0; j < 7; j++) {
        double z = W[35 + j];
        for (size_t k = 0; k < 5; k++) z += X[row * 5 + k] * W[k * 7 + j];
        h0[j] = act == PG_MLP_TANH ? tanh(z) : (z > 0 ? z : 0);
      }
      W = m->params + m->offset[1];
      for (size_t j = 0; j < 6; j++) {
        double z = W[42 + j];
        for (size_t k = 0; k < 7; k++) z += h0[k] * W[k * 6 + j];
        h1[j] = act == PG_MLP_TANH ? tanh(z) : (z > 0 ? z : 0);
      }
      W = m->params + m->offset[2];
      for (size_t j = 0; j < 3; j++) {
        double z = W[18 + j];
        for (size_t k = 0; k < 6; k++) z += h1[k] * W[k * 3 + j];
        if (act_out) z = act == PG_MLP_TANH ? tanh(z) : (z > 0 ? z : 0);
        assert_true(fabs(z - Y[row * 3 + j]) < 1e-13);
      }
    }
  }
  pg_mlp_zero_grad(m);
  assert_int_equal(pg_mlp_backward(m, c, dX), PG_OK);
  double *g = malloc(m->nparams * sizeof *g);
  memcpy(g, m->grad, m->nparams * sizeof *g);
  const double h = 1e-5;
  for (size_t i = 0; i < m->nparams; i++) {
    double p = m->params[i];
    m->params[i] = p + h;
    double lp = loss_of(m, X, n, c);
    m->params[i] = p - h;
    double lm = loss_of(m, X, n, c);
    m->params[i] = p;
    double fd = (lp - lm) / (2 * h);
    assert_true(fabs(fd - g[i]) < 1e-6 * (1.0 + fabs(fd)));
  }
  for (size_t i = 0; i < n * 5; i++) {
    double p = X[i];
    X[i] = p + h;
    double lp = loss_of(m, X, n, c);
    X[i] = p - h;
    double lm = loss_of(m, X, n, c);
    X[i] = p;
    assert_true(fabs((lp - lm) / (2 * h) - dX[i]) < 1e-6);
  }
  /* gradients accumulate: a second backward doubles them */
  loss_of(m, X, n, c);
  assert_int_equal(pg_mlp_backward(m, c, NULL), PG_OK);
  for (size_t i = 0; i < m->nparams; i++) assert_true(fabs(m->grad[i] - 2 * g[i]) < 1e-12);
  free(g);
  pg_mlp_free(m);
}

static void test_grad_tanh(void **state) {
  (void)state;
  check_gradients(PG_MLP_TANH, 0, 0);
  check_gradients(PG_MLP_TANH, 1, 0);
  check_gradients(PG_MLP_TANH, 0, 1);
  check_gradients(PG_MLP_TANH, 1, 1);
}

static void test_grad_relu(void **state) {
  (void)state;
  check_gradients(PG_MLP_RELU, 0, 0);
  check_gradients(PG_MLP_RELU, 1, 0);
  check_gradients(PG_MLP_RELU, 0, 1);
  check_gradients(PG_MLP_RELU, 1, 1);
}

/* W W^T = g^2 I for out <= in, W^T W = g^2 I for out >= in. */
static void test_orthogonal(void **state) {
  (void)state;
  size_t sizes[] = {9, 4, 12};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 2, sizes, PG_MLP_TANH, 0), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 3);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_ORTHOGONAL, sqrt(2.0), 0.5), PG_OK);
  const double *W1 = m->params + m->offset[0]; /* W^T: 9 x 4 */
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++) {
      double s = 0;
      for (size_t k = 0; k < 9; k++) s += W1[k * 4 + i] * W1[k * 4 + j];
      assert_true(fabs(s - (i == j ? 2.0 : 0.0)) < 1e-12);
    }
  const double *W2 = m->params + m->offset[1]; /* W^T: 4 x 12 */
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++) {
      double s = 0;
      for (size_t k = 0; k < 12; k++) s += W2[i * 12 + k] * W2[j * 12 + k];
      assert_true(fabs(s - (i == j ? 0.25 : 0.0)) < 1e-12);
    }
  const double *b2 = W2 + 48;
  for (size_t i = 0; i < 12; i++) assert_true(b2[i] == 0.0);
  /* same seed, same weights */
  pg_mlp *m2;
  assert_int_equal(pg_mlp_new(&m2, 2, sizes, PG_MLP_TANH, 0), PG_OK);
  pg_rng_seed(&r, 3);
  assert_int_equal(pg_mlp_init(m2, &r, PG_MLP_INIT_ORTHOGONAL, sqrt(2.0), 0.5), PG_OK);
  assert_memory_equal(m->params, m2->params, m->nparams * sizeof(double));
  pg_mlp_free(m);
  pg_mlp_free(m2);
}

/* First Adam step from zero moments: mhat = g, vhat = g^2, so each
 * parameter moves by lr * g / (|g| + eps). Later: converges on a quadratic. */
static void test_adam(void **state) {
  (void)state;
  pg_mlp_adam a;
  assert_int_equal(pg_mlp_adam_init(&a, 3, 0.1, 1e-8), PG_OK);
  double p[3] = {1.0, -2.0, 0.5}, g[3] = {4.0, -0.001, 0.0};
  pg_mlp_adam_step(&a, p, g);
  assert_true(fabs(p[0] - (1.0 - 0.1 * 4.0 / (4.0 + 1e-8))) < 1e-14);
  assert_true(fabs(p[1] - (-2.0 + 0.1 * 0.001 / (0.001 + 1e-8))) < 1e-14);
  assert_true(p[2] == 0.5);
  for (int it = 0; it < 2000; it++) {
    for (int i = 0; i < 3; i++) g[i] = 2.0 * (p[i] - (double)i); /* minimum at (0, 1, 2) */
    pg_mlp_adam_step(&a, p, g);
  }
  for (int i = 0; i < 3; i++) assert_true(fabs(p[i] - i) < 1e-3);
  pg_mlp_adam_free(&a);
  assert_int_equal(pg_mlp_adam_init(&a, 3, -1.0, 1e-8), PG_EINVAL);
}

static void test_save_load(void **state) {
  (void)state;
  size_t sizes[] = {3, 8, 2};
  pg_mlp *m, *m2;
  assert_int_equal(pg_mlp_new(&m, 2, sizes, PG_MLP_RELU, 1), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 5);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_ORTHOGONAL, 1.0, 0.01), PG_OK);
  char path[] = "/tmp/pg_test_mlp_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(pg_mlp_save(m, path), PG_OK);
  assert_int_equal(pg_mlp_load(&m2, path), PG_OK);
  assert_int_equal(m2->nlayers, 2);
  assert_int_equal(m2->act, PG_MLP_RELU);
  assert_int_equal(m2->act_out, 1);
  assert_memory_equal(m->params, m2->params, m->nparams * sizeof(double)); /* bit-exact */
  /* the file is gzip: magic bytes 1f 8b */
  FILE *f = fopen(path, "rb");
  unsigned char magic[2];
  assert_int_equal(fread(magic, 1, 2, f), 2);
  fclose(f);
  assert_true(magic[0] == 0x1f && magic[1] == 0x8b);
  pg_mlp_free(m2);
  /* malformed and missing files */
  f = fopen(path, "wb");
  fputs("not a network\n", f);
  fclose(f);
  assert_int_equal(pg_mlp_load(&m2, path), PG_EFORMAT);
  assert_null(m2);
  remove(path);
  assert_int_equal(pg_mlp_load(&m2, "/nonexistent/dir/x.gz"), PG_EIO);
  pg_mlp_free(m);
  pg_mlp_free(NULL);
}

static void test_bad_sizes(void **state) {
  (void)state;
  pg_mlp *m;
  size_t s0[] = {3, 0, 2};
  assert_int_equal(pg_mlp_new(&m, 2, s0, PG_MLP_TANH, 0), PG_EINVAL);
  assert_int_equal(pg_mlp_new(&m, 0, s0, PG_MLP_TANH, 0), PG_EINVAL);
  size_t s1[] = {3, 2};
  assert_int_equal(pg_mlp_new(&m, 1, s1, (pg_mlp_act)7, 0), PG_EINVAL);
  assert_int_equal(pg_mlp_new(&m, 1, s1, PG_MLP_TANH, 0), PG_OK);
  assert_int_equal(pg_mlp_backward(m, NULL, NULL), PG_ESTATE); /* no forward yet */
  pg_mlp_free(m);
}

/* A 2-8-1 tanh net fits XOR with Adam on the squared error. */
static void test_xor(void **state) {
  (void)state;
  size_t sizes[] = {2, 8, 1};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 2, sizes, PG_MLP_TANH, 0), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 1);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_ORTHOGONAL, 1.0, 1.0), PG_OK);
  const double X[8] = {0, 0, 0, 1, 1, 0, 1, 1}, T[4] = {0, 1, 1, 0};
  pg_mlp_adam a;
  assert_int_equal(pg_mlp_adam_init(&a, m->nparams, 0.05, 1e-8), PG_OK);
  double Y[4], dY[4];
  for (int it = 0; it < 1500; it++) {
    pg_mlp_forward(m, X, 4, Y);
    for (int i = 0; i < 4; i++) dY[i] = 2 * (Y[i] - T[i]);
    pg_mlp_zero_grad(m);
    pg_mlp_backward(m, dY, NULL);
    pg_mlp_adam_step(&a, m->params, m->grad);
  }
  pg_mlp_forward(m, X, 4, Y);
  for (int i = 0; i < 4; i++) assert_true(fabs(Y[i] - T[i]) < 0.05);
  pg_mlp_adam_free(&a);
  pg_mlp_free(m);
}

/* A wide one-hot-like first layer (37 outputs: two register blocks of 16
 * and a tail): output and weight gradient against sums written out here,
 * pg_mlp_forward_sparse bit-identical to pg_mlp_forward, and its argument
 * checks. */
static void test_sparse_input(void **state) {
  (void)state;
  enum { NI = 40, NO = 37, N = 9 };
  size_t sizes[] = {NI, NO};
  pg_mlp *m, *m2;
  assert_int_equal(pg_mlp_new(&m, 1, sizes, PG_MLP_TANH, 1), PG_OK);
  assert_int_equal(pg_mlp_new(&m2, 1, sizes, PG_MLP_TANH, 1), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 5);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_NORMAL, 1.0, 3.0), PG_OK);
  for (size_t i = 0; i < m->nparams; i++) m->params[i] += 0.2 * pg_rng_normal(&r);
  assert_int_equal(pg_mlp_copy_params(m2, m), PG_OK);
  double X[N * NI] = {0}, c[N * NO];
  for (size_t row = 0; row < N; row++) { /* 3 one-hot entries and one real value per row */
    for (int t = 0; t < 3; t++) X[row * NI + t * 10 + pg_rng_below(&r, 10)] = 1.0;
    X[row * NI + 30 + row % 10] = pg_rng_normal(&r);
  }
  for (size_t i = 0; i < N * NO; i++) c[i] = pg_rng_normal(&r);
  assert_int_equal(pg_mlp_forward(m, X, N, NULL), PG_OK);
  assert_int_equal(m->sparse, 1);
  const double *Y = pg_mlp_output(m), *W = m->params, *b = m->params + NI * NO;
  double dZ[N * NO];
  for (size_t row = 0; row < N; row++)
    for (size_t j = 0; j < NO; j++) {
      double z = b[j];
      for (size_t k = 0; k < NI; k++) z += X[row * NI + k] * W[k * NO + j];
      assert_true(fabs(tanh(z) - Y[row * NO + j]) < 1e-14);
      dZ[row * NO + j] = c[row * NO + j] * (1.0 - Y[row * NO + j] * Y[row * NO + j]);
    }
  pg_mlp_zero_grad(m);
  assert_int_equal(pg_mlp_backward(m, c, NULL), PG_OK);
  for (size_t k = 0; k < NI; k++)
    for (size_t j = 0; j < NO; j++) {
      double g = 0.0;
      for (size_t row = 0; row < N; row++) g += X[row * NI + k] * dZ[row * NO + j];
      assert_true(fabs(g - m->grad[k * NO + j]) < 1e-12);
    }
  /* the same input as compressed rows, offset by 3 entries */
  size_t ptr[N + 1], nz = 3;
  uint32_t idx[3 + N * NI];
  double val[3 + N * NI];
  for (size_t row = 0; row < N; row++) {
    ptr[row] = nz;
    for (size_t k = 0; k < NI; k++)
      if (X[row * NI + k] != 0.0) {
        idx[nz - 3] = (uint32_t)k;
        val[nz - 3] = X[row * NI + k];
        nz++;
      }
  }
  ptr[N] = nz;
  assert_int_equal(pg_mlp_forward_sparse(m2, N, ptr, idx, val, NULL), PG_OK);
  assert_memory_equal(pg_mlp_output(m2), Y, N * NO * sizeof *Y);
  pg_mlp_zero_grad(m2);
  assert_int_equal(pg_mlp_backward(m2, c, NULL), PG_OK);
  assert_memory_equal(m2->grad, m->grad, m->nparams * sizeof *m->grad);
  /* argument checks */
  uint32_t save = idx[1];
  idx[1] = NI; /* column out of range */
  assert_int_equal(pg_mlp_forward_sparse(m2, N, ptr, idx, val, NULL), PG_EINVAL);
  idx[1] = idx[0]; /* repeated column */
  assert_int_equal(pg_mlp_forward_sparse(m2, N, ptr, idx, val, NULL), PG_EINVAL);
  idx[1] = save;
  size_t p1 = ptr[1];
  ptr[1] = ptr[2] + 1; /* decreasing */
  assert_int_equal(pg_mlp_forward_sparse(m2, N, ptr, idx, val, NULL), PG_EINVAL);
  ptr[1] = p1;
  assert_int_equal(pg_mlp_forward_sparse(m2, 0, ptr, idx, val, NULL), PG_EINVAL);
  pg_mlp_free(m);
  pg_mlp_free(m2);
}

/* tanh of the hidden layers against libm's over a sweep (both sides of the
 * 0.02 switch, the clamp at 20, infinities, NaN): a 1 -> 64 layer with unit
 * weights and zero biases computes tanh(x) in every output. */
static void test_tanh(void **state) {
  (void)state;
  size_t sizes[] = {1, 64};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 1, sizes, PG_MLP_TANH, 1), PG_OK);
  for (size_t j = 0; j < 64; j++) m->params[j] = 1.0;
  enum { N = 4007 };
  double *X = malloc(N * sizeof *X);
  for (size_t i = 0; i < N - 7; i++) X[i] = -25.0 + 50.0 * (double)i / (double)(N - 8);
  X[N - 7] = 0.02;
  X[N - 6] = -0.019999999999;
  X[N - 5] = 1e-300;
  X[N - 4] = INFINITY;
  X[N - 3] = -INFINITY;
  X[N - 2] = 0.0;
  X[N - 1] = NAN;
  assert_int_equal(pg_mlp_forward(m, X, N, NULL), PG_OK);
  const double *Y = pg_mlp_output(m);
  for (size_t i = 0; i + 1 < N; i++)
    for (size_t j = 0; j < 64; j++) {
      double t = tanh(X[i]), y = Y[i * 64 + j];
      assert_true(fabs(y - t) <= 1e-14 * fabs(t));
      if (t != 0.0) assert_true(!signbit(y) == !signbit(t));
    }
  for (size_t j = 0; j < 64; j++) assert_true(isnan(Y[(N - 1) * 64 + j]));
  free(X);
  pg_mlp_free(m);
}

/* pg_mlp_rows_to_columns against a scan of the dense matrix, and
 * pg_mlp_forward_sparse_ref (rows referenced with an offset, columns given
 * or not) bit-identical to pg_mlp_forward on the dense input. */
static void test_sparse_ref(void **state) {
  (void)state;
  enum { NI = 30, N = 6 };
  size_t sizes[] = {NI, 20, 3};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 2, sizes, PG_MLP_TANH, 0), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 9);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_NORMAL, 1.0, 1.0), PG_OK);
  double X[N * NI] = {0}, dY[N * 3];
  for (size_t i = 0; i < N; i++)
    for (int t = 0; t < 4; t++) X[i * NI + pg_rng_below(&r, NI)] = t ? 1.0 : pg_rng_normal(&r);
  for (size_t i = 0; i < N * 3; i++) dY[i] = pg_rng_normal(&r);
  /* compressed rows stored after 5 unrelated entries */
  size_t ptr[N + 1], nz = 5;
  uint32_t idx[5 + N * NI];
  double val[5 + N * NI];
  for (size_t i = 0; i < N; i++) {
    ptr[i] = nz;
    for (size_t k = 0; k < NI; k++)
      if (X[i * NI + k] != 0.0) {
        idx[nz] = (uint32_t)k;
        val[nz++] = X[i * NI + k];
      }
  }
  ptr[N] = nz;
  size_t cptr[NI + 1];
  uint32_t crow[N * NI];
  double cval[N * NI];
  pg_mlp_rows_to_columns(N, NI, ptr, idx + 5, val + 5, cptr, crow, cval);
  size_t at = 0;
  for (size_t k = 0; k < NI; k++) {
    assert_int_equal(cptr[k], at);
    for (size_t i = 0; i < N; i++)
      if (X[i * NI + k] != 0.0) {
        assert_int_equal(crow[at], i);
        assert_true(cval[at] == X[i * NI + k]);
        at++;
      }
  }
  assert_int_equal(cptr[NI], at);
  /* reference: dense input */
  double Y0[N * 3], G0[NI * 20 + 20 + 20 * 3 + 3], Y1[N * 3];
  assert_int_equal(pg_mlp_forward(m, X, N, Y0), PG_OK);
  assert_int_equal(m->sparse, 1);
  assert_int_equal(pg_mlp_backward_set(m, dY, NULL), PG_OK);
  assert_int_equal(m->nparams, sizeof G0 / sizeof *G0);
  memcpy(G0, m->grad, sizeof G0);
  for (int cols = 0; cols < 2; cols++) {
    assert_int_equal(pg_mlp_forward_sparse_ref(m, N, ptr, idx + 5, val + 5, cols ? cptr : NULL,
                                               crow, cval, Y1),
                     PG_OK);
    assert_memory_equal(Y0, Y1, sizeof Y0);
    assert_int_equal(pg_mlp_backward_set(m, dY, NULL), PG_OK);
    assert_memory_equal(G0, m->grad, sizeof G0);
  }
  pg_mlp_free(m);
}

/* One forward, backward (accumulating into a non-zero gradient, with dX)
 * and Adam step at kernel level `level`; returns the level used. Sizes
 * exercise every register block and tail (rows 4k+1..3, columns of 1, 11,
 * 37, 64 + 5). */
static int run_level(int level, pg_mlp_act act, int act_out, int sparse, double *out,
                     size_t *nout) {
  int used = pg_mlp_set_simd(level);
  size_t sizes[] = {45, 69, 37, 11, 1};
  pg_mlp *m;
  assert_int_equal(pg_mlp_new(&m, 4, sizes, act, act_out), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 23);
  assert_int_equal(pg_mlp_init(m, &r, PG_MLP_INIT_NORMAL, 1.5, 1.0), PG_OK);
  for (size_t i = 0; i < m->nparams; i++) {
    m->params[i] += 0.1 * pg_rng_normal(&r);
    m->grad[i] = pg_rng_normal(&r);
  }
  enum { N = 7 };
  double X[N * 45], dY[N], dX[N * 45];
  for (size_t i = 0; i < N * 45; i++)
    X[i] = sparse ? (pg_rng_below(&r, 6) == 0 ? pg_rng_normal(&r) : 0.0) : pg_rng_normal(&r);
  for (size_t i = 0; i < N; i++) dY[i] = pg_rng_normal(&r);
  assert_int_equal(pg_mlp_forward(m, X, N, NULL), PG_OK);
  assert_int_equal(m->sparse, sparse);
  assert_int_equal(pg_mlp_backward(m, dY, dX), PG_OK);
  pg_mlp_adam a;
  assert_int_equal(pg_mlp_adam_init(&a, m->nparams, 1e-3, 1e-8), PG_OK);
  pg_mlp_adam_step(&a, m->params, m->grad);
  size_t k = 0;
  memcpy(out + k, pg_mlp_output(m), N * sizeof *out), k += N;
  memcpy(out + k, dX, sizeof dX), k += N * 45;
  memcpy(out + k, m->grad, m->nparams * sizeof *out), k += m->nparams;
  memcpy(out + k, m->params, m->nparams * sizeof *out), k += m->nparams;
  *nout = k;
  pg_mlp_adam_free(&a);
  pg_mlp_free(m);
  return used;
}

/* The AVX-512, AVX2+FMA and portable kernels give the same bits (where the
 * CPU has them; the portable level always runs). */
static void test_kernel_levels(void **state) {
  (void)state;
  size_t cap = 2 * (45 * 69 + 69 * 37 + 37 * 11 + 11 + 200) + 7 * 46;
  double *ref = malloc(cap * sizeof *ref), *got = malloc(cap * sizeof *got);
  for (int act = 0; act < 2; act++)
    for (int act_out = 0; act_out < 2; act_out++)
      for (int sparse = 0; sparse < 2; sparse++) {
        size_t n0, n1;
        assert_int_equal(run_level(0, (pg_mlp_act)act, act_out, sparse, ref, &n0), 0);
        for (int level = 1; level <= 2; level++) {
          int used = run_level(level, (pg_mlp_act)act, act_out, sparse, got, &n1);
          assert_int_equal(n0, n1);
          if (used == level) assert_memory_equal(ref, got, n0 * sizeof *ref);
        }
      }
  pg_mlp_set_simd(2);
  free(ref);
  free(got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grad_tanh), cmocka_unit_test(test_grad_relu),
      cmocka_unit_test(test_orthogonal), cmocka_unit_test(test_adam),
      cmocka_unit_test(test_save_load), cmocka_unit_test(test_bad_sizes),
      cmocka_unit_test(test_xor),          cmocka_unit_test(test_sparse_input),
      cmocka_unit_test(test_tanh),         cmocka_unit_test(test_kernel_levels),
      cmocka_unit_test(test_sparse_ref),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
