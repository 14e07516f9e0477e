/*
 * workload.h -- layers as loop nests and networks as ordered layer lists;
 * the common input of every cost model (systolic.c, dataflow.c) and of the
 * proxy networks.
 *
 * A layer computes, for b < B, k < K, oy < OY, ox < OX:
 *   O[b][k][oy][ox] += sum over c < C/groups-per-k, fy < FY, fx < FX of
 *     W[k][c][fy][fx] * I[b][g*Cg + c][oy*SY + fy - PY][ox*SX + fx - PX]
 * where C is the number of input channels of the whole layer and `groups`
 * splits C and K into independent groups (depthwise: groups = C = K).
 * MACs = B * K * (C / groups) * OY * OX * FY * FX for conv-like kinds.
 */
#ifndef PG_HW_WORKLOAD_H
#define PG_HW_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum pg_hw_kind {
  PG_HW_CONV = 0,   /* dense convolution (groups may be > 1) */
  PG_HW_DEPTHWISE,  /* groups == C == K */
  PG_HW_POINTWISE,  /* 1x1 convolution */
  PG_HW_FC,         /* fully connected / GEMM: OY = OX = FY = FX = 1 */
  PG_HW_POOL,       /* pooling: no weights, FY x FX window, K == C */
  PG_HW_ADD,        /* elementwise add of two tensors: no weights, K == C */
  PG_HW_KIND_COUNT
} pg_hw_kind;

#define PG_HW_NAME_MAX 48

typedef struct pg_hw_layer {
  char name[PG_HW_NAME_MAX];
  pg_hw_kind kind;
  int64_t B, K, C, OY, OX, FY, FX; /* loop bounds */
  int64_t IY, IX;                  /* input feature map height and width */
  int64_t SY, SX;                  /* strides */
  int64_t PY, PX;                  /* padding (top/left; bottom/right symmetric) */
  int64_t groups;                  /* 1 for dense layers */
  int prec_i, prec_w, prec_o;      /* operand precisions in bits (default 8) */
  int input;                       /* producer layer index, -1 = network input */
  int input2;                      /* second producer for ADD, else -1 */
  /* Added by the workload module (appended, so the fields above keep their
   * offsets). They only matter for parameter counts. */
  int bias;                        /* 1 if the layer has a bias vector (K values) */
  int bn;                          /* 1 if followed by an affine BatchNorm (2K values) */
} pg_hw_layer;

/* Producer markers besides layer indices: */
#define PG_HW_INPUT (-1) /* the network input */
#define PG_HW_ZERO (-2)  /* a zero tensor (NAS-Bench-201 node without live inputs) */

typedef struct pg_hw_network {
  char name[64];
  size_t n, cap;
  pg_hw_layer *layers;
} pg_hw_network;

/* ---- layers ---- */

/* Fill *l as a layer of kind `kind`: C input channels, K output channels,
 * IY x IX input, FY x FX window, stride S, symmetric padding P, `groups`.
 * The output size follows PyTorch: OY = (IY + 2P - FY) / S + 1 (floor).
 * B = 1, precisions 8 bits, producers PG_HW_INPUT, no bias, no BN.
 * For PG_HW_FC pass IY = IX = FY = FX = 1. PG_HW_DEPTHWISE forces groups = C
 * (and needs K == C); PG_HW_POOL and PG_HW_ADD need K == C.
 * Returns PG_EINVAL when the shape is impossible (see pg_hw_layer_check). */
pg_status pg_hw_layer_make(pg_hw_layer *l, const char *name, pg_hw_kind kind, int64_t C, int64_t K,
                           int64_t IY, int64_t IX, int64_t FY, int64_t FX, int64_t S, int64_t P,
                           int64_t groups);

/* PG_OK when every bound is positive and below 2^31, groups divide C and K,
 * the kind's constraints hold and MACs fit in 62 bits; else PG_EINVAL. */
pg_status pg_hw_layer_check(const pg_hw_layer *l);

/* Multiply-accumulates of one layer: B*K*(C/groups)*OY*OX*FY*FX for CONV,
 * DEPTHWISE, POINTWISE and FC; 0 for POOL and ADD (convention: only MACs of
 * layers with weights are counted; see pg_hw_layer_ops for the others). */
int64_t pg_hw_layer_macs(const pg_hw_layer *l);
/* Elementary operations of weightless layers: POOL B*K*OY*OX*FY*FX
 * additions, ADD B*K*OY*OX; 0 for layers with weights. */
int64_t pg_hw_layer_ops(const pg_hw_layer *l);
/* Trainable parameters: weights K*(C/groups)*FY*FX, plus K if bias, plus 2K
 * if bn (affine BatchNorm scale and shift; running statistics are buffers).
 * bn also counts on weightless layers: NAS-Bench-201's final BN before the
 * global pool is recorded on the pool layer. */
int64_t pg_hw_layer_params(const pg_hw_layer *l);
/* Words of the three operands of one batch element: input C*IY*IX,
 * weights K*(C/groups)*FY*FX (0 for POOL/ADD), output K*OY*OX. */
int64_t pg_hw_layer_input_words(const pg_hw_layer *l);
int64_t pg_hw_layer_weight_words(const pg_hw_layer *l);
int64_t pg_hw_layer_output_words(const pg_hw_layer *l);

