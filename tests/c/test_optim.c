/* test_optim.c -- L-BFGS and Adam on problems with known minimisers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "optim.h"

/* Rosenbrock in n dimensions: minimum 0 at (1, ..., 1). */
static double rosen(const double *x, double *g, void *ctx) {
  size_t n = *(size_t *)ctx;
  double f = 0.0;
  if (g)
    for (size_t i = 0; i < n; i++) g[i] = 0.0;
  for (size_t i = 0; i + 1 < n; i++) {
    double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    if (g) {
      g[i] += -400.0 * a * x[i] - 2.0 * b;
      g[i + 1] += 200.0 * a;
    }
  }
  return f;
}

/* Ill-conditioned quadratic sum c_i (x_i - i)^2, c_i = 10^(i/2). */
static double quad(const double *x, double *g, void *ctx) {
  (void)ctx;
  double f = 0.0;
  for (int i = 0; i < 8; i++) {
    double c = pow(10.0, i / 2.0), r = x[i] - i;
    f += c * r * r;
    if (g) g[i] = 2.0 * c * r;
  }
  return f;
}

/* log barrier: infinite outside x > 0, minimum at x = 1 of x - log x. */
static double barrier(const double *x, double *g, void *ctx) {
  (void)ctx;
  if (x[0] <= 0.0) return INFINITY;
  if (g) g[0] = 1.0 - 1.0 / x[0];
  return x[0] - log(x[0]);
}

static void test_rosenbrock(void **state) {
  (void)state;
  size_t n = 6;
  double x[6] = {-1.2, 1.0, -1.2, 1.0, -1.2, 1.0}, f;
  int ev;
  pg_lbfgs_opts o = pg_lbfgs_defaults();
  o.max_iter = 1000;
  o.max_evals = 3000;
  assert_int_equal(pg_lbfgs(rosen, &n, x, n, &o, &f, &ev), PG_OK);
  assert_true(f < 1e-10);
  for (size_t i = 0; i < n; i++) assert_true(fabs(x[i] - 1.0) < 1e-4);
}

static void test_quadratic_and_bounds(void **state) {
  (void)state;
  double x[8] = {0}, f, lo[8], hi[8];
  assert_int_equal(pg_lbfgs(quad, NULL, x, 8, NULL, &f, NULL), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - i) < 1e-6);
  /* box [-1, 3]: solution is the clipped unconstrained minimiser */
  for (int i = 0; i < 8; i++) {
    lo[i] = -1.0;
    hi[i] = 3.0;
    x[i] = 0.5;
  }
  pg_lbfgs_opts o = pg_lbfgs_defaults();
  o.lower = lo;
  o.upper = hi;
  o.ftol = 0.0; /* stop on the projected gradient only */
  assert_int_equal(pg_lbfgs(quad, NULL, x, 8, &o, &f, NULL), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - (i < 3 ? i : 3.0)) < 1e-6);
}

static void test_infeasible_region(void **state) {
  (void)state;
  double x = 5.0, f;
  assert_int_equal(pg_lbfgs(barrier, NULL, &x, 1, NULL, &f, NULL), PG_OK);
  assert_true(fabs(x - 1.0) < 1e-5 && fabs(f - 1.0) < 1e-10);
  x = -1.0; /* infeasible start */
  assert_int_equal(pg_lbfgs(barrier, NULL, &x, 1, NULL, &f, NULL), PG_EDOM);
}

/* The quadratic's exact inverse Hessian on the free coordinates as the
 * preconditioner; counts calls and any nonzero entry it is handed at a
 * frozen coordinate. */
typedef struct pre_ctx {
  int calls, bad, fail;  /* fail: report failure (fall back to the identity) */
  int frozen;            /* coordinates held at a bound in the first call */
  double first[8];       /* the first trial point after the start */
  int evals;
} pre_ctx;

