/* test_nasenv.c -- the Sim-is-More NAS-Bench-201 environment: latencies,
 * normalisation, both reward forms, percentiles against brute force, the two
 * truncations of the synthetic devices, observation layout, horizons, the
 * measurement budget; the gzip CSV reader; and (when PERIGEE_DATA is set)
 * the published per-op pool. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "gzcsv.h"
#include "nasenv.h"

static const double POOL3[3][5] = {
    {0.5, 0.6, 1.0, 2.0, 4.0}, {0.7, 0.4, 1.4, 3.0, 6.0}, {0.9, 0.5, 1.6, 2.5, 8.0}};

static pg_nas_data *make_data(void) {
  double *tf = malloc(PG_NAS_CELLS * sizeof *tf);
  for (int i = 0; i < PG_NAS_CELLS; i++) tf[i] = (double)(i % 97) / 96.0;
  pg_nas_data *d;
  assert_int_equal(pg_nas_data_new(&d, tf, &POOL3[0][0], 3), PG_OK);
  free(tf);
  return d;
}

static void test_fit_and_encoding(void **state) {
  (void)state;
  pg_nas_data *d = make_data();
  /* op 0: values 0.5 0.7 0.9: mean 0.7, population std sqrt(0.08/3) */
  assert_true(fabs(d->mu[0] - 0.7) < 1e-15);
  assert_true(fabs(d->sigma[0] - sqrt(0.08 / 3)) < 1e-15);
  assert_true(fabs(d->mu[4] - 6.0) < 1e-15);
  int ops[6] = {4, 0, 1, 2, 3, 4}, back[6];
  long c = pg_nas_encode(ops);
  assert_int_equal(c, ((((4 * 5 + 0) * 5 + 1) * 5 + 2) * 5 + 3) * 5 + 4);
  pg_nas_decode(c, back);
  assert_memory_equal(ops, back, sizeof ops);
  pg_nas_data *bad;
  double neg[5] = {1, 1, -1, 1, 1};
  double *tfs = calloc(PG_NAS_CELLS, sizeof *tfs);
  assert_int_equal(pg_nas_data_new(&bad, tfs, neg, 1), PG_EINVAL);
  assert_int_equal(pg_nas_data_new(&bad, tfs, neg, 0), PG_EINVAL);
  tfs[5] = NAN;
  assert_int_equal(pg_nas_data_new(&bad, tfs, &POOL3[0][0], 1), PG_EDOM);
  free(tfs);
  pg_nas_data_free(d);
}

/* Latency, normalisation, rewards (both forms) and percentiles on a fixed
 * LUT against direct computation and a brute-force count over all cells. */
