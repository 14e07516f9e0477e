/*
 * systolic.c -- Scale-Sim v2 compatible systolic-array model.
 *
 * Source: scalesim-project/scale-sim-v2 (the files listed in systolic.h),
 * Samajdar et al., ISPASS 2020; summary and worked example in
 * research/hardware_models.md section 9. Everything below describes the
 * simulator in its default CALC bandwidth mode.
 *
 * 1. Operand matrices (compute/operand_matrix.py). ifmap M x K: row m is an
 *    output pixel (oy, ox), column j = (fy, fx, ch) in that order; address
 *    (oy*Sh + fy)*W*Ch + (ox*Sw + fx)*Ch + ch, or -1 when the window runs
 *    past the edge (still counted as an SRAM read, skipped by the buffers).
 *    filter K x N: address n*K + j. ofmap M x N: address N*m + n.
 * 2. Demand matrices (compute/systolic_compute_*.py). Folds are visited
 *    column fold outer, row fold inner; each fold is a block of P rows (one
 *    per cycle): a prefix of idle rows, a body taken from the operand matrix
 *    (padded with -1 to the array width, sometimes flipped upside down), a
 *    suffix, and for the streamed operands a skew (column c delayed by c
 *    rows). The table `layout` below lists, per dataflow and operand, the
 *    width, prefix, body height, flip and skew.
 * 3. Memory (memory/ directory). CALC mode: read buffers never stall; they keep a
 *    window of the last insertions (sets of G = floor(S/100) words; after 50
 *    closed sets the window is forgotten), a DRAM read per address not in
 *    the window. The ofmap write buffer (S words, half active, half drain)
 *    collects valid writes in lines of C words and drains ceil(D/C) lines per
 *    drain, one line per cycle; the array stalls only when a drain is in
 *    flight and the buffer is full.
 * 4. Reports (single_layer_sim.py): total cycles = cycle of the last ofmap
 *    row; utilisations averaged over folds; DRAM bandwidth = count / (stop -
 *    start + 1).
 */
#include "systolic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OP_IFMAP = 0, OP_FILTER, OP_OFMAP };

/* ------------------------------------------------------------------ */
/* configuration                                                        */
/* ------------------------------------------------------------------ */

void pg_hw_systolic_default(pg_hw_systolic_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->rows = cfg->cols = 32;
  cfg->dataflow = PG_HW_WS;
  cfg->ifmap_sram_kb = cfg->filter_sram_kb = cfg->ofmap_sram_kb = 64;
  cfg->word_bytes = 1;
  cfg->bandwidth = 0;
  cfg->mode = PG_HW_SYS_ANALYTICAL;
  cfg->clock_hz = 1e9;
  cfg->e_mac_pj = 0.23;
  cfg->e_sram_pj_per_byte = 2.5;
  cfg->e_dram_pj_per_byte = 250.0;
}

static int finite_nonneg(double x) { return isfinite(x) && x >= 0; }

/* words held by an SRAM of kb kilobytes: floor(kb * 1024 / word_bytes) */
static int64_t sram_words(double kb, int word_bytes) {
  return (int64_t)floor(kb * 1024.0 / (double)word_bytes);
}

pg_status pg_hw_systolic_check(const pg_hw_systolic_cfg *c) {
  if (!c) return PG_EINVAL;
  if (c->rows < 1 || c->rows > 65536 || c->cols < 1 || c->cols > 65536) return PG_EINVAL;
  if ((int)c->dataflow < 0 || c->dataflow >= PG_HW_DATAFLOW_COUNT) return PG_EINVAL;
  if (c->mode != PG_HW_SYS_ANALYTICAL && c->mode != PG_HW_SYS_EXACT) return PG_EINVAL;
  if (c->word_bytes < 1 || c->word_bytes > 16) return PG_EINVAL;
  const double kbs[3] = {c->ifmap_sram_kb, c->filter_sram_kb, c->ofmap_sram_kb};
  for (int i = 0; i < 3; i++) {
    if (!finite_nonneg(kbs[i]) || kbs[i] > 1073741824.0) return PG_EINVAL;
    if (sram_words(kbs[i], c->word_bytes) < 100) return PG_EINVAL;
  }
  if (!finite_nonneg(c->bandwidth) || !(isfinite(c->clock_hz) && c->clock_hz > 0)) return PG_EINVAL;
  if (!finite_nonneg(c->e_mac_pj) || !finite_nonneg(c->e_sram_pj_per_byte) ||
      !finite_nonneg(c->e_dram_pj_per_byte))
    return PG_EINVAL;
  return PG_OK;
}

static const char *const df_names[PG_HW_DATAFLOW_COUNT] = {"os", "ws", "is"};

const char *pg_hw_dataflow_name(pg_hw_dataflow df) {
  if ((int)df < 0 || df >= PG_HW_DATAFLOW_COUNT) return NULL;
  return df_names[df];
}

pg_status pg_hw_dataflow_parse(const char *name, pg_hw_dataflow *df) {
  if (!name || !df) return PG_EINVAL;
  for (int i = 0; i < PG_HW_DATAFLOW_COUNT; i++)
    if (strcmp(name, df_names[i]) == 0) {
      *df = (pg_hw_dataflow)i;
      return PG_OK;
    }
  return PG_EINVAL;
}

/* ------------------------------------------------------------------ */
/* geometry                                                             */
/* ------------------------------------------------------------------ */

