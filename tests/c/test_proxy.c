/*
 * test_proxy.c -- engine/netgraph, nasnet, proxy, fmnist, gzcsv.
 *
 * Oracles: the MAC and parameter counts of the research note (closed forms
 * and published figures), brute-force counts over the 15,625 cells, a
 * NASWOT kernel computed by hand on a tiny network, SynFlow's conservation
 * law (Tanaka et al. 2020: for positively homogeneous networks the synaptic
 * saliencies of every cut of the graph sum to R), and finite differences of
 * the whole network's backward pass.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gzcsv.h"
#include "nasnet.h"
#include "netgraph.h"
#include "proxy.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static const char *ARCH0 =
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";

static void test_parse_format(void **state) {
  (void)state;
  int ops[6], back[6];
  char buf[200];
  assert_int_equal(pg_nb201_parse(ARCH0, ops), PG_OK);
  int want[6] = {PG_NB201_AVGPOOL, PG_NB201_CONV1X1, PG_NB201_SKIP,
                 PG_NB201_CONV1X1, PG_NB201_SKIP,    PG_NB201_SKIP};
  assert_memory_equal(ops, want, sizeof want);
  assert_int_equal(pg_nb201_format(ops, buf, sizeof buf), PG_OK);
  assert_string_equal(buf, ARCH0);
  for (int code = 0; code < 15625; code += 97) {
    pg_nb201_decode(code, ops);
    assert_int_equal(pg_nb201_code(ops), code);
    assert_int_equal(pg_nb201_format(ops, buf, sizeof buf), PG_OK);
    assert_int_equal(pg_nb201_parse(buf, back), PG_OK);
    assert_memory_equal(ops, back, sizeof back);
  }
  const char *bad[] = {"", "|none~0|", "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
                       "|none~0|+|none~0|none~1|+|none~0|none~1|none~2",
                       "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                       "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_nb201_parse(bad[i], ops), PG_EFORMAT);
  int ch[5];
  assert_int_equal(pg_nats_sss_parse("8:16:24:32:64", ch), PG_OK);
  assert_int_equal(ch[4], 64);
  assert_int_equal(pg_nats_sss_code(ch), ((((0 * 8 + 1) * 8 + 2) * 8 + 3) * 8 + 7));
  int ch2[5];
  pg_nats_sss_decode(pg_nats_sss_code(ch), ch2);
  assert_memory_equal(ch, ch2, sizeof ch);
  assert_int_equal(pg_nats_sss_parse("8:16:24:32", ch), PG_EFORMAT);
  assert_int_equal(pg_nats_sss_parse("8:16:24:32:72", ch), PG_EFORMAT);
  assert_int_equal(pg_nats_sss_parse("8:16:24:32:12", ch), PG_EFORMAT);
}

/* Counts over the whole space (research note §1 and §6.4). */
static void test_space_counts(void **state) {
  (void)state;
  int ops[6], disconnected = 0, zero_skip = 0;
  double s0 = 0.0;
  for (int code = 0; code < 15625; code++) {
    pg_nb201_decode(code, ops);
    disconnected += !pg_nb201_connected(ops);
    zero_skip += pg_proxy_skipscore(ops) == 0.0;
  }
  assert_int_equal(disconnected, 341);
  assert_int_equal(zero_skip, 8000);
  assert_int_equal(pg_nb201_parse(ARCH0, ops), PG_OK);
  s0 = pg_proxy_skipscore(ops);
  assert_true(fabs(s0 - 1.0 / 3.0) < 1e-15);
  int only03[6] = {0, 0, 0, PG_NB201_SKIP, 0, 0};
  assert_true(pg_proxy_skipscore(only03) == 2.0);
}