static void test_lut_device(void **state) {
  (void)state;
  pg_nas_data *d = make_data();
  pg_nasenv_config cfg;
  pg_nasenv_config_default(&cfg);
  pg_nasenv *e, *ec;
  assert_int_equal(pg_nasenv_new(&e, d, &cfg), PG_OK);
  cfg.reward = PG_NAS_REWARD_CODE;
  assert_int_equal(pg_nasenv_new(&ec, d, &cfg), PG_OK);
  const double lut[5] = {0.5, 0.6, 1.0, 2.0, 4.0};
  assert_int_equal(pg_nasenv_set_lut(e, lut), PG_OK);
  assert_int_equal(pg_nasenv_set_lut(ec, lut), PG_OK);
  int ops[6] = {4, 0, 1, 2, 3, 4};
  long c = pg_nas_encode(ops);
  double lat = 4.0 + 0.5 + 0.6 + 1.0 + 2.0 + 4.0; /* 12.1 ms */
  assert_true(fabs(pg_nasenv_latency(e, c) - lat) < 1e-12);
  double l = (lat - 3.0) / (24.0 - 3.0); /* min 6 x 0.5, max 6 x 4 */
  assert_true(fabs(pg_nasenv_norm_latency(e, c) - l) < 1e-12);
  double tf = d->tf[c];
  assert_true(fabs(pg_nasenv_reward_of(e, c) - (tf + 1.0 - l)) < 1e-12);
  assert_true(fabs(pg_nasenv_reward_of(ec, c) - (tf * pow(1e-3 + l, -0.3) - 1.0)) < 1e-12);
  /* code reward at l = 0: tf * 1e-3^-0.3 - 1 = tf * 7.943 - 1 */
  long fastest = 0; /* all none: 6 x 0.5 */
  assert_true(fabs(pg_nasenv_reward_of(ec, fastest) - (d->tf[0] * pow(1e-3, -0.3) - 1)) < 1e-12);
  /* percentiles: composition count vs brute force */
  long probes[4] = {c, 0, 15624, 7777};
  for (int k = 0; k < 4; k++) {
    double L = pg_nasenv_latency(e, probes[k]), below = 0, ties = 0;
    for (long i = 0; i < PG_NAS_CELLS; i++) {
      double x = pg_nasenv_latency(e, i);
      if (x < L - 1e-9) below++;
      else if (x <= L + 1e-9) ties++;
    }
    assert_true(fabs(pg_nasenv_percentile(e, probes[k]) - 100 * (below + ties / 2) / 15625) <
                1e-9);
  }
  /* a table device gives the same percentiles as the LUT it tabulates */
  double *table = malloc(PG_NAS_CELLS * sizeof *table);
  for (long i = 0; i < PG_NAS_CELLS; i++) table[i] = pg_nasenv_latency(e, i);
  assert_int_equal(pg_nasenv_set_table(ec, table), PG_OK);
  for (int k = 0; k < 4; k++)
    assert_true(fabs(pg_nasenv_percentile(ec, probes[k]) - pg_nasenv_percentile(e, probes[k])) <
                1e-9);
  assert_true(fabs(pg_nasenv_norm_latency(ec, c) - l) < 1e-12);
  free(table);
  pg_nasenv_free(e);
  pg_nasenv_free(ec);
  pg_nas_data_free(d);
}

/* "code" truncation: the upper half-normal, mean mu + sigma sqrt(2/pi);
 * "paper": N(mu, sigma^2) restricted to [1e-3, 1e3] (here the lower bound
 * binds for op 0 rarely; the mean stays near mu). */
static void test_synthetic_sampling(void **state) {
  (void)state;
  pg_nas_data *d = make_data();
  pg_rng r;
  pg_rng_seed(&r, 8);
  const int n = 40000;
  double s_code[5] = {0}, s_paper[5] = {0}, lut[5];
  for (int i = 0; i < n; i++) {
    pg_nas_sample_lut(d, PG_NAS_TRUNC_CODE, &r, lut);
    for (int o = 0; o < 5; o++) {
      assert_true(lut[o] >= d->mu[o]);
      s_code[o] += lut[o];
    }
    pg_nas_sample_lut(d, PG_NAS_TRUNC_PAPER, &r, lut);
    for (int o = 0; o < 5; o++) {
      assert_true(lut[o] >= 1e-3 && lut[o] <= 1e3);
      s_paper[o] += lut[o];
    }
  }
  for (int o = 0; o < 5; o++) {
    double se = d->sigma[o] / sqrt(n);
    assert_true(fabs(s_code[o] / n - (d->mu[o] + d->sigma[o] * sqrt(2 / M_PI))) < 5 * se);
    assert_true(fabs(s_paper[o] / n - d->mu[o]) < 5 * se); /* truncation negligible here */
  }
  pg_nas_data_free(d);
}

