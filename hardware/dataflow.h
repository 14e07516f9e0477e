/*
 * dataflow.h -- a DeFiNES-style analytical model of a DNN accelerator with a
 * memory hierarchy: spatial unrolling on a PE array, closed-form traffic per
 * memory level and operand for a fixed temporal mapping, layer-by-layer and
 * depth-first (tiled, fused) schedules, energy, latency and EDP.
 *
 * Sources:
 *   L. Mei, K. Goetschalckx, A. Symons, M. Verhelst, "DeFiNES: Enabling Fast
 *   Exploration of the Depth-first Scheduling Space for DNN Accelerators
 *   through Analytical Modeling", HPCA 2023; public code KULeuven-MICAS/DeFiNES
 *   (built on ZigZag). Coflex's six-parameter template: myh1998/Coflex,
 *   inputs/HW/Meta_prototype_DF.py. The formulas, their sources and our
 *   simplifications (no mapping search) are in docs/dataflow.md.
 *
 * Units: sizes and bandwidths in bits and bits/cycle, energies in pJ per word
 * access (a word is the level's read or write width), MAC energy in pJ.
 */
#ifndef PG_HW_DATAFLOW_H
#define PG_HW_DATAFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "workload.h"

#define PG_DF_MAX_LEVELS 10
#define PG_DF_MAX_DIMS 4

/* Operands (DeFiNES I1, I2, O). */
enum { PG_DF_I = 0, PG_DF_W = 1, PG_DF_O = 2, PG_DF_NOPER = 3 };
#define PG_DF_HOLDS_I (1u << PG_DF_I)
#define PG_DF_HOLDS_W (1u << PG_DF_W)
#define PG_DF_HOLDS_O (1u << PG_DF_O)

/* Loop dimensions of a layer. */
typedef enum pg_df_loop {
  PG_DF_B = 0, PG_DF_K, PG_DF_C, PG_DF_OY, PG_DF_OX, PG_DF_FY, PG_DF_FX, PG_DF_NLOOPS
} pg_df_loop;

/* Name of a loop ("B", "K", ...) and the reverse lookup (-1 if unknown). */
const char *pg_df_loop_name(int loop);
int pg_df_loop_from_name(const char *s);

/* One memory level. A level with size 0 is unbounded (DRAM). `served` is a
 * bit mask over the array dimensions one instance is shared across (all bits:
 * one instance for the whole array); the number of instances is the product
 * of the unrolling of the dimensions not served. */
typedef struct pg_df_level {
  char name[32];
  double size;           /* bits per instance; 0 = unbounded */
  double rbw, wbw;       /* read / write width, bits per cycle per instance */
  double e_rd, e_wr;     /* pJ per read / write of one full-width word */
  unsigned operands;     /* PG_DF_HOLDS_* mask */
  unsigned served;       /* mask over array dims */
} pg_df_level;

/* An accelerator: PE array, memory levels bottom-up (the last one must hold
 * every operand and be unbounded: DRAM), a fixed temporal loop order. */
typedef struct pg_df_accel {
  char name[48];
  int n_dims;
  int64_t dim_size[PG_DF_MAX_DIMS];   /* PEs along each array dimension */
  int dim_loop[PG_DF_MAX_DIMS];       /* loop unrolled on that dimension */
  int64_t dim_limit[PG_DF_MAX_DIMS];  /* cap on the unrolling (0 = none) */
  int dim_alt[PG_DF_MAX_DIMS];        /* alternative loop + 1 (0 = none): used for a
                                         layer when it unrolls more PEs than dim_loop */
  char dim_name[PG_DF_MAX_DIMS][8];
  int n_levels;
  pg_df_level levels[PG_DF_MAX_LEVELS];
  int order[PG_DF_NLOOPS];            /* temporal order, innermost first */
  double e_mac;                       /* pJ per MAC */
  double psum_bits;                   /* precision of partial sums (16) */
  double clock_hz;                    /* for EDP in seconds (2.2e9) */
} pg_df_accel;

typedef enum pg_df_schedule { PG_DF_LAYER_BY_LAYER = 0, PG_DF_DEPTH_FIRST = 1 } pg_df_schedule;

