-- experiment_spec.lua: the runner end to end. Metrics are recomputed here
-- independently (2-D sweep and 3-D coordinate-compression hypervolume, brute
-- force IGD/IGD+) from evaluations.csv; a custom benchmark file is run
-- through $PERIGEE_PATH with `perigee run`; a run killed with SIGKILL and
-- resumed ends byte-identical to an uninterrupted one; failing evaluations
-- are recorded and the run completes.
local pg = require "perigee"
local R = require "perigee.results"
local exe = os.getenv("PERIGEE_EXE")

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end

local function sh(cmd)
  local f = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = f:read("a")
  f:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return out:gsub("rc=%d+%s*$", ""), rc
end

local function write(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

-- ---- independent indicators ----

local function dominates(a, b)
  local strict = false
  for j = 1, #a do
    if a[j] > b[j] then return false end
    if a[j] < b[j] then strict = true end
  end
  return strict
end

local function nondominated(Y)
  local out = {}
  for i, a in ipairs(Y) do
    local dom = false
    for k, b in ipairs(Y) do
      if k ~= i and (dominates(b, a) or (k < i and table.concat(a, ",") == table.concat(b, ","))) then dom = true break end
    end
    if not dom then out[#out + 1] = a end
  end
  return out
end

-- exact HV by coordinate compression: sum of the grid cells covered by a box
local function hv_grid(Y, ref)
  local m = #ref
  local P = {}
  for _, y in ipairs(Y) do
    local ok = true
    for j = 1, m do if not (y[j] < ref[j]) then ok = false end end
    if ok then P[#P + 1] = y end
  end
  if #P == 0 then return 0 end
  local cs = {}
  for j = 1, m do
    local s, seen = { ref[j] }, {}
    for _, y in ipairs(P) do if not seen[y[j]] then seen[y[j]] = true; s[#s + 1] = y[j] end end
    table.sort(s)
    cs[j] = s
  end
  local total = 0
  local idx = {}
  local function rec(j)
    if j > m then
      for _, y in ipairs(P) do
        local inside = true
        for k = 1, m do if y[k] > cs[k][idx[k]] then inside = false break end end
        if inside then
          local v = 1
          for k = 1, m do v = v * (cs[k][idx[k] + 1] - cs[k][idx[k]]) end
          total = total + v
          return
        end
      end
      return
    end
    for i = 1, #cs[j] - 1 do
      idx[j] = i
      rec(j + 1)
    end
  end
  rec(1)
  return total
end

local function igd(A, F, plus)
  local s = 0
  for _, f in ipairs(F) do
    local best = math.huge
    for _, a in ipairs(A) do
      local d = 0
      for j = 1, #f do
        local t = a[j] - f[j]
        if plus then t = math.max(t, 0) end
        d = d + t * t
      end
      best = math.min(best, d)
    end
    s = s + math.sqrt(best)
  end
  return s / #F
end

local function close(a, b, tol)
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

local function check_metrics(dir, m, ref, front)
  local evals = R.read_records(dir .. "/evaluations.csv")
  local metrics = R.read_records(dir .. "/metrics.csv")
  local Y = {}
  local k = 1
  for _, row in ipairs(metrics) do
    local it = tonumber(row.iteration)
    while evals[k] and tonumber(evals[k].iteration) <= it do
      if evals[k].status == "ok" then
        local y = {}
        for j = 1, m do y[j] = tonumber(evals[k]["f" .. j]) end
        Y[#Y + 1] = y
      end
      k = k + 1
    end
    assert.are.equal(k - 1, tonumber(row.evaluations))
    local nd = nondominated(Y)
    assert.is_true(close(tonumber(row.hypervolume), hv_grid(Y, ref), 1e-9), "hv at iteration " .. it)
    assert.are.equal(#nd, tonumber(row.pareto_size))
    if front then
      assert.is_true(close(tonumber(row.igd), igd(nd, front, false), 1e-9), "igd at iteration " .. it)
      assert.is_true(close(tonumber(row.igd_plus), igd(nd, front, true), 1e-9), "igd+ at iteration " .. it)
    end
    for j = 1, m do
      local best = math.huge
      for _, y in ipairs(Y) do best = math.min(best, y[j]) end
      assert.are.equal(best, tonumber(row["best_f" .. j]))
    end
  end
  return evals, metrics
end

describe("experiment metrics", function()
  it("match an independent computation for random search on ZDT1 (HV, IGD, IGD+, best)", function()
    local out = tmpdir()
    local res = pg.experiment { benchmark = "zdt1", benchmark_options = { n = 6 }, optimizer = "random",
      n_init = 12, iterations = 6, batch = 3, seed = 4, out = out, quiet = true, plots = false }:go()
    local dir = res.runs[1].dir
    local front = {}
    for i = 0, 1000 do front[#front + 1] = { i / 1000, 1 - math.sqrt(i / 1000) } end
    local evals = check_metrics(dir, 2, { 11, 11 }, front)
    assert.are.equal(12 + 6 * 3, #evals)
    -- the journal holds the benchmark's values for the recorded inputs
    for _, e in ipairs(evals) do
      local s = 0
      for i = 2, 6 do s = s + tonumber(e["x" .. i]) end
      local g = 1 + 9 * s / 5
      local x1 = tonumber(e.x1)
      assert.are.equal(x1, tonumber(e.f1))
      assert.is_true(close(tonumber(e.f2), g * (1 - math.sqrt(x1 / g)), 1e-15))
    end
    -- same seed, same file; another seed, other points
    local out2 = tmpdir()
    pg.experiment { benchmark = "zdt1", benchmark_options = { n = 6 }, optimizer = "random",
      n_init = 12, iterations = 6, batch = 3, seed = 4, out = out2, quiet = true, plots = false }:go()
    assert.are.equal(R.read(dir .. "/evaluations.csv"), R.read(out2 .. "/random/seed4/evaluations.csv"))
    assert.are.equal(R.read(dir .. "/metrics.csv"), R.read(out2 .. "/random/seed4/metrics.csv"))
    os.execute("rm -rf " .. out .. " " .. out2)
  end)

  it("match an independent computation on DTLZ2 and DTLZ7 (three objectives), over a seed grid", function()
    local out = tmpdir()
    for _, name in ipairs { "dtlz2", "dtlz7" } do
      local b = pg.benchmark(name)
      local res = pg.experiment { benchmark = name, optimizers = { "random", pg.optimizers.random { method = "sobol" } },
        n_init = 10, iterations = 3, batch = 4, seeds = { 1, 2 }, out = out .. "/" .. name, quiet = true, plots = false }:go()
      assert.are.equal(4, #res.runs)
      local front = b.front()
      -- a thinned front keeps the brute-force IGD cheap; compare with a run on the same front
      for _, run in ipairs(res.runs) do
        check_metrics(run.dir, 3, b.reference_point, nil)
        local evals = R.read_records(run.dir .. "/evaluations.csv")
        local Y = {}
        for _, e in ipairs(evals) do Y[#Y + 1] = { tonumber(e.f1), tonumber(e.f2), tonumber(e.f3) } end
        local nd = nondominated(Y)
        assert.is_true(close(run.igd, igd(nd, front, false), 1e-9))
        assert.is_true(close(run.igd_plus, igd(nd, front, true), 1e-9))
      end
      local summary = R.read_records(out .. "/" .. name .. "/summary.csv")
      assert.are.equal(4, #summary)
      assert.are.same({ "random", "random", "random_sobol", "random_sobol" },
        { summary[1].optimizer, summary[2].optimizer, summary[3].optimizer, summary[4].optimizer })
    end
    os.execute("rm -rf " .. out)
  end)
end)

describe("failing evaluations", function()
  it("are recorded with their message and the run completes", function()
    local out = tmpdir()
    local bench = {
      name = "flaky",
      space = pg.space { pg.real("x", 0, 1), pg.choice("mode", { "a", "b" }) },
      objectives = { "f1", { name = "f2", direction = "max" } },
      constraints = { "lat <= 0.9" },
      reference_point = { 2, -1 },
      evaluate = function(x)
        if x.x < 0.15 then error("simulated crash at x=" .. x.x) end
        if x.x < 0.3 then return { 0 / 0, 1 } end
        if x.x < 0.45 then return { x.x } end
        if x.x < 0.5 then return "oops" end
        return { f1 = x.x, f2 = 1 - x.x, lat = x.mode == "a" and 0.5 or x.x + 0.3 }
      end,
    }
    local res = pg.experiment { benchmark = bench, optimizer = "random", n_init = 30, iterations = 5, batch = 6,
      seed = 3, out = out, quiet = true, plots = false }:go()
    local s = res.runs[1]
    assert.are.equal(60, s.evaluations)
    local evals = R.read_records(s.dir .. "/evaluations.csv")
    local count = {}
    for _, e in ipairs(evals) do
      local x = tonumber(e.x)
      count[e.status] = (count[e.status] or 0) + 1
      if x < 0.15 then
        assert.are.equal("error", e.status)
        assert.truthy(e.message:find("simulated crash at x=", 1, true))
        assert.are.equal("", e.f1)
      elseif x < 0.3 then
        assert.are.equal("nan", e.status)
        assert.truthy(e.message:find("f1", 1, true))
      elseif x < 0.45 then
        assert.are.equal("wrong_count", e.status)
        assert.truthy(e.message:find("returned 1 objectives, expected 2", 1, true))
      elseif x < 0.5 then
        assert.are.equal("wrong_count", e.status)
      elseif e.mode == "b" and x + 0.3 > 0.9 then
        assert.are.equal("infeasible", e.status)
        assert.truthy(e.message:find("lat <= 0.9", 1, true))
        assert.are.equal(x + 0.3, tonumber(e.lat))
      else
        assert.are.equal("ok", e.status)
        assert.are.equal(1 - x, tonumber(e.f2))
      end
    end
    for _, st in ipairs { "ok", "error", "nan", "wrong_count", "infeasible" } do
      assert.is_true((count[st] or 0) > 0, "no evaluation with status " .. st)
    end
    assert.are.equal(count.ok, s.ok)
    assert.are.equal(count.infeasible, s.infeasible)
    assert.are.equal(60 - count.ok - count.infeasible, s.failed)
    local summary = require("cjson").decode(R.read(s.dir .. "/summary.json"))
    assert.are.equal(60 - count.ok, #summary.failures)
    -- metrics count only feasible successes; f2 is maximised: best = max
    local best2 = -math.huge
    for _, e in ipairs(evals) do if e.status == "ok" then best2 = math.max(best2, tonumber(e.f2)) end end
    assert.are.equal(best2, summary.best.f2)
    os.execute("rm -rf " .. out)
  end)
end)

describe("perigee run", function()
  if not exe then
    pending("PERIGEE_EXE not set (run through ctest)")
    return
  end

  it("runs a custom benchmark file found through PERIGEE_PATH, with --seed and --out overriding the script", function()
    local bdir, work = tmpdir(), tmpdir()
    write(bdir .. "/my_bowl.lua", [[
local pg = require "perigee"
return {
  name = "my_bowl",
  description = "two shifted bowls in a custom file",
  space = pg.space { pg.real("a", -2, 2), pg.int("k", 0, 10) },
  objectives = { "left", "right" },
  reference_point = { 20, 20 },
  evaluate = function(x)
    return { (x.a - 1) ^ 2 + x.k, (x.a + 1) ^ 2 + (10 - x.k) }
  end,
}
]])
    write(work .. "/exp.lua", [[
local pg = require "perigee"
pg.experiment { benchmark = "my_bowl", optimizer = "random", n_init = 5, iterations = 2, batch = 2,
  seed = 1, out = "script_out" }:go()
]])
    local env = ("cd %s && PERIGEE_PATH=/nonexistent:%s "):format(work, bdir)
    local out, rc = sh(env .. exe .. " list benchmarks")
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("my_bowl", 1, true))
    assert.truthy(out:find("two shifted bowls in a custom file", 1, true))
    out, rc = sh(env .. exe .. " run exp.lua --seed 7 --out cli_out --quiet")
    assert.are.equal(0, rc, out)
    local cfg = require("cjson").decode(R.read(work .. "/cli_out/random/seed7/config.json"))
    assert.are.equal(7, cfg.seed)
    assert.are.equal("my_bowl", cfg.benchmark)
    assert.is_nil(R.read(work .. "/script_out/summary.csv"))
    local evals = R.read_records(work .. "/cli_out/random/seed7/evaluations.csv")
    assert.are.equal(9, #evals)
    for _, e in ipairs(evals) do
      local a, k = tonumber(e.a), tonumber(e.k)
      assert.are.equal((a - 1) ^ 2 + k, tonumber(e.left))
      assert.are.equal("ok", e.status)
    end
    -- without PERIGEE_PATH the benchmark is not found, and the error says where it looked
    out, rc = sh("cd " .. work .. " && " .. exe .. " run exp.lua --quiet")
    assert.are_not.equal(0, rc)
    assert.truthy(out:find("my_bowl' not found", 1, true), out)
    os.execute("rm -rf " .. bdir .. " " .. work)
  end)

  it("runs a grid's runs in two processes (--jobs 2) with the files of a one-process run", function()
    local work = tmpdir()
    write(work .. "/logb.lua", [[
local pg = require "perigee"
return {
  name = "logb", description = "ZDT2-like; logs which process evaluated",
  space = pg.space { pg.real("x1", 0, 1), pg.real("x2", 0, 1), pg.ordinal("c", {1, 2, 4, 8}) },
  objectives = { "f1", "f2" }, reference_point = { 1.5, 12 },
  evaluate = function(x, ctx)
    local f = io.open(os.getenv("EVAL_LOG"), "a")
    f:write(ctx.seed, " ", os.getenv("PERIGEE_RUN_WORKER") and "worker" or "parent", "\n")
    f:close()
    local t = pg.wtime()
    while pg.wtime() - t < 0.005 do end
    local g = 1 + 9 * x.x2 * x.c / 8 + 0.01 * ctx.rng:uniform()
    return { x.x1, g * (1 - (x.x1 / g) ^ 2) }
  end,
}
]])
    write(work .. "/exp.lua", [[
local pg = require "perigee"
local r = pg.experiment { benchmark = "logb", optimizers = { "random", "nsga2", pg.optimizers.coflex { pool = 300, local_pool = 300 } },
  n_init = 8, iterations = 3, batch = 3, seeds = { 1, 2, 3, 4 }, out = "unused" }:go()
-- the summaries come back in grid order, whichever process ran them
local f = io.open("order.txt", "w")
for _, s in ipairs(r.runs) do f:write(s.optimizer, " ", s.seed, " ", s.hypervolume, "\n") end
f:close()
]])
    local env = ("cd %s && PERIGEE_PATH=%s "):format(work, work)
    local out, rc = sh(env .. "EVAL_LOG=" .. work .. "/one.log " .. exe .. " run exp.lua --out one --quiet --no-plots --jobs 1")
    assert.are.equal(0, rc, out)
    os.rename(work .. "/order.txt", work .. "/order1.txt")
    out, rc = sh(env .. "EVAL_LOG=" .. work .. "/two.log " .. exe .. " run exp.lua --out two --quiet --no-plots --jobs 2")
    assert.are.equal(0, rc, out)
    assert.are.equal(R.read(work .. "/order1.txt"), R.read(work .. "/order.txt"))
    local by = { parent = 0, worker = 0 }
    for line in io.lines(work .. "/two.log") do
      local who = line:match("(%a+)$")
      by[who] = by[who] + 1
    end
    assert.are.equal(12 * 17, by.parent + by.worker)
    assert.is_true(by.parent > 0 and by.worker > 0, "both processes evaluated")
    for line in io.lines(work .. "/one.log") do assert.truthy(line:find("parent$")) end
    for _, opt in ipairs { "random", "nsga2", "coflex" } do
      for seed = 1, 4 do
        local run = opt .. "/seed" .. seed
        for _, f in ipairs { "config.json", "evaluations.csv", "metrics.csv", "pareto.csv", "summary.json" } do
          local a, b = R.read(work .. "/one/" .. run .. "/" .. f), R.read(work .. "/two/" .. run .. "/" .. f)
          assert.is_not_nil(a, run .. "/" .. f)
          assert.are.equal(a, b, run .. "/" .. f .. " differs")
        end
        local ph = R.read_records(work .. "/two/" .. run .. "/phases.csv")
        local t = {}
        for _, r in ipairs(ph) do t[r.phase] = tonumber(r.seconds) end
        assert.is_true(t.total > 0 and t.evaluate > 0 and t.propose >= 0 and t.total >= t.evaluate)
        if opt == "coflex" then assert.is_true(t["propose.fit"] > 0 and t["propose.fit"] <= t.propose) end
      end
    end
    assert.are.equal(R.read(work .. "/one/summary.csv"), R.read(work .. "/two/summary.csv"))
    assert.is_nil(R.read(work .. "/two/.jobs1/grid.txt")) -- the claim directory is removed
    -- the journal's sync interval changes when records reach the disk, never what they are
    assert.has_error(function() pg.experiment { benchmark = "zdt1", sync = -1 } end)
    assert.has_error(function() pg.experiment { benchmark = "zdt1", jobs = 0 } end)
    local texts = {}
    for _, sy in ipairs { 0, 1, 1e9 } do
      local o = work .. "/sync" .. tostring(sy)
      pg.experiment { benchmark = "zdt1", optimizer = "random", seed = 4, n_init = 6, iterations = 2, batch = 3,
                      out = o, quiet = true, plots = false, sync = sy }:go()
      texts[#texts + 1] = R.read(o .. "/random/seed4/evaluations.csv")
    end
    assert.are.equal(texts[1], texts[2])
    assert.are.equal(texts[1], texts[3])
    local _, lines = texts[1]:gsub("\n", "")
    assert.are.equal(13, lines)
    -- a worker whose script builds another grid takes no run: the parent runs them all
    write(work .. "/odd.lua", [[
local pg = require "perigee"
local seeds = os.getenv("PERIGEE_RUN_WORKER") and { 7, 8 } or { 1, 2 }
pg.experiment { benchmark = "logb", optimizer = "random", n_init = 8, iterations = 3, batch = 3, seeds = seeds,
  out = "unused" }:go()
]])
    out, rc = sh(env .. "EVAL_LOG=" .. work .. "/odd.log " .. exe .. " run odd.lua --out odd --no-plots --jobs 2")
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("another grid", 1, true), out)
    for line in io.lines(work .. "/odd.log") do assert.truthy(line:find("parent$")) end
    for seed = 1, 2 do
      local run = "random/seed" .. seed
      assert.are.equal(R.read(work .. "/one/" .. run .. "/evaluations.csv"), R.read(work .. "/odd/" .. run .. "/evaluations.csv"))
    end
    assert.is_nil(R.read(work .. "/odd/random/seed7/evaluations.csv"))
    os.execute("rm -rf " .. work)
  end)

  it("resumes after kill -9 without re-evaluating, ending byte-identical to an uninterrupted run", function()
    local work = tmpdir()
    write(work .. "/slow.lua", [[
local pg = require "perigee"
local log = os.getenv("EVAL_LOG")
return {
  name = "slow", description = "ZDT2-like, 40 ms per evaluation",
  space = pg.space { pg.real("x1", 0, 1), pg.real("x2", 0, 1), pg.ordinal("c", {1, 2, 4, 8}) },
  objectives = { "f1", "f2" }, reference_point = { 1.5, 12 },
  evaluate = function(x, ctx)
    local f = io.open(log, "a"); f:write(ctx.eval, "\n"); f:close()
    local t = pg.wtime()
    while pg.wtime() - t < 0.04 do end
    local g = 1 + 9 * x.x2 * x.c / 8 + 0.01 * ctx.rng:uniform()
    return { x.x1, g * (1 - (x.x1 / g) ^ 2) }
  end,
}
]])
    write(work .. "/exp.lua", [[
local pg = require "perigee"
pg.experiment { benchmark = "slow", optimizers = { "random", pg.optimizers.random { method = "sobol" } },
  n_init = 6, iterations = 5, batch = 3, seeds = { 11 }, out = "unused" }:go()
]])
    local env = ("cd %s && PERIGEE_PATH=%s "):format(work, work)
    -- uninterrupted reference run
    local out, rc = sh(env .. "EVAL_LOG=" .. work .. "/ref.log " .. exe .. " run exp.lua --out ref --quiet --no-plots --jobs 1")
    assert.are.equal(0, rc, out)
    -- start, kill -9 once some evaluations of the second optimizer are journaled
    local pidout = sh(env .. "EVAL_LOG=" .. work .. "/eval.log nohup " .. exe
      .. " run exp.lua --out killed --quiet --no-plots --jobs 1 >/dev/null 2>&1 & echo $!")
    local pid = assert(tonumber(pidout:match("(%d+)")))
    local journal = work .. "/killed/random_sobol/seed11/evaluations.csv"
    local n_before = 0
    for _ = 1, 400 do
      local text = R.read(journal)
      if text then
        local _, lines = text:gsub("\n", "")
        if lines - 1 >= 10 then n_before = lines - 1 break end
      end
      os.execute("sleep 0.02")
    end
    assert.is_true(n_before >= 10, "the run did not reach 10 evaluations of its second optimizer")
    sh("kill -9 " .. pid)
    os.execute("sleep 0.2")
    local text = R.read(journal)
    local _, lines = text:gsub("\n", "")
    n_before = lines - 1
    assert.is_true(n_before < 21, "the run finished before the kill")
    -- resume
    out, rc = sh(env .. "EVAL_LOG=" .. work .. "/eval.log " .. exe .. " run exp.lua --out killed --resume --quiet --no-plots --jobs 1")
    assert.are.equal(0, rc, out)
    for _, run in ipairs { "random/seed11", "random_sobol/seed11" } do
      for _, f in ipairs { "config.json", "evaluations.csv", "metrics.csv", "pareto.csv", "summary.json" } do
        local a, b = R.read(work .. "/ref/" .. run .. "/" .. f), R.read(work .. "/killed/" .. run .. "/" .. f)
        assert.is_not_nil(a, f)
        assert.are.equal(a, b, run .. "/" .. f .. " differs")
      end
    end
    assert.are.equal(R.read(work .. "/ref/summary.csv"), R.read(work .. "/killed/summary.csv"))
    -- nothing journaled was evaluated again: the first optimizer (done before the kill)
    -- 21 times, the second: records 1..n_before once each
    local seen = {}
    for line in io.lines(work .. "/eval.log") do seen[#seen + 1] = tonumber(line) end
    local counts = {}
    for i = 22, #seen do counts[seen[i]] = (counts[seen[i]] or 0) + 1 end
    for e = 1, n_before do assert.are.equal(1, counts[e], "evaluation " .. e .. " of the killed run") end
    for e = 1, 21 do assert.is_true((counts[e] or 0) >= 1) end
    assert.is_true(#seen <= 21 + 21 + 1)
    -- resuming with another configuration is refused
    out, rc = sh(env .. "EVAL_LOG=/dev/null " .. exe .. " run exp.lua --out killed --resume --seed 12 --quiet --no-plots")
    assert.are.equal(0, rc) -- seed 12 is a new run directory: starts fresh
    write(work .. "/exp2.lua", (R.read(work .. "/exp.lua"):gsub("batch = 3", "batch = 2")))
    out, rc = sh(env .. "EVAL_LOG=/dev/null " .. exe .. " run exp2.lua --out killed --resume --quiet --no-plots")
    assert.are_not.equal(0, rc)
    assert.truthy(out:find("config.json differs", 1, true), out)
    os.execute("rm -rf " .. work)
  end)
end)
