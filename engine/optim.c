/*
 * optim.c -- L-BFGS and Adam (see optim.h for the references).
 */
#include "optim.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

pg_lbfgs_opts pg_lbfgs_defaults(void) {
  pg_lbfgs_opts o = {10, 200, 500, 1e-6, 1e-10, NULL, NULL, 0, NULL, 0.0};
  return o;
}

pg_adam_opts pg_adam_defaults(void) {
  pg_adam_opts o = {1e-2, 0.9, 0.999, 1e-8, 500, NULL, NULL};
  return o;
}

int pg_precond_solve(const double *H, size_t ldh, double ridge, double *v,
                     const unsigned char *active, size_t n, double *work) {
  double *M = work, *r = M + n * n, dmax = 0.0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (active[i]) dmax = fmax(dmax, H[i * ldh + i]);
  if (!(dmax > 0.0) || !isfinite(dmax)) return 1;
  for (size_t i = 0; i < n; i++) {
    if (!active[i]) continue;
    size_t mj = 0;
    for (size_t j = 0; j < n; j++)
      if (active[j]) M[m * n + mj++] = H[i * ldh + j];
    M[m * n + m] += ridge * dmax;
    r[m++] = v[i];
  }
  if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, 1, M, (lapack_int)n, r, 1) != 0)
    return 1;
  m = 0;
  for (size_t i = 0; i < n; i++) v[i] = active[i] ? r[m++] : 0.0;
  return 0;
}

static double clampv(double v, size_t i, const double *lo, const double *hi) {
  if (lo && v < lo[i]) v = lo[i];
  if (hi && v > hi[i]) v = hi[i];
  return v;
}

/* Projected gradient: 0 where the variable sits at a bound and the
 * negative gradient points out of the box. */
