/*
 * lexternal.c -- run an external program with a timeout: the way to plug a
 * simulator (DeFiNES, Scale-Sim, Timeloop), an on-device measurement script
 * or a training job into a benchmark's evaluate function.
 *
 *   local r = pg.run_external {
 *     cmd = "python3",               -- program; PATH is searched (execvp)
 *     args = { "sim.py", "--pe", "16" },
 *     input = "text for stdin",      -- optional (default: empty stdin)
 *     timeout = 30,                  -- seconds, optional (default: none)
 *     cwd = "some/dir",              -- optional working directory
 *     env = { OMP_NUM_THREADS = "1" },  -- optional, added to the environment
 *     grace = 1,                     -- seconds between SIGTERM and SIGKILL
 *     max_output = 64 * 2^20,        -- bytes kept of stdout / stderr each
 *   }
 *   r.ok        true when the program exited with status 0 in time
 *   r.status    "ok" | "exit" (non-zero exit) | "signal" | "timeout" | "error"
 *   r.code      exit code (status ok/exit), r.signal (status signal)
 *   r.stdout, r.stderr, r.seconds (wall time), r.message (one line)
 *
 * The child runs in its own process group (setpgid); on timeout the whole
 * group receives SIGTERM, then SIGKILL after `grace` seconds, so helpers the
 * program started die with it. stdout and stderr are drained concurrently
 * (poll), so a chatty program cannot dead-lock on a full pipe. A program
 * that cannot be started gives status "error" with the reason (the exec
 * errno comes back through a close-on-exec pipe). Misuse (wrong option
 * types) raises; a failing program never raises: the caller decides.
 * All C memory is freed before any Lua call that could raise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lpg.h"

extern char **environ;

typedef struct {
  char *p;
  size_t n, cap, max;
  int truncated;
} obuf;

static void obuf_add(obuf *b, const char *s, size_t n) {
  if (b->n + n > b->max) {
    b->truncated = 1;
    n = b->max > b->n ? b->max - b->n : 0;
  }
  if (n == 0) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->truncated = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* What happened, filled by run_child; no Lua calls inside. */
typedef struct {
  const char *status; /* static string */
  int code, sig, err;
  double seconds;
  obuf out, errb;
} run_result;

/* fork/exec argv with envp; feed input; wait until exit or deadline. */
static void run_child(char *const *argv, char *const *envp, const char *cwd, const char *input,
                      size_t ninput, double timeout, double grace, run_result *r) {
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, pexec[2] = {-1, -1};
  double t0 = now_s();
  r->status = "error";
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC) ||
      pipe2(pexec, O_CLOEXEC)) {
    r->err = errno;
    goto done;
  }
  pid_t pid = fork();
  if (pid < 0) {
    r->err = errno;
    goto done;
  }
  if (pid == 0) { /* child: only async-signal-safe calls until exec */
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    dup2(perr[1], 2);
    if (cwd && chdir(cwd) != 0) {
      int e = errno;
      (void)!write(pexec[1], &e, sizeof e);
      _exit(127);
    }
    execvpe(argv[0], argv, envp);
    int e = errno;
    (void)!write(pexec[1], &e, sizeof e);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with a kill before the child ran */
  close_fd(&pin[0]);
  close_fd(&pout[1]);
  close_fd(&perr[1]);
  close_fd(&pexec[1]);
  {
    int e = 0;
    ssize_t k;
    do k = read(pexec[0], &e, sizeof e);
    while (k < 0 && errno == EINTR);
    close_fd(&pexec[0]);
    if (k == (ssize_t)sizeof e) { /* exec failed */
      waitpid(pid, NULL, 0);
      r->err = e;
      goto done;
    }
  }
  if (ninput == 0) close_fd(&pin[1]);
  else fcntl(pin[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int reaped = 0, wstatus = 0, killed = 0;
  double deadline = timeout > 0 ? t0 + timeout : INFINITY, kill_at = INFINITY;
  for (;;) {
    if (!reaped) {
      pid_t w = waitpid(pid, &wstatus, WNOHANG);
      if (w == pid) reaped = 1;
    }
    if (reaped && pout[0] < 0 && perr[0] < 0) break;
    double t = now_s();
    if (!killed && t >= deadline) {
      killpg(pid, SIGTERM);
      killed = 1;
      kill_at = t + grace;
    }
    if (killed && t >= kill_at) {
      killpg(pid, SIGKILL);
      kill_at = INFINITY;
      if (!reaped) {
        waitpid(pid, &wstatus, 0);
        reaped = 1;
      }
      break; /* grandchildren may hold the pipes: stop reading */
    }
    if (reaped && killed) break;
    struct pollfd fds[3];
    int nf = 0;
    if (pout[0] >= 0) fds[nf++] = (struct pollfd){.fd = pout[0], .events = POLLIN};
    if (perr[0] >= 0) fds[nf++] = (struct pollfd){.fd = perr[0], .events = POLLIN};
    if (pin[1] >= 0) fds[nf++] = (struct pollfd){.fd = pin[1], .events = POLLOUT};
    double until = killed ? kill_at : deadline;
    int ms = 50; /* re-check the child at least every 50 ms */
    if (until < INFINITY) {
      double left = (until - t) * 1000.0;
      if (left < ms) ms = left < 1 ? 1 : (int)left;
    }
    int pr = nf ? poll(fds, (nfds_t)nf, ms) : (usleep((useconds_t)ms * 1000), 0);
    if (pr < 0 && errno != EINTR) break;
    for (int i = 0; i < nf && pr > 0; i++) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == pin[1]) {
        ssize_t k = write(pin[1], input + written, ninput - written);
        if (k > 0) written += (size_t)k;
        if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == ninput) close_fd(&pin[1]);
        continue;
      }
      char buf[65536];
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k > 0) {
        obuf_add(fds[i].fd == pout[0] ? &r->out : &r->errb, buf, (size_t)k);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (fds[i].fd == pout[0]) close_fd(&pout[0]);
        else close_fd(&perr[0]);
      }
    }
  }
  if (killed) {
    r->status = "timeout";
  } else if (WIFEXITED(wstatus)) {
    r->code = WEXITSTATUS(wstatus);
    r->status = r->code == 0 ? "ok" : "exit";
  } else if (WIFSIGNALED(wstatus)) {
    r->sig = WTERMSIG(wstatus);
    r->status = "signal";
  }
