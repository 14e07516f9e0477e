/*
 * dataflow.c -- DeFiNES-style accelerator cost model (see dataflow.h and
 * docs/dataflow.md for every formula and its source).
 *
 * Sources: L. Mei et al., "DeFiNES: Enabling Fast Exploration of the
 * Depth-first Scheduling Space for DNN Accelerators through Analytical
 * Modeling", HPCA 2023, and its public code KULeuven-MICAS/DeFiNES (ZigZag
 * cost model); Coflex (myh1998/Coflex) for the six-parameter template.
 *
 * Structure:
 *   1. one (layer, tile) loop nest on the hierarchy: spatial unrolling, a
 *      fixed temporal order cut greedily into memory levels per operand,
 *      closed-form reads and writes per level (layer_traffic);
 *   2. a network: stacks (fuse depth from weight capacity), tiles and their
 *      back-propagation through the stack, grouped into tile classes that
 *      cost the same (stack_tiles), placement of feature maps, copies and
 *      caches (eval_stack);
 *   3. energy and latency from the access counts.
 */
#include "dataflow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* inline min / max (libm's fmin/fmax are calls and handle NaN we never have) */
static inline double mn(double a, double b) { return a < b ? a : b; }
static inline double mx(double a, double b) { return a > b ? a : b; }

static const char *const loop_names[PG_DF_NLOOPS] = {"B", "K", "C", "OY", "OX", "FY", "FX"};

const char *pg_df_loop_name(int loop) {
  return loop >= 0 && loop < PG_DF_NLOOPS ? loop_names[loop] : "?";
}

int pg_df_loop_from_name(const char *s) {
  if (!s) return -1;
  for (int i = 0; i < PG_DF_NLOOPS; i++)
    if (strcmp(s, loop_names[i]) == 0) return i;
  return -1;
}

void pg_df_options_default(pg_df_options *o) {
  o->schedule = PG_DF_DEPTH_FIRST;
  o->mode = PG_DF_FULLY_CACHED;
  o->tile_x = 8;
  o->tile_y = 8;
  o->fuse = 1;
}

double pg_df_edp(const pg_df_cost *c, double clock_hz) {
  if (!(clock_hz > 0)) clock_hz = 2.2e9;
  return c->energy * 1e-12 * (c->cycles / clock_hz) * 1e6;
}

/* ------------------------------------------------------------------------ */
/* Accelerator checks                                                       */

pg_status pg_df_validate(const pg_df_accel *a) {
  if (!a || a->n_dims < 1 || a->n_dims > PG_DF_MAX_DIMS) return PG_EINVAL;
  for (int d = 0; d < a->n_dims; d++) {
    if (a->dim_size[d] < 1 || a->dim_size[d] > (1 << 20)) return PG_EINVAL;
    if (a->dim_loop[d] < 0 || a->dim_loop[d] >= PG_DF_NLOOPS) return PG_EINVAL;
    if (a->dim_limit[d] < 0) return PG_EINVAL;
    if (a->dim_alt[d] < 0 || a->dim_alt[d] > PG_DF_NLOOPS) return PG_EINVAL;
  }
  if (a->n_levels < 1 || a->n_levels > PG_DF_MAX_LEVELS) return PG_EINVAL;
  unsigned all = (1u << a->n_dims) - 1u;
  for (int l = 0; l < a->n_levels; l++) {
    const pg_df_level *v = &a->levels[l];
    if (!(v->size >= 0) || !isfinite(v->size)) return PG_EINVAL;
    if (!(v->rbw > 0) || !(v->wbw > 0) || !isfinite(v->rbw) || !isfinite(v->wbw))
      return PG_EINVAL;
    if (!(v->e_rd >= 0) || !(v->e_wr >= 0) || !isfinite(v->e_rd) || !isfinite(v->e_wr))
      return PG_EINVAL;
    if (v->operands == 0 || (v->operands & ~7u)) return PG_EINVAL;
    if (v->served & ~all) return PG_EINVAL;
  }
  const pg_df_level *top = &a->levels[a->n_levels - 1];
  if (top->operands != 7u || top->size != 0 || top->served != all) return PG_EINVAL;
  for (int l = 0; l + 1 < a->n_levels; l++)
    if (a->levels[l].size == 0) return PG_EINVAL; /* only the last level is unbounded */
  int seen = 0;
  for (int i = 0; i < PG_DF_NLOOPS; i++) {
    if (a->order[i] < 0 || a->order[i] >= PG_DF_NLOOPS || (seen & (1 << a->order[i])))
      return PG_EINVAL;
    seen |= 1 << a->order[i];
  }
  if (!(a->e_mac >= 0) || !isfinite(a->e_mac)) return PG_EINVAL;
  if (!(a->psum_bits >= 1) || !isfinite(a->psum_bits)) return PG_EINVAL;
  if (!(a->clock_hz > 0) || !isfinite(a->clock_hz)) return PG_EINVAL;
  return PG_OK;
}

/* ------------------------------------------------------------------------ */
/* Normalised layers                                                        */

typedef struct lay {
  double B, K, C, Cg, OY, OX, FY, FX, IY, IX, SY, SX, PY, PX, groups;
  double pi, pw, po; /* precisions, bits */
  double wbits;      /* weights of the layer, bits */
  int has_w, n_in;
  int in[2]; /* producers (-1: network input) */
} lay;

static double dflt(int64_t v, double d) { return v > 0 ? (double)v : d; }

