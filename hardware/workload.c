/*
 * workload.c -- layers as loop nests, networks as layer lists, and builders
 * for the networks perigee's benchmarks search over.
 *
 * Sources of the network definitions:
 * - NAS-Bench-201 / NATS-Bench: Dong & Yang, ICLR 2020; Dong et al., TPAMI
 *   2021; code D-X-Y/AutoDL-Projects (TinyNetwork, InferCell, ResNetBasicblock,
 *   DynamicShapeTinyNet), summarised in research/nb201_and_proxies.md.
 * - ShuffleNetV2+ and the SPOS supernet: megvii-model/ShuffleNet-Series
 *   (ShuffleNetV2+/network.py, blocks.py; OneShot/), HSCoNAS (Luo et al.,
 *   DATE 2021) as reconstructed in research/hsconas.md part B.
 * - ResNet-18/50 and MobileNetV2: torchvision.models definitions (He et al.,
 *   CVPR 2016; Sandler et al., CVPR 2018).
 * - Scale-Sim topology files: scalesim-project/scale-sim-v2,
 *   scalesim/topology_utils.py (load_arrays_conv / load_arrays_gemm).
 *
 * MAC convention: multiply-accumulates of the layers with weights (conv,
 * depthwise, pointwise, fully connected). Pooling, element-wise additions,
 * activations, BatchNorm and the SE multiply are not counted as MACs;
 * pooling and additions are still layers (kind POOL / ADD) so that cost
 * models that move their data can see them.
 */
#include "workload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM_MAX ((int64_t)1 << 31)
#define MAC_MAX ((int64_t)1 << 62)

/* ------------------------------------------------------------------ */
/* layers                                                               */
/* ------------------------------------------------------------------ */

static const char *const kind_names[PG_HW_KIND_COUNT] = {
  [PG_HW_CONV] = "conv", [PG_HW_DEPTHWISE] = "depthwise", [PG_HW_POINTWISE] = "pointwise",
  [PG_HW_FC] = "fc",     [PG_HW_POOL] = "pool",           [PG_HW_ADD] = "add",
};

const char *pg_hw_kind_name(pg_hw_kind k) {
  if ((int)k < 0 || k >= PG_HW_KIND_COUNT) return NULL;
  return kind_names[k];
}

pg_status pg_hw_kind_parse(const char *name, pg_hw_kind *k) {
  if (!name || !k) return PG_EINVAL;
  for (int i = 0; i < PG_HW_KIND_COUNT; i++)
    if (strcmp(name, kind_names[i]) == 0) {
      *k = (pg_hw_kind)i;
      return PG_OK;
    }
  if (strcmp(name, "gemm") == 0) {
    *k = PG_HW_FC;
    return PG_OK;
  }
  return PG_EINVAL;
}

static void set_name(char *dst, size_t cap, const char *src) {
  if (!src) src = "";
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* dst = a .. b, truncated to cap - 1 characters */
static void join(char *dst, size_t cap, const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > cap - 1) na = cap - 1;
  if (nb > cap - 1 - na) nb = cap - 1 - na;
  memmove(dst, a, na);
  memcpy(dst + na, b, nb);
  dst[na + nb] = '\0';
}

static int dim_ok(int64_t v) { return v >= 1 && v < DIM_MAX; }

/*
 * Shape checks. The output extent may run past the (padded) input by up to
 * S - 1 rows or columns: Scale-Sim keeps windows that run past the edge
 * (its output size is ceil((H - F + S) / S)).
 */
pg_status pg_hw_layer_check(const pg_hw_layer *l) {
  if (!l || (int)l->kind < 0 || l->kind >= PG_HW_KIND_COUNT) return PG_EINVAL;
  if (!dim_ok(l->B) || !dim_ok(l->K) || !dim_ok(l->C) || !dim_ok(l->OY) || !dim_ok(l->OX) ||
      !dim_ok(l->FY) || !dim_ok(l->FX) || !dim_ok(l->IY) || !dim_ok(l->IX) || !dim_ok(l->SY) ||
      !dim_ok(l->SX) || !dim_ok(l->groups))
    return PG_EINVAL;
  if (l->PY < 0 || l->PX < 0 || l->PY >= DIM_MAX || l->PX >= DIM_MAX) return PG_EINVAL;
  if (l->C % l->groups || l->K % l->groups) return PG_EINVAL;
  if (l->FY > l->IY + 2 * l->PY || l->FX > l->IX + 2 * l->PX) return PG_EINVAL;
  if ((l->OY - 1) * l->SY + l->FY > l->IY + 2 * l->PY + l->SY - 1) return PG_EINVAL;
  if ((l->OX - 1) * l->SX + l->FX > l->IX + 2 * l->PX + l->SX - 1) return PG_EINVAL;
  switch (l->kind) {
  case PG_HW_DEPTHWISE:
    if (l->groups != l->C || l->K != l->C) return PG_EINVAL;
    break;
  case PG_HW_POINTWISE:
    if (l->FY != 1 || l->FX != 1) return PG_EINVAL;
    break;
  case PG_HW_FC:
    if (l->FY != 1 || l->FX != 1 || l->OY != 1 || l->OX != 1) return PG_EINVAL;
    break;
  case PG_HW_POOL:
  case PG_HW_ADD:
    if (l->K != l->C) return PG_EINVAL;
    break;
  default:
    break;
  }
  if (l->prec_i < 1 || l->prec_w < 1 || l->prec_o < 1 || l->prec_i > 64 || l->prec_w > 64 ||
      l->prec_o > 64)
    return PG_EINVAL;
  /* MACs (and every count derived from them) must fit in 62 bits */
  double m = (double)l->B * (double)l->K * (double)(l->C / l->groups) * (double)l->OY *
             (double)l->OX * (double)l->FY * (double)l->FX;
  double in = (double)l->B * (double)l->C * (double)(l->IY + 2 * l->PY) * (double)(l->IX + 2 * l->PX);
  if (m >= (double)MAC_MAX || in >= (double)MAC_MAX) return PG_EINVAL;
  return PG_OK;
}

