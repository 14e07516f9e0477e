/* test_kernel.c -- kernels: closed forms, brute force, symmetry/PSD, and
 * analytic gradients against central finite differences (step 1e-4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "linalg.h"
#include "rng.h"

/* Brute-force value of a base kernel between two points. */
static double brute_base(const pg_kernel *k, const double *a, const double *b) {
  double q = 0.0;
  for (size_t j = 0; j < k->ndims; j++) {
    double l = exp(k->loglen[j]);
    double u = a[k->dims[j]], v = b[k->dims[j]];
    if (k->kind == PG_KERNEL_HAMMING)
      q += u != v ? 1.0 / l : 0.0;
    else
      q += (u - v) * (u - v) / (l * l);
  }
  double s2 = exp(k->logvar), r = sqrt(q);
  switch (k->kind) {
  case PG_KERNEL_SE: return s2 * exp(-0.5 * q);
  case PG_KERNEL_MATERN12: return s2 * exp(-r);
  case PG_KERNEL_MATERN32: return s2 * (1 + sqrt(3.0) * r) * exp(-sqrt(3.0) * r);
  case PG_KERNEL_MATERN52: return s2 * (1 + sqrt(5.0) * r + 5.0 * q / 3.0) * exp(-sqrt(5.0) * r);
  case PG_KERNEL_HAMMING: return s2 * exp(-q);
  default: return NAN;
  }
}

static double brute(const pg_kernel *k, const double *a, const double *b) {
  if (k->kind <= PG_KERNEL_HAMMING) return brute_base(k, a, b);
  double v = k->kind == PG_KERNEL_SUM ? 0.0 : 1.0;
  for (size_t c = 0; c < k->nchild; c++) {
    double x = brute(k->child[c], a, b);
    v = k->kind == PG_KERNEL_SUM ? v + x : v * x;
  }
  return v;
}

/* Points whose columns 3..4 are categorical (values 0, 1, 2). */
static void make_points(pg_rng *r, double *X, size_t n, size_t d) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      X[i * d + j] = j >= 3 ? (double)pg_rng_below(r, 3) : pg_rng_uniform(r) * 2.0;
}

static pg_kernel *make_kernel(int which) {
  pg_kernel *k = NULL;
  size_t cont[3] = {0, 1, 2}, cat[2] = {3, 4};
  if (which < 5) {
    pg_kernel_kind kinds[5] = {PG_KERNEL_SE, PG_KERNEL_MATERN12, PG_KERNEL_MATERN32,
                               PG_KERNEL_MATERN52, PG_KERNEL_HAMMING};
    assert_int_equal(pg_kernel_new(&k, kinds[which], which == 4 ? cat : cont,
                                   which == 4 ? 2 : 3),
                     PG_OK);
  } else {
    pg_kernel *ch[3];
    assert_int_equal(pg_kernel_new(&ch[0], PG_KERNEL_MATERN52, cont, 3), PG_OK);
    assert_int_equal(pg_kernel_new(&ch[1], PG_KERNEL_HAMMING, cat, 2), PG_OK);
    assert_int_equal(pg_kernel_new(&ch[2], PG_KERNEL_SE, cont + 1, 2), PG_OK);
    assert_int_equal(
        pg_kernel_combine(&k, which == 5 ? PG_KERNEL_SUM : PG_KERNEL_PRODUCT, ch, 3), PG_OK);
  }
  /* distinct parameters */
  size_t p = pg_kernel_nparams(k);
  double th[32];
  for (size_t i = 0; i < p; i++) th[i] = -0.3 + 0.17 * (double)i - (i % 3 == 2 ? 0.5 : 0.0);
  assert_int_equal(pg_kernel_set_params(k, th), PG_OK);
  return k;
}

