/*
 * lproxy.c -- perigee.proxy: training-free proxies of NAS-Bench-201 cells and
 * NATS size-space networks (engine/proxy.c, engine/nasnet.c).
 *
 *   perigee.proxy.naswot(arch [, opts])      -> score, input ("fmnist" | "noise")
 *   perigee.proxy.logsynflow(arch [, opts])  -> score
 *   perigee.proxy.synflow(arch [, opts])     -> score
 *   perigee.proxy.skipscore(arch)            -> score
 *   perigee.proxy.scores(arch [, opts])      -> {naswot=, logsynflow=, synflow=, skip=, input=}
 *   perigee.proxy.freerea(list [, opts])     -> combined scores, raw score records
 *   perigee.proxy.combine(records [, mode])  -> combined scores
 *   perigee.proxy.parse(arch)                -> space ("nb201" | "nats_sss"), table of ops/channels
 *   perigee.proxy.read_gz(path) -> string;  perigee.proxy.write_gz(path, string)
 *   perigee.proxy.load(path)                 -> {[arch] = record}, n  (a `perigee proxies` table)
 *   perigee.proxy.append_gz(path, lines [, header]) -> true  (one locked gzip member, O_APPEND)
 *   perigee.proxy.read_lines_gz(path [, offset, id]) -> text, intact, size, id, from
 *
 * arch is an NB201 string "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" or a NATS
 * size-space string "C1:C2:C3:C4:C5". Options (all optional):
 *   batch = 64, seed = 0 (initialisation), data_seed = 3 (which images),
 *   input = "fmnist" | "noise", repeats = 1, side = 32, classes = 10,
 *   precision = "single" | "double" (NASWOT's convolutions), C = 16, N = 5,
 *   mode = "minmax" | "maxabs" (freerea/combine).
 * The Fashion-MNIST file is $PERIGEE_FMNIST or Debian's
 * /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz; when it is
 * absent, input = "fmnist" falls back to seeded Gaussian noise and the
 * second result of naswot (and scores().input) says "noise".
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../engine/gzcsv.h"
#include "../engine/proxy.h"
#include "lpg.h"

#define FMNIST_DEFAULT "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

typedef struct popts {
  size_t batch, side, classes, C, N;
  lua_Integer seed, data_seed;
  int noise, repeats, single, mode;
} popts;

/* Options table at idx (may be none/nil). Raises naming the argument. */
static popts check_opts(lua_State *L, int idx) {
  static const char *const inputs[] = {"fmnist", "noise", NULL};
  static const int input_v[] = {0, 1};
  static const char *const precs[] = {"single", "double", NULL};
  static const int prec_v[] = {1, 0};
  static const char *const modes[] = {"minmax", "maxabs", NULL};
  static const int mode_v[] = {PG_COMBINE_MINMAX, PG_COMBINE_MAXABS};
  popts o;
  if (!lua_isnoneornil(L, idx)) luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer batch = pgL_optintegerfield(L, idx, "batch", 64);
  lua_Integer side = pgL_optintegerfield(L, idx, "side", 32);
  lua_Integer classes = pgL_optintegerfield(L, idx, "classes", 10);
  lua_Integer C = pgL_optintegerfield(L, idx, "C", 16);
  lua_Integer N = pgL_optintegerfield(L, idx, "N", 5);
  lua_Integer repeats = pgL_optintegerfield(L, idx, "repeats", 1);
  luaL_argcheck(L, batch >= 2 && batch <= 4096, idx, "option 'batch' must be in 2..4096");
  luaL_argcheck(L, side >= 4 && side <= 512, idx, "option 'side' must be in 4..512");
  luaL_argcheck(L, classes >= 1 && classes <= 100000, idx, "option 'classes' must be in 1..100000");
  luaL_argcheck(L, C >= 1 && C <= 1024, idx, "option 'C' must be in 1..1024");
  luaL_argcheck(L, N >= 1 && N <= 64, idx, "option 'N' must be in 1..64");
  luaL_argcheck(L, repeats >= 1 && repeats <= 100, idx, "option 'repeats' must be in 1..100");
  o.batch = (size_t)batch;
  o.side = (size_t)side;
  o.classes = (size_t)classes;
  o.C = (size_t)C;
  o.N = (size_t)N;
  o.repeats = (int)repeats;
  o.seed = pgL_optintegerfield(L, idx, "seed", 0);
  o.data_seed = pgL_optintegerfield(L, idx, "data_seed", 3);
  o.noise = pgL_optenum(L, idx, "input", inputs, input_v, 0);
  o.single = pgL_optenum(L, idx, "precision", precs, prec_v, 1);
  o.mode = pgL_optenum(L, idx, "mode", modes, mode_v, PG_COMBINE_MINMAX);
  return o;
}

