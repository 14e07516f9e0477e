/*
 * netgraph.h -- a small directed acyclic graph of engine/nn layers: enough to
 * express the NAS-Bench-201 / NATS-Bench networks (engine/nasnet.h) and run
 * them forward (optionally keeping activations) and backward.
 *
 * Nodes are appended in topological order; each refers to earlier nodes by
 * index. Node 0 is the input. The builder functions return the new node's
 * index, or -1 after any error; the first error is kept in net->status and
 * every later builder call is a no-op, so a builder can run to the end and
 * check once (pg_net_finalize returns it).
 *
 * Parameters of all layers live in one flat array net->params (and their
 * gradients in net->grads), so that a proxy can visit "every conv and linear
 * weight" as ranges of one array.
 */
#ifndef PG_NETGRAPH_H
#define PG_NETGRAPH_H

#include <stddef.h>

#include "nn.h"
#include "rng.h"
#include "status.h"

typedef enum pg_net_op {
  PG_NET_INPUT = 0,
  PG_NET_CONV,    /* conv2d, weights in params[woff .. woff+wcount), bias at boff */
  PG_NET_BN,      /* batch norm; gamma at woff, beta at boff (c each) */
  PG_NET_RELU,
  PG_NET_AVGPOOL,
  PG_NET_MAXPOOL,
  PG_NET_ADD,     /* elementwise sum of nin inputs */
  PG_NET_ZERO,    /* a zero tensor of the node's shape (NB201's `none`) */
  PG_NET_GAP,     /* global average pool to c x 1 x 1 */
  PG_NET_LINEAR,  /* weights at woff (out x in), bias at boff */
  PG_NET_SPLIT,   /* channels [coff, coff + c) of the input (channel split) */
  PG_NET_CONCAT,  /* concatenation of nin inputs along channels, in order */
  PG_NET_SHUFFLE  /* channel shuffle with `groups` groups (ShuffleNet) */
} pg_net_op;

#define PG_NET_MAXIN 4

typedef struct pg_net_node {
  pg_net_op op;
  int in[PG_NET_MAXIN];
  int nin;
  size_t c, h, w;  /* output shape of one sample */
  /* layer settings (pointers into params are set when the layer runs) */
  size_t k, stride, pad, groups;
  int include_pad; /* average pooling */
  size_t woff, wcount; /* weights (conv, linear) or gamma (bn) */
  size_t boff;         /* bias or beta; (size_t)-1 when absent */
  size_t soff;         /* batch-norm statistics offset in net->stats */
  int mult;            /* ReLU: how many identical ReLU modules this node stands for */
  size_t coff;         /* SPLIT: first input channel taken */
} pg_net_node;

typedef struct pg_net {
  pg_status status;    /* first builder error */
  size_t n, cap;
  pg_net_node *nodes;
  size_t nparams, nstats;
  double *params;      /* allocated by pg_net_finalize */
  double *grads;       /* same layout as params; accumulated by pg_net_backward */
  double *stats;       /* batch-norm mean/invstd */
  int output;          /* index of the last node added */
  int single;          /* forward convolutions in single precision (pg_conv2d.single);
                          0 by default, backward passes are always double */
  /* activations of the last forward pass (kept only when asked) */
  pg_tensor *act;
  size_t batch;
} pg_net;

/* An empty network whose input is c x h x w per sample. */
pg_status pg_net_init(pg_net *net, size_t c, size_t h, size_t w);
/* Release everything; a zeroed or failed network is fine. */
void pg_net_free(pg_net *net);

/* Builders (see the header comment for the error convention). Shapes follow
 * PyTorch's Conv2d / BatchNorm2d / ReLU / AvgPool2d / MaxPool2d / Linear. */
int pg_net_conv(pg_net *net, int in, size_t cout, size_t k, size_t stride, size_t pad,
                size_t groups, int bias);
int pg_net_bn(pg_net *net, int in);
/* ReLU of node `in`. Several ReLU modules on the same input compute the same
 * tensor: the builder returns the existing node and counts the module in its
 * `mult`, which NASWOT uses to count each module (engine/proxy.c). */
