/*
 * kernel.h -- covariance functions for the Gaussian-process models (gp.h,
 * sgp.h): ARD squared-exponential, Matern 1/2, 3/2, 5/2, a categorical
 * (Hamming / overlap) kernel, and sums and products of kernels, each acting
 * on its own group of input columns ("dimension decomposition").
 *
 * Base kernels (Rasmussen and Williams, "Gaussian Processes for Machine
 * Learning", MIT Press 2006, ch. 4), with r^2 = sum_j (x_j - x'_j)^2 / l_j^2
 * over the kernel's columns j:
 *   SE        s2 * exp(-r^2 / 2)
 *   Matern12  s2 * exp(-r)
 *   Matern32  s2 * (1 + sqrt3 r) exp(-sqrt3 r)
 *   Matern52  s2 * (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r)
 *   Hamming   s2 * exp(-sum_j [x_j != x'_j] / l_j)   (a product over columns
 *             of PSD "same category" kernels, so PSD)
 * Parameters, in log space, in this order: log l_1..log l_ndims, log s2.
 * A sum or product concatenates its children's parameters in child order.
 *
 * Continuous kernels compute distances by scaling the columns by 1/l and
 * one GEMM (pg_sqdist); the gradient with respect to the lengthscales is
 * one more GEMM per call, O(n1 n2 ndims) flops.
 *
 * A kernel is a small tree owned by its root: pg_kernel_free(root) frees it.
 * Kernels are not thread-safe to mutate, but evaluation is read-only.
 */
#ifndef PG_KERNEL_H
#define PG_KERNEL_H

#include <stddef.h>

#include "status.h"

typedef enum pg_kernel_kind {
  PG_KERNEL_SE = 0,
  PG_KERNEL_MATERN12,
  PG_KERNEL_MATERN32,
  PG_KERNEL_MATERN52,
  PG_KERNEL_HAMMING,
  PG_KERNEL_SUM,
  PG_KERNEL_PRODUCT,
  PG_KERNEL_KIND_COUNT
} pg_kernel_kind;

typedef struct pg_kernel {
  pg_kernel_kind kind;
  /* base kernels */
  size_t ndims;   /* number of input columns this kernel reads */
  size_t *dims;   /* their 0-based indices */
  double *loglen; /* ndims log lengthscales */
  double logvar;  /* log output variance s2 */
  /* sum / product */
  size_t nchild;
  struct pg_kernel **child;
} pg_kernel;

/* Name ("se", "matern12", "matern32", "matern52", "hamming", "sum",
 * "product") of a kind; "?" when out of range. */
const char *pg_kernel_kind_name(pg_kernel_kind kind);
/* Parse a name (also accepts "rbf", "sqexp", "exponential", "overlap",
 * "categorical"); PG_EINVAL when unknown. */
pg_status pg_kernel_kind_parse(const char *name, pg_kernel_kind *kind);

/* A base kernel on columns dims[0..ndims) (dims NULL: columns 0..ndims-1),
 * lengthscales 1 and variance 1. PG_EINVAL for a composite kind or
 * ndims == 0, PG_ENOMEM. */
pg_status pg_kernel_new(pg_kernel **out, pg_kernel_kind kind, const size_t *dims, size_t ndims);

/* A sum or product of children[0..n). Takes ownership of the children in
 * every case (they are freed on failure). */
pg_status pg_kernel_combine(pg_kernel **out, pg_kernel_kind kind, pg_kernel **children,
                            size_t n);

/* Deep copy; NULL on allocation failure. */
pg_kernel *pg_kernel_clone(const pg_kernel *k);

/* Frees the tree; NULL is a no-op. */
void pg_kernel_free(pg_kernel *k);

/* Number of (log) parameters. */
size_t pg_kernel_nparams(const pg_kernel *k);

/* Smallest input dimension d the kernel accepts (largest column + 1). */
size_t pg_kernel_mindim(const pg_kernel *k);

/* Copy the log-parameters into theta[nparams] / set them from theta.
 * set returns PG_EDOM on non-finite values or |theta_i| > 700. */
void pg_kernel_get_params(const pg_kernel *k, double *theta);
pg_status pg_kernel_set_params(pg_kernel *k, const double *theta);

/* Set every lengthscale of every base kernel to `ls` and every output
 * variance to `var` (both > 0). */
void pg_kernel_init(pg_kernel *k, double ls, double var);

/* Name of parameter i, e.g. "matern52[1].lengthscale[3]" (1-based, for
 * display); writes at most len bytes. */