/* DeFiNES overlap modes 1, 2, 3. */
typedef enum pg_df_mode {
  PG_DF_FULLY_RECOMPUTE = 1,
  PG_DF_H_CACHED_V_RECOMPUTE = 2,
  PG_DF_FULLY_CACHED = 3
} pg_df_mode;

typedef struct pg_df_options {
  pg_df_schedule schedule;
  pg_df_mode mode;
  int64_t tile_x, tile_y; /* output tile of the last layer of each stack */
  int fuse;               /* 1: automatic fuse depth (default); 0: one stack per layer */
} pg_df_options;

/* Defaults: depth-first, fully cached, 8 x 8 tiles, automatic fusing. */
void pg_df_options_default(pg_df_options *o);

/* Cost of one layer or of a whole network. Bits are counted per memory
 * level and per operand (feature-map copies and caches are counted under
 * I where they are written into an input buffer or read from a cache, under
 * O where they are read out of an output buffer or written back to DRAM). */
typedef struct pg_df_cost {
  double macs;           /* MACs executed, recompute included */
  double energy;         /* pJ, total */
  double e_mac;          /* pJ in the MACs */
  double e_level[PG_DF_MAX_LEVELS][PG_DF_NOPER]; /* pJ per level and operand */
  double rd_bits[PG_DF_MAX_LEVELS][PG_DF_NOPER];
  double wr_bits[PG_DF_MAX_LEVELS][PG_DF_NOPER];
  double cycles;         /* total = compute + stall + load + copy */
  double cycles_compute; /* temporal cycles of the array */
  double cycles_stall;   /* bandwidth stalls beyond the compute cycles */
  double cycles_load;    /* initial fills */
  double cycles_copy;    /* feature-map, cache and weight copies */
  double cache_bits;     /* bits read back from the depth-first caches */
  double tiles;          /* tiles of this layer's stack (per layer) / sum (total) */
  int stack;             /* index of the fused stack (per layer), count (total) */
} pg_df_cost;

/* Check an accelerator description: dims, levels, order, energies. */
pg_status pg_df_validate(const pg_df_accel *a);

/* Evaluate `net` on `a`. `per_layer` (n = net->n entries) may be NULL.
 * Allocates scratch memory internally and frees it before returning.
 * PG_EINVAL for an invalid accelerator, network or option. */
pg_status pg_df_evaluate(const pg_df_accel *a, const pg_hw_network *net, const pg_df_options *opt,
                         pg_df_cost *total, pg_df_cost *per_layer);

/* Energy-delay product in uJ*s: E[pJ] * 1e-12 * cycles / clock_hz * 1e6.
 * With Coflex's 2.2 GHz: E[pJ] * cycles * 4.545e-16. */
double pg_df_edp(const pg_df_cost *c, double clock_hz);

/* Coflex's six hardware parameters (coflex.md section 2.2, named by role). */
typedef struct pg_df_coflex_params {
  int64_t pe_x, pe_y;       /* X1, X2: 1..64 */
  int64_t reg_input;        /* X3: input register, bits, 10..512 */
  int64_t reg_weight;       /* X4 (published as "O memory"): 10..512 */
  int64_t reg_output;       /* X5 (published as "W memory"): 10..512 */
  int64_t reg_bw;           /* X6: register width, bits/cycle, 10..512 */
  int coflex_mapping;       /* 0: K on X1, C on X2, every PE used; 1: Coflex's
                               K32 x C2 x OX4 x OY4 mapping, clipped */
} pg_df_coflex_params;

/* Parameter ranges (inclusive) of the six parameters, for search spaces. */
#define PG_DF_COFLEX_PE_MIN 1
#define PG_DF_COFLEX_PE_MAX 64
#define PG_DF_COFLEX_REG_MIN 10
#define PG_DF_COFLEX_REG_MAX 512

/* Build Coflex's modified Meta-prototype-DF accelerator. PG_EINVAL when a
 * parameter is outside its range. */
pg_status pg_df_coflex_accel(pg_df_accel *a, const pg_df_coflex_params *p);

/* The Meta-prototype-DF template of DeFiNES (the same values as
 * hardware/accelerators/meta_prototype_df.lua), for C callers. */
void pg_df_meta_prototype_df(pg_df_accel *a);

#endif