/* MACs and parameters against the research note (§3.1, §5.1). */
static void test_macs(void **state) {
  (void)state;
  pg_nasnet_cfg cfg = pg_nasnet_defaults();
  pg_net net;
  int all3[6] = {3, 3, 3, 3, 3, 3};
  assert_int_equal(pg_nb201_build(&net, all3, &cfg), PG_OK);
  assert_true(fabs(pg_net_macs(&net) / 1e6 - 220.12) < 0.005);
  assert_true(fabs((double)net.nparams / 1e6 - 1.53) < 0.005);
  pg_net_free(&net);
  /* the closed form 7.783 M + 15 (2.359296 n3 + 0.262144 n1) M */
  pg_rng rng;
  pg_rng_seed(&rng, 11);
  for (int t = 0; t < 5; t++) {
    int ops[6], n1 = 0, n3 = 0;
    pg_nb201_decode((int)pg_rng_below(&rng, 15625), ops);
    for (int e = 0; e < 6; e++) n1 += ops[e] == PG_NB201_CONV1X1, n3 += ops[e] == PG_NB201_CONV3X3;
    assert_int_equal(pg_nb201_build(&net, ops, &cfg), PG_OK);
    double want = 7.783 + 15 * (2.359296 * n3 + 0.262144 * n1);
    assert_true(fabs(pg_net_macs(&net) / 1e6 - want) < 0.001);
    pg_net_free(&net);
  }
  pg_nasnet_cfg in16 = {16, 5, 16, 120};
  assert_int_equal(pg_nb201_build(&net, all3, &in16), PG_OK);
  assert_true(fabs(pg_net_macs(&net) / 1e6 - 55.04) < 0.005);
  pg_net_free(&net);
  int big[5] = {64, 64, 64, 64, 64}, small[5] = {8, 8, 8, 8, 8};
  assert_int_equal(pg_nats_sss_build(&net, big, &cfg), PG_OK);
  assert_true(fabs(pg_net_macs(&net) / 1e6 - 274.40) < 0.005);
  pg_net_free(&net);
  assert_int_equal(pg_nats_sss_build(&net, small, &cfg), PG_OK);
  assert_true(fabs(pg_net_macs(&net) / 1e6 - 4.48) < 0.005);
  pg_net_free(&net);
  assert_int_equal(pg_nats_sss_build(&net, big, &in16), PG_OK);
  assert_true(fabs(pg_net_macs(&net) / 1e6 - 68.61) < 0.005);
  pg_net_free(&net);
  /* a cell C_in != C_out (size space, 8:16:...): the formula of §5.1 */
  int mixed[5] = {8, 16, 24, 32, 40};
  assert_int_equal(pg_nats_sss_build(&net, mixed, &cfg), PG_OK);
  double H = 32, c1 = 8, c2 = 16, c3 = 24, c4 = 32, c5 = 40;
#define CELL(ci, co, h) (2 * (ci) * (co) * 9 * (h) * (h) + 3 * (co) * (co) * 9 * (h) * (h) + ((ci) != (co)) * (ci) * (co) * (h) * (h))
#define RES(ci, co, h) ((ci) * (co) * 9 * (h) * (h) + (co) * (co) * 9 * (h) * (h) + (ci) * (co) * (h) * (h))
  double want = 27 * c1 * H * H + CELL(c1, c1, H) + RES(c1, c2, H / 2) + CELL(c2, c3, H / 2) +
                RES(c3, c4, H / 4) + CELL(c4, c5, H / 4) + c5 * 10;
  assert_true(fabs(pg_net_macs(&net) - want) < 0.5);
  pg_net_free(&net);
  /* a bad op code is refused */
  int badop[6] = {0, 0, 0, 7, 0, 0};
  assert_int_equal(pg_nb201_build(&net, badop, &cfg), PG_EINVAL);
}

/* ln|det A| by Gaussian elimination with partial pivoting (the oracle). */
static double logdet_ge(double *A, int n) {
  double s = 0.0;
  for (int k = 0; k < n; k++) {
    int p = k;
    for (int i = k + 1; i < n; i++)
      if (fabs(A[i * n + k]) > fabs(A[p * n + k])) p = i;
    for (int j = 0; j < n; j++) {
      double t = A[k * n + j];
      A[k * n + j] = A[p * n + j];
      A[p * n + j] = t;
    }
    if (A[k * n + k] == 0.0) return -INFINITY;
    s += log(fabs(A[k * n + k]));
    for (int i = k + 1; i < n; i++) {
      double f = A[i * n + k] / A[k * n + k];
      for (int j = k; j < n; j++) A[i * n + j] -= f * A[k * n + j];
    }
  }
  return s;
}