void pg_hw_systolic_geometry(const pg_hw_layer *l, int64_t *H, int64_t *W, int64_t *Fh,
                             int64_t *Fw, int64_t *ch, int64_t *nf, int64_t *sh, int64_t *sw) {
  int64_t ceil_y = (l->IY - l->FY + l->SY + l->SY - 1) / l->SY;
  int64_t ceil_x = (l->IX - l->FX + l->SX + l->SX - 1) / l->SX;
  *H = (l->PY == 0 && l->IY >= l->FY && ceil_y == l->OY) ? l->IY : (l->OY - 1) * l->SY + l->FY;
  *W = (l->PX == 0 && l->IX >= l->FX && ceil_x == l->OX) ? l->IX : (l->OX - 1) * l->SX + l->FX;
  *Fh = l->FY;
  *Fw = l->FX;
  *ch = l->C / l->groups;
  *nf = l->K / l->groups;
  *sh = l->SY;
  *sw = l->SX;
}

/* Everything about one GEMM instance on the array. */
typedef struct geo {
  int64_t R, C;
  pg_hw_dataflow df;
  int64_t H, W, Fh, Fw, Ch, Sh, Sw, Eh, Ew, B;
  int64_t M, N, K;
  int64_t Sr, Sc, T, Fr, Fc, P, U;
} geo;

static void geo_init(geo *g, const pg_hw_systolic_cfg *cfg, const pg_hw_layer *l) {
  int64_t nf;
  pg_hw_systolic_geometry(l, &g->H, &g->W, &g->Fh, &g->Fw, &g->Ch, &nf, &g->Sh, &g->Sw);
  g->R = cfg->rows;
  g->C = cfg->cols;
  g->df = cfg->dataflow;
  g->Eh = l->OY;
  g->Ew = l->OX;
  g->B = l->B;
  g->M = l->B * l->OY * l->OX;
  g->N = nf;
  g->K = g->Fh * g->Fw * g->Ch;
  switch (g->df) {
  case PG_HW_OS:
    g->Sr = g->M, g->Sc = g->N, g->T = g->K;
    break;
  case PG_HW_WS:
    g->Sr = g->K, g->Sc = g->N, g->T = g->M;
    break;
  default:
    g->Sr = g->K, g->Sc = g->M, g->T = g->N;
    break;
  }
  g->Fr = (g->Sr + g->R - 1) / g->R;
  g->Fc = (g->Sc + g->C - 1) / g->C;
  if (g->df == PG_HW_OS) {
    g->P = g->T + g->R + g->C - 2;
    g->U = g->P;
  } else {
    g->P = 2 * g->R + g->C + g->T - 2;
    g->U = 2 * g->R + 2 * g->C + g->T - 3;
  }
}

/* ifmap operand address of (pixel m, window element j), -1 past the edge */
static int64_t if_addr(const geo *g, int64_t m, int64_t j) {
  int64_t px = g->Eh * g->Ew;
  int64_t b = m / px, p = m % px;
  int64_t iy = (p / g->Ew) * g->Sh, ix = (p % g->Ew) * g->Sw;
  int64_t fw_ch = g->Fw * g->Ch;
  int64_t fy = j / fw_ch, k = j % fw_ch;
  int64_t fx = k / g->Ch, c = k % g->Ch;
  if (iy + fy >= g->H || ix + fx >= g->W) return -1;
  return b * g->H * g->W * g->Ch + (iy + fy) * g->W * g->Ch + (ix + fx) * g->Ch + c;
}

/*
 * Layout of one fold of a demand matrix, for dataflow df and operand op:
 * width (array rows or columns), prefix rows, body height, flip, skew, and
 * which limit applies to body rows (bu) and columns (cu). Entry (t, c) of
 * the fold: u = skew ? t - c : t; body row b = u - pre (flip: bh - 1 - b);
 * valid when 0 <= b < bu and c < cu; its (row, col) in the operand matrix
 * is given by fold_index().
 */
typedef struct fold_layout {
  int64_t width, pre, bh, bu, cu;
  int flip, skew;
  int64_t ulo, uhi; /* u range of valid body rows */
} fold_layout;

static void layout(const geo *g, int op, int64_t fr, int64_t fc, fold_layout *f) {
  int64_t R = g->R, C = g->C;
  int64_t ur = g->Sr - fr * R < R ? g->Sr - fr * R : R; /* used rows */
  int64_t uc = g->Sc - fc * C < C ? g->Sc - fc * C : C; /* used columns */
  memset(f, 0, sizeof *f);
  switch (g->df) {
  case PG_HW_WS:
    if (op == OP_IFMAP) *f = (fold_layout){R, R, g->T, g->T, ur, 0, 1, 0, 0};
    else if (op == OP_FILTER) *f = (fold_layout){C, 0, R, ur, uc, 1, 0, 0, 0};
    else *f = (fold_layout){C, 2 * R - 1, g->T, g->T, uc, 0, 1, 0, 0};
    break;
  case PG_HW_OS:
    if (op == OP_IFMAP) *f = (fold_layout){R, 0, g->T, g->T, ur, 0, 1, 0, 0};
    else if (op == OP_FILTER) *f = (fold_layout){C, 0, g->T, g->T, uc, 0, 1, 0, 0};
    else *f = (fold_layout){C, g->T - 1, R, ur, uc, 1, 1, 0, 0};
    break;
  default: /* is */
    if (op == OP_IFMAP) *f = (fold_layout){C, 0, R, ur, uc, 1, 0, 0, 0};
    else if (op == OP_FILTER) *f = (fold_layout){R, R, g->T, g->T, ur, 0, 1, 0, 0};
    else *f = (fold_layout){C, 2 * R - 1, g->T, g->T, uc, 0, 1, 0, 0};
    break;
  }
  if (f->flip) {
    f->ulo = f->pre + f->bh - f->bu;
    f->uhi = f->pre + f->bh;
  } else {
    f->ulo = f->pre;
    f->uhi = f->pre + f->bu;
  }
}

