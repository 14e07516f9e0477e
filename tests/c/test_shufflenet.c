/*
 * test_shufflenet.c -- engine/netgraph's channel split, concatenation and
 * channel shuffle nodes, and the HSCoNAS / SPOS networks of engine/shufflenet.
 *
 * Oracles: hand-computed permutations of small tensors (ShuffleNet's
 * view-transpose rule written out), finite differences of a whole graph
 * through every new node (input and parameter gradients), the MAC counts of
 * hardware/workload.c's layer list for the same architectures (the network
 * the latency model costs), and the thread-count independence of the batch
 * scorer.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netgraph.h"
#include "parallel.h"
#include "proxy.h"
#include "shufflenet.h"

/* Forward one sample whose channel k holds the constant 100 n + k (h = w = 2)
 * through a one-node graph built by `mk`, and return the output's channel
 * constants (after checking each channel is constant). */
static void channel_values(pg_net *net, size_t n, size_t c, double *vals) {
  pg_tensor x, y;
  assert_int_equal(pg_tensor_alloc(&x, n, c, 2, 2), PG_OK);
  for (size_t b = 0; b < n; b++)
    for (size_t k = 0; k < c; k++)
      for (size_t e = 0; e < 4; e++) x.data[(b * c + k) * 4 + e] = 100.0 * (double)b + (double)k;
  assert_int_equal(pg_net_finalize(net), PG_OK);
  assert_int_equal(pg_net_forward(net, &x, PG_BN_TRAIN, 0, NULL, NULL, &y), PG_OK);
  size_t oc = y.c;
  for (size_t b = 0; b < n; b++)
    for (size_t k = 0; k < oc; k++) {
      const double *p = y.data + (b * oc + k) * 4;
      for (size_t e = 1; e < 4; e++) assert_true(p[e] == p[0]);
      vals[b * oc + k] = p[0];
    }
  pg_tensor_free(&x);
  pg_tensor_free(&y);
}

