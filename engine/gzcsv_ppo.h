/*
 * gzcsv_ppo.h -- a small reader for the project's gzip-compressed CSV files
 * (one header row, comma-separated, no quoting, empty field = missing), used
 * by the Sim-is-More environment. Named for its module so that it can be
 * merged with a general engine/io later without a clash.
 */
#ifndef PG_GZCSV_PPO_H
#define PG_GZCSV_PPO_H

#include <stddef.h>

#include "status.h"

typedef struct pg_ppocsv {
  size_t nrows, ncols;
  char **names;  /* ncols header names */
  char **cells;  /* nrows x ncols field strings (row-major), pointing into buf */
  char *buf;
} pg_ppocsv;

/* Read a gzip (or plain) CSV file. PG_EIO when it cannot be opened or read,
 * PG_EFORMAT when a row has the wrong number of fields. */
pg_status pg_ppocsv_read(const char *path, pg_ppocsv **out);
void pg_ppocsv_free(pg_ppocsv *t); /* NULL is a no-op */

/* Column index of `name`, or -1. */
long pg_ppocsv_col(const pg_ppocsv *t, const char *name);
/* Field (r, c) as a string. */
const char *pg_ppocsv_cell(const pg_ppocsv *t, size_t r, size_t c);
/* Field (r, c) as a number: empty gives NaN; "inf"/"-inf" are accepted.
 * PG_EFORMAT when the field is not a number. */
pg_status pg_ppocsv_number(const pg_ppocsv *t, size_t r, size_t c, double *out);

#endif
