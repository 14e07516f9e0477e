--- perigee.benchmark: benchmarks as plain Lua files found on a search path.
--
--   local bench = pg.benchmark "zdt1"              -- by name
--   local bench = pg.benchmark("dtlz2", { m = 3 })  -- files may take options
--   local bench = pg.benchmark { name = ..., space = ..., objectives = ..., evaluate = ... }
--   for _, b in ipairs(pg.benchmark.list()) do print(b.name, b.description) end
--
-- A benchmark file `NAME.lua` returns a table (or a function(opts) returning
-- one) with the fields
--   name, description              strings
--   space                          a pg.space
--   objectives                     list of names or {name=, direction="min"|"max", log=bool}
--   evaluate = function(x, ctx)    x: table of named values; returns a list of
--                                  objective values in order, or a table keyed by
--                                  objective name (extra keys are kept as outputs
--                                  usable by constraints)
--   reference_point                list, one value per objective, in the user's units
--   constraints (optional)         list of "name <= value" / "name >= value" strings
--                                  or {name, "<=", value}; violating points are
--                                  recorded as infeasible and left out of the metrics
--   true_front (optional)          list of rows / matrix, or a function returning one
--   data (optional)                list of {file = "relative/path", download = "how"}:
--                                  files needed under $PERIGEE_DATA
-- The search path: lua/perigee/benchmarks/, then each directory of
-- $PERIGEE_PATH (colon-separated), then ./benchmarks/. The first match wins.
local M = {}

local function this_dir()
  local src = debug.getinfo(1, "S").source
  return src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
end

