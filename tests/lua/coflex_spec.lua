-- coflex_spec.lua -- pg.optimizers.coflex and perigee.fusion: the fusion
-- step against hand-computed hypervolume improvements, the block kernel
-- derived from a product space, determinism per seed, no duplicate
-- proposals, batch sizes, and Coflex beating random search on DTLZ2
-- (6 variables, 2 objectives) and ZDT1 over 5 seeds at an equal budget
-- (the numbers are printed). The full-budget comparison is
-- bench/coflex_vs_random.lua.
local pg = require "perigee"

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function read(path)
  local f = assert(io.open(path))
  local t = f:read("a")
  f:close()
  return t
end

-- small pools keep the test fast; the algorithm is the same
local FAST = { pool = 1000, local_pool = 1000, max_iter = 40 }
local function fast(extra)
  local o = {}
  for k, v in pairs(FAST) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("perigee.fusion.select", function()
  it("picks by hypervolume improvement over the observed front, in normalised units", function()
    -- observed: (0, 1), (1, 0); normalisation lo = 0, span = 1; reference = nadir
    -- (1, 1) + 0.1 = (1.1, 1.1). Candidates (zero variance, LCB = mean):
    --   1: (0.5, 0.5)  HVI = (1 - 0.5) * (1 - 0.5) = 0.25
    --   2: (0.2, 0.9)  HVI = 0.8 * 0.1 = 0.08
    --   3: (1.05, 1.05) dominated by nothing but inside the dominated region: 0
    --   4: (0.4, 0.4)  HVI = 0.6 * 0.6 = 0.36, but excluded
    local Y = { { 0, 1 }, { 1, 0 } }
    local Ud = { { 0 }, { 1 } }
    local Uc = { { 0.5 }, { 0.2 }, { 0.9 }, { 0.45 } }
    local mu1 = pg.matrix { { 0.5 }, { 0.2 }, { 1.05 }, { 0.4 } }
    local mu2 = pg.matrix { { 0.5 }, { 0.9 }, { 1.05 }, { 0.4 } }
    local z = pg.matrix(4, 1, 0)
    local idx, gains, nkeep = pg.fusion.select({ mu1, mu2 }, { z, z }, Y, Ud, Uc, 1,
      { diversity = 0, exclude = { 4 }, min_keep = 1 })
    assert.same({ 1 }, idx)
    assert.is_true(math.abs(gains[1] - 0.25) < 1e-12)
    assert.equal(2, nkeep) -- first front of the scores: candidates 1 and 2 (3 is dominated by 1)
    -- a batch of two: after (0.5, 0.5) joins the front, candidate 2 adds
    -- (0.5 - 0.2) * (1 - 0.9) = 0.03
    idx, gains = pg.fusion.select({ mu1, mu2 }, { z, z }, Y, Ud, Uc, 2, { diversity = 0, exclude = { 4 } })
    assert.same({ 1, 2 }, idx)
    assert.is_true(math.abs(gains[2] - 0.03) < 1e-12)
    -- LCB: a variance of 0.5625 (sd 0.75) moves candidate 3 to (0.3, 0.3): HVI 0.7^2 = 0.49,
    -- picked first; then candidate 2 adds [0.2, 0.3] x [0.9, 1] = 0.01 and candidate 1 nothing
    local v = pg.matrix { { 0 }, { 0 }, { 0.5625 }, { 0 } }
    idx, gains = pg.fusion.select({ mu1, mu2 }, { v, v }, Y, Ud, Uc, 3, { diversity = 0, beta = 1, exclude = { 4 } })
    assert.same({ 3, 2, 1 }, idx)
    assert.is_true(math.abs(gains[1] - 0.49) < 1e-12 and math.abs(gains[2] - 0.01) < 1e-12 and gains[3] == 0)
    -- every eligible candidate excluded: nothing chosen
    idx = pg.fusion.select({ mu1, mu2 }, { z, z }, Y, Ud, Uc, 2, { exclude = { 1, 2, 3, 4 } })
    assert.same({}, idx)
  end)

  it("stacks matrices and rejects bad arguments", function()
    local S = pg.fusion.stack(pg.matrix { { 1, 2 } }, pg.matrix(0, 2), pg.matrix { { 3, 4 }, { 5, 6 } })
    assert.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, S:totable())
    assert.has_error(function() pg.fusion.stack(pg.matrix { { 1 } }, pg.matrix { { 1, 2 } }) end)
    local z = pg.matrix(1, 1, 0)
    assert.has_error(function() pg.fusion.select({ z }, { z }, { { 0, 1 } }, { { 0 } }, { { 0 } }, 1) end)
    assert.has_error(function() pg.fusion.select({ z, z }, { z, z }, { { 0, 1 } }, { { 0 } }, { { 0 } }, 1, { beta = -1 }) end)
    assert.has_error(function() pg.fusion.select({ z, z }, { z, z }, { { 0, 1 } }, { { 0 } }, { { 0 } }, 1, { exclude = { 2 } }) end)
  end)
end)