static void project_grad(const double *x, const double *g, size_t n, const double *lo,
                         const double *hi, double *pg) {
  for (size_t i = 0; i < n; i++) {
    pg[i] = g[i];
    if (lo && x[i] <= lo[i] && g[i] > 0.0) pg[i] = 0.0;
    if (hi && x[i] >= hi[i] && g[i] < 0.0) pg[i] = 0.0;
  }
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* dot over the coordinates with act[i] != 0 */
static double mdot(const double *a, const double *b, const unsigned char *act, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    if (act[i]) s += a[i] * b[i];
  return s;
}

pg_status pg_lbfgs(pg_optim_fn f, void *ctx, double *x, size_t n, const pg_lbfgs_opts *opts,
                   double *fx, int *evals) {
  pg_lbfgs_opts o = opts ? *opts : pg_lbfgs_defaults();
  if (o.memory < 1) o.memory = 1;
  size_t M = (size_t)o.memory;
  int nev = 0;
  if (n == 0) {
    double fv = f(x, NULL, ctx);
    if (fx) *fx = fv;
    if (evals) *evals = 1;
    return isfinite(fv) ? PG_OK : PG_EDOM;
  }
  /* g, pg, d, xt, gt, xb, gb, S[M n], Y[M n], rho[M], alpha[M]; act[n] */
  double *buf = malloc(((7 + 2 * M) * n + 2 * M) * sizeof *buf);
  unsigned char *act = malloc(n);
  if (!buf || !act) {
    free(buf);
    free(act);
    return PG_ENOMEM;
  }
  double *g = buf, *pgr = g + n, *d = pgr + n, *xt = d + n, *gt = xt + n;
  double *xb = gt + n, *gb = xb + n;
  double *S = gb + n, *Y = S + M * n, *rho = Y + M * n, *alpha = rho + M;
  double fb = INFINITY;
  for (size_t i = 0; i < n; i++) x[i] = clampv(x[i], i, o.lower, o.upper);
  double fv = f(x, g, ctx);
  nev++;
  {
    int ok = isfinite(fv);
    for (size_t i = 0; ok && i < n; i++) ok = isfinite(g[i]);
    if (!ok) {
      free(buf);
      free(act);
      if (fx) *fx = fv;
      if (evals) *evals = nev;
      return PG_EDOM;
    }
  }
  size_t head = 0, cnt = 0; /* ring buffer of correction pairs */
  int small_decrease = 0;
  for (int it = 0; it < o.max_iter && nev < o.max_evals; it++) {
    project_grad(x, g, n, o.lower, o.upper, pgr);
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++)
      if (fabs(pgr[i]) > gmax) gmax = fabs(pgr[i]);
    if (gmax <= o.gtol) break;
    /* two-loop recursion on the projected gradient, over the free
     * coordinates (act): the pairs' components at coordinates held at a
     * bound are left out, and a pair that then has no positive curvature is
     * skipped (rho 0) */
    for (size_t i = 0; i < n; i++) {
      act[i] = pgr[i] != 0.0;
      d[i] = -pgr[i];
    }
    for (size_t c = 0; c < cnt; c++) {
      size_t j = (head + M - 1 - c) % M;
      double sy = mdot(S + j * n, Y + j * n, act, n);
      rho[j] = sy > 0.0 ? 1.0 / sy : 0.0;
      alpha[j] = rho[j] * mdot(S + j * n, d, act, n);
      for (size_t i = 0; i < n; i++)
        if (act[i]) d[i] -= alpha[j] * Y[j * n + i];
    }
    int pre = o.precond && o.precond(x, d, act, n, ctx) == 0;
    if (!pre && cnt > 0) {
      size_t j = (head + M - 1) % M;
      double sy = mdot(S + j * n, Y + j * n, act, n), yy = mdot(Y + j * n, Y + j * n, act, n);
      double gamma = sy > 0.0 && yy > 0.0 ? sy / yy : 1.0;
      for (size_t i = 0; i < n; i++) d[i] *= gamma;
    }
    for (size_t c = cnt; c-- > 0;) {
      size_t j = (head + M - 1 - c) % M;
      double beta = rho[j] * mdot(Y + j * n, d, act, n);
      for (size_t i = 0; i < n; i++)
        if (act[i]) d[i] += S[j * n + i] * (alpha[j] - beta);
    }
    for (size_t i = 0; i < n; i++)
      if (pgr[i] == 0.0) d[i] = 0.0; /* frozen at a bound */
    if (o.max_step > 0.0) {
      double dm = 0.0;
      for (size_t i = 0; i < n; i++) dm = fmax(dm, fabs(d[i]));
      if (dm > o.max_step)
        for (size_t i = 0; i < n; i++) d[i] *= o.max_step / dm;
    }
    double slope = dot(g, d, n);
    if (!(slope < 0.0)) { /* not a descent direction: restart from steepest descent */
      cnt = 0;
      pre = 0;
      for (size_t i = 0; i < n; i++) d[i] = -pgr[i];
      slope = dot(g, d, n);
      if (!(slope < 0.0)) break;
    }
    /* the predicted decrease of a unit step is below the tolerance: done */
    if ((cnt > 0 || pre) && -slope <= o.ftol * fmax(1.0, fabs(fv))) break;
    double t = 1.0;
    if (cnt == 0 && !pre) { /* steepest descent: a first step of unit length */
      double dn = sqrt(dot(d, d, n));
      t = dn > 1.0 ? 1.0 / dn : 1.0;
    }
    /* line search */
    double ft = NAN, tlo = 0.0, thi = INFINITY;
    int accepted = 0, have_grad = 1;
    /* at most 12 halvings: beyond that the decrease is below rounding */
    for (int ls = 0, fails = 0; ls < 40 && fails <= 12 && nev < o.max_evals; ls++) {
      int clipped = 0;
      for (size_t i = 0; i < n; i++) {
        double v = x[i] + t * d[i];
        double c = clampv(v, i, o.lower, o.upper);
        if (c != v) clipped = 1;
        xt[i] = c;
      }
      double armijo = fv + 1e-4 * dot(g, xt, n) - 1e-4 * dot(g, x, n);
      if (o.lazy_grad) {
        ft = f(xt, NULL, ctx);
        nev++;
        have_grad = isfinite(ft) && ft <= armijo;
        if (have_grad) ft = f(xt, gt, ctx); /* same x: same value */
        else for (size_t i = 0; i < n; i++) gt[i] = 0.0;
      } else {
        ft = f(xt, gt, ctx);
        nev++;
      }
      int finite = isfinite(ft);
      for (size_t i = 0; finite && i < n; i++) finite = isfinite(gt[i]);
      double sd = 0.0;
      for (size_t i = 0; i < n; i++) sd += gt[i] * (xt[i] - x[i]);
      if (!finite || ft > armijo) {
        fails++;
        thi = t;
        double tn = 0.5 * (tlo + thi);
        if (finite && tlo == 0.0) {
          /* minimiser of the quadratic through f(0), f'(0) and f(t),
           * safeguarded to [0.1 t, 0.5 t] */
          double sl = dot(g, d, n), den = 2.0 * (ft - fv - sl * t);
          double tq = den > 0.0 ? -sl * t * t / den : tn;
          tn = tq < 0.1 * t ? 0.1 * t : (tq > 0.5 * t ? 0.5 * t : tq);
        }
        t = tn;
        /* the next trial's predicted decrease is below the tolerance, where
         * f's rounding noise can fail the Armijo test at every step: done */
        if ((cnt > 0 || pre) && -slope * t <= o.ftol * fmax(1.0, fabs(fv))) break;
        continue;
      }
      /* sufficient decrease holds; curvature (strong Wolfe, c2 = 0.9) */
      double slope_t = t > 0.0 ? sd / t : 0.0;
      if (!clipped && slope_t < 0.9 * slope && isinf(thi) && ls < 10) {
        /* still steeply descending: remember and try a longer step */
        accepted = 1;
        tlo = t;
        memcpy(xb, xt, n * sizeof *xt); /* keep the acceptable trial */
        memcpy(gb, gt, n * sizeof *gt);
        fb = ft;
        t *= 2.0;
        continue;
      }
      accepted = 2;
      break;
    }
    if (accepted == 1) { /* the doubling phase ended without a better point */
      if (!(isfinite(ft) && ft <= fb)) {
        memcpy(xt, xb, n * sizeof *xt);
        memcpy(gt, gb, n * sizeof *gt);
        ft = fb;
      } else if (!have_grad) { /* the last trial is kept: its gradient was skipped */
        ft = f(xt, gt, ctx);
      }
    } else if (accepted == 0) {
      break; /* no acceptable step */
    }
    /* correction pair s = xt - x, y = gt - g */
    double *s = S + head * n, *y = Y + head * n;
    for (size_t i = 0; i < n; i++) {
      s[i] = xt[i] - x[i];
      y[i] = gt[i] - g[i];
    }
    double sy = dot(s, y, n);
    if (sy > 1e-12 * sqrt(dot(s, s, n) * dot(y, y, n)) && sy > 0.0) {
      head = (head + 1) % M;
      if (cnt < M) cnt++;
    }
    double fold = fv;
    memcpy(x, xt, n * sizeof *x);
    memcpy(g, gt, n * sizeof *g);
    fv = ft;
    if (fold - fv <= o.ftol * fmax(1.0, fabs(fv))) {
      if (++small_decrease >= 2) break;
    } else {
      small_decrease = 0;
    }
  }
  free(buf);
  free(act);
  if (fx) *fx = fv;
  if (evals) *evals = nev;
  return PG_OK;
}