static void test_shuffle_hand(void **state) {
  (void)state;
  /* 6 channels, 2 groups: rows (0 1 2 | 3 4 5) transposed -> 0 3 1 4 2 5;
   * 3 groups: rows (0 1 | 2 3 | 4 5) -> 0 2 4 1 3 5 */
  static const double g2[6] = {0, 3, 1, 4, 2, 5}, g3[6] = {0, 2, 4, 1, 3, 5};
  for (int which = 0; which < 2; which++) {
    pg_net net;
    assert_int_equal(pg_net_init(&net, 6, 2, 2), PG_OK);
    assert_true(pg_net_shuffle(&net, 0, which ? 3 : 2) > 0);
    double v[12];
    channel_values(&net, 2, 6, v);
    for (int k = 0; k < 6; k++) {
      double want = which ? g3[k] : g2[k];
      assert_true(v[k] == want);
      assert_true(v[6 + k] == 100 + want); /* second sample: same permutation */
    }
    pg_net_free(&net);
  }
  /* SPOS: groups = c/2 puts the even channels first, then the odd ones */
  pg_net net;
  assert_int_equal(pg_net_init(&net, 8, 2, 2), PG_OK);
  pg_net_shuffle(&net, 0, 4);
  double v[8];
  channel_values(&net, 1, 8, v);
  static const double eo[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  for (int k = 0; k < 8; k++) assert_true(v[k] == eo[k]);
  pg_net_free(&net);
  /* groups 1 and groups c are the identity */
  for (size_t g = 1; g <= 8; g += 7) {
    assert_int_equal(pg_net_init(&net, 8, 2, 2), PG_OK);
    pg_net_shuffle(&net, 0, g);
    channel_values(&net, 1, 8, v);
    for (int k = 0; k < 8; k++) assert_true(v[k] == k);
    pg_net_free(&net);
  }
}

static void test_split_concat_hand(void **state) {
  (void)state;
  pg_net net;
  assert_int_equal(pg_net_init(&net, 5, 2, 2), PG_OK);
  int a = pg_net_split(&net, 0, 3, 2); /* channels 3, 4 */
  int b = pg_net_split(&net, 0, 0, 1); /* channel 0 */
  int c = pg_net_split(&net, 0, 1, 3); /* channels 1, 2, 3 */
  int ins[3] = {a, b, c};
  int cat = pg_net_concat(&net, ins, 3);
  assert_true(cat > 0);
  assert_int_equal(net.nodes[cat].c, 6);
  double v[12];
  channel_values(&net, 2, 5, v);
  static const double want[6] = {3, 4, 0, 1, 2, 3};
  for (int k = 0; k < 6; k++) {
    assert_true(v[k] == want[k]);
    assert_true(v[6 + k] == 100 + want[k]);
  }
  pg_net_free(&net);
}

static void test_builder_errors(void **state) {
  (void)state;
  pg_net net;
  assert_int_equal(pg_net_init(&net, 4, 3, 3), PG_OK);
  assert_int_equal(pg_net_split(&net, 0, 4, 1), -1); /* starts past the end */
  assert_int_equal(net.status, PG_EINVAL);
  pg_net_free(&net);
  assert_int_equal(pg_net_init(&net, 4, 3, 3), PG_OK);
  assert_int_equal(pg_net_split(&net, 0, 2, 3), -1); /* runs past the end */
  pg_net_free(&net);
  assert_int_equal(pg_net_init(&net, 4, 3, 3), PG_OK);
  assert_int_equal(pg_net_split(&net, 0, 0, 0), -1);
  pg_net_free(&net);
  assert_int_equal(pg_net_init(&net, 6, 3, 3), PG_OK);
  assert_int_equal(pg_net_shuffle(&net, 0, 4), -1); /* 4 does not divide 6 */
  pg_net_free(&net);
  assert_int_equal(pg_net_init(&net, 6, 4, 4), PG_OK);
  int p = pg_net_avgpool(&net, 0, 2, 2, 0, 1); /* 2 x 2 */
  int ins[2] = {0, p};
  assert_int_equal(pg_net_concat(&net, ins, 2), -1);
  assert_int_equal(net.status, PG_ESHAPE);
  pg_net_free(&net);
  assert_int_equal(pg_net_init(&net, 6, 4, 4), PG_OK);
  assert_int_equal(pg_net_concat(&net, ins, 0), -1);
  pg_net_free(&net);
}

/* A graph through every new node: shuffle -> two splits -> conv + BN + ReLU
 * on one half, depthwise conv on the other -> concat -> shuffle -> conv ->
 * GAP -> linear. Loss L = sum_i r_i out_i with fixed random r. */
typedef struct fdnet {
  pg_net net;
  pg_tensor x, r;
} fdnet;

static void fd_build(fdnet *f, pg_bn_mode bn) {
  (void)bn;
  pg_net *net = &f->net;
  assert_int_equal(pg_net_init(net, 6, 5, 5), PG_OK);
  int s = pg_net_shuffle(net, 0, 3);
  int a = pg_net_split(net, s, 0, 2);
  int b = pg_net_split(net, s, 2, 4);
  a = pg_net_conv(net, a, 4, 3, 1, 1, 1, 0);
  a = pg_net_bn(net, a);
  a = pg_net_relu(net, a);
  b = pg_net_conv(net, b, 4, 3, 2, 1, 4, 0); /* depthwise, stride 2: 3 x 3 */
  b = pg_net_conv(net, b, 4, 3, 1, 1, 1, 1);
  a = pg_net_avgpool(net, a, 3, 2, 1, 0); /* 3 x 3 */
  int ins[3] = {b, a, b};
  int c = pg_net_concat(net, ins, 3); /* 12 channels */
  c = pg_net_shuffle(net, c, 4);
  c = pg_net_split(net, c, 1, 10);
  c = pg_net_conv(net, c, 5, 1, 1, 0, 1, 0);
  c = pg_net_gap(net, c);
  pg_net_linear(net, c, 3, 1);
  assert_int_equal(pg_net_finalize(net), PG_OK);
  pg_rng rng;
  pg_rng_seed(&rng, 11);
  pg_net_init_params(net, &rng);
  for (size_t i = 0; i < net->nparams; i++) net->params[i] += 0.1 * pg_rng_normal(&rng);
  assert_int_equal(pg_tensor_alloc(&f->x, 3, 6, 5, 5), PG_OK);
  for (size_t i = 0; i < pg_tensor_numel(&f->x); i++) f->x.data[i] = pg_rng_normal(&rng);
  assert_int_equal(pg_tensor_alloc(&f->r, 3, 3, 1, 1), PG_OK);
  for (size_t i = 0; i < 9; i++) f->r.data[i] = pg_rng_normal(&rng);
}

static double fd_loss(fdnet *f, pg_bn_mode bn) {
  pg_tensor y;
  assert_int_equal(pg_net_forward(&f->net, &f->x, bn, 0, NULL, NULL, &y), PG_OK);
  double L = 0;
  for (size_t i = 0; i < 9; i++) L += f->r.data[i] * y.data[i];
  pg_tensor_free(&y);
  return L;
}

static void check_fd(pg_bn_mode bn) {
  fdnet f;
  fd_build(&f, bn);
  pg_tensor y, dx;
  assert_int_equal(pg_net_forward(&f.net, &f.x, bn, 1, NULL, NULL, &y), PG_OK);
  memset(f.net.grads, 0, f.net.nparams * sizeof(double));
  assert_int_equal(pg_net_backward(&f.net, bn, &f.r, &dx), PG_OK);
  const double h = 1e-6;
  double maxrel = 0;
  size_t nx = pg_tensor_numel(&f.x);
  for (size_t i = 0; i < nx; i++) {
    double v = f.x.data[i];
    f.x.data[i] = v + h;
    double lp = fd_loss(&f, bn);
    f.x.data[i] = v - h;
    double lm = fd_loss(&f, bn);
    f.x.data[i] = v;
    double num = (lp - lm) / (2 * h);
    double err = fabs(num - dx.data[i]) / (1e-6 + fabs(num) + fabs(dx.data[i]));
    if (err > maxrel) maxrel = err;
  }
  assert_true(maxrel < 1e-5);
  maxrel = 0;
  for (size_t i = 0; i < f.net.nparams; i++) {
    double v = f.net.params[i];
    f.net.params[i] = v + h;
    double lp = fd_loss(&f, bn);
    f.net.params[i] = v - h;
    double lm = fd_loss(&f, bn);
    f.net.params[i] = v;
    double num = (lp - lm) / (2 * h);
    double err = fabs(num - f.net.grads[i]) / (1e-6 + fabs(num) + fabs(f.net.grads[i]));
    if (err > maxrel) maxrel = err;
  }
  assert_true(maxrel < 1e-5);
  /* every input channel reaches the output (both halves of the split are used) */
  for (size_t c = 0; c < 6; c++) {
    double s = 0;
    for (size_t e = 0; e < 25; e++) s += fabs(dx.data[c * 25 + e]);
    assert_true(s > 0);
  }
  pg_tensor_free(&y);
  pg_tensor_free(&dx);
  pg_tensor_free(&f.x);
  pg_tensor_free(&f.r);
  pg_net_free(&f.net);
}

static void test_backward_fd(void **state) {
  (void)state;
  check_fd(PG_BN_TRAIN);
  check_fd(PG_BN_IDENTITY);
}

/* Backward of shuffle / split / concat alone is the transposed permutation:
 * for L = sum r .* out, dL/dx scatters r back through the moves. */
static void test_backward_hand(void **state) {
  (void)state;
  pg_net net;
  assert_int_equal(pg_net_init(&net, 6, 1, 1), PG_OK);
  int s = pg_net_shuffle(&net, 0, 2);      /* 0 3 1 4 2 5 */
  int a = pg_net_split(&net, s, 1, 3);     /* 3 1 4 */
  int ins[2] = {a, a};
  pg_net_concat(&net, ins, 2);             /* 3 1 4 3 1 4 */
  assert_int_equal(pg_net_finalize(&net), PG_OK);
  pg_tensor x, y, dx, r;
  assert_int_equal(pg_tensor_alloc(&x, 1, 6, 1, 1), PG_OK);
  for (int k = 0; k < 6; k++) x.data[k] = k;
  assert_int_equal(pg_net_forward(&net, &x, PG_BN_TRAIN, 1, NULL, NULL, &y), PG_OK);
  static const double fw[6] = {3, 1, 4, 3, 1, 4};
  for (int k = 0; k < 6; k++) assert_true(y.data[k] == fw[k]);
  assert_int_equal(pg_tensor_alloc(&r, 1, 6, 1, 1), PG_OK);
  for (int k = 0; k < 6; k++) r.data[k] = 10.0 * (k + 1);
  assert_int_equal(pg_net_backward(&net, PG_BN_TRAIN, &r, &dx), PG_OK);
  /* x1 gets r2 + r5 = 20 + 50, x3 gets r1 + r4 = 10 + 40, x4 gets r3 + r6 = 30 + 60 */
  static const double bw[6] = {0, 70, 0, 50, 90, 0};
  for (int k = 0; k < 6; k++) assert_true(dx.data[k] == bw[k]);
  pg_tensor_free(&x);
  pg_tensor_free(&y);
  pg_tensor_free(&dx);
  pg_tensor_free(&r);
  pg_net_free(&net);
}

static void random_cfg(pg_hw_shufflenet_cfg *cfg, const char *layout, pg_rng *rng, int64_t side) {
  assert_int_equal(pg_hw_shufflenet_preset(cfg, layout), PG_OK);
  cfg->input = side;
  for (int l = 0; l < PG_HW_SHUFFLE_LAYERS; l++) {
    int s2 = l == 0 || l == 4 || l == 8 || l == 16;
    cfg->ops[l] = (int)pg_rng_below(rng, s2 ? 4 : 5);
    cfg->factors[l] = 0.1 * (double)(1 + pg_rng_below(rng, 10));
  }
}

static void test_macs_match_workload(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 5);
  const char *layouts[2] = {"A", "B"};
  for (int t = 0; t < 12; t++) {
    pg_hw_shufflenet_cfg cfg;
    random_cfg(&cfg, layouts[t % 2], &rng, t < 8 ? 224 : 64);
    if (t == 0)
      for (int l = 0; l < 20; l++) cfg.ops[l] = 0, cfg.factors[l] = 1.0; /* reference A */
    pg_net net;
    pg_hw_network hw;
    assert_int_equal(pg_shufflenet_build(&net, &cfg), PG_OK);
    assert_int_equal(pg_hw_net_shufflenet(&hw, &cfg), PG_OK);
    double hm = (double)pg_hw_network_macs(&hw);
    assert_true(pg_net_macs(&net) == hm);
    /* conv / linear weights: the cost model's parameters without BN */
    size_t w = 0, nconv = 0, nhw = 0;
    for (size_t i = 0; i < net.n; i++)
      if (net.nodes[i].op == PG_NET_CONV || net.nodes[i].op == PG_NET_LINEAR) {
        w += net.nodes[i].wcount;
        nconv++;
      }
    for (size_t i = 0; i < hw.n; i++) nhw += hw.layers[i].kind != PG_HW_POOL;
    assert_int_equal(nconv, nhw);
    (void)w;
    if (t == 0) assert_true(hm == 203.1e6 || fabs(hm - 203.1e6) < 0.06e6); /* docs/hsconas.md */
    /* one shuffle, two splits, one concat per stride-1 non-skip block */
    size_t s1 = 0;
    for (int l = 0; l < 20; l++) s1 += !(l == 0 || l == 4 || l == 8 || l == 16) && cfg.ops[l] != 4;
    assert_int_equal(pg_net_count(&net, PG_NET_SHUFFLE), s1);
    assert_int_equal(pg_net_count(&net, PG_NET_SPLIT), 2 * s1);
    size_t nonskip = 0;
    for (int l = 0; l < 20; l++) nonskip += cfg.ops[l] != 4;
    assert_int_equal(pg_net_count(&net, PG_NET_CONCAT), nonskip);
    pg_net_free(&net);
    pg_hw_network_free(&hw);
  }
  /* illegal configurations */
  pg_hw_shufflenet_cfg cfg;
  pg_net net;
  random_cfg(&cfg, "A", &rng, 32);
  cfg.ops[4] = 4; /* skip at a stride-2 layer */
  assert_int_equal(pg_shufflenet_build(&net, &cfg), PG_EINVAL);
  random_cfg(&cfg, "A", &rng, 32);
  cfg.channels[1] = 127;
  assert_int_equal(pg_shufflenet_build(&net, &cfg), PG_EINVAL);
  random_cfg(&cfg, "A", &rng, 32);
  cfg.factors[3] = 0;
  assert_int_equal(pg_shufflenet_build(&net, &cfg), PG_EINVAL);
  random_cfg(&cfg, "A", &rng, 32);
  cfg.se = 1;
  assert_int_equal(pg_shufflenet_build(&net, &cfg), PG_EINVAL);
}

