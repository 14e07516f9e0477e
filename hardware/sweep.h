/*
 * sweep.h -- cost-model sweeps over many (hardware, network) pairs, in
 * parallel (OpenMP, see engine/parallel.h).
 *
 * A design-space exploration evaluates thousands of (accelerator, network)
 * pairs; each pair is independent, so the sweep hands pairs to threads. Each
 * pair is computed exactly as pg_hw_systolic_network computes it, so the
 * totals are bit-identical to the serial loop, whatever the thread count.
 */
#ifndef PG_HW_SWEEP_H
#define PG_HW_SWEEP_H

#include <stddef.h>

#include "dataflow.h"
#include "status.h"
#include "systolic.h"
#include "workload.h"

/* Evaluate every pair (cfgs[i], nets[j]), i < ncfg, j < nnet, into
 * out[i * nnet + j] (the caller owns out, ncfg * nnet entries). status
 * (may be NULL) receives each pair's pg_status; a failing pair leaves its
 * total zeroed and does not stop the sweep. Returns PG_OK, PG_EINVAL on NULL
 * arrays with non-zero counts, PG_ERANGE when ncfg * nnet overflows, or the
 * first failing pair's status (in pair order) when status is NULL. */
pg_status pg_hw_systolic_sweep(const pg_hw_systolic_cfg *cfgs, size_t ncfg,
                               const pg_hw_network *const *nets, size_t nnet,
                               pg_hw_systolic_total *out, pg_status *status);

/* The same over the dataflow model: out[i * nnet + j] = network totals of
 * pg_df_evaluate(accels[i], nets[j], opt) (opt NULL: defaults). Statuses as
 * pg_hw_systolic_sweep. */
pg_status pg_hw_df_sweep(const pg_df_accel *const *accels, size_t nacc,
                         const pg_hw_network *const *nets, size_t nnet, const pg_df_options *opt,
                         pg_df_cost *out, pg_status *status);

#endif
