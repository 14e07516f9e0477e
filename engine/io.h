/*
 * io.h -- file helpers for journals that survive a kill.
 *
 * pg_io_append writes a whole record with one write(2) on a descriptor
 * opened with O_APPEND, then (optionally) fdatasync(2): after it returns the
 * record is in the kernel (it survives kill -9 of the process) and, when
 * synced, on the disk (it survives a crash of the machine). A record is never
 * split by a kill between two of our calls; a partial record can only appear
 * if the machine itself fails mid-write, and readers drop an unterminated last
 * line.
 */
#ifndef PG_IO_H
#define PG_IO_H

#include <stddef.h>

#include "status.h"

/* Append len bytes to path (created with mode 0644 if absent). PG_EIO on any
 * failure (errno is left as set by the failing call). */
pg_status pg_io_append(const char *path, const char *data, size_t len, int sync);

/* Seconds from an arbitrary fixed origin, monotonic (CLOCK_MONOTONIC). */
double pg_io_wtime(void);

#endif