static void test_scores_threads(void **state) {
  (void)state;
  pg_rng rng;
  pg_rng_seed(&rng, 9);
  enum { N = 3 };
  pg_hw_shufflenet_cfg cfgs[N];
  for (int i = 0; i < N; i++) { /* narrow layouts: the test also runs under valgrind */
    random_cfg(&cfgs[i], "A", &rng, 16);
    static const int64_t narrow[2][4] = {{8, 16, 32, 64}, {10, 20, 36, 72}};
    memcpy(cfgs[i].channels, narrow[i % 2], sizeof narrow[0]);
    cfgs[i].stem = 4;
    cfgs[i].last = 32;
    cfgs[i].classes = 10;
  }
  pg_tensor x;
  assert_int_equal(pg_noise_batch(8, 16, &rng, &x), PG_OK);
  pg_proxy_result r1[N], r2[N];
  double macs[N];
  int saved = pg_threads_set(1);
  assert_int_equal(pg_shufflenet_scores(N, cfgs, &x, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, 1, 7, 1,
                                        r1, macs, NULL),
                   PG_OK);
  pg_threads_set(2);
  assert_int_equal(pg_shufflenet_scores(N, cfgs, &x, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, 1, 7, 1,
                                        r2, NULL, NULL),
                   PG_OK);
  pg_threads_set(saved);
  for (int i = 0; i < N; i++) {
    assert_true(r1[i].naswot == r2[i].naswot);
    assert_true(r1[i].logsynflow == r2[i].logsynflow);
    assert_true(isfinite(r1[i].naswot) && r1[i].logsynflow > 0);
    /* equal to building and scoring the network directly */
    pg_net net;
    assert_int_equal(pg_shufflenet_build(&net, &cfgs[i]), PG_OK);
    net.single = 1;
    pg_rng r;
    pg_rng_seed(&r, 7);
    pg_proxy_result d;
    assert_int_equal(pg_proxy_scores(&net, &x, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, 1, &r, &d),
                     PG_OK);
    assert_true(d.naswot == r1[i].naswot && d.synflow == r1[i].synflow);
    assert_true(macs[i] == pg_net_macs(&net));
    pg_net_free(&net);
  }
  /* a bad configuration is reported */
  cfgs[1].ops[0] = 4;
  assert_int_equal(pg_shufflenet_scores(N, cfgs, &x, PG_PROXY_SYNFLOW, 1, 7, 1, r1, NULL, NULL),
                   PG_EINVAL);
  pg_tensor_free(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shuffle_hand),        cmocka_unit_test(test_split_concat_hand),
      cmocka_unit_test(test_builder_errors),      cmocka_unit_test(test_backward_hand),
      cmocka_unit_test(test_backward_fd),         cmocka_unit_test(test_macs_match_workload),
      cmocka_unit_test(test_scores_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