/* Fill the normalised loop nest of layer i; PG_EINVAL on inconsistency. */
static pg_status normalise(const pg_hw_network *net, size_t i, lay *y) {
  const pg_hw_layer *s = &net->layers[i];
  if (s->kind < 0 || s->kind >= PG_HW_KIND_COUNT) return PG_EINVAL;
  if (s->B < 0 || s->K < 0 || s->C < 0 || s->OY < 0 || s->OX < 0 || s->FY < 0 || s->FX < 0 ||
      s->SY < 0 || s->SX < 0 || s->PY < 0 || s->PX < 0 || s->groups < 0 || s->IY < 0 ||
      s->IX < 0)
    return PG_EINVAL;
  y->B = dflt(s->B, 1);
  y->C = dflt(s->C, 0);
  y->K = dflt(s->K, y->C);
  y->OY = dflt(s->OY, 1);
  y->OX = dflt(s->OX, 1);
  y->FY = dflt(s->FY, 1);
  y->FX = dflt(s->FX, 1);
  y->SY = dflt(s->SY, 1);
  y->SX = dflt(s->SX, 1);
  y->PY = (double)s->PY;
  y->PX = (double)s->PX;
  y->groups = dflt(s->groups, 1);
  y->pi = s->prec_i > 0 ? s->prec_i : 8;
  y->pw = s->prec_w > 0 ? s->prec_w : 8;
  y->po = s->prec_o > 0 ? s->prec_o : 8;
  y->has_w = 1;
  y->n_in = 1;
  switch (s->kind) {
  case PG_HW_DEPTHWISE: y->groups = y->C; break;
  case PG_HW_POOL: y->K = y->C; y->groups = y->C; y->has_w = 0; break;
  case PG_HW_ADD:
    y->K = y->C; y->groups = y->C; y->has_w = 0; y->n_in = 2;
    y->FY = y->FX = 1; y->SY = y->SX = 1; y->PY = y->PX = 0;
    break;
  default: break;
  }
  if (y->C < 1 || y->K < 1 || y->groups < 1) return PG_EINVAL;
  if (fmod(y->C, y->groups) != 0 || fmod(y->K, y->groups) != 0) return PG_EINVAL;
  y->Cg = y->C / y->groups;
  y->IY = s->IY > 0 ? (double)s->IY : y->SY * (y->OY - 1) + y->FY - 2 * y->PY;
  y->IX = s->IX > 0 ? (double)s->IX : y->SX * (y->OX - 1) + y->FX - 2 * y->PX;
  if (y->IY < 1 || y->IX < 1) return PG_EINVAL;
  y->wbits = y->has_w ? y->K * y->Cg * y->FY * y->FX * y->pw : 0;
  y->in[0] = s->input;
  y->in[1] = s->kind == PG_HW_ADD ? s->input2 : -1;
  for (int q = 0; q < y->n_in; q++)
    if (y->in[q] < PG_HW_ZERO || y->in[q] >= (int)i) return PG_EINVAL;
  return PG_OK;
}

/* ------------------------------------------------------------------------ */
/* 1. One loop nest on the hierarchy                                        */

/* A (layer, tile) loop nest: loop sizes, input extents, strides. */
typedef struct sub {
  double L[PG_DF_NLOOPS];
  double IY, IX, SY, SX, groups, Kfull;
  double prec[PG_DF_NOPER]; /* I, W, final O */
  int has_w, n_in;
} sub;

/* Access counts of one loop nest. */
typedef struct traffic {
  double rd[PG_DF_MAX_LEVELS][PG_DF_NOPER], wr[PG_DF_MAX_LEVELS][PG_DF_NOPER];
  double comp;      /* temporal cycles */
  double stall;     /* roofline stall beyond comp */
  double load;      /* initial fill */
} traffic;

static int relevant(int X, int loop, const sub *s) {
  switch (X) {
  case PG_DF_W: return loop == PG_DF_K || loop == PG_DF_C || loop == PG_DF_FY || loop == PG_DF_FX;
  case PG_DF_O: return loop == PG_DF_B || loop == PG_DF_K || loop == PG_DF_OY || loop == PG_DF_OX;
  default: return loop != PG_DF_K || s->groups > 1;
  }
}

/* Elements of operand X covered by loop extents e[]. */
static double footprint(int X, const sub *s, const double e[PG_DF_NLOOPS]) {
  switch (X) {
  case PG_DF_W: return e[PG_DF_K] * e[PG_DF_C] * e[PG_DF_FY] * e[PG_DF_FX];
  case PG_DF_O: return e[PG_DF_B] * e[PG_DF_K] * e[PG_DF_OY] * e[PG_DF_OX];
  default: {
    /* sliding windows overlap when the stride is below the window */
    double iy = mn(s->IY, mn(e[PG_DF_OY] * e[PG_DF_FY], s->SY * (e[PG_DF_OY] - 1) + e[PG_DF_FY]));
    double ix = mn(s->IX, mn(e[PG_DF_OX] * e[PG_DF_FX], s->SX * (e[PG_DF_OX] - 1) + e[PG_DF_FX]));
    double cin = e[PG_DF_C];
    if (s->groups > 1) cin *= mn(s->groups, ceil(e[PG_DF_K] * s->groups / s->Kfull));
    return e[PG_DF_B] * cin * iy * ix * s->n_in;
  }
  }
}

/* Extents of the loops: temporal part tb[] times the spatial unrolling sp[]
 * of the array dims an instance covers, clipped to the loop size. */
static inline void extents(const sub *s, const double sp[], const double tb[],
                           double e[PG_DF_NLOOPS]) {
  for (int l = 0; l < PG_DF_NLOOPS; l++) e[l] = mn(tb[l] * sp[l], s->L[l]);
}

/* Largest divisor f of r (1 <= f < r) with fits(f); 1 if none. */
typedef struct fitctx {
  const sub *s;
  const double *sp;
  double *tb;
  int X, loop;
  double bits, cap;
} fitctx;

static int fits(const fitctx *c, double f) {
  double e[PG_DF_NLOOPS];
  double save = c->tb[c->loop];
  c->tb[c->loop] = save * f;
  extents(c->s, c->sp, c->tb, e);
  c->tb[c->loop] = save;
  return footprint(c->X, c->s, e) * c->bits <= c->cap;
}

/* The footprint grows with f, so the fitting divisors form a prefix of the
 * sorted divisors: walk the small divisors up, then the large ones down. */
static int64_t largest_fitting_divisor(const fitctx *c, int64_t r) {
  int64_t small[64];
  int ns = 0;
  for (int64_t i = 2; i * i <= r && ns < 64; i++)
    if (r % i == 0) small[ns++] = i;
  int64_t best = 1;
  for (int k = 0; k < ns; k++) { /* ascending */
    if (!fits(c, (double)small[k])) return best;
    best = small[k];
  }
  for (int k = ns - 1; k >= 0; k--) { /* the co-divisors, ascending */
    int64_t j = r / small[k];
    if (j == small[k] || j >= r) continue;
    if (!fits(c, (double)j)) return best;
    best = j;
  }
  return best;
}

/* Instances of level l: unrolling of the array dims it is not shared over. */
static double instances(const pg_df_accel *a, int l, const double u[]) {
  double n = 1;
  for (int d = 0; d < a->n_dims; d++)
    if (!(a->levels[l].served & (1u << d))) n *= u[d];
  return n;
}

static unsigned all_dims(const pg_df_accel *a) { return (1u << a->n_dims) - 1u; }

/* Spatial unrolling of loop sizes L: per array dim the loop it unrolls
 * (dim_loop, or dim_alt when that uses more PEs for this layer) in dl[] and
 * its unrolling u[] (capped by the dim size, its limit and what is left of
 * the loop); U[loop] = product of the u of the dims unrolling it. */
