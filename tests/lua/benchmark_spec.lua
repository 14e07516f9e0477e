-- benchmark_spec.lua: built-in benchmarks against their analytic definitions
-- (Zitzler-Deb-Thiele 2000; Deb-Thiele-Laumanns-Zitzler 2005), true fronts,
-- the search path and the loader's validation.
local pg = require "perigee"

local function close(a, b, tol) return math.abs(a - b) <= tol * math.max(1, math.abs(b)) end

local function point(n, x1, rest)
  local p = { x1 = x1 }
  for i = 2, n do p["x" .. i] = rest end
  return p
end

describe("ZDT", function()
  it("evaluates the published formulas", function()
    local z1, z2, z3 = pg.benchmark "zdt1", pg.benchmark "zdt2", pg.benchmark("zdt3", { n = 10 })
    local g = 1 + 9 * 0.5 -- x2..xn = 0.5
    local f = z1.evaluate(point(30, 0.25, 0.5))
    assert.are.equal(0.25, f[1])
    assert.is_true(math.abs(f[2] - g * (1 - math.sqrt(0.25 / g))) < 1e-12)
    f = z2.evaluate(point(30, 0.25, 0.5))
    assert.is_true(math.abs(f[2] - g * (1 - (0.25 / g) ^ 2)) < 1e-12)
    f = z3.evaluate(point(10, 0.3, 0))
    assert.is_true(math.abs(f[2] - (1 - math.sqrt(0.3) - 0.3 * math.sin(3 * math.pi))) < 1e-12)
    assert.are.equal(10, #z3.space)
  end)
  it("has true fronts on the analytic curves", function()
    for name, h in pairs {
      zdt1 = function(t) return 1 - math.sqrt(t) end,
      zdt2 = function(t) return 1 - t * t end,
    } do
      local front = pg.benchmark(name).front()
      assert.is_true(#front >= 1000)
      for _, p in ipairs(front) do assert.is_true(math.abs(p[2] - h(p[1])) < 1e-12) end
      assert.are.equal(0, front[1][1])
      assert.are.equal(1, front[#front][1])
    end
  end)
  it("gives ZDT3 its five disconnected pieces (published bounds)", function()
    local front = pg.benchmark("zdt3").front()
    -- pieces: split where consecutive f1 jump by more than 0.01
    local pieces = { { front[1][1] } }
    for i = 2, #front do
      if front[i][1] - front[i - 1][1] > 0.01 then
        pieces[#pieces][2] = front[i - 1][1]
        pieces[#pieces + 1] = { front[i][1] }
      end
    end
    pieces[#pieces][2] = front[#front][1]
    -- Deb, "Multi-objective optimization using evolutionary algorithms" (2001) / pymoo:
    local published = { { 0, 0.0830015349 }, { 0.1822287280, 0.2577623634 }, { 0.4093136748, 0.4538821041 },
                        { 0.6183967944, 0.6525117038 }, { 0.8233317983, 0.8518328654 } }
    assert.are.equal(5, #pieces)
    for i, p in ipairs(published) do
      assert.is_true(math.abs(pieces[i][1] - p[1]) < 2e-4, "piece " .. i .. " starts at " .. pieces[i][1])
      assert.is_true(math.abs(pieces[i][2] - p[2]) < 2e-4, "piece " .. i .. " ends at " .. pieces[i][2])
    end
    -- and no front point dominates another (brute force on a subsample)
    for i = 1, #front, 7 do
      for j = 1, #front, 5 do
        local a, b = front[i], front[j]
        assert.is_false(i ~= j and a[1] <= b[1] and a[2] <= b[2] and (a[1] < b[1] or a[2] < b[2]))
      end
    end
  end)
  it("has the analytic hypervolume on its true front (ZDT1: 120 + 2/3, ZDT2: 120 + 1/3 at ref 11)", function()
    assert.is_true(math.abs(pg.hv(pg.benchmark("zdt1").front(), { 11, 11 }) - (120 + 2 / 3)) < 1e-3)
    assert.is_true(math.abs(pg.hv(pg.benchmark("zdt2").front(), { 11, 11 }) - (120 + 1 / 3)) < 1e-3)
  end)
end)

describe("DTLZ", function()
  it("puts points with x_M = 1/2 on the linear and spherical fronts", function()
    local d1, d2 = pg.benchmark "dtlz1", pg.benchmark("dtlz2", { m = 4 })
    local rng = pg.rng(5)
    for _ = 1, 50 do
      local p = {}
      for i = 1, 7 do p["x" .. i] = i <= 2 and rng:uniform() or 0.5 end
      local f = d1.evaluate(p)
      assert.is_true(math.abs(f[1] + f[2] + f[3] - 0.5) < 1e-12)
      -- f1 = x1 x2 / 2 (g = 0)
      assert.is_true(math.abs(f[1] - 0.5 * p.x1 * p.x2) < 1e-12)
      local q = {}
      for i = 1, 13 do q["x" .. i] = i <= 3 and rng:uniform() or 0.5 end
      local y = d2.evaluate(q)
      assert.are.equal(4, #y)
      assert.is_true(math.abs(y[1] ^ 2 + y[2] ^ 2 + y[3] ^ 2 + y[4] ^ 2 - 1) < 1e-12)
      assert.is_true(math.abs(y[4] - math.sin(q.x1 * math.pi / 2)) < 1e-12)
    end
    -- off the front: g > 0 scales the point outward
    local p = {}
    for i = 1, 12 do p["x" .. i] = i <= 2 and 0.3 or 0.0 end
    local y = pg.benchmark("dtlz2").evaluate(p)
    local g = 10 * 0.25
    assert.is_true(math.abs(math.sqrt(y[1] ^ 2 + y[2] ^ 2 + y[3] ^ 2) - (1 + g)) < 1e-12)
  end)
  it("DTLZ7 has f3 = (1+g)(3 - sum f_i/(1+g)(1 + sin 3 pi f_i))", function()
    local b = pg.benchmark "dtlz7"
    local p = { x1 = 0.2, x2 = 0.7 }
    for i = 3, 22 do p["x" .. i] = 0.1 end
    local g = 1 + 9 / 20 * (20 * 0.1)
    local h = 3 - 0.2 / (1 + g) * (1 + math.sin(0.6 * math.pi)) - 0.7 / (1 + g) * (1 + math.sin(2.1 * math.pi))
    local f = b.evaluate(p)
    assert.is_true(math.abs(f[3] - (1 + g) * h) < 1e-12)
  end)
  it("has true fronts on the simplex, the sphere, and DTLZ7's four regions", function()
    for _, p in ipairs(pg.benchmark("dtlz1").front()) do assert.is_true(math.abs(p[1] + p[2] + p[3] - 0.5) < 1e-12) end
    local f2 = pg.benchmark("dtlz2").front()
    assert.are.equal(861, #f2) -- C(40 + 2, 2)
    for _, p in ipairs(f2) do assert.is_true(math.abs(p[1] ^ 2 + p[2] ^ 2 + p[3] ^ 2 - 1) < 1e-12) end
    local f7 = pg.benchmark("dtlz7").front()
    local psi = function(t) return t * (1 + math.sin(3 * math.pi * t)) end
    local regions = {}
    for _, p in ipairs(f7) do
      assert.is_true(math.abs(p[3] - (6 - psi(p[1]) - psi(p[2]))) < 1e-12)
      regions[(p[1] < 0.5 and "a" or "b") .. (p[2] < 0.5 and "a" or "b")] = true
    end
    local count = 0
    for _ in pairs(regions) do count = count + 1 end
    assert.are.equal(4, count)
    -- non-dominated among themselves (pareto toolkit) and against dense random points of g = 1
    local idx = pg.pareto.filter(f7)
    assert.are.equal(#f7, #idx)
    local rng = pg.rng(1)
    for _ = 1, 300 do
      local a, b = rng:uniform(), rng:uniform()
      local y = { a, b, 6 - psi(a) - psi(b) }
      for k = 1, #f7, 13 do
        local p = f7[k]
        local dom = y[1] <= p[1] and y[2] <= p[2] and y[3] <= p[3] and (y[1] < p[1] or y[2] < p[2] or y[3] < p[3])
        -- a random curve point may only dominate a front point by grid resolution
        if dom then assert.is_true(p[3] - y[3] < 0.05 and (p[1] - y[1] < 0.01 and p[2] - y[2] < 0.01)) end
      end
    end
  end)
end)

describe("benchmark search path", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("finds files through PERIGEE_PATH-like directories and reports missing ones", function()
    local B = require "perigee.benchmark"
    local found, err = B.find("no_such_benchmark_xyz")
    assert.is_nil(found)
    assert.truthy(err:find("not found", 1, true))
    local path = B.path()
    assert.truthy(path[1]:find("benchmarks$"))
    assert.are.equal("./benchmarks", path[#path])
  end)
  it("validates benchmark tables with clear messages", function()
    local s = pg.space { pg.real("x", 0, 1) }
    local ok, err = pcall(pg.benchmark, { name = "b", space = s, objectives = { "a" } })
    assert.is_false(ok)
    assert.truthy(err:find("evaluate", 1, true))
    ok, err = pcall(pg.benchmark, { name = "b", space = s, objectives = { { name = "a", direction = "up" } }, evaluate = print })
    assert.is_false(ok)
    assert.truthy(err:find("direction", 1, true))
    ok, err = pcall(pg.benchmark, { name = "b", space = s, objectives = { "a" }, evaluate = print, reference_point = { 1, 2 } })
    assert.is_false(ok)
    assert.truthy(err:find("reference_point", 1, true))
    ok, err = pcall(pg.benchmark, { name = "b", space = s, objectives = { "a" }, evaluate = print, constraints = { "a <=" } })
    assert.is_false(ok)
    local b = pg.benchmark { name = "b", space = s, objectives = { "a", { name = "c", direction = "max", log = true } },
                             evaluate = print, constraints = { "lat <= 5", { "c", ">=", 1 } } }
    assert.are.equal("max", b.objectives[2].direction)
    assert.are.same({ 2, -math.log(3) }, require("perigee.benchmark").to_internal(b.objectives, { 2, 3 }))
    assert.is_true(require("perigee.benchmark").satisfies(b.constraints[1], 5))
    assert.is_false(require("perigee.benchmark").satisfies(b.constraints[1], 5.1))
  end)
  it("says what to download when $PERIGEE_DATA lacks a file", function()
    local ok, err = pcall(require("perigee.benchmark").data_file, "nb201/missing_file.csv.gz",
      "download NAS-Bench-201 tables", "nb201_test")
    assert.is_false(ok)
    assert.truthy(err:find("nb201/missing_file.csv.gz", 1, true))
    assert.truthy(err:find("download NAS-Bench-201 tables", 1, true))
  end)
end)

describe("accel_dse", function()
  it("wraps the dataflow model with the documented units and area model", function()
    if not (pg.hw and pg.hw.coflex_accelerator) then
      pending("this build has no perigee.hw dataflow model")
      return
    end
    local b = pg.benchmark "accel_dse"
    assert.are.equal(64 * 64 * 503 ^ 4, b.space:size())
    local small = { pe_x = 1, pe_y = 1, reg_input = 10, reg_weight = 10, reg_output = 10, reg_bw = 10 }
    local big = { pe_x = 64, pe_y = 64, reg_input = 512, reg_weight = 512, reg_output = 512, reg_bw = 512 }
    local fs, fb = b.evaluate(small), b.evaluate(big)
    -- direct model call, converted by hand: ms at 2.2 GHz, pJ -> uJ
    local acc = pg.hw.coflex_accelerator(big)
    local r = acc:evaluate(b.network, nil)
    assert.is_true(close(fb.latency_ms, r.cycles / 2.2e9 * 1e3, 1e-12))
    assert.is_true(close(fb.energy_uj, r.energy / 1e6, 1e-12))
    -- area by hand: n_pe * (600 + 5 * (regs) + 2 * bw) um^2
    assert.is_true(close(fs.area_mm2, (600 + 5 * 30 + 2 * 10) * 1e-6, 1e-12))
    assert.is_true(close(fb.area_mm2, 4096 * (600 + 5 * 1536 + 2 * 512) * 1e-6, 1e-12))
    -- 4096 PEs are faster than one
    assert.is_true(fb.latency_ms < fs.latency_ms / 50)
    -- a short experiment on it runs, with finite hypervolume on log objectives
    local out = os.tmpname()
    os.remove(out)
    local res = pg.experiment { benchmark = "accel_dse", optimizer = "random", n_init = 6, iterations = 1, batch = 2,
      seed = 1, out = out, quiet = true, plots = false }:go()
    assert.are.equal(8, res.runs[1].ok)
    assert.is_true(res.runs[1].hypervolume > 0)
    os.execute("rm -rf " .. out)
  end)
end)

describe("nats_sss_hw", function()
  local spearman = pg.stats.spearman

  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    pg.proxy_cache.set_dir(dir) -- never the user's cache
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
    pg.proxy_cache.set_dir(nil)
  end)

  it("estimates error with the documented linear model when asked", function()
    local b = pg.benchmark("nats_sss_hw", { estimator = "linear" })
    assert.are.equal("linear", b.estimator)
    assert.matches("estimator \"linear\"", b.description)
    local c = { 24, 40, 64, 16, 48 }
    local want = 111.59233904724 - 2.1274387808937 * math.log(24, 2) - 1.3635160362086 * math.log(40, 2)
      - 1.8831184638972 * 6 - 1.2624238982725 * 4 - 3.3392728993423 * math.log(48, 2)
    assert.is_true(close(b.estimate_error(c), want, 1e-12))
  end)

  it("uses the anchored combined proxy score by default, calibrated to error %", function()
    local b = pg.benchmark "nats_sss_hw"
    assert.are.equal("proxy", b.estimator)
    assert.matches("estimator \"proxy\"", b.description)
    assert.matches("NASWOT %+ LogSynflow", b.description)
    assert.matches(dir, b.description, 1, true)
    local o = b.proxy_options
    assert.are.same({ 16, 120, 16 }, { o.side, o.classes, o.batch })
    -- the anchors map to s = 0 and s = 1: err = A and A + B
    local lo, hi = b.estimate_error { 8, 8, 8, 8, 8 }, b.estimate_error { 64, 64, 64, 64, 64 }
    local A, B = lo, hi - lo
    assert.is_true(B < -5) -- the largest network is estimated better than the smallest
    -- a third network from the definition, with the proxies computed directly
    local P = pg.proxy
    local function s(a) return P.naswot(a, o), P.logsynflow(a, o) end
    local n0, l0 = s "8:8:8:8:8"
    local n1, l1 = s "64:64:64:64:64"
    local n, l = s "24:40:64:16:48"
    local comb = ((n - n0) / (n1 - n0) + (l - l0) / (l1 - l0)) / 2
    assert.is_true(comb > 0 and comb < 1)
    assert.is_true(close(b.estimate_error { 24, 40, 64, 16, 48 }, A + B * comb, 1e-12))
    -- evaluate reports the same error, the score and the EDP
    local x = { C1 = 24, C2 = 40, C3 = 64, C4 = 16, C5 = 48, pe_x = 8, pe_y = 8, reg_input = 64, reg_weight = 64,
                reg_output = 64, reg_bw = 64 }
    local y = b.evaluate(x)
    assert.is_true(close(y.error, A + B * comb, 1e-12))
    assert.is_true(close(y.proxy_score, comb, 1e-12))
    assert.is_true(y.edp > 0)
    -- the scores are in the cache table
    local st = pg.proxy_cache.stats(o, "nats_sss")
    assert.is_true(st.hits >= 1)
    local tab, count = P.load(st.path)
    assert.are.equal(3, count)
    assert.are.equal(n, tab["24:40:64:16:48"].naswot)
    assert.has_error(function() pg.benchmark("nats_sss_hw", { estimator = "oracle" }) end)
    assert.has_error(function() pg.benchmark("nats_sss_hw", { proxy_batch = 1 }) end)
  end)

  it("ranks Coflex's shipped NATS-SSS errors (with $PERIGEE_DATA)", function()
    local data = os.getenv "PERIGEE_DATA"
    local text = data and data ~= "" and pg.proxy.read_gz(data .. "/coflex_observed_sss_imagenet16.csv.gz")
    if not text then
      print "SKIP: coflex_observed_sss_imagenet16.csv.gz not found (set PERIGEE_DATA=/work/shared/data)"
      pending "PERIGEE_DATA unset"
      return
    end
    local b = pg.benchmark "nats_sss_hw"
    local est, err, k = {}, {}, 0
    for line in text:gmatch "[^\n]+" do
      local a, e = line:match "^([%d:]+),.*,([%d.]+),[^,]+$"
      if a then
        k = k + 1
        if k % 8 == 1 then -- a fixed sample of 50 of the 400 rows keeps the test short
          local c = {}
          for v in a:gmatch "%d+" do c[#c + 1] = tonumber(v) end
          est[#est + 1] = b.estimate_error(c)
          err[#err + 1] = tonumber(e)
        end
      end
    end
    assert.are.equal(400, k)
    local rho = spearman(est, err)
    print(("nats_sss_hw proxy estimate vs shipped errors: Spearman %.3f (n = %d)"):format(rho, #est))
    assert.is_true(rho >= 0.5, "Spearman " .. rho) -- 0.745 on all 400 rows (docs/proxies.md)
  end)
end)