static void test_episode_and_observation(void **state) {
  (void)state;
  pg_nas_data *d = make_data();
  pg_nasenv_config cfg;
  pg_nasenv_config_default(&cfg);
  cfg.start = 0;
  pg_nasenv *e;
  assert_int_equal(pg_nasenv_new(&e, d, &cfg), PG_OK);
  pg_rng r;
  pg_rng_seed(&r, 1);
  double obs[PG_NAS_OBS_DIM], rew;
  assert_int_equal(PG_NAS_OBS_DIM, 241);
  assert_int_equal(pg_nasenv_reset(e, &r, -1, obs), PG_OK);
  /* start cell 0: all edges op 0; latency 6 t(none) / lat_scale */
  for (int i = 0; i < 6; i++) assert_true(obs[i * 5] == 1.0);
  double scale = 6 * (d->mu[0] + d->mu[1] + d->mu[2] + d->mu[3] + d->mu[4]) / 5;
  assert_true(fabs(obs[30] - 6 * e->lut[0] / scale) < 1e-12);
  double sum = 0;
  for (int i = 31; i < PG_NAS_OBS_DIM; i++) sum += fabs(obs[i]);
  assert_true(sum == 0.0); /* empty history */
  int a[2] = {2, 4}, term, trunc;
  assert_int_equal(pg_nasenv_step(e, a, obs, &rew, &term, &trunc), PG_OK);
  assert_int_equal(pg_nasenv_cell(e), 4 * 125);
  assert_true(fabs(rew - pg_nasenv_reward_of(e, 500)) < 1e-15);
  assert_true(obs[2 * 5 + 4] == 1.0 && obs[2 * 5 + 0] == 0.0); /* current: edge 2 -> op 4 */
  assert_true(obs[31 + 2 * 5 + 0] == 1.0);                      /* previous slot: cell 0 */
  assert_true(obs[186 + 2] == 1.0 && obs[186 + 6 + 4] == 1.0);  /* last action (2, 4) */
  /* horizon 50: truncated exactly at step 50 */
  int steps = 1;
  while (!trunc) {
    assert_int_equal(pg_nasenv_step(e, a, obs, &rew, &term, &trunc), PG_OK);
    steps++;
  }
  assert_int_equal(steps, 50);
  /* only 5 history slots are kept: the 6th-oldest state is gone */
  int nz = 0;
  for (int i = 0; i < PG_NAS_OBS_DIM; i++) nz += obs[i] != 0.0;
  assert_int_equal(nz, 6 * 7 + 5 * 2);
  int bad[2] = {6, 0};
  assert_int_equal(pg_nasenv_step(e, bad, obs, &rew, &term, &trunc), PG_ERANGE);
  pg_nasenv_free(e);
  /* code horizon: 49 transitions */
  cfg.code_horizon = 1;
  assert_int_equal(pg_nasenv_new(&e, d, &cfg), PG_OK);
  pg_nasenv_reset(e, &r, -1, obs);
  steps = 0;
  do {
    pg_nasenv_step(e, a, obs, &rew, &term, &trunc);
    steps++;
  } while (!trunc);
  assert_int_equal(steps, 49);
  pg_nasenv_free(e);
  pg_nas_data_free(d);
}

/* Budget of 3 measurements: the start cell and two new cells; revisits are
 * free; the third new cell is refused and ends the episode. */
static void test_budget(void **state) {
  (void)state;
  pg_nas_data *d = make_data();
  pg_nasenv_config cfg;
  pg_nasenv_config_default(&cfg);
  cfg.start = 0;
  cfg.budget = 3;
  pg_nasenv *e;
  assert_int_equal(pg_nasenv_new(&e, d, &cfg), PG_OK);
  pg_nasenv_set_lut(e, POOL3[1]);
  double obs[PG_NAS_OBS_DIM], rew;
  int term, trunc;
  assert_int_equal(pg_nasenv_reset(e, NULL, -1, obs), PG_OK); /* fixed start, LUT: no rng */
  assert_int_equal(e->nmeasured, 1);
  int a1[2] = {0, 1}, a0[2] = {0, 0}, a2[2] = {1, 1}, a3[2] = {2, 1};
  pg_nasenv_step(e, a1, obs, &rew, &term, &trunc);
  assert_int_equal(e->nmeasured, 2);
  pg_nasenv_step(e, a0, obs, &rew, &term, &trunc); /* back to the start: free */
  assert_int_equal(e->nmeasured, 2);
  assert_false(term);
  pg_nasenv_step(e, a2, obs, &rew, &term, &trunc);
  assert_int_equal(e->nmeasured, 3);
  long before = pg_nasenv_cell(e);
  pg_nasenv_step(e, a3, obs, &rew, &term, &trunc);
  assert_true(term && e->refused);
  assert_int_equal(pg_nasenv_cell(e), before);
  assert_int_equal(e->nmeasured, 3);
  /* reset clears the measurements */
  pg_nasenv_reset(e, NULL, 7, obs);
  assert_int_equal(e->nmeasured, 1);
  assert_int_equal(e->measured_list[0], 7);
  pg_nasenv_free(e);
  pg_nas_data_free(d);
}