--- pg.benchmark.path() -> list of directories searched, in order.
function M.path()
  local dirs = { this_dir() .. "/benchmarks" }
  local env = os.getenv("PERIGEE_PATH")
  if env and env ~= "" then
    for d in env:gmatch("[^:]+") do dirs[#dirs + 1] = d end
  end
  dirs[#dirs + 1] = "./benchmarks"
  return dirs
end

local function readable(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

--- pg.benchmark.find(name) -> file path or nil, message listing the directories.
function M.find(name)
  if type(name) ~= "string" or not name:match("^[%w_%-%.]+$") then
    return nil, ("invalid benchmark name %q"):format(tostring(name))
  end
  local dirs = M.path()
  for _, d in ipairs(dirs) do
    local p = d .. "/" .. name .. ".lua"
    if readable(p) then return p end
  end
  return nil, ("benchmark '%s' not found; searched %s"):format(name, table.concat(dirs, ", "))
end

local function list_dir(dir)
  local names = {}
  local p = io.popen('ls -1 "' .. dir:gsub('"', '\\"') .. '" 2>/dev/null')
  if not p then return names end
  for line in p:lines() do
    local n = line:match("^([%w_%-%.]+)%.lua$")
    if n then names[#names + 1] = n end
  end
  p:close()
  table.sort(names)
  return names
end

-- ---- objectives and constraints ----

local function normalize_objectives(objs, where)
  if type(objs) ~= "table" or #objs == 0 then
    error(where .. ": 'objectives' must be a non-empty list", 0)
  end
  local out, seen = {}, {}
  for i, o in ipairs(objs) do
    if type(o) == "string" then o = { name = o } end
    if type(o) ~= "table" or type(o.name or o[1]) ~= "string" then
      error(("%s: objective %d needs a name"):format(where, i), 0)
    end
    local name = o.name or o[1]
    local dir = o.direction or o[2] or "min"
    if dir == "minimize" or dir == "minimise" then dir = "min" end
    if dir == "maximize" or dir == "maximise" then dir = "max" end
    if dir ~= "min" and dir ~= "max" then
      error(("%s: objective '%s' has direction %s (min or max)"):format(where, name, tostring(dir)), 0)
    end
    if seen[name] then error(("%s: duplicate objective '%s'"):format(where, name), 0) end
    seen[name] = true
    out[i] = { name = name, direction = dir, log = o.log and true or false }
  end
  return out
end

local ops = { ["<="] = true, [">="] = true, ["<"] = true, [">"] = true }

local function normalize_constraints(cons, where)
  local out = {}
  for i, c in ipairs(cons or {}) do
    local name, op, value
    if type(c) == "string" then
      name, op, value = c:match("^%s*([%a_][%w_%.]*)%s*([<>]=?)%s*(%S+)%s*$")
      value = tonumber(value)
    elseif type(c) == "table" then
      name, op, value = c.name or c[1], c.op or c[2], c.value or c[3]
    end
    if type(name) ~= "string" or not ops[op] or type(value) ~= "number" then
      error(("%s: constraint %d must look like \"latency <= 5\" or {\"latency\", \"<=\", 5}"):format(where, i), 0)
    end
    out[i] = { name = name, op = op, value = value, text = ("%s %s %s"):format(name, op, tostring(value)) }
  end
  return out
end

--- Does output value v satisfy constraint c?
function M.satisfies(c, v)
  if type(v) ~= "number" or v ~= v then return false end
  if c.op == "<=" then return v <= c.value end
  if c.op == ">=" then return v >= c.value end
  if c.op == "<" then return v < c.value end
  return v > c.value
end

--- Map a user-unit objective vector to the internal minimised one
-- (maximised objectives negated, log-transformed ones logged). Returns nil
-- and a message when a log-transformed value is not positive.
function M.to_internal(objectives, y)
  local z = {}
  for i, o in ipairs(objectives) do
    local v = y[i]
    if o.log then
      if not (v > 0) then return nil, ("objective '%s' = %s is not positive (log transform)"):format(o.name, tostring(v)) end
      v = math.log(v)
    end
    z[i] = o.direction == "max" and -v or v
  end
  return z
end

--- Inverse of to_internal.
function M.from_internal(objectives, z)
  local y = {}
  for i, o in ipairs(objectives) do
    local v = o.direction == "max" and -z[i] or z[i]
    y[i] = o.log and math.exp(v) or v
  end
  return y
end

-- ---- data files ----

--- pg.benchmark.data_file(rel, download) -> absolute path under $PERIGEE_DATA,
-- or raises an error that says what to download and where to put it.
function M.data_file(rel, download, bench_name)
  local root = os.getenv("PERIGEE_DATA")
  local who = bench_name and ("benchmark '" .. bench_name .. "'") or "this benchmark"
  if not root or root == "" then
    error(("%s needs the data file %s: set PERIGEE_DATA to the data folder%s"):format(
      who, rel, download and (" (" .. download .. ")") or ""), 0)
  end
  local p = root .. "/" .. rel
  if not readable(p) then
    error(("%s needs %s, which is missing: %s"):format(who, p, download or "see the benchmark's description"), 0)
  end
  return p
end

-- ---- loading ----

local function rows_of(front)
  if type(front) == "function" then front = front() end
  if front == nil then return nil end
  if type(front) == "userdata" then front = front:totable() end
  return front
end

--- Validate a benchmark table and return its normalised copy.
function M.normalize(b, where)
  where = where or ("benchmark " .. tostring(b and b.name))
  if type(b) ~= "table" then error(where .. ": must be a table", 0) end
  local space_mod = require "perigee.space"
  if type(b.name) ~= "string" then error(where .. ": missing 'name'", 0) end
  if not space_mod.is_space(b.space) then error(where .. ": 'space' must be a pg.space{...}", 0) end
  if type(b.evaluate) ~= "function" then error(where .. ": 'evaluate' must be a function(x, ctx)", 0) end
  local nb = {}
  for k, v in pairs(b) do nb[k] = v end
  nb.description = b.description or ""
  nb.objectives = normalize_objectives(b.objectives, where)
  nb.constraints = normalize_constraints(b.constraints, where)
  local m = #nb.objectives
  if b.reference_point ~= nil then
    if type(b.reference_point) ~= "table" or #b.reference_point ~= m then
      error(("%s: 'reference_point' needs %d values"):format(where, m), 0)
    end
    for i = 1, m do
      if type(b.reference_point[i]) ~= "number" then error(where .. ": reference_point must be numbers", 0) end
    end
  end
  for _, d in ipairs(b.data or {}) do M.data_file(d.file, d.download, b.name) end
  if b.true_front ~= nil then
    local tf = b.true_front
    nb.true_front = nil
    -- computed lazily and cached: fronts can be large
    local cache
    nb.front = function()
      if cache == nil then
        cache = rows_of(tf) or false
        if cache then
          for _, r in ipairs(cache) do
            if #r ~= m then error(("%s: true_front rows need %d values"):format(where, m), 0) end
          end
        end
      end
      return cache or nil
    end
  end
  nb.normalized = true
  return nb
end

--- pg.benchmark.load(name [, opts]) -> normalised benchmark table.
function M.load(name, opts)
  if type(name) == "table" then
    if name.normalized then return name end
    return M.normalize(name)
  end
  local file, err = M.find(name)
  if not file then error(err, 2) end
  local chunk, lerr = loadfile(file)
  if not chunk then error(("benchmark '%s' (%s) does not load: %s"):format(name, file, lerr), 2) end
  local ok, b = pcall(chunk)
  if not ok then error(("benchmark '%s' (%s) failed: %s"):format(name, file, tostring(b)), 2) end
  if type(b) == "function" then
    ok, b = pcall(b, opts or {})
    if not ok then error(("benchmark '%s' (%s) failed: %s"):format(name, file, tostring(b)), 2) end
  end
  if type(b) ~= "table" then error(("benchmark '%s' (%s) must return a table"):format(name, file), 2) end
  local nb = M.normalize(b, ("benchmark '%s' (%s)"):format(name, file))
  nb.file = file
  nb.options = opts
  return nb
end

--- pg.benchmark.list() -> list of {name, description, file, error?}, first
-- match per name on the search path.
function M.list()
  local out, seen = {}, {}
  for _, d in ipairs(M.path()) do
    for _, n in ipairs(list_dir(d)) do
      if not seen[n] then
        seen[n] = true
        local ok, b = pcall(M.load, n)
        if ok then
          out[#out + 1] = { name = n, description = b.description, file = b.file,
                            objectives = #b.objectives, dimensions = #b.space }
        else
          out[#out + 1] = { name = n, description = "(does not load: " .. tostring(b) .. ")",
                            file = d .. "/" .. n .. ".lua", error = tostring(b) }
        end
      end
    end
  end
  return out
end

-- ---- analytic helpers for the built-in test problems ----

--- Das-Dennis simplex lattice: all points with m non-negative coordinates
-- that are multiples of 1/h and sum to 1 (C(h+m-1, m-1) points).
function M.simplex_lattice(m, h)
  local out, cur = {}, {}
  local function rec(i, left)
    if i == m then
      cur[m] = left / h
      local r = {}
      for k = 1, m do r[k] = cur[k] end
      out[#out + 1] = r
      return
    end
    for v = 0, left do
      cur[i] = v / h
      rec(i + 1, left - v)
    end
  end
  rec(1, h)
  return out
end

--- Record set of a one-dimensional profile: grid points t (increasing) at
-- which f(t) is strictly below every earlier value. For a front of the form
-- (t, f(t)) these are exactly its non-dominated points on the grid.
function M.running_min(n, f)
  local out, best = {}, math.huge
  for i = 0, n - 1 do
    local t = i / (n - 1)
    local v = f(t)
    if v < best then
      best = v
      out[#out + 1] = { t, v }
    end
  end
  return out
end

--- The ZDT family (Zitzler, Deb and Thiele, Evolutionary Computation 8(2),
-- 2000): n real variables in [0, 1] (opts.n, default 30), two minimised
-- objectives f1 = x1, f2 = g h(f1, g) with g = 1 + 9/(n-1) sum_{i>=2} x_i.
-- The Pareto front is g = 1; its non-dominated points are sampled on a grid
-- of opts.front_points (default `points`) values of f1. ZDT1-3 differ only
-- in h, so their benchmark files are one call of this builder.
function M.zdt(name, label, h, opts, points)
  local pg = require "perigee"
  local n = opts.n or 30
  assert(math.type(n) == "integer" and n >= 2, name .. ": n must be an integer >= 2")
  local dims = {}
  for i = 1, n do dims[i] = pg.real("x" .. i, 0, 1) end
  return {
    name = name,
    description = ("%s: %s (%d variables, 2 objectives)"):format(name:upper(), label, n),
    space = pg.space(dims),
    objectives = { "f1", "f2" },
    reference_point = { 11, 11 },
    evaluate = function(x)
      local s = 0
      for i = 2, n do s = s + x["x" .. i] end
      local g = 1 + 9 * s / (n - 1)
      local f1 = x.x1
      return { f1, g * h(f1, g) }
    end,
    true_front = function()
      return M.running_min(opts.front_points or points, function(t) return h(t, 1) end)
    end,
  }
end

return setmetatable(M, { __call = function(_, name, opts) return M.load(name, opts) end })
