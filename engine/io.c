/* io.c -- append-and-sync journal records, monotonic wall clock (io.h). */
#define _POSIX_C_SOURCE 200809L
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

pg_status pg_io_append(const char *path, const char *data, size_t len, int sync) {
  if (!path || (!data && len)) return PG_EINVAL;
  int fd;
  do fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return PG_EIO;
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      errno = e;
      return PG_EIO;
    }
    done += (size_t)w;
  }
  if (sync && fdatasync(fd) != 0 && errno != EINVAL) { /* EINVAL: pipes, some special files */
    int e = errno;
    close(fd);
    errno = e;
    return PG_EIO;
  }
  return close(fd) == 0 ? PG_OK : PG_EIO;
}

double pg_io_wtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