pg_status pg_hw_layer_make(pg_hw_layer *l, const char *name, pg_hw_kind kind, int64_t C, int64_t K,
                           int64_t IY, int64_t IX, int64_t FY, int64_t FX, int64_t S, int64_t P,
                           int64_t groups) {
  if (!l) return PG_EINVAL;
  memset(l, 0, sizeof *l);
  set_name(l->name, sizeof l->name, name);
  l->kind = kind;
  l->B = 1;
  l->C = C;
  l->K = K;
  l->IY = IY;
  l->IX = IX;
  l->FY = FY;
  l->FX = FX;
  l->SY = l->SX = S;
  l->PY = l->PX = P;
  l->groups = kind == PG_HW_DEPTHWISE ? C : groups;
  l->prec_i = l->prec_w = l->prec_o = 8;
  l->input = PG_HW_INPUT;
  l->input2 = -1;
  if (S < 1 || P < 0 || IY + 2 * P < FY || IX + 2 * P < FX) return PG_EINVAL;
  l->OY = (IY + 2 * P - FY) / S + 1;
  l->OX = (IX + 2 * P - FX) / S + 1;
  return pg_hw_layer_check(l);
}

static int has_weights(pg_hw_kind k) { return k != PG_HW_POOL && k != PG_HW_ADD; }

int64_t pg_hw_layer_macs(const pg_hw_layer *l) {
  if (!has_weights(l->kind)) return 0;
  return l->B * l->K * (l->C / l->groups) * l->OY * l->OX * l->FY * l->FX;
}

int64_t pg_hw_layer_ops(const pg_hw_layer *l) {
  if (l->kind == PG_HW_POOL) return l->B * l->K * l->OY * l->OX * l->FY * l->FX;
  if (l->kind == PG_HW_ADD) return l->B * l->K * l->OY * l->OX;
  return 0;
}

int64_t pg_hw_layer_weight_words(const pg_hw_layer *l) {
  if (!has_weights(l->kind)) return 0;
  return l->K * (l->C / l->groups) * l->FY * l->FX;
}

int64_t pg_hw_layer_params(const pg_hw_layer *l) {
  return pg_hw_layer_weight_words(l) + (l->bias ? l->K : 0) + (l->bn ? 2 * l->K : 0);
}

int64_t pg_hw_layer_input_words(const pg_hw_layer *l) { return l->C * l->IY * l->IX; }
int64_t pg_hw_layer_output_words(const pg_hw_layer *l) { return l->K * l->OY * l->OX; }

/* ------------------------------------------------------------------ */
/* networks                                                             */
/* ------------------------------------------------------------------ */

pg_status pg_hw_network_init(pg_hw_network *net, const char *name) {
  if (!net) return PG_EINVAL;
  memset(net, 0, sizeof *net);
  set_name(net->name, sizeof net->name, name);
  return PG_OK;
}

void pg_hw_network_free(pg_hw_network *net) {
  if (!net) return;
  free(net->layers);
  net->layers = NULL;
  net->n = net->cap = 0;
}

pg_status pg_hw_network_append(pg_hw_network *net, const pg_hw_layer *l, int *index) {
  if (!net || !l) return PG_EINVAL;
  pg_status s = pg_hw_layer_check(l);
  if (s) return s;
  if (net->n >= (size_t)1 << 30) return PG_ERANGE;
  int n = (int)net->n;
  if (l->input < PG_HW_ZERO || l->input >= n) return PG_EINVAL;
  if (l->input2 < PG_HW_ZERO || l->input2 >= n) return PG_EINVAL;
  if (net->n == net->cap) {
    size_t cap = net->cap ? 2 * net->cap : 16;
    pg_hw_layer *p = realloc(net->layers, cap * sizeof *p);
    if (!p) return PG_ENOMEM;
    net->layers = p;
    net->cap = cap;
  }
  net->layers[net->n++] = *l;
  if (index) *index = n;
  return PG_OK;
}

int64_t pg_hw_network_macs(const pg_hw_network *net) {
  int64_t t = 0;
  for (size_t i = 0; i < net->n; i++) t += pg_hw_layer_macs(&net->layers[i]);
  return t;
}

int64_t pg_hw_network_ops(const pg_hw_network *net) {
  int64_t t = 0;
  for (size_t i = 0; i < net->n; i++) t += pg_hw_layer_ops(&net->layers[i]);
  return t;
}

int64_t pg_hw_network_params(const pg_hw_network *net) {
  int64_t t = 0;
  for (size_t i = 0; i < net->n; i++) t += pg_hw_layer_params(&net->layers[i]);
  return t;
}

/* ------------------------------------------------------------------ */
/* builder helpers: a sticky status so that builders read like the     */
/* PyTorch definitions they copy                                        */
/* ------------------------------------------------------------------ */

typedef struct bld {
  pg_hw_network *net;
  pg_status st;
} bld;

/* Append a layer of kind k reading producer `in` (whose output is C x H x W)
 * and return its index (or -1 once an error occurred). */