/* A parsed architecture of either space. */
typedef struct parch {
  int sss;                        /* 0: NB201 cell, 1: NATS size space */
  int ops[PG_NB201_EDGES];        /* the cell (the fixed one for sss) */
  int ch[PG_NATS_SSS_LAYERS];
} parch;

static parch check_arch(lua_State *L, int arg) {
  parch a;
  memset(&a, 0, sizeof a);
  const char *s = luaL_checkstring(L, arg);
  if (s[0] == '|') {
    if (pg_nb201_parse(s, a.ops))
      luaL_argerror(L, arg, "not an NB201 architecture string "
                            "('|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with ops none, skip_connect, "
                            "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)");
  } else {
    if (pg_nats_sss_parse(s, a.ch))
      luaL_argerror(L, arg, "not an architecture string: expected an NB201 cell "
                            "'|op~0|+...' or NATS channels 'C1:C2:C3:C4:C5' (each 8..64, step 8)");
    a.sss = 1;
    memcpy(a.ops, pg_nats_sss_cell, sizeof a.ops);
  }
  return a;
}

/* Input batch as a cached userdata (n x 3 x side x side doubles) in the
 * upvalue table; returns its data and whether noise was used. */
static const double *get_batch(lua_State *L, const popts *o, int *noise) {
  const char *path = getenv("PERIGEE_FMNIST");
  if (!path || !*path) path = FMNIST_DEFAULT;
  lua_pushfstring(L, "%s:%I:%I:%I:%s", o->noise ? "noise" : "fmnist", (lua_Integer)o->batch,
                  (lua_Integer)o->side, o->data_seed, path);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TUSERDATA) {
    lua_getiuservalue(L, -1, 1);
    *noise = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_remove(L, -2);
    return lua_touserdata(L, -1);
  }
  lua_pop(L, 1);
  pg_rng rng;
  pg_rng_seed(&rng, (uint64_t)o->data_seed);
  pg_tensor t = {0};
  pg_status st = PG_EIO;
  *noise = o->noise;
  if (!o->noise) st = pg_fmnist_batch(path, o->batch, o->side, &rng, &t);
  if (st) { /* documented fallback: seeded noise */
    pg_rng_seed(&rng, (uint64_t)o->data_seed);
    st = pg_noise_batch(o->batch, o->side, &rng, &t);
    *noise = 1;
  }
  if (st) return pgL_error(L, st, "input batch"), NULL;
  size_t bytes = pg_tensor_numel(&t) * sizeof(double);
  double *ud = lua_newuserdatauv(L, bytes, 1);
  memcpy(ud, t.data, bytes);
  pg_tensor_free(&t);
  lua_pushinteger(L, *noise);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -2); /* key */
  lua_pushvalue(L, -2); /* value */
  lua_rawset(L, lua_upvalueindex(1));
  lua_remove(L, -2);
  return ud;
}

/* Build the network of a and compute the selected proxies; never raises
 * while the network is alive (errors are returned). */
static pg_status compute(const parch *a, const popts *o, const double *batch, unsigned which,
                         pg_proxy_result *res) {
  pg_nasnet_cfg cfg = {o->C, o->N, o->side, o->classes};
  pg_net net;
  pg_status st = a->sss ? pg_nats_sss_build(&net, a->ch, &cfg) : pg_nb201_build(&net, a->ops, &cfg);
  if (st) return st;
  net.single = o->single;
  pg_rng rng;
  pg_rng_seed(&rng, (uint64_t)o->seed);
  pg_tensor x = {o->batch, 3, o->side, o->side, (double *)batch};
  st = pg_proxy_scores(&net, batch ? &x : NULL, which, o->repeats, &rng, res);
  pg_net_free(&net);
  return st;
}

