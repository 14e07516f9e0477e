/* netgraph.c -- a DAG of engine/nn layers, forward and backward (see netgraph.h). */
#include "netgraph.h"

#include "linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_OFF ((size_t)-1)

pg_status pg_net_init(pg_net *net, size_t c, size_t h, size_t w) {
  memset(net, 0, sizeof *net);
  if (!c || !h || !w) return net->status = PG_EINVAL;
  net->cap = 64;
  net->nodes = calloc(net->cap, sizeof *net->nodes);
  if (!net->nodes) return net->status = PG_ENOMEM;
  net->n = 1;
  net->nodes[0] = (pg_net_node){.op = PG_NET_INPUT, .c = c, .h = h, .w = w, .boff = NO_OFF};
  net->output = 0;
  return PG_OK;
}

void pg_net_free(pg_net *net) {
  if (!net) return;
  pg_net_release(net);
  free(net->nodes);
  free(net->params);
  free(net->grads);
  free(net->stats);
  memset(net, 0, sizeof *net);
}

/* Append a node after validating its inputs; returns its index or -1. */
static int add_node(pg_net *net, pg_net_node nd) {
  if (net->status) return -1;
  if (net->params) {
    net->status = PG_ESTATE; /* the graph is finalised */
    return -1;
  }
  for (int i = 0; i < nd.nin; i++)
    if (nd.in[i] < 0 || (size_t)nd.in[i] >= net->n) {
      net->status = PG_EINVAL;
      return -1;
    }
  if (!nd.c || !nd.h || !nd.w) {
    net->status = PG_ESHAPE;
    return -1;
  }
  if (net->n == net->cap) {
    pg_net_node *p = realloc(net->nodes, 2 * net->cap * sizeof *p);
    if (!p) {
      net->status = PG_ENOMEM;
      return -1;
    }
    net->nodes = p;
    net->cap *= 2;
  }
  net->nodes[net->n] = nd;
  net->output = (int)net->n;
  return (int)net->n++;
}

static const pg_net_node *node_in(const pg_net *net, int in) {
  if (net->status || in < 0 || (size_t)in >= net->n) return NULL;
  return &net->nodes[in];
}

static int fail(pg_net *net, pg_status s) {
  if (!net->status) net->status = s;
  return -1;
}

int pg_net_conv(pg_net *net, int in, size_t cout, size_t k, size_t stride, size_t pad,
                size_t groups, int bias) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (!cout || !k || !stride || !groups || x->c % groups || cout % groups)
    return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_CONV, .in = {in}, .nin = 1, .c = cout, .k = k,
                    .stride = stride, .pad = pad, .groups = groups};
  nd.h = pg_conv_out(x->h, k, stride, pad);
  nd.w = pg_conv_out(x->w, k, stride, pad);
  nd.woff = net->nparams;
  nd.wcount = cout * (x->c / groups) * k * k;
  nd.boff = bias ? nd.woff + nd.wcount : NO_OFF;
  int id = add_node(net, nd);
  if (id >= 0) net->nparams += nd.wcount + (bias ? cout : 0);
  return id;
}

int pg_net_bn(pg_net *net, int in) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_BN, .in = {in}, .nin = 1, .c = x->c, .h = x->h, .w = x->w};
  nd.woff = net->nparams;
  nd.wcount = x->c;
  nd.boff = nd.woff + x->c;
  nd.soff = net->nstats;
  int id = add_node(net, nd);
  if (id >= 0) { /* x may dangle now: add_node can move the node array */
    net->nparams += 2 * nd.c;
    net->nstats += 2 * nd.c;
  }
  return id;
}

int pg_net_relu(pg_net *net, int in) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (net->params) return fail(net, PG_ESTATE);
  for (size_t i = (size_t)in + 1; i < net->n; i++)
    if (net->nodes[i].op == PG_NET_RELU && net->nodes[i].in[0] == in) {
      net->nodes[i].mult++;
      return (int)i;
    }
  pg_net_node nd = {.op = PG_NET_RELU, .in = {in}, .nin = 1, .c = x->c, .h = x->h, .w = x->w,
                    .boff = NO_OFF, .mult = 1};
  return add_node(net, nd);
}

static int pool(pg_net *net, pg_net_op op, int in, size_t k, size_t stride, size_t pad,
                int include_pad) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (!k || !stride || 2 * pad > k) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = op, .in = {in}, .nin = 1, .c = x->c, .k = k, .stride = stride,
                    .pad = pad, .include_pad = include_pad, .boff = NO_OFF};
  nd.h = pg_conv_out(x->h, k, stride, pad);
  nd.w = pg_conv_out(x->w, k, stride, pad);
  return add_node(net, nd);
}