/* Range [*c0, *c1] of columns with a body entry in row t (empty: c0 > c1). */
static void row_cols(const fold_layout *f, int64_t t, int64_t *c0, int64_t *c1) {
  if (f->skew) {
    int64_t lo = t - f->uhi + 1, hi = t - f->ulo;
    *c0 = lo > 0 ? lo : 0;
    *c1 = hi < f->cu - 1 ? hi : f->cu - 1;
  } else if (t >= f->ulo && t < f->uhi) {
    *c0 = 0;
    *c1 = f->cu - 1;
  } else {
    *c0 = 1;
    *c1 = 0;
  }
}

/* Operand-matrix coordinates of body entry (b, c) of fold (fr, fc). For the
 * ifmap: (pixel, window element); filter: (window element, filter); ofmap:
 * (pixel, filter). */
static void fold_index(const geo *g, int op, int64_t fr, int64_t fc, int64_t b, int64_t c,
                       int64_t *x, int64_t *y) {
  int64_t R = g->R, C = g->C;
  switch (g->df) {
  case PG_HW_WS:
    if (op == OP_IFMAP) *x = b, *y = fr * R + c;
    else if (op == OP_FILTER) *x = fr * R + b, *y = fc * C + c;
    else *x = b, *y = fc * C + c;
    break;
  case PG_HW_OS:
    if (op == OP_IFMAP) *x = fr * R + c, *y = b;
    else if (op == OP_FILTER) *x = b, *y = fc * C + c;
    else *x = fr * R + b, *y = fc * C + c;
    break;
  default:
    if (op == OP_IFMAP) *x = fc * C + c, *y = fr * R + b;
    else if (op == OP_FILTER) *x = fr * R + c, *y = b;
    else *x = fc * C + c, *y = b;
    break;
  }
}

static int64_t body_row(const fold_layout *f, int64_t t, int64_t c) {
  int64_t u = f->skew ? t - c : t;
  int64_t b = u - f->pre;
  return f->flip ? f->bh - 1 - b : b;
}

/* Does row t of fold (fr, fc) hold a valid (non -1) address of op? */
static int row_valid(const geo *g, int op, int64_t fr, int64_t fc, const fold_layout *f,
                     int64_t t) {
  int64_t c0, c1;
  row_cols(f, t, &c0, &c1);
  if (c0 > c1) return 0;
  if (op != OP_IFMAP) return 1;
  for (int64_t c = c0; c <= c1; c++) {
    int64_t x, y;
    fold_index(g, op, fr, fc, body_row(f, t, c), c, &x, &y);
    if (if_addr(g, x, y) >= 0) return 1;
  }
  return 0;
}

/* First and last demand rows (global row index) holding a valid address. */
static void first_last_rows(const geo *g, int op, int64_t *first, int64_t *last) {
  fold_layout f;
  *first = *last = -1;
  for (int64_t fold = 0; fold < g->Fr * g->Fc && *first < 0; fold++) {
    int64_t fc = fold / g->Fr, fr = fold % g->Fr;
    layout(g, op, fr, fc, &f);
    int64_t t_hi = f.skew ? f.uhi + f.cu - 1 : f.uhi; /* rows with entries: [ulo, t_hi) */
    for (int64_t t = f.ulo; t < t_hi; t++)
      if (row_valid(g, op, fr, fc, &f, t)) {
        *first = fold * g->P + t;
        break;
      }
  }
  for (int64_t fold = g->Fr * g->Fc - 1; fold >= 0 && *last < 0; fold--) {
    int64_t fc = fold / g->Fr, fr = fold % g->Fr;
    layout(g, op, fr, fc, &f);
    int64_t t_hi = f.skew ? f.uhi + f.cu - 1 : f.uhi;
    for (int64_t t = t_hi - 1; t >= f.ulo; t--)
      if (row_valid(g, op, fr, fc, &f, t)) {
        *last = fold * g->P + t;
        break;
      }
  }
}

/* Distinct valid ifmap addresses: rows touched x columns touched x channels. */
static int64_t covered(int64_t n_out, int64_t stride, int64_t f, int64_t limit) {
  /* windows [o S, o S + F) for o < n, clipped at limit. With Scale-Sim's
   * ceil rule (n - 2) S + F < limit, so only the last window can be clipped
   * (entirely, when it starts past the edge). */
  if (stride < f) { /* overlapping: one interval */
    int64_t end = (n_out - 1) * stride + f;
    return end < limit ? end : limit;
  }
  /* disjoint: only the last window can be clipped */
  int64_t last = limit - (n_out - 1) * stride;
  if (last < 0) last = 0;
  return (n_out - 1) * f + (last < f ? last : f);
}

static int64_t ifmap_footprint(const geo *g) {
  return g->B * covered(g->Eh, g->Sh, g->Fh, g->H) * covered(g->Ew, g->Sw, g->Fw, g->W) * g->Ch;
}

/* ------------------------------------------------------------------ */
/* emulation of the CALC-mode read buffer (read_buffer_estimate_bw.py)  */
/* ------------------------------------------------------------------ */

typedef struct rdbuf {
  int64_t G;          /* words per set: floor(S / 100) */
  int64_t window;     /* 50 sets */
  uint8_t *stamp;     /* per address: epoch (mod 255) of its last insertion, 0 never */
  int64_t space;      /* addresses */
  uint8_t epoch;      /* 1..255; wrapping clears the stamps */
  int64_t in_window, inserted, flushes;
  int64_t first_req, last_flush_cycle;
} rdbuf;

/* cycle of a global demand row: row + stalls of earlier rows */
typedef struct stall_map {
  int64_t n, cap;
  int64_t *row, *cum; /* after row[i], cum[i] stall cycles in total */
} stall_map;

static int64_t stalls_before(const stall_map *s, int64_t row, int64_t *hint) {
  int64_t i = *hint;
  while (i < s->n && s->row[i] < row) i++;
  *hint = i;
  return i ? s->cum[i - 1] : 0;
}

/* Address tables of a read operand, so that the walk needs no division:
 * address(x, y) = xa[x] + ya[y], valid when xr[x] + yr[y] < H and
 * xc[x] + yc[y] < W (ifmap: x pixel, y window element; filter: x window
 * element, y filter, always valid). */
