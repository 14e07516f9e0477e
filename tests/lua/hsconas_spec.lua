-- hsconas_spec.lua -- perigee.hsconas (lua/perigee/hsconas.lua): the search
-- space, the latency tables and bias, the accuracy estimate, shrinking and
-- the evolutionary search.
local pg = require "perigee"
local H = require "perigee.hsconas"

local function arch(ops, f)
  local a = { op = {}, f = {} }
  for l = 1, H.L do a.op[l], a.f[l] = ops[l] or ops[1], f or 10 end
  return a
end

describe("perigee.hsconas space", function()
  it("counts the legal architectures by hand", function()
    -- 4 stride-2 layers with 4 operators, 16 stride-1 layers with 5, and a
    -- factor out of 10 at every layer
    local hand = 4 ^ 4 * 5 ^ 16 * 10 ^ 20
    local sp = H.space {}
    assert.are.equal(40, #sp)
    assert.is_true(math.abs(sp:size() / hand - 1) < 1e-12)
    assert.is_true(math.abs(H.space { channel_scaling = false }:size() / (4 ^ 4 * 5 ^ 16) - 1) < 1e-12)
    assert.is_true(math.abs(H.paper_size() / 9.5367431640625e33 - 1) < 1e-12)
    -- fixing layer 20 (5 ops) and layer 17 (stride 2, 4 ops)
    local sub = H.space { fixed_ops = { [20] = "7x7", [17] = 1 } }
    assert.is_true(math.abs(sub:size() / (hand / 20) - 1) < 1e-12)
    assert.has_error(function() H.space { fixed_ops = { [5] = "skip" } } end)
  end)

  it("samples only legal architectures, uniformly over the operators", function()
    local sp = H.space {}
    local archs = H.sample(sp, 4000, pg.rng(7))
    local count = { 0, 0, 0, 0, 0 }
    for _, a in ipairs(archs) do
      for l in pairs(H.STRIDE2) do assert.are_not.equal(H.SKIP, a.op[l]) end
      assert.is_true(H.contains(sp, a))
      count[a.op[2]] = count[a.op[2]] + 1
    end
    for o = 1, 5 do assert.is_true(math.abs(count[o] / 4000 - 0.2) < 0.03) end
  end)
end)

describe("perigee.hsconas latency model", function()
  local sp = H.space {}
  for _, dn in ipairs { "gpu", "cpu", "edge" } do
    it(dn .. ": table sums are additive: device model without the inter-block term = LUT sum + a constant", function()
      local dev = H.device(dn)
      local lut = H.lut(dev, "A")
      local archs = H.sample(sp, 4, pg.rng(3))
      archs[5] = arch({ 1, 5, 5, 5, 1, 5, 5, 5, 1, 5, 5, 5, 5, 5, 5, 5, 1, 5, 5, 5 }, 1) -- smallest
      archs[6] = arch({ 4 }, 10)                                                       -- all Xception
      local d0
      for _, a in ipairs(archs) do
        local direct, parts = H.measure(dev, a, "A", { interblock = false })
        assert.are.equal(0, parts.interblock)
        local d = direct - H.lut_sum(lut, a)
        d0 = d0 or d
        assert.is_true(math.abs(d - d0) < 1e-9 * direct, ("%s: %.17g vs %.17g"):format(dn, d, d0))
        -- MACs and parameters from the tables equal the network's
        local net = H.network(a, "A")
        assert.are.equal(net:macs(), H.macs(lut, a))
        assert.are.equal(net:params(), H.params(lut, a))
      end
      -- skip costs nothing, and the full device model is not additive
      assert.are.equal(0, lut.t[2][H.SKIP][3])
      local r = {}
      for i, a in ipairs(archs) do r[i] = H.measure(dev, a, "A") - H.lut_sum(lut, a) end
      local spread = 0
      for i = 2, #r do spread = math.max(spread, math.abs(r[i] - r[1])) end
      assert.is_true(spread > 1e-6)
    end)
  end

  it("edge: table entries and the constant equal direct single-layer evaluations", function()
    -- edge runs unfused (one stack per layer), so the device model of any
    -- set of layers is the sum of the layers evaluated one at a time
    local dev = H.device "edge"
    local lut = H.lut(dev, "A")
    local acc = pg.hw.accelerator(dev.accelerator)
    local function one(l)
      l.B, l.input, l.input2 = dev.batch, 0, nil
      local r = acc:evaluate({ l }, { schedule = "layer_by_layer", fuse = false, layers = false })
      return r.cycles / dev.clock_hz * 1e3 + dev.launch_us * 1e-3
    end
    local a = H.sample(H.space {}, 1, pg.rng(3))[1]
    a.op[6], a.f[6] = 3, 3                       -- layer 6: 7x7, factor 0.3
    local fixed, block6 = 0, 0
    for _, l in ipairs(H.network(a, "A"):layers()) do
      local b = tonumber(l.name:match("^L(%d+)%."))
      if not b then fixed = fixed + one(l) elseif b == 6 then block6 = block6 + one(l) end
    end
    assert.is_true(math.abs(block6 - lut.t[6][3][3]) < 1e-12 * block6)
    local direct = H.measure(dev, a, "A", { interblock = false })
    assert.is_true(math.abs(direct - (H.lut_sum(lut, a) + fixed)) < 1e-9 * direct)
  end)

  it("bias B is the least-squares intercept (Eq. 3)", function()
    local rng = pg.rng(11)
    local y, x = {}, {}
    for i = 1, 50 do
      x[i] = 5 * rng:uniform()
      y[i] = x[i] + 0.7 + 0.1 * rng:normal()
    end
    local B = H.bias(y, x)
    local function sse(b)
      local s = 0
      for i = 1, #y do s = s + (y[i] - x[i] - b) ^ 2 end
      return s
    end
    -- closed form: the normal equation sum(y - x - B) = 0
    local g = 0
    for i = 1, #y do g = g + (y[i] - x[i] - B) end
    assert.is_true(math.abs(g) < 1e-9)
    -- and a minimum: golden-section search on the SSE lands on it
    local lo, hi = -10, 10
    local phi = (math.sqrt(5) - 1) / 2
    for _ = 1, 200 do
      local a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
      if sse(a) < sse(b) then hi = b else lo = a end
    end
    assert.is_true(math.abs((lo + hi) / 2 - B) < 1e-6)
    assert.is_true(sse(B) < sse(B + 1e-3) and sse(B) < sse(B - 1e-3))
  end)

  it("calibrate measures M architectures and applies Eq. 3", function()
    local dev = H.device "cpu"
    local lut = H.lut(dev, "A")
    local archs = H.sample(H.space {}, 12, pg.rng(5))
    local cal = H.calibrate(lut, dev, archs)
    local s = 0
    for _, a in ipairs(archs) do s = s + H.measure(dev, a, "A") - H.lut_sum(lut, a) end
    assert.are.equal(12, cal.M)
    assert.is_true(math.abs(cal.bias - s / 12) < 1e-12)
  end)

  it("rmse and Kendall tau against brute-force values", function()
    assert.is_true(math.abs(H.rmse({ 1, 2, 3 }, { 1, 2, 5 }) - math.sqrt(4 / 3)) < 1e-15)
    assert.are.equal(1, H.kendall({ 1, 2, 3, 4 }, { 10, 20, 30, 40 }))
    assert.are.equal(-1, H.kendall({ 1, 2, 3, 4 }, { 4, 3, 2, 1 }))
    -- (1,2,3,4) vs (1,3,2,4): 5 concordant, 1 discordant pair
    assert.is_true(math.abs(H.kendall({ 1, 2, 3, 4 }, { 1, 3, 2, 4 }) - 4 / 6) < 1e-15)
  end)
end)

describe("perigee.hsconas accuracy estimate and objective", function()
  it("passes through the ShuffleNetV2+ anchors and is monotone", function()
    for _, p in ipairs(H.ACC_ANCHORS) do
      assert.is_true(math.abs(H.accuracy_from_macs(p.macs) - (100 - p.err)) < 1e-9)
    end
    local prev = -1
    for m = 2e7, 6e8, 1e7 do
      local a = H.accuracy_from_macs(m)
      assert.is_true(a > prev)
      prev = a
    end
    -- the anchors' MAC counts are perigee's builds of the published models
    for i, name in ipairs { "v2plus_small", "v2plus_medium", "v2plus_large" } do
      assert.are.equal(H.ACC_ANCHORS[i].macs, pg.hw.network.shufflenet_spos { preset = name }:macs())
    end
  end)

  it("F = ACC + beta |LAT/T - 1| (Eq. 1)", function()
    local lut = H.lut(H.device "gpu", "A")
    local a = arch({ 1 }, 10)
    local p = H.problem { lut = lut, bias = 0.1, target = 1.0, beta = -20 }
    local lat = H.lut_sum(lut, a) + 0.1
    local acc = H.accuracy_from_macs(H.network(a, "A"):macs())
    local F, acc2, lat2 = p:eval(a)
    assert.is_true(math.abs(F - (acc - 20 * math.abs(lat - 1))) < 1e-12)
    assert.are.equal(acc, acc2)
    assert.is_true(math.abs(lat - lat2) < 1e-15)
    assert.has_error(function() H.problem { lut = lut, target = 1, beta = 1 } end)
  end)
end)

describe("perigee.hsconas shrinking and search", function()
  local lut = H.lut(H.device "cpu", "A")
  local prob = H.problem { lut = lut, bias = 0.05, target = 0.3, beta = -20 }

  it("shrinking is deterministic per seed and divides the size by the operator counts", function()
    local sp = H.space {}
    local r1 = H.shrink(prob, sp, pg.rng(4), { N = 10 })
    local r2 = H.shrink(prob, sp, pg.rng(4), { N = 10 })
    assert.are.equal(#r1.stages, 2)
    assert.are.equal((4 + 5 + 5 + 5 + 4 * 5) * 10, r1.evaluations)  -- 39 subspaces x N
    for si = 1, 2 do
      for _, l in ipairs(r1.stages[si].layers) do
        assert.are.equal(r1.stages[si].fixed[l], r2.stages[si].fixed[l])
        for o, q in pairs(r1.stages[si].q[l]) do assert.are.equal(q, r2.stages[si].q[l][o]) end
        -- the fixed operator has the best subspace quality
        local best = -math.huge
        for _, q in pairs(r1.stages[si].q[l]) do best = math.max(best, q) end
        assert.are.equal(best, r1.stages[si].q[l][r1.stages[si].fixed[l]])
      end
    end
    -- layers 20, 19, 18 have 5 operators, 17 (stride 2) has 4; 16..13 have 5
    local s0 = sp:size()
    assert.is_true(math.abs(r1.stages[1].size / (s0 / (5 * 5 * 5 * 4)) - 1) < 1e-12)
    assert.is_true(math.abs(r1.stages[2].size / (r1.stages[1].size / 5 ^ 4) - 1) < 1e-12)
    -- every sample of the shrunk space carries the fixed operators
    for _, a in ipairs(H.sample(r1.space, 50, pg.rng(1))) do
      for si = 1, 2 do
        for l, o in pairs(r1.stages[si].fixed) do assert.are.equal(o, a.op[l]) end
      end
    end
  end)

  it("the evolutionary search is deterministic per seed and beats its first generation", function()
    local sp = H.space {}
    local opts = { generations = 6, population = 20, parents = 8 }
    local e1 = H.evolve(prob, sp, pg.rng(9), opts)
    local e2 = H.evolve(prob, sp, pg.rng(9), opts)
    local e3 = H.evolve(prob, sp, pg.rng(10), opts)
    assert.are.equal(H.key(e1.best), H.key(e2.best))
    assert.are.equal(e1.best_F, e2.best_F)
    for g = 1, 6 do
      for i = 1, 20 do assert.are.equal(e1.history[g].lat[i], e2.history[g].lat[i]) end
    end
    assert.are_not.equal(H.key(e1.best), H.key(e3.best))
    assert.are.equal(120, e1.evaluated)
    local first = -math.huge
    for _, f in ipairs(e1.history[1].F) do first = math.max(first, f) end
    assert.is_true(e1.best_F >= first)
    assert.are.equal(e1.best_F, prob:F(e1.best))
    assert.is_true(H.contains(sp, e1.best))
    -- without channel scaling every factor stays 1.0
    local e4 = H.evolve(prob, H.space { channel_scaling = false }, pg.rng(9), opts)
    for l = 1, H.L do assert.are.equal(10, e4.best.f[l]) end
  end)
end)

describe("perigee.hsconas small spaces", function()
  it("the search terminates on a space with a single architecture", function()
    local fixed = {}
    for l = 1, H.L do fixed[l] = 1 end
    local sp = H.space { channel_scaling = false, fixed_ops = fixed }
    assert.are.equal(1, sp:size())
    local lut = H.lut(H.device "cpu", "A")
    local prob = H.problem { lut = lut, bias = 0, target = 0.3 }
    local e = H.evolve(prob, sp, pg.rng(1), { generations = 3, population = 5, parents = 2 })
    assert.are.equal(H.key(arch({ 1 }, 10)), H.key(e.best))
    assert.are.equal(15, e.evaluated)
  end)
end)

describe("perigee.shufflenet and the proxy estimator", function()
  local S = pg.shufflenet
  local function sn(a)
    local t = { ops = {}, factors = {} }
    for l = 1, H.L do t.ops[l], t.factors[l] = H.OPS[a.op[l]], H.FACTORS[a.f[l]] end
    return t
  end
  local small = { side = 16, batch = 4, classes = 10, input = "noise" }

  it("builds the network the latency model costs (same MACs at 224 x 224)", function()
    for i, a in ipairs(H.sample(H.space {}, 3, pg.rng(11))) do
      local lay = i == 2 and "B" or "A"
      local info = S.info(sn(a), { side = 224, channels = H.LAYOUTS[lay] })
      assert.are.equal(H.network(a, lay):macs(), info.macs)
      local nonskip, s1 = 0, 0
      for l = 1, H.L do
        if a.op[l] ~= H.SKIP then
          nonskip = nonskip + 1
          if not H.STRIDE2[l] then s1 = s1 + 1 end
        end
      end
      assert.are.equal(nonskip, info.concats)
      assert.are.equal(s1, info.shuffles)
      assert.are.equal(2 * s1, info.splits)
    end
  end)

  it("rejects bad architectures and options with messages", function()
    local a = sn(arch({ 1 }, 10))
    assert.has_error(function() S.info({ ops = {}, factors = {} }) end)
    local bad = sn(arch({ 1 }, 10)); bad.ops[5] = "skip"
    assert.has_error(function() S.scores({ bad }, small) end, "bad argument #1 to 'scores' (entry 1: ops[5]: skip is illegal at a stride-2 layer (1, 5, 9, 17))")
    bad = sn(arch({ 1 }, 10)); bad.factors[3] = 0
    assert.has_error(function() S.info(bad) end)
    assert.has_error(function() S.scores({ a }, { side = 4 }) end)
    assert.has_error(function() S.scores({ a }, { channels = { 48, 128, 256 } }) end)
  end)

  it("scores networks independently of the batch composition and thread count", function()
    local archs = H.sample(H.space {}, 3, pg.rng(12))
    local list = {}
    for i, a in ipairs(archs) do list[i] = sn(a) end
    local r1, input = S.scores(list, small)
    assert.are.equal("noise", input)
    local r2 = S.scores({ list[2] }, small)
    assert.are.equal(r1[2].naswot, r2[1].naswot)
    assert.are.equal(r1[2].logsynflow, r2[1].logsynflow)
    local old = pg.threads(1)
    local r3 = S.scores(list, small)
    pg.threads(old)
    for i = 1, 3 do
      assert.are.equal(r1[i].logsynflow, r3[i].logsynflow)
      assert.are.equal(r1[i].naswot, r3[i].naswot)
      assert.are.equal(0, r1[i].skip)
      assert.is_true(r1[i].logsynflow > 0 and r1[i].naswot > 0)
    end
    local na = S.scores({ list[1] }, { side = 16, batch = 4, classes = 10, input = "noise", proxies = "synflow" })
    assert.is_true(na[1].naswot ~= na[1].naswot) -- NaN when not computed
  end)

  it("caches scores in an appended gzip CSV and reloads them", function()
    local path = os.tmpname() .. ".csv.gz"
    local o = { side = 16, batch = 4, classes = 10, input = "noise", reference = 4, cache = path }
    local E = H.proxy_estimator(o)
    assert.are.equal(0, E.cached)
    local archs = H.sample(H.space {}, 3, pg.rng(13))
    E:prefetch(archs, "A")
    assert.are.equal(3, E.computed)
    E:prefetch(archs, "A") -- nothing new
    assert.are.equal(3, E.computed)
    local acc1 = E:accuracy(archs[1], "A") -- calibrates: 2 x 4 reference networks + 3 anchors
    local n1 = E.computed
    assert.are.equal(3 + 8 + 3, n1)
    -- the combined score from the raw scores and the reference min / max
    local r = E:raw(archs[2], "A")
    local nz, lz = E.norm, 0
    local want = ((r.naswot - nz.lo.naswot) / (nz.hi.naswot - nz.lo.naswot)
                  + (r.logsynflow - nz.lo.logsynflow) / (nz.hi.logsynflow - nz.lo.logsynflow) + lz) / 3
    assert.is_true(math.abs(E:combined(archs[2], "A") - want) < 1e-12)
    -- the least-squares line through the three anchors
    local xs, ys = {}, {}
    for i, an in ipairs(E.cal.anchors) do xs[i], ys[i] = an.combined, an.top1 end
    local mx, my = (xs[1] + xs[2] + xs[3]) / 3, (ys[1] + ys[2] + ys[3]) / 3
    local b = ((xs[1] - mx) * (ys[1] - my) + (xs[2] - mx) * (ys[2] - my) + (xs[3] - mx) * (ys[3] - my))
              / ((xs[1] - mx) ^ 2 + (xs[2] - mx) ^ 2 + (xs[3] - mx) ^ 2)
    assert.is_true(math.abs(E.cal.slope - b) < 1e-9)
    assert.is_true(math.abs(acc1 - (my - b * mx + b * E:combined(archs[1], "A"))) < 1e-9)
    -- a new estimator on the same file recomputes nothing and agrees
    local E2 = H.proxy_estimator(o)
    assert.are.equal(n1, E2.cached)
    assert.are.equal(acc1, E2:accuracy(archs[1], "A"))
    assert.are.equal(0, E2.computed)
    local r2 = E2:raw(archs[2], "A")
    assert.are.equal(r.naswot, r2.naswot)
    assert.are.equal(r.logsynflow, r2.logsynflow)
    -- layout B is a different network
    E2:prefetch({ archs[1] }, "B")
    assert.are.equal(1, E2.computed)
    assert.are_not.equal(E2:raw(archs[1], "A").logsynflow, E2:raw(archs[1], "B").logsynflow)
    os.remove(path)
  end)

  it("plugs into the problem: accuracy from the estimator, F from Eq. 1", function()
    local path = os.tmpname() .. ".csv.gz"
    local E = H.proxy_estimator { side = 16, batch = 4, classes = 10, input = "noise", reference = 4, cache = path }
    local lut = { t = {}, macs = {}, params = {}, fixed_macs = 0, layout = "A" }
    for l = 1, H.L do
      lut.t[l] = {}
      for o = 1, 5 do lut.t[l][o] = {}; for f = 1, 10 do lut.t[l][o][f] = 0.01 * f end end
    end
    local prob = H.problem { lut = lut, bias = 0.1, target = 1.0, beta = -20, estimator = E, layout = "A" }
    local a = arch({ 1 }, 5)
    local F, acc, lat = prob:eval(a)
    assert.are.equal(E:accuracy(a, "A"), acc)
    assert.is_true(math.abs(lat - (20 * 0.05 + 0.1)) < 1e-12)
    assert.is_true(math.abs(F - (acc - 20 * math.abs(lat - 1))) < 1e-12)
    os.remove(path)
  end)

  it("finds its cache directory from the environment's rules", function()
    local d = H.cache_dir()
    local pc, xdg = os.getenv("PERIGEE_CACHE"), os.getenv("XDG_CACHE_HOME")
    if pc and pc ~= "" then assert.are.equal(pc, d)
    elseif xdg and xdg ~= "" then assert.are.equal(xdg .. "/perigee", d)
    else assert.are.equal(os.getenv("HOME") .. "/.cache/perigee", d) end
  end)
end)
