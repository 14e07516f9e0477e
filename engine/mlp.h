/*
 * mlp.h -- small multilayer perceptrons with analytic backpropagation over a
 * batch, Adam, and parameter files (zlib-compressed).
 *
 * A network is a chain of fully connected layers
 *     h_0 = x,  z_l = h_{l-1} W_l^T + b_l,  h_l = act(z_l)   (l = 1..L)
 * where act is tanh or ReLU on hidden layers and, on the last layer, the
 * identity unless `act_out` is set (a trunk shared by two heads ends with an
 * activation). W_l is stored transposed, in x out row-major (so that a
 * one-hot input row selects contiguous rows of W_l^T). All parameters live
 * in one flat array (per layer: W_l^T then b_l), so an optimiser or a
 * gradient-norm clip sees a single vector. When fewer than 30% of the input
 * entries are non-zero (one-hot encodings), the first layer skips the zeros.
 * The products are perigee's own kernels (no BLAS: at these sizes a
 * register-blocked AVX-512 loop with the activation fused is faster), every
 * output summed in a fixed order with fused multiply-adds, so every machine
 * computes the same bits (pg_mlp_set_simd). Gradients accumulate into a
 * second flat array of the same layout.
 *
 * Initialisation: orthogonal (Saxe et al., ICLR 2014; the PPO convention of
 * gain sqrt(2) on hidden layers and a chosen gain on the output layer, as in
 * OpenAI baselines / stable-baselines3) or scaled normal N(0, gain^2 / fan_in).
 * Biases start at zero.
 *
 * Adam: Kingma and Ba, "Adam: a method for stochastic optimization", ICLR
 * 2015, with bias correction.
 *
 * Forward caches every layer's output so that backward can follow; the input
 * matrix X is referenced, not copied, and must stay unchanged until the
 * matching backward call. One network is not thread-safe.
 */
#ifndef PG_MLP_H
#define PG_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "status.h"

#define PG_MLP_MAX_LAYERS 16
#define PG_MLP_MAX_WIDTH 65536
/* pg_mlp_forward skips zero inputs when their count is below this share of
 * n x sizes[0] (as a double comparison: nnz < share * n * in). */
#define PG_MLP_SPARSE_MAX_DENSITY 0.3

typedef enum pg_mlp_act { PG_MLP_TANH = 0, PG_MLP_RELU = 1 } pg_mlp_act;
typedef enum pg_mlp_init_kind { PG_MLP_INIT_ORTHOGONAL = 0, PG_MLP_INIT_NORMAL = 1 } pg_mlp_init_kind;

typedef struct pg_mlp {
  size_t nlayers;                       /* number of linear layers L >= 1 */
  size_t sizes[PG_MLP_MAX_LAYERS + 1];  /* widths: sizes[0] inputs ... sizes[L] outputs */
  pg_mlp_act act;                       /* hidden activation */
  int act_out;                          /* 1: activation also on the last layer */
  size_t nparams;
  double *params;                       /* nparams */
  double *grad;                         /* nparams, accumulated by backward */
  size_t offset[PG_MLP_MAX_LAYERS];     /* start of W_l in params; b_l follows */
  /* forward cache */
  size_t cap;                           /* batch capacity of the cache */
  size_t n;                             /* batch size of the last forward (0: none) */
  const double *x;                      /* input of the last forward (not owned) */
  int sparse;                           /* last forward skipped zero inputs */
  size_t *nzptr;                        /* sparse input: row r's entries are nzptr[r]..nzptr[r+1]-1 */
  uint32_t *nzidx;                      /* column of each non-zero input, cap x sizes[0] */
  double *nzval;                        /* its value */
  const size_t *sptr;                   /* the rows the first layer reads: nz* or the caller's */
  const uint32_t *sidx;                 /*   (entries from sidx[0] = row 0's first, see */
  const double *sval;                   /*   pg_mlp_forward_sparse_ref) */
  const size_t *xcptr;                  /* the caller's columns (pg_mlp_forward_sparse_ref) or NULL */
  const uint32_t *xcrow;
  const double *xcval;
  size_t *cptr;                         /* the same by columns (backward): sizes[0] + 1 */
  uint32_t *crow;                       /* row of each non-zero, cap x sizes[0] */
  double *cval;                         /* its value */
  double *h[PG_MLP_MAX_LAYERS];         /* h[l] = output of layer l+1, cap x sizes[l+1] */
  double *dbuf[2];                      /* backward scratch, cap x max width */
  double *wt;                           /* backward scratch: one W_l (max sizes[l] x sizes[l+1]) */
} pg_mlp;

/* Create a network with nlayers linear layers and widths sizes[0..nlayers]
 * (sizes[0] the input dimension). Parameters are zero until pg_mlp_init.
 * Returns PG_EINVAL on zero/absurd sizes or too many layers. */
pg_status pg_mlp_new(pg_mlp **out, size_t nlayers, const size_t *sizes, pg_mlp_act act,
                     int act_out);
void pg_mlp_free(pg_mlp *m); /* NULL is a no-op */

/* Initialise weights (orthogonal or scaled normal) with gain `gain` on the
 * hidden layers and `gain_out` on the last; biases zero. PG_ELAPACK if the
 * QR factorisation fails, PG_ENOMEM. */