/* input -> ReLU (two modules) -> conv 1x1 (2 -> 3) -> BN -> ReLU, batch 5. */
static void test_naswot_tiny(void **state) {
  (void)state;
  enum { B = 5, C = 2, S = 2, K = 3 };
  pg_net net;
  assert_int_equal(pg_net_init(&net, C, S, S), PG_OK);
  int r1 = pg_net_relu(&net, 0);
  assert_int_equal(pg_net_relu(&net, 0), r1); /* the second module is counted, not rebuilt */
  int cv = pg_net_conv(&net, r1, K, 1, 1, 0, 1, 0);
  pg_net_relu(&net, pg_net_bn(&net, cv));
  assert_int_equal(pg_net_finalize(&net), PG_OK);
  pg_rng rng;
  pg_rng_seed(&rng, 21);
  pg_net_init_params(&net, &rng);
  const double *W = net.params + net.nodes[cv].woff; /* K x C */
  pg_tensor x;
  assert_int_equal(pg_tensor_alloc(&x, B, C, S, S), PG_OK);
  for (size_t i = 0; i < pg_tensor_numel(&x); i++) x.data[i] = pg_rng_normal(&rng);
  double score, Kc[B * B];
  assert_int_equal(pg_proxy_naswot(&net, &x, &score, Kc), PG_OK);

  /* by hand: codes of the input ReLU (twice) and of the post-BN ReLU */
  enum { NA = 2 * C * S * S + K * S * S };
  int code[B][NA];
  double y[B][K][S * S];
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      for (int p = 0; p < S * S; p++) {
        double s = 0.0;
        for (int c = 0; c < C; c++) {
          double v = x.data[(b * C + c) * S * S + p];
          s += W[k * C + c] * (v > 0 ? v : 0);
        }
        y[b][k][p] = s;
      }
  for (int b = 0; b < B; b++) {
    int e = 0;
    for (int rep = 0; rep < 2; rep++)
      for (int i = 0; i < C * S * S; i++) code[b][e++] = x.data[b * C * S * S + i] > 0;
    for (int k = 0; k < K; k++) {
      double mean = 0.0;
      for (int bb = 0; bb < B; bb++)
        for (int p = 0; p < S * S; p++) mean += y[bb][k][p];
      mean /= B * S * S;
      for (int p = 0; p < S * S; p++) code[b][e++] = y[b][k][p] > mean;
    }
    assert_int_equal(e, NA);
  }
  double Kh[B * B];
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++) {
      int same = 0;
      for (int e = 0; e < NA; e++) same += code[i][e] == code[j][e];
      Kh[i * B + j] = same;
    }
  assert_memory_equal(Kh, Kc, sizeof Kh);
  double want = logdet_ge(Kh, B); /* overwrites Kh */
  assert_true(fabs(score - want) < 1e-10);
  /* the single-precision forward (float activations) gives the same codes */
  double Kd[B * B];
  memcpy(Kd, Kc, sizeof Kd);
  net.single = 1;
  memset(Kc, 0, sizeof Kc);
  assert_int_equal(pg_proxy_naswot(&net, &x, &score, Kc), PG_OK);
  assert_memory_equal(Kd, Kc, sizeof Kd);
  assert_true(fabs(score - want) < 1e-10);
  net.single = 0;
  /* identical samples make K singular: -inf */
  memcpy(x.data + C * S * S, x.data, C * S * S * sizeof(double));
  assert_int_equal(pg_proxy_naswot(&net, &x, &score, NULL), PG_OK);
  assert_true(isinf(score) && score < 0);
  pg_tensor_free(&x);
  pg_net_free(&net);
}

/* An NB201 network with every op kind and a ZERO edge, its parameters
 * initialised from rng seeded with seed. */
static void build_mixed_nb201(pg_net *net, const pg_nasnet_cfg *cfg, pg_rng *rng, uint64_t seed) {
  int ops[6];
  assert_int_equal(pg_nb201_parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|"
                                  "nor_conv_1x1~0|none~1|skip_connect~2|",
                                  ops),
                   PG_OK);
  assert_int_equal(pg_nb201_build(net, ops, cfg), PG_OK);
  pg_rng_seed(rng, seed);
  pg_net_init_params(net, rng);
}