pg_status pg_adam(pg_optim_fn f, void *ctx, double *x, size_t n, const pg_adam_opts *opts,
                  double *fx) {
  pg_adam_opts o = opts ? *opts : pg_adam_defaults();
  double *buf = malloc((4 * n + 1) * sizeof *buf);
  if (!buf) return PG_ENOMEM;
  double *g = buf, *m = g + n, *v = m + n, *best = v + n;
  memset(m, 0, 2 * n * sizeof *m);
  for (size_t i = 0; i < n; i++) x[i] = clampv(x[i], i, o.lower, o.upper);
  memcpy(best, x, n * sizeof *x);
  double fbest = INFINITY;
  double b1t = 1.0, b2t = 1.0;
  for (int it = 0; it < o.iters; it++) {
    double fv = f(x, g, ctx);
    int ok = isfinite(fv);
    for (size_t i = 0; ok && i < n; i++) ok = isfinite(g[i]);
    if (!ok) {
      if (!isfinite(fbest)) {
        free(buf);
        if (fx) *fx = fv;
        return PG_EDOM;
      }
      memcpy(x, best, n * sizeof *x); /* step back and shrink */
      o.lr *= 0.5;
      continue;
    }
    if (fv < fbest) {
      fbest = fv;
      memcpy(best, x, n * sizeof *x);
    }
    b1t *= o.beta1;
    b2t *= o.beta2;
    for (size_t i = 0; i < n; i++) {
      m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g[i] * g[i];
      double mh = m[i] / (1.0 - b1t), vh = v[i] / (1.0 - b2t);
      x[i] = clampv(x[i] - o.lr * mh / (sqrt(vh) + o.eps), i, o.lower, o.upper);
    }
  }
  double fl = f(x, g, ctx);
  if (isfinite(fl) && fl < fbest) {
    fbest = fl;
    memcpy(best, x, n * sizeof *x);
  }
  memcpy(x, best, n * sizeof *x);
  if (fx) *fx = fbest;
  free(buf);
  return PG_OK;
}
