-- quickstart.lua: a short software-hardware co-design run (what `make run` runs).
--   perigee run experiments/quickstart.lua [--seed N] [--out DIR] [--quick] [--resume]
--                                          [BENCHMARK] [estimator=proxy|linear]
-- Coflex (per-objective sparse GPs + Pareto-based fusion) against random
-- search and NSGA-II on nats_sss_hw: the NATS size space (C1..C5) x the six
-- Coflex accelerator parameters (PE array, registers, bandwidth), error
-- (an ESTIMATE: by default the training-free combined proxy score, NASWOT +
-- LogSynflow, of each network computed on demand and cached in
-- $PERIGEE_CACHE or ~/.cache/perigee, calibrated to error %; estimator=linear
-- uses the channel-count model instead; the benchmark's description, printed
-- below, says which) and energy-delay product from perigee's depth-first
-- dataflow model. Both objectives are minimised; the hypervolume is measured
-- in (error %, ln EDP) with the benchmark's reference point, printed below.
-- Two seeds, 20 + 8 x 5 evaluations each: about 240 networks to score from
-- an empty cache, well under a minute of CPU (docs/proxies.md). BENCHMARK
-- may be any benchmark name (e.g. dtlz2, zdt1, nb201_hw with $PERIGEE_DATA
-- set). The full comparison of the Coflex paper is experiments/coflex.lua.
local pg = require "perigee"

local bench, bopts = "nats_sss_hw", {}
for _, a in ipairs(arg or {}) do
  local est = tostring(a):match "^%-*estimator=(.*)$"
  if a == "--help" or a == "-h" then
    pg.experiment.usage()
  elseif est then
    bopts.estimator = est
  elseif tostring(a):sub(1, 1) == "-" then
    error("quickstart: unknown option " .. tostring(a) .. " (--help)", 0)
  else
    bench = a
  end
end
if bopts.estimator and bench ~= "nats_sss_hw" then error("quickstart: estimator= applies to nats_sss_hw only", 0) end
local b = pg.benchmark(bench, bopts)
print(b.description)
local ref = {}
for i, o in ipairs(b.objectives) do
  ref[i] = ("%s = %s (%s%s)"):format(o.name, tostring(b.reference_point and b.reference_point[i] or "derived"),
    o.direction == "min" and "minimised" or "maximised", o.log and ", log scale" or "")
end
print("hypervolume reference point: " .. table.concat(ref, ", "))

local results = pg.experiment {
  benchmark = b,
  benchmark_options = bopts,
  optimizers = { "coflex", "random", "nsga2" },
  n_init = 20, iterations = 8, batch = 5,
  seeds = { 1, 2 },
  out = "results/quickstart" .. (bench == "nats_sss_hw" and "" or ("_" .. bench)),
}:go()

if b.estimator == "proxy" and pg.proxy_cache then
  local st = pg.proxy_cache.stats(b.proxy_options, "nats_sss")
  print(("error estimator: proxy; %d networks scored (%.1f s CPU), %d cache hits, %d rows loaded from %s"):format(
    st.computed, st.cpu, st.hits, st.loaded, st.path))
end
print(("results in %s (summary.csv, <optimizer>/seed<N>/{evaluations,metrics,pareto}.csv, summary.json)"):format(results.dir))