static int proxy_naswot(lua_State *L) {
  parch a = check_arch(L, 1);
  popts o = check_opts(L, 2);
  int noise;
  const double *batch = get_batch(L, &o, &noise);
  pg_proxy_result r;
  pg_status st = compute(&a, &o, batch, PG_PROXY_NASWOT, &r);
  if (st) return pgL_error(L, st, NULL);
  lua_pushnumber(L, r.naswot);
  lua_pushstring(L, noise ? "noise" : "fmnist");
  return 2;
}

static int synflows(lua_State *L, int log) {
  parch a = check_arch(L, 1);
  popts o = check_opts(L, 2);
  pg_proxy_result r;
  pg_status st = compute(&a, &o, NULL, PG_PROXY_SYNFLOW, &r);
  if (st) return pgL_error(L, st, NULL);
  lua_pushnumber(L, log ? r.logsynflow : r.synflow);
  return 1;
}

static int proxy_logsynflow(lua_State *L) { return synflows(L, 1); }
static int proxy_synflow(lua_State *L) { return synflows(L, 0); }

static int proxy_skipscore(lua_State *L) {
  parch a = check_arch(L, 1);
  lua_pushnumber(L, pg_proxy_skipscore(a.ops));
  return 1;
}

/* Push {naswot, logsynflow, synflow, skip, input} for the arch at arg. */
static void push_scores(lua_State *L, int arg, const popts *o) {
  parch a = check_arch(L, arg);
  int noise;
  const double *batch = get_batch(L, o, &noise);
  pg_proxy_result r;
  pg_status st = compute(&a, o, batch, PG_PROXY_NASWOT | PG_PROXY_SYNFLOW, &r);
  lua_pop(L, 1); /* the batch */
  if (st) pgL_error(L, st, lua_tostring(L, arg));
  lua_createtable(L, 0, 5);
  lua_pushnumber(L, r.naswot);
  lua_setfield(L, -2, "naswot");
  lua_pushnumber(L, r.logsynflow);
  lua_setfield(L, -2, "logsynflow");
  lua_pushnumber(L, r.synflow);
  lua_setfield(L, -2, "synflow");
  lua_pushnumber(L, pg_proxy_skipscore(a.ops));
  lua_setfield(L, -2, "skip");
  lua_pushstring(L, noise ? "noise" : "fmnist");
  lua_setfield(L, -2, "input");
}

static int proxy_scores(lua_State *L) {
  popts o = check_opts(L, 2);
  push_scores(L, 1, &o);
  return 1;
}

/* Combine the records of the table at idx (each {naswot=, logsynflow=,
 * skip=}) into a new table of combined scores. */
static void push_combined(lua_State *L, int idx, int arg, int mode) {
  size_t n = (size_t)luaL_len(L, idx);
  double *s = pgL_newbuffer(L, 3 * (n ? n : 1) * sizeof *s);
  double *out = pgL_newbuffer(L, (n ? n : 1) * sizeof *out);
  static const char *const keys[3] = {"naswot", "logsynflow", "skip"};
  for (size_t i = 0; i < n; i++) {
    if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is not a score record", (int)i + 1));
    for (int k = 0; k < 3; k++) {
      if (lua_getfield(L, -1, keys[k]) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "entry %d has no number '%s'", (int)i + 1, keys[k]));
      double v = lua_tonumber(L, -1);
      if (isnan(v) || v == INFINITY)
        luaL_argerror(L, arg, lua_pushfstring(L, "entry %d: '%s' is NaN or +inf", (int)i + 1, keys[k]));
      s[3 * i + (size_t)k] = v;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  pg_status st = pg_proxy_combine(n, 3, s, (pg_combine_mode)mode, out);
  if (st) pgL_error(L, st, NULL);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, out[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_replace(L, -3); /* drop the two buffers */
  lua_pop(L, 1);
}

/* freerea(list [, opts]): list of architecture strings or of score records. */
static int proxy_freerea(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  popts o = check_opts(L, 2);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "empty list");
  lua_createtable(L, (int)n, 0); /* records */
  int rec = lua_gettop(L);
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, 1, i);
    if (t == LUA_TSTRING) {
      push_scores(L, lua_gettop(L), &o);
      lua_remove(L, -2);
    } else if (t != LUA_TTABLE) {
      luaL_argerror(L, 1, lua_pushfstring(L, "entry %d is neither an architecture string nor "
                                             "a score record", (int)i));
    }
    lua_rawseti(L, rec, i);
  }
  push_combined(L, rec, 1, o.mode);
  lua_pushvalue(L, rec);
  return 2;
}

