/*
 * bench_proxies.c -- time per network of NASWOT, SynFlow/LogSynflow and
 * SkipScore on NAS-Bench-201 networks (CIFAR-10 shape: batch 64, 3 x 32 x 32),
 * and, with $PERIGEE_DATA, their rank correlations on a fixed random sample
 * of cells with the published FreeREA scores (nb201_proxies.csv.gz, `_fc`
 * columns) and with CIFAR-10 test accuracy (nb201_acc.csv.gz).
 *
 *   bench_proxies [NSAMPLE=500] [REPEATS=1] [fmnist|noise]
 *
 * Run with OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 (research/blas.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gzcsv.h"
#include "nasnet.h"
#include "proxy.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of this process: robust to other jobs sharing the cores (the
 * wall time is printed for the whole sample too). */
static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n) {
  double *c = malloc(n * sizeof *c);
  memcpy(c, v, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_double);
  double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
  free(c);
  return m;
}

/* Average ranks (ties share the mean rank). */
static void ranks(const double *v, size_t n, double *r) {
  size_t *idx = malloc(n * sizeof *idx);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
    for (size_t j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) {
      size_t t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
    for (size_t k = i; k <= j; k++) r[idx[k]] = 0.5 * (double)(i + j) + 1.0;
    i = j + 1;
  }
  free(idx);
}

static double pearson(const double *a, const double *b, size_t n) {
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; i++) ma += a[i] / n, mb += b[i] / n;
  for (size_t i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / sqrt(saa * sbb);
}

static double spearman(const double *a, const double *b, size_t n) {
  double *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb);
  ranks(a, n, ra);
  ranks(b, n, rb);
  double r = pearson(ra, rb, n);
  free(ra);
  free(rb);
  return r;
}

/* Kendall tau-b. */
static double kendall(const double *a, const double *b, size_t n) {
  double c = 0, d = 0, ta = 0, tb = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      double x = a[i] - a[j], y = b[i] - b[j];
      if (x == 0 && y == 0) continue;
      if (x == 0) ta++;
      else if (y == 0) tb++;
      else if ((x > 0) == (y > 0)) c++;
      else d++;
    }
  return (c - d) / sqrt((c + d + ta) * (c + d + tb));
}

/* Keep the pairs where both values pass `ok`; returns the count. */
static size_t pairs(const double *a, const double *b, const int *keep, size_t n, double *oa,
                    double *ob) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (keep[i] && isfinite(a[i]) && isfinite(b[i])) oa[m] = a[i], ob[m++] = b[i];
  return m;
}

typedef struct timing {
  double naswot, synflow, skip;
} timing;

static int score(const char *arch, const pg_tensor *x, int repeats, uint64_t seed,
                 pg_proxy_result *res, double *skip, timing *t) {
  int ops[6];
  pg_net net;
  pg_nasnet_cfg cfg = pg_nasnet_defaults();
  if (pg_nb201_parse(arch, ops) || pg_nb201_build(&net, ops, &cfg)) return -1;
  net.single = 1;
  pg_rng rng;
  pg_rng_seed(&rng, seed);
  pg_proxy_result a;
  double t0 = cpu();
  if (pg_proxy_scores(&net, x, PG_PROXY_NASWOT, repeats, &rng, &a)) return -1;
  double t1 = cpu();
  if (pg_proxy_scores(&net, NULL, PG_PROXY_SYNFLOW, repeats, &rng, res)) return -1;
  double t2 = cpu();
  *skip = pg_proxy_skipscore(ops);
  double t3 = cpu();
  res->naswot = a.naswot;
  t->naswot = t1 - t0;
  t->synflow = t2 - t1;
  t->skip = t3 - t2;
  pg_net_free(&net);
  return 0;
}

static double field(const pg_csv *t, size_t r, int c) {
  const char *s = pg_csv_cell(t, r, (size_t)c);
  return s && *s ? strtod(s, NULL) : NAN;
}