static void test_closed_forms(void **state) {
  (void)state;
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_SE, NULL, 2), PG_OK);
  double th[3] = {log(2.0), log(0.5), log(3.0)};
  pg_kernel_set_params(k, th);
  double a[2] = {1.0, 2.0}, b[2] = {2.0, 2.5}, K;
  pg_kernel_matrix(k, a, 1, b, 1, 2, &K);
  /* r^2 = (1/2)^2 + (0.5/0.5)^2 = 1.25 */
  assert_true(fabs(K - 3.0 * exp(-0.625)) < 1e-14);
  pg_kernel_free(k);

  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, 1), PG_OK);
  double t2[2] = {0.0, 0.0}, x = 0.0, y = 1.0;
  pg_kernel_set_params(k, t2);
  pg_kernel_matrix(k, &x, 1, &y, 1, 1, &K);
  assert_true(fabs(K - (1 + sqrt(5.0) + 5.0 / 3.0) * exp(-sqrt(5.0))) < 1e-14);
  pg_kernel_free(k);

  /* Hamming: 2 mismatches of 3 columns, unit lengthscales: exp(-2) */
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_HAMMING, NULL, 3), PG_OK);
  double c1[3] = {1, 2, 3}, c2[3] = {1, 5, 4};
  pg_kernel_matrix(k, c1, 1, c2, 1, 3, &K);
  assert_true(fabs(K - exp(-2.0)) < 1e-15);
  pg_kernel_free(k);
}

static void test_vexp(void **state) {
  (void)state;
  double x[2001], e[2001];
  for (int i = 0; i <= 2000; i++) x[i] = e[i] = -745.0 + 1454.0 * i / 2000.0;
  x[0] = e[0] = -0.0;
  x[1] = e[1] = 1e-300;
  x[2] = e[2] = -7e-3;
  pg_vexp(e, 2001);
  for (int i = 0; i <= 2000; i++) {
    double t = exp(x[i]);
    if (t > 1e-300) assert_true(fabs(e[i] - t) <= 4e-16 * t);
  }
  double big = -800.0;
  pg_vexp(&big, 1);
  assert_true(big >= 0.0 && big < 1e-320);
}

static void test_brute_symmetric_psd(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 11);
  enum { N = 70, D = 5 }; /* K(X, X): the symmetric (triangle) path */
  double X[N * D], Y[7 * D], K[N * N], C[7 * N], W[N * N];
  make_points(&r, X, N, D);
  make_points(&r, Y, 7, D);
  for (int w = 0; w < 7; w++) {
    pg_kernel *k = make_kernel(w);
    assert_int_equal(pg_kernel_mindim(k), w < 4 ? 3 : 5);
    assert_int_equal(pg_kernel_matrix(k, X, N, X, N, D, K), PG_OK);
    assert_int_equal(pg_kernel_matrix(k, Y, 7, X, N, D, C), PG_OK);
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        double b = brute(k, X + i * D, X + j * D);
        assert_true(fabs(K[i * N + j] - b) < 1e-12 * (1 + fabs(b)));
        assert_true(K[i * N + j] == K[j * N + i] || fabs(K[i * N + j] - K[j * N + i]) < 1e-14);
      }
    for (int i = 0; i < 7; i++)
      for (int j = 0; j < N; j++) {
        double b = brute(k, Y + i * D, X + j * D);
        assert_true(fabs(C[i * N + j] - b) < 1e-12 * (1 + fabs(b)));
      }
    double dg[N];
    pg_kernel_diag(k, X, N, D, dg);
    for (int i = 0; i < N; i++) assert_true(fabs(dg[i] - K[i * N + i]) < 1e-14 * dg[i]);
    /* PSD: Cholesky of K + 1e-9 mean-diag I succeeds without more jitter */
    for (int i = 0; i < N; i++) K[i * N + i] += 1e-9 * dg[0];
    double jit = 0.0;
    assert_int_equal(pg_cholesky(K, N, &jit, 0, W), PG_OK);
    pg_kernel_free(k);
  }
}

