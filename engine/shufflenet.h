/*
 * shufflenet.h -- the HSCoNAS / SPOS ShuffleNetV2 search-space networks as
 * engine/netgraph graphs, for the training-free proxies (engine/proxy.h).
 *
 * The architecture description is hardware/workload.h's pg_hw_shufflenet_cfg,
 * the same one pg_hw_net_shufflenet turns into the layer list that the
 * latency models cost (docs/hsconas.md, research/hsconas.md part B): one
 * description drives both. Every conv and linear layer of that list appears
 * here with the same shape (tested: equal MACs), plus what moves no MACs
 * and what the cost model leaves out: batch norm, ReLU, channel split,
 * concatenation and channel shuffle.
 *
 * Blocks follow megvii-model/SinglePathOneShot (network.py, blocks.py):
 * - stem: conv 3x3 stride 2 (3 -> stem) + BN + ReLU;
 * - ShuffleV2 k x k (k = 3, 5, 7), main branch: pw 1x1 (inp -> mid) + BN +
 *   ReLU, dw k x k stride s + BN, pw 1x1 (mid -> out - inp) + BN + ReLU;
 * - ShuffleXception, main branch: dw 3x3 stride s + BN, pw (inp -> mid) + BN +
 *   ReLU, dw 3x3 + BN, pw (mid -> mid) + BN + ReLU, dw 3x3 + BN,
 *   pw (mid -> out - inp) + BN + ReLU;
 * - stride 1 (inp = out/2): channel shuffle with out/2 groups, the first half
 *   (the even input channels) passes unchanged, the second half (the odd
 *   ones) enters the main branch; output = concat(passed half, main);
 * - stride 2 (inp = the block's input channels): projection branch dw k x k
 *   stride 2 + BN, pw (inp -> inp) + BN + ReLU (k = 3 for Xception);
 *   output = concat(projection, main);
 * - skip (stride-1 layers only): the identity, no node;
 * - head: conv 1x1 (-> last) + BN + ReLU, global average pool, linear
 *   (-> classes, no bias).
 * mid = round_half_up(factor * out / 2), at least 1; convolutions have no bias.
 */
#ifndef PG_SHUFFLENET_H
#define PG_SHUFFLENET_H

#include "../hardware/workload.h"
#include "netgraph.h"
#include "proxy.h"
#include "status.h"

/* Build the network of cfg into *net (initialised here, finalised,
 * parameters NOT initialised: call pg_net_init_params). cfg->input is the
 * input side (8..1024; the latency model uses 224, the proxies a reduced
 * side), cfg->se must be 0 (the HSCoNAS networks have no SE). PG_EINVAL on
 * a bad configuration (skip at a stride-2 layer, odd or non-positive
 * widths, factor outside (0, 16]). */
pg_status pg_shufflenet_build(pg_net *net, const pg_hw_shufflenet_cfg *cfg);

/* Proxies of n networks (engine/proxy.h pg_proxy_scores with `which` and
 * `repeats`): network i is built from cfgs[i], its parameters drawn from
 * pg_rng(seed) (the same stream for every network, so a score depends on
 * the architecture only), NASWOT on the batch x (NULL when NASWOT is not
 * selected; x->h = x->w = cfgs[i].input), convolutions of NASWOT in single
 * precision when single != 0. The networks are independent: OpenMP threads
 * (engine/parallel.h, one network per thread, single-threaded BLAS) share
 * them, with results identical to one thread. out[i] receives the scores,
 * macs[i] / params[i] (either may be NULL) the MACs per sample and the
 * parameter count. The first failing network's status is returned. */
pg_status pg_shufflenet_scores(size_t n, const pg_hw_shufflenet_cfg *cfgs, const pg_tensor *x,
                               unsigned which, int repeats, uint64_t seed, int single,
                               pg_proxy_result *out, double *macs, double *params);

#endif
