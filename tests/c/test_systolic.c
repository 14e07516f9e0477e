/*
 * test_systolic.c -- the Scale-Sim compatible systolic model.
 *
 * Oracles:
 * - the worked AlexNet example of research/hardware_models.md section 9
 *   (ws, 32 x 32, conv1) and its closed forms;
 * - a literal, slow transliteration of Scale-Sim v2 written here from its
 *   Python (operand_matrix.py, systolic_compute_{os,ws,is}.py,
 *   read_buffer_estimate_bw.py, write_buffer.py,
 *   double_buffered_scratchpad_mem.py): full operand matrices, demand
 *   matrices built by concatenating prefix / padded body / flip / suffix
 *   and skewing them, a read buffer made of explicit sets, and a write
 *   buffer made of explicit lines. Every compute-report value, SRAM count,
 *   start/stop cycle and (exact mode) DRAM count must agree;
 * - invariants: more bandwidth never increases latency, bigger SRAMs never
 *   increase DRAM traffic (analytical mode), MACs = product of loop bounds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "systolic.h"

/* ------------------------------------------------------------------ */
/* a growable matrix of int64 with -1 for "no request"                 */
/* ------------------------------------------------------------------ */

typedef struct mat {
  int64_t rows, cols;
  int64_t *v;
} mat;

static mat mat_new(int64_t rows, int64_t cols, int64_t fill) {
  mat m = {rows, cols, malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof(int64_t))};
  assert_non_null(m.v);
  for (int64_t i = 0; i < rows * cols; i++) m.v[i] = fill;
  return m;
}
#define AT(m, i, j) ((m).v[(i) * (m).cols + (j)])

/* vertical concatenation appended into dst (dst may be empty) */
static void mat_vcat(mat *dst, const mat *src) {
  if (dst->rows == 0) {
    free(dst->v);
    *dst = mat_new(src->rows, src->cols, -1);
    memcpy(dst->v, src->v, (size_t)(src->rows * src->cols) * sizeof(int64_t));
    return;
  }
  assert_int_equal(dst->cols, src->cols);
  int64_t *p = realloc(dst->v, (size_t)((dst->rows + src->rows) * dst->cols) * sizeof(int64_t));
  assert_non_null(p);
  dst->v = p;
  memcpy(dst->v + dst->rows * dst->cols, src->v, (size_t)(src->rows * src->cols) * sizeof(int64_t));
  dst->rows += src->rows;
}

/* block rows [r0,r1) x cols [c0,c1) of src, padded with -1 to pr x pc
 * (padding columns on the right, rows at the bottom) */
static mat mat_block(const mat *src, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t pr,
                     int64_t pc, int transpose) {
  mat m = mat_new(pr, pc, -1);
  for (int64_t i = r0; i < r1; i++)
    for (int64_t j = c0; j < c1; j++) {
      if (transpose) AT(m, j - c0, i - r0) = AT(*src, i, j);
      else AT(m, i - r0, j - c0) = AT(*src, i, j);
    }
  return m;
}

static mat mat_flip(mat m) {
  for (int64_t i = 0; i < m.rows / 2; i++)
    for (int64_t j = 0; j < m.cols; j++) {
      int64_t t = AT(m, i, j);
      AT(m, i, j) = AT(m, m.rows - 1 - i, j);
      AT(m, m.rows - 1 - i, j) = t;
    }
  return m;
}

/* skew_matrix: column c moves down by c rows */
static mat mat_skew(mat m) {
  mat s = mat_new(m.rows + m.cols - 1, m.cols, -1);
  for (int64_t i = 0; i < m.rows; i++)
    for (int64_t j = 0; j < m.cols; j++) AT(s, i + j, j) = AT(m, i, j);
  free(m.v);
  return s;
}

static mat pad_rows(mat m, int64_t pre, int64_t post) {
  mat s = mat_new(m.rows + pre + post, m.cols, -1);
  memcpy(s.v + pre * m.cols, m.v, (size_t)(m.rows * m.cols) * sizeof(int64_t));
  free(m.v);
  return s;
}

/* ------------------------------------------------------------------ */
/* the simulator, transliterated                                        */
/* ------------------------------------------------------------------ */

typedef struct sim {
  int64_t R, C;
  int df; /* 0 os, 1 ws, 2 is */
  mat ifd, fld, ofd;
  double map_sum, cu_sum;
  int64_t nfolds;
  int64_t if_reads, fl_reads, of_writes;
} sim;