static int b_layer(bld *b, const char *name, pg_hw_kind k, int in, int64_t C, int64_t K, int64_t H,
                   int64_t W, int64_t F, int64_t S, int64_t P, int64_t groups, int bias, int bn) {
  if (b->st) return -1;
  pg_hw_layer l;
  pg_status s = pg_hw_layer_make(&l, name, k, C, K, H, W, F, F, S, P, groups);
  if (!s) {
    l.input = in;
    l.bias = bias;
    l.bn = bn;
    int idx;
    s = pg_hw_network_append(b->net, &l, &idx);
    if (!s) return idx;
  }
  b->st = s;
  return -1;
}

/* conv F x F with BN (no bias) */
static int b_conv(bld *b, const char *name, int in, int64_t C, int64_t K, int64_t H, int64_t W,
                  int64_t F, int64_t S, int64_t P) {
  pg_hw_kind k = F == 1 ? PG_HW_POINTWISE : PG_HW_CONV;
  return b_layer(b, name, k, in, C, K, H, W, F, S, P, 1, 0, 1);
}

static int b_dw(bld *b, const char *name, int in, int64_t C, int64_t H, int64_t W, int64_t F,
                int64_t S) {
  return b_layer(b, name, PG_HW_DEPTHWISE, in, C, C, H, W, F, S, F / 2, C, 0, 1);
}

static int b_fc(bld *b, const char *name, int in, int64_t C, int64_t K, int bias, int bn) {
  return b_layer(b, name, PG_HW_FC, in, C, K, 1, 1, 1, 1, 0, 1, bias, bn);
}

/* global average pool of a C x H x W tensor */
static int b_gap(bld *b, const char *name, int in, int64_t C, int64_t H, int64_t W) {
  if (b->st) return -1;
  pg_hw_layer l;
  pg_status s = pg_hw_layer_make(&l, name, PG_HW_POOL, C, C, H, W, 1, 1, 1, 0, 1);
  if (!s) {
    l.FY = H;
    l.FX = W;
    l.OY = l.OX = 1;
    l.SY = H;
    l.SX = W;
    l.input = in;
    int idx;
    s = pg_hw_network_append(b->net, &l, &idx);
    if (!s) return idx;
  }
  b->st = s;
  return -1;
}

static int b_add(bld *b, const char *name, int x, int y, int64_t C, int64_t H, int64_t W) {
  if (b->st) return -1;
  pg_hw_layer l;
  pg_status s = pg_hw_layer_make(&l, name, PG_HW_ADD, C, C, H, W, 1, 1, 1, 0, 1);
  if (!s) {
    l.input = x;
    l.input2 = y;
    int idx;
    s = pg_hw_network_append(b->net, &l, &idx);
    if (!s) return idx;
  }
  b->st = s;
  return -1;
}

static pg_status b_finish(bld *b) {
  if (b->st) pg_hw_network_free(b->net);
  return b->st;
}

/* ------------------------------------------------------------------ */
/* NAS-Bench-201 cells                                                  */
/* ------------------------------------------------------------------ */

enum { OP_NONE, OP_SKIP, OP_CONV1, OP_CONV3, OP_POOL, OP_COUNT };
static const char *const nb201_ops[OP_COUNT] = {"none", "skip_connect", "nor_conv_1x1",
                                                "nor_conv_3x3", "avg_pool_3x3"};

/* Parse "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" into ops[6] in the edge order
 * (0->1), (0->2), (1->2), (0->3), (1->3), (2->3). */
static pg_status nb201_parse(const char *arch, int ops[6]) {
  if (!arch) return PG_EINVAL;
  const char *p = arch;
  int e = 0;
  for (int node = 1; node <= 3; node++) {
    if (node > 1 && *p++ != '+') return PG_EFORMAT;
    for (int src = 0; src < node; src++) {
      if (*p++ != '|') return PG_EFORMAT;
      const char *t = strchr(p, '~');
      if (!t) return PG_EFORMAT;
      size_t len = (size_t)(t - p);
      int op = -1;
      for (int i = 0; i < OP_COUNT; i++)
        if (strlen(nb201_ops[i]) == len && strncmp(p, nb201_ops[i], len) == 0) op = i;
      if (op < 0) return PG_EFORMAT;
      p = t + 1;
      if (*p != '0' + src) return PG_EFORMAT;
      p++;
      ops[e++] = op;
    }
    if (*p++ != '|') return PG_EFORMAT;
  }
  return *p == '\0' ? PG_OK : PG_EFORMAT;
}

/* One edge op from tensor `in` (ci channels) to co channels at side h.
 * Returns the producer of its result (a layer, or `in` for identity), or
 * PG_HW_ZERO for `none`. */
static int nb201_edge(bld *b, const char *prefix, int op, int in, int64_t ci, int64_t co,
                      int64_t h) {
  char nm[PG_HW_NAME_MAX];
  switch (op) {
  case OP_NONE:
    return PG_HW_ZERO;
  case OP_SKIP:
    if (ci == co) return in;
    join(nm, sizeof nm, prefix, ".skip1x1"); /* FactorizedReduce, stride 1 */
    return b_conv(b, nm, in, ci, co, h, h, 1, 1, 0);
  case OP_CONV1:
    join(nm, sizeof nm, prefix, ".conv1x1");
    return b_conv(b, nm, in, ci, co, h, h, 1, 1, 0);
  case OP_CONV3:
    join(nm, sizeof nm, prefix, ".conv3x3");
    return b_conv(b, nm, in, ci, co, h, h, 3, 1, 1);
  default: { /* avg_pool_3x3, preceded by ReLU-conv1x1-BN when ci != co */
    int x = in;
    if (ci != co) {
      join(nm, sizeof nm, prefix, ".pre1x1");
      x = b_conv(b, nm, in, ci, co, h, h, 1, 1, 0);
    }
    join(nm, sizeof nm, prefix, ".avgpool");
    return b_layer(b, nm, PG_HW_POOL, x, co, co, h, h, 3, 1, 1, 1, 0, 0);
  }
  }
}