/* NASWOT of a whole NB201 network (every op kind, a ZERO edge, the
 * reduction blocks and the classifier head the float pass skips): the
 * float forward flips almost no codes of the double one. */
static void test_naswot_f32_nb201(void **state) {
  (void)state;
  pg_nasnet_cfg cfg = {4, 1, 16, 10};
  pg_net net;
  pg_rng rng;
  build_mixed_nb201(&net, &cfg, &rng, 41);
  enum { B = 6 };
  pg_tensor x;
  assert_int_equal(pg_tensor_alloc(&x, B, 3, 16, 16), PG_OK);
  for (size_t i = 0; i < pg_tensor_numel(&x); i++) x.data[i] = pg_rng_normal(&rng);
  double sd, sf, Kd[B * B], Kf[B * B];
  assert_int_equal(pg_proxy_naswot(&net, &x, &sd, Kd), PG_OK);
  net.single = 1;
  assert_int_equal(pg_proxy_naswot(&net, &x, &sf, Kf), PG_OK);
  /* N_A on the diagonal exactly; off the diagonal at most 1e-3 N_A apart */
  for (int i = 0; i < B; i++) {
    assert_true(Kf[i * B + i] == Kd[i * B + i] && Kd[i * B + i] > 1000);
    for (int j = 0; j < B; j++) assert_true(fabs(Kf[i * B + j] - Kd[i * B + j]) <= 1e-3 * Kd[0]);
  }
  assert_true(isfinite(sd) && fabs(sf - sd) < 1e-2 * fabs(sd));
  pg_tensor_free(&x);
  pg_net_free(&net);
}

/* Finite differences of L = sum(r * logits) through a whole NB201 network in
 * training-mode batch norm: checks netgraph's backward wiring. */
static void test_net_backward_fd(void **state) {
  (void)state;
  pg_nasnet_cfg cfg = {4, 1, 8, 3};
  pg_net net;
  pg_rng rng;
  build_mixed_nb201(&net, &cfg, &rng, 31);
  for (size_t i = 0; i < net.nparams; i++) net.params[i] += 0.1 * pg_rng_normal(&rng);
  pg_tensor x, out, r;
  assert_int_equal(pg_tensor_alloc(&x, 3, 3, 8, 8), PG_OK);
  for (size_t i = 0; i < pg_tensor_numel(&x); i++) x.data[i] = pg_rng_normal(&rng);
  assert_int_equal(pg_tensor_alloc(&r, 3, 3, 1, 1), PG_OK);
  for (size_t i = 0; i < 9; i++) r.data[i] = pg_rng_normal(&rng);
  memset(net.grads, 0, net.nparams * sizeof(double));
  assert_int_equal(pg_net_forward(&net, &x, PG_BN_TRAIN, 1, NULL, NULL, &out), PG_OK);
  pg_tensor dx;
  assert_int_equal(pg_net_backward(&net, PG_BN_TRAIN, &r, &dx), PG_OK);
  pg_tensor_free(&out);
  const double h = 1e-6;
  int checked = 0;
  for (int t = 0; t < 40; t++) {
    int isx = t % 4 == 0;
    size_t i = (size_t)pg_rng_below(&rng, isx ? pg_tensor_numel(&x) : net.nparams);
    double *p = isx ? &x.data[i] : &net.params[i], g = isx ? dx.data[i] : net.grads[i];
    double keep = *p, l[2];
    for (int s = 0; s < 2; s++) {
      *p = keep + (s ? -h : h);
      assert_int_equal(pg_net_forward(&net, &x, PG_BN_TRAIN, 0, NULL, NULL, &out), PG_OK);
      l[s] = 0.0;
      for (size_t e = 0; e < 9; e++) l[s] += r.data[e] * out.data[e];
      pg_tensor_free(&out);
    }
    *p = keep;
    double fd = (l[0] - l[1]) / (2 * h);
    if (fabs(fd - g) > 1e-5 * (1.0 + fabs(fd))) {
      print_error("%s[%zu]: analytic %.10g, finite difference %.10g\n", isx ? "x" : "param", i, g, fd);
      fail();
    }
    checked++;
  }
  assert_int_equal(checked, 40);
  pg_tensor_free(&dx);
  pg_tensor_free(&x);
  pg_tensor_free(&r);
  pg_net_free(&net);
}

