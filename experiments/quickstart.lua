-- quickstart.lua: compare the available optimizers on DTLZ2 (3 objectives).
--   perigee run experiments/quickstart.lua [--seed N] [--out DIR] [--quick] [--resume] [BENCHMARK]
-- BENCHMARK (default dtlz2) may be any benchmark name, e.g. accel_dse (the
-- Coflex accelerator template on the dataflow cost model).
-- (`make run` runs it.) Three seeds of random search (uniform and Sobol) and a
-- ten-line acquisition rule written here, over a candidate pool sampled in C:
-- prefer candidates whose nearest evaluated neighbour is good on a random
-- Chebyshev scalarisation (ParEGO-like weights), plus an exploration bonus
-- for distance. It finishes in well under a minute and prints a summary
-- table and the paths of the plots.
local pg = require "perigee"

-- the acquisition rule: higher score = proposed first
local function nn_chebyshev(ctx, U, pool)
  local _, Ue, Y = ctx.data()                    -- unit-cube inputs and objectives so far
  local n, d = Ue:shape()
  local w = {}
  for j = 1, ctx.m do w[j] = ctx.rng:uniform(0.05, 1) end
  local scal = {}                                -- Chebyshev value of each evaluated point
  for i = 1, n do
    local s = -math.huge
    for j = 1, ctx.m do s = math.max(s, w[j] * Y:get(i, j)) end
    scal[i] = s
  end
  local scores = {}
  for c = 1, #pool do
    local best, near = math.huge, nil
    for i = 1, n do
      local d2 = 0
      for k = 1, d do local t = U:get(c, k) - Ue:get(i, k); d2 = d2 + t * t end
      if d2 < best then best, near = d2, i end
    end
    scores[c] = -scal[near] + 0.5 * math.sqrt(best) -- exploit the neighbour, explore the distance
  end
  return scores
end

local bench = arg and arg[1] or "dtlz2"
local results = pg.experiment {
  benchmark = bench,
  optimizers = {
    "random",
    pg.optimizers.random { method = "sobol" },
    pg.optimizers.pool { name = "nn_chebyshev", score = nn_chebyshev, pool = 500 },
  },
  n_init = 20, iterations = 10, batch = 5,
  seeds = { 1, 2, 3 },
  out = "results/quickstart" .. (bench == "dtlz2" and "" or ("_" .. bench)),
}:go()

print(("results in %s (summary.csv, <optimizer>/seed<N>/{evaluations,metrics,pareto}.csv, summary.json)"):format(results.dir))
