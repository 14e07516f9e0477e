/*
 * optim.h -- unconstrained (optionally box-bounded) minimisation of smooth
 * functions: L-BFGS and Adam. Used for GP hyperparameters (gp.h, sgp.h) and
 * reusable by any module.
 *
 * L-BFGS: Nocedal, "Updating quasi-Newton matrices with limited storage",
 * Math. Comp. 35 (1980); Liu and Nocedal, Math. Prog. 45 (1989). Two-loop
 * recursion for the direction; a backtracking line search with the Armijo
 * condition and a doubling phase while the strong-Wolfe curvature condition
 * fails with the slope still negative (Nocedal and Wright, "Numerical
 * Optimization", 2nd ed., alg. 3.5 simplified). Box bounds are handled by
 * projection: variables at a bound whose gradient points outward are frozen
 * for that iteration and steps are clipped to the box.
 * Adam: Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015.
 */
#ifndef PG_OPTIM_H
#define PG_OPTIM_H

#include <stddef.h>

#include "status.h"

/* Objective: returns f(x) and writes grad[n] = df/dx (grad may be NULL: f
 * alone). A non-finite return value marks x as infeasible: the line search
 * then shortens the step. */
typedef double (*pg_optim_fn)(const double *x, double *grad, void *ctx);

typedef struct pg_lbfgs_opts {
  int memory;           /* correction pairs kept (default 10) */
  int max_iter;         /* iterations (default 200) */
  int max_evals;        /* function evaluations (default 500) */
  double gtol;          /* stop when max |projected gradient| <= gtol (1e-6) */
  double ftol;          /* stop when relative decrease < ftol (1e-10) */
  const double *lower;  /* optional box (NULL: unbounded) */
  const double *upper;
  int lazy_grad;        /* 1: line-search trials are first evaluated with
                           grad = NULL (f alone) and f is called again with
                           the gradient only at trials that pass the Armijo
                           test; worth it when f can reuse the work of the
                           previous call at the same x (default 0). The
                           iterates are the same as with 0. */
  /* Optional preconditioner (default NULL): replaces v[n] by H0 v, H0 an
   * approximation of the inverse Hessian of f at x (the current iterate),
   * and returns 0; on the coordinates with active[i] == 0 (held at a bound)
   * v is 0 and must stay 0. H0 is the two-loop recursion's initial matrix in
   * place of the scaled identity (L-BFGS stays quasi-Newton on top of it:
   * Nocedal and Wright 2006, sec. 7.2). A nonzero return falls back to the
   * scaled identity for that iteration. */
  int (*precond)(const double *x, double *v, const unsigned char *active, size_t n, void *ctx);
  double max_step;      /* > 0: search directions are scaled so that no
                           coordinate moves by more than this in a unit step
                           (default 0: no cap) */
} pg_lbfgs_opts;

/* Defaults as listed above. */
pg_lbfgs_opts pg_lbfgs_defaults(void);

/* A pg_lbfgs_opts.precond from a positive semi-definite approximation H of
 * the Hessian (n x n, row-major, leading dimension ldh): v is replaced by
 * (H_FF + ridge max_i H_ii I)^-1 v on the free coordinates F (active[i] != 0;
 * the others are set to 0), by Cholesky (LAPACKE). The ridge (Levenberg)
 * bounds the steps along directions H sees as flat. work: n^2 + n doubles.
 * Returns 0, or 1 when H_FF has no positive diagonal or is not positive
 * definite even with the ridge (v is then unchanged). */
int pg_precond_solve(const double *H, size_t ldh, double ridge, double *v,
                     const unsigned char *active, size_t n, double *work);

/* Minimise f from x[n] (in place; projected onto the box first). On return
 * *fx = f(x) (may be NULL), *evals = function evaluations (may be NULL).
 * PG_OK on convergence or when an iteration limit is reached (x is the best
 * point seen), PG_EDOM when f is not finite at the start, PG_ENOMEM. */
pg_status pg_lbfgs(pg_optim_fn f, void *ctx, double *x, size_t n, const pg_lbfgs_opts *opts,
                   double *fx, int *evals);

typedef struct pg_adam_opts {
  double lr;            /* step size (default 1e-2) */
  double beta1, beta2;  /* moment decay (0.9, 0.999) */
  double eps;           /* 1e-8 */
  int iters;            /* iterations (default 500) */
  const double *lower;  /* optional box, steps are clipped */
  const double *upper;
} pg_adam_opts;

pg_adam_opts pg_adam_defaults(void);

/* Adam from x[n]; x ends at the best point seen (lowest finite f). */
pg_status pg_adam(pg_optim_fn f, void *ctx, double *x, size_t n, const pg_adam_opts *opts,
                  double *fx);

#endif