static void build_demands(sim *s, int64_t H, int64_t W, int64_t Fh, int64_t Fw, int64_t Ch,
                          int64_t N, int64_t Sh, int64_t Sw) {
  int64_t Eh = (H - Fh + Sh + Sh - 1) / Sh, Ew = (W - Fw + Sw + Sw - 1) / Sw;
  int64_t M = Eh * Ew, K = Fh * Fw * Ch, R = s->R, C = s->C;
  mat ifm = mat_new(M, K, 0), flm = mat_new(K, N, 0), ofm = mat_new(M, N, 0);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < K; j++) {
      int64_t orow = i / Ew, ocol = i % Ew, ir = orow * Sh, ic = ocol * Sw;
      int64_t cr = j / (Fw * Ch), k = j % (Fw * Ch), cc = k / Ch, ch = k % Ch;
      AT(ifm, i, j) = (cr + ir >= H || cc + ic >= W) ? -1
                                                      : cr * W * Ch + cc * Ch + ch + ir * W * Ch + ic * Ch;
    }
  for (int64_t i = 0; i < K; i++)
    for (int64_t j = 0; j < N; j++) AT(flm, i, j) = j * Fh * Fw * Ch + i + 10000000;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) AT(ofm, i, j) = N * i + j + 20000000;
  int64_t Sr, Sc, T;
  if (s->df == 0) Sr = M, Sc = N, T = K;
  else if (s->df == 1) Sr = K, Sc = N, T = M;
  else Sr = K, Sc = M, T = N;
  int64_t Fr = (Sr + R - 1) / R, Fc = (Sc + C - 1) / C;
  s->ifd = (mat){0, 0, NULL};
  s->fld = (mat){0, 0, NULL};
  s->ofd = (mat){0, 0, NULL};
  s->map_sum = s->cu_sum = 0;
  s->nfolds = Fr * Fc;
  s->if_reads = s->fl_reads = s->of_writes = 0;
  for (int64_t fc = 0; fc < Fc; fc++)
    for (int64_t fr = 0; fr < Fr; fr++) {
      int64_t r0 = fr * R, r1 = r0 + R < Sr ? r0 + R : Sr;
      int64_t c0 = fc * C, c1 = c0 + C < Sc ? c0 + C : Sc;
      int64_t ur = r1 - r0, uc = c1 - c0;
      mat a, b, c;
      int64_t cycles_this_fold;
      if (s->df == 0) { /* os */
        a = mat_block(&ifm, r0, r1, 0, K, K, R, 1); /* ifmap_op_mat_trans[:, r0:r1] */
        s->if_reads += K * ur;
        a = mat_skew(pad_rows(a, 0, C - 1));
        b = mat_block(&flm, 0, K, c0, c1, K, C, 0);
        s->fl_reads += K * uc;
        b = mat_skew(pad_rows(b, 0, R - 1));
        c = mat_block(&ofm, r0, r1, c0, c1, R, C, 0);
        s->of_writes += ur * uc;
        c = mat_flip(c);
        s->of_writes += c.rows + c.cols;
        c = pad_rows(c, T - 1, 0);
        cycles_this_fold = c.rows + c.cols - 1;
        c = mat_skew(c);
      } else if (s->df == 1) { /* ws */
        a = mat_block(&ifm, 0, M, r0, r1, M, R, 0);
        s->if_reads += M * ur;
        a = mat_skew(pad_rows(a, R, C - 1));
        b = mat_block(&flm, r0, r1, c0, c1, R, C, 0);
        s->fl_reads += ur * uc;
        b = pad_rows(mat_flip(b), 0, R + C + T - 2);
        cycles_this_fold = b.rows + b.cols - 1;
        c = mat_block(&ofm, 0, M, c0, c1, M, C, 0);
        s->of_writes += M * uc;
        c = mat_skew(pad_rows(c, 2 * R - 1, 0));
      } else { /* is */
        a = mat_block(&ifm, c0, c1, r0, r1, R, C, 1); /* ifmap_op_mat_trans[r0:r1, c0:c1] */
        s->if_reads += ur * uc;
        a = pad_rows(mat_flip(a), 0, R + C + T - 2);
        cycles_this_fold = a.rows + a.cols - 1;
        b = mat_block(&flm, r0, r1, 0, N, N, R, 1); /* filter_op_mat[r0:r1, :].T */
        s->fl_reads += N * ur;
        b = mat_skew(pad_rows(b, R, C - 1));
        c = mat_block(&ofm, c0, c1, 0, N, N, C, 1); /* ofmap_op_mat[c0:c1, :].T */
        s->of_writes += N * uc;
        c = mat_skew(pad_rows(c, 2 * R - 1, 0));
      }
      s->map_sum += (double)(ur * uc) / (double)(R * C);
      s->cu_sum += (double)(ur * uc * T) / (double)(R * C * cycles_this_fold);
      assert_int_equal(a.rows, b.rows);
      assert_int_equal(a.rows, c.rows);
      mat_vcat(&s->ifd, &a);
      mat_vcat(&s->fld, &b);
      mat_vcat(&s->ofd, &c);
      free(a.v);
      free(b.v);
      free(c.v);
    }
  free(ifm.v);
  free(flm.v);
  free(ofm.v);
}

/* read_buffer_estimate_bw.py, with explicit sets */
typedef struct oset {
  int64_t n, cap;
  int64_t *v;
} oset;
static int oset_has(const oset *s, int64_t a) {
  for (int64_t i = 0; i < s->n; i++)
    if (s->v[i] == a) return 1;
  return 0;
}
static void oset_add(oset *s, int64_t a) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = realloc(s->v, (size_t)s->cap * sizeof(int64_t));
    assert_non_null(s->v);
  }
  s->v[s->n++] = a;
}

typedef struct orb {
  int64_t G, active_sets, prefetch_sets;
  oset cur;
  oset *sets;
  int64_t nsets, cur_id, elems;
  int64_t rd_start, rd_end, pf_start, pf_end;
  int64_t last_start, last_end, first_req;
  int first_seen, active_done, trace_valid;
  int64_t num_access, trace_first, trace_last;
} orb;

static void orb_init(orb *b, int64_t words) {
  memset(b, 0, sizeof *b);
  b->G = words / 100;
  b->active_sets = 50;
  b->prefetch_sets = 50;
  b->rd_start = 0;
  b->rd_end = 49;
  b->last_start = -2;
  b->last_end = -1;
  b->sets = calloc(100000, sizeof(oset));
  assert_non_null(b->sets);
}

static void orb_prefetch(orb *b, int64_t bw) {
  int64_t s0, s1;
  if (!b->active_done) s0 = 0, s1 = b->active_sets - 1;
  else s0 = b->pf_start, s1 = b->pf_end;
  int64_t n = 0;
  for (int64_t i = s0; i <= s1; i++) n += b->sets[i].n;
  b->num_access += n;
  int64_t cycles = b->last_end - b->last_start + 1;
  assert_true(cycles * bw >= n);
  if (cycles > 0) {
    if (!b->trace_valid) b->trace_first = b->last_start + 1;
    b->trace_valid = 1;
    b->trace_last = b->last_start + cycles - 1 + 1;
  }
}

