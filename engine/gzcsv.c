/* gzcsv.c -- whole-file gzip I/O and a minimal CSV table (see gzcsv.h). */
#include "gzcsv.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

pg_status pg_gz_read(const char *path, char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  if (!path) return PG_EINVAL;
  gzFile f = gzopen(path, "rb");
  if (!f) return PG_EIO;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  pg_status st = buf ? PG_OK : PG_ENOMEM;
  while (!st) {
    if (cap - n < (1 << 15)) {
      char *b = realloc(buf, 2 * cap + 1);
      if (!b) {
        st = PG_ENOMEM;
        break;
      }
      buf = b;
      cap *= 2;
    }
    int r = gzread(f, buf + n, (unsigned)(cap - n));
    if (r < 0) {
      st = PG_EIO;
      break;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  int errnum = 0;
  gzerror(f, &errnum);
  if (!st && errnum != Z_OK && errnum != Z_STREAM_END) st = PG_EIO;
  gzclose(f);
  if (!buf) return st;
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return st;
}

pg_status pg_gz_write(const char *path, const char *data, size_t len) {
  if (!path) return PG_EINVAL;
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 2);
  if (!tmp) return PG_ENOMEM;
  memcpy(tmp, path, pl);
  tmp[pl] = '~';
  tmp[pl + 1] = '\0';
  gzFile f = gzopen(tmp, "wb6");
  pg_status st = f ? PG_OK : PG_EIO;
  size_t done = 0;
  while (!st && done < len) {
    unsigned chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned)(len - done);
    int w = gzwrite(f, data + done, chunk);
    if (w <= 0) st = PG_EIO;
    done += (size_t)(w > 0 ? w : 0);
  }
  if (f && gzclose(f) != Z_OK && !st) st = PG_EIO;
  if (!st && rename(tmp, path) != 0) st = PG_EIO;
  if (st) remove(tmp);
  free(tmp);
  return st;
}

static pg_status parse(char *text, pg_csv *t) {
  t->buf = text;
  /* count lines and header columns */
  size_t lines = 0, ncols = 1;
  for (char *p = text; *p; p++) lines += *p == '\n';
  lines++;
  char *eol = strchr(text, '\n');
  for (char *p = text; *p && p != eol; p++) ncols += *p == ',';
  t->ncols = ncols;
  t->cells = malloc(lines * ncols * sizeof *t->cells);
  if (!t->cells) return PG_ENOMEM;
  size_t row = 0;
  char *p = text;
  while (*p) {
    char *end = strchr(p, '\n');
    char *next = end ? end + 1 : p + strlen(p);
    if (end) *end = '\0';
    size_t l = strlen(p);
    if (l && p[l - 1] == '\r') p[--l] = '\0';
    if (l) {
      size_t c = 0;
      char *f = p;
      for (;;) {
        char *comma = strchr(f, ',');
        if (c == ncols) return PG_EFORMAT;
        t->cells[row * ncols + c++] = f;
        if (!comma) break;
        *comma = '\0';
        f = comma + 1;
      }
      if (c != ncols) return PG_EFORMAT;
      row++;
    }
    p = next;
  }
  if (row == 0) return PG_EFORMAT;
  t->nrows = row - 1;
  return PG_OK;
}

pg_status pg_csv_parse(char *text, pg_csv *t) {
  memset(t, 0, sizeof *t);
  if (!text) return PG_EINVAL;
  pg_status st = parse(text, t);
  if (st) pg_csv_free(t);
  return st;
}

pg_status pg_csv_read(const char *path, pg_csv *t) {
  char *text;
  size_t len;
  memset(t, 0, sizeof *t);
  pg_status st = pg_gz_read(path, &text, &len);
  if (st) {
    free(text);
    return st;
  }
  return pg_csv_parse(text, t);
}

int pg_csv_col(const pg_csv *t, const char *name) {
  if (!t->cells) return -1;
  for (size_t c = 0; c < t->ncols; c++)
    if (strcmp(t->cells[c], name) == 0) return (int)c;
  return -1;
}

const char *pg_csv_cell(const pg_csv *t, size_t r, size_t c) {
  if (r >= t->nrows || c >= t->ncols) return NULL;
  return t->cells[(r + 1) * t->ncols + c];
}

void pg_csv_free(pg_csv *t) {
  if (!t) return;
  free(t->buf);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

pg_status pg_csv_number(const pg_csv *t, size_t r, size_t c, double *out) {
  const char *s = pg_csv_cell(t, r, c);
  if (!s) return PG_ERANGE;
  if (!*s) {
    *out = NAN;
    return PG_OK;
  }
  char *e;
  double v = strtod(s, &e);
  if (e == s || *e != '\0' || isnan(v)) return PG_EFORMAT;
  *out = v;
  return PG_OK;
}