static void unroll(const pg_df_accel *a, const double L[PG_DF_NLOOPS], double u[], int dl[],
                   double U[PG_DF_NLOOPS]) {
  for (int l = 0; l < PG_DF_NLOOPS; l++) U[l] = 1;
  for (int d = 0; d < a->n_dims; d++) {
    double lim = (double)a->dim_size[d];
    if (a->dim_limit[d] > 0 && (double)a->dim_limit[d] < lim) lim = (double)a->dim_limit[d];
    int lp = a->dim_loop[d];
    double ud = mn(lim, ceil(L[lp] / U[lp]));
    if (a->dim_alt[d] > 0) {
      int al = a->dim_alt[d] - 1;
      double ua = mn(lim, ceil(L[al] / U[al]));
      if (ua > ud) { lp = al; ud = ua; }
    }
    dl[d] = lp;
    u[d] = ud;
    U[lp] *= ud;
  }
}

/* Costs of the loop nest s with operand X's chain cut at level top[X]
 * (the top receives all remaining loops). Adds to t. */
static void layer_traffic(const pg_df_accel *a, const sub *s, const int top[PG_DF_NOPER],
                          traffic *t) {
  double u[PG_DF_MAX_DIMS], U[PG_DF_NLOOPS], T[PG_DF_NLOOPS];
  int dl[PG_DF_MAX_DIMS];
  unroll(a, s->L, u, dl, U);
  double comp = 1, pe = 1;
  for (int l = 0; l < PG_DF_NLOOPS; l++) {
    T[l] = ceil(s->L[l] / U[l]);
    comp *= T[l];
  }
  for (int d = 0; d < a->n_dims; d++) pe *= u[d];
  double macs_pad = comp * pe; /* MAC slots, spatial under-use included */
  double ninst[PG_DF_MAX_LEVELS];
  double sp[PG_DF_MAX_LEVELS][PG_DF_NLOOPS]; /* unrolling inside one instance */
  for (int l = 0; l < a->n_levels; l++) {
    ninst[l] = instances(a, l, u);
    for (int k = 0; k < PG_DF_NLOOPS; k++) sp[l][k] = 1;
    for (int d = 0; d < a->n_dims; d++)
      if (a->levels[l].served & (1u << d)) sp[l][dl[d]] *= u[d];
  }
  int present = 0;
  for (int X = 0; X < PG_DF_NOPER; X++)
    if (X != PG_DF_W || s->has_w) present |= 1 << X;
  double rd[PG_DF_MAX_LEVELS][PG_DF_NOPER] = {{0}}, wr[PG_DF_MAX_LEVELS][PG_DF_NOPER] = {{0}};
  double load = 0;

  for (int X = 0; X < PG_DF_NOPER; X++) {
    if (!(present & (1 << X))) continue;
    double bits = X == PG_DF_O ? a->psum_bits : s->prec[X];
    /* the chain of X up to its top, and the loop pieces per level */
    int chain[PG_DF_MAX_LEVELS], nc = 0;
    for (int l = 0; l <= top[X]; l++)
      if (a->levels[l].operands & (1u << X)) chain[nc++] = l;
    int pl[2 * PG_DF_NLOOPS + PG_DF_MAX_LEVELS];    /* piece loop */
    double pf[2 * PG_DF_NLOOPS + PG_DF_MAX_LEVELS]; /* piece factor */
    int np = 0;
    int act[PG_DF_MAX_LEVELS], na = 0;          /* active levels (chain positions) */
    int cut[PG_DF_MAX_LEVELS];                  /* pieces below and at that level */
    double fpi[PG_DF_MAX_LEVELS], fpu[PG_DF_MAX_LEVELS];
    double tb[PG_DF_NLOOPS], rem[PG_DF_NLOOPS];
    for (int l = 0; l < PG_DF_NLOOPS; l++) { tb[l] = 1; rem[l] = T[l]; }
    int o = 0;
    for (int j = 0; j < nc; j++) {
      int lv = chain[j];
      const pg_df_level *v = &a->levels[lv];
      int last = j == nc - 1;
      double e[PG_DF_NLOOPS];
      if (!last) {
        int share = 0;
        for (int Y = 0; Y < PG_DF_NOPER; Y++)
          if ((v->operands & (1u << Y)) && (present & (1 << Y))) share++;
        fitctx c = {s, sp[lv], tb, X, 0, bits, v->size / share};
        extents(s, sp[lv], tb, e);
        if (footprint(X, s, e) * bits > c.cap) continue; /* cannot hold one tile: bypass */
        while (o < PG_DF_NLOOPS) {
          int lp = a->order[o];
          double r = rem[lp];
          if (r <= 1) { o++; continue; }
          if (!relevant(X, lp, s)) { /* does not change the footprint: always fits */
            pl[np] = lp; pf[np++] = r; tb[lp] *= r; rem[lp] = 1; o++;
            continue;
          }
          c.loop = lp;
          if (fits(&c, r)) {
            pl[np] = lp; pf[np++] = r; tb[lp] *= r; rem[lp] = 1; o++;
            continue;
          }
          double f = (double)largest_fitting_divisor(&c, (int64_t)r);
          if (f > 1) { pl[np] = lp; pf[np++] = f; tb[lp] *= f; rem[lp] = r / f; }
          break;
        }
      } else {
        for (; o < PG_DF_NLOOPS; o++) {
          int lp = a->order[o];
          if (rem[lp] > 1) { pl[np] = lp; pf[np++] = rem[lp]; tb[lp] *= rem[lp]; rem[lp] = 1; }
        }
      }
      extents(s, sp[lv], tb, e);
      fpi[na] = footprint(X, s, e);
      extents(s, U, tb, e);
      fpu[na] = footprint(X, s, e);
      cut[na] = np;
      act[na++] = lv;
    }
    /* accesses at the lowest active level, towards the MACs */
    int l0 = act[0];
    double mc = 1; /* multicast / spatial reduction inside the lowest level */
    for (int d = 0; d < a->n_dims; d++)
      if ((a->levels[l0].served & (1u << d)) && !relevant(X, dl[d], s)) mc *= u[d];
    double per_mac = macs_pad / mc;
    if (X == PG_DF_O) {
      double distinct = 1;
      for (int l = 0; l < PG_DF_NLOOPS; l++)
        if (relevant(PG_DF_O, l, s)) distinct *= T[l] * U[l];
      for (int d = 0; d < a->n_dims; d++)
        if (!(a->levels[l0].served & (1u << d)) && !relevant(X, dl[d], s))
          distinct *= u[d];
      wr[l0][X] += per_mac * bits;
      rd[l0][X] += mx(0, per_mac - distinct) * bits;
    } else {
      rd[l0][X] += per_mac * bits * (X == PG_DF_I ? s->n_in : 1); /* ADD reads two inputs */
    }
    /* between consecutive active levels */
    for (int k = 0; k + 1 < na; k++) {
      int lo = act[k], hi = act[k + 1];
      double F = 1, D = 1;
      int p = cut[k], lead = 1;
      for (; p < np; p++) {
        int r = relevant(X, pl[p], s);
        if (lead && !r) continue;
        lead = 0;
        F *= pf[p];
        if (r) D *= pf[p];
      }
      if (X == PG_DF_O) {
        double fin = D * fpu[k], up = F * fpu[k];
        double fin_i = D * fpi[k] * ninst[lo], up_i = F * fpi[k] * ninst[lo];
        wr[hi][X] += fin * s->prec[PG_DF_O] + (up - fin) * bits;
        rd[lo][X] += fin_i * s->prec[PG_DF_O] + (up_i - fin_i) * bits;
        rd[hi][X] += (up - fin) * bits;          /* partial sums read back */
        wr[lo][X] += (up_i - fin_i) * bits;
      } else {
        rd[hi][X] += F * fpu[k] * bits;
        wr[lo][X] += F * fpi[k] * ninst[lo] * bits;
        double tl = mx(fpu[k] * bits / a->levels[hi].rbw,
                         fpi[k] * ninst[lo] * bits / (a->levels[lo].wbw * ninst[lo]));
        load += tl;
      }
    }
  }
  /* roofline per level: transfer time against the compute cycles */
  double tmax = 0;
  for (int l = 0; l < a->n_levels; l++) {
    double r = 0, w = 0;
    for (int X = 0; X < PG_DF_NOPER; X++) {
      r += rd[l][X];
      w += wr[l][X];
      t->rd[l][X] += rd[l][X];
      t->wr[l][X] += wr[l][X];
    }
    double tl = mx(r / (a->levels[l].rbw * ninst[l]), w / (a->levels[l].wbw * ninst[l]));
    if (tl > tmax) tmax = tl;
  }
  t->comp += comp;
  t->stall += mx(0, tmax - comp);
  t->load += load;
}

