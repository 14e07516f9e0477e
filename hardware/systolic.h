/*
 * systolic.h -- an R x C systolic array as Scale-Sim v2 models it.
 *
 * Reference: A. Samajdar et al., "A Systematic Methodology for Characterizing
 * Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020; public code
 * scalesim-project/scale-sim-v2 (compute/systolic_compute_{os,ws,is}.py,
 * compute/operand_matrix.py, memory/read_buffer_estimate_bw.py,
 * memory/write_buffer.py, memory/double_buffered_scratchpad_mem.py,
 * single_layer_sim.py), summarised in research/hardware_models.md section 9.
 *
 * A layer is lowered to a GEMM: M = B*OY*OX output pixels, K = FY*FX*C/groups
 * window elements, N = K/groups filters (one GEMM per group, evaluated once and
 * counted `groups` times, like Scale-Sim's per-channel expansion of "DP"
 * layers). Pooling and addition layers are not mapped (Scale-Sim has no such
 * layers): their results are zero and flagged `mapped = 0`.
 *
 * Two modes:
 * - PG_HW_SYS_ANALYTICAL: closed forms for every compute-report value and SRAM
 *   count (exact), DRAM reads exact when an operand's footprint fits the
 *   read buffer's window (no flush), otherwise estimated (see systolic.c).
 * - PG_HW_SYS_EXACT: additionally walks the demand matrices in the
 *   simulator's order through an emulation of its CALC-mode read buffers and
 *   its double-buffered ofmap write buffer, reproducing DRAM counts, DRAM
 *   start/stop cycles and write stalls.
 * A positive `bandwidth` (words/cycle) adds stall cycles from an analytical
 * model of ours (Scale-Sim's USER mode is not emulated; see docs/hardware.md).
 */
#ifndef PG_HW_SYSTOLIC_H
#define PG_HW_SYSTOLIC_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "workload.h"

typedef enum pg_hw_dataflow { PG_HW_OS = 0, PG_HW_WS, PG_HW_IS, PG_HW_DATAFLOW_COUNT } pg_hw_dataflow;
typedef enum pg_hw_sys_mode { PG_HW_SYS_ANALYTICAL = 0, PG_HW_SYS_EXACT } pg_hw_sys_mode;

typedef struct pg_hw_systolic_cfg {
  int64_t rows, cols;            /* ArrayHeight R, ArrayWidth C */
  pg_hw_dataflow dataflow;       /* os, ws, is */
  double ifmap_sram_kb;          /* SRAM sizes in kB (1024 bytes) */
  double filter_sram_kb;
  double ofmap_sram_kb;
  int word_bytes;                /* bytes per word (Scale-Sim: 1) */
  double bandwidth;              /* DRAM words/cycle; 0 = CALC mode (no stalls) */
  pg_hw_sys_mode mode;
  double clock_hz;               /* for latency in seconds (default 1 GHz) */
  double e_mac_pj;               /* energy per MAC */
  double e_sram_pj_per_byte;     /* energy per SRAM byte read or written */
  double e_dram_pj_per_byte;     /* energy per DRAM byte read or written */
} pg_hw_systolic_cfg;

/* Defaults: 32 x 32, ws, 64 kB each, 1-byte words, CALC, analytical, 1 GHz,
 * energies from Horowitz, ISSCC 2014 (45 nm): 8-bit MAC 0.23 pJ (0.2 pJ
 * multiply + 0.03 pJ add), SRAM 2.5 pJ/byte (32 kB array, 20 pJ per 64-bit
 * access), DRAM 250 pJ/byte (2 nJ per 64-bit access, within 1.3-2.6 nJ). */
void pg_hw_systolic_default(pg_hw_systolic_cfg *cfg);
/* PG_OK, or PG_EINVAL when a field is out of range (rows, cols 1..65536;
 * each SRAM at least 100 words and at most 2^40 bytes; word_bytes 1..16;
 * bandwidth >= 0; clock > 0; energies >= 0 and finite). */
pg_status pg_hw_systolic_check(const pg_hw_systolic_cfg *cfg);