typedef struct addr_tables {
  int64_t *xa, *ya;
  int32_t *xr, *xc, *yr, *yc;
  int64_t limr, limc;
} addr_tables;

static void tables_free(addr_tables *t) {
  free(t->xa);
  free(t->ya);
  free(t->xr);
  free(t->xc);
  free(t->yr);
  free(t->yc);
}

static pg_status tables_init(const geo *g, int op, addr_tables *t) {
  memset(t, 0, sizeof *t);
  int64_t nx = op == OP_IFMAP ? g->M : g->K, ny = op == OP_IFMAP ? g->K : g->N;
  t->xa = malloc((size_t)nx * sizeof *t->xa);
  t->ya = malloc((size_t)ny * sizeof *t->ya);
  t->xr = malloc((size_t)nx * sizeof *t->xr);
  t->xc = malloc((size_t)nx * sizeof *t->xc);
  t->yr = malloc((size_t)ny * sizeof *t->yr);
  t->yc = malloc((size_t)ny * sizeof *t->yc);
  if (!t->xa || !t->ya || !t->xr || !t->xc || !t->yr || !t->yc) {
    tables_free(t);
    return PG_ENOMEM;
  }
  if (op == OP_IFMAP) {
    const int64_t HWC = g->H * g->W * g->Ch, WC = g->W * g->Ch, px = g->Eh * g->Ew;
    for (int64_t m = 0; m < nx; m++) {
      int64_t b = m / px, p = m % px, iy = (p / g->Ew) * g->Sh, ix = (p % g->Ew) * g->Sw;
      t->xa[m] = b * HWC + iy * WC + ix * g->Ch;
      t->xr[m] = (int32_t)iy;
      t->xc[m] = (int32_t)ix;
    }
    const int64_t fwch = g->Fw * g->Ch;
    for (int64_t j = 0; j < ny; j++) {
      int64_t fy = j / fwch, k = j % fwch, fx = k / g->Ch, c = k % g->Ch;
      t->ya[j] = fy * WC + fx * g->Ch + c;
      t->yr[j] = (int32_t)fy;
      t->yc[j] = (int32_t)fx;
    }
    t->limr = g->H;
    t->limc = g->W;
  } else {
    for (int64_t j = 0; j < nx; j++) t->xa[j] = j, t->xr[j] = t->xc[j] = 0;
    for (int64_t n = 0; n < ny; n++) t->ya[n] = n * g->K, t->yr[n] = t->yc[n] = 0;
    t->limr = t->limc = 1;
  }
  return PG_OK;
}

/* Walk a read operand's demand in the simulator's order (folds, rows,
 * columns left to right) through the buffer. Along a row the operand
 * coordinates (x, y) move by constant steps, derived from fold_index. */
static pg_status walk_reads(const geo *g, int op, rdbuf *rb, const stall_map *sm) {
  addr_tables tb;
  pg_status st = tables_init(g, op, &tb);
  if (st) return st;
  int64_t hint = 0;
  fold_layout f;
  for (int64_t fold = 0; fold < g->Fr * g->Fc; fold++) {
    int64_t fc = fold / g->Fr, fr = fold % g->Fr;
    layout(g, op, fr, fc, &f);
    /* x(b, c) = x00 + xb*b + xc*c (each coefficient 0 or 1), same for y */
    int64_t x00, y00, x10, y10, x01, y01;
    fold_index(g, op, fr, fc, 0, 0, &x00, &y00);
    fold_index(g, op, fr, fc, 1, 0, &x10, &y10);
    fold_index(g, op, fr, fc, 0, 1, &x01, &y01);
    int64_t xb = x10 - x00, yb = y10 - y00, xc = x01 - x00, yc = y01 - y00;
    /* moving one column right: c + 1 and, when skewed, b - 1 */
    int64_t dx = f.skew ? xc - xb : xc, dy = f.skew ? yc - yb : yc;
    int64_t t_lo = f.ulo, t_hi = f.skew ? f.uhi + f.cu - 1 : f.uhi;
    for (int64_t t = t_lo; t < t_hi; t++) {
      int64_t c0, c1;
      row_cols(&f, t, &c0, &c1);
      if (c0 > c1) continue;
      int64_t row = fold * g->P + t;
      int64_t cycle = row + stalls_before(sm, row, &hint);
      int64_t b0 = body_row(&f, t, c0);
      int64_t x = x00 + xb * b0 + xc * c0, y = y00 + yb * b0 + yc * c0;
      if (op == OP_FILTER) { /* always valid, address y*K + x: pure arithmetic */
        int64_t a = y * g->K + x, da = dy * g->K + dx;
        if (rb->first_req < 0) rb->first_req = cycle;
        for (int64_t c = c0; c <= c1; c++, a += da) {
          if (rb->stamp[a] == rb->epoch) continue;
          rb->stamp[a] = rb->epoch;
          rb->inserted++;
          if (++rb->in_window == rb->window) {
            rb->in_window = 0;
            rb->flushes++;
            rb->last_flush_cycle = cycle;
            if (rb->epoch == 255) {
              memset(rb->stamp, 0, (size_t)rb->space);
              rb->epoch = 1;
            } else {
              rb->epoch++;
            }
          }
        }
        continue;
      }
      for (int64_t c = c0; c <= c1; c++, x += dx, y += dy) {
        if (tb.xr[x] + tb.yr[y] >= tb.limr || tb.xc[x] + tb.yc[y] >= tb.limc) continue;
        int64_t a = tb.xa[x] + tb.ya[y];
        if (rb->first_req < 0) rb->first_req = cycle;
        if (rb->stamp[a] == rb->epoch) continue; /* hit */
        rb->stamp[a] = rb->epoch;
        rb->inserted++;
        if (++rb->in_window == rb->window) { /* 50 sets closed: forget */
          rb->in_window = 0;
          if (rb->epoch == 255) { /* small stamps keep the array in cache */
            memset(rb->stamp, 0, (size_t)rb->space);
            rb->epoch = 1;
          } else {
            rb->epoch++;
          }
          rb->flushes++;
          rb->last_flush_cycle = cycle;
        }
      }
    }
  }
  tables_free(&tb);
  return PG_OK;
}

