/*
 * bench_systolic.c -- evaluations per second of the Scale-Sim compatible
 * systolic model (hardware/systolic.c), analytical and exact mode, on a NATS
 * size-space network (64:64:64:64:64, 32 x 32 input) and ResNet-18 (224 x
 * 224), for the three dataflows.
 *
 * Scale-Sim v2 itself is not installed on this machine. The reference figures
 * printed at the end are QUOTED from research/hardware_models.md section 9
 * (measured by the research notes' author on a 2-core machine): ResNet-18 on a
 * (Timings are process CPU time: the machine is shared, wall time is noisy.)
 * 128 x 128 array takes 91 s (os), 191 s (ws), 226 s (is); about 4-5 s per
 * layer at the median.
 *
 *   cmake --build build --target bench_systolic && ./build/bench/bench_systolic
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "systolic.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* seconds per evaluation: repeat for at least `budget` seconds */
static double time_eval(const pg_hw_systolic_cfg *cfg, const pg_hw_network *net,
                        pg_hw_systolic_total *tot, double budget) {
  long reps = 0;
  double t0 = now(), t;
  do {
    if (pg_hw_systolic_network(cfg, net, NULL, tot)) {
      fprintf(stderr, "evaluation failed\n");
      exit(1);
    }
    reps++;
    t = now() - t0;
  } while (t < budget);
  return t / (double)reps;
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.3;
  pg_hw_network nats, r18;
  if (pg_hw_net_nats_sss(&nats, "64:64:64:64:64", 32, 10) || pg_hw_net_resnet18(&r18, 224, 1000)) {
    fprintf(stderr, "network build failed\n");
    return 1;
  }
  static const double quoted_s[3] = {91.0, 191.0, 226.0}; /* os, ws, is (quoted) */
  printf("%-26s %-3s %-10s %5s %14s %14s %14s\n", "network", "df", "mode", "array", "seconds/eval",
         "evals/second", "total cycles");
  for (int which = 0; which < 2; which++) {
    const pg_hw_network *net = which ? &r18 : &nats;
    int64_t dim = which ? 128 : 32;
    for (int df = 0; df < 3; df++)
      for (int mode = 0; mode < 2; mode++) {
        pg_hw_systolic_cfg cfg;
        pg_hw_systolic_default(&cfg);
        cfg.rows = cfg.cols = dim;
        cfg.dataflow = (pg_hw_dataflow)df;
        cfg.mode = mode ? PG_HW_SYS_EXACT : PG_HW_SYS_ANALYTICAL;
        pg_hw_systolic_total tot;
        double s = time_eval(&cfg, net, &tot, mode ? budget * 2 : budget);
        printf("%-26s %-3s %-10s %2lldx%-3lld %14.3e %14.1f %14lld", which ? "resnet18 (224)" : "nats 64:64:64:64:64 (32)",
               pg_hw_dataflow_name(cfg.dataflow), mode ? "exact" : "analytical", (long long)dim,
               (long long)dim, s, 1.0 / s, (long long)tot.total_cycles);
        if (which) printf("   %.0fx faster than the quoted Scale-Sim %.0f s", quoted_s[df] / s, quoted_s[df]);
        printf("\n");
      }
  }
  printf("\nSRAMs 64 kB each, 1-byte words, CALC bandwidth mode.\n"
         "Scale-Sim v2 reference (QUOTED, not measured here): ResNet-18 on 128x128 takes\n"
         "91 s (os), 191 s (ws), 226 s (is) on a 2-core machine (research/hardware_models.md s9).\n");
  pg_hw_network_free(&nats);
  pg_hw_network_free(&r18);
  return 0;
}