static double quad_rec(const double *x, double *g, void *ctx) {
  pre_ctx *c = ctx;
  if (c->evals++ == 1)
    for (int i = 0; i < 8; i++) c->first[i] = x[i];
  return quad(x, g, NULL);
}

static int quad_pre(const double *x, double *v, const unsigned char *act, size_t n, void *ctx) {
  (void)x;
  pre_ctx *c = ctx;
  if (c->calls++ == 0)
    for (size_t i = 0; i < n; i++) c->frozen += !act[i];
  if (c->fail) return 1;
  for (size_t i = 0; i < n; i++) {
    if (!act[i] && v[i] != 0.0) c->bad++;
    v[i] = act[i] ? v[i] / (2.0 * pow(10.0, (double)i / 2.0)) : 0.0;
  }
  return 0;
}

static void test_preconditioned(void **state) {
  (void)state;
  /* exact inverse Hessian: the first step lands on the minimiser */
  double x[8] = {0}, f;
  int ev, ev_plain;
  pre_ctx c = {0};
  pg_lbfgs_opts o = pg_lbfgs_defaults();
  o.precond = quad_pre;
  assert_int_equal(pg_lbfgs(quad_rec, &c, x, 8, &o, &f, &ev), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - i) < 1e-12);
  assert_true(ev <= 3 && c.calls >= 1);
  double y[8] = {0};
  assert_int_equal(pg_lbfgs(quad, NULL, y, 8, NULL, &f, &ev_plain), PG_OK);
  assert_true(ev_plain > 3 * ev);
  /* the box [-1, 3] from a start with x_3..x_7 at the upper bound, where
   * the gradient points out: the clipped minimiser; the preconditioner is
   * told that those 5 are frozen and only ever sees zeros there */
  double lo[8], hi[8];
  for (int i = 0; i < 8; i++) {
    lo[i] = -1.0;
    hi[i] = 3.0;
    x[i] = i < 3 ? 0.5 : 3.0;
  }
  o.lower = lo;
  o.upper = hi;
  o.ftol = 0.0;
  pre_ctx cb = {0};
  assert_int_equal(pg_lbfgs(quad_rec, &cb, x, 8, &o, &f, NULL), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - (i < 3 ? i : 3.0)) < 1e-6);
  assert_int_equal(cb.bad, 0);
  assert_int_equal(cb.frozen, 5);
  /* a failing preconditioner falls back to the scaled identity */
  pre_ctx cf = {0};
  cf.fail = 1;
  for (int i = 0; i < 8; i++) x[i] = 0.5;
  assert_int_equal(pg_lbfgs(quad_rec, &cf, x, 8, &o, &f, NULL), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - (i < 3 ? i : 3.0)) < 1e-6);
  /* max_step: no coordinate of the first trial moves by more than 0.5 */
  pre_ctx cm = {0};
  o = pg_lbfgs_defaults();
  o.precond = quad_pre;
  o.max_step = 0.5;
  for (int i = 0; i < 8; i++) x[i] = 0.0;
  assert_int_equal(pg_lbfgs(quad_rec, &cm, x, 8, &o, &f, NULL), PG_OK);
  double mx = 0.0;
  for (int i = 0; i < 8; i++) mx = fmax(mx, fabs(cm.first[i]));
  assert_true(fabs(mx - 0.5) < 1e-12); /* the step to (0, ..., 7) scaled by 0.5 / 7 */
  assert_true(fabs(cm.first[1] - 0.5 / 7.0) < 1e-12);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - i) < 1e-6);
}

/* The quadratic plus rounding-like noise of size 1e-6 (a hash of x's
 * bits), with the analytic gradient of the smooth part; counts the trailing
 * evaluations that did not improve on the best value. */
typedef struct noisy_ctx {
  double best;
  int trail;
} noisy_ctx;