static int orb_hit(orb *b, int64_t a) {
  int64_t s = b->rd_start, e = b->cur_id < b->rd_end + 1 ? b->cur_id : b->rd_end + 1;
  for (int64_t i = s; i < e; i++)
    if (oset_has(&b->sets[i], a)) return 1;
  return 0;
}

static void orb_manage(orb *b, int64_t cycle, int64_t a) {
  if (orb_hit(b, a)) return;
  if (oset_has(&b->cur, a)) return;
  oset_add(&b->cur, a);
  if (++b->elems != b->G) return;
  assert_true(b->nsets < 100000);
  b->sets[b->nsets++] = b->cur;
  memset(&b->cur, 0, sizeof b->cur);
  b->elems = 0;
  b->cur_id++;
  if (b->cur_id != b->rd_end + 1) return;
  if (!b->active_done) {
    b->last_end = b->first_req - 1 - 1;
    int64_t cyc = (b->prefetch_sets * b->G + 9) / 10;
    b->last_start = b->last_end - cyc + 1;
    orb_prefetch(b, 10);
    b->pf_start = b->rd_end + 1;
    b->pf_end = b->pf_start + b->prefetch_sets - 1;
    b->active_done = 1;
  } else {
    int64_t elems = b->prefetch_sets * b->G, cyc = b->last_end - b->last_start + 1;
    orb_prefetch(b, (elems + cyc - 1) / cyc);
    b->pf_start += b->prefetch_sets;
    b->pf_end += b->prefetch_sets;
  }
  for (int64_t j = 0; j < b->prefetch_sets; j++) {
    free(b->sets[b->rd_start + j].v);
    memset(&b->sets[b->rd_start + j], 0, sizeof(oset));
  }
  b->rd_start += b->prefetch_sets;
  b->rd_end += b->prefetch_sets;
  b->last_start = b->last_end + 1;
  b->last_end = cycle;
}

static void orb_row(orb *b, const int64_t *row, int64_t n, int64_t cycle) {
  if (!b->first_seen) {
    int64_t mx = -1;
    for (int64_t i = 0; i < n; i++) mx = row[i] > mx ? row[i] : mx;
    if (mx > -1) b->first_req = cycle, b->first_seen = 1;
  }
  for (int64_t i = 0; i < n; i++)
    if (row[i] != -1) orb_manage(b, cycle, row[i]);
}

static void orb_complete(orb *b) {
  if (b->cur.n > 0) {
    b->sets[b->nsets++] = b->cur;
    memset(&b->cur, 0, sizeof b->cur);
  } else {
    b->cur_id--;
  }
  if (!b->active_done) {
    b->last_end = -1 - 1;
    int64_t nsets = b->cur_id + 1;
    b->active_sets = nsets;
    int64_t cyc = (nsets * b->G + 9) / 10;
    b->last_start = b->last_end - cyc + 1;
    orb_prefetch(b, 10);
    b->active_done = 1;
  } else {
    int64_t nsets = b->cur_id - b->pf_start + 1;
    b->pf_end = b->cur_id;
    int64_t elems = nsets * b->G, cyc = b->last_end - b->last_start + 1;
    orb_prefetch(b, (elems + cyc - 1) / cyc);
  }
  for (int64_t i = 0; i < b->nsets; i++) free(b->sets[i].v);
  free(b->sets);
  free(b->cur.v);
}

/* write_buffer.py with explicit lines (cache, trace matrix, drains) */
typedef struct owb {
  int64_t S, A, D, BW, free_space, drain_end, ds, de;
  int64_t *cur, line_idx;
  int64_t *trace; /* lines of BW */
  int64_t ntrace;
  int64_t *cache;
  int64_t ncache;
  int64_t num_access, cyc_first, cyc_last;
  int trace_valid;
} owb;

static void owb_init(owb *w, int64_t S, int64_t BW) {
  memset(w, 0, sizeof *w);
  w->S = S;
  w->A = (S + 1) / 2;
  w->D = S - w->A;
  w->BW = BW;
  w->free_space = S;
  w->cur = NULL;
}
static void owb_append_line(int64_t **arr, int64_t *n, const int64_t *line, int64_t BW) {
  *arr = realloc(*arr, (size_t)((*n + 1) * BW) * sizeof(int64_t));
  assert_non_null(*arr);
  memcpy(*arr + *n * BW, line, (size_t)BW * sizeof(int64_t));
  (*n)++;
}
static void owb_to_trace(owb *w, int force) {
  if (force && w->line_idx != 0) {
    owb_append_line(&w->cache, &w->ncache, w->cur, w->BW);
    free(w->cur);
    w->cur = NULL;
    w->line_idx = 0;
  }
  for (int64_t i = 0; i < w->ncache; i++) owb_append_line(&w->trace, &w->ntrace, w->cache + i * w->BW, w->BW);
  free(w->cache);
  w->cache = NULL;
  w->ncache = 0;
}
static void owb_store(owb *w, int64_t e) {
  if (!w->cur) {
    w->cur = malloc((size_t)w->BW * sizeof(int64_t));
    for (int64_t i = 0; i < w->BW; i++) w->cur[i] = -1;
  }
  w->cur[w->line_idx++] = e;
  w->free_space--;
  if (w->line_idx >= w->BW) {
    owb_append_line(&w->cache, &w->ncache, w->cur, w->BW);
    free(w->cur);
    w->cur = NULL;
    w->line_idx = 0;
    if (w->ncache >= 1024) owb_to_trace(w, 0);
  }
}
static int64_t owb_drain(owb *w, int64_t start) {
  int64_t L = (w->D + w->BW - 1) / w->BW;
  w->de = w->ds + L < w->ntrace ? w->ds + L : w->ntrace;
  int64_t n = w->de - w->ds;
  assert_true(n > 0);
  int64_t data = n * w->BW;
  for (int64_t j = 0; j < w->BW; j++)
    if (w->trace[(w->de - 1) * w->BW + j] == -1) data--;
  w->num_access += data;
  if (!w->trace_valid) w->cyc_first = start, w->trace_valid = 1;
  w->cyc_last = start + n - 1;
  w->free_space += data;
  w->ds = w->de;
  return start + n - 1;
}
static int64_t owb_row(owb *w, const int64_t *row, int64_t n, int64_t cycle) {
  int64_t current = cycle;
  for (int64_t i = 0; i < n; i++) {
    if (row[i] == -1) continue;
    owb_store(w, row[i]);
    if (current < w->drain_end) {
      if (!(w->free_space > 0)) current = w->drain_end;
    } else if (w->free_space < w->S - w->D) {
      owb_to_trace(w, 1);
      w->drain_end = owb_drain(w, current);
    }
  }
  return current;
}
static void owb_finish(owb *w, int64_t cycle) {
  owb_to_trace(w, 1);
  while (w->ds < w->ntrace) {
    w->drain_end = owb_drain(w, cycle);
    cycle = w->drain_end + 1;
  }
  free(w->trace);
  free(w->cur);
}

