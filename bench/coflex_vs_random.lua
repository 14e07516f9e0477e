-- coflex_vs_random.lua: the full comparison behind issue 8's "done when":
-- Coflex against random search (and NSGA-II) on DTLZ2 (6 variables, 2
-- objectives), ZDT1 (30 variables) and the co-design benchmark (nb201_hw
-- when $PERIGEE_DATA/nb201_acc.csv.gz exists, else nats_sss_hw), 5 seeds,
-- equal evaluation budgets; prints mean final hypervolume and IGD (IGD to the
-- analytic front for DTLZ2/ZDT1, to the non-dominated union of all runs for
-- the co-design benchmark, objectives normalised by that front's range).
--   perigee bench/coflex_vs_random.lua [n_init=20] [iters=20] [bs=5] [seeds=5] [codesign=1]
-- Not part of ctest (it takes a few minutes); tests/lua/coflex_spec.lua runs
-- the small-budget version.
local pg = require "perigee"

local cfg = { n_init = 20, iters = 20, bs = 5, seeds = 5, codesign = 1 }
for _, a in ipairs(arg or {}) do
  local k, v = tostring(a):match("^([%w_]+)=(.*)$")
  if k then cfg[k] = tonumber(v) or v end
end
local seeds = {}
for s = 1, cfg.seeds do seeds[s] = s end

local function igd_union(runs, objs)
  -- reference front: non-dominated union of every successful evaluation
  local R = require "perigee.results"
  local all, per = {}, {}
  for i, s in ipairs(runs) do
    per[i] = {}
    for _, e in ipairs(R.read_records(s.dir .. "/evaluations.csv")) do
      if e.status == "ok" then
        local y = {}
        for j, o in ipairs(objs) do y[j] = tonumber(e[o.name]) end
        local z = pg.benchmark.to_internal(objs, y)
        all[#all + 1] = z
        per[i][#per[i] + 1] = z
      end
    end
  end
  -- a set: exact duplicates (the same objective vector found by several
  -- runs) are kept once, or they would weigh twice in the IGD mean
  local front, seen = {}, {}
  for _, k in ipairs(pg.pareto.filter(all)) do
    local kz = {}
    for j = 1, #all[k] do kz[j] = ("%a"):format(all[k][j]) end
    local key = table.concat(kz, ",")
    if not seen[key] then seen[key] = true; front[#front + 1] = all[k] end
  end
  local m = #objs
  local lo, span = {}, {}
  for j = 1, m do
    local a, b = math.huge, -math.huge
    for _, z in ipairs(front) do a = math.min(a, z[j]); b = math.max(b, z[j]) end
    lo[j], span[j] = a, b > a and b - a or 1
  end
  local function norm(set)
    local out = {}
    for i, z in ipairs(set) do
      local t = {}
      for j = 1, m do t[j] = (z[j] - lo[j]) / span[j] end
      out[i] = t
    end
    return out
  end
  local nf = norm(front)
  for i, s in ipairs(runs) do
    local p = norm(per[i])
    local nd = {}
    for k, idx in ipairs(pg.pareto.filter(p)) do nd[k] = p[idx] end
    s.igd = pg.igd(nd, nf)
  end
end

local cases = { { "dtlz2", { m = 2, k = 5 } }, { "zdt1", { n = 30 } } }
if cfg.codesign ~= 0 then
  local d = os.getenv("PERIGEE_DATA")
  local f = d and io.open(d .. "/nb201_acc.csv.gz")
  if f then f:close(); cases[#cases + 1] = { "nb201_hw", {}, true } else cases[#cases + 1] = { "nats_sss_hw", {}, true } end
end
local failed = false
for _, case in ipairs(cases) do
  local out = os.tmpname()
  os.remove(out)
  local t0 = pg.wtime()
  local res = pg.experiment {
    benchmark = case[1], benchmark_options = case[2], optimizers = { "coflex", "random", "nsga2" },
    seeds = seeds, n_init = cfg.n_init, iterations = cfg.iters, batch = cfg.bs, out = out,
    quiet = true, plots = false,
  }:go()
  if case[3] then igd_union(res.runs, pg.benchmark(case[1], case[2]).objectives) end
  local hv, igd, n = {}, {}, {}
  for _, r in ipairs(res.runs) do
    hv[r.optimizer] = (hv[r.optimizer] or 0) + r.hypervolume
    igd[r.optimizer] = (igd[r.optimizer] or 0) + r.igd
    n[r.optimizer] = (n[r.optimizer] or 0) + 1
  end
  print(("%s: %d seeds x (%d + %d x %d) evaluations, %.1f s%s"):format(case[1], #seeds, cfg.n_init, cfg.iters,
    cfg.bs, pg.wtime() - t0, case[3] and " (IGD to the non-dominated union of all runs, normalised)" or ""))
  for _, name in ipairs { "coflex", "random", "nsga2" } do
    print(("  %-7s mean final HV %.5g   mean final IGD %.5g"):format(name, hv[name] / n[name], igd[name] / n[name]))
  end
  local ok = hv.coflex > hv.random and igd.coflex < igd.random
  print("  coflex better than random on both: " .. tostring(ok))
  failed = failed or not ok
  os.execute("rm -rf '" .. out .. "'")
end
os.exit(failed and 1 or 0)