/* Sum of theta * dR/dtheta over the weights of the conv/linear nodes in set. */
static double saliency(const pg_net *net, const int *set, int k) {
  double s = 0.0;
  for (int j = 0; j < k; j++) {
    const pg_net_node *nd = &net->nodes[set[j]];
    for (size_t e = 0; e < nd->wcount; e++)
      s += net->params[nd->woff + e] * net->grads[nd->woff + e];
  }
  return s;
}

static void test_synflow_conservation(void **state) {
  (void)state;
  int ops[6];
  assert_int_equal(pg_nb201_parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|"
                                  "skip_connect~0|nor_conv_3x3~1|none~2|",
                                  ops),
                   PG_OK);
  pg_nasnet_cfg cfg = {4, 2, 8, 5};
  pg_net net;
  assert_int_equal(pg_nb201_build(&net, ops, &cfg), PG_OK);
  pg_rng rng;
  pg_rng_seed(&rng, 41);
  pg_net_init_params(&net, &rng);
  double sf, lsf;
  assert_int_equal(pg_proxy_synflow(&net, &sf, &lsf), PG_OK);
  /* the same computation by hand, keeping the gradients */
  double *saved = malloc(net.nparams * sizeof *saved);
  assert_non_null(saved);
  memcpy(saved, net.params, net.nparams * sizeof *saved);
  for (size_t i = 0; i < net.nparams; i++) net.params[i] = fabs(net.params[i]);
  memset(net.grads, 0, net.nparams * sizeof(double));
  pg_tensor x, out;
  assert_int_equal(pg_tensor_alloc(&x, 1, 3, 8, 8), PG_OK);
  for (size_t i = 0; i < 192; i++) x.data[i] = 1.0;
  assert_int_equal(pg_net_forward(&net, &x, PG_BN_IDENTITY, 1, NULL, NULL, &out), PG_OK);
  double R = 0.0;
  for (size_t i = 0; i < 5; i++) R += out.data[i], out.data[i] = 1.0;
  assert_int_equal(pg_net_backward(&net, PG_BN_IDENTITY, &out, NULL), PG_OK);
  assert_true(R > 0);
  /* cuts: the stem conv, the classifier, and {conv_b, shortcut conv} of each
   * reduction block carry all the flow */
  int stem = 1, head = net.output;
  assert_int_equal(net.nodes[stem].op, PG_NET_CONV);
  assert_int_equal(net.nodes[head].op, PG_NET_LINEAR);
  assert_true(fabs(saliency(&net, &stem, 1) / R - 1.0) < 1e-12);
  assert_true(fabs(saliency(&net, &head, 1) / R - 1.0) < 1e-12);
  int blocks = 0;
  for (size_t i = 0; i < net.n; i++) {
    const pg_net_node *nd = &net.nodes[i];
    if (nd->op != PG_NET_ADD || nd->nin != 2 || net.nodes[nd->in[1]].op != PG_NET_CONV) continue;
    const pg_net_node *bn = &net.nodes[nd->in[0]];
    if (bn->op != PG_NET_BN || net.nodes[bn->in[0]].op != PG_NET_CONV) continue;
    int cut[2] = {bn->in[0], nd->in[1]};
    assert_true(fabs(saliency(&net, cut, 2) / R - 1.0) < 1e-12);
    /* neither member alone is a cut */
    assert_true(saliency(&net, cut, 1) < R * (1 - 1e-6));
    blocks++;
  }
  assert_int_equal(blocks, 2);
  /* the proxy is the sum of |theta * g| and |theta * ln(g + 1)| over weights */
  double s = 0.0, ls = 0.0;
  for (size_t i = 0; i < net.n; i++) {
    const pg_net_node *nd = &net.nodes[i];
    if (nd->op != PG_NET_CONV && nd->op != PG_NET_LINEAR) continue;
    for (size_t e = 0; e < nd->wcount; e++) {
      double w = net.params[nd->woff + e], g = net.grads[nd->woff + e];
      assert_true(g >= 0.0);
      s += fabs(w * g);
      ls += fabs(w * log(g + 1.0));
    }
  }
  assert_true(fabs(sf / s - 1.0) < 1e-12);
  assert_true(fabs(lsf / ls - 1.0) < 1e-9);
  /* parameters were restored by pg_proxy_synflow */
  memcpy(net.params, saved, net.nparams * sizeof *saved);
  double sf2, lsf2;
  assert_int_equal(pg_proxy_synflow(&net, &sf2, &lsf2), PG_OK);
  assert_true(sf2 == sf && lsf2 == lsf);
  /* a disconnected cell passes no flow */
  pg_net_free(&net);
  int dead[6] = {PG_NB201_CONV3X3, PG_NB201_CONV1X1, PG_NB201_NONE, PG_NB201_NONE, PG_NB201_NONE,
                 PG_NB201_NONE};
  assert_int_equal(pg_nb201_build(&net, dead, &cfg), PG_OK);
  pg_net_init_params(&net, &rng);
  assert_int_equal(pg_proxy_synflow(&net, &sf, &lsf), PG_OK);
  assert_true(sf == 0.0 && lsf == 0.0);
  free(saved);
  pg_tensor_free(&x);
  pg_tensor_free(&out);
  pg_net_free(&net);
}

