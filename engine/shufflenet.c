/* shufflenet.c -- HSCoNAS / SPOS ShuffleNetV2 networks as netgraph graphs
 * (see shufflenet.h). */
#include "shufflenet.h"

#include <math.h>

#include "parallel.h"

/* conv (no bias) + BN [+ ReLU] */
static int cbr(pg_net *net, int x, size_t cout, size_t k, size_t stride, size_t groups, int relu) {
  x = pg_net_conv(net, x, cout, k, stride, k / 2, groups, 0);
  x = pg_net_bn(net, x);
  return relu ? pg_net_relu(net, x) : x;
}

/* depthwise k x k over c channels + BN */
static int dwbn(pg_net *net, int x, size_t c, size_t k, size_t stride) {
  return cbr(net, x, c, k, stride, c, 0);
}

pg_status pg_shufflenet_build(pg_net *net, const pg_hw_shufflenet_cfg *cfg) {
  if (!net) return PG_EINVAL;
  if (!cfg) return PG_EINVAL;
  if (cfg->se || cfg->input < 8 || cfg->input > 1024 || cfg->classes < 1 ||
      cfg->classes > 1000000 || cfg->stem < 1 || cfg->stem > 65536 || cfg->last < 1 ||
      cfg->last > 65536)
    return PG_EINVAL;
  static const int repeats[4] = {4, 4, 8, 4};
  int64_t prev = cfg->stem;
  for (int st = 0, l = 0; st < 4; st++) {
    int64_t cout = cfg->channels[st];
    /* even (the shuffle halves it), and wider than the stage input: the
     * stride-2 main branch makes cout - (input width) channels */
    if (cout < 2 || cout > 65536 || cout % 2 || cout <= prev) return PG_EINVAL;
    for (int i = 0; i < repeats[st]; i++, l++) {
      int op = cfg->ops[l];
      double f = cfg->factors[l];
      if (op < PG_HW_SHUFFLE_3X3 || op > PG_HW_SHUFFLE_SKIP) return PG_EINVAL;
      if (op == PG_HW_SHUFFLE_SKIP && i == 0) return PG_EINVAL;
      if (!(f > 0.0) || f > 16.0) return PG_EINVAL;
    }
    prev = cout;
  }
  size_t side = (size_t)cfg->input;
  pg_status s = pg_net_init(net, 3, side, side);
  if (s) return s;
  int x = cbr(net, 0, (size_t)cfg->stem, 3, 2, 1, 1);
  size_t c = (size_t)cfg->stem;
  for (int st = 0, l = 0; st < 4; st++) {
    size_t cout = (size_t)cfg->channels[st];
    for (int i = 0; i < repeats[st]; i++, l++) {
      int op = cfg->ops[l];
      if (op == PG_HW_SHUFFLE_SKIP) continue;
      size_t stride = i == 0 ? 2 : 1;
      size_t inp = stride == 2 ? c : cout / 2;
      size_t outputs = cout - inp;
      double m = floor(cfg->factors[l] * (double)(cout / 2) + 0.5);
      size_t mid = m < 1.0 ? 1 : (size_t)m;
      int pass, y;
      if (stride == 1) {
        int sh = pg_net_shuffle(net, x, cout / 2);
        pass = pg_net_split(net, sh, 0, inp);
        y = pg_net_split(net, sh, inp, inp);
      } else {
        size_t k = op <= PG_HW_SHUFFLE_7X7 ? (size_t)(3 + 2 * op) : 3;
        pass = dwbn(net, x, inp, k, 2);
        pass = cbr(net, pass, inp, 1, 1, 1, 1);
        y = x;
      }
      if (op <= PG_HW_SHUFFLE_7X7) {
        size_t k = (size_t)(3 + 2 * op);
        y = cbr(net, y, mid, 1, 1, 1, 1);
        y = dwbn(net, y, mid, k, stride);
        y = cbr(net, y, outputs, 1, 1, 1, 1);
      } else {
        y = dwbn(net, y, inp, 3, stride);
        y = cbr(net, y, mid, 1, 1, 1, 1);
        y = dwbn(net, y, mid, 3, 1);
        y = cbr(net, y, mid, 1, 1, 1, 1);
        y = dwbn(net, y, mid, 3, 1);
        y = cbr(net, y, outputs, 1, 1, 1, 1);
      }
      int ins[2] = {pass, y};
      x = pg_net_concat(net, ins, 2);
      c = cout;
    }
  }
  x = cbr(net, x, (size_t)cfg->last, 1, 1, 1, 1);
  x = pg_net_gap(net, x);
  pg_net_linear(net, x, (size_t)cfg->classes, 0);
  s = pg_net_finalize(net);
  if (s) pg_net_free(net);
  return s;
}

pg_status pg_shufflenet_scores(size_t n, const pg_hw_shufflenet_cfg *cfgs, const pg_tensor *x,
                               unsigned which, int repeats, uint64_t seed, int single,
                               pg_proxy_result *out, double *macs, double *params) {
  if (!n) return PG_OK;
  if (!cfgs || !out || repeats < 1 || ((which & PG_PROXY_NASWOT) && !x)) return PG_EINVAL;
  int nt = pg_par_threads(n);
  int saved = pg_par_enter(nt);
  pg_status first = PG_OK;
  size_t bad = n;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
  for (size_t i = 0; i < n; i++) {
    pg_net net;
    pg_status st = pg_shufflenet_build(&net, &cfgs[i]);
    if (!st) {
      net.single = single;
      pg_rng rng;
      pg_rng_seed(&rng, seed);
      st = pg_proxy_scores(&net, x, which, repeats, &rng, &out[i]);
      if (macs) macs[i] = pg_net_macs(&net);
      if (params) params[i] = (double)net.nparams;
      pg_net_free(&net);
    }
    if (st) {
#pragma omp critical(pg_shufflenet_first)
      if (i < bad) {
        bad = i;
        first = st;
      }
    }
  }
  pg_par_leave(saved);
  return first;
}
