/*
 * test_parallel.c -- thread count (engine/parallel.h) and thread-count
 * invariance of the OpenMP loops: exact and sparse GP prediction of a
 * candidate pool, and the systolic-array sweep (hardware/sweep.h), whose
 * totals must equal pg_hw_systolic_network's pair by pair. "Equal" is
 * bit for bit (memcmp), as docs/scaling.md promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "parallel.h"
#include "rng.h"
#include "sgp.h"
#include "sweep.h"

static void fill(double *X, size_t n, size_t d, uint64_t seed, double *y) {
  pg_rng r;
  pg_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < d; j++) {
      X[i * d + j] = pg_rng_uniform(&r);
      s += sin(3.0 * X[i * d + j]) * (double)(j + 1);
    }
    if (y) y[i] = s;
  }
}

static void test_threads_setting(void **state) {
  (void)state;
  int old = pg_threads_get();
  assert_true(old >= 1);
  assert_int_equal(pg_threads_set(3), old);
  assert_int_equal(pg_threads_get(), pg_threads_available() ? 3 : 1);
  pg_threads_set(0); /* taken as 1 */
  assert_int_equal(pg_threads_get(), 1);
  assert_int_equal(pg_par_threads(0), 1);
  pg_threads_set(2);
  if (pg_threads_available()) {
    assert_int_equal(pg_par_threads(1), 1);
    assert_int_equal(pg_par_threads(10), 2);
  }
  pg_threads_set(old);
}

/* 1100 candidates = 3 blocks of at most 512 */
enum { N = 60, D = 3, NC = 1100 };

static void test_gp_invariance(void **state) {
  (void)state;
  double *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
  double *C = malloc(NC * D * sizeof *C), *out = malloc(4 * NC * sizeof *out);
  assert_non_null(X && y && C && out);
  fill(X, N, D, 1, y);
  fill(C, NC, D, 2, NULL);
  pg_kernel *k;
  assert_int_equal(pg_kernel_new(&k, PG_KERNEL_MATERN52, NULL, D), PG_OK);
  pg_kernel_init(k, 0.4, 1.0);
  pg_gp *g;
  assert_int_equal(pg_gp_new(&g, k, NULL), PG_OK);
  assert_int_equal(pg_gp_fit(g, X, N, D, y), PG_OK);
  int old = pg_threads_set(1);
  assert_int_equal(pg_gp_predict(g, C, NC, out, out + NC), PG_OK);
  pg_threads_set(2);
  assert_int_equal(pg_gp_predict(g, C, NC, out + 2 * NC, out + 3 * NC), PG_OK);
  assert_memory_equal(out, out + 2 * NC, 2 * NC * sizeof *out);
  /* and the values are the GP's: one-point predictions agree to rounding */
  for (size_t i = 0; i < NC; i += 137) {
    double m1, v1;
    assert_int_equal(pg_gp_predict(g, C + i * D, 1, &m1, &v1), PG_OK);
    assert_true(fabs(m1 - out[i]) <= 1e-9 * (1.0 + fabs(m1)));
    assert_true(fabs(v1 - out[NC + i]) <= 1e-9);
  }
  pg_gp_free(g);

  pg_kernel *ks;
  assert_int_equal(pg_kernel_new(&ks, PG_KERNEL_SE, NULL, D), PG_OK);
  pg_kernel_init(ks, 0.5, 1.0);
  pg_sgp_opts so = pg_sgp_defaults();
  so.m = 12;
  pg_sgp *s;
  assert_int_equal(pg_sgp_new(&s, ks, &so), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 3);
  assert_int_equal(pg_sgp_fit(s, X, N, D, y, &r), PG_OK);
  pg_threads_set(1);
  assert_int_equal(pg_sgp_predict(s, C, NC, out, out + NC), PG_OK);
  pg_threads_set(2);
  assert_int_equal(pg_sgp_predict(s, C, NC, out + 2 * NC, out + 3 * NC), PG_OK);
  assert_memory_equal(out, out + 2 * NC, 2 * NC * sizeof *out);
  pg_sgp_free(s);
  pg_threads_set(old);
  free(X);
  free(y);
  free(C);
  free(out);
}

static void test_sweep(void **state) {
  (void)state;
  enum { NA = 3, NN = 3 };
  pg_hw_systolic_cfg cfg[NA];
  for (int i = 0; i < NA; i++) pg_hw_systolic_default(&cfg[i]);
  cfg[0].rows = 16, cfg[0].cols = 16, cfg[0].dataflow = PG_HW_OS;
  cfg[1].rows = 32, cfg[1].cols = 8, cfg[1].bandwidth = 8;
  cfg[2].rows = 8, cfg[2].cols = 64, cfg[2].dataflow = PG_HW_IS;
  pg_hw_network nets[NN];
  const char *ch[NN] = {"8:16:24:32:40", "64:64:64:64:64", "16:8:40:24:56"};
  const pg_hw_network *np[NN];
  for (int j = 0; j < NN; j++) {
    assert_int_equal(pg_hw_net_nats_sss(&nets[j], ch[j], 32, 10), PG_OK);
    np[j] = &nets[j];
  }
  pg_hw_systolic_total t1[NA * NN], t2[NA * NN], ref;
  pg_status st[NA * NN];
  int old = pg_threads_set(1);
  assert_int_equal(pg_hw_systolic_sweep(cfg, NA, np, NN, t1, st), PG_OK);
  pg_threads_set(2);
  assert_int_equal(pg_hw_systolic_sweep(cfg, NA, np, NN, t2, NULL), PG_OK);
  pg_threads_set(old);
  for (int p = 0; p < NA * NN; p++) {
    assert_int_equal(st[p], PG_OK);
    memset(&ref, 0, sizeof ref);
    assert_int_equal(pg_hw_systolic_network(&cfg[p / NN], np[p % NN], NULL, &ref), PG_OK);
    assert_true(ref.total_cycles > 0);
    assert_int_equal(ref.total_cycles, t1[p].total_cycles);
    assert_int_equal(ref.macs, t1[p].macs);
    assert_true(ref.energy_pj == t1[p].energy_pj && ref.latency_s == t1[p].latency_s);
    assert_true(ref.edp_js == t2[p].edp_js && ref.overall_util == t2[p].overall_util);
    assert_int_equal(t1[p].dram_ifmap_reads, t2[p].dram_ifmap_reads);
  }
  /* a bad configuration fails its pairs only; without a status array the
   * first failure in pair order is returned */
  cfg[1].rows = 0;
  assert_int_equal(pg_hw_systolic_sweep(cfg, NA, np, NN, t1, st), PG_OK);
  for (int p = 0; p < NA * NN; p++) assert_int_equal(st[p] != PG_OK, p / NN == 1);
  assert_int_equal(t1[NN].total_cycles, 0);
  assert_int_not_equal(pg_hw_systolic_sweep(cfg, NA, np, NN, t1, NULL), PG_OK);
  assert_int_equal(pg_hw_systolic_sweep(cfg, 0, np, NN, t1, NULL), PG_OK);
  assert_int_equal(pg_hw_systolic_sweep(NULL, NA, np, NN, t1, NULL), PG_EINVAL);
  for (int j = 0; j < NN; j++) pg_hw_network_free(&nets[j]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_threads_setting),
    cmocka_unit_test(test_gp_invariance),
    cmocka_unit_test(test_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