pg_status pg_mlp_init(pg_mlp *m, pg_rng *rng, pg_mlp_init_kind kind, double gain,
                      double gain_out);

/* Y[n x out] = f(X[n x in]); caches the activations for pg_mlp_backward.
 * Y may be NULL (the output stays readable through pg_mlp_output). */
pg_status pg_mlp_forward(pg_mlp *m, const double *X, size_t n, double *Y);
/* The same forward for an input given by its non-zero entries, compressed
 * rows: row r's are idx[k], val[k] for k = ptr[r] - ptr[0] .. ptr[r+1] - ptr[0]
 * - 1, columns strictly increasing within a row (they are copied). The
 * first layer always skips the zeros, with the same results as
 * pg_mlp_forward when that one does (inputs with < 30% non-zeros).
 * PG_EINVAL on a column >= sizes[0], decreasing ptr or n = 0. */
pg_status pg_mlp_forward_sparse(pg_mlp *m, size_t n, const size_t *ptr, const uint32_t *idx,
                                const double *val, double *Y);
/* The same without copying or checking: the arrays are referenced (valid
 * until the matching backward, unchanged) and must satisfy the conditions
 * above (the caller built them; no check, so no PG_EINVAL). cptr, crow,
 * cval: the same entries by columns (pg_mlp_rows_to_columns), for the
 * weight gradient, or NULL (backward sorts them itself). */
pg_status pg_mlp_forward_sparse_ref(pg_mlp *m, size_t n, const size_t *ptr,
                                    const uint32_t *idx, const double *val, const size_t *cptr,
                                    const uint32_t *crow, const double *cval, double *Y);
/* Compressed rows (as above, n rows of ni columns) to columns: column k's
 * entries are cptr[k]..cptr[k+1]-1 (cptr: ni + 1), with their row in crow
 * and value in cval (ptr[n] - ptr[0] each), rows increasing. */
void pg_mlp_rows_to_columns(size_t n, size_t ni, const size_t *ptr, const uint32_t *idx,
                            const double *val, size_t *cptr, uint32_t *crow, double *cval);
/* Output of the last forward, n x sizes[L] (valid until the next forward). */
const double *pg_mlp_output(const pg_mlp *m);

/* Given dL/dY (n x out, n of the last forward), accumulate dL/dparams into
 * m->grad and, when dX is not NULL, write dL/dX (n x in). */
pg_status pg_mlp_backward(pg_mlp *m, const double *dY, double *dX);

/* The same, but m->grad is overwritten with this batch's gradient (no
 * pg_mlp_zero_grad needed; equal to zeroing and accumulating). */
pg_status pg_mlp_backward_set(pg_mlp *m, const double *dY, double *dX);

void pg_mlp_zero_grad(pg_mlp *m);

/* Kernels of forward, backward and Adam: every path does the same
 * floating-point operations (fused multiply-adds in a fixed order), so the
 * results are bit-identical whichever runs. The CPU's best is used: 2
 * AVX-512 (register-blocked), 1 AVX2+FMA, 0 portable C. pg_mlp_set_simd caps
 * the level (for tests and benchmarks; process-wide, not thread-safe) and
 * returns the level now in use. */
int pg_mlp_set_simd(int level);

/* Copy parameters (same architecture required: PG_ESHAPE). */
pg_status pg_mlp_copy_params(pg_mlp *dst, const pg_mlp *src);

/* ---- Adam over a flat parameter vector ---- */
typedef struct pg_mlp_adam {
  size_t n;
  double lr, beta1, beta2, eps;
  uint64_t t;
  double *m, *v;
} pg_mlp_adam;

/* Allocate the moments (zero) for n parameters; lr, beta1 = 0.9,
 * beta2 = 0.999, eps (stable-baselines3 uses 1e-5 for PPO). */
pg_status pg_mlp_adam_init(pg_mlp_adam *a, size_t n, double lr, double eps);
void pg_mlp_adam_free(pg_mlp_adam *a);
/* One step: params -= lr * mhat / (sqrt(vhat) + eps). */
void pg_mlp_adam_step(pg_mlp_adam *a, double *restrict params, const double *restrict grad);
/* The same step on the gradient times gs (gradient-norm clipping without a
 * pass over grad; grad is not changed): the same bits as scaling grad first. */
void pg_mlp_adam_step_scaled(pg_mlp_adam *a, double *restrict params,
                             const double *restrict grad, double gs);

/* ---- files ----
 * Text inside gzip: a line "perigee-mlp 1", the architecture, then every
 * parameter as a C99 hexadecimal float (exact round trip). Several networks
 * can share one stream (pg_mlp_write / pg_mlp_read on an open gzFile, passed
 * as void * so this header does not need zlib.h). */
pg_status pg_mlp_save(const pg_mlp *m, const char *path);
/* Load a network saved by pg_mlp_save (allocates *out). PG_EIO when the file
 * cannot be opened, PG_EFORMAT on a malformed file. */
pg_status pg_mlp_load(pg_mlp **out, const char *path);
pg_status pg_mlp_write(const pg_mlp *m, void *gzfile);
pg_status pg_mlp_read(pg_mlp **out, void *gzfile);

#endif
