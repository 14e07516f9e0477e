/*
 * main.c -- the `perigee` executable: Lua 5.4 with the engine preloaded.
 *
 *   perigee [options] [script [args]]    run a script (arg as in lua)
 *   perigee COMMAND [args]               run a command from lua/perigee/cli/
 *   perigee -e CODE, perigee -i, perigee  REPL with readline and history
 *
 * Shaped like Lua's own lua.c: everything runs inside pmain under lua_pcall
 * with a message handler that appends a traceback, so a script error prints
 * "perigee: message" plus the traceback and exits with status 1.
 */
#include <errno.h>
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "version.h"

int luaopen_perigee_core(lua_State *L);

static const char *progname = "perigee";
static lua_State *globalL = NULL;

/* ---- OpenBLAS core type: see ../shared/research/blas.md and docs/design.md.
 * OpenBLAS 0.3.21 falls back to its slow generic "Prescott" kernels on some
 * AVX-512 CPUs it does not recognise. The core type is read when the library
 * loads, so when the library reports such a fallback on a CPU with AVX-512
 * we set OPENBLAS_CORETYPE=SkylakeX and re-execute ourselves once. A core it
 * recognised (e.g. Cooperlake, SkylakeX, Haswell, Zen) is left alone. */
extern char *openblas_get_corename(void) __attribute__((weak));

static int is_fallback_core(const char *name) {
  static const char *const slow[] = {"Prescott", "Core2",  "Penryn", "Dunnington", "Nehalem",
                                     "Atom",     "Katmai", "Northwood", "Banias", "Unknown",
                                     NULL};
  if (!name) return 0;
  for (int i = 0; slow[i]; i++)
    if (strcasecmp(name, slow[i]) == 0) return 1;
  return 0;
}

static void maybe_reexec(char **argv) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (getenv("OPENBLAS_CORETYPE") || getenv("PERIGEE_NO_REEXEC")) return;
  if (!openblas_get_corename || !is_fallback_core(openblas_get_corename())) return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  setenv("PERIGEE_NO_REEXEC", "1", 1); /* never loop */
  execv("/proc/self/exe", argv);
  /* exec failed: carry on with the default kernels */
#else
  (void)argv;
#endif
}

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int i) {
  signal(i, SIG_DFL);
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void print_usage(void) {
  printf("usage: %s [options] [script [args]]\n"
         "       %s COMMAND [args]\n"
         "Options:\n"
         "  -e CODE      execute string CODE\n"
         "  -i           enter interactive mode after running the script\n"
         "  -l NAME      require library NAME into global NAME\n"
         "  --threads N  threads of perigee's parallel loops (sets PERIGEE_THREADS)\n"
         "  -v, --version  show version, Lua and BLAS information\n"
         "  -h, --help   show this help\n"
         "  --           stop handling options\n"
         "  -            run stdin and stop handling options\n"
         "Commands (lua/perigee/cli/): run, list, plot and others; `%s COMMAND --help`.\n"
         "With no arguments, starts a REPL on a terminal (or runs stdin otherwise).\n"
         "The global `perigee` holds the library (also: local pg = require \"perigee\").\n",
         progname, progname, progname);
  fflush(stdout);
}

static void l_message(const char *msg) {
  if (progname) fprintf(stderr, "%s: ", progname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    l_message(msg);
    lua_pop(L, 1);
  }
  return status;
}

/* Message handler: add a traceback to the error. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

static void print_version(lua_State *L) {
  printf("perigee %s (%s)\n", PG_VERSION, LUA_RELEASE);
  lua_getglobal(L, "perigee");
  if (lua_istable(L, -1) && lua_getfield(L, -1, "config") == LUA_TFUNCTION &&
      lua_pcall(L, 0, 1, 0) == LUA_OK) {
    lua_getfield(L, -1, "blas");
    lua_getfield(L, -2, "blas_core");
    lua_getfield(L, -3, "blas_threads");
    printf("BLAS: %s; core %s; %d thread(s)\n", lua_tostring(L, -3), lua_tostring(L, -2),
           (int)lua_tointeger(L, -1));
    lua_pop(L, 4);
  } else {
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  fflush(stdout);
}

/* Build the global `arg` table as lua.c does: script at 0, options negative. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return report(L, status);
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  int i;
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, 0);
  }
  return report(L, status);
}

/* Is `name` a command: a plain word, not an existing file, with a module
 * perigee.cli.<name> on package.path? */
static int is_command(lua_State *L, const char *name) {
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return 0;
  if (access(name, F_OK) == 0) return 0;
  int top = lua_gettop(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushfstring(L, "perigee.cli.%s", name);
  lua_getfield(L, -3, "path");
  int found = lua_pcall(L, 2, 1, 0) == LUA_OK && lua_isstring(L, -1);
  lua_settop(L, top);
  return found;
}

/* Run perigee.cli.<name>: the module returns a function (or a table with
 * `main`) called with the remaining arguments as a table; it returns an exit
 * code (nil or true mean 0). */
static int handle_command(lua_State *L, int argc, char **argv, int idx, int *code) {
  const char *name = argv[idx];
  lua_getglobal(L, "require");
  lua_pushfstring(L, "perigee.cli.%s", name);
  int status = docall(L, 1, 1);
  if (status != LUA_OK) return report(L, status);
  if (lua_istable(L, -1)) lua_getfield(L, -1, "main");
  if (!lua_isfunction(L, -1)) {
    l_message(lua_pushfstring(L, "command '%s' has no main function", name));
    return LUA_ERRRUN;
  }
  lua_createtable(L, argc - idx - 1, 0);
  for (int i = idx + 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - idx);
  }
  status = docall(L, 1, 1);
  if (status != LUA_OK) return report(L, status);
  if (lua_isinteger(L, -1))
    *code = (int)lua_tointeger(L, -1);
  else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
    *code = 1;
  lua_pop(L, 1);
  return LUA_OK;
}

/* ---- REPL ---- */

static char history_path[PATH_MAX];
static int use_readline;

static const char *get_prompt(lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    return firstline ? "> " : ">> ";
  }
  const char *p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  lua_pop(L, 1); /* the string stays valid: _PROMPT still references it */
  return p;
}