int main(int argc, char **argv) {
  size_t nsample = argc > 1 ? (size_t)atol(argv[1]) : 500;
  int repeats = argc > 2 ? atoi(argv[2]) : 1;
  int noise = argc > 3 && strcmp(argv[3], "noise") == 0;
  if (repeats < 1) repeats = 1;
  pg_rng rng;
  pg_tensor x;
  pg_rng_seed(&rng, 3);
  const char *input = noise ? "noise" : "fmnist";
  if (noise || pg_fmnist_batch(FMNIST, 64, 32, &rng, &x) != PG_OK) {
    if (!noise) printf("Fashion-MNIST not found at %s: noise inputs\n", FMNIST);
    input = "noise";
    pg_rng_seed(&rng, 3);
    pg_noise_batch(64, 32, &rng, &x);
  }
  printf("bench_proxies: batch 64 x 3 x 32 x 32 (%s), repeats %d, NASWOT convolutions in single "
         "precision, SynFlow in double\n\n",
         input, repeats);

  /* the largest cell network: all nor_conv_3x3 (index 1462) */
  const char *big = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
                    "nor_conv_3x3~1|nor_conv_3x3~2|";
  pg_proxy_result r;
  double skip;
  timing tb = {0}, tt;
  for (int rep = 0; rep < 3; rep++) { /* best of 3 */
    if (score(big, &x, 1, 1, &r, &skip, &tt)) return 1;
    if (rep == 0 || tt.naswot < tb.naswot) tb.naswot = tt.naswot;
    if (rep == 0 || tt.synflow < tb.synflow) tb.synflow = tt.synflow;
    if (rep == 0 || tt.skip < tb.skip) tb.skip = tt.skip;
  }
  printf("largest network (all nor_conv_3x3, 220.1 M MACs), best of 3, CPU time per repeat:\n");
  printf("  NASWOT %.3f s   SynFlow+LogSynflow %.3f s   SkipScore %.1e s   total %.3f s\n",
         tb.naswot, tb.synflow, tb.skip, tb.naswot + tb.synflow + tb.skip);
  printf("  values: NASWOT %.3f  LogSynflow %.6g  SynFlow %.6g\n\n", r.naswot, r.logsynflow,
         r.synflow);

  const char *data = getenv("PERIGEE_DATA");
  if (!data || !*data) {
    printf("PERIGEE_DATA unset: correlations skipped (set PERIGEE_DATA=/work/shared/data)\n");
    pg_tensor_free(&x);
    return 0;
  }
  char path[4096];
  pg_csv px, acc;
  snprintf(path, sizeof path, "%s/nb201_proxies.csv.gz", data);
  if (pg_csv_read(path, &px)) {
    printf("cannot read %s\n", path);
    return 1;
  }
  snprintf(path, sizeof path, "%s/nb201_acc.csv.gz", data);
  if (pg_csv_read(path, &acc) || acc.nrows != px.nrows) {
    printf("cannot read %s\n", path);
    return 1;
  }
  int c_arch = pg_csv_col(&px, "arch_str"), c_nw = pg_csv_col(&px, "c10_naswot_fc");
  int c_ls = pg_csv_col(&px, "c10_logsynflow_fc"), c_sk = pg_csv_col(&px, "c10_skip_fc");
  int c_acc = pg_csv_col(&acc, "cifar10_test");
  if (c_arch < 0 || c_nw < 0 || c_ls < 0 || c_sk < 0 || c_acc < 0) {
    printf("missing columns\n");
    return 1;
  }
  size_t N = px.nrows, *idx = malloc(N * sizeof *idx);
  for (size_t i = 0; i < N; i++) idx[i] = i;
  pg_rng_seed(&rng, 2026);
  pg_rng_shuffle(&rng, idx, N);
  if (nsample > N) nsample = N;
  double *mine = calloc(3 * nsample, sizeof *mine), *pub = calloc(3 * nsample, sizeof *pub);
  double *ac = calloc(nsample, sizeof *ac), *tn = calloc(nsample, sizeof *tn);
  double *ts = calloc(nsample, sizeof *ts), *tk = calloc(nsample, sizeof *tk);
  double *tt3 = calloc(nsample, sizeof *tt3);
  int *conn = calloc(nsample, sizeof *conn), *all = calloc(nsample, sizeof *all);
  double *a = calloc(nsample, sizeof *a), *b = calloc(nsample, sizeof *b);
  double t0 = now(), c0 = cpu();
  for (size_t s = 0; s < nsample; s++) {
    size_t row = idx[s];
    const char *arch = pg_csv_cell(&px, row, (size_t)c_arch);
    int ops[6];
    pg_nb201_parse(arch, ops);
    conn[s] = pg_nb201_connected(ops);
    all[s] = 1;
    if (score(arch, &x, repeats, 1000 + row, &r, &skip, &tt)) return 1;
    mine[3 * s] = r.naswot;
    mine[3 * s + 1] = r.logsynflow;
    mine[3 * s + 2] = skip;
    pub[3 * s] = field(&px, row, c_nw);
    pub[3 * s + 1] = field(&px, row, c_ls);
    pub[3 * s + 2] = field(&px, row, c_sk);
    if (pub[3 * s] == 1e-6) pub[3 * s] = -INFINITY; /* the failure sentinel */
    ac[s] = field(&acc, row, c_acc);
    tn[s] = tt.naswot;
    ts[s] = tt.synflow;
    tk[s] = tt.skip;
    tt3[s] = tt.naswot + tt.synflow + tt.skip;
    if ((s + 1) % 50 == 0) fprintf(stderr, "  %zu/%zu cells, %.0f s\n", s + 1, nsample, now() - t0);
  }
  printf("sample: %zu random cells (seed 2026), %zu disconnected; wall %.1f s, CPU %.1f s\n",
         nsample, nsample - (size_t)(pairs(ac, ac, conn, nsample, a, b)), now() - t0,
         cpu() - c0);
  printf("median CPU time per network (all %d repeats): NASWOT %.3f s, SynFlow+LogSynflow %.3f s, "
         "SkipScore %.1e s, all three %.3f s\n\n",
         repeats, median(tn, nsample), median(ts, nsample), median(tk, nsample),
         median(tt3, nsample));

  double *mn = malloc(nsample * sizeof *mn), *ml = malloc(nsample * sizeof *ml);
  double *pn = malloc(nsample * sizeof *pn), *pl = malloc(nsample * sizeof *pl);
  for (size_t s = 0; s < nsample; s++) {
    mn[s] = mine[3 * s], ml[s] = mine[3 * s + 1];
    pn[s] = pub[3 * s], pl[s] = pub[3 * s + 1];
  }
  const int *sets[2] = {all, conn};
  const char *names[2] = {"all cells", "connected cells"};
  printf("%-16s %6s %22s %22s %20s %20s\n", "subset", "n", "LogSynflow vs pub.", "NASWOT vs pub.",
         "LogSynflow vs acc", "NASWOT vs acc");
  for (int k = 0; k < 2; k++) {
    size_t m1 = pairs(ml, pl, sets[k], nsample, a, b);
    double s1 = spearman(a, b, m1);
    size_t m2 = pairs(mn, pn, sets[k], nsample, a, b);
    double s2 = spearman(a, b, m2);
    size_t m3 = pairs(ml, ac, sets[k], nsample, a, b);
    double s3 = spearman(a, b, m3);
    size_t m4 = pairs(mn, ac, sets[k], nsample, a, b);
    double s4 = spearman(a, b, m4);
    printf("%-16s %6zu %15.4f (n=%zu) %15.4f (n=%zu) %20.4f %20.4f\n", names[k], m1, s1, m1, s2, m2,
           s3, s4);
  }
  /* published NASWOT vs accuracy, for reference */
  size_t mp = pairs(pn, ac, all, nsample, a, b);
  printf("reference: published NASWOT vs acc Spearman %.4f (n=%zu)\n", spearman(a, b, mp), mp);

  /* combined score (min-max over the sample, equal weights) vs accuracy */
  double *cm = malloc(nsample * sizeof *cm), *cp = malloc(nsample * sizeof *cp);
  pg_proxy_combine(nsample, 3, mine, PG_COMBINE_MINMAX, cm);
  pg_proxy_combine(nsample, 3, pub, PG_COMBINE_MINMAX, cp);
  printf("\ncombined score (NASWOT + LogSynflow + SkipScore, min-max over the sample):\n");
  printf("  Kendall tau with CIFAR-10 test accuracy: perigee %.4f, published _fc scores %.4f\n",
         kendall(cm, ac, nsample), kendall(cp, ac, nsample));
  printf("  Spearman with CIFAR-10 test accuracy:    perigee %.4f, published _fc scores %.4f\n",
         spearman(cm, ac, nsample), spearman(cp, ac, nsample));
  size_t mc = pairs(cm, ac, conn, nsample, a, b);
  double kc = kendall(a, b, mc);
  mc = pairs(cp, ac, conn, nsample, a, b);
  printf("  Kendall tau, connected cells only:       perigee %.4f, published _fc scores %.4f\n", kc,
         kendall(a, b, mc));
  free(cm);
  free(cp);
  free(mn);
  free(ml);
  free(pn);
  free(pl);
  free(mine);
  free(pub);
  free(ac);
  free(tn);
  free(ts);
  free(tk);
  free(tt3);
  free(conn);
  free(all);
  free(a);
  free(b);
  free(idx);
  pg_csv_free(&px);
  pg_csv_free(&acc);
  pg_tensor_free(&x);
  return 0;
}
