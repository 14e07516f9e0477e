/*
 * sweep.c -- parallel (hardware, network) cost-model sweeps. See sweep.h.
 */
#include "sweep.h"

#include <string.h>

#include "linalg.h"
#include "parallel.h"

pg_status pg_hw_systolic_sweep(const pg_hw_systolic_cfg *cfgs, size_t ncfg,
                               const pg_hw_network *const *nets, size_t nnet,
                               pg_hw_systolic_total *out, pg_status *status) {
  size_t np;
  if (pg_size_mul(ncfg, nnet, &np) != PG_OK) return PG_ERANGE;
  if (np == 0) return PG_OK;
  if (!cfgs || !nets || !out) return PG_EINVAL;
  for (size_t j = 0; j < nnet; j++)
    if (!nets[j]) return PG_EINVAL;
  /* One pair per iteration; dynamic scheduling balances networks of very
   * different depths. Each out[p] is written by one thread only; the first
   * failure in pair order is kept (independent of the schedule). */
  int nt = pg_par_threads(np);
  int saved = pg_par_enter(nt);
  size_t first_bad = np;
  pg_status first_st = PG_OK;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 4)
  for (size_t p = 0; p < np; p++) {
    size_t i = p / nnet, j = p % nnet;
    pg_status s = pg_hw_systolic_network(&cfgs[i], nets[j], NULL, &out[p]);
    if (s != PG_OK) {
      memset(&out[p], 0, sizeof out[p]);
#pragma omp critical(pg_hw_sweep_status)
      if (p < first_bad) {
        first_bad = p;
        first_st = s;
      }
    }
    if (status) status[p] = s;
  }
  pg_par_leave(saved);
  return status ? PG_OK : first_st;
}

pg_status pg_hw_df_sweep(const pg_df_accel *const *accels, size_t nacc,
                         const pg_hw_network *const *nets, size_t nnet, const pg_df_options *opt,
                         pg_df_cost *out, pg_status *status) {
  size_t np;
  if (pg_size_mul(nacc, nnet, &np) != PG_OK) return PG_ERANGE;
  if (np == 0) return PG_OK;
  if (!accels || !nets || !out) return PG_EINVAL;
  for (size_t i = 0; i < nacc; i++)
    if (!accels[i]) return PG_EINVAL;
  for (size_t j = 0; j < nnet; j++)
    if (!nets[j]) return PG_EINVAL;
  pg_df_options def;
  if (!opt) {
    pg_df_options_default(&def);
    opt = &def;
  }
  int nt = pg_par_threads(np);
  int saved = pg_par_enter(nt);
  size_t first_bad = np;
  pg_status first_st = PG_OK;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
  for (size_t p = 0; p < np; p++) {
    pg_status s = pg_df_evaluate(accels[p / nnet], nets[p % nnet], opt, &out[p], NULL);
    if (s != PG_OK) {
      memset(&out[p], 0, sizeof out[p]);
#pragma omp critical(pg_hw_df_sweep_status)
      if (p < first_bad) {
        first_bad = p;
        first_st = s;
      }
    }
    if (status) status[p] = s;
  }
  pg_par_leave(saved);
  return status ? PG_OK : first_st;
}