/* DRAM start/stop cycles of a read buffer (prefetch rate 10 words/cycle,
 * read-port latency 1). */
static void rdbuf_cycles(const rdbuf *rb, int64_t *start, int64_t *stop) {
  if (rb->inserted == 0) {
    *start = *stop = 0;
  } else if (rb->flushes == 0) {
    int64_t sets = (rb->inserted + rb->G - 1) / rb->G;
    *start = -((sets * rb->G + 9) / 10);
    *stop = -1;
  } else {
    *start = rb->first_req - (rb->window + 9) / 10;
    *stop = rb->last_flush_cycle + 1;
  }
}

/* ------------------------------------------------------------------ */
/* emulation of the ofmap write buffer (write_buffer.py)                */
/* ------------------------------------------------------------------ */

typedef struct wrbuf {
  int64_t S, A, D, BW; /* size, active part, drain part, line width (= C) */
  int64_t free_space, drain_end, drain_start_line;
  int64_t cur;         /* valid words in the line being filled */
  int64_t nlines, cap;
  int32_t *line;       /* valid words per completed line */
  int64_t accesses;
  int64_t first_cycle, last_cycle;
  int started;
  pg_status st;
} wrbuf;

static void wr_push_line(wrbuf *w, int64_t valid) {
  if (w->nlines == w->cap) {
    int64_t cap = w->cap ? 2 * w->cap : 1024;
    int32_t *p = realloc(w->line, (size_t)cap * sizeof *p);
    if (!p) {
      w->st = PG_ENOMEM;
      return;
    }
    w->line = p;
    w->cap = cap;
  }
  w->line[w->nlines++] = (int32_t)valid;
}

/* empty_drain_buf: drain up to ceil(D / BW) lines from cycle `start`;
 * returns the cycle of the last drained line (write-port latency 0). */
static int64_t wr_drain(wrbuf *w, int64_t start) {
  int64_t L = (w->D + w->BW - 1) / w->BW;
  int64_t end = w->drain_start_line + L;
  if (end > w->nlines) end = w->nlines;
  int64_t n = end - w->drain_start_line;
  if (n <= 0) return start - 1; /* the simulator would fail here; never reached */
  int64_t data = n * w->BW - (w->BW - w->line[end - 1]);
  w->accesses += data;
  w->free_space += data;
  if (!w->started) {
    w->first_cycle = start;
    w->started = 1;
  }
  w->last_cycle = start + n - 1;
  w->drain_start_line = end;
  return start + n - 1;
}

static void wr_force(wrbuf *w) {
  if (w->cur > 0) {
    wr_push_line(w, w->cur);
    w->cur = 0;
  }
}

/* service one demand row with e valid writes at `cycle`; returns the row's
 * output cycle (cycle + stall) */
static int64_t wr_row(wrbuf *w, int64_t cycle, int64_t e) {
  int64_t current = cycle;
  while (e > 0 && !w->st) {
    /* bulk: no event can happen among the next k writes */
    int64_t k;
    if (current < w->drain_end) k = w->free_space - 1; /* stall when free reaches 0 */
    else k = w->free_space - w->A;                      /* drain when free < A */
    if (k > e) k = e;
    if (k > 0) {
      w->free_space -= k;
      e -= k;
      w->cur += k;
      while (w->cur >= w->BW) {
        wr_push_line(w, w->BW);
        w->cur -= w->BW;
      }
      continue;
    }
    /* one write with its check */
    w->free_space--;
    e--;
    if (++w->cur == w->BW) {
      wr_push_line(w, w->BW);
      w->cur = 0;
    }
    if (current < w->drain_end) {
      if (w->free_space <= 0) current = w->drain_end;
    } else if (w->free_space < w->A) {
      wr_force(w);
      w->drain_end = wr_drain(w, current);
    }
  }
  return current;
}

/* empty_all_buffers(cycle) */
static void wr_finish(wrbuf *w, int64_t cycle) {
  wr_force(w);
  while (w->drain_start_line < w->nlines && !w->st) {
    w->drain_end = wr_drain(w, cycle);
    cycle = w->drain_end + 1;
  }
}

/* valid ofmap writes in row t of a fold */
static int64_t ofmap_row_count(const fold_layout *f, int64_t t) {
  int64_t c0, c1;
  row_cols(f, t, &c0, &c1);
  return c0 > c1 ? 0 : c1 - c0 + 1;
}

/* ------------------------------------------------------------------ */
/* one layer                                                            */
/* ------------------------------------------------------------------ */

static int mul_ok(int64_t a, int64_t b) { return a == 0 || b <= INT64_MAX / a; }

static pg_status stall_push(stall_map *s, int64_t row, int64_t cum) {
  if (s->n == s->cap) {
    int64_t cap = s->cap ? 2 * s->cap : 64;
    int64_t *r = realloc(s->row, (size_t)cap * sizeof *r);
    if (!r) return PG_ENOMEM;
    s->row = r;
    int64_t *c = realloc(s->cum, (size_t)cap * sizeof *c);
    if (!c) return PG_ENOMEM;
    s->cum = c;
    s->cap = cap;
  }
  s->row[s->n] = row;
  s->cum[s->n] = cum;
  s->n++;
  return PG_OK;
}

/* Exact mode: write buffer first (its stalls shift later rows), then the
 * two read buffers. */
