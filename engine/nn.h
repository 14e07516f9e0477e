/*
 * nn.h -- the tensors and layers the training-free proxies need (engine/proxy.c),
 * and their backward passes. No optimiser here: MLP training lives elsewhere.
 *
 * Tensors are NCHW, double precision, contiguous: element (n, c, y, x) is
 * data[((n*C + c)*H + y)*W + x]. Layers are plain functions over tensors whose
 * shapes the caller has allocated (the *_shape helpers give output shapes).
 * Backward functions ACCUMULATE into parameter gradients (dw, db, dgamma,
 * dbeta) and OVERWRITE the input gradient dx; dx may be NULL when not needed.
 *
 * Convolution is im2col + one OpenBLAS GEMM per sample and group (Chellapilla
 * et al., "High performance convolutional neural networks for document
 * processing", 2006). Batch norm follows Ioffe and Szegedy (ICML 2015) in
 * training mode (biased batch variance, eps 1e-5 as PyTorch); initialisation
 * is Kaiming-normal (He et al., ICCV 2015).
 */
#ifndef PG_NN_H
#define PG_NN_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

typedef struct pg_tensor {
  size_t n, c, h, w;
  double *data; /* owned; NULL when empty */
} pg_tensor;

/* Allocate a zero-filled n x c x h x w tensor into *t (t's old data is not
 * freed). PG_ERANGE on absurd sizes, PG_ENOMEM on allocation failure. */
pg_status pg_tensor_alloc(pg_tensor *t, size_t n, size_t c, size_t h, size_t w);
/* Free t's data and reset it to empty; NULL and empty tensors are fine. */
void pg_tensor_free(pg_tensor *t);
size_t pg_tensor_numel(const pg_tensor *t);

/* ---- 2-D convolution ---------------------------------------------------- */
typedef struct pg_conv2d {
  size_t cin, cout;     /* channels; both divisible by groups */
  size_t kh, kw;        /* kernel */
  size_t stride, pad;   /* same in both directions; zero padding */
  size_t groups;        /* 1 = dense */
  double *w;            /* cout x (cin/groups) x kh x kw, not owned */
  double *b;            /* cout, or NULL for no bias; not owned */
  int single;           /* forward only: multiply in single precision (SGEMM on
                           inputs and weights rounded to float), about twice as
                           fast; NASWOT uses it, where only signs matter */
} pg_conv2d;

/* Output side for input side `in`; 0 when the kernel does not fit. */
size_t pg_conv_out(size_t in, size_t k, size_t stride, size_t pad);
/* Check the layer's fields (non-zero sizes, groups divide channels). */
pg_status pg_conv2d_check(const pg_conv2d *p);
/* y = conv(x) (+ b). y must be x.n x cout x oh x ow. */
pg_status pg_conv2d_forward(const pg_conv2d *p, const pg_tensor *x, pg_tensor *y);
/* Given x and dy: dw += dL/dw, db += dL/db (db ignored when NULL or no
 * bias), dx = dL/dx (skipped when NULL). dw may be NULL too. */
pg_status pg_conv2d_backward(const pg_conv2d *p, const pg_tensor *x, const pg_tensor *dy,
                             pg_tensor *dx, double *dw, double *db);

/* ---- batch normalisation -------------------------------------------------- */
typedef enum pg_bn_mode {
  PG_BN_TRAIN = 0, /* normalise with the batch statistics (PyTorch training mode) */
  PG_BN_IDENTITY   /* y = x: the form SynFlow uses (Tanaka et al. 2020) */
} pg_bn_mode;

typedef struct pg_batchnorm {
  size_t c;
  double eps;           /* 1e-5 by default */
  double *gamma, *beta; /* c each, not owned; NULL means 1 and 0 */
  double *mean, *invstd; /* c each, not owned: written by the forward pass */
} pg_batchnorm;

/* y = gamma * (x - mean) / sqrt(var + eps) + beta per channel, statistics
 * over N, H, W (biased variance), or y = x in PG_BN_IDENTITY mode. y may
 * alias x. mean/invstd are filled for the backward pass. */
pg_status pg_batchnorm_forward(pg_batchnorm *p, pg_bn_mode mode, const pg_tensor *x,
                               pg_tensor *y);
/* Backward of the training-mode forward with the same x (mean/invstd from the
 * forward): dgamma += sum dy*xhat, dbeta += sum dy, dx = full gradient
 * through the batch statistics. In identity mode dx = dy. */
pg_status pg_batchnorm_backward(const pg_batchnorm *p, pg_bn_mode mode, const pg_tensor *x,
                                const pg_tensor *dy, pg_tensor *dx, double *dgamma,
                                double *dbeta);