static int proxy_combine(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const modes[] = {"minmax", "maxabs", NULL};
  int mode = luaL_checkoption(L, 2, "minmax", modes);
  push_combined(L, 1, 1, mode == 0 ? PG_COMBINE_MINMAX : PG_COMBINE_MAXABS);
  return 1;
}

static int proxy_parse(lua_State *L) {
  parch a = check_arch(L, 1);
  lua_pushstring(L, a.sss ? "nats_sss" : "nb201");
  lua_createtable(L, a.sss ? PG_NATS_SSS_LAYERS : PG_NB201_EDGES, 0);
  if (a.sss)
    for (int i = 0; i < PG_NATS_SSS_LAYERS; i++) {
      lua_pushinteger(L, a.ch[i]);
      lua_rawseti(L, -2, i + 1);
    }
  else
    for (int e = 0; e < PG_NB201_EDGES; e++) {
      lua_pushstring(L, pg_nb201_opname(a.ops[e]));
      lua_rawseti(L, -2, e + 1);
    }
  lua_pushinteger(L, a.sss ? pg_nats_sss_code(a.ch) : pg_nb201_code(a.ops));
  return 3;
}

/* arch(space, code) -> string: the inverse of parse's third result. */
static int proxy_arch(lua_State *L) {
  static const char *const spaces[] = {"nb201", "nats_sss", NULL};
  int sp = luaL_checkoption(L, 1, NULL, spaces);
  lua_Integer code = luaL_checkinteger(L, 2);
  lua_Integer n = sp == 0 ? 15625 : 32768;
  luaL_argcheck(L, code >= 0 && code < n, 2, "code out of range");
  if (sp == 0) {
    int ops[PG_NB201_EDGES];
    char buf[200];
    pg_nb201_decode((int)code, ops);
    pg_nb201_format(ops, buf, sizeof buf);
    lua_pushstring(L, buf);
  } else {
    int ch[PG_NATS_SSS_LAYERS];
    pg_nats_sss_decode((int)code, ch);
    lua_pushfstring(L, "%d:%d:%d:%d:%d", ch[0], ch[1], ch[2], ch[3], ch[4]);
  }
  return 1;
}

static int proxy_read_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *data;
  size_t len;
  pg_status st = pg_gz_read(path, &data, &len);
  if (st) {
    free(data);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, pg_strerror(st));
    return 2;
  }
  lua_pushlstring(L, data, len); /* may raise on memory: free first */
  free(data);
  return 1;
}

static int proxy_write_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  pg_status st = pg_gz_write(path, s, len);
  if (st) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, pg_strerror(st));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

#define CSV_MT "perigee.ProxyTable"

/* ---- Append-only gzip tables shared by several processes ----
 * A table is a sequence of gzip members (RFC 1952 allows concatenation;
 * zlib's gzread decodes them as one stream). A writer compresses its rows
 * into one member in memory, then opens the file with O_APPEND, takes an
 * exclusive flock, checks the descriptor still names the path (a repair
 * may have renamed a new file over it), writes the header first when the
 * file is empty, and writes the member with write(2) before closing. A
 * reader takes a shared lock. A member cut by a crash is dropped by a
 * repair (rewrite of the complete lines under the exclusive lock). */

/* One gzip member of len bytes of data into a malloc'ed buffer. */
static pg_status gz_member(const char *data, size_t len, unsigned char **out, size_t *outlen) {
  z_stream z;
  memset(&z, 0, sizeof z);
  *out = NULL;
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return PG_ENOMEM;
  uLong cap = deflateBound(&z, (uLong)len);
  unsigned char *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return PG_ENOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  int r = deflate(&z, Z_FINISH);
  *outlen = z.total_out;
  deflateEnd(&z);
  if (r != Z_STREAM_END) {
    free(buf);
    return PG_EIO;
  }
  *out = buf;
  return PG_OK;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Open path with flags, flock it with op, and make sure the descriptor
 * still names path (retry otherwise). -1 on failure. */
static int open_locked(const char *path, int flags, int op) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    while (flock(fd, op) != 0)
      if (errno != EINTR) {
        close(fd);
        return -1;
      }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return fd;
    close(fd);
  }
  return -1;
}

