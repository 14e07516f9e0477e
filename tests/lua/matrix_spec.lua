-- perigee.matrix: construction, indexing, conversion, errors.
local pg = require "perigee"

describe("perigee.matrix", function()
  it("builds from a table of rows and indexes like m[i][j]", function()
    local m = pg.matrix{{1, 2, 3}, {4, 5, 6}}
    assert.are.equal(2, #m)
    local r, c = m:shape()
    assert.are.same({2, 3}, {r, c})
    assert.are.equal(6, m[2][3])
    assert.are.equal(4, m:get(2, 1))
    m[1][2] = 20
    assert.are.equal(20, m:get(1, 2))
    m:set(2, 2, -1)
    assert.are.same({{1, 20, 3}, {4, -1, 6}}, m:totable())
    assert.are.equal(3, #m[1])
  end)

  it("has constructors with the right contents", function()
    assert.are.same({{0, 0}, {0, 0}}, pg.matrix.zeros(2, 2):totable())
    assert.are.same({{1, 1, 1}}, pg.matrix.ones(1, 3):totable())
    assert.are.same({{1, 0}, {0, 1}}, pg.matrix.eye(2):totable())
    assert.are.same({{7, 7}}, pg.matrix(1, 2, 7):totable())
    assert.are.same({{1, 2, 3}}, pg.matrix{1, 2, 3}:totable()) -- flat table is one row
    local e = pg.matrix.zeros(0, 3)
    assert.are.equal(0, #e)
  end)

  it("extracts rows and columns, copies and transposes", function()
    local m = pg.matrix{{1, 2}, {3, 4}, {5, 6}}
    assert.are.same({{3, 4}}, m:row(2):totable())
    assert.are.same({{2}, {4}, {6}}, m:col(2):totable())
    assert.are.same({{1, 3, 5}, {2, 4, 6}}, m:t():totable())
    local c = m:copy()
    c[1][1] = 100
    assert.are.equal(1, m[1][1])
    assert.is_true(m == pg.matrix{{1, 2}, {3, 4}, {5, 6}})
    assert.is_false(m == c)
    m[3] = {9, 9}
    assert.are.same({9, 9}, m:row(3):totable()[1])
  end)

  it("draws reproducible random matrices from a generator", function()
    local a = pg.matrix.random(3, 4, pg.rng(5), "normal")
    local b = pg.matrix.random(3, 4, pg.rng(5), "normal")
    assert.is_true(a == b)
    local u = pg.matrix.random(100, 3, pg.rng(1))
    for i = 1, 100 do for j = 1, 3 do
      assert.is_true(u[i][j] >= 0 and u[i][j] < 1)
    end end
  end)

  it("prints a readable, bounded preview", function()
    local s = tostring(pg.matrix{{1, 2}, {3, 4}})
    assert.truthy(s:find("2 x 2", 1, true))
    assert.truthy(s:find("4", 1, true))
    local big = tostring(pg.matrix.zeros(1000, 1000))
    assert.truthy(big:find("...", 1, true))
    assert.is_true(#big < 2000)
  end)

  it("raises errors naming the function and argument", function()
    local function err(f, pattern)
      local ok, msg = pcall(f)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find(pattern), tostring(msg))
    end
    err(function() return pg.matrix(-1, 2) end, "bad argument #1 to 'matrix'")
    err(function() return pg.matrix(2, 2.5) end, "bad argument #2")
    err(function() return pg.matrix{{1, 2}, {3}} end, "row 2 has 1 entries")
    err(function() return pg.matrix{{1, "x"}} end, "not a number")
    err(function() return pg.matrix(1e6, 1e6) end, "too large")
    err(function() return pg.matrix.zeros(2^40, 2^40) end, "too large")
    err(function() local m = pg.matrix.zeros(2, 2); return m[3] end, "out of range")
    err(function() local m = pg.matrix.zeros(2, 2); return m[1][0] end, "out of range")
    err(function() local m = pg.matrix.zeros(2, 2); m:set(1, 1, "a") end, "number expected")
    err(function() local m = pg.matrix.zeros(2, 2); m[1] = {1, 2, 3} end, "row needs 2 values")
    err(function() return pg.matrix.random(2, 2, {}) end, "perigee.Rng expected")
    err(function() return pg.matrix.zeros(2, 2):get(1) end, "column index")
  end)
end)