/* Node sum: an ADD layer per extra live input. */
static int nb201_sum(bld *b, const char *prefix, const int *terms, int n, int64_t co, int64_t h) {
  int acc = PG_HW_ZERO;
  char nm[PG_HW_NAME_MAX];
  for (int i = 0; i < n; i++) {
    if (terms[i] == PG_HW_ZERO) continue;
    if (acc == PG_HW_ZERO) {
      acc = terms[i];
      continue;
    }
    snprintf(nm, sizeof nm, "%s.add%d", prefix, i);
    acc = b_add(b, nm, acc, terms[i], co, h, h);
  }
  return acc;
}

static int nb201_cell(bld *b, const char *prefix, const int ops[6], int in, int64_t ci, int64_t co,
                      int64_t h) {
  char nm[PG_HW_NAME_MAX];
  int node[4];
  node[0] = in;
  int e = 0;
  for (int i = 1; i <= 3; i++) {
    int terms[3];
    for (int j = 0; j < i; j++, e++) {
      snprintf(nm, sizeof nm, "%s.e%d%d", prefix, j, i);
      terms[j] = nb201_edge(b, nm, ops[e], node[j], j == 0 ? ci : co, co, h);
    }
    snprintf(nm, sizeof nm, "%s.n%d", prefix, i);
    node[i] = nb201_sum(b, nm, terms, i, co, h);
  }
  return node[3];
}

/* ResNet basic block of NAS-Bench-201: ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN,
 * shortcut AvgPool 2x2 s2 then conv 1x1 (no BN); h is the input side. */
static int nb201_resblock(bld *b, const char *prefix, int in, int64_t ci, int64_t co, int64_t h) {
  char nm[PG_HW_NAME_MAX];
  int64_t h2 = (h + 2 - 3) / 2 + 1;
  join(nm, sizeof nm, prefix, ".conv_a");
  int a = b_conv(b, nm, in, ci, co, h, h, 3, 2, 1);
  join(nm, sizeof nm, prefix, ".conv_b");
  int c = b_conv(b, nm, a, co, co, h2, h2, 3, 1, 1);
  join(nm, sizeof nm, prefix, ".down_pool");
  int p = b_layer(b, nm, PG_HW_POOL, in, ci, ci, h, h, 2, 2, 0, 1, 0, 0);
  join(nm, sizeof nm, prefix, ".down_conv");
  int d = b_layer(b, nm, PG_HW_POINTWISE, p, ci, co, h / 2, h / 2, 1, 1, 0, 1, 0, 0);
  join(nm, sizeof nm, prefix, ".add");
  return b_add(b, nm, c, d, co, h2, h2);
}

pg_status pg_hw_net_nb201(pg_hw_network *net, const char *arch, int64_t C, int64_t N,
                          int64_t input, int64_t classes) {
  if (!net) return PG_EINVAL;
  int ops[6];
  pg_status s = nb201_parse(arch, ops);
  if (s) return s;
  if (C < 1 || C > 4096 || N < 1 || N > 64 || input < 4 || input > 4096 || classes < 1 ||
      classes > 1000000)
    return PG_EINVAL;
  if ((s = pg_hw_network_init(net, "nb201"))) return s;
  bld b = {net, PG_OK};
  char nm[PG_HW_NAME_MAX];
  int64_t h = input, c = C;
  int x = b_conv(&b, "stem", PG_HW_INPUT, 3, c, h, h, 3, 1, 1);
  for (int stage = 0; stage < 3; stage++) {
    if (stage > 0) {
      snprintf(nm, sizeof nm, "res%d", stage);
      x = nb201_resblock(&b, nm, x, c, 2 * c, h);
      c *= 2;
      h = (h + 2 - 3) / 2 + 1;
    }
    for (int i = 0; i < N; i++) {
      snprintf(nm, sizeof nm, "s%d.c%d", stage + 1, i);
      x = nb201_cell(&b, nm, ops, x, c, c, h);
    }
  }
  int g = b_gap(&b, "head.gap", x, c, h, h);
  b_fc(&b, "head.classifier", g, c, classes, 1, 0);
  if (!b.st) b.net->layers[g].bn = 1; /* lastact BatchNorm before the pool */
  return b_finish(&b);
}

