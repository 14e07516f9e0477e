/*
 * nasnet.h -- NAS-Bench-201 / NATS-Bench networks as engine/netgraph graphs.
 *
 * Sources: Dong and Yang, "NAS-Bench-201", ICLR 2020; Dong et al.,
 * "NATS-Bench", TPAMI 2021; their code D-X-Y/AutoDL-Projects (xautodl:
 * models/cell_infers/tiny_network.py, cells.py, cell_operations.py,
 * shape_infers/ for the size space). The layer lists are spelled out in
 * docs/proxies.md.
 *
 * Topology space: a 4-node cell DAG, node i = sum over j < i of op_ji(node j),
 * 6 edges with ops from {none, skip_connect, nor_conv_1x1, nor_conv_3x3,
 * avg_pool_3x3}; ReLU -> conv -> BN op order; stem conv 3x3 + BN; stages of N
 * cells at C, 2C, 4C channels separated by residual basic blocks of stride 2;
 * head BN -> ReLU -> global average pool -> linear.
 * Size space: the same macro structure with one cell per stage, a fixed cell
 * and channel counts "C1:C2:C3:C4:C5".
 *
 * Note: hardware/workload.c builds cost-model layer lists for the same
 * networks; merging the two descriptions is pending (docs/proxies.md).
 */
#ifndef PG_NASNET_H
#define PG_NASNET_H

#include <stddef.h>

#include "netgraph.h"
#include "status.h"

/* Operation codes in NAS-Bench-201's own list order. */
typedef enum pg_nb201_op {
  PG_NB201_NONE = 0,
  PG_NB201_SKIP,
  PG_NB201_CONV1X1,
  PG_NB201_CONV3X3,
  PG_NB201_AVGPOOL,
  PG_NB201_NOPS
} pg_nb201_op;

/* Edge order everywhere: (0->1), (0->2), (1->2), (0->3), (1->3), (2->3). */
#define PG_NB201_EDGES 6

/* Name of an op ("none", "skip_connect", ...); NULL when out of range. */
const char *pg_nb201_opname(int op);

/* Parse "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" into ops[6]. Strict: every
 * source index must be the expected one. PG_EFORMAT on anything else. */
pg_status pg_nb201_parse(const char *arch, int ops[PG_NB201_EDGES]);
/* Write the canonical string of ops into buf (at least 160 bytes). */
pg_status pg_nb201_format(const int ops[PG_NB201_EDGES], char *buf, size_t len);
/* Mixed-radix index ops[0] + 5 ops[1] + ... (perigee's own order, NOT the
 * benchmark's arch_index) and its inverse. */
int pg_nb201_code(const int ops[PG_NB201_EDGES]);
void pg_nb201_decode(int code, int ops[PG_NB201_EDGES]);
/* 1 when a path of non-`none` edges joins node 0 to node 3. */
int pg_nb201_connected(const int ops[PG_NB201_EDGES]);

/* Macro settings. Defaults (pg_nasnet_defaults): C = 16, N = 5, side = 32
 * (CIFAR; 16 for ImageNet16-120), classes = 10. */
typedef struct pg_nasnet_cfg {
  size_t C, N, side, classes;
} pg_nasnet_cfg;

pg_nasnet_cfg pg_nasnet_defaults(void);

/* Build the topology-space network of ops into *net (initialised here,
 * finalised, parameters NOT initialised: call pg_net_init_params). */
pg_status pg_nb201_build(pg_net *net, const int ops[PG_NB201_EDGES], const pg_nasnet_cfg *cfg);

/* NATS size space: parse "C1:C2:C3:C4:C5", each in {8, 16, ..., 64}. */
#define PG_NATS_SSS_LAYERS 5
pg_status pg_nats_sss_parse(const char *s, int ch[PG_NATS_SSS_LAYERS]);
/* Mixed-radix index over the 8 channel choices, C1 most significant
 * (perigee's own order) and its inverse. */
int pg_nats_sss_code(const int ch[PG_NATS_SSS_LAYERS]);
void pg_nats_sss_decode(int code, int ch[PG_NATS_SSS_LAYERS]);

/* Build the size-space network (cfg->C and cfg->N are ignored). */
pg_status pg_nats_sss_build(pg_net *net, const int ch[PG_NATS_SSS_LAYERS],
                            const pg_nasnet_cfg *cfg);

/* The fixed cell of the size space. */
extern const int pg_nats_sss_cell[PG_NB201_EDGES];

#endif
