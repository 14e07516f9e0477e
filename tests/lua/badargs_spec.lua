-- Every binding fed wrong arguments: each call raises a Lua error (never a
-- crash), and a call with all arguments of the wrong type always raises.
-- The walk is generic: new C functions under `perigee` and new userdata
-- types ("perigee.*" metatables) are covered without editing this file;
-- `factories` gives a valid instance of a type so its methods are also
-- called with a valid `self` and bad arguments.
local pg = require "perigee"

local nan, inf = 0 / 0, math.huge
local bad_values = {
  false, true, "x", "", {}, {{}}, {{1, 2}, {3}}, {nan}, {{nan, 1}}, -1, 0, 1.5, nan, inf, -inf,
  2 ^ 40, math.maxinteger, math.mininteger, function() end, coroutine.create(function() end),
  pg.matrix{{nan, 1}, {1, 1}}, pg.matrix.zeros(0, 3), pg.matrix.zeros(3, 0),
}

-- functions that legitimately accept anything (or nothing)
local accepts_anything = { ["perigee.config"] = true }
-- functions whose valid arguments are arbitrary strings and that write files:
-- not called here (their own specs test them in temporary directories)
local writes_files = { ["perigee.proxy.write_gz"] = true, ["perigee.io.journal_append"] = true,
                       ["perigee.io.write"] = true, ["perigee.io.write_file"] = true }

-- valid instances per metatable name, to reach the methods' other arguments
local factories = {
  ["perigee.Matrix"] = function() return pg.matrix{{1, 2}, {3, 4}} end,
  ["perigee.MatrixRow"] = function() return pg.matrix{{1, 2}, {3, 4}}[1] end,
  ["perigee.Rng"] = function() return pg.rng(1) end,
  ["perigee.GP"] = function()
    local g = pg.gp.exact{kernel = "se"}
    g:fit({{0}, {1}, {2}}, {0, 1, 0})
    return g
  end,
  ["perigee.Accelerator"] = function() return pg.hw.accelerator "meta_prototype_df" end,
  ["perigee.Systolic"] = function() return pg.hw.systolic{rows = 8, cols = 8} end,
  ["perigee.HwNetwork"] = function() return pg.hw.network.nats_sss("8:8:8:8:8") end,
  ["perigee.Space"] = function() return pg.space{pg.real("x", 0, 1), pg.choice("c", {"a", "b"})}.c end,
  ["perigee.PPO"] = function() return pg.ppo.new{obs_dim = 3, heads = {2}, seed = 1} end,
}
-- methods that write files, given a valid self: left to their own specs
local method_writes_files = { ["perigee.PPO:save"] = true }

local function collect_functions()
  local found, seen = {}, {}
  local function walk(t, prefix, depth)
    if seen[t] or depth > 4 then return end
    seen[t] = true
    for k, v in pairs(t) do
      local name = prefix .. "." .. tostring(k)
      if type(v) == "function" and debug.getinfo(v, "S").what == "C" then
        found[#found + 1] = { name = name, f = v }
      elseif type(v) == "table" then
        walk(v, name, depth + 1)
        local mt = getmetatable(v)
        if mt and type(mt.__call) == "function" and debug.getinfo(mt.__call, "S").what == "C" then
          found[#found + 1] = { name = name, f = function(...) return v(...) end }
        end
      end
    end
  end
  walk(require "perigee.core", "perigee", 0)
  return found
end

local function collect_methods()
  local found = {}
  for key, mt in pairs(debug.getregistry()) do
    if type(key) == "string" and key:match("^perigee%.") and type(mt) == "table" then
      local methods = type(mt.__index) == "table" and mt.__index or mt.__methods
      local function add(name, f)
        if type(f) == "function" and debug.getinfo(f, "S").what == "C" then
          found[#found + 1] = { type = key, name = key .. ":" .. name, f = f }
        end
      end
      if type(methods) == "table" then
        for name, f in pairs(methods) do add(name, f) end
      end
      for name, f in pairs(mt) do
        if name ~= "__gc" and name ~= "__close" and name ~= "__name" then add(name, f) end
      end
    end
  end
  return found
end

local function expect_error_or_ok(name, ok, err)
  if not ok then
    assert(type(err) == "string" or getmetatable(err), name .. ": error is not a message")
  end
end

describe("every binding given wrong arguments", function()
  local functions = collect_functions()
  local methods = collect_methods()

  it("finds the bindings", function()
    assert.is_true(#functions >= 8, "only " .. #functions .. " functions found")
    assert.is_true(#methods >= 10, "only " .. #methods .. " methods found")
  end)

  it("raises Lua errors from functions and never crashes", function()
    for _, fn in ipairs(functions) do
      if writes_files[fn.name] then goto continue end
      for _, v in ipairs(bad_values) do
        expect_error_or_ok(fn.name, pcall(fn.f, v))
        expect_error_or_ok(fn.name, pcall(fn.f, v, v))
        expect_error_or_ok(fn.name, pcall(fn.f, v, v, v))
        expect_error_or_ok(fn.name, pcall(fn.f, 1, v, v))
        expect_error_or_ok(fn.name, pcall(fn.f, {{1, 2}}, v, 2))
      end
      -- a function that works with no arguments at all (a listing, a
      -- configuration query) may ignore extra ones, as Lua's own do
      if not accepts_anything[fn.name] and not pcall(fn.f) then
        -- rejected: raised, or returned nil plus a message (Lua's convention
        -- for expected failures such as a missing file)
        local ok, r1, r2 = pcall(fn.f, "x", "x", "x", "x")
        assert(not ok or (r1 == nil and type(r2) == "string"),
               fn.name .. " accepted strings everywhere without an error")
        ok = pcall(fn.f, coroutine.create(print))
        assert(not ok, fn.name .. " accepted a thread without an error")
      end
      ::continue::
    end
  end)

  it("raises Lua errors from methods and never crashes", function()
    for _, m in ipairs(methods) do
      -- wrong self
      for _, v in ipairs(bad_values) do
        expect_error_or_ok(m.name, pcall(m.f, v, v))
      end
      local make = factories[m.type]
      if make and not method_writes_files[m.name] then
        for _, v in ipairs(bad_values) do
          expect_error_or_ok(m.name, pcall(m.f, make(), v))
          expect_error_or_ok(m.name, pcall(m.f, make(), v, v))
          expect_error_or_ok(m.name, pcall(m.f, make(), 1, v))
        end
      end
      if not m.name:match(":__") then
        local ok = pcall(m.f, "x", "x", "x")
        assert(not ok, m.name .. " accepted a string as self")
      end
    end
  end)

  it("keeps working after all those errors", function()
    collectgarbage()
    assert.are.equal(0.7005764821796896, pg.rng(7):uniform())
    assert.are.equal(4, pg.matrix{{1, 2}, {3, 4}}[2][2])
  end)
end)
