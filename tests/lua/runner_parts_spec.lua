-- runner_parts_spec.lua: the pool optimizer, the progress line, plots with
-- and without gnuplot, the results formats.
local pg = require "perigee"
local R = require "perigee.results"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end

describe("pool optimizer", function()
  it("proposes the best-scoring candidates of the pool, deterministically", function()
    local out = tmpdir()
    local calls = 0
    local opt = pg.optimizers.pool { name = "small_x1", pool = 1000,
      score = function(ctx, U, pts)
        calls = calls + 1
        assert.are.equal(#pts, #U)
        local s = {}
        for i = 1, #pts do s[i] = -U[i][1] end
        return s
      end }
    local res = pg.experiment { benchmark = "zdt1", benchmark_options = { n = 4 }, optimizer = opt,
      n_init = 8, iterations = 3, batch = 4, seed = 2, out = out, quiet = true, plots = false }:go()
    assert.are.equal(3, calls)
    local evals = R.read_records(res.runs[1].dir .. "/evaluations.csv")
    for _, e in ipairs(evals) do
      -- 1000 Sobol points: the 4 smallest x1 per batch lie below 12/1000
      if tonumber(e.iteration) > 0 then assert.is_true(tonumber(e.x1) < 0.012, e.x1) end
    end
    local out2 = tmpdir()
    pg.experiment { benchmark = "zdt1", benchmark_options = { n = 4 }, optimizer = opt,
      n_init = 8, iterations = 3, batch = 4, seed = 2, out = out2, quiet = true, plots = false }:go()
    assert.are.equal(R.read(res.runs[1].dir .. "/evaluations.csv"), R.read(out2 .. "/small_x1/seed2/evaluations.csv"))
    os.execute("rm -rf " .. out .. " " .. out2)
  end)
  it("rejects invalid optimizers and proposals with clear messages", function()
    assert.has_error(function() pg.optimizers.get("no_such_optimizer") end)
    assert.has_error(function() pg.optimizers.get { name = "x" } end)
    local out = tmpdir()
    local bad = { name = "bad", propose = function() return { { x1 = 2 } } end }
    local ok, err = pcall(function()
      pg.experiment { benchmark = "zdt1", benchmark_options = { n = 2 }, optimizer = bad, n_init = 2, iterations = 1,
        batch = 1, out = out, quiet = true, plots = false }:go()
    end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("invalid point", 1, true), err)
    os.execute("rm -rf " .. out)
  end)
end)

describe("progress", function()
  local function sink()
    local buf = {}
    return { write = function(self, ...) for _, s in ipairs { ... } do buf[#buf + 1] = s end return self end,
             flush = function() end, text = function() return table.concat(buf) end }
  end
  local run = { exp = { cfg = { iterations = 10 } }, opt = { name = "random" }, seed = 3,
                b = { objectives = { { name = "f1" }, { name = "f2" } } } }
  local row = { iteration = 4, evaluations = 36, failed = 1, infeasible = 0, hypervolume = 12.5, igd = 0.25,
                best_f1 = 0.1, best_f2 = 0.2 }
  it("rewrites one line in place on a terminal", function()
    local out = sink()
    local p = require("perigee.progress").new { tty = true, out = out }
    p:update(run, row, 10)
    p:finish(run, row, 12)
    local t = out.text()
    assert.truthy(t:find("\r\27[K", 1, true))
    assert.truthy(t:find("random seed 3  it 4/10  evals 36  failed 1  hv 12.5  igd 0.25  best f1=0.1 f2=0.2", 1, true))
    assert.truthy(t:find("eta 12.0s", 1, true)) -- 10 s for 5 iterations: 2 s each, 6 left
    assert.are.equal(1, select(2, t:gsub("\n", "")))
  end)
  it("prints plain lines otherwise, nothing when quiet", function()
    local out = sink()
    local p = require("perigee.progress").new { tty = false, out = out }
    p:update(run, row, 10)
    assert.is_nil(out.text():find("\r", 1, true))
    assert.are.equal(1, select(2, out.text():gsub("\n", "")))
    local q = sink()
    require("perigee.progress").new { quiet = true, out = q }:update(run, row, 1)
    assert.are.equal("", q.text())
  end)
end)

describe("plots", function()
  local out
  setup(function()
    out = tmpdir()
    pg.experiment { benchmark = "zdt2", benchmark_options = { n = 4 }, optimizers = { "random", pg.optimizers.random { method = "lhs" } },
      n_init = 6, iterations = 2, batch = 2, seeds = { 1, 2 }, out = out, quiet = true, plots = false }:go()
  end)
  teardown(function() os.execute("rm -rf " .. out) end)

  it("writes data and scripts, and says how to render them, without gnuplot", function()
    local r = pg.plot.experiment(out, { gnuplot = false })
    assert.is_false(r.rendered)
    assert.truthy(r.message:find("gnuplot", 1, true))
    for _, f in ipairs { "fronts.gp", "hv.gp", "igd.gp", "best.gp", "hv_time.gp", "front_random.dat", "hv_random_lhs.dat" } do
      assert.is_true(R.exists(out .. "/plots/" .. f), f)
    end
    -- hv data: mean, min, max over the two seeds per iteration
    local m1 = R.read_records(out .. "/random/seed1/metrics.csv")
    local m2 = R.read_records(out .. "/random/seed2/metrics.csv")
    local i = 0
    for line in io.lines(out .. "/plots/hv_random.dat") do
      i = i + 1
      local it, mean, lo, hi = line:match("^(%S+) (%S+) (%S+) (%S+)$")
      local a, b = tonumber(m1[i].hypervolume), tonumber(m2[i].hypervolume)
      assert.are.equal(i - 1, tonumber(it))
      assert.is_true(math.abs(tonumber(mean) - (a + b) / 2) < 1e-12)
      assert.are.equal(math.min(a, b), tonumber(lo))
      assert.are.equal(math.max(a, b), tonumber(hi))
    end
    assert.are.equal(3, i)
  end)
  it("renders PNG and SVG with gnuplot when present", function()
    if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
      pending("gnuplot not installed")
      return
    end
    local r = pg.plot.experiment(out)
    assert.is_true(r.rendered, r.message)
    for _, f in ipairs(r.files) do
      local data = R.read(f)
      assert.is_not_nil(data, f)
      if f:match("%.png$") then assert.are.equal("\137PNG", data:sub(1, 4)) end
      if f:match("%.svg$") then assert.truthy(data:find("<svg", 1, true)) end
    end
    assert.are.equal(10, #r.files)
  end)
end)

describe("results formats", function()
  it("writes numbers that read back exactly and quotes CSV fields", function()
    for _, v in ipairs { 0.1, 1 / 3, 1e-300, -2.5e17, 123456789.125, 2 ^ 60 + 0.0 } do
      assert.are.equal(v, tonumber(R.num(v)))
    end
    assert.are.equal("nan", R.num(0 / 0))
    assert.are.equal('a,"b,c","say ""hi""",\n', R.line({ "a", "b,c", 'say "hi"', nil }, 4))
    assert.are.same({ "a", "b,c", 'say "hi"', "" }, R.split('a,"b,c","say ""hi""",'))
    assert.are.same({ "" }, R.split(""))
    assert.are.equal('{\n  "a": [1, 2],\n  "b": {\n    "c": null\n  },\n  "e": []\n}',
      R.json { b = { c = 0 / 0 }, a = { 1, 2 }, e = R.array {} })
  end)
end)
