-- coflex.lua: the Coflex paper's comparison (Fig. 4), reproduced correctly.
--
--   perigee run experiments/coflex.lua [--quick] [--out DIR] [KEY=VALUE ...]
--   perigee experiments/coflex.lua [KEY=VALUE ...]
--
-- Grid: optimizers x seeds with the paper's N_INIT = 100, ITERS = 30,
-- BS = 10 (Coflex, random search, NSGA-II; 5 seeds), on nb201_hw when
-- $PERIGEE_DATA/nb201_acc.csv.gz is present, else on nats_sss_hw (whose
-- error is an estimate, see its description). Keys (defaults):
--   benchmark=auto  n_init=100  iters=30  bs=10  seeds=5  dataset=cifar10
--   reference=3000  (evaluations of the long NSGA-II reference search; 0 = none)
--   out=results/coflex  optimizers=coflex,random,nsga2,qnparego,qehvi,qnehvi,pabo  target_margin=0.1
-- --quick (or quick=1): n_init 20, iters 5, bs 5, 2 seeds, reference 500.
--
-- Writes the per-run files of every run (out/<optimizer>/seed<N>/...), the
-- runner's plots (out/plots/: fronts, hv, best, hv_time) and the comparison
-- of Fig. 4 in out/comparison/:
--   reference_front.csv   the reference front: non-dominated union of every
--                         evaluation of every run plus the long NSGA-II
--                         reference search (out/reference/...)
--   fronts.csv            each method's front (union over seeds)          (4a)
--   igd.csv               IGD to the reference front vs iteration, objectives
--                         min-max normalised by the reference front       (4b)
--   hv.csv                hypervolume vs iteration (fixed reference point) (4c)
--   best.csv              best error and best EDP vs iteration           (4d-e)
--   target.csv            evaluations until a point in the target region  (4f)
--   time.csv              wall time per method (sum of its runs), and its
--                         split into model fitting, candidate generation,
--                         prediction, selection, other proposal work,
--                         evaluation and the runner, with the shares of
--                         fitting, prediction and evaluation; read from each
--                         run's phases.csv, so right when the runs are spread
--                         over processes (perigee run --jobs, default: cores)
--   summary.md            the tables of docs/coflex.md
-- and gnuplot PNG/SVG figures (igd, hv, best_error, best_edp, target, time).
-- All objectives are minimised; EDP is modelled and measured as ln(EDP).
local pg = require "perigee"
local R = require "perigee.results"
local E = require "perigee.experiment"

-- ---- options ----
local cfg = { benchmark = "auto", n_init = 100, iters = 30, bs = 10, seeds = 5, dataset = "cifar10",
              reference = 3000, out = "results/coflex",
              optimizers = "coflex,random,nsga2,qnparego,qehvi,qnehvi,pabo",
              target_margin = 0.1 }
local quick = E.overrides.quick
for _, a in ipairs(arg or {}) do
  local k, v = tostring(a):match("^%-*([%w_]+)=(.*)$")
  if k then
    if cfg[k] == nil and k ~= "quick" then error("coflex.lua: unknown option " .. k) end
    if k == "quick" then quick = v ~= "0" else cfg[k] = tonumber(v) or v end
  elseif a == "--quick" then
    quick = true
  elseif a == "--help" or a == "-h" then
    E.usage()
  else
    error("coflex.lua: unknown argument " .. tostring(a) .. " (options are KEY=VALUE and --quick; --help)", 0)
  end
end
if quick then
  cfg.n_init, cfg.iters, cfg.bs, cfg.seeds, cfg.reference = 20, 5, 5, 2, 500
  E.overrides.quick = nil -- our own quick settings, not the runner's
end
if E.overrides.out then cfg.out = E.overrides.out end
if cfg.benchmark == "auto" then
  local d = os.getenv("PERIGEE_DATA")
  local f = d and io.open(d .. "/nb201_acc.csv.gz")
  if f then f:close() end
  cfg.benchmark = f and "nb201_hw" or "nats_sss_hw"
  if not f then
    print("nb201_acc.csv.gz not found under $PERIGEE_DATA: running on nats_sss_hw (error is an ESTIMATE, see its description)")
  end