pg_status pg_hw_net_nats_sss(pg_hw_network *net, const char *channels, int64_t input,
                             int64_t classes) {
  if (!net || !channels) return PG_EINVAL;
  int64_t ch[5];
  const char *p = channels;
  for (int i = 0; i < 5; i++) {
    if (!isdigit((unsigned char)*p)) return PG_EFORMAT;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno || v < 1 || v > 4096) return PG_EFORMAT;
    ch[i] = v;
    p = end;
    if (i < 4 && *p++ != ':') return PG_EFORMAT;
  }
  if (*p) return PG_EFORMAT;
  if (input < 4 || input > 4096 || classes < 1 || classes > 1000000) return PG_EINVAL;
  /* the fixed cell of the size space */
  static const int ops[6] = {OP_CONV3, OP_CONV3, OP_CONV3, OP_SKIP, OP_CONV3, OP_CONV3};
  pg_status s = pg_hw_network_init(net, "nats_sss");
  if (s) return s;
  bld b = {net, PG_OK};
  int64_t h = input;
  int x = b_conv(&b, "stem", PG_HW_INPUT, 3, ch[0], h, h, 3, 1, 1);
  x = nb201_cell(&b, "cell1", ops, x, ch[0], ch[0], h);
  x = nb201_resblock(&b, "res1", x, ch[0], ch[1], h);
  h = (h + 2 - 3) / 2 + 1;
  x = nb201_cell(&b, "cell2", ops, x, ch[1], ch[2], h);
  x = nb201_resblock(&b, "res2", x, ch[2], ch[3], h);
  h = (h + 2 - 3) / 2 + 1;
  x = nb201_cell(&b, "cell3", ops, x, ch[3], ch[4], h);
  int g = b_gap(&b, "head.gap", x, ch[4], h, h);
  b_fc(&b, "head.classifier", g, ch[4], classes, 1, 0);
  if (!b.st) b.net->layers[g].bn = 1;
  return b_finish(&b);
}

/* ------------------------------------------------------------------ */
/* ResNet-18 / ResNet-50 (torchvision)                                  */
/* ------------------------------------------------------------------ */

/* side after a conv/pool with window F, stride S, padding P */
static int64_t out_side(int64_t h, int64_t F, int64_t S, int64_t P) { return (h + 2 * P - F) / S + 1; }

static pg_status resnet(pg_hw_network *net, const char *name, int bottleneck, const int blocks[4],
                        int64_t input, int64_t classes) {
  if (!net) return PG_EINVAL;
  if (input < 32 || input > 8192 || classes < 1 || classes > 1000000) return PG_EINVAL;
  pg_status s = pg_hw_network_init(net, name);
  if (s) return s;
  bld b = {net, PG_OK};
  char nm[PG_HW_NAME_MAX];
  int64_t h = input;
  int x = b_conv(&b, "conv1", PG_HW_INPUT, 3, 64, h, h, 7, 2, 3);
  h = out_side(h, 7, 2, 3);
  x = b_layer(&b, "maxpool", PG_HW_POOL, x, 64, 64, h, h, 3, 2, 1, 1, 0, 0);
  h = out_side(h, 3, 2, 1);
  int64_t c = 64;
  int64_t expansion = bottleneck ? 4 : 1;
  for (int stage = 0; stage < 4; stage++) {
    int64_t planes = (int64_t)64 << stage;
    for (int i = 0; i < blocks[stage]; i++) {
      int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      int64_t h2 = out_side(h, 3, stride, 1);
      int y;
      snprintf(nm, sizeof nm, "layer%d.%d", stage + 1, i);
      size_t len = strlen(nm);
      if (bottleneck) {
        snprintf(nm + len, sizeof nm - len, ".conv1");
        y = b_conv(&b, nm, x, c, planes, h, h, 1, 1, 0);
        snprintf(nm + len, sizeof nm - len, ".conv2");
        y = b_conv(&b, nm, y, planes, planes, h, h, 3, stride, 1);
        snprintf(nm + len, sizeof nm - len, ".conv3");
        y = b_conv(&b, nm, y, planes, planes * 4, h2, h2, 1, 1, 0);
      } else {
        snprintf(nm + len, sizeof nm - len, ".conv1");
        y = b_conv(&b, nm, x, c, planes, h, h, 3, stride, 1);
        snprintf(nm + len, sizeof nm - len, ".conv2");
        y = b_conv(&b, nm, y, planes, planes, h2, h2, 3, 1, 1);
      }
      int sc = x;
      if (stride != 1 || c != planes * expansion) {
        snprintf(nm + len, sizeof nm - len, ".downsample");
        sc = b_conv(&b, nm, x, c, planes * expansion, h, h, 1, stride, 0);
      }
      snprintf(nm + len, sizeof nm - len, ".add");
      x = b_add(&b, nm, y, sc, planes * expansion, h2, h2);
      c = planes * expansion;
      h = h2;
    }
  }
  int g = b_gap(&b, "avgpool", x, c, h, h);
  b_fc(&b, "fc", g, c, classes, 1, 0);
  return b_finish(&b);
}

pg_status pg_hw_net_resnet18(pg_hw_network *net, int64_t input, int64_t classes) {
  static const int blocks[4] = {2, 2, 2, 2};
  return resnet(net, "resnet18", 0, blocks, input, classes);
}

pg_status pg_hw_net_resnet50(pg_hw_network *net, int64_t input, int64_t classes) {
  static const int blocks[4] = {3, 4, 6, 3};
  return resnet(net, "resnet50", 1, blocks, input, classes);
}

/* ------------------------------------------------------------------ */
/* MobileNetV2 (torchvision, width 1.0)                                 */
/* ------------------------------------------------------------------ */