static pg_status exact_memory(const pg_hw_systolic_cfg *cfg, const geo *g,
                              pg_hw_systolic_result *r) {
  pg_status st = PG_OK;
  stall_map sm = {0};
  wrbuf w = {0};
  w.S = sram_words(cfg->ofmap_sram_kb, cfg->word_bytes);
  w.A = (w.S + 1) / 2; /* ceil(S * 0.5) */
  w.D = w.S - w.A;
  w.BW = g->C;
  w.free_space = w.S;
  int64_t stalls = 0, last_out = 0, of_first = -1, of_last = -1;
  fold_layout f;
  for (int64_t fold = 0; fold < g->Fr * g->Fc && !w.st && !st; fold++) {
    int64_t fc = fold / g->Fr, fr = fold % g->Fr;
    layout(g, OP_OFMAP, fr, fc, &f);
    for (int64_t t = 0; t < g->P; t++) {
      int64_t row = fold * g->P + t;
      int64_t e = ofmap_row_count(&f, t);
      int64_t cycle = row + stalls;
      int64_t out = e ? wr_row(&w, cycle, e) : cycle;
      if (e) {
        if (of_first < 0) of_first = out;
        of_last = out;
      }
      if (out > cycle) {
        stalls += out - cycle;
        if ((st = stall_push(&sm, row, stalls))) break;
      }
      last_out = out;
    }
  }
  if (!st && !w.st) wr_finish(&w, last_out);
  if (!st) st = w.st;
  if (!st) {
    r->stall_cycles = stalls;
    r->total_cycles = last_out;
    r->sram_ofmap_start = of_first;
    r->sram_ofmap_stop = of_last;
    r->dram_ofmap_writes = w.accesses;
    r->dram_ofmap_start = w.first_cycle;
    r->dram_ofmap_stop = w.last_cycle;
  }
  free(w.line);
  /* read buffers */
  for (int op = OP_IFMAP; op <= OP_FILTER && !st; op++) {
    double kb = op == OP_IFMAP ? cfg->ifmap_sram_kb : cfg->filter_sram_kb;
    rdbuf rb = {0};
    rb.G = sram_words(kb, cfg->word_bytes) / 100;
    rb.window = 50 * rb.G;
    rb.epoch = 1;
    rb.first_req = -1;
    int64_t space = op == OP_IFMAP ? g->B * g->H * g->W * g->Ch : g->K * g->N;
    int64_t foot = op == OP_IFMAP ? ifmap_footprint(g) : g->K * g->N;
    int64_t first, last;
    first_last_rows(g, op, &first, &last);
    int64_t hint = 0;
    first += stalls_before(&sm, first, &hint);
    if (foot < rb.window) {
      /* no flush can happen: every distinct address misses once */
      rb.inserted = foot;
      rb.first_req = first;
    } else {
      rb.stamp = calloc((size_t)space, sizeof *rb.stamp);
      rb.space = space;
      if (!rb.stamp) {
        st = PG_ENOMEM;
        break;
      }
      st = walk_reads(g, op, &rb, &sm);
      free(rb.stamp);
      if (st) break;
    }
    int64_t s0, s1;
    rdbuf_cycles(&rb, &s0, &s1);
    if (op == OP_IFMAP) {
      r->dram_ifmap_reads = rb.inserted;
      r->dram_ifmap_start = s0;
      r->dram_ifmap_stop = s1;
    } else {
      r->dram_filter_reads = rb.inserted;
      r->dram_filter_start = s0;
      r->dram_filter_stop = s1;
    }
  }
  /* trace cycles of the read operands' first and last rows shift with the
   * stalls of earlier rows (ofmap cycles already include them) */
  if (!st && sm.n) {
    int64_t *v[4] = {&r->sram_ifmap_start, &r->sram_ifmap_stop, &r->sram_filter_start,
                     &r->sram_filter_stop};
    for (int i = 0; i < 4; i++) {
      int64_t hint = 0, row = *v[i] - 1;
      *v[i] = row + stalls_before(&sm, row, &hint) + 1;
    }
  }
  free(sm.row);
  free(sm.cum);
  if (!st) r->dram_exact = 1;
  return st;
}

/* Distinct ifmap addresses among window elements [j0, j1) of all M pixels,
 * estimated as the entries divided by their duplication: neighbouring
 * windows share a row (column) of the input when the slice spans more
 * kernel columns (rows) than the stride. */
static double slice_distinct(const geo *g, int64_t j0, int64_t j1) {
  int64_t fwch = g->Fw * g->Ch;
  int64_t nfy = (j1 - 1) / fwch - j0 / fwch + 1;
  int64_t nfx = (j1 - j0 + g->Ch - 1) / g->Ch;
  if (nfx > g->Fw) nfx = g->Fw;
  double dup = (nfx > g->Sw ? (double)nfx / (double)g->Sw : 1.0) *
               (nfy > g->Sh ? (double)nfy / (double)g->Sh : 1.0);
  return (double)g->M * (double)(j1 - j0) / dup;
}

/* Analytical DRAM reads: exact while the footprint fits the read buffer's
 * window (no flush); otherwise an estimate of the misses: each pass over an
 * operand that does not fit misses on every distinct word it streams (see
 * docs/hardware.md for the per-dataflow passes). */