typedef struct ref {
  int64_t total, stalls;
  double overall, mapping, compute;
  int64_t sram[3], sram_start[3], sram_stop[3];
  int64_t dram[3], dram_start[3], dram_stop[3];
} ref;

static void row_span(const mat *m, const int64_t *cyc, int64_t *first, int64_t *last) {
  *first = *last = -12345;
  for (int64_t i = 0; i < m->rows; i++)
    for (int64_t j = 0; j < m->cols; j++)
      if (AT(*m, i, j) != -1) {
        if (*first == -12345) *first = cyc[i];
        *last = cyc[i];
        break;
      }
}

static void run_reference(int df, int64_t R, int64_t C, int64_t kb_if, int64_t kb_fl,
                          int64_t kb_of, int64_t H, int64_t W, int64_t Fh, int64_t Fw, int64_t Ch,
                          int64_t N, int64_t Sh, int64_t Sw, ref *out) {
  sim s = {.R = R, .C = C, .df = df};
  build_demands(&s, H, W, Fh, Fw, Ch, N, Sh, Sw);
  orb ib, fb;
  owb ob;
  orb_init(&ib, kb_if * 1024);
  orb_init(&fb, kb_fl * 1024);
  owb_init(&ob, kb_of * 1024, C);
  int64_t rows = s.ofd.rows, stalls = 0;
  int64_t *ic = malloc((size_t)rows * sizeof(int64_t)), *oc = malloc((size_t)rows * sizeof(int64_t));
  for (int64_t i = 0; i < rows; i++) {
    int64_t cycle = i + stalls;
    orb_row(&ib, s.ifd.v + i * s.ifd.cols, s.ifd.cols, cycle);
    orb_row(&fb, s.fld.v + i * s.fld.cols, s.fld.cols, cycle);
    ic[i] = cycle + 1;
    oc[i] = owb_row(&ob, s.ofd.v + i * s.ofd.cols, s.ofd.cols, cycle);
    int64_t st = oc[i] - cycle;
    stalls += st > 0 ? st : 0;
  }
  orb_complete(&ib);
  orb_complete(&fb);
  owb_finish(&ob, oc[rows - 1]);
  int64_t Eh = (H - Fh + Sh + Sh - 1) / Sh, Ew = (W - Fw + Sw + Sw - 1) / Sw;
  out->total = oc[rows - 1];
  out->stalls = stalls;
  out->overall = (double)(Eh * Ew * N * Fh * Fw * Ch * 100) / (double)(out->total * R * C);
  out->mapping = s.map_sum / (double)s.nfolds * 100;
  out->compute = s.cu_sum / (double)s.nfolds * 100;
  out->sram[0] = s.if_reads, out->sram[1] = s.fl_reads, out->sram[2] = s.of_writes;
  row_span(&s.ifd, ic, &out->sram_start[0], &out->sram_stop[0]);
  row_span(&s.fld, ic, &out->sram_start[1], &out->sram_stop[1]);
  row_span(&s.ofd, oc, &out->sram_start[2], &out->sram_stop[2]);
  out->dram[0] = ib.num_access, out->dram_start[0] = ib.trace_first, out->dram_stop[0] = ib.trace_last;
  out->dram[1] = fb.num_access, out->dram_start[1] = fb.trace_first, out->dram_stop[1] = fb.trace_last;
  out->dram[2] = ob.num_access, out->dram_start[2] = ob.cyc_first, out->dram_stop[2] = ob.cyc_last;
  free(ic);
  free(oc);
  free(s.ifd.v);
  free(s.fld.v);
  free(s.ofd.v);
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static void rel_equal(double a, double b) {
  double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
  if (!(d <= 1e-12 * m)) fail_msg("%.17g != %.17g", a, b);
}

/* a Scale-Sim layer (no padding, ceil output size) as a workload layer */
static pg_hw_layer ss_layer(int64_t H, int64_t W, int64_t Fh, int64_t Fw, int64_t Ch, int64_t N,
                            int64_t Sh, int64_t Sw) {
  pg_hw_layer l;
  memset(&l, 0, sizeof l);
  strcpy(l.name, "t");
  l.kind = PG_HW_CONV;
  l.B = 1;
  l.IY = H, l.IX = W, l.FY = Fh, l.FX = Fw, l.C = Ch, l.K = N, l.SY = Sh, l.SX = Sw;
  l.OY = (H - Fh + Sh + Sh - 1) / Sh;
  l.OX = (W - Fw + Sw + Sw - 1) / Sw;
  l.groups = 1;
  l.prec_i = l.prec_w = l.prec_o = 8;
  l.input = PG_HW_INPUT;
  l.input2 = -1;
  assert_int_equal(pg_hw_layer_check(&l), PG_OK);
  return l;
}

static void compare_layer(int df, int64_t R, int64_t C, int64_t kb_if, int64_t kb_fl, int64_t kb_of,
                          int64_t H, int64_t W, int64_t Fh, int64_t Fw, int64_t Ch, int64_t N,
                          int64_t Sh, int64_t Sw) {
  ref rf;
  run_reference(df, R, C, kb_if, kb_fl, kb_of, H, W, Fh, Fw, Ch, N, Sh, Sw, &rf);
  pg_hw_layer l = ss_layer(H, W, Fh, Fw, Ch, N, Sh, Sw);
  for (int mode = 0; mode < 2; mode++) {
    pg_hw_systolic_cfg cfg;
    pg_hw_systolic_default(&cfg);
    cfg.rows = R, cfg.cols = C, cfg.dataflow = (pg_hw_dataflow)df;
    cfg.ifmap_sram_kb = (double)kb_if, cfg.filter_sram_kb = (double)kb_fl,
    cfg.ofmap_sram_kb = (double)kb_of;
    cfg.mode = mode ? PG_HW_SYS_EXACT : PG_HW_SYS_ANALYTICAL;
    pg_hw_systolic_result r;
    assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
    /* compute report and SRAM counts: both modes */
    assert_int_equal(r.sram_ifmap_reads, rf.sram[0]);
    assert_int_equal(r.sram_filter_reads, rf.sram[1]);
    assert_int_equal(r.sram_ofmap_writes, rf.sram[2]);
    rel_equal(r.mapping_eff, rf.mapping);
    rel_equal(r.compute_util, rf.compute);
    if (rf.stalls == 0 || mode == 1) {
      assert_int_equal(r.total_cycles, rf.total);
      assert_int_equal(r.stall_cycles, rf.stalls);
      rel_equal(r.overall_util, rf.overall);
      assert_int_equal(r.sram_ifmap_start, rf.sram_start[0]);
      assert_int_equal(r.sram_ifmap_stop, rf.sram_stop[0]);
      assert_int_equal(r.sram_filter_start, rf.sram_start[1]);
      assert_int_equal(r.sram_filter_stop, rf.sram_stop[1]);
      assert_int_equal(r.sram_ofmap_start, rf.sram_start[2]);
      assert_int_equal(r.sram_ofmap_stop, rf.sram_stop[2]);
    }
    if (mode == 1) {
      assert_int_equal(r.dram_ifmap_reads, rf.dram[0]);
      assert_int_equal(r.dram_filter_reads, rf.dram[1]);
      assert_int_equal(r.dram_ofmap_writes, rf.dram[2]);
      assert_int_equal(r.dram_ifmap_start, rf.dram_start[0]);
      assert_int_equal(r.dram_ifmap_stop, rf.dram_stop[0]);
      assert_int_equal(r.dram_filter_start, rf.dram_start[1]);
      assert_int_equal(r.dram_filter_stop, rf.dram_stop[1]);
      assert_int_equal(r.dram_ofmap_start, rf.dram_start[2]);
      assert_int_equal(r.dram_ofmap_stop, rf.dram_stop[2]);
      rel_equal(r.bw_dram_ifmap,
                (double)rf.dram[0] / (double)(rf.dram_stop[0] - rf.dram_start[0] + 1));
      rel_equal(r.bw_sram_filter, (double)rf.sram[1] / (double)rf.total);
    } else {
      /* analytical DRAM reads are exact when nothing is flushed: the
       * footprint then fits the 50-set window */
      if (rf.dram[0] < 50 * (kb_if * 1024 / 100)) {
        assert_int_equal(r.dram_ifmap_reads, rf.dram[0]);
        assert_int_equal(r.dram_ifmap_start, rf.dram_start[0]);
        assert_int_equal(r.dram_ifmap_stop, rf.dram_stop[0]);
      }
    }
  }
}

/* ------------------------------------------------------------------ */
/* tests                                                                */
/* ------------------------------------------------------------------ */

/* research/hardware_models.md section 9: ws, 32 x 32, AlexNet conv1 */
static void test_alexnet_worked_example(void **state) {
  (void)state;
  pg_hw_layer l = ss_layer(224, 224, 11, 11, 3, 96, 4, 4);
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  pg_hw_systolic_result r;
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
  assert_int_equal(l.OY, 55);
  assert_int_equal(r.M, 3025);
  assert_int_equal(r.K, 363);
  assert_int_equal(r.N, 96);
  assert_int_equal(r.fold_r, 12);
  assert_int_equal(r.fold_c, 3);
  /* P = 2R + C + M - 2 = 3119; cycles = Fr Fc P - 1 */
  assert_int_equal(r.total_cycles, 12 * 3 * 3119 - 1);
  assert_int_equal(r.total_cycles, 112283);
  assert_int_equal(r.stall_cycles, 0);
  rel_equal(r.mapping_eff, 94.53125);
  assert_true(fabs(r.compute_util - 90.78) < 0.005);
  assert_int_equal(r.sram_ifmap_reads, 3294225);
  assert_int_equal(r.sram_filter_reads, 363 * 96);
  assert_int_equal(r.sram_ofmap_writes, 12 * 3025 * 96);
  rel_equal(r.overall_util, 3025.0 * 96 * 363 * 100 / (112283.0 * 1024));
  /* exact mode: 1.8 M ifmap DRAM reads for a 150 k-word ifmap (the note) */
  cfg.mode = PG_HW_SYS_EXACT;
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
  assert_true(r.dram_ifmap_reads > 1750000 && r.dram_ifmap_reads < 1850000);
  assert_int_equal(r.dram_filter_reads, 363 * 96); /* stationary, fits */
  /* every valid ofmap write once, plus the padded last line (C - 1) */
  assert_true(r.dram_ofmap_writes == 12 * 3025 * 96 ||
              r.dram_ofmap_writes == 12 * 3025 * 96 + 31);
}

/* Values printed by Scale-Sim v2.0.2 itself (a published run: 32 x 32, ws,
 * 64 kB buffers, USER bandwidth 10, GEMM topology "M, N, K"): layer 0
 * (M 128, N 128, K 64): 1775 cycles, 0 stalls, overall 57.69 %, mapping
 * 100.0 %, compute 50.59 %; layer 1 (M 128, N 2048, K 512): 3,984,321 cycles
 * of which 3,756,994 stalls (USER-mode read buffers, not modelled), i.e.
 * 227,327 compute cycles, and 4,194,304 ifmap SRAM reads. */
static void test_scalesim_published_run(void **state) {
  (void)state;
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  pg_hw_systolic_result r;
  /* GEMM rows become H = M, W = K, a 1 x K filter, one channel, N filters */
  pg_hw_layer l0 = ss_layer(128, 64, 1, 64, 1, 128, 1, 1);
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l0, &r), PG_OK);
  assert_int_equal(r.total_cycles, 1775);
  assert_int_equal(r.stall_cycles, 0);
  assert_true(fabs(r.overall_util - 57.69) < 0.005);
  rel_equal(r.mapping_eff, 100.0);
  assert_true(fabs(r.compute_util - 50.59) < 0.005);
  pg_hw_layer l1 = ss_layer(128, 512, 1, 512, 1, 2048, 1, 1);
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l1, &r), PG_OK);
  assert_int_equal(r.total_cycles, 3984321 - 3756994);
  assert_int_equal(r.sram_ifmap_reads, 4194304);
  rel_equal(r.mapping_eff, 100.0);
  assert_true(fabs(r.compute_util - 50.59) < 0.005);
}