done:
  close_fd(&pin[0]);
  close_fd(&pin[1]);
  close_fd(&pout[0]);
  close_fd(&pout[1]);
  close_fd(&perr[0]);
  close_fd(&perr[1]);
  close_fd(&pexec[0]);
  close_fd(&pexec[1]);
  r->seconds = now_s() - t0;
}

static double opt_seconds(lua_State *L, const char *key, double def) {
  double v = pgL_optnumberfield(L, 1, key, def);
  if (!(v >= 0 && v <= 1e9))
    luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' must be a number of seconds in [0, 1e9]", key));
  return v;
}

static int ext_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  /* argv: cmd, args... (strings anchored in a table at stack index `anchor`) */
  lua_newtable(L);
  int anchor = lua_gettop(L);
  if (lua_getfield(L, 1, "cmd") != LUA_TSTRING)
    return luaL_argerror(L, 1, "option 'cmd' (a program name or path) is required");
  lua_rawseti(L, anchor, 1);
  int nargs = 0;
  int t = lua_getfield(L, 1, "args");
  if (t == LUA_TTABLE) {
    nargs = (int)luaL_len(L, -1);
    luaL_argcheck(L, nargs >= 0 && nargs < 100000, 1, "option 'args' is too long");
    for (int i = 1; i <= nargs; i++) {
      int ti = lua_geti(L, -1, i);
      if (ti != LUA_TSTRING && ti != LUA_TNUMBER)
        return luaL_argerror(L, 1, lua_pushfstring(L, "args[%d] must be a string or number", i));
      lua_tostring(L, -1); /* numbers become strings */
      lua_rawseti(L, anchor, i + 1);
    }
  } else if (t != LUA_TNIL) {
    return luaL_argerror(L, 1, "option 'args' must be a list of strings");
  }
  lua_pop(L, 1);
  char **argv = pgL_newbuffer(L, (size_t)(nargs + 2) * sizeof *argv);
  for (int i = 1; i <= nargs + 1; i++) {
    lua_rawgeti(L, anchor, i);
    argv[i - 1] = (char *)lua_tostring(L, -1); /* anchored: stays valid */
    lua_pop(L, 1);
  }
  argv[nargs + 1] = NULL;
  /* environment: environ plus "K=V" for each env entry (anchored too) */
  size_t nenv = 0;
  while (environ && environ[nenv]) nenv++;
  int nextra = 0;
  t = lua_getfield(L, 1, "env");
  if (t == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
        return luaL_argerror(L, 1, "option 'env' must map names to strings");
      lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
      lua_rawseti(L, anchor, nargs + 2 + (++nextra));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    return luaL_argerror(L, 1, "option 'env' must be a table");
  }
  lua_pop(L, 1);
  char **envp = pgL_newbuffer(L, (nenv + (size_t)nextra + 1) * sizeof *envp);
  size_t ne = 0;
  for (size_t i = 0; i < nenv; i++) {
    /* drop variables the env option overrides */
    const char *eq = strchr(environ[i], '=');
    size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int over = 0;
    for (int k = 1; k <= nextra && !over; k++) {
      lua_rawgeti(L, anchor, nargs + 2 + k);
      const char *kv = lua_tostring(L, -1);
      if (strncmp(kv, environ[i], klen) == 0 && kv[klen] == '=') over = 1;
      lua_pop(L, 1);
    }
    if (!over) envp[ne++] = environ[i];
  }
  for (int k = 1; k <= nextra; k++) {
    lua_rawgeti(L, anchor, nargs + 2 + k);
    envp[ne++] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  envp[ne] = NULL;
  const char *cwd = NULL, *input = NULL;
  size_t ninput = 0;
  t = lua_getfield(L, 1, "cwd");
  if (t == LUA_TSTRING) cwd = lua_tostring(L, -1);
  else if (t != LUA_TNIL) return luaL_argerror(L, 1, "option 'cwd' must be a string");
  lua_rawseti(L, anchor, nargs + nextra + 3);
  t = lua_getfield(L, 1, "input");
  if (t == LUA_TSTRING) input = lua_tolstring(L, -1, &ninput);
  else if (t != LUA_TNIL) return luaL_argerror(L, 1, "option 'input' must be a string");
  lua_rawseti(L, anchor, nargs + nextra + 4);
  double timeout = opt_seconds(L, "timeout", 0);
  double grace = opt_seconds(L, "grace", 1);
  double maxout = pgL_optnumberfield(L, 1, "max_output", 64.0 * 1048576.0);
  luaL_argcheck(L, maxout >= 0 && maxout <= 1e12, 1, "option 'max_output' must be in [0, 1e12] bytes");

  run_result r;
  memset(&r, 0, sizeof r);
  r.out.max = r.errb.max = (size_t)maxout;
  /* no Lua call may raise between here and the frees below */
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  run_child(argv, envp, cwd, input, ninput, timeout, grace, &r);
  sigaction(SIGPIPE, &old, NULL);
  /* copy the outputs into Lua strings (may raise: free first) */
  char *op = r.out.p, *ep = r.errb.p;
  size_t on = r.out.n, en = r.errb.n;
  lua_createtable(L, 0, 10);
  int res = lua_gettop(L);
  /* a GC-managed copy first, so that a memory error in lua_pushlstring
   * cannot leak the C buffers (only a failure of this very allocation can) */
  char *copy = pgL_newbuffer(L, on + en + 1);
  if (on) memcpy(copy, op, on);
  if (en) memcpy(copy + on, ep, en);
  free(op);
  free(ep);
  lua_pushlstring(L, copy, on);
  lua_setfield(L, res, "stdout");
  lua_pushlstring(L, copy + on, en);
  lua_setfield(L, res, "stderr");
  lua_pop(L, 1); /* the copy */
  lua_pushstring(L, r.status);
  lua_setfield(L, res, "status");
  lua_pushboolean(L, strcmp(r.status, "ok") == 0);
  lua_setfield(L, res, "ok");
  lua_pushnumber(L, r.seconds);
  lua_setfield(L, res, "seconds");
  if (r.out.truncated || r.errb.truncated) {
    lua_pushboolean(L, 1);
    lua_setfield(L, res, "truncated");
  }
  if (strcmp(r.status, "ok") == 0 || strcmp(r.status, "exit") == 0) {
    lua_pushinteger(L, r.code);
    lua_setfield(L, res, "code");
  }
  if (strcmp(r.status, "signal") == 0) {
    lua_pushinteger(L, r.sig);
    lua_setfield(L, res, "signal");
  }
  const char *cmd = argv[0];
  if (strcmp(r.status, "ok") == 0)
    lua_pushfstring(L, "%s: ok", cmd);
  else if (strcmp(r.status, "exit") == 0)
    lua_pushfstring(L, "%s: exit status %d", cmd, r.code);
  else if (strcmp(r.status, "signal") == 0)
    lua_pushfstring(L, "%s: killed by signal %d (%s)", cmd, r.sig, strsignal(r.sig));
  else if (strcmp(r.status, "timeout") == 0)
    lua_pushfstring(L, "%s: timeout after %f s (process group killed)", cmd, timeout);
  else
    lua_pushfstring(L, "%s: cannot run: %s", cmd, strerror(r.err));
  lua_setfield(L, res, "message");
  return 1;
}

void pgL_open_external(lua_State *L, int mod) {
  lua_pushcfunction(L, ext_run);
  lua_setfield(L, mod, "run_external");
}