describe("pg.optimizers.coflex", function()
  it("builds the software x hardware block kernel from a product space", function()
    local sw = pg.space { pg.choice("op", { "a", "b", "c" }), pg.ordinal("ch", { 8, 16 }) }
    local hw = pg.space { pg.int("pe", 1, 8), pg.fixed("f", 1), pg.real("bw", 1, 2) }
    local joint = sw * hw
    assert.same({ { "op", "ch" }, { "pe", "f", "bw" } }, joint.factors)
    local state
    local o = pg.optimizers.coflex { combine = "sum", kernel = "matern32" }
    o.init { space = joint, rng = pg.rng(1), state = {} }
    -- one-hot columns: op -> 1..3, ch -> 4, pe -> 5, f -> none, bw -> 6
    local ctx = { space = joint, rng = pg.rng(1), state = {} }
    o.init(ctx)
    state = ctx.state
    assert.same({ "sum", { kind = "matern32", dims = { 1, 2, 3, 4 } }, { kind = "matern32", dims = { 5, 6 } } }, state.spec)
    -- explicit blocks win over the factors; a single block is one ARD kernel
    local ctx2 = { space = joint, rng = pg.rng(1), state = {} }
    pg.optimizers.coflex { blocks = { { "op", "ch", "pe", "bw" } } }.init(ctx2)
    assert.same({ kind = "matern52", dims = { 1, 2, 3, 4, 5, 6 } }, ctx2.state.spec)
    assert.has_error(function() pg.optimizers.coflex { combine = "max" } end)
    assert.has_error(function() pg.optimizers.coflex { pool = -1 } end)
    assert.has_error(function() pg.optimizers.coflex { parents = "best" } end)
  end)

  it("is deterministic per seed, respects the batch size and never repeats a point", function()
    -- a 4 x 4 x 4 grid (64 points): 10 + 5 x 8 = 50 evaluations force the
    -- duplicate filter to work hard
    local bench = {
      name = "grid3", space = pg.space { pg.int("a", 0, 3), pg.int("b", 0, 3), pg.int("c", 0, 3) },
      objectives = { "f1", "f2" }, reference_point = { 20, 20 },
      evaluate = function(x) return { x.a + 0.1 * x.b, (3 - x.a) + 0.1 * x.c + 0.01 * x.b } end,
    }
    local function run(parents)
      local out = tmpdir()
      pg.experiment { benchmark = bench, optimizer = pg.optimizers.coflex(fast { parents = parents }), seed = 3,
                      n_init = 10, iterations = 5, batch = 8, out = out, quiet = true, plots = false }:go()
      local text = read(out .. "/coflex/seed3/evaluations.csv")
      os.execute("rm -rf '" .. out .. "'")
      return text
    end
    local t1, t2 = run(), run()
    assert.equal(t1, t2)
    -- crowding-weighted parents: seeded too
    local c1, c2 = run("crowding"), run("crowding")
    assert.equal(c1, c2)
    -- and they change the pool (on a continuous space, where the pool does
    -- not cover every point)
    local function zrun(parents)
      local out = tmpdir()
      pg.experiment { benchmark = "zdt1", benchmark_options = { n = 4 }, seed = 5, n_init = 10, iterations = 2, batch = 4,
                      optimizer = pg.optimizers.coflex(fast { parents = parents, pool = 0 }), out = out, quiet = true,
                      plots = false }:go()
      local text = read(out .. "/coflex/seed5/evaluations.csv")
      os.execute("rm -rf '" .. out .. "'")
      return text
    end
    assert.are_not.equal(zrun("uniform"), zrun("crowding"))
    local seen, per_iter = {}, {}
    for line in t1:gmatch("[^\n]+") do
      local it, a, b, c = line:match("^%d+,(%d+),(%d+),(%d+),(%d+),")
      if it then
        local key = a .. "," .. b .. "," .. c
        -- the runner's initial design (iteration 0) may repeat grid points;
        -- no proposal may repeat any earlier evaluation
        if it ~= "0" then assert.is_nil(seen[key], "duplicate proposal " .. key) end
        seen[key] = true
        per_iter[tonumber(it)] = (per_iter[tonumber(it)] or 0) + 1
      end
    end
    assert.equal(10, per_iter[0])
    for it = 1, 5 do assert.equal(8, per_iter[it]) end
  end)

  it("beats random search on DTLZ2 (6-D, 2 objectives) and ZDT1 over 5 seeds", function()
    local cases = {
      { "dtlz2", { m = 2, k = 5 } },
      { "zdt1", { n = 10 } },
    }
    for _, case in ipairs(cases) do
      local out = tmpdir()
      local res = pg.experiment {
        benchmark = case[1], benchmark_options = case[2],
        optimizers = { "coflex", "random" }, seeds = { 1, 2, 3, 4, 5 },
        n_init = 20, iterations = 10, batch = 5, out = out, quiet = true, plots = false,
      }:go()
      local hv, igd = { coflex = 0, random = 0 }, { coflex = 0, random = 0 }
      for _, r in ipairs(res.runs) do
        assert.equal(70, r.evaluations)
        hv[r.optimizer] = hv[r.optimizer] + r.hypervolume / 5
        igd[r.optimizer] = igd[r.optimizer] + r.igd / 5
      end
      print(("\n%s, 20 + 10 x 5 evaluations, mean over 5 seeds: coflex HV %.4f IGD %.4f | random HV %.4f IGD %.4f")
        :format(case[1], hv.coflex, igd.coflex, hv.random, igd.random))
      assert.is_true(hv.coflex > hv.random)
      assert.is_true(igd.coflex < igd.random)
      os.execute("rm -rf '" .. out .. "'")
    end
  end)
end)