pg_status pg_hw_net_mobilenetv2(pg_hw_network *net, int64_t input, int64_t classes) {
  if (!net) return PG_EINVAL;
  if (input < 32 || input > 8192 || classes < 1 || classes > 1000000) return PG_EINVAL;
  /* t (expansion), c (channels), n (repeats), s (first stride) */
  static const int cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  pg_status s = pg_hw_network_init(net, "mobilenetv2");
  if (s) return s;
  bld b = {net, PG_OK};
  char nm[PG_HW_NAME_MAX];
  int64_t h = input, c = 32;
  int x = b_conv(&b, "features.0", PG_HW_INPUT, 3, 32, h, h, 3, 2, 1);
  h = out_side(h, 3, 2, 1);
  int blk = 1;
  for (int g = 0; g < 7; g++) {
    for (int i = 0; i < cfg[g][2]; i++, blk++) {
      int64_t t = cfg[g][0], co = cfg[g][1], stride = i == 0 ? cfg[g][3] : 1;
      int64_t hid = c * t;
      int64_t h2 = out_side(h, 3, stride, 1);
      int y = x;
      if (t != 1) {
        snprintf(nm, sizeof nm, "features.%d.expand", blk);
        y = b_conv(&b, nm, y, c, hid, h, h, 1, 1, 0);
      }
      snprintf(nm, sizeof nm, "features.%d.dw", blk);
      y = b_dw(&b, nm, y, hid, h, h, 3, stride);
      snprintf(nm, sizeof nm, "features.%d.project", blk);
      y = b_conv(&b, nm, y, hid, co, h2, h2, 1, 1, 0);
      if (stride == 1 && c == co) {
        snprintf(nm, sizeof nm, "features.%d.add", blk);
        y = b_add(&b, nm, y, x, co, h2, h2);
      }
      x = y;
      c = co;
      h = h2;
    }
  }
  x = b_conv(&b, "features.18", x, c, 1280, h, h, 1, 1, 0);
  int gp = b_gap(&b, "avgpool", x, 1280, h, h);
  b_fc(&b, "classifier", gp, 1280, classes, 1, 0);
  return b_finish(&b);
}

/* ------------------------------------------------------------------ */
/* ShuffleNetV2+ / SPOS supernet                                        */
/* ------------------------------------------------------------------ */

pg_status pg_hw_shufflenet_preset(pg_hw_shufflenet_cfg *cfg, const char *name) {
  if (!cfg || !name) return PG_EINVAL;
  static const int v2plus_arch[PG_HW_SHUFFLE_LAYERS] = {0, 0, 3, 1, 1, 1, 0, 0, 2, 0,
                                                       2, 1, 1, 0, 2, 0, 2, 1, 3, 2};
  static const struct {
    const char *name;
    int64_t ch[4], last;
    int v2plus;
  } presets[] = {
    {"spos", {64, 160, 320, 640}, 1024, 0},
    {"A", {48, 128, 256, 512}, 1280, 0},
    {"medium", {48, 128, 256, 512}, 1280, 0},
    {"B", {68, 168, 336, 672}, 1280, 0},
    {"large", {68, 168, 336, 672}, 1280, 0},
    {"small", {36, 104, 208, 416}, 1280, 0},
    {"v2plus_large", {68, 168, 336, 672}, 1280, 1},
    {"v2plus_medium", {48, 128, 256, 512}, 1280, 1},
    {"v2plus_small", {36, 104, 208, 416}, 1280, 1},
  };
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    if (strcmp(presets[i].name, name) != 0) continue;
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->channels, presets[i].ch, sizeof cfg->channels);
    cfg->stem = 16;
    cfg->last = presets[i].last;
    cfg->classes = 1000;
    cfg->input = 224;
    cfg->se = presets[i].v2plus;
    for (int l = 0; l < PG_HW_SHUFFLE_LAYERS; l++) {
      cfg->ops[l] = presets[i].v2plus ? v2plus_arch[l] : PG_HW_SHUFFLE_3X3;
      cfg->factors[l] = 1.0;
    }
    return PG_OK;
  }
  return PG_EINVAL;
}

/* Squeeze-excitation of ShuffleNetV2+: GAP, 1x1 c -> c/4 (BN), 1x1 c/4 -> c. */
static void shuffle_se(bld *b, const char *prefix, int in, int64_t c, int64_t h) {
  char nm[PG_HW_NAME_MAX];
  join(nm, sizeof nm, prefix, ".se_pool");
  int g = b_gap(b, nm, in, c, h, h);
  join(nm, sizeof nm, prefix, ".se_fc1");
  int f = b_conv(b, nm, g, c, c / 4, 1, 1, 1, 1, 0);
  join(nm, sizeof nm, prefix, ".se_fc2");
  b_layer(b, nm, PG_HW_POINTWISE, f, c / 4, c, 1, 1, 1, 1, 0, 1, 0, 0);
}

