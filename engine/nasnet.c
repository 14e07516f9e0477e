/*
 * nasnet.c -- NAS-Bench-201 / NATS-Bench networks (see nasnet.h).
 *
 * Layer by layer as xautodl builds them (TinyNetwork, InferCell,
 * ResNetBasicblock, ReLUConvBN, POOLING, FactorizedReduce with stride 1,
 * DynamicShapeTinyNet); convolutions have no bias (affine BN follows), the
 * classifier has one.
 */
#include "nasnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const opnames[PG_NB201_NOPS] = {"none", "skip_connect", "nor_conv_1x1",
                                                   "nor_conv_3x3", "avg_pool_3x3"};

const int pg_nats_sss_cell[PG_NB201_EDGES] = {PG_NB201_CONV3X3, PG_NB201_CONV3X3,
                                              PG_NB201_CONV3X3, PG_NB201_SKIP,
                                              PG_NB201_CONV3X3, PG_NB201_CONV3X3};

const char *pg_nb201_opname(int op) {
  return op >= 0 && op < PG_NB201_NOPS ? opnames[op] : NULL;
}

pg_status pg_nb201_parse(const char *arch, int ops[PG_NB201_EDGES]) {
  if (!arch) return PG_EINVAL;
  const char *p = arch;
  int e = 0;
  for (int i = 1; i <= 3; i++) {
    if (i > 1 && *p++ != '+') return PG_EFORMAT;
    if (*p++ != '|') return PG_EFORMAT;
    for (int j = 0; j < i; j++) {
      const char *t = strchr(p, '~');
      if (!t) return PG_EFORMAT;
      size_t len = (size_t)(t - p);
      int op = -1;
      for (int k = 0; k < PG_NB201_NOPS; k++)
        if (strlen(opnames[k]) == len && strncmp(opnames[k], p, len) == 0) op = k;
      if (op < 0) return PG_EFORMAT;
      p = t + 1;
      if (*p++ != '0' + j) return PG_EFORMAT;
      if (*p++ != '|') return PG_EFORMAT;
      ops[e++] = op;
    }
  }
  return *p == '\0' ? PG_OK : PG_EFORMAT;
}

pg_status pg_nb201_format(const int ops[PG_NB201_EDGES], char *buf, size_t len) {
  size_t used = 0;
  int e = 0;
  for (int i = 1; i <= 3; i++) {
    int w = snprintf(buf + used, len - used, "%s|", i > 1 ? "+" : "");
    if (w < 0 || (size_t)w >= len - used) return PG_ERANGE;
    used += (size_t)w;
    for (int j = 0; j < i; j++) {
      const char *name = pg_nb201_opname(ops[e++]);
      if (!name) return PG_EINVAL;
      w = snprintf(buf + used, len - used, "%s~%d|", name, j);
      if (w < 0 || (size_t)w >= len - used) return PG_ERANGE;
      used += (size_t)w;
    }
  }
  return PG_OK;
}

int pg_nb201_code(const int ops[PG_NB201_EDGES]) {
  int c = 0;
  for (int e = PG_NB201_EDGES - 1; e >= 0; e--) c = c * PG_NB201_NOPS + ops[e];
  return c;
}

void pg_nb201_decode(int code, int ops[PG_NB201_EDGES]) {
  for (int e = 0; e < PG_NB201_EDGES; e++) {
    ops[e] = code % PG_NB201_NOPS;
    code /= PG_NB201_NOPS;
  }
}

int pg_nb201_connected(const int ops[PG_NB201_EDGES]) {
  int r1 = ops[0] != PG_NB201_NONE;
  int r2 = ops[1] != PG_NB201_NONE || (r1 && ops[2] != PG_NB201_NONE);
  return ops[3] != PG_NB201_NONE || (r1 && ops[4] != PG_NB201_NONE) ||
         (r2 && ops[5] != PG_NB201_NONE);
}

pg_nasnet_cfg pg_nasnet_defaults(void) { return (pg_nasnet_cfg){16, 5, 32, 10}; }

/* ReLU -> conv k x k (stride, pad k/2) -> BN: xautodl's ReLUConvBN. */
static int relu_conv_bn(pg_net *net, int x, size_t cout, size_t k, size_t stride) {
  int r = pg_net_relu(net, x);
  return pg_net_bn(net, pg_net_conv(net, r, cout, k, stride, k / 2, 1, 0));
}

/* One edge of a cell; returns the node of its output, or -1 for `none`. */
static int edge(pg_net *net, int x, size_t cin, size_t cout, int op) {
  switch (op) {
  case PG_NB201_SKIP:
    if (cin == cout) return x;
    /* FactorizedReduce at stride 1: conv 1x1 + BN, no ReLU */
    return pg_net_bn(net, pg_net_conv(net, x, cout, 1, 1, 0, 1, 0));
  case PG_NB201_CONV1X1: return relu_conv_bn(net, x, cout, 1, 1);
  case PG_NB201_CONV3X3: return relu_conv_bn(net, x, cout, 3, 1);
  case PG_NB201_AVGPOOL:
    if (cin != cout) x = relu_conv_bn(net, x, cout, 1, 1);
    return pg_net_avgpool(net, x, 3, 1, 1, 0); /* count_include_pad=False */
  default: return -1;
  }
}