end
local bopts = cfg.benchmark == "nb201_hw" and { dataset = cfg.dataset } or {}
local bench = pg.benchmark(cfg.benchmark, bopts)
local seeds = {}
for s = 1, cfg.seeds do seeds[s] = s end
local out = cfg.out

local opts = {}
for name in tostring(cfg.optimizers):gmatch("[^,]+") do opts[#opts + 1] = pg.optimizers.get(name) end

print(("Coflex comparison on %s: %s; %d optimizers x %d seeds x (%d + %d x %d) evaluations"):format(
  bench.name, bench.description, #opts, #seeds, cfg.n_init, cfg.iters, cfg.bs))
print(("objectives (all minimised): %s; hypervolume reference point (user units): %s"):format(
  "error [%], EDP [uJ*s] (log space)", table.concat(bench.reference_point, ", ")))

-- ---- the grid ----
local jobs_used = E.launch and math.min(E.overrides.jobs or pg.threads(), #opts * #seeds) or 1
local t_grid = pg.wtime()
local res = pg.experiment {
  benchmark = bench, optimizers = opts, seeds = seeds,
  n_init = cfg.n_init, iterations = cfg.iters, batch = cfg.bs, out = out,
}:go()
t_grid = pg.wtime() - t_grid

-- ---- the long NSGA-II reference search ----
local ref_runs = {}
local t_ref = 0
if cfg.reference > 0 then
  local pop = 100
  local gens = math.max(1, (cfg.reference - pop) // pop)
  t_ref = pg.wtime()
  local rr = pg.experiment {
    benchmark = bench, optimizer = pg.optimizers.nsga2 { name = "nsga2_reference", pop = pop },
    seeds = { 1000 }, n_init = pop, iterations = gens, batch = pop, out = out .. "/reference",
    quiet = true, plots = false,
  }:go()
  t_ref = pg.wtime() - t_ref
  ref_runs = rr.runs
  print(("reference search: NSGA-II, population %d, %d generations (%d evaluations), %.1f s"):format(
    pop, gens, pop * (gens + 1), t_ref))
end

-- ---- read every run back ----
local objs = bench.objectives
local function internal(y) return pg.benchmark.to_internal(objs, y) end
local runs = {}
for _, s in ipairs(res.runs) do
  local evals = R.read_records(s.dir .. "/evaluations.csv")
  local rows = {}
  for _, e in ipairs(evals) do
    if e.status == "ok" then
      local y = {}
      for j, o in ipairs(objs) do y[j] = tonumber(e[o.name]) end
      rows[#rows + 1] = { eval = tonumber(e.eval), iteration = tonumber(e.iteration), y = y, z = internal(y) }
    end
  end
  local tim = R.read_records(s.dir .. "/timings.csv") or {}
  local teval = 0
  for _, t in ipairs(tim) do teval = teval + (tonumber(t.seconds) or 0) end
  local wt = R.read_records(s.dir .. "/walltime.csv") or {}
  -- where the run's time went (the runner's phases.csv; written by whichever
  -- process ran it, so right under parallel runs too)
  local ph = {}
  for _, r in ipairs(R.read_records(s.dir .. "/phases.csv") or {}) do ph[r.phase] = tonumber(r.seconds) end
  runs[#runs + 1] = { optimizer = s.optimizer, seed = s.seed, dir = s.dir, rows = rows,
                      metrics = R.read_records(s.dir .. "/metrics.csv"), teval = ph.evaluate or teval,
                      total = ph.total or (wt[#wt] and tonumber(wt[#wt].elapsed_seconds)) or 0, phases = ph }
end
local allz = {}
for _, r in ipairs(runs) do for _, row in ipairs(r.rows) do allz[#allz + 1] = row.z end end
for _, s in ipairs(ref_runs) do
  for _, e in ipairs(R.read_records(s.dir .. "/evaluations.csv")) do
    if e.status == "ok" then
      local y = {}
      for j, o in ipairs(objs) do y[j] = tonumber(e[o.name]) end
      allz[#allz + 1] = internal(y)
    end
  end
end
local fidx = pg.pareto.filter(allz)
-- the reference front is a SET of points: the non-dominated filter keeps
-- exact duplicates (several runs finding the same objective vector, e.g. a
-- degenerate cell at 90 % error on the same best hardware), and a duplicate
-- would weigh its point twice in the IGD mean
local reffront, seenz = {}, {}
for _, k in ipairs(fidx) do
  local z = allz[k]
  local kz = {}
  for j = 1, #z do kz[j] = ("%a"):format(z[j]) end
  local key = table.concat(kz, ",")
  if not seenz[key] then seenz[key] = true; reffront[#reffront + 1] = z end
end
table.sort(reffront, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
local m = #objs
local lo, span = {}, {}
for j = 1, m do
  local a, b = math.huge, -math.huge
  for _, z in ipairs(reffront) do a = math.min(a, z[j]); b = math.max(b, z[j]) end
  lo[j], span[j] = a, (b > a) and (b - a) or 1
end
local function norm(z)
  local t = {}
  for j = 1, m do t[j] = (z[j] - lo[j]) / span[j] end
  return t
end
local refn = {}
for i, z in ipairs(reffront) do refn[i] = norm(z) end

-- target region: the reference-front point nearest the ideal point after
-- normalisation ("top-1" in Coflex's plotting scripts), loosened by
-- target_margin of the front's range on every objective
local best_i, best_d = 1, math.huge
for i, z in ipairs(refn) do
  local d = 0
  for j = 1, m do d = d + z[j] * z[j] end
  if d < best_d then best_i, best_d = i, d end
end
local target = {}
for j = 1, m do target[j] = reffront[best_i][j] + cfg.target_margin * span[j] end
local target_user = pg.benchmark.from_internal(objs, target)

-- ---- per-iteration curves ----
local order, groups = {}, {}
for _, r in ipairs(runs) do
  if not groups[r.optimizer] then groups[r.optimizer] = {}; order[#order + 1] = r.optimizer end
  table.insert(groups[r.optimizer], r)
end
for _, r in ipairs(runs) do
  r.igd = {}
  for it = 0, cfg.iters do
    local pts = {}
    for _, row in ipairs(r.rows) do if row.iteration <= it then pts[#pts + 1] = norm(row.z) end end
    local nd = {}
    for i, k in ipairs(pg.pareto.filter(pts)) do nd[i] = pts[k] end
    r.igd[it] = pg.igd(nd, refn)
    if it == cfg.iters then r.igdp = pg.igd_plus(nd, refn) end
  end
  r.to_target = nil
  for _, row in ipairs(r.rows) do
    local inside = true
    for j = 1, m do if row.z[j] > target[j] then inside = false end end
    if inside then r.to_target = row.eval; break end
  end
end

local function stats(xs)
  local n, s, a, b = 0, 0, math.huge, -math.huge
  for _, x in ipairs(xs) do
    if x == x then n = n + 1; s = s + x; a = math.min(a, x); b = math.max(b, x) end
  end
  if n == 0 then return 0 / 0, 0 / 0, 0 / 0 end
  return s / n, a, b
end

local cdir = out .. "/comparison"
R.mkdir(cdir)
local function write(name, lines) R.write_atomic(cdir .. "/" .. name, table.concat(lines)) end

-- reference_front.csv and fronts.csv (user units)
do
  local l = { R.line { objs[1].name, objs[2].name } }
  for _, z in ipairs(reffront) do l[#l + 1] = R.line(pg.benchmark.from_internal(objs, z)) end
  write("reference_front.csv", l)
  local f = { R.line { "optimizer", objs[1].name, objs[2].name } }
  for _, name in ipairs(order) do
    local zs = {}
    for _, r in ipairs(groups[name]) do for _, row in ipairs(r.rows) do zs[#zs + 1] = row.z end end
    local idx = pg.pareto.filter(zs)
    table.sort(idx, function(a, b) return zs[a][1] < zs[b][1] end)
    for _, k in ipairs(idx) do
      local y = pg.benchmark.from_internal(objs, zs[k])
      f[#f + 1] = R.line { name, y[1], y[2] }
    end
  end
  write("fronts.csv", f)
end

-- igd.csv, hv.csv, best.csv: mean, min, max over seeds per iteration
local curves = {
  { file = "igd.csv", get = function(r, it) return r.igd[it] end },
  { file = "hv.csv", get = function(r, it) return tonumber(r.metrics[it + 1].hypervolume) end },
  { file = "best_error.csv", get = function(r, it) return tonumber(r.metrics[it + 1]["best_" .. objs[1].name]) end },
  { file = "best_edp.csv", get = function(r, it) return tonumber(r.metrics[it + 1]["best_" .. objs[2].name]) end },
}
local final = {}
for _, cv in ipairs(curves) do
  local h = { "iteration", "evaluations" }
  for _, name in ipairs(order) do
    h[#h + 1] = name .. "_mean"; h[#h + 1] = name .. "_min"; h[#h + 1] = name .. "_max"
  end
  local lines = { R.line(h) }
  for it = 0, cfg.iters do
    local row = { it, cfg.n_init + it * cfg.bs }
    for _, name in ipairs(order) do
      local xs = {}
      for i, r in ipairs(groups[name]) do xs[i] = cv.get(r, it) end
      local mu, a, b = stats(xs)
      row[#row + 1], row[#row + 2], row[#row + 3] = mu, a, b
      if it == cfg.iters then final[cv.file] = final[cv.file] or {}; final[cv.file][name] = { mu, a, b } end
    end
    lines[#lines + 1] = R.line(row)
  end
  write(cv.file, lines)
end

-- target.csv
local tgt = {}
do
  local l = { R.line { "optimizer", "seed", "evaluations_to_target", "iteration_to_target" } }
  for _, name in ipairs(order) do
    local xs, reached = {}, 0
    for _, r in ipairs(groups[name]) do
      local e = r.to_target
      local it = e and (e <= cfg.n_init and 0 or ((e - cfg.n_init - 1) // cfg.bs + 1)) or nil
      l[#l + 1] = R.line { name, r.seed, e or "", it or "" }
      if e then reached = reached + 1; xs[#xs + 1] = e end
    end
    local mu = stats(xs)
    -- censored mean: a seed that never reaches the region counts as the whole budget
    local cs = 0
    for _, r in ipairs(groups[name]) do cs = cs + (r.to_target or (cfg.n_init + cfg.iters * cfg.bs)) end
    tgt[name] = { mean = mu, reached = reached, n = #groups[name], censored = cs / #groups[name] }
  end
  write("target.csv", l)
end

-- time.csv
local tim = {}
do
  local l = { R.line { "optimizer", "runs", "total_s", "per_run_s", "fit_s", "pool_s", "predict_s", "select_s",
                       "propose_other_s", "evaluate_s", "other_s", "fit_share", "predict_share", "evaluate_share" } }
  for _, name in ipairs(order) do
    local T = { total = 0, fit = 0, pool = 0, pred = 0, select = 0, prop = 0, eval = 0 }
    for _, r in ipairs(groups[name]) do
      local ph = r.phases
      T.total = T.total + r.total
      T.eval = T.eval + r.teval
      T.prop = T.prop + (ph.propose or 0) + (ph.init or 0) + (ph.observe or 0)
      T.fit = T.fit + (ph["propose.fit"] or 0)
      T.pool = T.pool + (ph["propose.pool"] or 0)
      T.pred = T.pred + (ph["propose.predict"] or 0)
      T.select = T.select + (ph["propose.select"] or 0)
    end
    T.cand = T.pool + T.pred
    T.pother = T.prop - T.fit - T.cand - T.select
    T.other = T.total - T.prop - T.eval
    tim[name] = T
    local function share(x) return T.total > 0 and x / T.total or 0 end
    l[#l + 1] = R.line { name, #groups[name], T.total, T.total / #groups[name], T.fit, T.pool, T.pred, T.select,
                         T.pother, T.eval, T.other, share(T.fit), share(T.pred), share(T.eval) }
  end
  write("time.csv", l)
end

-- ---- figures (gnuplot; data files next to the scripts) ----
local function render(name, title, body, setup)
  local s = table.concat({
    "set datafile separator ','", "set key outside right top box", "set grid",
    ("set title '%s' noenhanced"):format(title), setup or "",
    "set terminal pngcairo size 1000,600 font 'DejaVu Sans,11' noenhanced",
    ("set output '%s.png'"):format(name), body,
    "set terminal svg size 1000,600 dynamic font 'DejaVu Sans,11' noenhanced",
    ("set output '%s.svg'"):format(name), "replot", "unset output", "" }, "\n")
  R.write_atomic(cdir .. "/" .. name .. ".gp", s)
end
local function curve_plot(name, file, title, ylabel, logy)
  local parts = {}
  for k, opt in ipairs(order) do
    local c = 3 + 3 * (k - 1)
    parts[#parts + 1] = ("'%s' skip 1 using 2:%d:%d with filledcurves lc %d fs transparent solid 0.15 notitle"):format(file, c + 1, c + 2, k)
    parts[#parts + 1] = ("'%s' skip 1 using 2:%d with linespoints lc %d lw 2 pt %d title '%s'"):format(file, c, k, 4 + k, opt)
  end
  render(name, title, "plot " .. table.concat(parts, ", \\\n  "),
    ("set xlabel 'evaluations'\nset ylabel '%s'%s"):format(ylabel, logy and "\nset logscale y" or ""))
end
curve_plot("igd", "igd.csv", bench.name .. ": IGD to the reference front (normalised objectives), mean and min-max over seeds", "IGD", true)
curve_plot("hv", "hv.csv", bench.name .. ": hypervolume (error, ln EDP; fixed reference point)", "hypervolume")
curve_plot("best_error", "best_error.csv", bench.name .. ": best error", "error [%]")
curve_plot("best_edp", "best_edp.csv", bench.name .. ": best EDP", "EDP [uJ*s]", true)
do
  local parts = {}
  for k, opt in ipairs(order) do
    parts[#parts + 1] = ("'fronts.csv' skip 1 using ((strcol(1) eq '%s') ? $2 : 1/0):3 with linespoints lc %d pt %d title '%s'"):format(opt, k, 4 + k, opt)
  end
  parts[#parts + 1] = "'reference_front.csv' skip 1 using 1:2 with points pt 7 ps 0.4 lc rgb '#888888' title 'reference front'"
  render("fronts", bench.name .. ": fronts of all methods (union over seeds)", "plot " .. table.concat(parts, ", \\\n  "),
    "set xlabel 'error [%]'\nset ylabel 'EDP [uJ*s]'\nset logscale y")
  local tl = { R.line { "optimizer", "mean_evaluations_to_target", "fit", "candidates", "select", "evaluate", "other" } }
  for _, name in ipairs(order) do
    local T = tim[name]
    tl[#tl + 1] = R.line { name, tgt[name].censored, T.fit, T.cand, T.select + T.pother, T.eval, T.other }
    -- (bars.csv columns: fit, candidates = generation + prediction, selection + other proposal work, evaluate, runner)
  end
  write("bars.csv", tl)
  render("target", bench.name .. ": evaluations until a point in the target region (mean over seeds; not reached = whole budget)",
    "plot 'bars.csv' skip 1 using 2:xtic(1) with boxes fs solid 0.5 notitle",
    "set style fill solid\nset boxwidth 0.5\nset ylabel 'evaluations'\nset yrange [0:*]")
  render("time", bench.name .. ": wall time per method (all seeds) and its split",
    "plot 'bars.csv' skip 1 using 3:xtic(1) title 'model fitting', '' skip 1 using 4 title 'candidates + prediction', "
      .. "'' skip 1 using 5 title 'selection', '' skip 1 using 6 title 'evaluation', '' skip 1 using 7 title 'other (journal, metrics)'",
    "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.7\nset boxwidth 0.6\nset ylabel 'seconds'")
end
local rendered = false
if os.getenv("PERIGEE_GNUPLOT") ~= "none" and os.execute("command -v gnuplot >/dev/null 2>&1") == true then
  rendered = os.execute("cd " .. R.shell_quote(cdir) .. " && for f in *.gp; do gnuplot \"$f\" || exit 1; done") == true
end

-- ---- summary.md ----
local md = {}
local function p(s) md[#md + 1] = s .. "\n" end
p(("## %s: %s x %d seeds x (%d + %d x %d) evaluations"):format(bench.name, table.concat(order, ", "), #seeds,
  cfg.n_init, cfg.iters, cfg.bs))
p("")
p(bench.description)
p("")
p(("Objectives minimised: error [%%] and EDP [uJ*s] (ln EDP internally). Hypervolume reference point: (%s) in "
  .. "user units, i.e. (%s) in (error, ln EDP). IGD: to the reference front (%d points: non-dominated union of all "
  .. "%d runs%s; exact duplicates kept once), objectives min-max normalised by the reference front's range; IGD+ (Ishibuchi "
  .. "et al. 2015) to the same front, same units. Target region: error <= %.4g %% and "
  .. "EDP <= %.4g uJ*s (the reference-front point nearest the ideal point after normalisation, loosened by %.0f %% "
  .. "of the front's range)."):format(
  table.concat(bench.reference_point, ", "), table.concat(internal(bench.reference_point), ", "), #reffront, #runs,
  cfg.reference > 0 and (" and a long NSGA-II reference search of " .. (ref_runs[1] and ref_runs[1].evaluations or 0) .. " evaluations") or "",
  target_user[1], target_user[2], 100 * cfg.target_margin))
p("")
p("| method | final HV (mean, min-max) | final IGD (mean, min-max) | final IGD+ (mean) | best error % | best EDP uJ*s | evals to target: mean of reached (reached), censored mean |")
p("|---|---|---|---|---|---|---|")
for _, name in ipairs(order) do
  local hv, igd = final["hv.csv"][name], final["igd.csv"][name]
  local be, bd = final["best_error.csv"][name], final["best_edp.csv"][name]
  local t = tgt[name]
  local ip = {}
  for i, r in ipairs(groups[name]) do ip[i] = r.igdp end
  p(("| %s | %.4f (%.4f-%.4f) | %.4f (%.4f-%.4f) | %.4f | %.3f | %.4g | %s (%d/%d), %.0f |"):format(name, hv[1], hv[2], hv[3],
    igd[1], igd[2], igd[3], (stats(ip)), be[1], bd[1], t.mean == t.mean and ("%.0f"):format(t.mean) or "-", t.reached, t.n, t.censored))
end
p("")
p("| method | wall time, all seeds (s) | per run (s) | model fitting | candidate generation | prediction | selection | other proposal work | evaluation | runner |")
p("|---|---|---|---|---|---|---|---|---|---|")
for _, name in ipairs(order) do
  local T = tim[name]
  local function sh(x) return ("%.1f s (%.0f %%)"):format(x, T.total > 0 and 100 * x / T.total or 0) end
  p(("| %s | %.1f | %.2f | %s | %s | %s | %s | %s | %s | %s |"):format(name, T.total, T.total / #groups[name], sh(T.fit),
    sh(T.pool), sh(T.pred), sh(T.select), sh(T.pother), sh(T.eval), sh(T.other)))
end
p("")
p("Per run, from its phases.csv (written by whichever process ran it): model fitting, candidate generation, prediction "
  .. "and selection are the optimizer's own split of its proposals (Coflex reports them; for the BO baselines the "
  .. "whole proposal, model fits and acquisition search, is 'other proposal work'); evaluation is the benchmark's "
  .. "evaluate; runner is the rest (journal appends with fdatasync, metrics, files).")
p("")
p(("Grid wall time: %.1f s (the runner, all methods and seeds, plots included; %s); reference search: %.1f s."):format(
  t_grid, jobs_used > 1 and (jobs_used .. " processes, so the per-method times above, which are per-run wall times, "
  .. "add up to more") or "one process", t_ref))
R.write_atomic(cdir .. "/summary.md", table.concat(md))
io.write("\n", table.concat(md))
print(("comparison in %s/ (CSV%s)"):format(cdir, rendered and ", PNG and SVG figures" or "; render with: cd " .. cdir .. " && gnuplot *.gp"))