int pg_net_avgpool(pg_net *net, int in, size_t k, size_t stride, size_t pad, int include_pad) {
  return pool(net, PG_NET_AVGPOOL, in, k, stride, pad, include_pad);
}

int pg_net_maxpool(pg_net *net, int in, size_t k, size_t stride, size_t pad) {
  return pool(net, PG_NET_MAXPOOL, in, k, stride, pad, 0);
}

int pg_net_add(pg_net *net, const int *ins, int nin) {
  if (nin < 1 || nin > PG_NET_MAXIN) return fail(net, PG_EINVAL);
  const pg_net_node *x = node_in(net, ins[0]);
  if (!x) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_ADD, .nin = nin, .c = x->c, .h = x->h, .w = x->w,
                    .boff = NO_OFF};
  for (int i = 0; i < nin; i++) {
    const pg_net_node *y = node_in(net, ins[i]);
    if (!y) return fail(net, PG_EINVAL);
    if (y->c != x->c || y->h != x->h || y->w != x->w) return fail(net, PG_ESHAPE);
    nd.in[i] = ins[i];
  }
  return add_node(net, nd);
}

int pg_net_zero(pg_net *net, size_t c, size_t h, size_t w) {
  pg_net_node nd = {.op = PG_NET_ZERO, .c = c, .h = h, .w = w, .boff = NO_OFF};
  return add_node(net, nd);
}

int pg_net_gap(pg_net *net, int in) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_GAP, .in = {in}, .nin = 1, .c = x->c, .h = 1, .w = 1,
                    .boff = NO_OFF};
  return add_node(net, nd);
}

int pg_net_linear(pg_net *net, int in, size_t out, int bias) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (!out) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_LINEAR, .in = {in}, .nin = 1, .c = out, .h = 1, .w = 1};
  nd.woff = net->nparams;
  nd.wcount = out * x->c * x->h * x->w;
  nd.boff = bias ? nd.woff + nd.wcount : NO_OFF;
  int id = add_node(net, nd);
  if (id >= 0) net->nparams += nd.wcount + (bias ? out : 0);
  return id;
}

int pg_net_split(pg_net *net, int in, size_t first, size_t count) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (!count || first >= x->c || count > x->c - first) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_SPLIT, .in = {in}, .nin = 1, .c = count, .h = x->h, .w = x->w,
                    .boff = NO_OFF, .coff = first};
  return add_node(net, nd);
}

int pg_net_concat(pg_net *net, const int *ins, int nin) {
  if (!ins || nin < 1 || nin > PG_NET_MAXIN) return fail(net, PG_EINVAL);
  const pg_net_node *x = node_in(net, ins[0]);
  if (!x) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_CONCAT, .nin = nin, .h = x->h, .w = x->w, .boff = NO_OFF};
  for (int i = 0; i < nin; i++) {
    const pg_net_node *y = node_in(net, ins[i]);
    if (!y) return fail(net, PG_EINVAL);
    if (y->h != x->h || y->w != x->w) return fail(net, PG_ESHAPE);
    nd.c += y->c;
    nd.in[i] = ins[i];
  }
  return add_node(net, nd);
}

int pg_net_shuffle(pg_net *net, int in, size_t groups) {
  const pg_net_node *x = node_in(net, in);
  if (!x) return fail(net, PG_EINVAL);
  if (!groups || x->c % groups) return fail(net, PG_EINVAL);
  pg_net_node nd = {.op = PG_NET_SHUFFLE, .in = {in}, .nin = 1, .c = x->c, .h = x->h, .w = x->w,
                    .groups = groups, .boff = NO_OFF};
  return add_node(net, nd);
}

pg_status pg_net_finalize(pg_net *net) {
  if (net->status) return net->status;
  if (net->params) return PG_OK;
  net->params = calloc(net->nparams ? net->nparams : 1, sizeof(double));
  net->grads = calloc(net->nparams ? net->nparams : 1, sizeof(double));
  net->stats = calloc(net->nstats ? net->nstats : 1, sizeof(double));
  if (!net->params || !net->grads || !net->stats) {
    free(net->params);
    free(net->grads);
    free(net->stats);
    net->params = net->grads = net->stats = NULL;
    return net->status = PG_ENOMEM;
  }
  return PG_OK;
}

