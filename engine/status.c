/* status.c -- messages for pg_status codes. */
#include "status.h"

static const char *const messages[PG_STATUS_COUNT] = {
  [PG_OK] = "success",
  [PG_ENOMEM] = "out of memory",
  [PG_EINVAL] = "invalid argument",
  [PG_EDOM] = "NaN or infinite value where a finite number is required",
  [PG_ESHAPE] = "dimensions do not agree",
  [PG_ENOTPD] = "matrix is not positive definite, even with jitter",
  [PG_ENOCONV] = "iteration did not converge",
  [PG_EIO] = "input/output error",
  [PG_EFORMAT] = "malformed input",
  [PG_ERANGE] = "value out of range",
  [PG_ELAPACK] = "LAPACK failure",
  [PG_ESTATE] = "object is in the wrong state for this call",
};

const char *pg_strerror(pg_status s) {
  if ((int)s < 0 || s >= PG_STATUS_COUNT || !messages[s]) return "unknown status";
  return messages[s];
}