/* ---- ReLU --------------------------------------------------------------- */
/* y = max(x, 0); y may alias x. */
void pg_relu_forward(const pg_tensor *x, pg_tensor *y);
/* dx = dy * [x > 0]; dx may alias dy. */
void pg_relu_backward(const pg_tensor *x, const pg_tensor *dy, pg_tensor *dx);

/* ---- pooling -------------------------------------------------------------- */
typedef struct pg_pool2d {
  size_t k, stride, pad;
  int count_include_pad; /* average pooling: divide by k*k (1) or by the
                            number of in-bounds elements (0, NB201's choice) */
} pg_pool2d;

/* Output shape: same n and c, sides pg_conv_out(side, k, stride, pad). */
pg_status pg_avgpool_forward(const pg_pool2d *p, const pg_tensor *x, pg_tensor *y);
pg_status pg_avgpool_backward(const pg_pool2d *p, const pg_tensor *dy, pg_tensor *dx);
/* Max pooling; padding never wins. Backward routes dy to the first maximum
 * of each window (PyTorch's rule), recomputed from x. */
pg_status pg_maxpool_forward(const pg_pool2d *p, const pg_tensor *x, pg_tensor *y);
pg_status pg_maxpool_backward(const pg_pool2d *p, const pg_tensor *x, const pg_tensor *dy,
                              pg_tensor *dx);

/* Global average pooling: y is n x c x 1 x 1. */
pg_status pg_gap_forward(const pg_tensor *x, pg_tensor *y);
pg_status pg_gap_backward(const pg_tensor *dy, pg_tensor *dx);

/* ---- linear -------------------------------------------------------------- */
typedef struct pg_linear {
  size_t in, out;
  double *w; /* out x in, not owned */
  double *b; /* out, or NULL */
} pg_linear;

/* y[n x out] = x[n x in] w^T + b. x is read as n rows of c*h*w == in values
 * (so a n x c x 1 x 1 tensor works); y must be n x out x 1 x 1. */
pg_status pg_linear_forward(const pg_linear *p, const pg_tensor *x, pg_tensor *y);
pg_status pg_linear_backward(const pg_linear *p, const pg_tensor *x, const pg_tensor *dy,
                             pg_tensor *dx, double *dw, double *db);

/* ---- single-precision forward (NASWOT's forward, pg_net_forward_f32) ------------
 * The same layers on float NCHW tensors, forward only: NASWOT needs only the
 * signs of the activations (Mellor et al. 2021), so halving the memory traffic
 * costs nothing it measures (docs/proxies.md). Statistics of batch norm are
 * accumulated in double. */
typedef struct pg_tensorf {
  size_t n, c, h, w;
  float *data; /* NULL when empty */
} pg_tensorf;

size_t pg_tensorf_numel(const pg_tensorf *t);
/* Convolution with the weights already rounded to float (wf: cout x
 * (cin/groups) x kh x kw; p->w is not read, p->b is added when non-NULL).
 * Pointwise convolutions are one SGEMM per sample on the input plane,
 * depthwise ones (groups == cin == cout) a direct loop, the rest im2col +
 * SGEMM. y must be x.n x cout x oh x ow and must not alias x. */
pg_status pg_conv2d_forward_f32(const pg_conv2d *p, const float *wf, const pg_tensorf *x,
                                pg_tensorf *y);
/* Training- or identity-mode batch norm (as pg_batchnorm_forward), with the
 * ReLU applied too when relu != 0 (y = max(bn(x), 0)); y may alias x. */
pg_status pg_batchnorm_forward_f32(pg_batchnorm *p, pg_bn_mode mode, const pg_tensorf *x,
                                   pg_tensorf *y, int relu);
void pg_relu_forward_f32(const pg_tensorf *x, pg_tensorf *y);
pg_status pg_avgpool_forward_f32(const pg_pool2d *p, const pg_tensorf *x, pg_tensorf *y);
pg_status pg_maxpool_forward_f32(const pg_pool2d *p, const pg_tensorf *x, pg_tensorf *y);
pg_status pg_gap_forward_f32(const pg_tensorf *x, pg_tensorf *y);
pg_status pg_linear_forward_f32(const pg_linear *p, const pg_tensorf *x, pg_tensorf *y);

/* ---- initialisation ------------------------------------------------------- */
/* w[i] ~ N(0, (gain / sqrt(fan))^2) for i < count. Kaiming-normal with
 * fan_out and ReLU gain: gain = sqrt(2), fan = cout * kh * kw for a conv
 * (PyTorch's convention, not divided by groups), fan = out for a linear. */
void pg_nn_kaiming_normal(double *w, size_t count, size_t fan, double gain, pg_rng *rng);

#endif
