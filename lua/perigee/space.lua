--- perigee.space: search spaces declared in Lua, compiled to C (engine/space.c).
--
--   local pg = require "perigee"
--   local sw = pg.space { pg.ordinal("C1", {8, 16, 24, 32}), pg.choice("act", {"relu", "gelu"}) }
--   local hw = pg.space { pg.int("pe_x", 1, 64), pg.real("freq", 0.2, 2.0, {log = true}) }
--   local joint = sw * hw                 -- product: the dimensions of both, names unique
--   print(#joint, joint:size())           -- 4 dimensions, math.huge (a real dimension)
--   local pts, X = joint:sample(1000, pg.rng(1), {method = "sobol"})
--   pts[1].C1, pts[1].act, pts[1].pe_x    -- points are tables of named values
--   local U = joint:encode(X)             -- 1000 x 4 unit-cube matrix (C)
--
-- Points have two forms: a Lua table of named values (what evaluate() sees)
-- and a "native" row of numbers (what the C side works on): reals and ints
-- are their value, ordinal and choice dimensions their 0-based level index,
-- fixed dimensions 0. Bulk work (sampling, encoding, mutation of thousands of
-- candidates) takes and returns perigee.matrix objects of native rows; the
-- table conversions are for the few points that are actually evaluated.
local core = require "perigee.core"

local M = {}

local Space = {}
Space.__index = Space

local function is_int(v) return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v) and v == v and math.abs(v) < 2^53) end

local function check_name(fn, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_%.%-]*$") then
    error(("bad argument #1 to '%s' (a dimension name: letters, digits, _ . -; got %s)"):format(fn, tostring(name)), 3)
  end
end

local function opts_of(fn, o, pos)
  if o == nil then return {} end
  if type(o) ~= "table" then error(("bad argument #%d to '%s' (options table expected)"):format(pos, fn), 3) end
  return o
end

--- pg.real(name, lo, hi [, {log = false}]): a real interval [lo, hi].
function M.real(name, lo, hi, opts)
  check_name("real", name)
  opts = opts_of("real", opts, 4)
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi) or lo ~= lo or hi ~= hi
    or lo == -math.huge or hi == math.huge then
    error("bad argument to 'real' (finite bounds with lo < hi expected)", 2)
  end
  if opts.log and lo <= 0 then error("bad argument to 'real' (log scale needs lo > 0)", 2) end
  return { name = name, kind = "real", lo = lo, hi = hi, log = opts.log and true or false }
end