static void analytical_memory(const pg_hw_systolic_cfg *cfg, const geo *g,
                              pg_hw_systolic_result *r) {
  for (int op = OP_IFMAP; op <= OP_FILTER; op++) {
    double kb = op == OP_IFMAP ? cfg->ifmap_sram_kb : cfg->filter_sram_kb;
    int64_t G = sram_words(kb, cfg->word_bytes) / 100, window = 50 * G;
    int64_t foot = op == OP_IFMAP ? ifmap_footprint(g) : g->K * g->N;
    int64_t reads, s0, s1;
    int64_t first = op == OP_IFMAP ? r->sram_ifmap_start - 1 : r->sram_filter_start - 1;
    int64_t last = op == OP_IFMAP ? r->sram_ifmap_stop - 1 : r->sram_filter_stop - 1;
    if (foot < window) {
      reads = foot;
      int64_t sets = (foot + G - 1) / G;
      s0 = -((sets * G + 9) / 10);
      s1 = -1;
    } else {
      double est = 0;
      if (op == OP_FILTER) {
        if (g->df == PG_HW_WS) est = (double)foot; /* stationary: read once */
        else if (g->df == PG_HW_OS) /* a column slice is reused over row folds if it fits */
          est = (double)foot * (g->K * (g->C < g->N ? g->C : g->N) < window ? 1.0 : (double)g->Fr);
        else est = (double)foot * (double)g->Fc;
      } else if (g->df == PG_HW_OS) {
        est = (double)foot * (double)g->Fc; /* each column fold re-streams the ifmap */
      } else if (g->df == PG_HW_IS) {
        est = (double)foot; /* stationary blocks of C pixels: little re-reading */
      } else {
        for (int64_t fr = 0; fr < g->Fr; fr++) {
          int64_t j0 = fr * g->R, j1 = j0 + g->R < g->K ? j0 + g->R : g->K;
          est += slice_distinct(g, j0, j1);
        }
        est *= (double)g->Fc;
        if (est < (double)foot) est = (double)foot;
      }
      reads = (int64_t)llround(est);
      s0 = first - (window + 9) / 10;
      s1 = last + 1;
    }
    if (op == OP_IFMAP) {
      r->dram_ifmap_reads = reads;
      r->dram_ifmap_start = s0;
      r->dram_ifmap_stop = s1;
    } else {
      r->dram_filter_reads = reads;
      r->dram_filter_start = s0;
      r->dram_filter_stop = s1;
    }
  }
  /* ofmap: every valid write once; drained from the first write (when the
   * outputs exceed the drain half) or at the end, C words per cycle */
  int64_t S = sram_words(cfg->ofmap_sram_kb, cfg->word_bytes), D = S - (S + 1) / 2;
  int64_t valid = g->df == PG_HW_OS ? g->M * g->N : g->Fr * g->M * g->N;
  r->dram_ofmap_writes = valid;
  r->dram_ofmap_start = valid > D ? r->sram_ofmap_start : r->total_cycles;
  int64_t tail = valid > D ? (D + g->C - 1) / g->C : (valid + g->C - 1) / g->C;
  r->dram_ofmap_stop = r->total_cycles + (tail > 0 ? tail - 1 : 0);
  r->dram_exact = 0;
}