/* Read one line into a new string on the stack; 0 at end of input. */
static int pushline(lua_State *L, int firstline) {
  const char *prmt = get_prompt(L, firstline);
  char *line;
  if (use_readline) {
    line = readline(prmt);
    if (!line) return 0;
  } else {
    static char buf[65536];
    if (!fgets(buf, sizeof buf, stdin)) return 0;
    line = strdup(buf);
    if (!line) return 0;
  }
  size_t l = strlen(line);
  if (l > 0 && line[l - 1] == '\n') line[--l] = '\0';
  if (firstline && line[0] == '=')
    lua_pushfstring(L, "return %s", line + 1); /* 5.1 compatibility */
  else
    lua_pushlstring(L, line, l);
  free(line);
  return 1;
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    static const char eof[] = "<eof>";
    if (lmsg >= sizeof eof - 1 && strcmp(msg + lmsg - (sizeof eof - 1), eof) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

static void save_history_line(const char *line) {
  if (use_readline && line[0] != '\0') add_history(line);
}

static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    save_history_line(line);
  } else {
    lua_pop(L, 2);
  }
  return status;
}

static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status) || !pushline(L, 0)) {
      save_history_line(line);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

static int loadline(lua_State *L) {
  lua_settop(L, 0);
  if (!pushline(L, 1)) return -1;
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  lua_remove(L, 1);
  return status;
}

static void l_print(lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
      l_message(lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
  }
}

static void doREPL(lua_State *L) {
  const char *oldprogname = progname;
  progname = NULL;
  use_readline = isatty(STDIN_FILENO);
  const char *home = getenv("HOME");
  history_path[0] = '\0';
  if (use_readline && home) {
    snprintf(history_path, sizeof history_path, "%s/.perigee_history", home);
    read_history(history_path);
  }
  int status;
  while ((status = loadline(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      l_print(L);
    else {
      const char *msg = lua_tostring(L, -1);
      fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 0);
  if (use_readline) {
    printf("\n");
    if (history_path[0]) write_history(history_path);
  }
  fflush(stdout);
  progname = oldprogname;
}

/* ---- set-up ---- */

/* Prepend dir/?.lua;dir/?/init.lua to package.path. */
static void add_lua_dir(lua_State *L, const char *dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);
}

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* Find the Lua half of perigee: $PERIGEE_LUA_DIR, then the install tree next
 * to the executable, then the source tree it was built from. */
static void setup_paths(lua_State *L) {
  char buf[PATH_MAX + 64];
  const char *env = getenv("PERIGEE_LUA_DIR");
  if (env && *env) {
    add_lua_dir(L, env);
    return;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      snprintf(buf, sizeof buf, "%s/../share/lua/5.4/perigee/init.lua", exe);
      if (file_exists(buf)) {
        snprintf(buf, sizeof buf, "%s/../share/lua/5.4", exe);
        add_lua_dir(L, buf);
        return;
      }
    }
  }
  add_lua_dir(L, PG_SOURCE_LUA_DIR);
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  luaL_checkversion(L);
  luaL_openlibs(L);
  setup_paths(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_perigee_core);
  lua_setfield(L, -2, "perigee.core");
  lua_pop(L, 1);
  lua_gc(L, LUA_GCGEN, 0, 0);

  /* scan options */
  int has_e = 0, has_i = 0, has_v = 0, script = 0, i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      script = i;
      break;
    }
    if (strcmp(a, "--") == 0) {
      if (i + 1 < argc) script = i + 1;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_usage();
      lua_pushboolean(L, 1);
      return 1;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      has_v = 1;
    } else if (strcmp(a, "-i") == 0) {
      has_i = has_v = 1;
    } else if (strcmp(a, "--threads") == 0 || strncmp(a, "--threads=", 10) == 0) {
      /* handled in main() before the library loads; skip its value here */
      if (a[9] == '\0') i++;
    } else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      if (i + 1 >= argc) {
        l_message(lua_pushfstring(L, "'%s' needs argument", a));
        print_usage();
        return 0;
      }
      if (a[1] == 'e') has_e = 1;
      i++;
    } else {
      l_message(lua_pushfstring(L, "unrecognized option '%s'", a));
      print_usage();
      return 0;
    }
  }
  createargtable(L, argv, argc, script);

  /* the library as a global, loaded once */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "perigee");
  if (report(L, docall(L, 1, 1)) != LUA_OK) return 0;
  lua_setglobal(L, "perigee");

  if (has_v && !has_i) print_version(L);
  else if (has_i && isatty(STDIN_FILENO)) print_version(L);

  /* -e and -l in order */
  for (int k = 1; k < (script ? script : argc); k++) {
    if (strcmp(argv[k], "-e") == 0) {
      if (dostring(L, argv[k + 1], "=(command line)") != LUA_OK) return 0;
      k++;
    } else if (strcmp(argv[k], "-l") == 0) {
      if (dolibrary(L, argv[k + 1]) != LUA_OK) return 0;
      k++;
    } else if (strcmp(argv[k], "--threads") == 0) {
      k++;
    } else if (strcmp(argv[k], "--") == 0) {
      break;
    }
  }

  if (script) {
    if (!(script > 1 && strcmp(argv[script - 1], "--") == 0) && is_command(L, argv[script])) {
      int code = 0;
      if (handle_command(L, argc, argv, script, &code) != LUA_OK) return 0;
      lua_pushinteger(L, code);
      return 1;
    }
    if (handle_script(L, argv + script) != LUA_OK) return 0;
  }
  if (has_i) {
    doREPL(L);
  } else if (!script && !has_e && !has_v) {
    if (isatty(STDIN_FILENO)) {
      print_version(L);
      doREPL(L);
    } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* --threads N / --threads=N (before the script or command): export it as
 * PERIGEE_THREADS, read when the library loads (bindings/lparallel.c) and
 * inherited by child processes (e.g. the workers of `perigee proxies`).
 * Returns 0, or 1 after printing an error for a bad value. */
static int scan_threads(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (a[0] != '-' || strcmp(a, "-") == 0 || strcmp(a, "--") == 0) break;
    if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      i++;
      continue;
    }
    if (strcmp(a, "--threads") == 0) {
      v = i + 1 < argc ? argv[++i] : "";
    } else if (strncmp(a, "--threads=", 10) == 0) {
      v = a + 10;
    } else {
      continue;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 1 || n > 4096) {
      fprintf(stderr, "perigee: --threads needs an integer in 1..4096, got '%s'\n", v);
      return 1;
    }
    setenv("PERIGEE_THREADS", v, 1);
  }
  return 0;
}

/* The proxies allocate and free tensors of a few MB per network, thousands of
 * times per run. glibc serves blocks above its (adaptive) mmap threshold with
 * mmap and gives the heap top back above its trim threshold, so every network
 * paid fresh zeroed pages (10^4 page faults per NB201 network, ~10 % of a
 * table run in the kernel). Blocks up to 64 MB stay in the heap and the heap
 * is trimmed only above 256 MB: 19 % less wall time for `perigee proxies`
 * (docs/design.md). The process keeps its peak heap instead. */
static void tune_malloc(void) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int main(int argc, char **argv) {
  tune_malloc();
  if (scan_threads(argc, argv)) return EXIT_FAILURE;
  maybe_reexec(argv);
  if (argv[0] && argv[0][0]) progname = "perigee";
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    l_message("cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code;
  if (status != LUA_OK) {
    report(L, status);
    code = EXIT_FAILURE;
  } else if (lua_isinteger(L, -1)) {
    code = (int)lua_tointeger(L, -1);
  } else {
    code = lua_toboolean(L, -1) ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  lua_close(L);
  return code;
}