int pg_net_relu(pg_net *net, int in);
int pg_net_avgpool(pg_net *net, int in, size_t k, size_t stride, size_t pad, int include_pad);
int pg_net_maxpool(pg_net *net, int in, size_t k, size_t stride, size_t pad);
int pg_net_add(pg_net *net, const int *ins, int nin);
int pg_net_zero(pg_net *net, size_t c, size_t h, size_t w);
int pg_net_gap(pg_net *net, int in);
int pg_net_linear(pg_net *net, int in, size_t out, int bias);
/* Channel split: channels [first, first + count) of node `in` (PyTorch's
 * x[:, first:first+count]); PG_EINVAL when the range does not fit. */
int pg_net_split(pg_net *net, int in, size_t first, size_t count);
/* Concatenation of nin (1..PG_NET_MAXIN) nodes of equal h x w along the
 * channels, in the order given (torch.cat(dim=1)). */
int pg_net_concat(pg_net *net, const int *ins, int nin);
/* Channel shuffle (Zhang et al., ShuffleNet, CVPR 2018): the c channels,
 * seen as a groups x (c/groups) matrix, are transposed: output channel
 * j*groups + i is input channel i*(c/groups) + j (PyTorch's
 * x.view(n, g, c/g, h, w).transpose(1, 2)). groups must divide c. With
 * groups = c/2 the first half of the output holds the even input channels
 * and the second half the odd ones (the SPOS block's channel_shuffle). */
int pg_net_shuffle(pg_net *net, int in, size_t groups);

/* Allocate parameters, gradients and statistics once the graph is complete;
 * returns the first builder error if there was one. */
pg_status pg_net_finalize(pg_net *net);

/* (Re-)initialise the parameters: conv and linear weights Kaiming-normal
 * (fan_out, gain sqrt 2), biases 0, batch-norm gamma 1 and beta 0 -- the
 * FreeREA initialisation (engine/proxy.c cites it). Draws in node order. */
void pg_net_init_params(pg_net *net, pg_rng *rng);

/* Called for each ReLU node after it ran: y is its output (batch x c x h x w). */
typedef void (*pg_net_relu_hook)(void *ctx, const pg_tensor *y, int mult);

/* Forward pass of x (x.c, x.h, x.w must match the input). The output node's
 * tensor is moved into *out (caller frees it). With keep != 0 every
 * activation stays in net->act for pg_net_backward; otherwise each tensor is
 * freed as soon as its last consumer ran (peak memory of a few feature maps). */
pg_status pg_net_forward(pg_net *net, const pg_tensor *x, pg_bn_mode bn, int keep,
                         pg_net_relu_hook hook, void *ctx, pg_tensor *out);

/* Called for each ReLU node of pg_net_forward_f32 after it ran. */
typedef void (*pg_net_relu_hook_f32)(void *ctx, const pg_tensorf *y, int mult);

/* Forward pass in single precision (engine/nn.h's _f32 layers) of x rounded
 * to float, for NASWOT, which needs only the signs of the ReLU outputs: only
 * the nodes some ReLU depends on run (not the classifier head after the last
 * ReLU), each ReLU output is passed to hook, and nothing is kept or
 * returned. A batch norm whose only consumer is a ReLU is fused with it; a
 * ZERO node read only by sums allocates nothing. Parameters are read as
 * doubles and rounded to float per layer. */
pg_status pg_net_forward_f32(pg_net *net, const pg_tensor *x, pg_bn_mode bn,
                             pg_net_relu_hook_f32 hook, void *ctx);

/* Backward pass after a forward with keep != 0 and the same bn mode:
 * dout is dL/d(output) (shape of the output); net->grads += dL/dparams.
 * dx (input gradient) is written when non-NULL. Frees the kept activations. */
pg_status pg_net_backward(pg_net *net, pg_bn_mode bn, const pg_tensor *dout, pg_tensor *dx);

/* Free activations kept by a forward pass (pg_net_backward does it too). */
void pg_net_release(pg_net *net);

/* Number of nodes of a kind (e.g. PG_NET_CONV). */
size_t pg_net_count(const pg_net *net, pg_net_op op);

/* Multiply-accumulate count of conv and linear layers for one sample. */
double pg_net_macs(const pg_net *net);

#endif