static void test_scores_and_combine(void **state) {
  (void)state;
  int ops[6];
  assert_int_equal(pg_nb201_parse(ARCH0, ops), PG_OK);
  pg_nasnet_cfg cfg = {4, 1, 8, 10};
  pg_net net;
  assert_int_equal(pg_nb201_build(&net, ops, &cfg), PG_OK);
  pg_rng rng, r2;
  pg_tensor x;
  pg_rng_seed(&rng, 5);
  assert_int_equal(pg_noise_batch(8, 8, &rng, &x), PG_OK);
  /* the mean over repeats equals the mean of single runs with the same stream */
  pg_proxy_result a, b;
  pg_rng_seed(&rng, 9);
  r2 = rng;
  assert_int_equal(pg_proxy_scores(&net, &x, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, 3, &rng, &a),
                   PG_OK);
  double nw = 0, ls = 0;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pg_proxy_scores(&net, &x, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, 1, &r2, &b),
                     PG_OK);
    nw += b.naswot / 3;
    ls += b.logsynflow / 3;
  }
  assert_true(fabs(a.naswot - nw) < 1e-9 * fabs(nw) && fabs(a.logsynflow - ls) < 1e-9 * ls);
  assert_int_equal(pg_proxy_scores(&net, &x, PG_PROXY_SYNFLOW, 1, &rng, &b), PG_OK);
  assert_true(isnan(b.naswot) && b.synflow > 0);
  assert_int_equal(pg_proxy_scores(&net, NULL, PG_PROXY_NASWOT, 1, &rng, &b), PG_EINVAL);
  assert_int_equal(pg_proxy_scores(&net, &x, PG_PROXY_NASWOT, 0, &rng, &b), PG_EINVAL);
  pg_tensor_free(&x);
  pg_net_free(&net);

  /* combination: three candidates, two proxies */
  double s[6] = {1, 10, 3, 20, -INFINITY, 30}, out[3];
  assert_int_equal(pg_proxy_combine(3, 2, s, PG_COMBINE_MINMAX, out), PG_OK);
  assert_true(fabs(out[0] - 0.0) < 1e-15 && fabs(out[1] - 0.75) < 1e-15 &&
              fabs(out[2] - 0.5) < 1e-15);
  assert_int_equal(pg_proxy_combine(3, 2, s, PG_COMBINE_MAXABS, out), PG_OK);
  assert_true(fabs(out[0] - (1 / (3 + 1e-9) + 10 / (30 + 1e-9))) < 1e-12);
  assert_true(fabs(out[2] - 1.0) < 1e-9);
  assert_int_equal(pg_proxy_combine(3, 2, s, (pg_combine_mode)7, out), PG_EINVAL);
}

