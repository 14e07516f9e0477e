/*
 * test_workload.c -- layers, networks and builders of hardware/workload.c.
 *
 * Oracles: the closed forms of research/nb201_and_proxies.md (§3.1, §5.1)
 * and research/hsconas.md (B4/B5), published totals (NAS-Bench-201,
 * torchvision parameter counts, ShuffleNetV2+ README), brute-force loop
 * counting, and Scale-Sim's topology parsing rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "workload.h"

static const char *ALL3 =
  "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";

/* MACs by literally running the loop nest of the header comment */
static int64_t brute_macs(const pg_hw_layer *l) {
  int64_t n = 0;
  int64_t cg = l->C / l->groups;
  for (int64_t b = 0; b < l->B; b++)
    for (int64_t k = 0; k < l->K; k++)
      for (int64_t oy = 0; oy < l->OY; oy++)
        for (int64_t ox = 0; ox < l->OX; ox++)
          for (int64_t c = 0; c < cg; c++)
            for (int64_t fy = 0; fy < l->FY; fy++)
              for (int64_t fx = 0; fx < l->FX; fx++) n++;
  return n;
}

static void test_layer_macs_brute_force(void **state) {
  (void)state;
  pg_hw_layer l;
  struct { pg_hw_kind k; int64_t C, K, H, F, S, P, g; } cases[] = {
    {PG_HW_CONV, 3, 5, 9, 3, 1, 1, 1},      {PG_HW_CONV, 4, 6, 11, 5, 2, 2, 2},
    {PG_HW_DEPTHWISE, 6, 6, 8, 3, 2, 1, 6}, {PG_HW_POINTWISE, 7, 3, 5, 1, 1, 0, 1},
    {PG_HW_FC, 13, 9, 1, 1, 1, 0, 1},       {PG_HW_CONV, 2, 3, 7, 7, 3, 0, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(pg_hw_layer_make(&l, "t", cases[i].k, cases[i].C, cases[i].K, cases[i].H,
                                      cases[i].H, cases[i].F, cases[i].F, cases[i].S, cases[i].P,
                                      cases[i].g),
                     PG_OK);
    l.B = 2;
    assert_int_equal(l.OY, (cases[i].H + 2 * cases[i].P - cases[i].F) / cases[i].S + 1);
    assert_int_equal(pg_hw_layer_macs(&l), brute_macs(&l));
    assert_int_equal(pg_hw_layer_weight_words(&l),
                     cases[i].K * (cases[i].C / l.groups) * cases[i].F * cases[i].F);
  }
  /* pooling and additions carry no MACs, only operations */
  assert_int_equal(pg_hw_layer_make(&l, "p", PG_HW_POOL, 4, 4, 8, 8, 2, 2, 2, 0, 1), PG_OK);
  assert_int_equal(pg_hw_layer_macs(&l), 0);
  assert_int_equal(pg_hw_layer_ops(&l), 4 * 4 * 4 * 4);
  assert_int_equal(pg_hw_layer_params(&l), 0);
}

static void test_layer_rejects(void **state) {
  (void)state;
  pg_hw_layer l;
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, 3, 5, 2, 2, 3, 3, 1, 0, 1), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, 3, 5, 8, 8, 3, 3, 1, 0, 2), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_DEPTHWISE, 3, 6, 8, 8, 3, 3, 1, 0, 1), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_POOL, 3, 6, 8, 8, 3, 3, 1, 0, 1), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, 0, 5, 8, 8, 3, 3, 1, 0, 1), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, 3, 5, 8, 8, 3, 3, 0, 0, 1), PG_EINVAL);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, (int64_t)1 << 20, (int64_t)1 << 20,
                                    1 << 12, 1 << 12, 3, 3, 1, 1, 1),
                   PG_EINVAL); /* MACs overflow 2^62 */
  pg_hw_network net;
  assert_int_equal(pg_hw_network_init(&net, "n"), PG_OK);
  assert_int_equal(pg_hw_layer_make(&l, "x", PG_HW_CONV, 3, 5, 8, 8, 3, 3, 1, 1, 1), PG_OK);
  l.input = 0; /* refers to itself: not an earlier layer */
  assert_int_equal(pg_hw_network_append(&net, &l, NULL), PG_EINVAL);
  l.input = PG_HW_INPUT;
  int idx = -5;
  assert_int_equal(pg_hw_network_append(&net, &l, &idx), PG_OK);
  assert_int_equal(idx, 0);
  pg_hw_network_free(&net);
  pg_hw_network_free(NULL);
  pg_hw_kind k;
  assert_int_equal(pg_hw_kind_parse("depthwise", &k), PG_OK);
  assert_int_equal(k, PG_HW_DEPTHWISE);
  assert_int_equal(pg_hw_kind_parse("gemm", &k), PG_OK);
  assert_int_equal(k, PG_HW_FC);
  assert_int_equal(pg_hw_kind_parse("dense", &k), PG_EINVAL);
  assert_string_equal(pg_hw_kind_name(PG_HW_ADD), "add");
}

