-- nsga2_spec.lua -- perigee.evo (SBX, polynomial mutation, survival,
-- tournament) and pg.optimizers.nsga2: survivors are the best fronts
-- (checked against a brute-force peeling of fronts), crowding keeps the
-- extremes, variation stays in the space, and NSGA-II beats random search
-- on ZDT1 at an equal budget.
local pg = require "perigee"

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  return p
end

-- Brute-force front ranks: peel the non-dominated set repeatedly.
local function peel_ranks(Y)
  local n, rank, left = #Y, {}, #Y
  local r = 0
  while left > 0 do
    r = r + 1
    local cur = {}
    for i = 1, n do
      if not rank[i] then
        local dom = false
        for j = 1, n do
          if j ~= i and not rank[j] then
            local le, lt = true, false
            for k = 1, #Y[i] do
              if Y[j][k] > Y[i][k] then le = false end
              if Y[j][k] < Y[i][k] then lt = true end
            end
            if le and lt then dom = true; break end
          end
        end
        if not dom then cur[#cur + 1] = i end
      end
    end
    for _, i in ipairs(cur) do rank[i] = r end
    left = left - #cur
  end
  return rank
end

describe("perigee.evo", function()
  it("survivors are the best fronts, crowding decides within the last one", function()
    local rng = pg.rng(3)
    local Y = {}
    for i = 1, 120 do Y[i] = { rng:uniform(), rng:uniform() } end
    local ranks = peel_ranks(Y)
    for _, k in ipairs { 1, 17, 60, 119, 120 } do
      local idx, r, cd = pg.evo.survive(Y, k)
      assert.equal(k, #idx)
      assert.same(ranks, r)
      local chosen, worst = {}, 0
      for _, i in ipairs(idx) do chosen[i] = true; worst = math.max(worst, ranks[i]) end
      for i = 1, #Y do
        if not chosen[i] then
          assert.is_true(ranks[i] >= worst)
          if ranks[i] == worst then
            for _, j in ipairs(idx) do
              if ranks[j] == worst then assert.is_true(cd[j] >= cd[i]) end
            end
          end
        end
      end
    end
  end)

  it("crowding keeps the extremes of a front", function()
    local Y = {}
    for i = 0, 20 do Y[#Y + 1] = { i / 20, (1 - i / 20) ^ 2 } end
    local idx = pg.evo.survive(Y, 3)
    local set = {}
    for _, i in ipairs(idx) do set[i] = true end
    assert.is_true(set[1] and set[21])
  end)

  it("tournaments prefer lower rank, then larger crowding", function()
    local rng = pg.rng(5)
    for _, w in ipairs(pg.evo.tournament({ 2, 1 }, { 9, 0 }, 50, rng)) do assert.equal(2, w) end
    for _, w in ipairs(pg.evo.tournament({ 1, 1 }, { 0.5, math.huge }, 50, rng)) do assert.equal(2, w) end
    local counts = { 0, 0, 0 }
    for _, w in ipairs(pg.evo.tournament({ 1, 1, 1 }, { 1, 1, 1 }, 3000, rng)) do counts[w] = counts[w] + 1 end
    for i = 1, 3 do assert.is_true(math.abs(counts[i] - 1000) < 150) end
  end)

  it("SBX and polynomial mutation stay in the space and respect their probabilities", function()
    local sp = pg.space { pg.real("x", 0, 1), pg.int("n", 1, 64), pg.ordinal("c", { 8, 16, 24 }),
                          pg.choice("op", { "a", "b", "c" }), pg.fixed("f", 7) }
    local rng = pg.rng(11)
    local _, A = sp:sample(200, rng)
    local _, B = sp:sample(200, rng)
    local C1, C2 = pg.evo.sbx(sp, A, B, rng)
    assert.is_true((sp.c:check(C1)))
    assert.is_true((sp.c:check(C2)))
    -- pc = 0: children are copies of the parents
    local D1, D2 = pg.evo.sbx(sp, A, B, rng, { pc = 0 })
    assert.is_true(D1 == A and D2 == B)
    -- SBX preserves the mean of each continuous pair (symmetric spread) up to clamping
    local P1 = pg.matrix { { 0.4, 1, 0, 0, 0 } }
    local P2 = pg.matrix { { 0.6, 1, 0, 0, 0 } }
    local s = 0
    for _ = 1, 200 do
      local c1, c2 = pg.evo.sbx(sp, P1, P2, rng, { pc = 1, pvar = 1 })
      s = s + c1:get(1, 1) + c2:get(1, 1)
    end
    assert.is_true(math.abs(s / 400 - 0.5) < 1e-9)
    local M = pg.evo.pm(sp, A, rng, { prob = 1 })
    assert.is_true((sp.c:check(M)))
    local same = pg.evo.pm(sp, A, rng, { prob = 0.0 }) -- 0 = default 1/d, some change
    assert.is_false(same == A)
    -- choice mutation always moves to another level
    local O = pg.evo.pm(sp, A, rng, { prob = 1 })
    for i = 1, 200 do assert.are_not.equal(A:get(i, 4), O:get(i, 4)) end
  end)

  it("rejects bad arguments", function()
    local sp = pg.space { pg.real("x", 0, 1) }
    assert.has_error(function() pg.evo.sbx({}, { { 0.1 } }, { { 0.2 } }, pg.rng(1)) end)
    assert.has_error(function() pg.evo.sbx(sp, { { 0.1 } }, { { 2 } }, pg.rng(1)) end)
    assert.has_error(function() pg.evo.pm(sp, { { 0.1 } }, pg.rng(1), { prob = 2 }) end)
    assert.has_error(function() pg.evo.survive({ { 1, 2 } }, 2) end)
    assert.has_error(function() pg.evo.tournament({ 1, 2 }, { 1 }, 3, pg.rng(1)) end)
  end)
end)

describe("pg.optimizers.nsga2", function()
  it("improves hypervolume on ZDT1 over random search at equal budget", function()
    local out = tmpdir()
    local res = pg.experiment {
      benchmark = "zdt1", benchmark_options = { n = 10 },
      optimizers = { "nsga2", "random" }, seeds = { 1, 2, 3 },
      n_init = 20, iterations = 15, batch = 10, out = out, quiet = true, plots = false,
    }:go()
    local hv = { nsga2 = 0, random = 0 }
    for _, r in ipairs(res.runs) do
      hv[r.optimizer] = hv[r.optimizer] + r.hypervolume / 3
      assert.equal(20 + 15 * 10, r.evaluations)
    end
    print(("\nZDT1 (10 vars), 170 evaluations, mean HV over 3 seeds: nsga2 %.3f, random %.3f"):format(hv.nsga2, hv.random))
    assert.is_true(hv.nsga2 > hv.random)
    os.execute("rm -rf '" .. out .. "'")
  end)

  it("never proposes an evaluated point and is deterministic per seed", function()
    local function run()
      local out = tmpdir()
      local res = pg.experiment {
        benchmark = "zdt1", benchmark_options = { n = 4 }, optimizer = "nsga2", seed = 7,
        n_init = 8, iterations = 5, batch = 6, out = out, quiet = true, plots = false,
      }:go()
      local f = io.open(out .. "/nsga2/seed7/evaluations.csv")
      local text = f:read("a")
      f:close()
      os.execute("rm -rf '" .. out .. "'")
      return res, text
    end
    local r1, t1 = run()
    local _, t2 = run()
    assert.equal(t1, t2)
    local seen = {}
    for line in t1:gmatch("[^\n]+") do
      local key = line:match("^%d+,%d+,(.-),[^,]*,[^,]*,[^,]*,[^,]*$")
      if key then
        assert.is_nil(seen[key])
        seen[key] = true
      end
    end
    assert.equal(8 + 5 * 6, r1.runs[1].evaluations)
  end)
end)
