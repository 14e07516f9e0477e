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
} pg_hw_layer;

typedef struct pg_hw_network {
  char name[64];
  size_t n, cap;
  pg_hw_layer *layers;
} pg_hw_network;

#endif
