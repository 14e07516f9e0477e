/*
 * fmnist.c -- input batches for the proxies: Fashion-MNIST images read from
 * the gzip IDX files of Debian's dataset-fashion-mnist package (Xiao, Rasul,
 * Vollgraf, "Fashion-MNIST", arXiv:1708.07747; IDX format of LeCun's MNIST
 * page), or seeded Gaussian noise. Declared in proxy.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proxy.h"

#define FMNIST_MEAN 0.2860
#define FMNIST_STD 0.3530

static int read_be32(gzFile f, uint32_t *v) {
  unsigned char b[4];
  if (gzread(f, b, 4) != 4) return 0;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  return 1;
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* Bilinear resize of one rows x cols byte image to side x side doubles,
 * PyTorch's align_corners = false convention, then standardised. */
static void resize(const unsigned char *img, size_t rows, size_t cols, size_t side, double *out) {
  for (size_t oy = 0; oy < side; oy++) {
    double sy = ((double)oy + 0.5) * (double)rows / (double)side - 0.5;
    if (sy < 0) sy = 0;
    size_t y0 = (size_t)sy, y1 = y0 + 1 < rows ? y0 + 1 : rows - 1;
    double ly = sy - (double)y0;
    for (size_t ox = 0; ox < side; ox++) {
      double sx = ((double)ox + 0.5) * (double)cols / (double)side - 0.5;
      if (sx < 0) sx = 0;
      size_t x0 = (size_t)sx, x1 = x0 + 1 < cols ? x0 + 1 : cols - 1;
      double lx = sx - (double)x0;
      double v = (1 - ly) * ((1 - lx) * img[y0 * cols + x0] + lx * img[y0 * cols + x1]) +
                 ly * ((1 - lx) * img[y1 * cols + x0] + lx * img[y1 * cols + x1]);
      out[oy * side + ox] = (v / 255.0 - FMNIST_MEAN) / FMNIST_STD;
    }
  }
}

pg_status pg_fmnist_batch(const char *path, size_t n, size_t side, pg_rng *rng, pg_tensor *out) {
  memset(out, 0, sizeof *out);
  if (!path || !n || !side || side > 4096) return PG_EINVAL;
  gzFile f = gzopen(path, "rb");
  if (!f) return PG_EIO;
  uint32_t magic, count, rows, cols;
  if (!read_be32(f, &magic) || !read_be32(f, &count) || !read_be32(f, &rows) ||
      !read_be32(f, &cols)) {
    gzclose(f);
    return PG_EFORMAT;
  }
  if (magic != 0x803 || !rows || !cols || rows > 1024 || cols > 1024) {
    gzclose(f);
    return PG_EFORMAT;
  }
  if (n > count) {
    gzclose(f);
    return PG_ERANGE;
  }
  size_t *perm = malloc(count * sizeof *perm), *sorted = malloc(n * sizeof *sorted);
  unsigned char *img = malloc(rows * cols);
  pg_status st = (perm && sorted && img) ? PG_OK : PG_ENOMEM;
  if (!st) st = pg_tensor_alloc(out, n, 3, side, side);
  if (!st) {
    for (size_t i = 0; i < count; i++) perm[i] = i;
    pg_rng_shuffle(rng, perm, count);
    memcpy(sorted, perm, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_size);
    size_t plane = side * side;
    /* read the chosen images in file order; sample i is image perm[i] */
    for (size_t s = 0; s < n && !st; s++) {
      z_off_t off = (z_off_t)(16 + sorted[s] * rows * cols);
      if (gzseek(f, off, SEEK_SET) != off || gzread(f, img, rows * cols) != (int)(rows * cols)) {
        st = PG_EIO;
        break;
      }
      for (size_t i = 0; i < n; i++) {
        if (perm[i] != sorted[s]) continue;
        double *o = out->data + i * 3 * plane;
        resize(img, rows, cols, side, o);
        memcpy(o + plane, o, plane * sizeof *o);
        memcpy(o + 2 * plane, o, plane * sizeof *o);
      }
    }
  }
  gzclose(f);
  free(perm);
  free(sorted);
  free(img);
  if (st) pg_tensor_free(out);
  return st;
}

pg_status pg_noise_batch(size_t n, size_t side, pg_rng *rng, pg_tensor *out) {
  memset(out, 0, sizeof *out);
  if (!n || !side || side > 4096) return PG_EINVAL;
  pg_status st = pg_tensor_alloc(out, n, 3, side, side);
  if (st) return st;
  for (size_t i = 0; i < pg_tensor_numel(out); i++) out->data[i] = pg_rng_normal(rng);
  return PG_OK;
}