/* "os"/"ws"/"is" <-> enum; parse returns PG_EINVAL on other names. */
const char *pg_hw_dataflow_name(pg_hw_dataflow df);
pg_status pg_hw_dataflow_parse(const char *name, pg_hw_dataflow *df);

/* Per-layer figures. Cycle counts and access counts are totals over the
 * layer's `instances` GEMMs (groups); the percentages, start/stop cycles and
 * bandwidths are those of one instance, as Scale-Sim reports each of its
 * identical per-channel layers. Counts are in words. */
typedef struct pg_hw_systolic_result {
  int mapped;                      /* 0 for POOL / ADD layers */
  int64_t instances;               /* GEMMs evaluated (groups) */
  int64_t M, N, K;                 /* GEMM of one instance */
  int64_t Sr, Sc, T;               /* spatial rows, columns, temporal extent */
  int64_t fold_r, fold_c;          /* folds of one instance */
  int64_t macs;                    /* M*N*K*instances */
  int64_t total_cycles;            /* Scale-Sim "Total Cycles" of one instance times instances
                                      (plus bandwidth stalls) */
  int64_t stall_cycles;
  double overall_util;             /* % */
  double mapping_eff;              /* % */
  double compute_util;             /* % */
  int64_t sram_ifmap_reads, sram_filter_reads, sram_ofmap_writes;
  int64_t dram_ifmap_reads, dram_filter_reads, dram_ofmap_writes;
  int dram_exact;                  /* 1 when the DRAM counts are the simulator's */
  /* one instance, as in DETAILED_ACCESS_REPORT (cycles may be negative) */
  int64_t sram_ifmap_start, sram_ifmap_stop, sram_filter_start, sram_filter_stop;
  int64_t sram_ofmap_start, sram_ofmap_stop;
  int64_t dram_ifmap_start, dram_ifmap_stop, dram_filter_start, dram_filter_stop;
  int64_t dram_ofmap_start, dram_ofmap_stop;
  /* BANDWIDTH_REPORT (words/cycle, one instance) */
  double bw_sram_ifmap, bw_sram_filter, bw_sram_ofmap;
  double bw_dram_ifmap, bw_dram_filter, bw_dram_ofmap;
  /* derived */
  double energy_pj;                /* MAC + SRAM + DRAM energy */
  double latency_s;                /* total_cycles / clock */
} pg_hw_systolic_result;

typedef struct pg_hw_systolic_total {
  int64_t layers_mapped;
  int64_t macs, total_cycles, stall_cycles;
  int64_t sram_ifmap_reads, sram_filter_reads, sram_ofmap_writes;
  int64_t dram_ifmap_reads, dram_filter_reads, dram_ofmap_writes;
  double overall_util;             /* % = 100 * macs / (total_cycles * R * C) */
  double energy_pj, energy_mac_pj, energy_sram_pj, energy_dram_pj;
  double latency_s;
  double edp_js;                   /* energy [J] * latency [s] */
} pg_hw_systolic_total;

/* Evaluate one layer. PG_EINVAL on a bad configuration or layer, PG_ENOMEM
 * when the exact-mode scratch cannot be allocated, PG_ERANGE when a count
 * would overflow 63 bits. */
pg_status pg_hw_systolic_layer(const pg_hw_systolic_cfg *cfg, const pg_hw_layer *layer,
                               pg_hw_systolic_result *out);

/* Evaluate every layer of net; per_layer (may be NULL) receives net->n
 * results; total (may be NULL) the network totals. */
pg_status pg_hw_systolic_network(const pg_hw_systolic_cfg *cfg, const pg_hw_network *net,
                                 pg_hw_systolic_result *per_layer, pg_hw_systolic_total *total);

/* The Scale-Sim view of a layer: ifmap H x W, filter Fh x Fw, channels and
 * filters of one instance, strides. H = IY when the layer has no padding and
 * Scale-Sim's ceil((H - F + S) / S) gives OY, else H = (OY - 1) * SY + FY
 * (the rows the windows touch), so that the output size is the layer's. */
void pg_hw_systolic_geometry(const pg_hw_layer *l, int64_t *H, int64_t *W, int64_t *Fh,
                             int64_t *Fw, int64_t *ch, int64_t *nf, int64_t *sh, int64_t *sw);

#endif