/* every network's total equals the sum over its layers, and each conv-like
 * layer's MACs the product of its bounds */
static void check_consistent(const pg_hw_network *n) {
  int64_t t = 0;
  for (size_t i = 0; i < n->n; i++) {
    const pg_hw_layer *l = &n->layers[i];
    assert_int_equal(pg_hw_layer_check(l), PG_OK);
    assert_true(l->input < (int)i && l->input2 < (int)i);
    if (l->kind != PG_HW_POOL && l->kind != PG_HW_ADD)
      assert_int_equal(pg_hw_layer_macs(l),
                       l->B * l->K * (l->C / l->groups) * l->OY * l->OX * l->FY * l->FX);
    t += pg_hw_layer_macs(l);
  }
  assert_int_equal(t, pg_hw_network_macs(n));
}

static void test_nb201_published(void **state) {
  (void)state;
  pg_hw_network n;
  /* NAS-Bench-201: all-3x3 cell, 220.12 M MACs and 1.53 M parameters on CIFAR-10 */
  assert_int_equal(pg_hw_net_nb201(&n, ALL3, 16, 5, 32, 10), PG_OK);
  check_consistent(&n);
  assert_int_equal(pg_hw_network_macs(&n), 220119680);
  assert_true(llabs(pg_hw_network_params(&n) - 1531546) == 0);
  pg_hw_network_free(&n);
  /* ImageNet16-120: 55.04 M */
  assert_int_equal(pg_hw_net_nb201(&n, ALL3, 16, 5, 16, 120), PG_OK);
  assert_true(llabs(pg_hw_network_macs(&n) - 55040000) < 5000);
  pg_hw_network_free(&n);
}

/* closed form of §3.1: 7.783040 M + 15 (2359296 n3 + 262144 n1) on CIFAR */
static void test_nb201_closed_form(void **state) {
  (void)state;
  static const char *ops[5] = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                               "avg_pool_3x3"};
  unsigned seed = 12345;
  for (int trial = 0; trial < 200; trial++) {
    int e[6], n1 = 0, n3 = 0;
    for (int i = 0; i < 6; i++) {
      seed = seed * 1103515245u + 12345u;
      e[i] = (int)((seed >> 16) % 5);
      n1 += e[i] == 2;
      n3 += e[i] == 3;
    }
    char arch[256];
    snprintf(arch, sizeof arch, "|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|", ops[e[0]], ops[e[1]],
             ops[e[2]], ops[e[3]], ops[e[4]], ops[e[5]]);
    pg_hw_network n;
    assert_int_equal(pg_hw_net_nb201(&n, arch, 16, 5, 32, 10), PG_OK);
    check_consistent(&n);
    /* stem 27*16*1024, two reduction blocks, classifier 64*10 */
    int64_t base = 27 * 16 * 1024 + 2 * (16 * 32 * 9 * 256 + 32 * 32 * 9 * 256 + 16 * 32 * 256) + 640;
    assert_int_equal(base, 7783040);
    assert_int_equal(pg_hw_network_macs(&n), base + 15 * (2359296LL * n3 + 262144LL * n1));
    pg_hw_network_free(&n);
  }
}

