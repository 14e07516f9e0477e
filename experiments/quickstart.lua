-- quickstart.lua: a short software-hardware co-design run (what `make run` runs).
--   perigee run experiments/quickstart.lua [--seed N] [--out DIR] [--quick] [--resume] [BENCHMARK]
-- Coflex (per-objective sparse GPs + Pareto-based fusion) against random
-- search and NSGA-II on nats_sss_hw: the NATS size space (C1..C5) x the six
-- Coflex accelerator parameters (PE array, registers, bandwidth), error
-- (an ESTIMATE from channel counts, see the benchmark's description) and
-- energy-delay product from perigee's depth-first dataflow model. Both
-- objectives are minimised; the hypervolume is measured in (error %,
-- ln EDP) with the benchmark's reference point, printed below. Two seeds,
-- 20 + 8 x 5 evaluations each: well under a minute. BENCHMARK may be any
-- benchmark name (e.g. dtlz2, zdt1, nb201_hw with $PERIGEE_DATA set).
-- The full comparison of the Coflex paper is experiments/coflex.lua.
local pg = require "perigee"

local bench = arg and arg[1] or "nats_sss_hw"
local b = pg.benchmark(bench)
print(b.description)
local ref = {}
for i, o in ipairs(b.objectives) do
  ref[i] = ("%s = %s (%s%s)"):format(o.name, tostring(b.reference_point and b.reference_point[i] or "derived"),
    o.direction == "min" and "minimised" or "maximised", o.log and ", log scale" or "")
end
print("hypervolume reference point: " .. table.concat(ref, ", "))

local results = pg.experiment {
  benchmark = b,
  optimizers = { "coflex", "random", "nsga2" },
  n_init = 20, iterations = 8, batch = 5,
  seeds = { 1, 2 },
  out = "results/quickstart" .. (bench == "nats_sss_hw" and "" or ("_" .. bench)),
}:go()

print(("results in %s (summary.csv, <optimizer>/seed<N>/{evaluations,metrics,pareto}.csv, summary.json)"):format(results.dir))