static void test_gzcsv(void **state) {
  (void)state;
  char path[] = "/tmp/pg_test_csv_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  gzFile f = gzopen(path, "wb");
  gzputs(f, "a,name,b\n1,|x~0|,2.5\n3,y,-inf\n\n4,z,\n");
  gzclose(f);
  pg_csv tab, *t = &tab;
  assert_int_equal(pg_csv_read(path, t), PG_OK);
  assert_int_equal(t->nrows, 3);
  assert_int_equal(t->ncols, 3);
  assert_int_equal(pg_csv_col(t, "b"), 2);
  assert_int_equal(pg_csv_col(t, "zz"), -1);
  assert_string_equal(pg_csv_cell(t, 0, 1), "|x~0|");
  double v;
  assert_int_equal(pg_csv_number(t, 0, 2, &v), PG_OK);
  assert_true(v == 2.5);
  assert_int_equal(pg_csv_number(t, 1, 2, &v), PG_OK);
  assert_true(isinf(v) && v < 0);
  assert_int_equal(pg_csv_number(t, 2, 2, &v), PG_OK);
  assert_true(isnan(v));
  assert_int_equal(pg_csv_number(t, 1, 1, &v), PG_EFORMAT);
  pg_csv_free(t);
  f = gzopen(path, "wb");
  gzputs(f, "a,b\n1,2,3\n");
  gzclose(f);
  assert_int_equal(pg_csv_read(path, t), PG_EFORMAT);
  remove(path);
  assert_int_equal(pg_csv_read("/nonexistent/x.csv.gz", t), PG_EIO);
}

/* The published 18-device pool: the per-op means and population standard
 * deviations of simismore.md section 4.3. */
static void test_published_pool(void **state) {
  (void)state;
  const char *dir = getenv("PERIGEE_DATA");
  if (!dir || !*dir) {
    printf("SKIPPED: PERIGEE_DATA is not set (the published pool test needs "
           "simismore_per_op_latency.csv.gz)\n");
    skip();
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/simismore_per_op_latency.csv.gz", dir);
  pg_csv tab, *t = &tab;
  assert_int_equal(pg_csv_read(path, t), PG_OK);
  assert_int_equal(t->nrows, 18);
  const char *ops[5] = {"none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"};
  double pool[18 * 5];
  for (int o = 0; o < 5; o++) {
    long c = pg_csv_col(t, ops[o]);
    assert_true(c >= 0);
    for (size_t r = 0; r < 18; r++)
      assert_int_equal(pg_csv_number(t, r, (size_t)c, &pool[r * 5 + o]), PG_OK);
  }
  pg_csv_free(t);
  double *tf = calloc(PG_NAS_CELLS, sizeof *tf);
  pg_nas_data *d;
  assert_int_equal(pg_nas_data_new(&d, tf, pool, 18), PG_OK);
  const double mu[5] = {0.6472, 0.5604, 1.3535, 2.5946, 4.9946};
  const double sd[5] = {0.3810, 0.2077, 0.6526, 1.3496, 3.6672};
  for (int o = 0; o < 5; o++) {
    assert_true(fabs(d->mu[o] - mu[o]) < 1e-4);
    assert_true(fabs(d->sigma[o] - sd[o]) < 1e-4);
  }
  free(tf);
  pg_nas_data_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fit_and_encoding),      cmocka_unit_test(test_lut_device),
      cmocka_unit_test(test_synthetic_sampling),    cmocka_unit_test(test_episode_and_observation),
      cmocka_unit_test(test_budget),                cmocka_unit_test(test_gzcsv),
      cmocka_unit_test(test_published_pool),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