pg_status pg_hw_net_shufflenet(pg_hw_network *net, const pg_hw_shufflenet_cfg *cfg) {
  if (!net || !cfg) return PG_EINVAL;
  if (cfg->input < 32 || cfg->input > 8192 || cfg->classes < 1 || cfg->classes > 1000000 ||
      cfg->stem < 1 || cfg->stem > 65536 || cfg->last < 1 || cfg->last > 65536)
    return PG_EINVAL;
  for (int i = 0; i < 4; i++)
    if (cfg->channels[i] < 2 || cfg->channels[i] > 65536 || cfg->channels[i] % 2) return PG_EINVAL;
  static const int repeats[4] = {4, 4, 8, 4};
  for (int l = 0, st = 0, i = 0; l < PG_HW_SHUFFLE_LAYERS; l++) {
    int op = cfg->ops[l];
    double f = cfg->factors[l];
    if (op < 0 || op > PG_HW_SHUFFLE_SKIP) return PG_EINVAL;
    if (op == PG_HW_SHUFFLE_SKIP && i == 0) return PG_EINVAL; /* skip cannot downsample */
    if (!(f > 0.0) || f > 16.0) return PG_EINVAL;
    if (++i == repeats[st]) {
      st++;
      i = 0;
    }
  }
  pg_status s = pg_hw_network_init(net, "shufflenet");
  if (s) return s;
  bld b = {net, PG_OK};
  char nm[PG_HW_NAME_MAX];
  int64_t h = cfg->input;
  int x = b_conv(&b, "first_conv", PG_HW_INPUT, 3, cfg->stem, h, h, 3, 2, 1);
  h = out_side(h, 3, 2, 1);
  int64_t c = cfg->stem;
  int l = 0;
  for (int st = 0; st < 4; st++) {
    int64_t cout = cfg->channels[st];
    for (int i = 0; i < repeats[st]; i++, l++) {
      int op = cfg->ops[l];
      if (op == PG_HW_SHUFFLE_SKIP) continue; /* identity: no layer */
      int64_t stride = i == 0 ? 2 : 1;
      int64_t inp = stride == 2 ? c : cout / 2;
      int64_t outputs = cout - inp;
      int64_t mid = (int64_t)floor(cfg->factors[l] * (double)(cout / 2) + 0.5);
      if (mid < 1) mid = 1;
      int64_t h2 = out_side(h, 3, stride, 1);
      int y = x;
      size_t len = (size_t)snprintf(nm, sizeof nm, "L%d", l + 1);
      if (op <= PG_HW_SHUFFLE_7X7) {
        int64_t k = 3 + 2 * op;
        snprintf(nm + len, sizeof nm - len, ".pw1");
        y = b_conv(&b, nm, y, inp, mid, h, h, 1, 1, 0);
        snprintf(nm + len, sizeof nm - len, ".dw%d", (int)k);
        y = b_dw(&b, nm, y, mid, h, h, k, stride);
        snprintf(nm + len, sizeof nm - len, ".pw2");
        y = b_conv(&b, nm, y, mid, outputs, h2, h2, 1, 1, 0);
      } else { /* Xception, SPOS form: only the first dw is strided */
        snprintf(nm + len, sizeof nm - len, ".dw1");
        y = b_dw(&b, nm, y, inp, h, h, 3, stride);
        snprintf(nm + len, sizeof nm - len, ".pw1");
        y = b_conv(&b, nm, y, inp, mid, h2, h2, 1, 1, 0);
        snprintf(nm + len, sizeof nm - len, ".dw2");
        y = b_dw(&b, nm, y, mid, h2, h2, 3, 1);
        snprintf(nm + len, sizeof nm - len, ".pw2");
        y = b_conv(&b, nm, y, mid, mid, h2, h2, 1, 1, 0);
        snprintf(nm + len, sizeof nm - len, ".dw3");
        y = b_dw(&b, nm, y, mid, h2, h2, 3, 1);
        snprintf(nm + len, sizeof nm - len, ".pw3");
        y = b_conv(&b, nm, y, mid, outputs, h2, h2, 1, 1, 0);
      }
      if (cfg->se && st >= 2) {
        nm[len] = '\0';
        shuffle_se(&b, nm, y, outputs, h2);
      }
      if (stride == 2) { /* projection branch: dw k x k stride 2 + pw */
        int64_t k = op <= PG_HW_SHUFFLE_7X7 ? 3 + 2 * op : 3;
        snprintf(nm + len, sizeof nm - len, ".proj_dw");
        int p = b_dw(&b, nm, x, inp, h, h, k, 2);
        snprintf(nm + len, sizeof nm - len, ".proj_pw");
        b_conv(&b, nm, p, inp, inp, h2, h2, 1, 1, 0);
      }
      /* concatenation and channel shuffle move no MACs: the next block reads
       * the last layer appended as its producer */
      x = y;
      c = cout;
      h = h2;
    }
  }
  x = b_conv(&b, "conv_last", x, c, cfg->last, h, h, 1, 1, 0);
  int g = b_gap(&b, "globalpool", x, cfg->last, h, h);
  int f = g;
  if (cfg->se) {
    int s1 = b_fc(&b, "LastSE.fc1", g, cfg->last, cfg->last / 4, 0, 1);
    b_fc(&b, "LastSE.fc2", s1, cfg->last / 4, cfg->last, 0, 0);
    f = b_fc(&b, "fc", g, cfg->last, cfg->last, 0, 0);
    b_fc(&b, "classifier", f, cfg->last, cfg->classes, 0, 0);
  } else {
    b_fc(&b, "classifier", f, cfg->last, cfg->classes, 0, 0);
  }
  return b_finish(&b);
}

/* ------------------------------------------------------------------ */
/* Scale-Sim topology files                                             */
/* ------------------------------------------------------------------ */

/* Python int(str(x).strip()): optional sign, decimal digits, surrounding
 * whitespace (underscores between digits are also legal in Python; we do
 * not accept them). */
static int parse_int(const char *s, size_t n, int64_t *out) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  if (!n) return 0;
  int neg = 0;
  if (*s == '+' || *s == '-') {
    neg = *s == '-';
    s++, n--;
  }
  if (!n) return 0;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return 0;
    if (v > (INT64_MAX - 9) / 10) return 0;
    v = 10 * v + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return 1;
}

/* Python str.strip() of a field into dst */
static void strip_copy(char *dst, size_t cap, const char *s, size_t n) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  if (n >= cap) n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

#define TOPO_MAX_FIELDS 32

/* Split a stripped row at commas; drop the last field (Scale-Sim's
 * row.split(',')[:-1]). Returns the number of fields kept. */
