/* bench_dataflow.c -- evaluations per second of the DeFiNES-style dataflow
 * model (hardware/dataflow.c), one core: NATS-Bench size-space networks
 * (CIFAR 32x32, and one at 224x224 as Coflex feeds DeFiNES) and ResNet-18 (224x224), depth-first fully cached with 8x8
 * tiles and layer by layer, on the Meta-prototype-DF template and on
 * Coflex's six-parameter template. A DeFiNES query takes 2-200 s
 * (research/hardware_models.md section 8), Coflex reports ~200 s.
 *
 *   build/bench/bench_dataflow [CPU seconds per row, default 0.5]
 *
 * Times are thread CPU time (the machine is shared); us/eval is the mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dataflow.h"
#include "workload.h"

/* CPU time of this thread: the machine is shared, and wall time counts the
 * time other processes hold the core */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Time evaluations for about `budget` seconds; returns microseconds each. */
static double time_eval(const pg_df_accel *a, const pg_hw_network *net, const pg_df_options *o,
                        double budget, double *energy, double *cycles) {
  pg_df_cost t;
  *energy = *cycles = 0;
  if (pg_df_evaluate(a, net, o, &t, NULL) != PG_OK) return -1;
  *energy = t.energy;
  *cycles = t.cycles;
  long n = 0, batch = 1;
  double t0 = now(), el = 0;
  while (el < budget) {
    for (long i = 0; i < batch; i++) pg_df_evaluate(a, net, o, &t, NULL);
    n += batch;
    batch *= 2;
    el = now() - t0;
  }
  return el / (double)n * 1e6;
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.5;
  if (!(budget > 0)) budget = 0.5;
  pg_df_accel meta, cof;
  pg_df_meta_prototype_df(&meta);
  pg_df_coflex_params cp = {32, 16, 64, 64, 64, 64, 0};
  if (pg_df_coflex_accel(&cof, &cp) != PG_OK) return 1;
  const char *nats[] = {"8:8:8:8:8", "64:64:64:64:64", "24:40:64:16:48"};
  pg_hw_network nets[5];
  const char *names[5];
  int nn = 0;
  for (int i = 0; i < 3; i++) {
    if (pg_hw_net_nats_sss(&nets[nn], nats[i], 32, 100) != PG_OK) return 1;
    names[nn++] = nats[i];
  }
  /* Coflex's workloads come from a 224 x 224 forward pass */
  if (pg_hw_net_nats_sss(&nets[nn], "64:64:64:64:64", 224, 100) != PG_OK) return 1;
  names[nn++] = "64x5 @224";
  if (pg_hw_net_resnet18(&nets[nn], 224, 1000) != PG_OK) return 1;
  names[nn++] = "resnet18-224";
  printf("%-16s %-7s %-22s %-14s %10s %12s %12s %12s\n", "network", "layers", "schedule",
         "accelerator", "us/eval", "evals/s", "energy pJ", "cycles");
  const struct {
    const char *label;
    pg_df_schedule s;
  } scheds[2] = {{"depth_first 8x8 mode3", PG_DF_DEPTH_FIRST}, {"layer_by_layer", PG_DF_LAYER_BY_LAYER}};
  for (int k = 0; k < nn; k++)
    for (int s = 0; s < 2; s++)
      for (int acc = 0; acc < 2; acc++) {
        pg_df_options o;
        pg_df_options_default(&o);
        o.schedule = scheds[s].s;
        double e, c;
        double us = time_eval(acc ? &cof : &meta, &nets[k], &o, budget, &e, &c);
        printf("%-16s %-7zu %-22s %-14s %10.2f %12.0f %12.4g %12.4g\n", names[k], nets[k].n,
               scheds[s].label, acc ? "coflex 32x16" : "meta_proto_df", us, 1e6 / us, e, c);
      }
  for (int k = 0; k < nn; k++) pg_hw_network_free(&nets[k]);
  return 0;
}