/* hand-derived closed forms for each dataflow on one small layer:
 * 8 x 8 input, 3 x 3 x 2 filters, 5 filters, stride 1, 4 x 4 array.
 * M = 36, K = 18, N = 5. */
static void test_hand_derived(void **state) {
  (void)state;
  pg_hw_layer l = ss_layer(8, 8, 3, 3, 2, 5, 1, 1);
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  cfg.rows = cfg.cols = 4;
  pg_hw_systolic_result r;
  /* os: Sr = M = 36 (9 folds), Sc = N = 5 (2 folds), P = K + R + C - 2 = 24 */
  cfg.dataflow = PG_HW_OS;
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
  assert_int_equal(r.total_cycles, 9 * 2 * 24 - 1);
  rel_equal(r.mapping_eff, (9 * 16.0 / 16 + 9 * 4.0 / 16) / 18 * 100);
  assert_int_equal(r.sram_ifmap_reads, 2 * 36 * 18);
  assert_int_equal(r.sram_filter_reads, 9 * 18 * 5);
  assert_int_equal(r.sram_ofmap_writes, 36 * 5 + 18 * 8);
  /* ws: Sr = K = 18 (5 folds), Sc = N = 5 (2 folds), P = 2R + C + M - 2 = 46,
   * U = 2R + 2C + M - 3 = 49 */
  cfg.dataflow = PG_HW_WS;
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
  assert_int_equal(r.total_cycles, 5 * 2 * 46 - 1);
  double me = 0, cu = 0;
  for (int fc = 0; fc < 2; fc++)
    for (int fr = 0; fr < 5; fr++) {
      double used = (fr < 4 ? 4 : 2) * (fc < 1 ? 4 : 1);
      me += used / 16;
      cu += used * 36 / (16.0 * 49);
    }
  rel_equal(r.mapping_eff, me / 10 * 100);
  rel_equal(r.compute_util, cu / 10 * 100);
  assert_int_equal(r.sram_ifmap_reads, 2 * 36 * 18);
  assert_int_equal(r.sram_filter_reads, 18 * 5);
  assert_int_equal(r.sram_ofmap_writes, 5 * 36 * 5);
  /* ws SRAM activity: ifmap starts after the R weight-load rows (+1 hit
   * latency), filters at row 0 (+1), outputs after 2R - 1 rows */
  assert_int_equal(r.sram_ifmap_start, 4 + 1);
  assert_int_equal(r.sram_filter_start, 0 + 1);
  assert_int_equal(r.sram_ofmap_start, 2 * 4 - 1);
  /* is: Sr = K = 18 (5 folds), Sc = M = 36 (9 folds), P = 2R + C + N - 2 = 15 */
  cfg.dataflow = PG_HW_IS;
  assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
  assert_int_equal(r.total_cycles, 5 * 9 * 15 - 1);
  assert_int_equal(r.sram_ifmap_reads, 36 * 18);
  assert_int_equal(r.sram_filter_reads, 9 * 18 * 5);
  assert_int_equal(r.sram_ofmap_writes, 5 * 36 * 5);
  /* everything fits: every distinct word is read from DRAM once */
  cfg.mode = PG_HW_SYS_EXACT;
  for (int df = 0; df < 3; df++) {
    cfg.dataflow = (pg_hw_dataflow)df;
    assert_int_equal(pg_hw_systolic_layer(&cfg, &l, &r), PG_OK);
    assert_int_equal(r.dram_ifmap_reads, 8 * 8 * 2);
    assert_int_equal(r.dram_filter_reads, 18 * 5);
  }
}