/* InferCell: node i = sum over j < i of op_ji(node j); output node 3. */
static int cell(pg_net *net, int x, size_t cin, size_t cout, const int ops[PG_NB201_EDGES]) {
  if (net->status) return -1;
  size_t h = net->nodes[x].h, w = net->nodes[x].w;
  int nodes[4] = {x, -1, -1, -1}, e = 0;
  for (int i = 1; i <= 3; i++) {
    int terms[3], nt = 0;
    for (int j = 0; j < i; j++) {
      int t = edge(net, nodes[j], j == 0 ? cin : cout, cout, ops[e++]);
      if (t >= 0) terms[nt++] = t;
    }
    nodes[i] = nt == 0 ? pg_net_zero(net, cout, h, w)
               : nt == 1 ? terms[0]
                         : pg_net_add(net, terms, nt);
    if (nodes[i] < 0) return -1;
  }
  return nodes[3];
}

/* ResNetBasicblock with stride 2: b(a(x)) + conv1x1(avgpool2x2(x)). */
static int resblock(pg_net *net, int x, size_t cout) {
  int a = relu_conv_bn(net, x, cout, 3, 2);
  int b = relu_conv_bn(net, a, cout, 3, 1);
  int s = pg_net_conv(net, pg_net_avgpool(net, x, 2, 2, 0, 1), cout, 1, 1, 0, 1, 0);
  int terms[2] = {b, s};
  return net->status ? -1 : pg_net_add(net, terms, 2);
}

/* The macro network over a list of layer channels (xautodl's
 * DynamicShapeTinyNet; TinyNetwork is the special case). */
static pg_status tiny(pg_net *net, const int ops[PG_NB201_EDGES], const size_t *ch,
                      const int *reduce, size_t nl, size_t side, size_t classes) {
  pg_status st = pg_net_init(net, 3, side, side);
  if (st) return st;
  int x = pg_net_bn(net, pg_net_conv(net, 0, ch[0], 3, 1, 1, 1, 0));
  size_t prev = ch[0];
  for (size_t l = 0; l < nl && !net->status; l++) {
    x = reduce[l] ? resblock(net, x, ch[l]) : cell(net, x, prev, ch[l], ops);
    prev = ch[l];
  }
  x = pg_net_relu(net, pg_net_bn(net, x));
  pg_net_linear(net, pg_net_gap(net, x), classes, 1);
  st = pg_net_finalize(net);
  if (st) pg_net_free(net);
  return st;
}

static pg_status check_cfg(const pg_nasnet_cfg *cfg, int sss) {
  if (!cfg || !cfg->classes || cfg->side < 4 || cfg->side > 4096 || cfg->classes > 100000)
    return PG_EINVAL;
  if (!sss && (!cfg->C || !cfg->N || cfg->C > 4096 || cfg->N > 64)) return PG_EINVAL;
  return PG_OK;
}

pg_status pg_nb201_build(pg_net *net, const int ops[PG_NB201_EDGES], const pg_nasnet_cfg *cfg) {
  memset(net, 0, sizeof *net);
  pg_status st = check_cfg(cfg, 0);
  if (st) return st;
  for (int e = 0; e < PG_NB201_EDGES; e++)
    if (ops[e] < 0 || ops[e] >= PG_NB201_NOPS) return PG_EINVAL;
  size_t nl = 3 * cfg->N + 2;
  size_t *ch = malloc(nl * sizeof *ch);
  int *red = malloc(nl * sizeof *red);
  if (!ch || !red) {
    free(ch);
    free(red);
    return PG_ENOMEM;
  }
  size_t l = 0;
  for (size_t s = 0; s < 3; s++) {
    if (s > 0) {
      ch[l] = cfg->C << s;
      red[l++] = 1;
    }
    for (size_t i = 0; i < cfg->N; i++) {
      ch[l] = cfg->C << s;
      red[l++] = 0;
    }
  }
  st = tiny(net, ops, ch, red, nl, cfg->side, cfg->classes);
  free(ch);
  free(red);
  return st;
}

pg_status pg_nats_sss_parse(const char *s, int ch[PG_NATS_SSS_LAYERS]) {
  if (!s) return PG_EINVAL;
  const char *p = s;
  for (int i = 0; i < PG_NATS_SSS_LAYERS; i++) {
    if (i > 0 && *p++ != ':') return PG_EFORMAT;
    int v = 0, nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 3) v = 10 * v + (*p++ - '0'), nd++;
    if (nd == 0 || v < 8 || v > 64 || v % 8) return PG_EFORMAT;
    ch[i] = v;
  }
  return *p == '\0' ? PG_OK : PG_EFORMAT;
}

int pg_nats_sss_code(const int ch[PG_NATS_SSS_LAYERS]) {
  int c = 0;
  for (int i = 0; i < PG_NATS_SSS_LAYERS; i++) c = 8 * c + (ch[i] / 8 - 1);
  return c;
}

void pg_nats_sss_decode(int code, int ch[PG_NATS_SSS_LAYERS]) {
  for (int i = PG_NATS_SSS_LAYERS - 1; i >= 0; i--) {
    ch[i] = 8 * (code % 8 + 1);
    code /= 8;
  }
}

pg_status pg_nats_sss_build(pg_net *net, const int ch[PG_NATS_SSS_LAYERS],
                            const pg_nasnet_cfg *cfg) {
  memset(net, 0, sizeof *net);
  pg_status st = check_cfg(cfg, 1);
  if (st) return st;
  size_t c[PG_NATS_SSS_LAYERS];
  for (int i = 0; i < PG_NATS_SSS_LAYERS; i++) {
    if (ch[i] < 1 || ch[i] > 4096) return PG_EINVAL;
    c[i] = (size_t)ch[i];
  }
  static const int red[PG_NATS_SSS_LAYERS] = {0, 1, 0, 1, 0};
  return tiny(net, pg_nats_sss_cell, c, red, PG_NATS_SSS_LAYERS, cfg->side, cfg->classes);
}
