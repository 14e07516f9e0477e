/*
 * gzcsv.h -- whole-file gzip read/write through zlib, and a minimal CSV table
 * (header row, comma-separated, no quoting: the format of the project data
 * files and of the proxy tables). Small helpers for the proxy tables and
 * benchmarks; a general engine/io module (journals, quoting) may replace
 * them later.
 */
#ifndef PG_GZCSV_H
#define PG_GZCSV_H

#include <stddef.h>

#include "status.h"

/* Read the whole file at path (gzip or plain: zlib reads both) into a
 * NUL-terminated malloc'ed buffer *data of *len bytes (caller frees).
 * PG_EIO when it cannot be opened or is corrupt; a truncated gzip stream
 * returns what could be decoded and PG_EIO. */
pg_status pg_gz_read(const char *path, char **data, size_t *len);

/* Write len bytes gzip-compressed (level 6) to path, through a temporary
 * file path~ renamed over path at the end, so a reader never sees a half
 * written table. */
pg_status pg_gz_write(const char *path, const char *data, size_t len);

typedef struct pg_csv {
  char *buf;       /* the text, split in place */
  size_t nrows;    /* data rows (the header excluded) */
  size_t ncols;    /* columns of the header */
  char **cells;    /* (nrows + 1) x ncols: row 0 is the header */
} pg_csv;

/* Parse text (taking ownership of the malloc'ed buffer) into *t. Blank
 * lines are skipped; a row with a different column count is PG_EFORMAT. */
pg_status pg_csv_parse(char *text, pg_csv *t);
/* Read a gzip or plain CSV file. */
pg_status pg_csv_read(const char *path, pg_csv *t);
/* Index of the column named name, or -1. */
int pg_csv_col(const pg_csv *t, const char *name);
/* Field of data row r (0-based) and column c. */
const char *pg_csv_cell(const pg_csv *t, size_t r, size_t c);
/* Field (r, c) as a number: an empty field gives NaN, "inf"/"-inf" are
 * accepted; PG_EFORMAT when the field is not a number. */
pg_status pg_csv_number(const pg_csv *t, size_t r, size_t c, double *out);
void pg_csv_free(pg_csv *t);

#endif
