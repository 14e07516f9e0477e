--- perigee.proxy_cache: training-free proxy scores computed on demand and
-- kept in a persistent, compressed, append-only table (docs/proxies.md,
-- "On-demand scores and the cache").
--
--   local C = require("perigee").proxy_cache
--   local rec, cached = C.scores("24:40:64:16:48", { side = 16, batch = 32, classes = 120 })
--     --> {naswot=, logsynflow=, synflow=, skip=, input=}, true when read from the cache
--   C.dir()            --> the cache directory
--   C.path(opts)       --> the table file of these options
--   C.stats(opts)      --> {path=, loaded=, computed=, hits=, shared=, cpu=} for this process
--   C.set_dir(d)       --  use directory d in this process (tests)
--
-- The cache directory is $PERIGEE_CACHE, else $XDG_CACHE_HOME/perigee, else
-- $HOME/.cache/perigee. One table per option set (every option that changes
-- a score is in the file name, with a format version), gzip CSV with the
-- columns of `perigee proxies`:
--   arch_index,arch,naswot,logsynflow,synflow,skip,input
-- so `perigee.proxy.load` and `perigee proxies --resume` read it too. Each
-- newly scored network is appended at once as one gzip member under an
-- exclusive flock (perigee.proxy.append_gz), so several processes can share
-- a table; a process reads the table (under a shared lock) on first use,
-- and on each miss decodes the members appended since its last read (other
-- processes' rows) before computing. A row only depends on the architecture and the options, so two
-- processes that score the same network append the same row (the reader
-- keeps the first).
local pg = require "perigee"
local P = pg.proxy

local M = {}

M.VERSION = 1 -- bump when the scores of the engine change
M.HEADER = "arch_index,arch,naswot,logsynflow,synflow,skip,input"

local DEFAULTS = { batch = 64, seed = 0, data_seed = 3, input = "fmnist", repeats = 1, side = 32,
                   classes = 10, precision = "single", C = 16, N = 5 }

local tables = {} -- path -> {rows = {[arch] = record}, computed, hits, cpu}

local override

--- Use another cache directory in this process (nil: back to the
-- environment's).
function M.set_dir(d)
  override = d
  tables = {}
end

--- The cache directory (not created here).
function M.dir()
  if override then return override end
  local d = os.getenv "PERIGEE_CACHE"
  if d and d ~= "" then return d end
  d = os.getenv "XDG_CACHE_HOME"
  if d and d ~= "" then return d .. "/perigee" end
  local home = os.getenv "HOME"
  if home and home ~= "" then return home .. "/.cache/perigee" end
  return ".perigee-cache"
end

local function full(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

--- The table file of an option set (space "nats_sss" or "nb201").
function M.path(opts, space)
  local o = full(opts)
  local name = ("proxies_v%d_%s_side%d_batch%d_classes%d_seed%d_data%d_%s_%s_r%d"):format(M.VERSION,
    space or "nats_sss", o.side, o.batch, o.classes, o.seed, o.data_seed, o.input, o.precision, o.repeats)
  if space == "nb201" then name = name .. ("_C%d_N%d"):format(o.C, o.N) end
  return M.dir() .. "/" .. name .. ".csv.gz"
end

local function num(s)
  if s == "" then return 0 / 0 end
  if s == "-inf" then return -math.huge end
  if s == "inf" then return math.huge end
  return tonumber(s)
end

local function fmt(v)
  if v ~= v then return "" end
  if v == -math.huge then return "-inf" end
  if v == math.huge then return "inf" end
  return ("%.17g"):format(v)
end

-- Parse the complete lines of a table into rows[arch] (marking new ones in
-- late[arch] when late is given).
local function parse(text, rows, late)
  local n = 0
  for line in text:gmatch "[^\n]+" do
    local idx, arch, nw, ls, sf, sk, input = line:match "^(%d+),([^,]+),([^,]*),([^,]*),([^,]*),([^,]*),(%a+)$"
    if idx and not rows[arch] then
      rows[arch] = { index = tonumber(idx), naswot = num(nw), logsynflow = num(ls), synflow = num(sf),
                     skip = num(sk), input = input }
      if late then late[arch] = true end
      n = n + 1
    end
  end
  return n
end

-- Read the rows appended to the table since the last read (all of it the
-- first time, or when the file was replaced or repaired).
local function refresh(t)
  local text, _, size, id = P.read_lines_gz(t.path, t.bytes, t.id)
  if text then
    t.loaded = t.loaded + parse(text, t.rows, t.opened and t.late or nil)
    t.bytes, t.id = size, id
  end
end

local function open(path)
  local t = tables[path]
  if t then return t end
  t = { rows = {}, late = {}, loaded = 0, computed = 0, hits = 0, shared = 0, cpu = 0, path = path, bytes = 0,
        id = "" }
  refresh(t)
  t.opened = true
  tables[path] = t
  return t
end

--- Scores of one architecture under opts (perigee.proxy options), from the
-- cache or computed and appended. Returns the record and whether it came
-- from the cache. A record computed with the noise fallback says input =
-- "noise" and is kept in the table of the requested input (the fallback is
-- deterministic for a machine without the image package).
function M.scores(arch, opts, space)
  local sp = space or P.parse(arch)
  local path = M.path(opts, sp)
  local t = open(path)
  local r = t.rows[arch]
  if not r then -- another process may have scored it since: read what was appended
    refresh(t)
    r = t.rows[arch]
  end
  if r then
    t.hits = t.hits + 1
    if t.late[arch] then t.shared = t.shared + 1 end
    return r, true
  end
  local c0 = os.clock()
  r = P.scores(arch, opts)
  t.cpu = t.cpu + (os.clock() - c0)
  local _, _, code = P.parse(arch)
  r.index = code
  t.rows[arch] = r
  t.computed = t.computed + 1
  if not t.readonly then
    if not t.dir_ok then t.dir_ok = pcall(pg.results.mkdir, M.dir()) end
    local okw, err = false, nil
    if t.dir_ok then
      okw, err = P.append_gz(path, ("%d,%s,%s,%s,%s,%s,%s\n"):format(code, arch, fmt(r.naswot),
        fmt(r.logsynflow), fmt(r.synflow), fmt(r.skip), r.input), M.HEADER)
    end
    if not okw then -- scoring still works, only without persistence
      t.readonly = true
      io.stderr:write(("perigee.proxy_cache: cannot write %s (%s); scores are not kept\n"):format(path,
        tostring(err or "cannot create " .. M.dir())))
    end
  end
  return r, false
end

--- Counters of this process for the table of opts: rows loaded from disk
-- (including rows other processes appended while this one ran), networks
-- computed, cache hits, hits on rows another process appended while this
-- one ran (shared), CPU seconds spent computing.
function M.stats(opts, space)
  local path = M.path(opts, space)
  local t = open(path)
  return { path = path, loaded = t.loaded, computed = t.computed, hits = t.hits, shared = t.shared, cpu = t.cpu }
end

--- Forget the in-process copies (tests; the files are untouched).
function M.reset() tables = {} end

return M