static void test_nb201_malformed(void **state) {
  (void)state;
  pg_hw_network n;
  const char *bad[] = {"", "|nor_conv_3x3~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                       "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
                       "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x",
                       "|none~0|+|none~0|none~1|+|none~0|none~1|"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_hw_net_nb201(&n, bad[i], 16, 5, 32, 10), PG_EFORMAT);
  assert_int_equal(pg_hw_net_nb201(&n, ALL3, 0, 5, 32, 10), PG_EINVAL);
}

/* §5.1 of the research note */
static int64_t sss_cell(int64_t ci, int64_t co, int64_t h) {
  return 2 * ci * co * 9 * h * h + 3 * co * co * 9 * h * h + (ci != co) * ci * co * h * h;
}
static int64_t sss_res(int64_t ci, int64_t co, int64_t h) {
  return ci * co * 9 * h * h + co * co * 9 * h * h + ci * co * h * h;
}

static void test_nats_sss(void **state) {
  (void)state;
  pg_hw_network n;
  assert_int_equal(pg_hw_net_nats_sss(&n, "64:64:64:64:64", 32, 10), PG_OK);
  assert_int_equal(pg_hw_network_macs(&n), 274399872); /* 274.40 M */
  pg_hw_network_free(&n);
  assert_int_equal(pg_hw_net_nats_sss(&n, "8:8:8:8:8", 32, 10), PG_OK);
  assert_true(llabs(pg_hw_network_macs(&n) - 4480000) < 5000); /* 4.48 M */
  pg_hw_network_free(&n);
  assert_int_equal(pg_hw_net_nats_sss(&n, "64:64:64:64:64", 16, 120), PG_OK);
  assert_true(llabs(pg_hw_network_macs(&n) - 68610000) < 5000); /* 68.61 M */
  pg_hw_network_free(&n);
  unsigned seed = 7;
  for (int trial = 0; trial < 100; trial++) {
    int64_t c[5];
    for (int i = 0; i < 5; i++) {
      seed = seed * 1103515245u + 12345u;
      c[i] = 8 * (1 + (seed >> 16) % 8);
    }
    char s[64];
    snprintf(s, sizeof s, "%lld:%lld:%lld:%lld:%lld", (long long)c[0], (long long)c[1],
             (long long)c[2], (long long)c[3], (long long)c[4]);
    int64_t H = trial % 2 ? 32 : 16, classes = trial % 2 ? 10 : 120;
    assert_int_equal(pg_hw_net_nats_sss(&n, s, H, classes), PG_OK);
    check_consistent(&n);
    int64_t want = 27 * c[0] * H * H + sss_cell(c[0], c[0], H) + sss_res(c[0], c[1], H / 2) +
                   sss_cell(c[1], c[2], H / 2) + sss_res(c[2], c[3], H / 4) +
                   sss_cell(c[3], c[4], H / 4) + c[4] * classes;
    assert_int_equal(pg_hw_network_macs(&n), want);
    pg_hw_network_free(&n);
  }
  assert_int_equal(pg_hw_net_nats_sss(&n, "64:64:64:64", 32, 10), PG_EFORMAT);
  assert_int_equal(pg_hw_net_nats_sss(&n, "64:64:64:64:64:", 32, 10), PG_EFORMAT);
  assert_int_equal(pg_hw_net_nats_sss(&n, "64:a:64:64:64", 32, 10), PG_EFORMAT);
  assert_int_equal(pg_hw_net_nats_sss(&n, "0:64:64:64:64", 32, 10), PG_EFORMAT);
}

static void test_torchvision(void **state) {
  (void)state;
  pg_hw_network n;
  /* torchvision parameter counts are exact (weights, BN affine, fc bias);
   * MACs: 1.81 G, 4.09 G (torchvision "GFLOPS"), 300 M (MobileNetV2 paper) */
  assert_int_equal(pg_hw_net_resnet18(&n, 224, 1000), PG_OK);
  check_consistent(&n);
  assert_int_equal(pg_hw_network_params(&n), 11689512);
  assert_int_equal(pg_hw_network_macs(&n), 1814073344);
  pg_hw_network_free(&n);
  assert_int_equal(pg_hw_net_resnet50(&n, 224, 1000), PG_OK);
  check_consistent(&n);
  assert_int_equal(pg_hw_network_params(&n), 25557032);
  assert_true(llabs(pg_hw_network_macs(&n) - 4090000000LL) < 5000000);
  pg_hw_network_free(&n);
  assert_int_equal(pg_hw_net_mobilenetv2(&n, 224, 1000), PG_OK);
  check_consistent(&n);
  assert_int_equal(pg_hw_network_params(&n), 3504872);
  assert_true(llabs(pg_hw_network_macs(&n) - 300000000LL) < 1000000);
  pg_hw_network_free(&n);
}