/* Central finite differences of L = sum dLdK * K wrt each log-parameter. */
static void check_grad(pg_kernel *k, const double *X1, size_t n1, const double *X2, size_t n2,
                       size_t d, const double *G) {
  size_t p = pg_kernel_nparams(k), cnt = n1 * n2;
  double *th = malloc(3 * p * sizeof *th), *an = th + p, *t = an + p;
  double *K = malloc(cnt * sizeof *K);
  pg_kernel_get_params(k, th);
  assert_int_equal(pg_kernel_grad(k, X1, n1, X2, n2, d, G, an), PG_OK);
  for (size_t i = 0; i < p; i++) {
    double f[2], h = 1e-4;
    for (int s = 0; s < 2; s++) {
      memcpy(t, th, p * sizeof *t);
      t[i] += s ? -h : h;
      pg_kernel_set_params(k, t);
      pg_kernel_matrix(k, X1, n1, X2, n2, d, K);
      f[s] = 0.0;
      for (size_t c = 0; c < cnt; c++) f[s] += G[c] * K[c];
    }
    double fd = (f[0] - f[1]) / (2 * h);
    if (fabs(fd - an[i]) > 1e-5 * fmax(1.0, fabs(an[i])))
      fail_msg("param %zu: analytic %.10g fd %.10g", i, an[i], fd);
  }
  pg_kernel_set_params(k, th);
  free(th);
  free(K);
}

/* pg_kernel_grad_sym (upper triangle only; the lower one holds garbage)
 * against pg_kernel_grad with the full symmetric G (checked above against
 * finite differences). */
static void check_grad_sym(pg_kernel *k, const double *X, size_t n, size_t d, const double *G) {
  size_t p = pg_kernel_nparams(k);
  double *full = malloc(2 * p * sizeof *full), *sym = full + p;
  double *L = malloc(n * n * sizeof *L);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) L[i * n + j] = j >= i ? G[i * n + j] : 1e300;
  assert_int_equal(pg_kernel_grad(k, X, n, X, n, d, G, full), PG_OK);
  assert_int_equal(pg_kernel_grad_sym(k, X, n, d, L, sym, NULL), PG_OK);
  for (size_t i = 0; i < p; i++)
    if (fabs(sym[i] - full[i]) > 1e-10 * fmax(1.0, fabs(full[i])))
      fail_msg("n %zu param %zu: sym %.15g full %.15g", n, i, sym[i], full[i]);
  free(full);
  free(L);
}

/* pg_kernel_grad_inputs against central differences of sum G .* K(X1, X2)
 * in each coordinate of X2 (continuous coordinates; the categorical ones
 * get 0). */
static void test_grad_inputs(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 21);
  enum { N1 = 8, N2 = 5, D = 6 };
  double X1[N1 * D], X2[N2 * D], G[N1 * N2], gx[N2 * D], K[N1 * N2];
  make_points(&r, X1, N1, D);
  make_points(&r, X2, N2, D);
  for (int i = 0; i < N1 * N2; i++) G[i] = pg_rng_normal(&r);
  for (int w = 0; w < 7; w++) {
    pg_kernel *k = make_kernel(w);
    for (int i = 0; i < N2 * D; i++) gx[i] = 0.25; /* accumulates */
    assert_int_equal(pg_kernel_grad_inputs(k, X1, N1, X2, N2, D, G, gx, w & 1 ? NULL : K), PG_OK);
    for (int i = 0; i < N2 * D; i++) {
      double f[2], x0 = X2[i], h = 1e-5;
      for (int sgn = 0; sgn < 2; sgn++) {
        X2[i] = x0 + (sgn ? -h : h);
        pg_kernel_matrix(k, X1, N1, X2, N2, D, K);
        f[sgn] = 0;
        for (int c = 0; c < N1 * N2; c++) f[sgn] += G[c] * K[c];
      }
      X2[i] = x0;
      double fd = i % D >= 3 ? 0.0 : (f[0] - f[1]) / (2 * h), an = gx[i] - 0.25;
      if (fabs(fd - an) > 1e-6 * fmax(1.0, fabs(an)))
        fail_msg("kernel %d input %d: analytic %.10g fd %.10g", w, i, an, fd);
    }
    pg_kernel_free(k);
  }
}

