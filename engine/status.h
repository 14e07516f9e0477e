/*
 * status.h -- status codes shared by every engine and hardware module.
 *
 * Every fallible C routine returns a pg_status. The engine never calls exit,
 * abort or longjmp; the Lua bindings turn a non-zero status into a Lua error
 * naming the function and argument (bindings/lpg.h).
 */
#ifndef PG_STATUS_H
#define PG_STATUS_H

typedef enum pg_status {
  PG_OK = 0,
  PG_ENOMEM,      /* allocation failed */
  PG_EINVAL,      /* invalid argument (size, range, option) */
  PG_EDOM,        /* NaN or Inf where a finite number is required */
  PG_ESHAPE,      /* dimensions of two operands do not agree */
  PG_ENOTPD,      /* matrix not positive definite, even after jitter */
  PG_ENOCONV,     /* an iterative routine did not converge */
  PG_EIO,         /* file could not be read or written */
  PG_EFORMAT,     /* file or string has the wrong format */
  PG_ERANGE,      /* result or index out of range */
  PG_ELAPACK,     /* LAPACK reported an illegal argument or internal failure */
  PG_ESTATE,      /* object used in the wrong state (e.g. predict before fit) */
  PG_STATUS_COUNT
} pg_status;

/* Human-readable message for a status; never NULL. */
const char *pg_strerror(pg_status s);

#endif