static void test_fmnist(void **state) {
  (void)state;
  pg_rng rng;
  pg_tensor a, b;
  pg_rng_seed(&rng, 3);
  assert_int_equal(pg_fmnist_batch("/nonexistent/images.gz", 4, 28, &rng, &a), PG_EIO);
  if (access(FMNIST, R_OK) != 0) {
    print_message("SKIP fmnist part: %s absent (apt-get install dataset-fashion-mnist)\n", FMNIST);
    return;
  }
  if (getenv("PERIGEE_VALGRIND")) {
    print_message("SKIP fmnist part under valgrind (decompresses 26 MB)\n");
    return;
  }
  pg_rng_seed(&rng, 3);
  assert_int_equal(pg_fmnist_batch(FMNIST, 6, 28, &rng, &a), PG_OK);
  pg_rng_seed(&rng, 3);
  assert_int_equal(pg_fmnist_batch(FMNIST, 6, 28, &rng, &b), PG_OK);
  assert_memory_equal(a.data, b.data, pg_tensor_numel(&a) * sizeof(double));
  pg_tensor_free(&b);
  double lo = (0 - 0.2860) / 0.3530, hi = (1 - 0.2860) / 0.3530;
  size_t plane = 28 * 28;
  for (size_t i = 0; i < 6; i++) {
    const double *o = a.data + i * 3 * plane;
    assert_memory_equal(o, o + plane, plane * sizeof *o);
    assert_memory_equal(o, o + 2 * plane, plane * sizeof *o);
    for (size_t e = 0; e < plane; e++) {
      assert_true(o[e] >= lo - 1e-12 && o[e] <= hi + 1e-12);
      /* at side 28 no resampling: every value is a pixel level k/255 */
      double k = (o[e] * 0.3530 + 0.2860) * 255;
      assert_true(fabs(k - round(k)) < 1e-9);
    }
    if (i) assert_memory_not_equal(o, a.data, plane * sizeof *o);
  }
  /* resized to 32: the mean of a resized image stays close to the original's */
  pg_rng_seed(&rng, 3);
  assert_int_equal(pg_fmnist_batch(FMNIST, 6, 32, &rng, &b), PG_OK);
  for (size_t i = 0; i < 6; i++) {
    double m28 = 0, m32 = 0;
    for (size_t e = 0; e < plane; e++) m28 += a.data[i * 3 * plane + e] / plane;
    for (size_t e = 0; e < 1024; e++) m32 += b.data[i * 3 * 1024 + e] / 1024;
    assert_true(fabs(m28 - m32) < 0.1);
  }
  pg_tensor_free(&a);
  pg_tensor_free(&b);
}

static void test_gzcsv(void **state) {
  (void)state;
  char path[] = "/tmp/perigee_test_gzcsv_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  const char *text = "a,b,c\n1,x,-inf\n\n2,,3.5\n";
  assert_int_equal(pg_gz_write(path, text, strlen(text)), PG_OK);
  pg_csv t;
  assert_int_equal(pg_csv_read(path, &t), PG_OK);
  assert_int_equal(t.nrows, 2);
  assert_int_equal(t.ncols, 3);
  assert_int_equal(pg_csv_col(&t, "c"), 2);
  assert_int_equal(pg_csv_col(&t, "d"), -1);
  assert_string_equal(pg_csv_cell(&t, 0, 2), "-inf");
  assert_string_equal(pg_csv_cell(&t, 1, 1), "");
  assert_null(pg_csv_cell(&t, 2, 0));
  pg_csv_free(&t);
  const char *bad = "a,b\n1,2,3\n";
  assert_int_equal(pg_gz_write(path, bad, strlen(bad)), PG_OK);
  assert_int_equal(pg_csv_read(path, &t), PG_EFORMAT);
  remove(path);
  assert_int_equal(pg_csv_read(path, &t), PG_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_format),       cmocka_unit_test(test_space_counts),
      cmocka_unit_test(test_macs),               cmocka_unit_test(test_naswot_tiny), cmocka_unit_test(test_naswot_f32_nb201),
      cmocka_unit_test(test_net_backward_fd),    cmocka_unit_test(test_synflow_conservation),
      cmocka_unit_test(test_scores_and_combine), cmocka_unit_test(test_fmnist),
      cmocka_unit_test(test_gzcsv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