--- pg.int(name, lo, hi [, {step = 1, log = false}]): integers lo, lo+step, ... <= hi.
function M.int(name, lo, hi, opts)
  check_name("int", name)
  opts = opts_of("int", opts, 4)
  local step = opts.step or 1
  if not is_int(lo) or not is_int(hi) or lo > hi then
    error("bad argument to 'int' (integer bounds with lo <= hi expected)", 2)
  end
  if not is_int(step) or step < 1 then error("bad argument to 'int' (step must be an integer >= 1)", 2) end
  if opts.log and lo <= 0 then error("bad argument to 'int' (log scale needs lo > 0)", 2) end
  lo, hi, step = math.tointeger(lo), math.tointeger(hi), math.tointeger(step)
  hi = lo + ((hi - lo) // step) * step
  return { name = name, kind = "int", lo = lo, hi = hi, step = step, log = opts.log and true or false }
end

local function level_dim(fn, kind, name, values)
  check_name(fn, name)
  if type(values) ~= "table" or #values == 0 then
    error(("bad argument #2 to '%s' (a non-empty list of values expected)"):format(fn), 3)
  end
  local vals, seen = {}, {}
  for i, v in ipairs(values) do
    if type(v) ~= "number" and type(v) ~= "string" and type(v) ~= "boolean" then
      error(("bad argument #2 to '%s' (values must be numbers, strings or booleans)"):format(fn), 3)
    end
    if seen[v] then error(("bad argument #2 to '%s' (duplicate value %s)"):format(fn, tostring(v)), 3) end
    seen[v] = i
    vals[i] = v
  end
  return { name = name, kind = kind, values = vals, levels = #vals, index = seen }
end

--- pg.ordinal(name, values): ordered levels (e.g. channel counts {8, 16, ...}).
function M.ordinal(name, values) return level_dim("ordinal", "ordinal", name, values) end
--- pg.choice(name, values): unordered categories (one-hot encoded).
function M.choice(name, values) return level_dim("choice", "choice", name, values) end
--- pg.fixed(name, value): a constant carried along with every point.
function M.fixed(name, value)
  check_name("fixed", name)
  if value == nil then error("bad argument #2 to 'fixed' (a value expected)", 2) end
  return { name = name, kind = "fixed", value = value, levels = 1 }
end

local function copy_dim(d)
  local c = {}
  for k, v in pairs(d) do c[k] = v end
  return c
end

--- pg.space{dim_or_space, ...}: a space from dimensions and/or other spaces.
function M.new(spec)
  if type(spec) ~= "table" then error("bad argument #1 to 'space' (list of dimensions expected)", 2) end
  local self = setmetatable({ dims = {}, index = {} }, Space)
  local function add(d)
    if getmetatable(d) == Space then
      for _, dd in ipairs(d.dims) do add(dd) end
      return
    end
    if type(d) ~= "table" or type(d.kind) ~= "string" or type(d.name) ~= "string" then
      error("bad argument #1 to 'space' (entries must be pg.real/int/ordinal/choice/fixed or spaces)", 3)
    end
    if self.index[d.name] then error(("bad argument #1 to 'space' (duplicate dimension '%s')"):format(d.name), 3) end
    self.dims[#self.dims + 1] = copy_dim(d)
    self.index[d.name] = #self.dims
  end
  for _, d in ipairs(spec) do add(d) end
  if #self.dims == 0 then error("bad argument #1 to 'space' (no dimensions)", 2) end
  -- A product of spaces remembers its factors (lists of dimension names),
  -- e.g. the software and hardware blocks of a co-design space; loose
  -- dimensions next to spaces form one more factor.
  local factors, loose = {}, {}
  for _, d in ipairs(spec) do
    if getmetatable(d) == Space then
      factors[#factors + 1] = d:names()
    else
      loose[#loose + 1] = d.name
    end
  end
  if #factors > 0 and #loose > 0 then factors[#factors + 1] = loose end
  if #factors >= 2 then self.factors = factors end
  local cdims = {}
  for j, d in ipairs(self.dims) do
    cdims[j] = { kind = d.kind, lo = d.lo, hi = d.hi, step = d.step, log = d.log, levels = d.levels }
  end
  self.c = core.cspace(cdims)
  return self
end

--- pg.space.product(a, b, ...): the product space (also a * b).
function M.product(...)
  local parts = { ... }
  return M.new(parts)
end
Space.__mul = function(a, b) return M.new { a, b } end
Space.__len = function(self) return #self.dims end
Space.__tostring = function(self)
  local parts = {}
  for _, d in ipairs(self.dims) do
    local s
    if d.kind == "real" or d.kind == "int" then
      s = ("%s:%s[%s,%s%s%s]"):format(d.name, d.kind, d.lo, d.hi, d.step and d.step > 1 and (",step " .. d.step) or "", d.log and ",log" or "")
    elseif d.kind == "fixed" then
      s = ("%s=%s"):format(d.name, tostring(d.value))
    else
      local vs = {}
      for i, v in ipairs(d.values) do vs[i] = tostring(v) end
      s = ("%s:%s{%s}"):format(d.name, d.kind, table.concat(vs, ","))
    end
    parts[#parts + 1] = s
  end
  return ("perigee.space (%d dimensions, size %.4g): %s"):format(#self.dims, self:size(), table.concat(parts, " "))
end

--- space:size(): number of distinct points, math.huge with a real dimension.
function Space:size() return self.c:size() end
--- space:names(): dimension names in order.
function Space:names()
  local t = {}
  for j, d in ipairs(self.dims) do t[j] = d.name end
  return t
end
function Space:dim(name_or_index)
  if type(name_or_index) == "number" then return self.dims[name_or_index] end
  return self.dims[self.index[name_or_index]]
end
function Space:unit_dim() return self.c:unit_dim() end
function Space:onehot_dim() return self.c:onehot_dim() end

-- ---- conversions between named points and native rows ----

--- space:to_native(point) -> list of numbers (raises on an invalid value).
function Space:to_native(p)
  local row = {}
  for j, d in ipairs(self.dims) do
    local v = p[d.name]
    if d.kind == "fixed" then
      if v ~= nil and v ~= d.value then
        error(("point: dimension '%s' is fixed at %s, got %s"):format(d.name, tostring(d.value), tostring(v)), 2)
      end
      row[j] = 0
    elseif d.kind == "ordinal" or d.kind == "choice" then
      local i = d.index[v]
      if not i then error(("point: '%s' = %s is not one of its values"):format(d.name, tostring(v)), 2) end
      row[j] = i - 1
    else
      if type(v) ~= "number" then error(("point: '%s' must be a number, got %s"):format(d.name, tostring(v)), 2) end
      row[j] = v
    end
  end
  return row
end

--- space:to_point(row) -> table of named values (row: list or matrix row).
function Space:to_point(row)
  local p = {}
  for j, d in ipairs(self.dims) do
    local v = row[j]
    if d.kind == "fixed" then
      p[d.name] = d.value
    elseif d.kind == "ordinal" or d.kind == "choice" then
      p[d.name] = d.values[math.tointeger(v) + 1]
    elseif d.kind == "int" then
      p[d.name] = math.tointeger(v) or v
    else
      p[d.name] = v
    end
  end
  return p
end

local function is_matrix(x) return type(x) == "userdata" end

-- A list of points, one point, or a matrix -> native matrix.
function Space:native(P)
  if is_matrix(P) then return P end
  if type(P) ~= "table" then error("points expected (a point table, a list of them, or a matrix)", 2) end
  if type(P[1]) == "table" or (next(P) == nil) then
    local rows = {}
    for i, p in ipairs(P) do rows[i] = self:to_native(p) end
    if #rows == 0 then return core.matrix(0, #self.dims) end
    return core.matrix(rows)
  end
  return core.matrix { self:to_native(P) }
end

--- space:points(X) -> list of named points from a native matrix.
function Space:points(X)
  local pts = {}
  local n, d = X:shape()
  for i = 1, n do
    local row = {}
    for j = 1, d do row[j] = X:get(i, j) end
    pts[i] = self:to_point(row)
  end
  return pts
end

-- ---- batch operations (C) ----

local methods = { uniform = true, sobol = true, lhs = true }

--- space:sample_matrix(n, rng, {method = "uniform"|"sobol"|"lhs", offset = 0, scramble = true})
-- -> native matrix n x #space. Sobol points offset .. offset+n-1, digitally
-- shifted by words drawn from the rng when scramble ~= false (to continue a
-- scrambled sequence across calls, pass a clone of the same generator).
function Space:sample_matrix(n, rng, opts)
  opts = opts or {}
  local method = opts.method or "uniform"
  if not methods[method] then error(("bad option 'method' to 'sample' (uniform, sobol or lhs; got %s)"):format(tostring(method)), 2) end
  local r = rng
  if method == "sobol" and opts.scramble == false then r = nil end
  return self.c:sample(n, r, method, opts.offset or 0)
end

--- space:sample(n, rng [, opts]) -> list of points, native matrix
-- (and the unit-cube matrix as a third value with opts.encoded = true).
function Space:sample(n, rng, opts)
  local X = self:sample_matrix(n, rng, opts)
  if opts and opts.encoded then return self:points(X), X, self.c:encode(X) end
  return self:points(X), X
end

--- space:encode(points|X) -> unit-cube matrix (one column per non-fixed dimension).
function Space:encode(P) return self.c:encode(self:native(P)) end
--- space:decode(U) -> list of points, native matrix (rounding to valid values).
function Space:decode(U)
  local X = self.c:decode(U)
  return self:points(X), X
end
--- space:onehot(points|X) -> matrix (choice dimensions as indicator columns).
function Space:onehot(P) return self.c:onehot(self:native(P)) end
--- space:from_onehot(H) -> list of points, native matrix (argmax per choice).
function Space:from_onehot(H)
  local X = self.c:from_onehot(H)
  return self:points(X), X
end
--- space:snap(points|X) -> points, matrix rounded to the nearest valid values.
function Space:snap(P)
  local X = self.c:snap(self:native(P))
  return self:points(X), X
end

--- space:validate(point) -> true | nil, message.
function Space:validate(p)
  local ok, row = pcall(self.to_native, self, p)
  if not ok then return nil, (tostring(row):gsub("^.-point: ", "")) end
  local good, _, j = self.c:check({ row })
  if not good then
    return nil, ("'%s' = %s is outside the space"):format(self.dims[j].name, tostring(p[self.dims[j].name]))
  end
  return true
end

--- space:neighbours(point [, delta = 0.1]) -> list of points differing in one dimension.
function Space:neighbours(p, delta) return self:points(self.c:neighbours(self:native(p), delta)) end

--- space:mutate(points|X, rng [, {prob = 1/d, sigma = 0.2}]) -> points, matrix.
function Space:mutate(P, rng, opts)
  opts = opts or {}
  local X = self.c:mutate(self:native(P), rng, opts.prob, opts.sigma)
  return self:points(X), X
end

--- space:crossover(A, B, rng) -> children1, children2 (uniform crossover per dimension).
function Space:crossover(A, B, rng)
  local X1, X2 = self.c:crossover(self:native(A), self:native(B), rng)
  return self:points(X1), self:points(X2), X1, X2
end

--- space:hash(point) -> 16 hex digits; equal points give equal keys.
function Space:hash(p) return ("%016x"):format(self.c:hash(self:native(p))[1]) end
--- space:hashes(points|X) -> list of keys.
function Space:hashes(P)
  local h = self.c:hash(self:native(P))
  for i, v in ipairs(h) do h[i] = ("%016x"):format(v) end
  return h
end

--- space:format(point) -> "name=value, ..." in dimension order.
function Space:format(p)
  local t = {}
  for j, d in ipairs(self.dims) do t[j] = d.name .. "=" .. tostring(p[d.name]) end
  return table.concat(t, ", ")
end

M.Space = Space
M.is_space = function(x) return getmetatable(x) == Space end

return setmetatable(M, { __call = function(_, spec) return M.new(spec) end })