/* Decode the whole table from fd (gzip members or plain text). *complete
 * is 0 when the stream is cut or corrupt; the text is then cut after its
 * last newline. The buffer is malloc'ed (caller frees). */
static pg_status read_fd(int fd, char **text, size_t *len, int *complete) {
  *text = NULL;
  *len = 0;
  *complete = 1;
  int d = dup(fd);
  if (d < 0) return PG_EIO;
  gzFile f = gzdopen(d, "rb");
  if (!f) {
    close(d);
    return PG_EIO;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  pg_status st = buf ? PG_OK : PG_ENOMEM;
  while (!st) {
    if (cap - n < (1 << 15)) {
      char *nb = realloc(buf, 2 * cap + 1);
      if (!nb) {
        st = PG_ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    int r = gzread(f, buf + n, (unsigned)(cap - n));
    if (r < 0) {
      *complete = 0;
      break;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  int errnum = Z_OK;
  gzerror(f, &errnum);
  if (errnum != Z_OK && errnum != Z_STREAM_END) *complete = 0;
  gzclose(f);
  if (st) {
    free(buf);
    return st;
  }
  if (n > 0 && buf[n - 1] != '\n') { /* a cut last line */
    *complete = 0;
    while (n > 0 && buf[n - 1] != '\n') n--;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return PG_OK;
}

/* append_gz(path, lines [, header]): append lines (complete lines, each
 * ending in a newline) as one gzip member; when the file is empty (new),
 * header (one line, newline added) is written first. */
static int proxy_append_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len, hlen = 0;
  const char *lines = luaL_checklstring(L, 2, &len);
  const char *header = luaL_optlstring(L, 3, NULL, &hlen);
  luaL_argcheck(L, len > 0 && lines[len - 1] == '\n', 2, "lines must end with a newline");
  luaL_argcheck(L, len < (1u << 30), 2, "too long");
  luaL_argcheck(L, !header || (hlen > 0 && hlen < 4096 && !memchr(header, '\n', hlen)), 3,
                "header must be one non-empty line");
  unsigned char *m = NULL, *hm = NULL;
  size_t mlen = 0, hmlen = 0;
  pg_status st = gz_member(lines, len, &m, &mlen);
  if (!st && header) {
    char hb[4097];
    memcpy(hb, header, hlen);
    hb[hlen] = '\n';
    st = gz_member(hb, hlen + 1, &hm, &hmlen);
  }
  int fd = st ? -1 : open_locked(path, O_WRONLY | O_APPEND | O_CREAT, LOCK_EX);
  if (!st && fd < 0) st = PG_EIO;
  if (!st) {
    struct stat sb;
    if (fstat(fd, &sb) != 0) st = PG_EIO;
    else if (sb.st_size == 0 && hm && write_all(fd, hm, hmlen)) st = PG_EIO;
    if (!st && write_all(fd, m, mlen)) st = PG_EIO;
  }
  if (fd >= 0) close(fd); /* releases the lock */
  free(m);
  free(hm);
  if (st) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, pg_strerror(st));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* read_lines_gz(path [, offset, id]) -> text, intact, size, id, from: the
 * complete lines of a table written by append_gz (or any gzip/plain file),
 * read under a shared lock. size is the file's length when read and id
 * names the file (device and inode); when a later call passes them back as
 * offset and id, and the file is still the same and no shorter, only the
 * members appended since are decoded (from = offset; otherwise from = 0
 * and the whole file is read). When a member was cut (a writer killed
 * mid-write), intact is false and the file is repaired: rewritten with its
 * complete lines under the exclusive lock (temporary file + rename); size
 * and id are then 0 and "", so that the next incremental read starts over.
 * nil, message when the file cannot be opened. */
static int proxy_read_lines_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer offset = luaL_optinteger(L, 2, 0);
  const char *id = luaL_optstring(L, 3, "");
  luaL_argcheck(L, offset >= 0, 2, "offset must be >= 0");
  /* the text is owned by a collectable box, so a Lua error cannot leak it */
  pg_csv *box = lua_newuserdatauv(L, sizeof *box, 0);
  memset(box, 0, sizeof *box);
  luaL_setmetatable(L, CSV_MT);
  size_t len = 0;
  int complete = 1;
  lua_Integer from = 0, size = 0;
  char idbuf[64] = "";
  int fd = open_locked(path, O_RDONLY, LOCK_SH);
  pg_status st = fd < 0 ? PG_EIO : PG_OK;
  if (!st) {
    struct stat sb;
    if (fstat(fd, &sb) != 0) st = PG_EIO;
    else {
      snprintf(idbuf, sizeof idbuf, "%llu:%llu", (unsigned long long)sb.st_dev,
               (unsigned long long)sb.st_ino);
      size = (lua_Integer)sb.st_size;
      if (offset > 0 && offset <= size && strcmp(id, idbuf) == 0 &&
          lseek(fd, (off_t)offset, SEEK_SET) == (off_t)offset)
        from = offset;
      else if (lseek(fd, 0, SEEK_SET) != 0)
        st = PG_EIO;
    }
  }
  if (!st) st = read_fd(fd, &box->buf, &len, &complete);
  if (fd >= 0) close(fd);
  if (!st && !complete) { /* repair under the exclusive lock, re-reading first */
    pg_csv_free(box);
    fd = open_locked(path, O_RDWR, LOCK_EX);
    st = fd < 0 ? PG_EIO : read_fd(fd, &box->buf, &len, &complete);
    if (!st && !complete) st = pg_gz_write(path, box->buf, len);
    if (fd >= 0) close(fd);
    complete = 0;
    from = size = 0;
    idbuf[0] = '\0';
  }
  if (st) {
    pg_csv_free(box);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, pg_strerror(st));
    return 2;
  }
  lua_pushlstring(L, box->buf, len);
  pg_csv_free(box);
  lua_pushboolean(L, complete);
  lua_pushinteger(L, size);
  lua_pushstring(L, idbuf);
  lua_pushinteger(L, from);
  return 5;
}


static int csv_gc(lua_State *L) {
  pg_csv_free(luaL_checkudata(L, 1, CSV_MT));
  return 0;
}

/* load(path) -> {[arch] = {index=, naswot=, logsynflow=, synflow=, skip=}}, n:
 * a table written by `perigee proxies`, keyed by architecture string; or
 * nil, message when the file cannot be read. The parsed text lives in a
 * userdata until the copy is done, so a memory error cannot leak it. */
static int proxy_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  pg_csv *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, CSV_MT);
  pg_status st = pg_csv_read(path, t);
  if (st) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, pg_strerror(st));
    return 2;
  }
  static const char *const cols[] = {"arch_index", "arch", "naswot", "logsynflow", "synflow",
                                     "skip"};
  int c[6];
  for (int k = 0; k < 6; k++)
    if ((c[k] = pg_csv_col(t, cols[k])) < 0) {
      luaL_pushfail(L);
      lua_pushfstring(L, "%s: no column '%s'", path, cols[k]);
      return 2;
    }
  size_t n = t->nrows;
  lua_createtable(L, 0, (int)(n < 65536 ? n : 65536));
  for (size_t r = 0; r < n; r++) {
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)strtoll(pg_csv_cell(t, r, (size_t)c[0]), NULL, 10));
    lua_setfield(L, -2, "index");
    for (int k = 2; k < 6; k++) {
      const char *v = pg_csv_cell(t, r, (size_t)c[k]);
      lua_pushnumber(L, *v ? strtod(v, NULL) : NAN);
      lua_setfield(L, -2, cols[k]);
    }
    lua_setfield(L, -2, pg_csv_cell(t, r, (size_t)c[1]));
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 2;
}

static const luaL_Reg proxy_funcs[] = {
    {"naswot", proxy_naswot},   {"logsynflow", proxy_logsynflow}, {"synflow", proxy_synflow},
    {"skipscore", proxy_skipscore}, {"scores", proxy_scores},     {"freerea", proxy_freerea},
    {"combine", proxy_combine}, {"parse", proxy_parse},           {"arch", proxy_arch},
    {"read_gz", proxy_read_gz}, {"write_gz", proxy_write_gz},     {"load", proxy_load},
    {"append_gz", proxy_append_gz}, {"read_lines_gz", proxy_read_lines_gz},
    {NULL, NULL}};

void pgL_open_proxy(lua_State *L, int mod) {
  luaL_newmetatable(L, CSV_MT);
  lua_pushcfunction(L, csv_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_createtable(L, 0, 14);
  lua_newtable(L); /* upvalue: cache of input batches */
  luaL_setfuncs(L, proxy_funcs, 1);
  lua_setfield(L, mod, "proxy");
}