/* The symmetric gradient at a size with several 512-element row blocks. */
static void test_grad_sym_large(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 9);
  enum { N = 530, D = 5 };
  double *X = malloc(N * D * sizeof *X), *G = malloc(N * N * sizeof *G);
  make_points(&r, X, N, D);
  for (int i = 0; i < N; i++)
    for (int j = 0; j <= i; j++) G[i * N + j] = G[j * N + i] = pg_rng_normal(&r);
  for (int w = 3; w < 7; w += 3) { /* Matern 5/2 (row path), product (general path) */
    pg_kernel *k = make_kernel(w);
    check_grad_sym(k, X, N, D, G);
    pg_kernel_free(k);
  }
  /* the upper triangle of pg_kernel_matrix_upper is that of pg_kernel_matrix,
   * and nothing else is written */
  double *K = malloc(2 * N * N * sizeof *K), *Ku = K + N * N;
  for (int w = 0; w < 4; w++) {
    pg_kernel *k = make_kernel(w);
    assert_int_equal(pg_kernel_matrix(k, X, N, X, N, D, K), PG_OK);
    for (int i = 0; i < N * N; i++) Ku[i] = -3.0;
    assert_int_equal(pg_kernel_matrix_upper(k, X, N, D, Ku), PG_OK);
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) assert_true(j >= i ? Ku[i * N + j] == K[i * N + j] : Ku[i * N + j] == -3.0);
    pg_kernel_free(k);
  }
  free(K);
  free(X);
  free(G);
}

static void test_gradients(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 5);
  enum { N1 = 9, N2 = 6, D = 6 };
  double X1[N1 * D], X2[N2 * D], G[N1 * N1];
  make_points(&r, X1, N1, D);
  make_points(&r, X2, N2, D);
  memcpy(X2, X1, D * sizeof *X1); /* a shared point: r = 0 in the cross case */
  for (int w = 0; w < 7; w++) {
    pg_kernel *k = make_kernel(w);
    for (int i = 0; i < N1 * N1; i++) G[i] = pg_rng_normal(&r);
    check_grad(k, X1, N1, X2, N2, D, G);
    for (int i = 0; i < N1; i++)
      for (int j = 0; j < i; j++) G[j * N1 + i] = G[i * N1 + j];
    check_grad(k, X1, N1, X1, N1, D, G); /* symmetric case */
    check_grad_sym(k, X1, N1, D, G);
    /* diagonal gradient against finite differences of sum w_i k(x_i, x_i) */
    double an[32], th[32], dg[N1], wts[N1];
    for (int i = 0; i < N1; i++) wts[i] = pg_rng_normal(&r);
    size_t p = pg_kernel_nparams(k);
    pg_kernel_get_params(k, th);
    assert_int_equal(pg_kernel_grad_diag(k, X1, N1, D, wts, an), PG_OK);
    for (size_t i = 0; i < p; i++) {
      double f[2];
      for (int s = 0; s < 2; s++) {
        double t[32];
        memcpy(t, th, sizeof t);
        t[i] += s ? -1e-4 : 1e-4;
        pg_kernel_set_params(k, t);
        pg_kernel_diag(k, X1, N1, D, dg);
        f[s] = 0;
        for (int a = 0; a < N1; a++) f[s] += wts[a] * dg[a];
      }
      pg_kernel_set_params(k, th);
      assert_true(fabs((f[0] - f[1]) / 2e-4 - an[i]) <= 1e-5 * fmax(1.0, fabs(an[i])));
    }
    pg_kernel_free(k);
  }
}

