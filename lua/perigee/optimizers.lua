--- perigee.optimizers: the optimizer registry.
--
-- An optimizer is a table
--   { name = "…", description = "…",
--     init = function(ctx) end,              -- once per run, before the initial design
--     propose = function(ctx, q) return points end,   -- q new points: a list of
--                                             -- point tables or a native matrix
--     observe = function(ctx, X, Y) end,      -- X: list of points just evaluated
--                                             -- successfully, Y: their objective rows
--                                             -- (minimised internally, see ctx)
--     initial_design = function(ctx, n) end } -- optional: replaces the runner's design
-- All per-run state lives in ctx.state, so one optimizer table can drive many
-- runs (seeds). ctx fields: space, benchmark, objectives, m, rng (the
-- optimizer's own seeded stream), state, iteration, batch, n_init,
-- iterations, reference_point (internal), seen (hash -> true for every point
-- evaluated so far), and ctx:data() -> X (list of points), U (unit-cube
-- matrix), Y (matrix of internal objectives) of all successful evaluations.
--
-- Built in: pg.optimizers.random{method = "uniform"|"sobol"|"lhs"} and
-- pg.optimizers.pool{score = function(ctx, U, pts) ... end}, a generic
-- "pick the best-scoring candidates of a C-sampled pool" optimizer for
-- acquisition rules written at the REPL. Files lua/perigee/optimizers/NAME.lua
-- returning a factory function(opts) are found automatically; scripts can
-- add their own with pg.optimizers.register(name, factory, description).
local M = {}
local registered = {}
local descriptions = {}

local function this_dir()
  local src = debug.getinfo(1, "S").source
  return src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
end

--- pg.optimizers.register(name, factory [, description])
function M.register(name, factory, description)
  assert(type(name) == "string" and name:match("^[%w_%-]+$"), "optimizer name: letters, digits, _ or -")
  assert(type(factory) == "function", "factory must be a function(opts) returning an optimizer")
  registered[name] = factory
  descriptions[name] = description
  rawset(M, name, factory)
end

--- Factory of a named optimizer (registered or a file in optimizers/).
function M.factory(name)
  if registered[name] then return registered[name] end
  local ok, f = pcall(require, "perigee.optimizers." .. name)
  if ok and type(f) == "function" then
    registered[name] = f
    return f
  end
  if ok then error(("optimizer file '%s' must return a factory function(opts)"):format(name), 2) end
  if not tostring(f):match("module 'perigee%.optimizers%." .. name .. "' not found") then error(f, 2) end
  return nil
end

local function check(opt, where)
  if type(opt) ~= "table" then error(where .. ": an optimizer must be a table", 3) end
  if type(opt.name) ~= "string" or opt.name == "" then error(where .. ": optimizer needs a 'name'", 3) end
  if not opt.name:match("^[%w_%-%.]+$") then error(where .. ": optimizer name must be letters, digits, _ - .", 3) end
  if type(opt.propose) ~= "function" then error(("%s: optimizer '%s' needs propose(ctx, q)"):format(where, opt.name), 3) end
  opt.init = opt.init or function() end
  opt.observe = opt.observe or function() end
  return opt
end

--- pg.optimizers.get(name_or_table [, opts]) -> optimizer table.
function M.get(spec, opts)
  if type(spec) == "string" then
    local f = M.factory(spec)
    if not f then
      local names = {}
      for _, o in ipairs(M.list()) do names[#names + 1] = o.name end
      error(("unknown optimizer '%s' (available: %s)"):format(spec, table.concat(names, ", ")), 2)
    end
    return check(f(opts or {}), "optimizer '" .. spec .. "'")
  end
  if type(spec) == "function" then return check(spec(opts or {}), "optimizer factory") end
  return check(spec, "optimizer")
end

--- pg.optimizers.list() -> list of {name, description}.
function M.list()
  local names, seen = {}, {}
  local p = io.popen('ls -1 "' .. this_dir() .. '/optimizers" 2>/dev/null')
  if p then
    for line in p:lines() do
      local n = line:match("^([%w_%-]+)%.lua$")
      if n then names[#names + 1] = n; seen[n] = true end
    end
    p:close()
  end
  for n in pairs(registered) do if not seen[n] then names[#names + 1] = n end end
  table.sort(names)
  local out = {}
  for i, n in ipairs(names) do
    local desc = descriptions[n]
    if not desc then -- the first line of the file: "--- name: description"
      local f = io.open(this_dir() .. "/optimizers/" .. n .. ".lua")
      local line = f and f:read("l")
      if f then f:close() end
      desc = line and line:match("^%-%-%-%s*[%w_%-]+:%s*(.*)$") or ""
    end
    out[i] = { name = n, description = desc }
  end
  return out
end

return setmetatable(M, {
  __index = function(t, k)
    if type(k) ~= "string" then return nil end
    local f = M.factory(k)
    if f then rawset(t, k, f) end
    return f
  end,
})
