/*
 * bench_pareto.c -- timings of the Pareto toolkit on random non-dominated
 * fronts (points on the positive unit sphere and on the simplex), reference
 * point all ones: the table of issue 4 (HV for d = 2..6, ranking all fronts
 * for d = 2, 3, 5 at n = 1e5, IGD of 1e4 points against a 1e4-point front).
 *
 *   bench_pareto [task ...]   tasks: hv2 hv3 hv4 hv5a hv5b hv6 rank2 rank3 rank5 igd
 *                             (default: all); env PG_BENCH_QUICK=1 shrinks n.
 * Prints one line per task and shape: task, d, n, front kind, seconds, value.
 * The Python peer (bench/pareto_peer.py) runs DEAP on the same generators.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv.h"
#include "indicators.h"
#include "pareto.h"
#include "rng.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* n points on the positive unit sphere (kind 0) or the unit simplex (1). */
static double *front(size_t n, size_t d, int kind, uint64_t seed) {
  pg_rng g;
  pg_rng_seed(&g, seed);
  double *Y = malloc(n * d * sizeof *Y);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < d; j++) {
      double v = kind == 0 ? fabs(pg_rng_normal(&g)) : -log1p(-pg_rng_uniform(&g));
      Y[i * d + j] = v;
      s += kind == 0 ? v * v : v;
    }
    s = kind == 0 ? sqrt(s) : s;
    for (size_t j = 0; j < d; j++) Y[i * d + j] /= s;
  }
  return Y;
}

static const char *kinds[] = {"sphere", "simplex"};

static void bench_hv(size_t d, size_t n) {
  double ref[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  for (int k = 0; k < 2; k++) {
    double *Y = front(n, d, k, 42 + d);
    double v, best = INFINITY;
    int reps = n * d <= 20000 ? 3 : 1;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      pg_hv(Y, n, d, ref, &v);
      double t = now() - t0;
      best = t < best ? t : best;
    }
    printf("hv      d=%zu n=%-7zu %-8s %10.4f s  value %.10g\n", d, n, kinds[k], best, v);
    fflush(stdout);
    free(Y);
  }
}

static void bench_rank(size_t d, size_t n) {
  for (int k = 0; k < 2; k++) {
    double *Y = front(n, d, k, 7 + d);
    int *rank = malloc(n * sizeof *rank), nf;
    double t0 = now();
    pg_pareto_rank(Y, n, d, rank, &nf);
    double t = now() - t0;
    printf("rank    d=%zu n=%-7zu %-8s %10.4f s  fronts %d\n", d, n, kinds[k], t, nf);
    fflush(stdout);
    free(rank);
    free(Y);
  }
}

static void bench_igd(size_t d, size_t n) {
  double *Y = front(n, d, 0, 1), *R = front(n, d, 0, 2), v;
  double t0 = now();
  pg_igd(Y, n, R, n, d, &v);
  double t = now() - t0;
  printf("igd     d=%zu n=%-7zu %-8s %10.4f s  value %.10g\n", d, n, "sphere", t, v);
  free(Y);
  free(R);
}

int main(int argc, char **argv) {
  int quick = getenv("PG_BENCH_QUICK") != NULL;
  size_t big = quick ? 10000 : 100000;
  const char *all[] = {"hv2", "hv3", "hv4", "hv5a", "hv5b", "hv6", "rank2", "rank3", "rank5", "igd"};
  int nt = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof *all);
  for (int i = 0; i < nt; i++) {
    const char *t = argc > 1 ? argv[i + 1] : all[i];
    if (!strcmp(t, "hv2")) bench_hv(2, big);
    else if (!strcmp(t, "hv3")) bench_hv(3, big);
    else if (!strcmp(t, "hv4")) bench_hv(4, quick ? 2000 : 10000);
    else if (!strcmp(t, "hv5a")) bench_hv(5, quick ? 300 : 1000);
    else if (!strcmp(t, "hv5b")) bench_hv(5, quick ? 1000 : 10000);
    else if (!strcmp(t, "hv6")) bench_hv(6, quick ? 300 : 1000);
    else if (!strcmp(t, "rank2")) bench_rank(2, big);
    else if (!strcmp(t, "rank3")) bench_rank(3, big);
    else if (!strcmp(t, "rank5")) bench_rank(5, quick ? 10000 : big);
    else if (!strcmp(t, "igd")) bench_igd(3, quick ? 2000 : 10000);
    else fprintf(stderr, "unknown task %s\n", t);
  }
  return 0;
}