void pg_net_init_params(pg_net *net, pg_rng *rng) {
  if (!net->params) return;
  for (size_t i = 0; i < net->n; i++) {
    const pg_net_node *nd = &net->nodes[i];
    if (nd->op == PG_NET_CONV || nd->op == PG_NET_LINEAR) {
      /* fan_out = out channels x receptive field (PyTorch's convention) */
      size_t fan = nd->op == PG_NET_CONV ? nd->c * nd->k * nd->k : nd->c;
      pg_nn_kaiming_normal(net->params + nd->woff, nd->wcount, fan, sqrt(2.0), rng);
      if (nd->boff != NO_OFF) memset(net->params + nd->boff, 0, nd->c * sizeof(double));
    } else if (nd->op == PG_NET_BN) {
      for (size_t c = 0; c < nd->c; c++) {
        net->params[nd->woff + c] = 1.0;
        net->params[nd->boff + c] = 0.0;
      }
    }
  }
}

/* Layer structs pointing into the parameter array. */
static pg_conv2d conv_of(const pg_net *net, const pg_net_node *nd) {
  const pg_net_node *x = &net->nodes[nd->in[0]];
  return (pg_conv2d){x->c, nd->c, nd->k, nd->k, nd->stride, nd->pad, nd->groups,
                     net->params + nd->woff,
                     nd->boff == NO_OFF ? NULL : net->params + nd->boff, net->single};
}

static pg_batchnorm bn_of(const pg_net *net, const pg_net_node *nd) {
  return (pg_batchnorm){nd->c, 1e-5, net->params + nd->woff, net->params + nd->boff,
                        net->stats + nd->soff, net->stats + nd->soff + nd->c};
}

static pg_linear linear_of(const pg_net *net, const pg_net_node *nd) {
  const pg_net_node *x = &net->nodes[nd->in[0]];
  return (pg_linear){x->c * x->h * x->w, nd->c, net->params + nd->woff,
                     nd->boff == NO_OFF ? NULL : net->params + nd->boff};
}

static void free_acts(pg_tensor *act, size_t n) {
  if (!act) return;
  /* act[0] borrows the caller's input */
  for (size_t i = 1; i < n; i++) pg_tensor_free(&act[i]);
  free(act);
}