void pg_kernel_param_name(const pg_kernel *k, size_t i, char *buf, size_t len);

/* One-line description, e.g. "product(matern52{1,2,3}, hamming{4,5})". */
void pg_kernel_describe(const pg_kernel *k, char *buf, size_t len);

/* K[n1 x n2] = k(X1_a, X2_b); X1 is n1 x d, X2 is n2 x d (row-major).
 * When X1 == X2 and n1 == n2 the diagonal distances are exactly 0.
 * PG_ESHAPE when d < pg_kernel_mindim(k); PG_ENOMEM. */
pg_status pg_kernel_matrix(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                           size_t n2, size_t d, double *K);

/* The upper triangle (row-major, b >= a) of K(X, X), n x n. For continuous
 * base kernels only that triangle is written (distances from the
 * coordinates, row by row); otherwise the whole matrix. */
pg_status pg_kernel_matrix_upper(const pg_kernel *k, const double *X, size_t n, size_t d,
                                 double *K);

/* diag[n] = k(X_a, X_a). */
pg_status pg_kernel_diag(const pg_kernel *k, const double *X, size_t n, size_t d, double *diag);

/* Gradient of a scalar L with respect to the log-parameters, given
 * dLdK[n1 x n2] = dL/dK for K = pg_kernel_matrix(X1, X2):
 * grad[i] = sum_ab dLdK_ab dK_ab/dtheta_i (overwritten). X1 may equal X2
 * (the symmetric case, then pass the full symmetric dLdK). */
pg_status pg_kernel_grad(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                         size_t n2, size_t d, const double *dLdK, double *grad);
/* Same with caller-provided scratch work[n1 x n2] (its contents are
 * overwritten; NULL: allocated inside), so that repeated calls (training)
 * do not map and fault in a fresh n1 x n2 buffer each time. */
pg_status pg_kernel_grad_work(const pg_kernel *k, const double *X1, size_t n1, const double *X2,
                              size_t n2, size_t d, const double *dLdK, double *grad,
                              double *work);

/* The symmetric case X1 = X2 = X (n x d) with a symmetric dLdK of which
 * only the upper triangle (row-major, b >= a) is read; its strict lower
 * triangle may be overwritten (composite kernels mirror into it). Half the
 * element work of pg_kernel_grad_work for base kernels. work: n x n scratch
 * or NULL. Used by exact-GP training (gp.c). */
pg_status pg_kernel_grad_sym(const pg_kernel *k, const double *X, size_t n, size_t d,
                             double *dLdK, double *grad, double *work);

/* The derivative matrices of K = K(X, X) applied to v[n]:
 * Jt[i n + a] = sum_b v_b dK_ab/dtheta_i for i < pg_kernel_nparams(k)
 * (P x n, row-major, overwritten), in one pass over the upper triangle per
 * base kernel (products: with the other factors' matrices as weights, n x n
 * each). Used by exact-GP training (the average-information matrix, gp.c). */
pg_status pg_kernel_grad_matvec(const pg_kernel *k, const double *X, size_t n, size_t d,
                                const double *v, double *Jt);

/* Per input column c < d, the smallest lengthscale of a continuous base
 * kernel acting on it (1 for columns that only categorical kernels or none
 * read): the natural unit to move inputs in (sparse-GP inducing inputs). */
void pg_kernel_input_scales(const pg_kernel *k, size_t d, double *scale);

/* Gradient with respect to the inputs X2 (n2 x d) of sum_ab dLdK_ab
 * k(X1_a, X2_b): ADDED to gX2[n2 x d] (used to move sparse-GP inducing
 * inputs). Categorical (Hamming) dimensions get no contribution. With X1 = X2
 * and a symmetric dLdK the derivative through both arguments is twice this.
 * work: n1 x n2 scratch or NULL (allocated). */
pg_status pg_kernel_grad_inputs(const pg_kernel *k, const double *X1, size_t n1,
                                const double *X2, size_t n2, size_t d, const double *dLdK,
                                double *gX2, double *work);

/* Same for the diagonal: grad[i] = sum_a dLdiag_a d k(X_a,X_a)/dtheta_i. */
pg_status pg_kernel_grad_diag(const pg_kernel *k, const double *X, size_t n, size_t d,
                              const double *dLdiag, double *grad);

/* In-place exp over x[0..n), vectorisable (about 1 ulp; exp(x) for
 * x < -745 is 0). Shared with the GP modules. */
void pg_vexp(double *x, size_t n);

#endif