static int64_t shuffle_total(const char *preset, int op, int legal_small) {
  pg_hw_shufflenet_cfg c;
  assert_int_equal(pg_hw_shufflenet_preset(&c, preset), PG_OK);
  if (op >= 0)
    for (int l = 0; l < 20; l++) c.ops[l] = op;
  if (legal_small)
    for (int l = 0; l < 20; l++)
      c.ops[l] = (l == 0 || l == 4 || l == 8 || l == 16) ? 0 : PG_HW_SHUFFLE_SKIP;
  pg_hw_network n;
  assert_int_equal(pg_hw_net_shufflenet(&n, &c), PG_OK);
  check_consistent(&n);
  int64_t m = pg_hw_network_macs(&n);
  pg_hw_network_free(&n);
  return m;
}

static void test_shufflenet(void **state) {
  (void)state;
  /* ShuffleNetV2+ README: Large 360 M, Medium 222 M, Small 156 M */
  assert_true(llabs(shuffle_total("v2plus_large", -1, 0) - 360000000) < 500000);
  assert_true(llabs(shuffle_total("v2plus_medium", -1, 0) - 222000000) < 500000);
  assert_true(llabs(shuffle_total("v2plus_small", -1, 0) - 156000000) < 500000);
  /* hsconas.md B5 golden totals (c = 1.0, no SE, conv_last 1280 + FC 1000) */
  assert_true(llabs(shuffle_total("A", 0, 0) - 203060000) < 10000);
  assert_true(llabs(shuffle_total("A", 2, 0) - 238190000) < 10000);
  assert_true(llabs(shuffle_total("A", 3, 0) - 244770000) < 10000);
  assert_true(llabs(shuffle_total("A", -1, 1) - 103430000) < 10000);
  assert_true(llabs(shuffle_total("B", 0, 0) - 332650000) < 10000);
  assert_true(llabs(shuffle_total("B", 2, 0) - 379540000) < 10000);
  assert_true(llabs(shuffle_total("B", 3, 0) - 401650000) < 10000);
  assert_true(llabs(shuffle_total("B", -1, 1) - 159900000) < 10000);

  /* B4 block formula with a channel factor: layer 2 (stage 1, stride 1,
   * side 56) of layout A, 5x5 block at factor 0.3 -> mid = round(0.3*24) = 7 */
  pg_hw_shufflenet_cfg c;
  assert_int_equal(pg_hw_shufflenet_preset(&c, "A"), PG_OK);
  pg_hw_network n0, n1;
  assert_int_equal(pg_hw_net_shufflenet(&n0, &c), PG_OK);
  c.ops[1] = PG_HW_SHUFFLE_5X5;
  c.factors[1] = 0.3;
  assert_int_equal(pg_hw_net_shufflenet(&n1, &c), PG_OK);
  int64_t inp = 24, mid = 7, cout = 48, H = 56, k3 = 3;
  int64_t blk5 = inp * mid * H * H + mid * 25 * H * H + mid * (cout - inp) * H * H;
  int64_t blk3 = inp * 24 * H * H + 24 * k3 * k3 * H * H + 24 * (cout - inp) * H * H;
  assert_int_equal(pg_hw_network_macs(&n1) - pg_hw_network_macs(&n0), blk5 - blk3);
  pg_hw_network_free(&n0);
  pg_hw_network_free(&n1);
  /* skip cannot sit at a stride-2 layer; factors must be positive */
  assert_int_equal(pg_hw_shufflenet_preset(&c, "spos"), PG_OK);
  c.ops[4] = PG_HW_SHUFFLE_SKIP;
  assert_int_equal(pg_hw_net_shufflenet(&n0, &c), PG_EINVAL);
  c.ops[4] = 0;
  c.factors[3] = 0.0;
  assert_int_equal(pg_hw_net_shufflenet(&n0, &c), PG_EINVAL);
  assert_int_equal(pg_hw_shufflenet_preset(&c, "huge"), PG_EINVAL);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_scalesim_topology(void **state) {
  (void)state;
  char path[] = "/tmp/pg_topoXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  /* the simulator's AlexNet file, plus a depthwise row, a row with a stride
   * width, and blank lines */
  write_file(path,
             "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num "
             "Filter, Strides,\n"
             "Conv1     ,224         ,224        ,11           ,11          ,3       ,96        ,4      ,\n"
             "Conv2     ,27         ,27        ,5            ,5           ,96      ,256       ,1      ,\n"
             "\n"
             "CB_DP1, 10, 10, 3, 3, 4, 1, 1,\n"
             "Rect, 9, 12, 3, 2, 2, 5, 2, 3,\n"
             "Conv3,13,13,3,3,256,384,1\n"); /* no trailing comma: the stride is dropped */
  pg_hw_network n;
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 0), PG_EFORMAT);
  write_file(path,
             "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num "
             "Filter, Strides,\n"
             "Conv1     ,224         ,224        ,11           ,11          ,3       ,96        ,4      ,\n"
             "Conv2     ,27         ,27        ,5            ,5           ,96      ,256       ,1      ,\n"
             "\n"
             "CB_DP1, 10, 10, 3, 3, 4, 1, 1,\n"
             "Rect, 9, 12, 3, 2, 2, 5, 2, 3,\n");
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 0), PG_OK);
  assert_int_equal(n.n, 2 + 4 + 1);
  const pg_hw_layer *l = &n.layers[0];
  assert_string_equal(l->name, "Conv1");
  /* Eh = ceil((224 - 11 + 4) / 4) = 55 (the last window runs past the edge) */
  assert_int_equal(l->OY, 55);
  assert_int_equal(l->OX, 55);
  assert_int_equal(pg_hw_layer_macs(l), 55LL * 55 * 11 * 11 * 3 * 96);
  assert_string_equal(n.layers[2].name, "CB_DP1Channel_0");
  assert_string_equal(n.layers[5].name, "CB_DP1Channel_3");
  assert_int_equal(n.layers[3].C, 1);
  assert_int_equal(n.layers[3].K, 1);
  l = &n.layers[6];
  assert_int_equal(l->SY, 2);
  assert_int_equal(l->SX, 3);
  assert_int_equal(l->OY, 4);  /* ceil((9-3+2)/2) */
  assert_int_equal(l->OX, 5);  /* ceil((12-2+3)/3) = ceil(13/3) */
  pg_hw_network_free(&n);
  /* GEMM format: M, N, K -> H = M, W = K, 1 x K filter, 1 channel, N filters */
  write_file(path, "Layer, M, N, K,\nfc1, 64, 128, 256,\nqk, 7, 9, 11,\n");
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 1), PG_OK);
  assert_int_equal(n.n, 2);
  l = &n.layers[0];
  assert_int_equal(l->OY * l->OX, 64);
  assert_int_equal(l->K, 128);
  assert_int_equal(l->FY * l->FX * l->C, 256);
  assert_int_equal(pg_hw_layer_macs(&n.layers[1]), 7 * 9 * 11);
  pg_hw_network_free(&n);
  write_file(path, "Layer, M, N, K,\nfc1, 64, x, 256,\n");
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 1), PG_EFORMAT);
  write_file(path, "h\nConv, 5, 5, 7, 7, 1, 1, 1,\n"); /* filter larger than the input */
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 0), PG_EFORMAT);
  unlink(path);
  assert_int_equal(pg_hw_net_scalesim_topology(&n, path, 0), PG_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_layer_macs_brute_force), cmocka_unit_test(test_layer_rejects),
    cmocka_unit_test(test_nb201_published),        cmocka_unit_test(test_nb201_closed_form),
    cmocka_unit_test(test_nb201_malformed),        cmocka_unit_test(test_nats_sss),
    cmocka_unit_test(test_torchvision),            cmocka_unit_test(test_shufflenet),
    cmocka_unit_test(test_scalesim_topology),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