static double noisy_quad(const double *x, double *g, void *ctx) {
  noisy_ctx *c = ctx;
  double f = quad(x, g, NULL);
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 8; i++) {
    uint64_t b;
    memcpy(&b, x + i, sizeof b);
    h = (h ^ b) * 1099511628211ull;
  }
  f += 1.0 + 1e-6 * (double)(h >> 11) / 9007199254740992.0;
  if (f < c->best) {
    c->best = f;
    c->trail = 0;
  } else {
    c->trail++;
  }
  return f;
}

/* Near the minimiser the noise (above ftol |f|) fails the Armijo test at
 * every step length; the line search stops once a trial's predicted
 * decrease is below ftol |f| instead of halving 12 more times (4
 * evaluations after the last improvement here, 13 without that rule). */
static void test_noisy_objective(void **state) {
  (void)state;
  double x[8] = {0}, f;
  noisy_ctx c = {INFINITY, 0};
  pg_lbfgs_opts o = pg_lbfgs_defaults();
  o.ftol = 1e-8;
  o.gtol = 0.0;
  o.max_iter = 500;
  o.max_evals = 5000;
  assert_int_equal(pg_lbfgs(noisy_quad, &c, x, 8, &o, &f, NULL), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - i) < 1e-3);
  if (c.trail > 6) fail_msg("%d evaluations after the last improvement", c.trail);
}

/* pg_precond_solve on the free coordinates against the 2 x 2 solve by
 * Cramer's rule, with and without the ridge; failures leave v alone. */
static void test_precond_solve(void **state) {
  (void)state;
  /* H (ldh 4, 3 x 3 used): SPD, coordinate 1 frozen */
  double H[12] = {4, 1, 2, 9, 1, 3, 0, 9, 2, 0, 5, 9}, v[3] = {1, 7, -2}, w[12];
  unsigned char act[3] = {1, 0, 1};
  assert_int_equal(pg_precond_solve(H, 4, 0.0, v, act, 3, w), 0);
  double det = 4 * 5 - 2 * 2; /* [[4, 2], [2, 5]] */
  assert_true(fabs(v[0] - (5 * 1 - 2 * -2) / det) < 1e-14);
  assert_true(fabs(v[2] - (4 * -2 - 2 * 1) / det) < 1e-14);
  assert_true(v[1] == 0.0);
  double u[3] = {1, 7, -2}, rd = 0.1 * 5; /* ridge 0.1 of the largest free diagonal, 5 */
  assert_int_equal(pg_precond_solve(H, 4, 0.1, u, act, 3, w), 0);
  det = (4 + rd) * (5 + rd) - 4;
  assert_true(fabs(u[0] - ((5 + rd) * 1 - 2 * -2) / det) < 1e-14);
  assert_true(fabs(u[2] - ((4 + rd) * -2 - 2 * 1) / det) < 1e-14);
  /* indefinite, or no positive diagonal: 1, v unchanged */
  double B[4] = {1, 3, 3, 1}, z[2] = {1, 2};
  unsigned char all[2] = {1, 1};
  assert_int_equal(pg_precond_solve(B, 2, 0.0, z, all, 2, w), 1);
  assert_true(z[0] == 1.0 && z[1] == 2.0);
  double Z[4] = {0, 0, 0, 0};
  assert_int_equal(pg_precond_solve(Z, 2, 0.0, z, all, 2, w), 1);
  assert_true(z[0] == 1.0 && z[1] == 2.0);
}

static void test_adam(void **state) {
  (void)state;
  double x[8] = {0}, f;
  pg_adam_opts o = pg_adam_defaults();
  o.lr = 0.05;
  o.iters = 3000;
  assert_int_equal(pg_adam(quad, NULL, x, 8, &o, &f), PG_OK);
  for (int i = 0; i < 8; i++) assert_true(fabs(x[i] - i) < 1e-2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rosenbrock),
      cmocka_unit_test(test_quadratic_and_bounds),
      cmocka_unit_test(test_infeasible_region),
      cmocka_unit_test(test_preconditioned),
      cmocka_unit_test(test_precond_solve),
      cmocka_unit_test(test_noisy_objective),
      cmocka_unit_test(test_adam),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