/* One layer; cfg already checked. */
static pg_status eval_layer(const pg_hw_systolic_cfg *cfg, const pg_hw_layer *l,
                            pg_hw_systolic_result *r) {
  pg_status st = pg_hw_layer_check(l);
  if (st) return st;
  memset(r, 0, sizeof *r);
  if (l->kind == PG_HW_POOL || l->kind == PG_HW_ADD) return PG_OK;
  geo g;
  geo_init(&g, cfg, l);
  r->mapped = 1;
  r->instances = l->groups;
  r->M = g.M, r->N = g.N, r->K = g.K;
  r->Sr = g.Sr, r->Sc = g.Sc, r->T = g.T;
  r->fold_r = g.Fr, r->fold_c = g.Fc;
  int64_t folds = g.Fr * g.Fc;
  if (!mul_ok(folds, g.P) || !mul_ok(g.M, g.N) || !mul_ok(g.M * g.N, g.K) ||
      !mul_ok(g.M * g.N * g.K, 100) || !mul_ok(folds, g.R + g.C) ||
      !mul_ok(g.M * g.N * g.K, l->groups))
    return PG_ERANGE;

  /* utilisation averaged over folds. The simulator sums used/(R C) fold by
   * fold; the used PEs of all folds add up to Sr * Sc (the row extents sum
   * to Sr, the column extents to Sc), so the sums have closed forms that
   * agree with the simulator's to rounding (~1e-16 relative) at O(1) cost
   * instead of O(folds) divisions. */
  const double RC = (double)(g.R * g.C);
  double me_sum = (double)g.Sr * (double)g.Sc / RC;
  double cu_sum = me_sum * (double)g.T / (double)g.U;
  r->mapping_eff = me_sum / (double)folds * 100;
  r->compute_util = cu_sum / (double)folds * 100;

  /* SRAM accesses */
  switch (g.df) {
  case PG_HW_OS:
    r->sram_ifmap_reads = g.Fc * g.M * g.K;
    r->sram_filter_reads = g.Fr * g.K * g.N;
    r->sram_ofmap_writes = g.M * g.N + folds * (g.R + g.C);
    break;
  case PG_HW_WS:
    r->sram_ifmap_reads = g.Fc * g.M * g.K;
    r->sram_filter_reads = g.K * g.N;
    r->sram_ofmap_writes = g.Fr * g.M * g.N;
    break;
  default:
    r->sram_ifmap_reads = g.M * g.K;
    r->sram_filter_reads = g.Fc * g.K * g.N;
    r->sram_ofmap_writes = g.Fr * g.M * g.N;
    break;
  }

  /* cycles and the SRAM activity windows without stalls */
  r->total_cycles = folds * g.P - 1;
  r->stall_cycles = 0;
  int64_t a, b;
  first_last_rows(&g, OP_IFMAP, &a, &b);
  r->sram_ifmap_start = a + 1, r->sram_ifmap_stop = b + 1;
  first_last_rows(&g, OP_FILTER, &a, &b);
  r->sram_filter_start = a + 1, r->sram_filter_stop = b + 1;
  first_last_rows(&g, OP_OFMAP, &a, &b);
  r->sram_ofmap_start = a, r->sram_ofmap_stop = b;

  if (cfg->mode == PG_HW_SYS_EXACT) {
    if ((st = exact_memory(cfg, &g, r))) return st;
  } else {
    analytical_memory(cfg, &g, r);
  }

  /* report values of one instance */
  int64_t macs1 = g.M * g.N * g.K;
  r->overall_util = (double)(macs1 * 100) / ((double)r->total_cycles * RC);
  double tc = (double)r->total_cycles;
  r->bw_sram_ifmap = (double)r->sram_ifmap_reads / tc;
  r->bw_sram_filter = (double)r->sram_filter_reads / tc;
  r->bw_sram_ofmap = (double)r->sram_ofmap_writes / tc;
  r->bw_dram_ifmap = (double)r->dram_ifmap_reads / (double)(r->dram_ifmap_stop - r->dram_ifmap_start + 1);
  r->bw_dram_filter =
    (double)r->dram_filter_reads / (double)(r->dram_filter_stop - r->dram_filter_start + 1);
  r->bw_dram_ofmap = (double)r->dram_ofmap_writes / (double)(r->dram_ofmap_stop - r->dram_ofmap_start + 1);

  /* bandwidth-limited mode (ours): DRAM traffic at `bandwidth` words per
   * cycle must fit in the layer's time; the excess is stall */
  if (cfg->bandwidth > 0) {
    double words = (double)(r->dram_ifmap_reads + r->dram_filter_reads + r->dram_ofmap_writes);
    double need = ceil(words / cfg->bandwidth);
    double have = (double)(r->total_cycles + 1);
    if (need > have) {
      if (need > 9e18) return PG_ERANGE;
      int64_t extra = (int64_t)(need - have);
      r->stall_cycles += extra;
      r->total_cycles += extra;
      r->overall_util = (double)(macs1 * 100) / ((double)r->total_cycles * RC);
    }
  }

  /* totals over the instances */
  int64_t n = l->groups;
  r->macs = macs1 * n;
  if (!mul_ok(r->total_cycles, n) || !mul_ok(r->sram_ifmap_reads, n) ||
      !mul_ok(r->sram_filter_reads, n) || !mul_ok(r->sram_ofmap_writes, n))
    return PG_ERANGE;
  r->total_cycles *= n;
  r->stall_cycles *= n;
  r->sram_ifmap_reads *= n;
  r->sram_filter_reads *= n;
  r->sram_ofmap_writes *= n;
  r->dram_ifmap_reads *= n;
  r->dram_filter_reads *= n;
  r->dram_ofmap_writes *= n;

  /* energy: the OS ofmap count's (R + C) per fold is bookkeeping, not data */
  double wb = (double)cfg->word_bytes;
  double sram_words_moved = (double)(r->sram_ifmap_reads + r->sram_filter_reads + r->sram_ofmap_writes);
  if (g.df == PG_HW_OS) sram_words_moved -= (double)(folds * (g.R + g.C) * n);
  double dram_words = (double)(r->dram_ifmap_reads + r->dram_filter_reads + r->dram_ofmap_writes);
  r->energy_pj = (double)r->macs * cfg->e_mac_pj + sram_words_moved * wb * cfg->e_sram_pj_per_byte +
                 dram_words * wb * cfg->e_dram_pj_per_byte;
  r->latency_s = (double)r->total_cycles / cfg->clock_hz;
  return PG_OK;
}

pg_status pg_hw_systolic_layer(const pg_hw_systolic_cfg *cfg, const pg_hw_layer *l,
                               pg_hw_systolic_result *r) {
  if (!cfg || !l || !r) return PG_EINVAL;
  pg_status st = pg_hw_systolic_check(cfg);
  if (st) return st;
  return eval_layer(cfg, l, r);
}

pg_status pg_hw_systolic_network(const pg_hw_systolic_cfg *cfg, const pg_hw_network *net,
                                 pg_hw_systolic_result *per_layer, pg_hw_systolic_total *total) {
  if (!cfg || !net || (net->n && !net->layers)) return PG_EINVAL;
  pg_status st = pg_hw_systolic_check(cfg);
  if (st) return st;
  pg_hw_systolic_total t;
  memset(&t, 0, sizeof t);
  double wb = (double)cfg->word_bytes;
  for (size_t i = 0; i < net->n; i++) {
    pg_hw_systolic_result r;
    if ((st = eval_layer(cfg, &net->layers[i], &r))) return st;
    if (per_layer) per_layer[i] = r;
    if (!r.mapped) continue;
    t.layers_mapped++;
    t.macs += r.macs;
    t.total_cycles += r.total_cycles;
    t.stall_cycles += r.stall_cycles;
    t.sram_ifmap_reads += r.sram_ifmap_reads;
    t.sram_filter_reads += r.sram_filter_reads;
    t.sram_ofmap_writes += r.sram_ofmap_writes;
    t.dram_ifmap_reads += r.dram_ifmap_reads;
    t.dram_filter_reads += r.dram_filter_reads;
    t.dram_ofmap_writes += r.dram_ofmap_writes;
    t.energy_pj += r.energy_pj;
    t.energy_mac_pj += (double)r.macs * cfg->e_mac_pj;
    t.energy_dram_pj += (double)(r.dram_ifmap_reads + r.dram_filter_reads + r.dram_ofmap_writes) *
                        wb * cfg->e_dram_pj_per_byte;
  }
  t.energy_sram_pj = t.energy_pj - t.energy_mac_pj - t.energy_dram_pj;
  t.overall_util = t.total_cycles
                     ? (double)t.macs * 100.0 / ((double)t.total_cycles * (double)(cfg->rows * cfg->cols))
                     : 0.0;
  t.latency_s = (double)t.total_cycles / cfg->clock_hz;
  t.edp_js = t.energy_pj * 1e-12 * t.latency_s;
  if (total) *total = t;
  return PG_OK;
}