/* "conv", "depthwise", "pointwise", "fc", "pool", "add"; NULL if invalid. */
const char *pg_hw_kind_name(pg_hw_kind k);
/* Inverse of pg_hw_kind_name (also accepts "gemm" for fc). */
pg_status pg_hw_kind_parse(const char *name, pg_hw_kind *k);

/* ---- networks ---- */

/* An empty network named `name` (may be NULL). */
pg_status pg_hw_network_init(pg_hw_network *net, const char *name);
/* Release the layers; the struct may be re-initialised. NULL is a no-op. */
void pg_hw_network_free(pg_hw_network *net);
/* Append a copy of *l after pg_hw_layer_check; producers must refer to
 * earlier layers (or PG_HW_INPUT / PG_HW_ZERO). The new index is stored in
 * *index when index != NULL. */
pg_status pg_hw_network_append(pg_hw_network *net, const pg_hw_layer *l, int *index);
/* Sums over layers of pg_hw_layer_macs / _ops / _params. */
int64_t pg_hw_network_macs(const pg_hw_network *net);
int64_t pg_hw_network_ops(const pg_hw_network *net);
int64_t pg_hw_network_params(const pg_hw_network *net);

/* ---- builders: each initialises *net (freeing nothing: pass a fresh
 * struct); on failure *net is left empty and freed. ---- */

/* NATS-Bench size space: "C1:C2:C3:C4:C5" (each 1..4096; the benchmark uses
 * multiples of 8 up to 64), input side `input` (32 CIFAR, 16 ImageNet16),
 * `classes` outputs. Stem, cell(C1->C1), basic block C1->C2 (stride 2),
 * cell(C2->C3), basic block C3->C4, cell(C4->C5), GAP, linear. */
pg_status pg_hw_net_nats_sss(pg_hw_network *net, const char *channels, int64_t input,
                             int64_t classes);
/* NAS-Bench-201 TinyNetwork: cell from the arch string
 * "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" (ops none, skip_connect,
 * nor_conv_1x1, nor_conv_3x3, avg_pool_3x3), width C (16), N cells per stage
 * (5), input side (32 or 16), classes. PG_EFORMAT on a malformed string. */
pg_status pg_hw_net_nb201(pg_hw_network *net, const char *arch, int64_t C, int64_t N,
                          int64_t input, int64_t classes);
/* torchvision ResNet-18 / ResNet-50 (v1.5: stride on the 3x3 conv). */
pg_status pg_hw_net_resnet18(pg_hw_network *net, int64_t input, int64_t classes);
pg_status pg_hw_net_resnet50(pg_hw_network *net, int64_t input, int64_t classes);
/* torchvision MobileNetV2 (width multiplier 1.0). */
pg_status pg_hw_net_mobilenetv2(pg_hw_network *net, int64_t input, int64_t classes);

/* ShuffleNetV2 / SPOS supernet (HSCoNAS search space, research note
 * hsconas.md part B): 20 choice layers in stages of 4, 4, 8, 4. */
#define PG_HW_SHUFFLE_LAYERS 20
enum { PG_HW_SHUFFLE_3X3 = 0, PG_HW_SHUFFLE_5X5, PG_HW_SHUFFLE_7X7, PG_HW_SHUFFLE_XCEPTION,
       PG_HW_SHUFFLE_SKIP };
typedef struct pg_hw_shufflenet_cfg {
  int64_t channels[4];                 /* stage output channels (the layout) */
  int64_t stem;                        /* stem output channels (16) */
  int64_t last;                        /* conv_last output channels (1280; SPOS 1024) */
  int64_t classes, input;              /* 1000, 224 */
  int ops[PG_HW_SHUFFLE_LAYERS];       /* PG_HW_SHUFFLE_* per layer; skip only at stride 1 */
  double factors[PG_HW_SHUFFLE_LAYERS];/* mid = round_half_up(factor * Cout / 2), factor > 0 */
  int se;                              /* ShuffleNetV2+ extras: SE in stages 3-4, last SE, FC */
} pg_hw_shufflenet_cfg;
/* Presets: "spos" [64,160,320,640] last 1024; "A" / "medium" [48,128,256,512]
 * and "B" / "large" [68,168,336,672] with last 1280 (HSCoNet-A/B layouts, no
 * SE); "small" [36,104,208,416]; "v2plus_large", "v2plus_medium",
 * "v2plus_small": the published ShuffleNetV2+ models (their architecture and
 * SE). All factors 1.0, all ops 3x3 unless the preset fixes them. */
pg_status pg_hw_shufflenet_preset(pg_hw_shufflenet_cfg *cfg, const char *name);
pg_status pg_hw_net_shufflenet(pg_hw_network *net, const pg_hw_shufflenet_cfg *cfg);

/* Scale-Sim topology CSV (conv format, or GEMM "name, M, N, K," when gemm):
 * the simulator's parsing rules (first line is a header, blank lines skipped,
 * the last comma-separated field of every row dropped, names containing "DP"
 * expanded into one single-channel layer per channel, stride width = stride
 * height when absent, output size ceil((H - F + S) / S)). Layers are
 * PG_HW_CONV with no padding; `name` is set from the file name. PG_EIO if the
 * file cannot be read, PG_EFORMAT on a malformed row. */
pg_status pg_hw_net_scalesim_topology(pg_hw_network *net, const char *path, int gemm);

#endif
