-- space_spec.lua: search spaces (lua/perigee/space.lua over engine/space.c).
local pg = require "perigee"

local CH = { 8, 16, 24, 32, 40, 48, 56, 64 }

local function nats()
  local d = {}
  for i = 1, 5 do d[i] = pg.ordinal("C" .. i, CH) end
  return pg.space(d)
end

local function coflex_hw(reg_lo)
  return pg.space {
    pg.int("pe_x", 1, 64), pg.int("pe_y", 1, 64),
    pg.int("reg_i", reg_lo, 512), pg.int("reg_w", reg_lo, 512), pg.int("reg_o", reg_lo, 512),
    pg.int("bw", reg_lo, 512),
  }
end

describe("space sizes", function()
  it("counts NATS x Coflex hardware", function()
    local s = nats() * coflex_hw(10)
    assert.are.equal(11, #s)
    -- inclusive integer grid: 8^5 * 64^2 * 503^4 (research/coflex.md 2.2)
    assert.are.equal(8 ^ 5 * 64 ^ 2 * 503 ^ 4, s:size())
    assert.is_true(math.abs(s:size() - 8.59e18) < 0.01e18)
    -- the README's 9.22e18 counts 512 values per memory parameter: 2^63
    local readme = nats() * coflex_hw(1)
    assert.are.equal(2 ^ 63, readme:size())
    assert.are.equal("9.2e+18", ("%.1e"):format(readme:size()))
  end)
  it("is math.huge with a real dimension, products of small grids by enumeration", function()
    assert.are.equal(math.huge, pg.space { pg.real("x", 0, 1), pg.int("n", 1, 3) }:size())
    local s = pg.space { pg.int("a", 3, 17, { step = 4 }), pg.choice("b", { "x", "y", "z" }), pg.fixed("c", 5) }
    local count = 0
    for a = 3, 17 do if (a - 3) % 4 == 0 then count = count + 3 end end
    assert.are.equal(count, s:size())
    assert.are.equal(3, #s)
    assert.are.equal(15, s:dim("a").hi)
    local p = pg.space.product(s, pg.space { pg.ordinal("d", { 1, 2 }) })
    assert.are.equal(count * 2, p:size())
  end)
  it("rejects bad declarations", function()
    assert.has_error(function() pg.real("x", 1, 0) end)
    assert.has_error(function() pg.real("x", 0, 1, { log = true }) end)
    assert.has_error(function() pg.int("x", 1.5, 3) end)
    assert.has_error(function() pg.int("x", 1, 3, { step = 0 }) end)
    assert.has_error(function() pg.ordinal("x", {}) end)
    assert.has_error(function() pg.choice("x", { 1, 1 }) end)
    assert.has_error(function() pg.space { pg.real("x", 0, 1), pg.int("x", 1, 2) } end)
    assert.has_error(function() pg.space {} end)
    assert.has_error(function() pg.cspace { { kind = "nope" } } end)
    assert.has_error(function() pg.cspace { { kind = "real", lo = 1, hi = 0 } } end)
  end)
end)

describe("encode / decode", function()
  local s = pg.space {
    pg.real("lr", 1e-4, 1e-1, { log = true }), pg.real("m", -1, 1), pg.int("n", 1, 64),
    pg.int("r", 16, 1024, { step = 16, log = true }), pg.ordinal("c", CH),
    pg.choice("act", { "relu", "gelu", "tanh" }), pg.fixed("bs", 32),
  }
  it("round trips every sampled point", function()
    for _, method in ipairs { "uniform", "sobol", "lhs" } do
      local pts, X = s:sample(300, pg.rng(4), { method = method })
      local U = s:encode(pts)
      assert.are.same({ 300, 6 }, { U:shape() })
      local back = s:decode(U)
      for i = 1, 300 do
        assert.is_true(s:validate(pts[i]))
        for _, k in ipairs { "n", "r", "c", "act", "bs" } do assert.are.equal(pts[i][k], back[i][k]) end
        assert.is_true(math.abs(back[i].lr / pts[i].lr - 1) < 1e-12)
        assert.is_true(math.abs(back[i].m - pts[i].m) < 1e-12)
        assert.are.equal(0, (pts[i].r - 16) % 16)
        assert.are.equal(32, pts[i].bs)
        assert.are.equal(s:hash(pts[i]), s:hash(back[i]))
      end
      assert.are.same({ 300, 7 }, { X:shape() })
    end
  end)
  it("decodes by rounding and clamping to valid values", function()
    local pts = s:decode { { 2, -1, 0.999, 1, 0.49, 0.34 }, { -1, 0.5, 0.0, 0, 0.51, 0.99 } }
    assert.are.same({ lr = 0.1, m = -1, n = 64, r = 1024, c = 32, act = "gelu", bs = 32 }, pts[1])
    assert.are.same({ lr = 1e-4, m = 0, n = 1, r = 16, c = 40, act = "tanh", bs = 32 }, pts[2])
  end)
  it("one-hot encodes choices and decodes by argmax", function()
    local p = { lr = 0.01, m = 0.5, n = 3, r = 64, c = 16, act = "tanh", bs = 32 }
    local H = s:onehot(p)
    assert.are.same({ 1, 8 }, { H:shape() })
    assert.are.same({ 0, 0, 1 }, { H:get(1, 6), H:get(1, 7), H:get(1, 8) })
    local q = s:from_onehot(H)[1]
    assert.are.equal("tanh", q.act)
    assert.are.equal(3, q.n)
    assert.are.equal(64, q.r)
  end)
  it("validates points", function()
    assert.is_true(s:validate { lr = 0.01, m = 0, n = 3, r = 64, c = 16, act = "relu" })
    assert.is_nil(s:validate { lr = 0.01, m = 0, n = 3, r = 65, c = 16, act = "relu" })
    assert.is_nil(s:validate { lr = 0.01, m = 0, n = 3, r = 64, c = 17, act = "relu" })
    assert.is_nil(s:validate { lr = 0.01, m = 0, n = 3, r = 64, c = 16, act = "relu", bs = 64 })
  end)
end)

describe("sampling", function()
  local s = nats() * coflex_hw(10)
  it("is deterministic per seed and differs between seeds", function()
    for _, method in ipairs { "uniform", "sobol", "lhs" } do
      local A = s:sample_matrix(50, pg.rng(9), { method = method })
      local B = s:sample_matrix(50, pg.rng(9), { method = method })
      local C = s:sample_matrix(50, pg.rng(10), { method = method })
      assert.is_true(A == B)
      assert.is_false(A == C)
    end
  end)
  it("spreads levels evenly (LHS and Sobol: each of the 8 levels 8 times in 64 points)", function()
    for _, method in ipairs { "sobol", "lhs" } do
      local pts = s:sample(64, pg.rng(2), { method = method })
      for k = 1, 5 do
        local count = {}
        for _, p in ipairs(pts) do count[p["C" .. k]] = (count[p["C" .. k]] or 0) + 1 end
        for _, c in ipairs(CH) do assert.are.equal(8, count[c]) end
      end
    end
  end)
  it("unscrambled Sobol over two reals forms a (0,m,2)-net", function()
    local s2 = pg.space { pg.real("a", 0, 1), pg.real("b", 0, 1) }
    local X = s2:sample_matrix(256, nil, { method = "sobol", scramble = false })
    for a = 0, 8 do
      local b = 8 - a
      local seen = {}
      for i = 1, 256 do
        local key = math.floor(X:get(i, 1) * 2 ^ a) * 2 ^ b + math.floor(X:get(i, 2) * 2 ^ b)
        assert.is_nil(seen[key])
        seen[key] = true
      end
    end
    -- continuing with an offset gives the same points as one long draw
    local Y = s2:sample_matrix(56, nil, { method = "sobol", scramble = false, offset = 200 })
    for i = 1, 56 do assert.are.equal(X:get(200 + i, 1), Y:get(i, 1)) end
  end)
  it("samples thousands of points in C quickly", function()
    local t = os.clock()
    local X = s:sample_matrix(20000, pg.rng(1), { method = "sobol" })
    local U = s:encode(X)
    assert.are.same({ 20000, 11 }, { U:shape() })
    assert.is_true(os.clock() - t < 2)
  end)
end)

describe("variation operators", function()
  local s = pg.space { pg.real("x", 0, 1), pg.int("n", 1, 5), pg.ordinal("c", CH), pg.choice("k", { "a", "b", "c" }) }
  it("neighbours differ in exactly one dimension", function()
    local p = { x = 0.5, n = 1, c = 64, k = "b" }
    local nb = s:neighbours(p, 0.1)
    -- x: 0.4, 0.6; n: 2; c: 56; k: a, c
    assert.are.equal(6, #nb)
    for _, q in ipairs(nb) do
      local diff = 0
      for _, name in ipairs(s:names()) do if q[name] ~= p[name] then diff = diff + 1 end end
      assert.are.equal(1, diff)
      assert.is_true(s:validate(q))
    end
  end)
  it("mutation and crossover give valid, changed points; hashes de-duplicate", function()
    local pts = s:sample(200, pg.rng(3))
    local mut = s:mutate(pts, pg.rng(4), { sigma = 0.3 })
    local keys = {}
    for i = 1, 200 do
      assert.is_true(s:validate(mut[i]))
      assert.are_not.equal(s:hash(pts[i]), s:hash(mut[i]))
      keys[s:hash(pts[i])] = true
    end
    local c1, c2 = s:crossover(pts, mut, pg.rng(5))
    for i = 1, 200 do
      for _, name in ipairs(s:names()) do
        -- each child value comes from one parent, the sibling has the other's
        local a, b = pts[i][name], mut[i][name]
        assert.is_true((c1[i][name] == a and c2[i][name] == b) or (c1[i][name] == b and c2[i][name] == a))
      end
    end
    -- a grid of 5 * 8 * 3 = 120 levels per real value: duplicates hash equal
    local dup = s:hashes { pts[1], pts[2], pts[1] }
    assert.are.equal(dup[1], dup[3])
    assert.are_not.equal(dup[1], dup[2])
  end)
end)

describe("the C space object", function()
  it("takes omitted optional arguments after converted point tables", function()
    local c = pg.space { pg.real("x", 0, 1), pg.int("n", 1, 5) }.c
    assert.are.equal(4, #c:neighbours({ { 0.5, 3 } }))
    assert.are.equal(2, #c:mutate({ { 0.5, 3 }, { 0.1, 1 } }, pg.rng(1)))
    local a, b = c:crossover({ { 0.5, 3 } }, { { 0.2, 1 } }, pg.rng(1))
    assert.are.equal(1, #a)
    assert.are.equal(1, #b)
    assert.has_error(function() c:crossover({ { 0.5, 3 } }, { { 0.2, 1 } }) end)
    assert.has_error(function() c:mutate({ { 0.5, 3 } }) end)
    assert.are.equal(3, #c:sample(3, pg.rng(1)))
    assert.are.equal(3, #c:sample(3, nil, "sobol"))
    assert.has_error(function() c:sample(3) end)
  end)
end)