/* pg_kernel_grad_matvec against central differences of K(X, X) v in each
 * log-parameter, for every kernel kind (sums and products through their
 * base kernels' row passes) and at n = 530, where a row of the upper
 * triangle spans two 512-entry blocks. */
static void check_matvec(pg_kernel *k, const double *X, size_t n, size_t d, const double *v) {
  size_t p = pg_kernel_nparams(k);
  double *J = malloc((p * n + 2 * n * n + 2 * n) * sizeof *J), *K = J + p * n, *Kv = K + n * n;
  double th[32], h = 1e-5;
  pg_kernel_get_params(k, th);
  assert_int_equal(pg_kernel_grad_matvec(k, X, n, d, v, J), PG_OK);
  for (size_t i = 0; i < p; i++) {
    for (int s = 0; s < 2; s++) {
      double t[32];
      memcpy(t, th, sizeof t);
      t[i] += s ? -h : h;
      pg_kernel_set_params(k, t);
      pg_kernel_matrix(k, X, n, X, n, d, K);
      for (size_t a = 0; a < n; a++) {
        double acc = 0.0;
        for (size_t b = 0; b < n; b++) acc += K[a * n + b] * v[b];
        Kv[s * n + a] = acc;
      }
    }
    pg_kernel_set_params(k, th);
    for (size_t a = 0; a < n; a++) {
      double fd = (Kv[a] - Kv[n + a]) / (2.0 * h), an = J[i * n + a];
      if (fabs(fd - an) > 1e-6 * fmax(1.0, fabs(an)))
        fail_msg("n %zu param %zu row %zu: analytic %.12g, differences %.12g", n, i, a, an, fd);
    }
  }
  free(J);
}

static void test_grad_matvec(void **state) {
  (void)state;
  pg_rng r;
  pg_rng_seed(&r, 31);
  enum { N = 23, D = 6, NL = 530 };
  double X[N * D], v[NL];
  make_points(&r, X, N, D);
  memcpy(X + 5 * D, X + 2 * D, D * sizeof *X); /* a duplicate: r = 0 off the diagonal */
  for (int i = 0; i < NL; i++) v[i] = pg_rng_normal(&r);
  for (int w = 0; w < 7; w++) {
    pg_kernel *k = make_kernel(w);
    check_matvec(k, X, N, D, v);
    pg_kernel_free(k);
  }
  double *XL = malloc(NL * D * sizeof *XL);
  make_points(&r, XL, NL, D);
  /* Matern 1/2 (r = 0 on the diagonal), Matern 5/2, Hamming, product */
  const int large[4] = {1, 3, 4, 6};
  for (int i = 0; i < 4; i++) {
    pg_kernel *k = make_kernel(large[i]);
    check_matvec(k, XL, NL, D, v);
    pg_kernel_free(k);
  }
  free(XL);
  pg_kernel *k = make_kernel(0);
  assert_int_equal(pg_kernel_grad_matvec(k, X, N, 2, v, X), PG_ESHAPE); /* d below the dims */
  pg_kernel_free(k);
}