void pg_net_release(pg_net *net) {
  free_acts(net->act, net->n);
  net->act = NULL;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void add_into(double *y, const double *a, size_t m) {
  for (size_t e = 0; e < m; e++) y[e] += a[e];
}

/* Buffers of freed activations, reused by later nodes of the same byte
 * size (double and float forwards alike): fresh multi-megabyte allocations
 * cost page faults on every forward pass. */
#define POOL_MAX 16
typedef struct bufpool {
  size_t n, size[POOL_MAX];
  void *buf[POOL_MAX];
} bufpool;

static void *pool_get(bufpool *p, size_t bytes, int zero) {
  for (size_t i = 0; i < p->n; i++)
    if (p->size[i] == bytes) {
      void *b = p->buf[i];
      p->n--;
      p->size[i] = p->size[p->n];
      p->buf[i] = p->buf[p->n];
      if (zero) memset(b, 0, bytes);
      return b;
    }
  return zero ? calloc(bytes ? bytes : 1, 1) : malloc(bytes ? bytes : 1);
}

/* Keep data (bytes long) for reuse, or free it when the pool is full. */
static void pool_keep(bufpool *p, void *data, size_t bytes) {
  if (!data) return;
  if (p->n < POOL_MAX) {
    p->size[p->n] = bytes;
    p->buf[p->n++] = data;
  } else {
    free(data);
  }
}

static void pool_put(bufpool *p, pg_tensor *t) {
  pool_keep(p, t->data, pg_tensor_numel(t) * sizeof(double));
  memset(t, 0, sizeof *t);
}

static void pool_free(bufpool *p) {
  for (size_t i = 0; i < p->n; i++) free(p->buf[i]);
  p->n = 0;
}

/* Channel moves of SPLIT, CONCAT and SHUFFLE: per sample, copy nc channels
 * of hw values of esz bytes from channel sc of src (sC channels) to channel
 * dc of dst (dC channels). */
static void copy_channels_sz(void *dst, size_t dC, size_t dc, const void *src, size_t sC,
                             size_t sc, size_t nc, size_t n, size_t hw, size_t esz) {
  for (size_t b = 0; b < n; b++)
    memcpy((char *)dst + (b * dC + dc) * hw * esz, (const char *)src + (b * sC + sc) * hw * esz,
           nc * hw * esz);
}

static void copy_channels(double *dst, size_t dC, size_t dc, const double *src, size_t sC,
                          size_t sc, size_t nc, size_t n, size_t hw) {
  copy_channels_sz(dst, dC, dc, src, sC, sc, nc, n, hw, sizeof(double));
}

/* Input channel of output channel oc of a shuffle of c channels in g groups. */
static size_t shuffle_src(size_t oc, size_t c, size_t g) { return (oc % g) * (c / g) + oc / g; }

/* Forward (back = 0: x -> y) or backward (back = 1: dy -> dx, every element
 * written) of a channel shuffle; a shuffle is a permutation, so its
 * backward is the inverse permutation. */
static void shuffle_move(const pg_tensor *from, pg_tensor *to, size_t g, int back) {
  size_t c = to->c, hw = to->h * to->w;
  for (size_t oc = 0; oc < c; oc++) {
    size_t ic = shuffle_src(oc, c, g);
    if (back)
      copy_channels(to->data, c, ic, from->data, c, oc, 1, to->n, hw);
    else
      copy_channels(to->data, c, oc, from->data, c, ic, 1, to->n, hw);
  }
}

/* Compute node i from the activations of its inputs into act[i]. With
 * inplace, an elementwise node (BN, ReLU) takes over its input's buffer. */
static pg_status run_node(pg_net *net, size_t i, pg_bn_mode bnmode, pg_tensor *act, int inplace,
                          bufpool *pool) {
  const pg_net_node *nd = &net->nodes[i];
  pg_tensor *y = &act[i];
  const pg_tensor *x = nd->nin ? &act[nd->in[0]] : NULL;
  if (inplace && (nd->op == PG_NET_BN || nd->op == PG_NET_RELU)) {
    *y = act[nd->in[0]];
    memset(&act[nd->in[0]], 0, sizeof *y);
    x = y;
  } else { /* ADD and ZERO need zeros; every other layer writes all of its output */
    size_t m;
    if (pg_size_mul(act[0].n, nd->c * nd->h * nd->w, &m)) return PG_ERANGE;
    int zero = nd->op == PG_NET_ADD || nd->op == PG_NET_ZERO;
    *y = (pg_tensor){act[0].n, nd->c, nd->h, nd->w, pool_get(pool, m * sizeof(double), zero)};
    if (!y->data) return PG_ENOMEM;
  }
  switch (nd->op) {
  case PG_NET_CONV: {
    pg_conv2d p = conv_of(net, nd);
    return pg_conv2d_forward(&p, x, y);
  }
  case PG_NET_BN: {
    pg_batchnorm p = bn_of(net, nd);
    return pg_batchnorm_forward(&p, bnmode, x, y);
  }
  case PG_NET_RELU: pg_relu_forward(x, y); return PG_OK;
  case PG_NET_AVGPOOL:
  case PG_NET_MAXPOOL: {
    pg_pool2d p = {nd->k, nd->stride, nd->pad, nd->include_pad};
    return nd->op == PG_NET_AVGPOOL ? pg_avgpool_forward(&p, x, y) : pg_maxpool_forward(&p, x, y);
  }
  case PG_NET_ADD: {
    size_t m = pg_tensor_numel(y);
    for (int j = 0; j < nd->nin; j++) {
      if (net->nodes[nd->in[j]].op == PG_NET_ZERO) continue;
      add_into(y->data, act[nd->in[j]].data, m);
    }
    return PG_OK;
  }
  case PG_NET_ZERO: return PG_OK;
  case PG_NET_SPLIT:
    copy_channels(y->data, nd->c, 0, x->data, x->c, nd->coff, nd->c, y->n, y->h * y->w);
    return PG_OK;
  case PG_NET_CONCAT: {
    size_t at = 0;
    for (int j = 0; j < nd->nin; j++) {
      const pg_tensor *a = &act[nd->in[j]];
      copy_channels(y->data, nd->c, at, a->data, a->c, 0, a->c, y->n, y->h * y->w);
      at += a->c;
    }
    return PG_OK;
  }
  case PG_NET_SHUFFLE: shuffle_move(x, y, nd->groups, 0); return PG_OK;
  case PG_NET_GAP: return pg_gap_forward(x, y);
  case PG_NET_LINEAR: {
    pg_linear p = linear_of(net, nd);
    return pg_linear_forward(&p, x, y);
  }
  case PG_NET_INPUT: break;
  }
  return PG_EINVAL;
}

pg_status pg_net_forward(pg_net *net, const pg_tensor *x, pg_bn_mode bn, int keep,
                         pg_net_relu_hook hook, void *ctx, pg_tensor *out) {
  memset(out, 0, sizeof *out);
  if (net->status) return net->status;
  if (!net->params) return PG_ESTATE;
  const pg_net_node *in = &net->nodes[0];
  if (x->c != in->c || x->h != in->h || x->w != in->w || !x->n) return PG_ESHAPE;
  pg_net_release(net);
  size_t n = net->n;
  pg_tensor *act = calloc(n, sizeof *act);
  int *refs = calloc(n, sizeof *refs);
  if (!act || !refs) {
    free(act);
    free(refs);
    return PG_ENOMEM;
  }
  for (size_t i = 1; i < n; i++)
    for (int j = 0; j < net->nodes[i].nin; j++) refs[net->nodes[i].in[j]]++;
  act[0] = *x; /* borrowed */
  pg_status st = PG_OK;
  bufpool pool = {0};
  for (size_t i = 1; i < n && !st; i++) {
    const pg_net_node *nd0 = &net->nodes[i];
    int inplace = !keep && nd0->nin == 1 && nd0->in[0] != 0 && refs[nd0->in[0]] == 1;
    st = run_node(net, i, bn, act, inplace, &pool);
    if (st) break;
    const pg_net_node *nd = &net->nodes[i];
    if (hook && nd->op == PG_NET_RELU) hook(ctx, &act[i], nd->mult);
    if (!keep)
      for (int j = 0; j < nd->nin; j++) {
        int k = nd->in[j];
        if (--refs[k] == 0 && k != 0 && k != net->output) pool_put(&pool, &act[k]);
      }
  }
  free(refs);
  pool_free(&pool);
  if (st) {
    free_acts(act, n);
    return st;
  }
  /* the output is copied when it must stay in act[] (kept, or the input) */
  const pg_tensor *o = &act[net->output];
  if (keep || net->output == 0) {
    st = pg_tensor_alloc(out, o->n, o->c, o->h, o->w);
    if (!st) memcpy(out->data, o->data, pg_tensor_numel(o) * sizeof(double));
  } else {
    *out = act[net->output];
    memset(&act[net->output], 0, sizeof act[0]);
  }
  if (keep && !st) {
    net->act = act;
    net->batch = x->n;
  } else {
    free_acts(act, n);
  }
  return st;
}

/* g[j] += t, taking ownership of t. */
static pg_status accumulate(pg_tensor *g, pg_tensor *t) {
  if (!g->data) {
    *g = *t;
    memset(t, 0, sizeof *t);
    return PG_OK;
  }
  size_t m = pg_tensor_numel(g);
  for (size_t e = 0; e < m; e++) g->data[e] += t->data[e];
  pg_tensor_free(t);
  return PG_OK;
}

/* Propagate grad[i] (node i) into the gradients of its inputs. */
static pg_status back_node(pg_net *net, size_t i, pg_bn_mode bnmode, pg_tensor *grad) {
  const pg_net_node *nd = &net->nodes[i];
  pg_tensor *act = net->act, *dy = &grad[i];
  if (nd->op == PG_NET_ADD) {
    for (int j = 0; j < nd->nin; j++) {
      int k = nd->in[j];
      if (net->nodes[k].op == PG_NET_ZERO) continue;
      pg_tensor t;
      pg_status st = pg_tensor_alloc(&t, dy->n, dy->c, dy->h, dy->w);
      if (st) return st;
      memcpy(t.data, dy->data, pg_tensor_numel(dy) * sizeof(double));
      accumulate(&grad[k], &t);
    }
    return PG_OK;
  }
  if (nd->op == PG_NET_CONCAT) {
    size_t at = 0;
    for (int j = 0; j < nd->nin; j++) {
      int k = nd->in[j];
      const pg_tensor *a = &act[k];
      pg_tensor t;
      pg_status st = pg_tensor_alloc(&t, a->n, a->c, a->h, a->w);
      if (st) return st;
      copy_channels(t.data, a->c, 0, dy->data, dy->c, at, a->c, a->n, a->h * a->w);
      at += a->c;
      if (net->nodes[k].op == PG_NET_ZERO)
        pg_tensor_free(&t);
      else
        accumulate(&grad[k], &t);
    }
    return PG_OK;
  }
  if (nd->nin == 0) return PG_OK;
  int k = nd->in[0];
  const pg_tensor *x = &act[k];
  pg_tensor t;
  pg_status st = pg_tensor_alloc(&t, x->n, x->c, x->h, x->w);
  if (st) return st;
  switch (nd->op) {
  case PG_NET_CONV: {
    pg_conv2d p = conv_of(net, nd);
    st = pg_conv2d_backward(&p, x, dy, &t, net->grads + nd->woff,
                            nd->boff == NO_OFF ? NULL : net->grads + nd->boff);
    break;
  }
  case PG_NET_BN: {
    pg_batchnorm p = bn_of(net, nd);
    st = pg_batchnorm_backward(&p, bnmode, x, dy, &t, net->grads + nd->woff,
                               net->grads + nd->boff);
    break;
  }
  case PG_NET_RELU: pg_relu_backward(x, dy, &t); break;
  case PG_NET_AVGPOOL:
  case PG_NET_MAXPOOL: {
    pg_pool2d p = {nd->k, nd->stride, nd->pad, nd->include_pad};
    st = nd->op == PG_NET_AVGPOOL ? pg_avgpool_backward(&p, dy, &t)
                                  : pg_maxpool_backward(&p, x, dy, &t);
    break;
  }
  case PG_NET_GAP: st = pg_gap_backward(dy, &t); break;
  case PG_NET_SPLIT: /* t is zero outside the slice */
    copy_channels(t.data, x->c, nd->coff, dy->data, dy->c, 0, dy->c, x->n, x->h * x->w);
    break;
  case PG_NET_SHUFFLE: shuffle_move(dy, &t, nd->groups, 1); break;
  case PG_NET_LINEAR: {
    pg_linear p = linear_of(net, nd);
    st = pg_linear_backward(&p, x, dy, &t, net->grads + nd->woff,
                            nd->boff == NO_OFF ? NULL : net->grads + nd->boff);
    break;
  }
  default: st = PG_EINVAL;
  }
  if (st) {
    pg_tensor_free(&t);
    return st;
  }
  if (net->nodes[k].op == PG_NET_ZERO) {
    pg_tensor_free(&t);
    return PG_OK;
  }
  return accumulate(&grad[k], &t);
}

pg_status pg_net_backward(pg_net *net, pg_bn_mode bn, const pg_tensor *dout, pg_tensor *dx) {
  if (!net->act) return PG_ESTATE;
  const pg_tensor *o = &net->act[net->output];
  if (dout->n != o->n || dout->c != o->c || dout->h != o->h || dout->w != o->w) return PG_ESHAPE;
  size_t n = net->n;
  pg_tensor *grad = calloc(n, sizeof *grad);
  if (!grad) return PG_ENOMEM;
  pg_status st = pg_tensor_alloc(&grad[net->output], o->n, o->c, o->h, o->w);
  if (!st) memcpy(grad[net->output].data, dout->data, pg_tensor_numel(o) * sizeof(double));
  for (size_t i = n - 1; i >= 1 && !st; i--) {
    if (grad[i].data) st = back_node(net, i, bn, grad);
    pg_tensor_free(&grad[i]);
  }
  if (!st && dx) {
    const pg_tensor *x = &net->act[0];
    if (grad[0].data) {
      *dx = grad[0];
      memset(&grad[0], 0, sizeof grad[0]);
    } else {
      st = pg_tensor_alloc(dx, x->n, x->c, x->h, x->w);
    }
  }
  for (size_t i = 0; i < n; i++) pg_tensor_free(&grad[i]);
  free(grad);
  pg_net_release(net);
  return st;
}

size_t pg_net_count(const pg_net *net, pg_net_op op) {
  size_t c = 0;
  for (size_t i = 0; i < net->n; i++) c += net->nodes[i].op == op;
  return c;
}

double pg_net_macs(const pg_net *net) {
  double m = 0.0;
  for (size_t i = 0; i < net->n; i++) {
    const pg_net_node *nd = &net->nodes[i];
    if (nd->op == PG_NET_CONV || nd->op == PG_NET_LINEAR)
      m += (double)nd->wcount * (double)(nd->h * nd->w);
  }
  return m;
}

/* ---- single-precision forward (NASWOT) ---------------------------------------------------- */

static void fpool_put(bufpool *p, pg_tensorf *t) {
  pool_keep(p, t->data, pg_tensorf_numel(t) * sizeof(float));
  memset(t, 0, sizeof *t);
}

static void copy_channels_f(float *dst, size_t dC, size_t dc, const float *src, size_t sC,
                            size_t sc, size_t nc, size_t n, size_t hw) {
  copy_channels_sz(dst, dC, dc, src, sC, sc, nc, n, hw, sizeof(float));
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void add_into_f(float *y, const float *a, size_t m) {
  for (size_t e = 0; e < m; e++) y[e] += a[e];
}

/* Per-forward state of the float pass. */
typedef struct fstate {
  pg_tensorf *act;
  int *refs;        /* remaining consumers among the nodes that run */
  unsigned char *need, *fuse, *lazy; /* node runs; BN fused with its ReLU; ZERO without data */
  float *wf;        /* weights of the current conv rounded to float */
  bufpool pool;
} fstate;

/* Take over input k's buffer when node i is its last consumer (not the input). */
static int can_take(const fstate *f, int k) { return k != 0 && f->refs[k] == 1 && f->act[k].data; }

static pg_status run_node_f(pg_net *net, size_t i, pg_bn_mode bnmode, fstate *f) {
  const pg_net_node *nd = &net->nodes[i];
  pg_tensorf *act = f->act, *y = &act[i];
  size_t n = act[0].n, m = n * nd->c * nd->h * nd->w;
  int k0 = nd->nin ? nd->in[0] : -1;
  if ((nd->op == PG_NET_BN || nd->op == PG_NET_RELU) && can_take(f, k0)) {
    *y = act[k0];
    memset(&act[k0], 0, sizeof *y);
    if (nd->op == PG_NET_RELU && f->fuse[k0]) return PG_OK; /* the BN applied it */
    if (nd->op == PG_NET_RELU) {
      pg_relu_forward_f32(y, y);
      return PG_OK;
    }
    pg_batchnorm p = bn_of(net, nd);
    return pg_batchnorm_forward_f32(&p, bnmode, y, y, f->fuse[i]);
  }
  if (nd->op == PG_NET_ZERO && f->lazy[i]) {
    *y = (pg_tensorf){n, nd->c, nd->h, nd->w, NULL};
    return PG_OK;
  }
  if (nd->op == PG_NET_ADD) { /* start from the first real summand, in place when possible */
    int first = -1;
    for (int j = 0; j < nd->nin && first < 0; j++)
      if (net->nodes[nd->in[j]].op != PG_NET_ZERO) first = j;
    if (first >= 0 && can_take(f, nd->in[first])) {
      int k = nd->in[first];
      /* a node summed twice stays needed by the second summand */
      int twice = 0;
      for (int j = first + 1; j < nd->nin; j++) twice |= nd->in[j] == k;
      if (!twice) {
        *y = act[k];
        memset(&act[k], 0, sizeof *y);
        for (int j = first + 1; j < nd->nin; j++)
          if (net->nodes[nd->in[j]].op != PG_NET_ZERO) add_into_f(y->data, act[nd->in[j]].data, m);
        return PG_OK;
      }
    }
    *y = (pg_tensorf){n, nd->c, nd->h, nd->w, pool_get(&f->pool, m * sizeof(float), first < 0)};
    if (!y->data) return PG_ENOMEM;
    if (first < 0) return PG_OK;
    memcpy(y->data, act[nd->in[first]].data, m * sizeof(float));
    for (int j = first + 1; j < nd->nin; j++)
      if (net->nodes[nd->in[j]].op != PG_NET_ZERO) add_into_f(y->data, act[nd->in[j]].data, m);
    return PG_OK;
  }
  *y = (pg_tensorf){n, nd->c, nd->h, nd->w,
                    pool_get(&f->pool, m * sizeof(float), nd->op == PG_NET_ZERO)};
  if (!y->data) return PG_ENOMEM;
  const pg_tensorf *x = k0 >= 0 ? &act[k0] : NULL;
  switch (nd->op) {
  case PG_NET_CONV: {
    pg_conv2d p = conv_of(net, nd);
    for (size_t e = 0; e < nd->wcount; e++) f->wf[e] = (float)p.w[e];
    return pg_conv2d_forward_f32(&p, f->wf, x, y);
  }
  case PG_NET_BN: {
    pg_batchnorm p = bn_of(net, nd);
    return pg_batchnorm_forward_f32(&p, bnmode, x, y, f->fuse[i]);
  }
  case PG_NET_RELU:
    if (f->fuse[k0])
      memcpy(y->data, x->data, m * sizeof(float));
    else
      pg_relu_forward_f32(x, y);
    return PG_OK;
  case PG_NET_AVGPOOL:
  case PG_NET_MAXPOOL: {
    pg_pool2d p = {nd->k, nd->stride, nd->pad, nd->include_pad};
    return nd->op == PG_NET_AVGPOOL ? pg_avgpool_forward_f32(&p, x, y)
                                    : pg_maxpool_forward_f32(&p, x, y);
  }
  case PG_NET_ZERO: return PG_OK;
  case PG_NET_SPLIT:
    copy_channels_f(y->data, nd->c, 0, x->data, x->c, nd->coff, nd->c, n, nd->h * nd->w);
    return PG_OK;
  case PG_NET_CONCAT: {
    size_t at = 0;
    for (int j = 0; j < nd->nin; j++) {
      const pg_tensorf *a = &act[nd->in[j]];
      if (a->data)
        copy_channels_f(y->data, nd->c, at, a->data, a->c, 0, a->c, n, nd->h * nd->w);
      else
        for (size_t b = 0; b < n; b++)
          memset(y->data + (b * nd->c + at) * nd->h * nd->w, 0, a->c * nd->h * nd->w * sizeof(float));
      at += a->c;
    }
    return PG_OK;
  }
  case PG_NET_SHUFFLE: {
    size_t c = nd->c, hw = nd->h * nd->w;
    for (size_t oc = 0; oc < c; oc++)
      copy_channels_f(y->data, c, oc, x->data, c, shuffle_src(oc, c, nd->groups), 1, n, hw);
    return PG_OK;
  }
  case PG_NET_GAP: return pg_gap_forward_f32(x, y);
  case PG_NET_LINEAR: {
    pg_linear p = linear_of(net, nd);
    return pg_linear_forward_f32(&p, x, y);
  }
  case PG_NET_ADD: /* handled above */
  case PG_NET_INPUT: break;
  }
  return PG_EINVAL;
}

pg_status pg_net_forward_f32(pg_net *net, const pg_tensor *x, pg_bn_mode bn,
                             pg_net_relu_hook_f32 hook, void *ctx) {
  if (net->status) return net->status;
  if (!net->params) return PG_ESTATE;
  const pg_net_node *in = &net->nodes[0];
  if (x->c != in->c || x->h != in->h || x->w != in->w || !x->n) return PG_ESHAPE;
  size_t n = net->n, wmax = 1, m0 = pg_tensor_numel(x);
  fstate f = {0};
  f.act = calloc(n, sizeof *f.act);
  f.refs = calloc(n, sizeof *f.refs);
  f.need = calloc(3 * n, 1);
  for (size_t i = 0; i < n; i++)
    if (net->nodes[i].op == PG_NET_CONV && net->nodes[i].wcount > wmax) wmax = net->nodes[i].wcount;
  f.wf = malloc(wmax * sizeof *f.wf);
  float *x0 = malloc(m0 * sizeof *x0);
  pg_status st = PG_OK;
  if (!f.act || !f.refs || !f.need || !f.wf || !x0) st = PG_ENOMEM;
  if (!st) {
    f.fuse = f.need + n;
    f.lazy = f.need + 2 * n;
    /* the nodes some ReLU depends on */
    for (size_t i = n; i-- > 1;) {
      const pg_net_node *nd = &net->nodes[i];
      if (nd->op == PG_NET_RELU) f.need[i] = 1;
      if (f.need[i])
        for (int j = 0; j < nd->nin; j++) f.need[nd->in[j]] = 1;
    }
    for (size_t i = 1; i < n; i++) {
      const pg_net_node *nd = &net->nodes[i];
      if (!f.need[i]) continue;
      for (int j = 0; j < nd->nin; j++) f.refs[nd->in[j]]++;
    }
    for (size_t i = 1; i < n; i++) {
      const pg_net_node *nd = &net->nodes[i];
      if (nd->op == PG_NET_ZERO) f.lazy[i] = 1;
      if (!f.need[i]) continue;
      for (int j = 0; j < nd->nin; j++) {
        int k = nd->in[j];
        if (nd->op != PG_NET_ADD) f.lazy[k] = 0; /* set below for ZERO nodes only */
        if (nd->op == PG_NET_RELU && net->nodes[k].op == PG_NET_BN && f.refs[k] == 1)
          f.fuse[k] = 1;
      }
    }
    for (size_t i = 1; i < n; i++) /* lazy was provisionally 1 for ZERO nodes only */
      if (net->nodes[i].op != PG_NET_ZERO) f.lazy[i] = 0;
    for (size_t e = 0; e < m0; e++) x0[e] = (float)x->data[e];
    f.act[0] = (pg_tensorf){x->n, x->c, x->h, x->w, x0};
  }
  for (size_t i = 1; i < n && !st; i++) {
    if (!f.need[i]) continue;
    st = run_node_f(net, i, bn, &f);
    if (st) break;
    const pg_net_node *nd = &net->nodes[i];
    if (hook && nd->op == PG_NET_RELU) hook(ctx, &f.act[i], nd->mult);
    for (int j = 0; j < nd->nin; j++) {
      int k = nd->in[j];
      if (--f.refs[k] == 0 && k != 0) fpool_put(&f.pool, &f.act[k]);
    }
    if (f.refs[i] == 0) fpool_put(&f.pool, &f.act[i]); /* a ReLU nothing reads */
  }
  if (f.act)
    for (size_t i = 1; i < n; i++) free(f.act[i].data);
  pool_free(&f.pool);
  free(f.act);
  free(f.refs);
  free(f.need);
  free(f.wf);
  free(x0);
  return st;
}
