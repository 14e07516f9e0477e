/* gzcsv_ppo.c -- gzip CSV reader (see gzcsv_ppo.h). */
#include "gzcsv_ppo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_BYTES ((size_t)1 << 31)

void pg_ppocsv_free(pg_ppocsv *t) {
  if (!t) return;
  free(t->names);
  free(t->cells);
  free(t->buf);
  free(t);
}

/* Whole file into a NUL-terminated buffer (zlib reads plain files too). */
static pg_status slurp(const char *path, char **out, size_t *len) {
  gzFile f = gzopen(path, "rb");
  if (!f) return PG_EIO;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf) {
    gzclose(f);
    return PG_ENOMEM;
  }
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_BYTES) {
        free(buf);
        gzclose(f);
        return PG_ERANGE;
      }
      char *nb = realloc(buf, 2 * cap + 1);
      if (!nb) {
        free(buf);
        gzclose(f);
        return PG_ENOMEM;
      }
      buf = nb;
      cap *= 2;
    }
    int r = gzread(f, buf + n, (unsigned)(cap - n));
    if (r < 0) {
      free(buf);
      gzclose(f);
      return PG_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  gzclose(f);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return PG_OK;
}

/* Split one line in place at commas into fields[0..max); returns the count
 * (max + 1 when there are more). */
static size_t split(char *line, char **fields, size_t max) {
  size_t k = 0;
  char *p = line;
  for (;;) {
    if (k < max) fields[k] = p;
    k++;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return k;
}

pg_status pg_ppocsv_read(const char *path, pg_ppocsv **out) {
  *out = NULL;
  char *buf;
  size_t len;
  pg_status st = slurp(path, &buf, &len);
  if (st != PG_OK) return st;
  pg_ppocsv *t = calloc(1, sizeof *t);
  if (!t) {
    free(buf);
    return PG_ENOMEM;
  }
  t->buf = buf;
  /* count lines and header fields */
  size_t nlines = 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\n') nlines++;
  if (len > 0 && buf[len - 1] != '\n') nlines++;
  if (nlines == 0) {
    pg_ppocsv_free(t);
    return PG_EFORMAT;
  }
  char *line = buf, *nl = strchr(line, '\n');
  if (nl) *nl = '\0';
  if (nl && nl > line && nl[-1] == '\r') nl[-1] = '\0';
  size_t ncols = 1;
  for (char *p = line; *p; p++) ncols += *p == ',';
  t->names = malloc(ncols * sizeof *t->names);
  t->cells = malloc((nlines - 1 ? nlines - 1 : 1) * ncols * sizeof *t->cells);
  if (!t->names || !t->cells) {
    pg_ppocsv_free(t);
    return PG_ENOMEM;
  }
  split(line, t->names, ncols);
  t->ncols = ncols;
  size_t r = 0;
  line = nl ? nl + 1 : buf + len;
  while (line < buf + len) {
    nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    if (nl && nl > line && nl[-1] == '\r') nl[-1] = '\0';
    if (*line) { /* skip blank lines */
      if (split(line, t->cells + r * ncols, ncols) != ncols) {
        pg_ppocsv_free(t);
        return PG_EFORMAT;
      }
      r++;
    }
    if (!nl) break;
    line = nl + 1;
  }
  t->nrows = r;
  *out = t;
  return PG_OK;
}

long pg_ppocsv_col(const pg_ppocsv *t, const char *name) {
  for (size_t c = 0; c < t->ncols; c++)
    if (strcmp(t->names[c], name) == 0) return (long)c;
  return -1;
}

const char *pg_ppocsv_cell(const pg_ppocsv *t, size_t r, size_t c) {
  return t->cells[r * t->ncols + c];
}

pg_status pg_ppocsv_number(const pg_ppocsv *t, size_t r, size_t c, double *out) {
  const char *s = pg_ppocsv_cell(t, r, c);
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