static int split_row(const char *row, const char *start[], size_t len[]) {
  int n = 0;
  const char *p = row;
  for (;;) {
    const char *q = strchr(p, ',');
    if (!q) break; /* the text after the last comma is dropped */
    if (n == TOPO_MAX_FIELDS) return -1;
    start[n] = p;
    len[n] = (size_t)(q - p);
    n++;
    p = q + 1;
  }
  return n;
}

/* One Scale-Sim layer: H x W ifmap, Fh x Fw filter, ch channels, nf filters,
 * strides sh, sw. Output size ceil((H - F + S) / S), no padding. */
static pg_status topo_layer(pg_hw_network *net, const char *name, int64_t H, int64_t W,
                            int64_t Fh, int64_t Fw, int64_t ch, int64_t nf, int64_t sh,
                            int64_t sw) {
  if (Fh > H || Fw > W || H < 1 || W < 1 || Fh < 1 || Fw < 1 || ch < 1 || nf < 1 || sh < 1 ||
      sw < 1)
    return PG_EFORMAT;
  pg_hw_layer l;
  memset(&l, 0, sizeof l);
  set_name(l.name, sizeof l.name, name);
  l.kind = PG_HW_CONV;
  l.B = 1;
  l.IY = H;
  l.IX = W;
  l.FY = Fh;
  l.FX = Fw;
  l.C = ch;
  l.K = nf;
  l.SY = sh;
  l.SX = sw;
  l.OY = (H - Fh + sh + sh - 1) / sh;
  l.OX = (W - Fw + sw + sw - 1) / sw;
  l.groups = 1;
  l.prec_i = l.prec_w = l.prec_o = 8;
  l.input = net->n ? (int)net->n - 1 : PG_HW_INPUT;
  l.input2 = -1;
  if (pg_hw_layer_check(&l)) return PG_EFORMAT;
  return pg_hw_network_append(net, &l, NULL);
}

pg_status pg_hw_net_scalesim_topology(pg_hw_network *net, const char *path, int gemm) {
  if (!net || !path) return PG_EINVAL;
  FILE *f = fopen(path, "r");
  if (!f) return PG_EIO;
  /* topology name: the file name without directory and last extension */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char tname[64];
  set_name(tname, sizeof tname, base);
  char *dot = strrchr(tname, '.');
  if (dot && dot != tname) *dot = '\0';
  pg_status s = pg_hw_network_init(net, tname);
  if (s) {
    fclose(f);
    return s;
  }
  size_t cap = 256;
  char *row = malloc(cap);
  int first = 1;
  while (!s && row) {
    /* read one line of any length */
    size_t len = 0;
    int ch = 0;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
      if (len + 1 >= cap) {
        char *p = cap < ((size_t)1 << 24) ? realloc(row, 2 * cap) : NULL;
        if (!p) {
          s = PG_ENOMEM;
          break;
        }
        row = p;
        cap *= 2;
      }
      row[len++] = (char)ch;
    }
    if (s) break;
    if (len == 0 && ch == EOF) break;
    row[len] = '\0';
    /* row.strip() */
    char *r = row;
    while (*r && isspace((unsigned char)*r)) r++;
    size_t n = strlen(r);
    while (n && isspace((unsigned char)r[n - 1])) r[--n] = '\0';
    if (first) { /* the header line (the conv loader also skips it if blank) */
      first = 0;
      if (ch == EOF) break;
      continue;
    }
    if (n == 0) {
      if (ch == EOF) break;
      continue;
    }
    const char *fs[TOPO_MAX_FIELDS];
    size_t fl[TOPO_MAX_FIELDS];
    int nf = split_row(r, fs, fl);
    char name[PG_HW_NAME_MAX];
    int64_t v[9];
    if (nf < 0 || nf < (gemm ? 4 : 8) || (!gemm && nf > 9)) {
      s = PG_EFORMAT;
      break;
    }
    strip_copy(name, sizeof name, fs[0], fl[0]);
    for (int i = 1; i < nf && i < 9; i++)
      if (!parse_int(fs[i], fl[i], &v[i])) {
        /* the GEMM loader only converts fields 1..3 */
        if (!gemm || i <= 3) s = PG_EFORMAT;
      }
    if (s) break;
    if (gemm) {
      /* [m, k, 1, k, 1, n, 1, 1]: H = M, W = K, 1 x K filter, 1 channel */
      s = topo_layer(net, name, v[1], v[3], 1, v[3], 1, v[2], 1, 1);
    } else {
      int64_t sw = nf >= 9 ? v[8] : v[7];
      if (strstr(name, "DP")) {
        /* depthwise: one single-channel layer per channel */
        if (v[5] > 1 << 20) {
          s = PG_EFORMAT;
          break;
        }
        for (int64_t c = 0; c < v[5] && !s; c++) {
          char nm[PG_HW_NAME_MAX + 32];
          snprintf(nm, sizeof nm, "%sChannel_%lld", name, (long long)c);
          s = topo_layer(net, nm, v[1], v[2], v[3], v[4], 1, v[6], v[7], sw);
        }
      } else {
        s = topo_layer(net, name, v[1], v[2], v[3], v[4], v[5], v[6], v[7], sw);
      }
    }
    if (ch == EOF) break;
  }
  if (!row) s = PG_ENOMEM;
  free(row);
  if (ferror(f) && !s) s = PG_EIO;
  fclose(f);
  if (s) pg_hw_network_free(net);
  return s;
}