/* the transliterated simulator against the model, every dataflow */
static void test_against_transliteration(void **state) {
  (void)state;
  struct { int64_t R, C, kif, kfl, kof, H, W, Fh, Fw, Ch, N, Sh, Sw; } cases[] = {
    {4, 4, 64, 64, 64, 8, 8, 3, 3, 2, 5, 1, 1},      /* everything fits */
    {8, 4, 1, 1, 1, 12, 10, 3, 3, 4, 9, 1, 1},       /* 1 kB SRAMs: read buffers flush */
    {4, 8, 1, 1, 1, 11, 11, 5, 3, 3, 7, 2, 3},       /* strides, windows past the edge */
    {16, 16, 1, 1, 1, 16, 16, 3, 3, 8, 20, 1, 1},    /* several flushes */
    {3, 5, 2, 1, 1, 9, 13, 2, 4, 5, 6, 3, 2},        /* odd array */
    {8, 8, 1, 1, 1, 20, 20, 1, 1, 16, 12, 1, 1},     /* pointwise */
    {4, 4, 1, 1, 1, 1, 30, 1, 30, 1, 17, 1, 1},      /* GEMM row: M = 1 */
    {32, 32, 1, 1, 1, 6, 40, 1, 40, 1, 50, 1, 1},    /* GEMM (M 6, K 40, N 50), wide array */
  };
  /* under valgrind (leak check only) the slow literal oracle runs on the
   * smaller half of the cases */
  size_t n = sizeof cases / sizeof cases[0];
  int vg = getenv("PERIGEE_VALGRIND") != NULL;
  for (size_t i = 0; i < n; i++)
    for (int df = 0; df < 3; df++)
      if (!vg || cases[i].R * cases[i].C * cases[i].N < 1000 || i == 0)
      compare_layer(df, cases[i].R, cases[i].C, cases[i].kif, cases[i].kfl, cases[i].kof,
                    cases[i].H, cases[i].W, cases[i].Fh, cases[i].Fw, cases[i].Ch, cases[i].N,
                    cases[i].Sh, cases[i].Sw);
}