/* ------------------------------------------------------------------------ */
/* 2. Stacks and tiles                                                      */

/* One direction (x or y) of one tile: per stack layer the computed output
 * width, the input width and the part of the input that is new (not in a
 * cache). */
typedef struct span { double lo, hi; } span;

/* Required input range of a layer for output range c (one direction). */
static span in_range(span c, double s, double f, double p, double n_in) {
  span r = {0, 0};
  if (c.hi <= c.lo) return r;
  r.lo = mx(0, s * c.lo - p);
  r.hi = mn(n_in, s * (c.hi - 1) - p + f);
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

/* Working memory of one evaluation. */
typedef struct work {
  const pg_df_accel *a;
  const lay *ly;
  size_t n;
  int *stack_start; /* per stack, first layer; n_stack + 1 entries */
  int n_stack;
  int *outside;     /* layer output consumed by a later stack */
  int *clean;       /* scratch of build_stacks */
  int *stack_lbl;   /* stack runs layer by layer (weights too large) */
  /* per direction tile classes: signatures (3 doubles per stack layer) */
  double *sig[2];
  double *cnt[2];
  int ncls[2];
  double *need_hi_prev, *in_hi_prev;
  span *need, *inr;
  pg_df_cost *acc; /* per layer accumulators */
} work;

/* Tile classes of one direction for the stack [l0, l1]. dir 0 = x. */
static pg_status stack_tiles(work *w, int l0, int l1, int dir, double tile, int cached) {
  const lay *ly = w->ly;
  int nl = l1 - l0 + 1;
  double O = dir ? ly[l1].OY : ly[l1].OX;
  if (tile > O) tile = O;
  int64_t nt = (int64_t)ceil(O / tile);
  double rema = O - (double)(nt - 1) * tile; /* first tile takes the remainder */
  double *sig = w->sig[dir], *cnt = w->cnt[dir];
  int ncls = 0;
  for (int k = 0; k < nl; k++) w->need_hi_prev[k] = w->in_hi_prev[k] = 0;
  double cur[3 * 64];
  double *cs = nl <= 64 ? cur : malloc(sizeof(double) * 3 * (size_t)nl);
  if (!cs) return PG_ENOMEM;
  for (int64_t i = 0; i < nt; i++) {
    span t;
    t.lo = i == 0 ? 0 : rema + (double)(i - 1) * tile;
    t.hi = i == 0 ? rema : t.lo + tile;
    /* consumers come after their producers: walk the stack backwards and
     * widen each producer's need by the input range of its consumer */
    for (int k = 0; k < nl; k++) { w->need[k].lo = 1e300; w->need[k].hi = -1e300; }
    w->need[nl - 1] = t;
    for (int k = nl - 1; k >= 0; k--) {
      int li = l0 + k;
      span nd = w->need[k];
      if (nd.hi <= nd.lo) nd.lo = nd.hi = 0;
      span cp = nd;
      if (cached && cp.lo < w->need_hi_prev[k]) cp.lo = mn(cp.hi, w->need_hi_prev[k]);
      const lay *y = &ly[li];
      span ir = dir ? in_range(cp, y->SY, y->FY, y->PY, y->IY)
                    : in_range(cp, y->SX, y->FX, y->PX, y->IX);
      double nw = ir.hi - ir.lo;
      if (cached && ir.hi > ir.lo) nw = ir.hi - mx(ir.lo, mn(ir.hi, w->in_hi_prev[k]));
      w->need[k] = nd;
      w->inr[k] = ir;
      cs[3 * k] = cp.hi - cp.lo;
      cs[3 * k + 1] = ir.hi - ir.lo;
      cs[3 * k + 2] = nw;
      if (ir.hi > ir.lo)
        for (int q = 0; q < y->n_in; q++) {
          int p = y->in[q] - l0;
          if (p < 0) continue; /* produced outside the stack */
          w->need[p].lo = mn(w->need[p].lo, ir.lo);
          w->need[p].hi = mx(w->need[p].hi, ir.hi);
        }
    }
    for (int k = 0; k < nl; k++) {
      if (w->need[k].hi > w->need_hi_prev[k]) w->need_hi_prev[k] = w->need[k].hi;
      if (w->inr[k].hi > w->in_hi_prev[k]) w->in_hi_prev[k] = w->inr[k].hi;
    }
    int c;
    for (c = 0; c < ncls; c++)
      if (memcmp(sig + (size_t)c * 3 * nl, cs, sizeof(double) * 3 * (size_t)nl) == 0) break;
    if (c == ncls) {
      memcpy(sig + (size_t)c * 3 * nl, cs, sizeof(double) * 3 * (size_t)nl);
      cnt[c] = 0;
      ncls++;
    }
    cnt[c] += 1;
  }
  if (cs != cur) free(cs);
  w->ncls[dir] = ncls;
  return PG_OK;
}

/* Lowest level holding operand X (global, on chip) with room for `bits`
 * (plus `other` when the level also holds operand Y); DRAM otherwise. */
static int place(const pg_df_accel *a, int X, double bits, int Y, double other) {
  int dram = a->n_levels - 1;
  for (int l = 0; l < dram; l++) {
    const pg_df_level *v = &a->levels[l];
    if (!(v->operands & (1u << X)) || v->served != all_dims(a)) continue;
    double need = bits + ((v->operands & (1u << Y)) ? other : 0);
    if (need <= v->size) return l;
  }
  return dram;
}

/* Total capacity of level l over its physical instances. */
static double capacity(const pg_df_accel *a, int l) {
  double n = 1;
  for (int d = 0; d < a->n_dims; d++)
    if (!(a->levels[l].served & (1u << d))) n *= (double)a->dim_size[d];
  return a->levels[l].size * n;
}

/* Weight bits of layers [l0, l1] that one instance of level l holds: each
 * layer's weights split over the instances along the dims the level does
 * not serve (rounded up per loop, as the unrolling of layer_traffic). */
static double weights_per_instance(const pg_df_accel *a, int l, const lay *ly, int l0, int l1) {
  double sum = 0;
  for (int k = l0; k <= l1; k++) {
    const lay *y = &ly[k];
    if (!y->has_w) continue;
    double L[PG_DF_NLOOPS] = {y->B, y->K, y->Cg, y->OY, y->OX, y->FY, y->FX};
    double U[PG_DF_NLOOPS], Un[PG_DF_NLOOPS] = {1, 1, 1, 1, 1, 1, 1}, u[PG_DF_MAX_DIMS];
    int dl[PG_DF_MAX_DIMS];
    unroll(a, L, u, dl, U);
    for (int d = 0; d < a->n_dims; d++)
      if (!(a->levels[l].served & (1u << d))) Un[dl[d]] *= u[d];
    sum += ceil(y->K / Un[PG_DF_K]) * ceil(y->Cg / Un[PG_DF_C]) * ceil(y->FY / Un[PG_DF_FY]) *
           ceil(y->FX / Un[PG_DF_FX]) * y->pw;
  }
  return sum;
}

/* A copy of `bits` from level s to level d: accesses and cycles. */
static void hop(const pg_df_accel *a, pg_df_cost *c, int s, int Xs, int d, int Xd, double bits,
                double mult) {
  if (bits <= 0 || s == d) return;
  c->rd_bits[s][Xs] += bits * mult;
  c->wr_bits[d][Xd] += bits * mult;
  c->cycles_copy += mult * mx(bits / a->levels[s].rbw, bits / a->levels[d].wbw);
}

static void add_traffic(pg_df_cost *c, const traffic *t, double mult, int nlev) {
  for (int l = 0; l < nlev; l++)
    for (int X = 0; X < PG_DF_NOPER; X++) {
      c->rd_bits[l][X] += t->rd[l][X] * mult;
      c->wr_bits[l][X] += t->wr[l][X] * mult;
    }
  c->cycles_compute += t->comp * mult;
  c->cycles_stall += t->stall * mult;
  c->cycles_load += t->load * mult;
}

/* Cost the stack [l0, l1] into w->acc. */
static pg_status eval_stack(work *w, int si, const pg_df_options *opt) {
  const pg_df_accel *a = w->a;
  const lay *ly = w->ly;
  int l0 = w->stack_start[si], l1 = w->stack_start[si + 1] - 1, nl = l1 - l0 + 1;
  int dram = a->n_levels - 1;
  int lbl = opt->schedule == PG_DF_LAYER_BY_LAYER || w->stack_lbl[si];
  int cx = !lbl && opt->mode >= PG_DF_H_CACHED_V_RECOMPUTE;
  int cy = !lbl && opt->mode == PG_DF_FULLY_CACHED;
  double tx = lbl ? ly[l1].OX : (double)opt->tile_x, ty = lbl ? ly[l1].OY : (double)opt->tile_y;
  pg_status st = stack_tiles(w, l0, l1, 0, tx, cx);
  if (st) return st;
  st = stack_tiles(w, l0, l1, 1, ty, cy);
  if (st) return st;
  double ntiles = 0;
  for (int c = 0; c < w->ncls[0]; c++)
    for (int r = 0; r < w->ncls[1]; r++) ntiles += w->cnt[0][c] * w->cnt[1][r];

  /* weight level: lowest W level holding the stack's weights (for a level
   * with several instances, the share of the busiest instance) */
  int topW = dram;
  for (int l = 0; l < dram; l++)
    if ((a->levels[l].operands & PG_DF_HOLDS_W) &&
        weights_per_instance(a, l, ly, l0, l1) <= a->levels[l].size) {
      topW = l;
      break;
    }

  /* cache level: lowest global I+O level with room for the caches and the
   * peak live feature maps */
  double cache_need = 0, peak = 0;
  for (int k = 0; k < nl; k++) {
    const lay *y = &ly[l0 + k];
    double ovx = 0, ovy = 0, iwx = 0, iwy = 0;
    for (int c = 0; c < w->ncls[0]; c++) {
      const double *g = w->sig[0] + (size_t)c * 3 * nl + 3 * k;
      ovx = mx(ovx, g[1] - g[2]);
      iwx = mx(iwx, g[1]);
    }
    for (int c = 0; c < w->ncls[1]; c++) {
      const double *g = w->sig[1] + (size_t)c * 3 * nl + 3 * k;
      ovy = mx(ovy, g[1] - g[2]);
      iwy = mx(iwy, g[1]);
    }
    double ch = y->B * y->C * y->pi * y->n_in;
    cache_need += ch * (ovx * iwy + ovy * y->IX);
    double cwx = 0, cwy = 0;
    for (int c = 0; c < w->ncls[0]; c++) cwx = mx(cwx, w->sig[0][(size_t)c * 3 * nl + 3 * k]);
    for (int c = 0; c < w->ncls[1]; c++) cwy = mx(cwy, w->sig[1][(size_t)c * 3 * nl + 3 * k]);
    peak = mx(peak, ch * iwx * iwy * y->n_in + y->B * y->K * cwx * cwy * y->po);
  }
  int cache = dram;
  if (cache_need > 0)
    for (int l = 0; l < dram; l++) {
      const pg_df_level *v = &a->levels[l];
      if ((v->operands & (PG_DF_HOLDS_I | PG_DF_HOLDS_O)) == (PG_DF_HOLDS_I | PG_DF_HOLDS_O) &&
          v->served == all_dims(a) && v->size >= cache_need + peak) {
        cache = l;
        break;
      }
    }

  /* weights: one copy from DRAM per stack */
  for (int k = l0; k <= l1; k++) {
    pg_df_cost *c = &w->acc[k];
    c->stack = si;
    c->tiles = ntiles;
    hop(a, c, dram, PG_DF_W, topW, PG_DF_W, ly[k].wbits, 1);
  }

  /* layers in order (producers first), tile classes inside; the output
   * level of every (layer, class pair) is kept for its consumers, and the
   * loop-nest costs of a layer are memoised over the class pairs (tile
   * classes that differ elsewhere in the stack often share this layer's
   * shape) */
  int ncx = w->ncls[0], ncy = w->ncls[1], ncp = ncx * ncy;
  int *tops = malloc(sizeof(int) * (size_t)nl * (size_t)ncp);
  if (!tops) return PG_ENOMEM;
  enum { MEMO = 12 };
  double mkey[MEMO][6];
  traffic mt[MEMO];
  for (int k = 0; k < nl; k++) {
    int li = l0 + k, nm = 0, next = 0;
    const lay *y = &ly[li];
    pg_df_cost *c = &w->acc[li];
    for (int cxi = 0; cxi < ncx; cxi++)
      for (int cyi = 0; cyi < ncy; cyi++) {
        int pi = cxi * ncy + cyi;
        double mult = w->cnt[0][cxi] * w->cnt[1][cyi];
        const double *gx = w->sig[0] + (size_t)cxi * 3 * nl + 3 * k;
        const double *gy = w->sig[1] + (size_t)cyi * 3 * nl + 3 * k;
        double cwx = gx[0], iwx = gx[1], nwx = gx[2];
        double cwy = gy[0], iwy = gy[1], nwy = gy[2];
        tops[k * ncp + pi] = dram;
        if (cwx <= 0 || cwy <= 0) continue;
        double ch = y->B * y->C * y->pi; /* bits per input pixel, one input */
        double ibits = ch * iwx * iwy * y->n_in;
        double obits = y->B * y->K * cwx * cwy * y->po; /* stored precision */
        int top[PG_DF_NOPER];
        top[PG_DF_I] = place(a, PG_DF_I, ibits, PG_DF_O, obits);
        top[PG_DF_O] = place(a, PG_DF_O, obits, PG_DF_I, ibits);
        top[PG_DF_W] = topW;
        tops[k * ncp + pi] = top[PG_DF_O];
        const double key[6] = {cwx, cwy, iwx, iwy, top[PG_DF_I], top[PG_DF_O]};
        int m;
        for (m = 0; m < nm; m++)
          if (memcmp(mkey[m], key, sizeof key) == 0) break;
        if (m == nm) {
          sub sb;
          sb.L[PG_DF_B] = y->B;
          sb.L[PG_DF_K] = y->K;
          sb.L[PG_DF_C] = y->Cg;
          sb.L[PG_DF_OY] = cwy;
          sb.L[PG_DF_OX] = cwx;
          sb.L[PG_DF_FY] = y->FY;
          sb.L[PG_DF_FX] = y->FX;
          sb.IY = iwy;
          sb.IX = iwx;
          sb.SY = y->SY;
          sb.SX = y->SX;
          sb.groups = y->groups;
          sb.Kfull = y->K;
          sb.prec[PG_DF_I] = y->pi;
          sb.prec[PG_DF_W] = y->pw;
          sb.prec[PG_DF_O] = y->po;
          sb.has_w = y->has_w;
          sb.n_in = y->n_in;
          if (nm < MEMO) m = nm++;
          else { m = next; next = (next + 1) % MEMO; }
          memcpy(mkey[m], key, sizeof key);
          memset(&mt[m], 0, sizeof mt[m]);
          layer_traffic(a, &sb, top, &mt[m]);
        }
        add_traffic(c, &mt[m], mult, a->n_levels);
        double macs = y->B * y->K * y->Cg * cwx * cwy * y->FY * y->FX;
        c->macs += macs * mult;
        /* feature maps into the input buffer: new data and cached data */
        double newbits = ch * nwx * nwy, cbits = ch * (iwx * iwy - nwx * nwy);
        for (int q = 0; q < y->n_in; q++) {
          int p = y->in[q];
          if (p == PG_HW_ZERO) continue; /* a zero tensor is not stored */
          int inside = p >= l0;
          int src = inside ? tops[(p - l0) * ncp + pi] : dram;
          hop(a, c, src, inside ? PG_DF_O : PG_DF_I, top[PG_DF_I], PG_DF_I, newbits, mult);
          if (cbits > 0) {
            /* written to the cache when produced, read back now */
            int from = inside ? src : top[PG_DF_I];
            if (from != cache) hop(a, c, from, inside ? PG_DF_O : PG_DF_I, cache, PG_DF_I, cbits, mult);
            else { c->rd_bits[cache][PG_DF_I] += cbits * mult; c->wr_bits[cache][PG_DF_I] += cbits * mult; }
            if (cache != top[PG_DF_I]) hop(a, c, cache, PG_DF_I, top[PG_DF_I], PG_DF_I, cbits, mult);
            else { c->rd_bits[cache][PG_DF_I] += cbits * mult; c->wr_bits[cache][PG_DF_I] += cbits * mult; }
            c->cache_bits += cbits * mult;
          }
        }
        /* stack outputs to DRAM */
        if (li == l1 || w->outside[li])
          hop(a, c, top[PG_DF_O], PG_DF_O, dram, PG_DF_O, y->B * y->K * cwx * cwy * y->po, mult);
      }
  }
  free(tops);
  return PG_OK;
}

/* Split the network into stacks: branch-free units cut where no tensor
 * other than the current output is live, merged greedily while the weights
 * fit the highest on-chip weight memory (DeFiNES fuse-depth rule). A unit
 * whose weights alone exceed it forms its own stack, run layer by layer. A
 * stack also starts where a layer's input is not the spatial output of its
 * producer (flatten) and at layers with a 1 x 1 output (global pooling, fully
 * connected), which would otherwise turn the whole stack into one tile. */
static void build_stacks(work *w, const pg_df_options *opt) {
  const pg_df_accel *a = w->a;
  const lay *ly = w->ly;
  int n = (int)w->n;
  int dram = a->n_levels - 1;
  double wcap = 0;
  for (int l = dram - 1; l >= 0; l--)
    if (a->levels[l].operands & PG_DF_HOLDS_W) { wcap = capacity(a, l); break; }
  int *clean = w->clean, *brk = w->outside; /* outside is rewritten below */
  int minp = n; /* smallest producer index among the layers after r */
  for (int r = n - 1; r >= 0; r--) {
    clean[r] = minp >= r;
    for (int q = 0; q < ly[r].n_in; q++)
      if (ly[r].in[q] >= 0 && ly[r].in[q] < minp) minp = ly[r].in[q];
  }
  for (int j = 0; j < n; j++) {
    const lay *c = &ly[j];
    /* a layer with a 1 x 1 output (global pooling, FC) would make the
     * stack a single tile: it runs in a stack of its own */
    brk[j] = c->OX == 1 && c->OY == 1;
    for (int q = 0; q < c->n_in; q++) {
      int p = c->in[q];
      if (p >= 0 && (ly[p].OX != c->IX || ly[p].OY != c->IY)) brk[j] = 1;
    }
  }
  int ns = 0;
  double acc = 0, unit = 0;
  int us = 0;
  for (int i = 0; i < n; i++) {
    unit += ly[i].wbits;
    if (!(i + 1 == n || clean[i] || brk[i + 1] || !opt->fuse)) continue;
    if (us == 0 || brk[us] || !opt->fuse || acc + unit > wcap) {
      w->stack_start[ns] = us;
      w->stack_lbl[ns] = unit > wcap;
      ns++;
      acc = 0;
    }
    acc += unit;
    unit = 0;
    us = i + 1;
  }
  w->n_stack = ns;
  w->stack_start[ns] = n;
  /* layers consumed by a later stack write their output to DRAM */
  for (int i = 0; i < n; i++) w->outside[i] = 0;
  for (int s = 0; s < ns; s++)
    for (int i = w->stack_start[s]; i < w->stack_start[s + 1]; i++)
      for (int q = 0; q < ly[i].n_in; q++) {
        int p = ly[i].in[q];
        if (p >= 0 && p < w->stack_start[s]) w->outside[p] = 1;
      }
}

static void finish_energy(const pg_df_accel *a, pg_df_cost *c) {
  c->e_mac = c->macs * a->e_mac;
  c->energy = c->e_mac;
  for (int l = 0; l < a->n_levels; l++)
    for (int X = 0; X < PG_DF_NOPER; X++) {
      double e = c->rd_bits[l][X] / a->levels[l].rbw * a->levels[l].e_rd +
                 c->wr_bits[l][X] / a->levels[l].wbw * a->levels[l].e_wr;
      c->e_level[l][X] = e;
      c->energy += e;
    }
  c->cycles = c->cycles_compute + c->cycles_stall + c->cycles_load + c->cycles_copy;
}

pg_status pg_df_evaluate(const pg_df_accel *a, const pg_hw_network *net, const pg_df_options *opt,
                         pg_df_cost *total, pg_df_cost *per_layer) {
  if (!a || !net || !opt || !total) return PG_EINVAL;
  pg_status st = pg_df_validate(a);
  if (st) return st;
  if (net->n == 0 || !net->layers || net->n > (1u << 20)) return PG_EINVAL;
  if (opt->schedule != PG_DF_LAYER_BY_LAYER && opt->schedule != PG_DF_DEPTH_FIRST)
    return PG_EINVAL;
  if (opt->mode < PG_DF_FULLY_RECOMPUTE || opt->mode > PG_DF_FULLY_CACHED) return PG_EINVAL;
  if (opt->tile_x < 1 || opt->tile_y < 1) return PG_EINVAL;
  size_t n = net->n;
  double maxo = 1;
  for (size_t i = 0; i < n; i++) {
    double o = (double)(net->layers[i].OX > net->layers[i].OY ? net->layers[i].OX : net->layers[i].OY);
    if (o > maxo) maxo = o;
  }
  if (maxo > 1e7) return PG_EINVAL;
  size_t nmax = (size_t)maxo + 1;
  /* one block for everything, carved in order of alignment */
  size_t ints = (n + 3) & ~(size_t)1; /* even: keeps the doubles after them aligned */
  size_t bytes = n * sizeof(lay) + n * sizeof(pg_df_cost) + 2 * nmax * 3 * n * sizeof(double) +
                 2 * nmax * sizeof(double) + 2 * n * sizeof(double) + 2 * n * sizeof(span) +
                 4 * ints * sizeof(int);
  size_t head = bytes - 2 * nmax * 3 * n * sizeof(double);
  char *mem = malloc(bytes);
  if (!mem) return PG_ENOMEM;
  memset(mem, 0, head); /* the signatures at the end are written before use */
  work w;
  memset(&w, 0, sizeof w);
  char *p = mem;
  lay *ly = (lay *)p; p += n * sizeof(lay);
  w.acc = (pg_df_cost *)p; p += n * sizeof(pg_df_cost);
  w.cnt[0] = (double *)p; p += nmax * sizeof(double);
  w.cnt[1] = (double *)p; p += nmax * sizeof(double);
  w.need_hi_prev = (double *)p; p += n * sizeof(double);
  w.in_hi_prev = (double *)p; p += n * sizeof(double);
  w.need = (span *)p; p += n * sizeof(span);
  w.inr = (span *)p; p += n * sizeof(span);
  w.stack_start = (int *)p; p += ints * sizeof(int);
  w.outside = (int *)p; p += ints * sizeof(int);
  w.clean = (int *)p; p += ints * sizeof(int);
  w.stack_lbl = (int *)p; p += ints * sizeof(int);
  p = mem + head;
  w.sig[0] = (double *)p; p += nmax * 3 * n * sizeof(double);
  w.sig[1] = (double *)p;
  w.a = a;
  w.ly = ly;
  w.n = n;
  for (size_t i = 0; i < n && !st; i++) st = normalise(net, i, &ly[i]);
  if (!st) {
    build_stacks(&w, opt);
    for (int s = 0; s < w.n_stack && !st; s++) st = eval_stack(&w, s, opt);
  }
  if (!st) {
    memset(total, 0, sizeof *total);
    for (size_t i = 0; i < n; i++) {
      pg_df_cost *c = &w.acc[i];
      finish_energy(a, c);
      total->macs += c->macs;
      for (int l = 0; l < a->n_levels; l++)
        for (int X = 0; X < PG_DF_NOPER; X++) {
          total->rd_bits[l][X] += c->rd_bits[l][X];
          total->wr_bits[l][X] += c->wr_bits[l][X];
        }
      total->cycles_compute += c->cycles_compute;
      total->cycles_stall += c->cycles_stall;
      total->cycles_load += c->cycles_load;
      total->cycles_copy += c->cycles_copy;
      total->cache_bits += c->cache_bits;
      if (i == 0 || c->stack != w.acc[i - 1].stack) total->tiles += c->tiles;
      if (per_layer) per_layer[i] = *c;
    }
    finish_energy(a, total);
    total->stack = w.n_stack;
  }
  free(mem);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Templates                                                                */

static void set_level(pg_df_level *v, const char *name, double size, double rbw, double wbw,
                      double erd, double ewr, unsigned ops, unsigned served) {
  memset(v, 0, sizeof *v);
  strncpy(v->name, name, sizeof v->name - 1);
  v->size = size;
  v->rbw = rbw;
  v->wbw = wbw;
  v->e_rd = erd;
  v->e_wr = ewr;
  v->operands = ops;
  v->served = served;
}

static const int default_order[PG_DF_NLOOPS] = {PG_DF_FX, PG_DF_FY, PG_DF_C, PG_DF_OX,
                                                 PG_DF_OY, PG_DF_B,  PG_DF_K};

#define KB (8.0 * 1024.0)
#define MB (8.0 * 1024.0 * 1024.0)

void pg_df_meta_prototype_df(pg_df_accel *a) {
  memset(a, 0, sizeof *a);
  strcpy(a->name, "meta_prototype_df");
  a->n_dims = 4;
  const int loops[4] = {PG_DF_K, PG_DF_C, PG_DF_OX, PG_DF_OY};
  const int64_t sizes[4] = {32, 2, 4, 4};
  for (int d = 0; d < 4; d++) {
    a->dim_size[d] = sizes[d];
    a->dim_loop[d] = loops[d];
    a->dim_name[d][0] = 'D';
    a->dim_name[d][1] = (char)('1' + d);
  }
  unsigned all = 15u;
  set_level(&a->levels[0], "w_reg", 8, 8, 8, 0.01, 0.01, PG_DF_HOLDS_W, 4u | 8u);
  set_level(&a->levels[1], "o_reg", 16, 16, 16, 0.02, 0.02, PG_DF_HOLDS_O, 2u);
  set_level(&a->levels[2], "w_sram_32k", 32 * KB, 512, 512, 17.2, 28.4, PG_DF_HOLDS_W, all);
  set_level(&a->levels[3], "io_sram_64k", 64 * KB, 512, 512, 26.56, 30.8,
            PG_DF_HOLDS_I | PG_DF_HOLDS_O, all);
  set_level(&a->levels[4], "w_sram_1m", 1 * MB, 1024, 1024, 208.1, 189.2, PG_DF_HOLDS_W, all);
  set_level(&a->levels[5], "io_sram_1m", 1 * MB, 1024, 1024, 208.1, 189.2,
            PG_DF_HOLDS_I | PG_DF_HOLDS_O, all);
  set_level(&a->levels[6], "dram", 0, 64, 64, 700, 750, 7u, all);
  a->n_levels = 7;
  memcpy(a->order, default_order, sizeof default_order);
  a->e_mac = 0.04;
  a->psum_bits = 16;
  a->clock_hz = 2.2e9;
}

pg_status pg_df_coflex_accel(pg_df_accel *a, const pg_df_coflex_params *p) {
  if (!a || !p) return PG_EINVAL;
  if (p->pe_x < PG_DF_COFLEX_PE_MIN || p->pe_x > PG_DF_COFLEX_PE_MAX ||
      p->pe_y < PG_DF_COFLEX_PE_MIN || p->pe_y > PG_DF_COFLEX_PE_MAX)
    return PG_EINVAL;
  const int64_t r[4] = {p->reg_input, p->reg_weight, p->reg_output, p->reg_bw};
  for (int i = 0; i < 4; i++)
    if (r[i] < PG_DF_COFLEX_REG_MIN || r[i] > PG_DF_COFLEX_REG_MAX) return PG_EINVAL;
  memset(a, 0, sizeof *a);
  strcpy(a->name, p->coflex_mapping ? "coflex_meta_prototype_df_clipped" : "coflex_meta_prototype_df");
  a->n_dims = 2;
  a->dim_size[0] = p->pe_x;
  a->dim_loop[0] = PG_DF_K;
  a->dim_size[1] = p->pe_y;
  a->dim_loop[1] = PG_DF_C;
  if (p->coflex_mapping) { /* K32 x C2 x OX4 x OY4 on an X1 x X2 x 1 x 1 array */
    a->dim_limit[0] = 32;
    a->dim_limit[1] = 2;
  }
  strcpy(a->dim_name[0], "D1");
  strcpy(a->dim_name[1], "D2");
  double bw = (double)p->reg_bw;
  unsigned all = 3u;
  set_level(&a->levels[0], "i_reg", (double)p->reg_input, bw, bw, 0.01, 0.01, PG_DF_HOLDS_I, 0);
  set_level(&a->levels[1], "w_reg", (double)p->reg_weight, bw, bw, 0.01, 0.01, PG_DF_HOLDS_W, 0);
  set_level(&a->levels[2], "o_reg", (double)p->reg_output, bw, bw, 0.02, 0.02, PG_DF_HOLDS_O, 2u);
  set_level(&a->levels[3], "w_sram_32k", 32 * KB, 512, 512, 17.2, 28.4, PG_DF_HOLDS_W, all);
  set_level(&a->levels[4], "io_sram_64k", 64 * KB, 512, 512, 26.56, 30.8,
            PG_DF_HOLDS_I | PG_DF_HOLDS_O, all);
  set_level(&a->levels[5], "w_sram_1m", 1 * MB, 1024, 1024, 208.1, 189.2, PG_DF_HOLDS_W, all);
  set_level(&a->levels[6], "io_sram_1m", 1 * MB, 1024, 1024, 208.1, 189.2,
            PG_DF_HOLDS_I | PG_DF_HOLDS_O, all);
  set_level(&a->levels[7], "dram", 0, 64, 64, 700, 750, 7u, all);
  a->n_levels = 8;
  memcpy(a->order, default_order, sizeof default_order);
  a->e_mac = 0.04;
  a->psum_bits = 16;
  a->clock_hz = 2.2e9;
  return PG_OK;
}