static void test_params_names_clone(void **state) {
  (void)state;
  pg_kernel *k = make_kernel(6);
  assert_int_equal(pg_kernel_nparams(k), 4 + 3 + 3);
  char buf[128];
  pg_kernel_param_name(k, 0, buf, sizeof buf);
  assert_string_equal(buf, "product[1].matern52.lengthscale[1]");
  pg_kernel_param_name(k, 6, buf, sizeof buf);
  assert_string_equal(buf, "product[2].hamming.variance");
  pg_kernel_describe(k, buf, sizeof buf);
  assert_string_equal(buf, "product(matern52{1,2,3}, hamming{4,5}, se{2,3})");
  pg_kernel *c = pg_kernel_clone(k);
  double a[16], b[16];
  pg_kernel_get_params(k, a);
  pg_kernel_get_params(c, b);
  assert_memory_equal(a, b, 10 * sizeof *a);
  a[0] = NAN;
  assert_int_equal(pg_kernel_set_params(c, a), PG_EDOM);
  pg_kernel_free(c);
  pg_kernel_free(k);
  pg_kernel_kind kind;
  assert_int_equal(pg_kernel_kind_parse("rbf", &kind), PG_OK);
  assert_int_equal(kind, PG_KERNEL_SE);
  assert_int_equal(pg_kernel_kind_parse("matern52", &kind), PG_OK);
  assert_int_equal(kind, PG_KERNEL_MATERN52);
  assert_int_equal(pg_kernel_kind_parse("nope", &kind), PG_EINVAL);
  assert_string_equal(pg_kernel_kind_name(PG_KERNEL_HAMMING), "hamming");
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_SUM, NULL, 2), PG_EINVAL);
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_SE, NULL, 0), PG_EINVAL);
  assert_int_equal(pg_kernel_combine(&k, PG_KERNEL_SE, NULL, 0), PG_EINVAL);
  /* a kernel on column 4 rejects d = 3 */
  size_t col = 4;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_SE, &col, 1), PG_OK);
  double X[3] = {0, 0, 0}, K;
  assert_int_equal(pg_kernel_matrix(k, X, 1, X, 1, 3, &K), PG_ESHAPE);
  pg_kernel_free(k);
}

/* Input scales: per column the smallest continuous lengthscale on it, 1
 * for categorical-only or unused columns. */
static void test_input_scales(void **state) {
  (void)state;
  pg_kernel *k = make_kernel(6); /* product(matern52{1,2,3}, hamming{4,5}, se{2,3}) */
  double th[10] = {log(2.0), log(0.5), log(4.0), 0.0, log(0.1), log(0.2), 0.0,
                   log(3.0), log(0.25), 0.0};
  assert_int_equal(pg_kernel_set_params(k, th), PG_OK);
  double sc[7], want[7] = {2.0, 0.5, 0.25, 1.0, 1.0, 1.0, 1.0};
  pg_kernel_input_scales(k, 7, sc);
  for (int c = 0; c < 7; c++) assert_true(fabs(sc[c] - want[c]) <= 1e-15 * want[c]);
  pg_kernel_input_scales(k, 2, sc); /* fewer columns than the kernel reads */
  assert_true(fabs(sc[0] - 2.0) < 1e-15 && fabs(sc[1] - 0.5) < 1e-15);
  pg_kernel_free(k);
}

/* d = 100: one ARD Matern kernel on every column, gradient still right. */
static void test_high_dim(void **state) {
  (void)state;
  enum { N = 12, D = 100 };
  pg_rng r;
  pg_rng_seed(&r, 3);
  double *X = malloc(N * D * sizeof *X), G[N * N];
  for (int i = 0; i < N * D; i++) X[i] = pg_rng_uniform(&r);
  for (int i = 0; i < N * N; i++) G[i] = pg_rng_normal(&r);
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN32, NULL, D), PG_OK);
  pg_kernel_init(k, 3.0, 2.0);
  double th[D + 1];
  pg_kernel_get_params(k, th);
  assert_true(fabs(th[D] - log(2.0)) < 1e-15 && fabs(th[5] - log(3.0)) < 1e-15);
  check_grad(k, X, N, X + 2 * D, N - 2, D, G);
  pg_kernel_free(k);
  free(X);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_forms),    cmocka_unit_test(test_vexp),
      cmocka_unit_test(test_brute_symmetric_psd), cmocka_unit_test(test_gradients), cmocka_unit_test(test_grad_sym_large), cmocka_unit_test(test_grad_inputs), cmocka_unit_test(test_grad_matvec),
      cmocka_unit_test(test_params_names_clone),  cmocka_unit_test(test_high_dim),
      cmocka_unit_test(test_input_scales),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