/* random small layers and arrays (including 1-wide arrays, strides larger
 * than the filter, windows past the edge), 1-2 kB SRAMs so that the read
 * buffers flush */
static void test_random_against_transliteration(void **state) {
  (void)state;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int trials = getenv("PERIGEE_VALGRIND") ? 6 : 60;
  if (getenv("PG_FUZZ_TRIALS")) trials = atoi(getenv("PG_FUZZ_TRIALS")); /* local fuzzing */
  for (int trial = 0; trial < trials; trial++) {
#define RND(n) (seed = seed * 6364136223846793005ull + 1442695040888963407ull, (int64_t)((seed >> 33) % (uint64_t)(n)))
    int64_t R = 1 + RND(9), C = 1 + RND(9);
    int64_t Fh = 1 + RND(4), Fw = 1 + RND(4);
    int64_t H = Fh + RND(10), W = Fw + RND(10);
    int64_t Ch = 1 + RND(6), N = 1 + RND(12), Sh = 1 + RND(3), Sw = 1 + RND(3);
    int64_t kif = 1 + RND(2), kfl = 1 + RND(2), kof = 1 + RND(2);
    int df = (int)RND(3);
#undef RND
    compare_layer(df, R, C, kif, kfl, kof, H, W, Fh, Fw, Ch, N, Sh, Sw);
  }
}

/* many ofmap drains: a 1 kB ofmap SRAM behind a 512-wide array. In CALC
 * mode the drain keeps up (a drain of L lines takes L cycles, during which
 * the array writes at most L*C ~ D words into a buffer with about S - 1 free
 * words), so the transliteration and the model both report no stall. */
static void test_wide_array_drains(void **state) {
  (void)state;
  for (int df = 0; df < 3; df++) compare_layer(df, 4, 512, 1, 1, 1, 6, 6, 1, 1, 3, 700, 1, 1);
  if (getenv("PERIGEE_VALGRIND")) return;
  for (int df = 0; df < 3; df++) compare_layer(df, 2, 300, 1, 1, 2, 7, 5, 2, 1, 2, 900, 1, 1);
}

static void test_groups_and_kinds(void **state) {
  (void)state;
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  pg_hw_layer dw, one;
  /* a depthwise layer is `groups` identical single-channel GEMMs */
  assert_int_equal(pg_hw_layer_make(&dw, "dw", PG_HW_DEPTHWISE, 6, 6, 10, 10, 3, 3, 1, 1, 6), PG_OK);
  assert_int_equal(pg_hw_layer_make(&one, "one", PG_HW_CONV, 1, 1, 10, 10, 3, 3, 1, 1, 1), PG_OK);
  pg_hw_systolic_result a, b;
  for (int mode = 0; mode < 2; mode++) {
    cfg.mode = (pg_hw_sys_mode)mode;
    assert_int_equal(pg_hw_systolic_layer(&cfg, &dw, &a), PG_OK);
    assert_int_equal(pg_hw_systolic_layer(&cfg, &one, &b), PG_OK);
    assert_int_equal(a.instances, 6);
    assert_int_equal(a.total_cycles, 6 * b.total_cycles);
    assert_int_equal(a.sram_ifmap_reads, 6 * b.sram_ifmap_reads);
    assert_int_equal(a.dram_ifmap_reads, 6 * b.dram_ifmap_reads);
    assert_int_equal(a.macs, pg_hw_layer_macs(&dw));
    rel_equal(a.mapping_eff, b.mapping_eff);
  }
  pg_hw_layer p;
  assert_int_equal(pg_hw_layer_make(&p, "p", PG_HW_POOL, 4, 4, 8, 8, 2, 2, 2, 0, 1), PG_OK);
  assert_int_equal(pg_hw_systolic_layer(&cfg, &p, &a), PG_OK);
  assert_int_equal(a.mapped, 0);
  assert_int_equal(a.total_cycles, 0);
}

/* MACs are the product of the loop bounds, for every network layer */
static void test_network_macs(void **state) {
  (void)state;
  pg_hw_network net;
  assert_int_equal(pg_hw_net_nats_sss(&net, "16:24:32:40:48", 32, 10), PG_OK);
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  pg_hw_systolic_result *res = calloc(net.n, sizeof *res);
  pg_hw_systolic_total tot;
  assert_int_equal(pg_hw_systolic_network(&cfg, &net, res, &tot), PG_OK);
  int64_t macs = 0, cycles = 0;
  for (size_t i = 0; i < net.n; i++) {
    const pg_hw_layer *l = &net.layers[i];
    if (!res[i].mapped) continue;
    assert_int_equal(res[i].macs, l->B * l->K * (l->C / l->groups) * l->OY * l->OX * l->FY * l->FX);
    assert_int_equal(res[i].M * res[i].N * res[i].K * res[i].instances, res[i].macs);
    macs += res[i].macs;
    cycles += res[i].total_cycles;
  }
  assert_int_equal(tot.macs, pg_hw_network_macs(&net));
  assert_int_equal(tot.macs, macs);
  assert_int_equal(tot.total_cycles, cycles);
  rel_equal(tot.overall_util, (double)macs * 100 / ((double)cycles * 1024));
  rel_equal(tot.latency_s, (double)cycles / 1e9);
  rel_equal(tot.edp_js, tot.energy_pj * 1e-12 * tot.latency_s);
  rel_equal(tot.energy_pj, tot.energy_mac_pj + tot.energy_sram_pj + tot.energy_dram_pj);
  rel_equal(tot.energy_mac_pj, (double)macs * 0.23);
  free(res);
  pg_hw_network_free(&net);
}

/* more bandwidth never increases latency; bigger SRAMs never increase DRAM
 * traffic (analytical mode) */
static void test_invariants(void **state) {
  (void)state;
  pg_hw_network net;
  assert_int_equal(pg_hw_net_resnet18(&net, 64, 10), PG_OK);
  for (int df = 0; df < 3; df++) {
    pg_hw_systolic_cfg cfg;
    pg_hw_systolic_default(&cfg);
    cfg.dataflow = (pg_hw_dataflow)df;
    pg_hw_systolic_total t, prev;
    int64_t calc_cycles = 0;
    assert_int_equal(pg_hw_systolic_network(&cfg, &net, NULL, &t), PG_OK);
    calc_cycles = t.total_cycles;
    const double bws[] = {0.25, 0.5, 1, 2, 4, 8, 16, 64, 1024};
    for (size_t i = 0; i < sizeof bws / sizeof bws[0]; i++) {
      cfg.bandwidth = bws[i];
      assert_int_equal(pg_hw_systolic_network(&cfg, &net, NULL, &t), PG_OK);
      assert_true(t.total_cycles >= calc_cycles);
      if (i) assert_true(t.total_cycles <= prev.total_cycles);
      prev = t;
    }
    cfg.bandwidth = 0;
    const double kbs[] = {1, 2, 8, 32, 64, 256, 1024, 8192};
    for (size_t i = 0; i < sizeof kbs / sizeof kbs[0]; i++) {
      cfg.ifmap_sram_kb = cfg.filter_sram_kb = cfg.ofmap_sram_kb = kbs[i];
      assert_int_equal(pg_hw_systolic_network(&cfg, &net, NULL, &t), PG_OK);
      if (i) {
        assert_true(t.dram_ifmap_reads <= prev.dram_ifmap_reads);
        assert_true(t.dram_filter_reads <= prev.dram_filter_reads);
        assert_true(t.dram_ofmap_writes <= prev.dram_ofmap_writes);
      }
      prev = t;
    }
    /* with SRAMs large enough for every operand, DRAM traffic is the
     * compulsory traffic: each input and weight word once */
    int64_t w = 0;
    for (size_t i = 0; i < net.n; i++) {
      const pg_hw_layer *l = &net.layers[i];
      if (l->kind == PG_HW_POOL || l->kind == PG_HW_ADD) continue;
      w += pg_hw_layer_weight_words(l);
    }
    assert_int_equal(prev.dram_filter_reads, w);
  }
  pg_hw_network_free(&net);
}

static void test_config_errors(void **state) {
  (void)state;
  pg_hw_systolic_cfg cfg;
  pg_hw_systolic_default(&cfg);
  assert_int_equal(pg_hw_systolic_check(&cfg), PG_OK);
  cfg.rows = 0;
  assert_int_equal(pg_hw_systolic_check(&cfg), PG_EINVAL);
  pg_hw_systolic_default(&cfg);
  cfg.ifmap_sram_kb = 0.05; /* 51 words */
  assert_int_equal(pg_hw_systolic_check(&cfg), PG_EINVAL);
  pg_hw_systolic_default(&cfg);
  cfg.bandwidth = NAN;
  assert_int_equal(pg_hw_systolic_check(&cfg), PG_EINVAL);
  pg_hw_systolic_default(&cfg);
  cfg.dataflow = (pg_hw_dataflow)7;
  assert_int_equal(pg_hw_systolic_check(&cfg), PG_EINVAL);
  pg_hw_dataflow df;
  assert_int_equal(pg_hw_dataflow_parse("is", &df), PG_OK);
  assert_int_equal(df, PG_HW_IS);
  assert_int_equal(pg_hw_dataflow_parse("rs", &df), PG_EINVAL);
  assert_string_equal(pg_hw_dataflow_name(PG_HW_OS), "os");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alexnet_worked_example), cmocka_unit_test(test_scalesim_published_run),
    cmocka_unit_test(test_hand_derived), cmocka_unit_test(test_random_against_transliteration),
    cmocka_unit_test(test_against_transliteration), cmocka_unit_test(test_wide_array_drains),
    cmocka_unit_test(test_groups_and_kinds),       cmocka_unit_test(test_network_macs),
    cmocka_unit_test(test_invariants),             cmocka_unit_test(test_config_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
