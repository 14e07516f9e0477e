-- bo_spec.lua -- perigee.bo (joint posterior samples, MC hypervolume and
-- noisy improvement), perigee.acqopt and the batch BO optimizers qehvi,
-- qnehvi, qnparego and pabo. Oracles: the GP module's full posterior
-- covariance, the closed-form 2-objective EHVI and the exact hypervolume
-- improvement of the Pareto module, hand-built fronts.
local pg = require "perigee"
local A = require "perigee.acqopt"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end

local function readall(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

-- a trained GP and its bo posterior on a 2-d toy problem
local function toy(seed, n, S, qmax, f)
  local r = pg.rng(seed)
  local X, y = {}, {}
  for i = 1, n do
    X[i] = { r:uniform(), r:uniform() }
    y[i] = f(X[i])
  end
  local g = pg.gp.exact { kernel = "matern52" }
  g:fit(X, y)
  return g, pg.bo.posterior(X, y, g:params(), { samples = S, qmax = qmax }), r
end

local function col(Z, j)
  local n = Z:shape()
  local t = {}
  for s = 1, n do t[s] = Z:get(s, j) end
  return t
end

describe("perigee.bo posterior", function()
  it("predicts like the GP module and samples its joint covariance", function()
    local g, P, r = toy(3, 25, 20000, 3, function(x) return math.sin(4 * x[1]) + x[2] end)
    local Xc = { { 0.2, 0.3 }, { 0.6, 0.1 }, { 0.62, 0.15 } }
    local mu, var = P:predict(Xc)
    local gm, cov = g:predict(Xc, { full = true })
    for i = 1, 3 do
      assert.near(gm:get(i, 1), mu[i], 1e-7 * math.max(1, math.abs(mu[i])))
      assert.near(cov:get(i, i), var[i], 1e-9 + 1e-6 * cov:get(i, i))
    end
    local Z = pg.bo.normal_qmc(20000, 3, r)
    P:add(Xc[1], col(Z, 1))
    P:add(Xc[2], col(Z, 2))
    local F = P:samples({ Xc[3] }, { mu[3] }, { var[3] }, col(Z, 3))
    local Fq = P:qsamples()
    local S = 20000
    local function f(i, s) if i <= 2 then return Fq:get(s, i) end return F:get(1, s) end
    for a = 1, 3 do
      for b = a, 3 do
        local ma, mb, c = 0, 0, 0
        for s = 1, S do ma = ma + f(a, s); mb = mb + f(b, s) end
        ma, mb = ma / S, mb / S
        for s = 1, S do c = c + (f(a, s) - ma) * (f(b, s) - mb) end
        c = c / (S - 1)
        local sd = math.sqrt(cov:get(a, a) * cov:get(b, b))
        -- sample covariance error ~ sd / sqrt(S); QMC is tighter
        assert.near(cov:get(a, b), c, 4 * sd / math.sqrt(S) + 1e-12)
        if a == b then assert.near(gm:get(a, 1), ma, 4 * math.sqrt(cov:get(a, a) / S)) end
      end
    end
  end)

  it("conditions consistently: a point's samples before and after it is added agree", function()
    local _, P, r = toy(5, 20, 64, 2, function(x) return x[1] * x[2] end)
    local x = { 0.4, 0.7 }
    local mu, var = P:predict({ x })
    local Z = pg.bo.normal_qmc(64, 2, r)
    P:add({ 0.1, 0.1 }, col(Z, 1))
    local before = P:samples({ x }, mu, var, col(Z, 2))
    P:add(x, col(Z, 2))
    local after = P:qsamples()
    for s = 1, 64 do assert.near(before:get(1, s), after:get(s, 2), 1e-9) end
  end)

  it("gives standard normal QMC base samples", function()
    assert.near(1.959963984540054, pg.bo.norminv(0.975), 1e-13)
    assert.near(-3.090232306167813, pg.bo.norminv(0.001), 1e-12)
    assert.near(0, pg.bo.norminv(0.5), 1e-15)
    local Z = pg.bo.normal_qmc(1024, 5, pg.rng(1))
    for j = 1, 5 do
      local m, v = 0, 0
      for s = 1, 1024 do m = m + Z:get(s, j) end
      m = m / 1024
      for s = 1, 1024 do v = v + (Z:get(s, j) - m) ^ 2 end
      v = v / 1023
      assert.is_true(math.abs(m) < 0.02 and math.abs(v - 1) < 0.05, ("col %d mean %g var %g"):format(j, m, v))
    end
    -- same rng state, same samples; another seed, other samples
    assert.equal(pg.bo.normal_qmc(8, 3, pg.rng(4)):get(5, 2), pg.bo.normal_qmc(8, 3, pg.rng(4)):get(5, 2))
    assert.are_not.equal(pg.bo.normal_qmc(8, 3, pg.rng(4)):get(5, 2), pg.bo.normal_qmc(8, 3, pg.rng(5)):get(5, 2))
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() pg.bo.posterior({ { 0, 0 } }, { 1, 2 }, { 0, 0, 0, -4 }) end)
    assert.has_error(function() pg.bo.posterior({ { 0, 0 } }, { 1 }, { 0, 0 }) end)
    assert.has_error(function() pg.bo.posterior({ { 0, 0 } }, { 0 / 0 }, { 0, 0, 0, -4 }) end)
    local _, P = toy(1, 5, 4, 1, function(x) return x[1] end)
    assert.has_error(function() P:add({ 0.5 }, { 0, 0, 0, 0 }) end)
    assert.has_error(function() P:add({ 0.5, 0.5 }, { 0, 0 }) end)
    P:add({ 0.5, 0.5 }, { 0, 0, 0, 0 })
    assert.has_error(function() P:add({ 0.2, 0.5 }, { 0, 0, 0, 0 }) end, nil) -- full (qmax = 1)
    assert.has_error(function() P:samples({ { 0.1, 0.1 } }, { 0 }, { -1 }, { 0, 0, 0, 0 }) end)
    assert.has_error(function() pg.bo.hvi({ pg.matrix { { 1 } } }, { {} }, { 1, 1 }) end)
    assert.has_error(function() pg.bo.nei(pg.matrix { { 1, 2 } }, { 1 }) end)
    assert.has_error(function() pg.bo.normal_qmc(0, 2, pg.rng(1)) end)
    assert.has_error(function() pg.bo.norminv(1) end)
  end)
end)

describe("perigee.bo hypervolume improvement", function()
  it("equals the exact improvement of the Pareto module (m = 2 and 3)", function()
    local r = pg.rng(11)
    for _, m in ipairs { 2, 3 } do
      local ref = {}
      for j = 1, m do ref[j] = 1 end
      for trial = 1, 5 do
        local S, nc = 3, 40
        local sets, F = {}, {}
        for s = 1, S do
          local pts = {}
          for i = 1, 6 + trial do
            local p = {}
            for j = 1, m do p[j] = r:uniform() * 1.1 end
            pts[i] = p
          end
          sets[s] = pts
        end
        local vals = {}
        for j = 1, m do vals[j] = {} end
        for c = 1, nc do
          for j = 1, m do
            vals[j][c] = {}
            for s = 1, S do vals[j][c][s] = r:uniform() * 1.2 - 0.1 end
          end
        end
        for j = 1, m do F[j] = pg.matrix(vals[j]) end
        local got = pg.bo.hvi(F, sets, ref)
        for c = 1, nc do
          local want = 0
          for s = 1, S do
            local y = {}
            for j = 1, m do y[j] = vals[j][c][s] end
            want = want + pg.hv_improvement(sets[s], ref, y)
          end
          assert.near(want / S, got[c], 1e-12)
        end
      end
    end
  end)

  it("scores a point that dominates more of the front higher (hand-built front)", function()
    -- front (0.2, 0.8), (0.5, 0.5), (0.8, 0.2), reference (1, 1)
    local front = { { 0.2, 0.8 }, { 0.5, 0.5 }, { 0.8, 0.2 } }
    local cands = { { 0.45, 0.45 }, { 0.15, 0.15 }, { 0.1, 0.1 }, { 0.9, 0.9 }, { 0.5, 0.5 } }
    local F1, F2 = {}, {}
    for i, c in ipairs(cands) do F1[i], F2[i] = { c[1] }, { c[2] } end
    local v = pg.bo.hvi({ pg.matrix(F1), pg.matrix(F2) }, { front }, { 1, 1 })
    -- hand value: (0.45, 0.45) adds the L-shaped strips [0.45, 0.5] x [0.45, 0.8]
    -- and [0.5, 0.8] x [0.45, 0.5]: 0.05 * 0.35 + 0.3 * 0.05 = 0.0325
    assert.near(0.0325, v[1], 1e-12)
    -- (0.15,0.15): box [0.15,1]^2 = 0.7225 minus HV(front) = 0.18+... -> exact oracle
    assert.near(pg.hv_improvement(front, { 1, 1 }, { 0.15, 0.15 }), v[2], 1e-12)
    assert.is_true(v[3] > v[2] and v[2] > v[1] and v[1] > v[4])
    assert.equal(0, v[4])
    assert.equal(0, v[5]) -- already on the front
  end)

  it("MC EHVI (q = 1, 2 objectives) agrees with the closed form within MC error", function()
    local S = 4096
    local g1, P1, r = toy(21, 30, S, 1, function(x) return (x[1] - 0.3) ^ 2 + 0.2 * x[2] end)
    local g2, P2 = toy(22, 30, S, 1, function(x) return (x[1] - 0.7) ^ 2 + 0.3 * (1 - x[2]) end)
    assert.is_truthy(g1 and g2)
    local front = { { 0.05, 0.3 }, { 0.1, 0.15 }, { 0.2, 0.05 } }
    local ref = { 0.5, 0.5 }
    local Z = pg.bo.normal_qmc(S, 2, r)
    local z1, z2 = col(Z, 1), col(Z, 2)
    local xs = { { 0.3, 0.1 }, { 0.5, 0.5 }, { 0.7, 0.9 }, { 0.45, 0.3 } }
    local m1, v1 = P1:predict(xs)
    local m2, v2 = P2:predict(xs)
    local F1, F2 = P1:samples(xs, m1, v1, z1), P2:samples(xs, m2, v2, z2)
    local sets = {}
    for s = 1, S do sets[s] = front end
    local mc = pg.bo.hvi({ F1, F2 }, sets, ref)
    local nonzero = 0
    for c = 1, #xs do
      local exact = pg.acq.ehvi({ m1[c], m2[c] }, { math.sqrt(v1[c]), math.sqrt(v2[c]) }, front, ref)
      -- per-sample improvements (each sample as its own candidate) for the standard error
      local a, b = {}, {}
      for s = 1, S do a[s], b[s] = { F1:get(c, s) }, { F2:get(c, s) } end
      local per = pg.bo.hvi({ pg.matrix(a), pg.matrix(b) }, { front }, ref)
      local mean, var = 0, 0
      for s = 1, S do mean = mean + per[s] end
      mean = mean / S
      for s = 1, S do var = var + (per[s] - mean) ^ 2 end
      local se = math.sqrt(var / (S - 1) / S)
      assert.near(mean, mc[c], 1e-12)
      assert.is_true(math.abs(mc[c] - exact) <= 4 * se + 1e-12,
                     ("candidate %d: MC %g, exact %g, se %g"):format(c, mc[c], exact, se))
      if exact > 1e-4 then nonzero = nonzero + 1 end
    end
    assert.is_true(nonzero >= 2)
  end)

  it("greedy q = 2 increments add up to the joint qEHVI of the Pareto module", function()
    local S = 256
    local _, P1, r = toy(31, 25, S, 2, function(x) return x[1] + 0.1 * x[2] end)
    local _, P2 = toy(32, 25, S, 2, function(x) return 1 - x[1] + 0.1 * x[2] end)
    local front = { { 0.3, 0.8 }, { 0.6, 0.45 }, { 0.9, 0.2 } }
    local ref = { 1.2, 1.2 }
    local Z = pg.bo.normal_qmc(S, 4, r)
    local x1, x2 = { 0.4, 0.2 }, { 0.7, 0.1 }
    local a1, b1 = P1:predict({ x1 })
    local a2, b2 = P2:predict({ x1 })
    local fs = {}
    for s = 1, S do fs[s] = front end
    local v1 = pg.bo.hvi({ P1:samples({ x1 }, a1, b1, col(Z, 1)), P2:samples({ x1 }, a2, b2, col(Z, 3)) }, fs, ref)[1]
    P1:add(x1, col(Z, 1))
    P2:add(x1, col(Z, 3))
    local q1, q2 = P1:qsamples(), P2:qsamples()
    local sets = {}
    for s = 1, S do sets[s] = { front[1], front[2], front[3], { q1:get(s, 1), q2:get(s, 1) } } end
    local c1, d1 = P1:predict({ x2 })
    local c2, d2 = P2:predict({ x2 })
    local G1, G2 = P1:samples({ x2 }, c1, d1, col(Z, 2)), P2:samples({ x2 }, c2, d2, col(Z, 4))
    local v2 = pg.bo.hvi({ G1, G2 }, sets, ref)[1]
    local joint = {}
    for s = 1, S do
      joint[s] = { { q1:get(s, 1), q2:get(s, 1) }, { G1:get(1, s), G2:get(1, s) } }
    end
    local want = pg.acq.qehvi(joint, front, ref)
    assert.near(want, v1 + v2, 1e-10)
    assert.is_true(v2 > 0)
  end)

  it("computes the noisy improvement increment", function()
    local F = pg.matrix { { 0.5, 1.0, 2.0 }, { -1, 3, 0 } }
    local v = pg.bo.nei(F, { 1, 1, 1 })
    assert.near((0.5 + 0 + 0) / 3, v[1], 1e-15)
    assert.near((2 + 0 + 1) / 3, v[2], 1e-15)
  end)
end)

describe("perigee.bo candidate store", function()
  it("samples and scores like the posterior's own samples, also after conditioning", function()
    local S = 64
    local _, P1, r = toy(51, 20, S, 3, function(x) return math.sin(3 * x[1]) + x[2] end)
    local _, P2 = toy(52, 20, S, 3, function(x) return math.cos(2 * x[2]) - x[1] end)
    local C = pg.bo.cands({ P1, P2 })
    local Z = pg.bo.normal_qmc(S, 6, r)
    local xs = {}
    for i = 1, 9 do xs[i] = { r:uniform(), r:uniform() } end
    local first, count = C:add(xs)
    assert.equal(1, first)
    assert.equal(9, count)
    assert.equal(9, C:count())
    local idx = { 3, 1, 9, 4 }
    local sub = {}
    for k, i in ipairs(idx) do sub[k] = xs[i] end
    local front = { { -0.5, 0.2 }, { 0.3, -0.4 }, { 0.8, -1.0 } }
    local ref = { 2, 2 }
    for round = 0, 2 do
      if round > 0 then -- condition both outputs on one more point
        P1:add(xs[round + 5], col(Z, 2 * round - 1))
        P2:add(xs[round + 5], col(Z, 2 * round))
      end
      local z1, z2 = col(Z, 5), col(Z, 6)
      local m1, v1 = P1:predict(sub)
      local m2, v2 = P2:predict(sub)
      local F1, F2 = P1:samples(sub, m1, v1, z1), P2:samples(sub, m2, v2, z2)
      local G = C:samples(idx, { z1, z2 })
      for k = 1, #idx do
        for s = 1, S do
          -- the store takes cov(x, q) as v_x . v_q with v = L^-1 k(X, .), the
          -- posterior as k(X, x) . K^-1 k(X, q): equal up to rounding
          assert.near(F1:get(k, s), G[1]:get(k, s), 1e-7)
          assert.near(F2:get(k, s), G[2]:get(k, s), 1e-7)
        end
      end
      local mu, var = C:moments(idx)
      for k = 1, #idx do
        assert.near(m1[k], mu[1][k], 1e-12)
        assert.near(v2[k], var[2][k], 1e-12)
      end
      -- fused acquisitions against the separate ones
      local sets = {}
      for s = 1, S do sets[s] = front end
      local want = pg.bo.hvi({ F1, F2 }, sets, ref)
      local got = C:score(idx, pg.bo.acq_hvi(sets, ref), { z1, z2 })
      local t = {}
      for s = 1, S do t[s] = 0.1 * s / S end
      local wn = pg.bo.nei(F1, t)
      local gn = C:score(idx, pg.bo.acq_nei(t), { z1, z2 })
      local wc = pg.bo.nei_cheb({ F1, F2 }, { 0.4, 0.6 }, 0.05, t)
      local gc = C:score(idx, pg.bo.acq_cheb({ 0.4, 0.6 }, 0.05, t), { z1, z2 })
      -- sets = front plus the samples of the conditioning points, built in C
      local q1, q2 = P1:qsamples(), P2:qsamples()
      local qsets = {}
      for s = 1, S do
        local set = { front[1], front[2], front[3] }
        for i = 1, round do set[#set + 1] = { q1:get(s, i), q2:get(s, i) } end
        qsets[s] = set
      end
      local wq = C:score(idx, pg.bo.acq_hvi(qsets, ref), { z1, z2 })
      local gq = C:score(idx, pg.bo.acq_hvi_q({ P1, P2 }, 1, front, ref), { z1, z2 })
      local gq2 = C:score(idx, pg.bo.acq_hvi_q({ P1, P2 }, 1, sets, ref, true), { z1, z2 })
      for k = 1, #idx do
        assert.equal(wq[k], gq[k])
        assert.equal(wq[k], gq2[k])
        assert.near(want[k], got[k], 1e-7)
        assert.near(wn[k], gn[k], 1e-7)
        assert.near(wc[k], gc[k], 1e-7)
      end
    end
  end)

  it("rejects bad arguments and dead posteriors", function()
    local _, P = toy(53, 8, 4, 1, function(x) return x[1] end)
    local C = pg.bo.cands({ P })
    assert.has_error(function() C:add({ { 0.1, 0.2, 0.3 } }) end)
    C:add({ { 0.1, 0.2 } })
    local acq = pg.bo.acq_nei({ 0, 0, 0, 0 })
    assert.has_error(function() C:score({ 2 }, acq, { { 0, 0, 0, 0 } }) end)
    assert.has_error(function() C:score({ 1 }, acq, { { 0, 0, 0 } }) end)
    assert.has_error(function() C:score({ 1 }, pg.bo.acq_nei({ 0, 0 }), { { 0, 0, 0, 0 } }) end)
    assert.has_error(function() C:score({ 1 }, pg.bo.acq_hvi({ {}, {}, {}, {} }, { 1, 1 }), { { 0, 0, 0, 0 } }) end)
    assert.has_error(function() pg.bo.cands({}) end)
    assert.has_error(function() pg.bo.acq_cheb({ -1, 1 }, 0.05, { 0 }) end)
    assert.equal(1, #C:score({ 1 }, acq, { { 0, 0, 0, 0 } }))
    getmetatable(P).__close(P)
    assert.has_error(function() C:score({ 1 }, acq, { { 0, 0, 0, 0 } }) end)
  end)
end)

describe("perigee.bo hyperparameter training", function()
  -- log densities of the priors of engine/bo.h, written out independently
  local function gamma_lp(a, b, t) return (a - 1) * t - b * math.exp(t) end
  local function lognormal_lp(mu, sd, t) return -t - 0.5 * ((t - mu) / sd) ^ 2 end
  local function data(seed, n, f)
    local r = pg.rng(seed)
    local X, y = {}, {}
    for i = 1, n do
      X[i] = { r:uniform(), r:uniform() }
      y[i] = f(X[i])
    end
    return X, y
  end
  -- LML of the GP module at theta (the oracle)
  local function lml(X, y, th)
    local g = pg.gp.exact { kernel = "matern52", train = 0 }
    g:fit(X, y)
    g:set_params(th)
    return g:loglik()
  end

  it("maximises LML + log prior (the GP module's LML as oracle), for both priors and none", function()
    local X, y = data(41, 18, function(x) return math.sin(5 * x[1]) + 0.3 * x[2] end)
    local priors = {
      gamma = function(th)
        return gamma_lp(3, 6, th[1]) + gamma_lp(3, 6, th[2]) + gamma_lp(2, 0.15, th[3]) + gamma_lp(1.1, 0.05, th[4])
      end,
      dimscaled = function(th)
        local mu = math.sqrt(2) + 0.5 * math.log(2)
        return lognormal_lp(mu, math.sqrt(3), th[1]) + lognormal_lp(mu, math.sqrt(3), th[2])
          + lognormal_lp(-4, 1, th[4])
      end,
      none = function() return 0 end,
    }
    for name, lp in pairs(priors) do
      local th, post = pg.bo.train(X, y, { 0, 0, 0, math.log(1e-2) },
                                   { prior = name ~= "none" and name or false, max_iter = 300 })
      local obj = function(t) return lml(X, y, t) + lp(t) end
      assert.near(obj(th), post, 1e-6 * math.max(1, math.abs(post)))
      -- a local maximum: no coordinate step improves it (away from the bounds)
      for i = 1, 4 do
        for _, h in ipairs { -1e-3, 1e-3 } do
          local t = { th[1], th[2], th[3], th[4] }
          t[i] = t[i] + h
          if t[i] > math.log(1e-4) + 1e-3 and t[i] < math.log(1e4) - 1e-3 and (i < 4 or t[i] < math.log(10)) then
            assert.is_true(obj(t) <= post + 1e-6, ("%s: step %g on parameter %d improves %g -> %g"):format(name, h, i,
                                                                                                          post, obj(t)))
          end
        end
      end
    end
  end)

  it("the Gamma prior keeps a weak dimension's lengthscale moderate where maximum likelihood drops it", function()
    -- y depends on x1 only: maximum likelihood sends l2 towards its bound 1e4;
    -- under Gamma(3, 6) a lengthscale of 100 costs 2 log 100 - 600 nats
    local X, y = data(43, 20, function(x) return math.sin(6 * x[1]) end)
    local ml = pg.bo.train(X, y, { 0, 0, 0, math.log(1e-2) }, { prior = false, max_iter = 300 })
    local map = pg.bo.train(X, y, { 0, 0, 0, math.log(1e-2) }, { prior = "gamma", max_iter = 300 })
    assert.is_true(ml[2] > math.log(100), "ML l2 = " .. math.exp(ml[2]))
    assert.is_true(map[2] < math.log(5), "MAP l2 = " .. math.exp(map[2]))
  end)

  it("rejects bad arguments", function()
    local X, y = data(1, 5, function(x) return x[1] end)
    assert.has_error(function() pg.bo.train(X, y, { 0, 0, 0 }) end)
    assert.has_error(function() pg.bo.train(X, { 1, 2 }, { 0, 0, 0, -4 }) end)
    assert.has_error(function() pg.bo.train(X, y, { 0, 0, 0, -4 }, { prior = "weird" }) end)
    assert.has_error(function() pg.bo.train(X, y, { 0, 0, 0, -4 }, { restarts = 3 }) end) -- needs an rng
    assert.has_error(function() pg.bo.train(X, y, { 0, 0, 0 / 0, -4 }) end)
    assert.equal(4, #pg.bo.train(X, y, { 0, 0, 0, -4 }, { restarts = 2, rng = pg.rng(1) }))
  end)
end)

describe("perigee.bo Chebyshev noisy improvement", function()
  it("equals the noisy improvement of the scalarised samples (brute force)", function()
    local r = pg.rng(5)
    local nc, S = 7, 9
    local v1, v2, G = {}, {}, {}
    local w, rho = { 0.3, 0.7 }, 0.05
    for c = 1, nc do
      v1[c], v2[c], G[c] = {}, {}, {}
      for s = 1, S do
        v1[c][s], v2[c][s] = r:uniform(), r:uniform()
        local a, b = w[1] * v1[c][s], w[2] * v2[c][s]
        G[c][s] = math.max(a, b) + rho * (a + b)
      end
    end
    local t = {}
    for s = 1, S do t[s] = 0.2 + 0.3 * r:uniform() end
    local got = pg.bo.nei_cheb({ pg.matrix(v1), pg.matrix(v2) }, w, rho, t)
    local want = pg.bo.nei(pg.matrix(G), t)
    for c = 1, nc do assert.near(want[c], got[c], 1e-15) end
    assert.has_error(function() pg.bo.nei_cheb({ pg.matrix(v1) }, w, rho, t) end)
    assert.has_error(function() pg.bo.nei_cheb({ pg.matrix(v1), pg.matrix(v2) }, { -1, 2 }, rho, t) end)
  end)
end)

describe("perigee.acqopt", function()
  it("normalises objectives and maps the reference point into the same units", function()
    local Yn, lo, hi = A.normalise { { 1, 10 }, { 3, 30 }, { 2, 50 } }
    assert.same({ 1, 10 }, lo)
    assert.same({ 3, 50 }, hi)
    assert.same({ { 0, 0 }, { 1, 0.5 }, { 0.5, 1 } }, Yn)
    assert.same({ 1.5, 1.25 }, A.to_unit({ 4, 60 }, lo, hi))
    -- nadir reference: front of Yn is {(0,0)} alone -> nadir + 10% of max(range, 1e-6)
    local ctx = { reference_point = { 4, 60 } }
    assert.same({ 1.5, 1.25 }, A.reference(ctx, {}, Yn, lo, hi))
    local r = A.reference(ctx, { ref = "nadir" }, { { 0, 1 }, { 1, 0 }, { 1, 1 } }, lo, hi)
    assert.near(1.1, r[1], 1e-12)
    assert.near(1.1, r[2], 1e-12)
    -- a constant objective keeps span 1
    local Yc = A.normalise { { 2, 7 }, { 4, 7 } }
    assert.same({ { 0, 0 }, { 1, 0 } }, Yc)
  end)

  it("Chebyshev scalarisation ranks a dominating point better for every weight", function()
    local r = pg.rng(9)
    local Yn = A.normalise { { 0.2, 3 }, { 0.5, 1 }, { 0.9, 0.5 }, { 0.4, 0.9 }, { 0.6, 2 } }
    -- row 4 (0.4, 0.9) dominates row 5 (0.6, 2) and row 2 (0.5, 1)
    for _ = 1, 50 do
      local w = pg.acq.simplex_weights(2, r)
      local g = pg.acq.chebyshev(Yn, w, 0.05)
      assert.is_true(g[4] < g[5] and g[4] < g[2])
    end
    -- hand value: w = (0.25, 0.75), y = (0.4, 0.2): max(0.1, 0.15) + 0.05 * 0.25
    assert.near(0.15 + 0.05 * 0.25, pg.acq.chebyshev({ { 0.4, 0.2 } }, { 0.25, 0.75 }, 0.05)[1], 1e-15)
  end)

  it("builds the pattern-search neighbourhood (unit steps for reals and integers)", function()
    local sp = pg.space { pg.real("r", 0, 10), pg.int("i", 10, 512), pg.int("s", 1, 4), pg.ordinal("o", { 8, 16, 32 }),
                          pg.choice("c", { "a", "b", "c" }) }
    local ctx = { space = sp }
    local row = { 5, 100, 2, 0, 1 }
    local nb = A.neighbours(ctx, row, 0.1)
    local by = {}
    for _, r in ipairs(nb) do
      local diff = {}
      for j = 1, 5 do if r[j] ~= row[j] then diff[#diff + 1] = j end end
      assert.equal(1, #diff) -- one dimension at a time
      local j = diff[1]
      by[j] = by[j] or {}
      table.insert(by[j], r[j])
    end
    for _, t in pairs(by) do table.sort(t) end
    assert.near(4, by[1][1], 1e-12) -- real: +-0.1 of the range
    assert.near(6, by[1][2], 1e-12)
    -- int 10..512 (503 levels): +-0.1 of the range is about 50 levels, not 1
    assert.is_true(math.abs(by[2][1] - 50) <= 1 and math.abs(by[2][2] - 150) <= 1, by[2][1] .. " " .. by[2][2])
    assert.same({ 1, 3 }, by[3]) -- int 1..4: 0.1 of the range is less than a step: one step
    assert.same({ 1 }, by[4])   -- ordinal at level 0: up only
    assert.same({ 0, 2 }, by[5]) -- choice: every other level
    -- at the bounds the moves that leave the range are dropped
    local edge = A.neighbours(ctx, { 0, 10, 1, 2, 0 }, 0.05)
    for _, r in ipairs(edge) do
      assert.is_true(r[1] >= 0 and r[2] >= 10 and r[3] >= 1 and r[4] <= 2)
    end
  end)

  it("maximises over a discrete space with pool and local search", function()
    -- 3 ordinal dims of 9 levels; score = -distance to a corner point not in the pool
    local space = pg.space { pg.ordinal("a", { 0, 1, 2, 3, 4, 5, 6, 7, 8 }),
                             pg.ordinal("b", { 0, 1, 2, 3, 4, 5, 6, 7, 8 }),
                             pg.ordinal("c", { 0, 1, 2, 3, 4, 5, 6, 7, 8 }) }
    local ctx = { space = space, seen = {}, rng = pg.rng(2) }
    local target = { 7, 1, 5 }
    local function score(rows)
      local v = {}
      for i, x in ipairs(rows) do
        v[i] = -(math.abs(x[1] - target[1]) + math.abs(x[2] - target[2]) + math.abs(x[3] - target[3]))
      end
      return v
    end
    local out = A.batch(ctx, 3, function() return { score = score } end, { pool = 8, mutations = 0, restarts = 2 })
    assert.same(target, out[1])
    local d = {}
    for i, x in ipairs(out) do
      d[i] = math.abs(x[1] - 7) + math.abs(x[2] - 1) + math.abs(x[3] - 5)
    end
    assert.equal(1, d[2]) -- the next best points are neighbours, never a repeat
    assert.equal(1, d[3])
    assert.are_not.same(out[2], out[3])
  end)
end)

describe("batch BO optimizers", function()
  local names = { "qehvi", "qnehvi", "qnparego", "pabo" }

  local function run(name, seed, out, bench)
    return pg.experiment { benchmark = bench or "zdt1", benchmark_options = { n = 4 }, optimizer = name,
                           n_init = 10, iterations = 2, batch = 3, seed = seed, out = out,
                           quiet = true, plots = false }:go()
  end

  it("are deterministic per seed and differ between seeds", function()
    for _, name in ipairs(names) do
      local o1, o2, o3 = tmpdir(), tmpdir(), tmpdir()
      run(name, 7, o1)
      run(name, 7, o2)
      run(name, 8, o3)
      local f = "/" .. name .. "/seed%d/evaluations.csv"
      local a, b, c = readall(o1 .. f:format(7)), readall(o2 .. f:format(7)), readall(o3 .. f:format(8))
      assert.equal(a, b)
      assert.are_not.equal(a, c)
      os.execute("rm -rf " .. o1 .. " " .. o2 .. " " .. o3)
    end
  end)

  it("never propose a point twice on a small discrete space", function()
    local lv = { 0, 1, 2, 3 }
    local bench = {
      name = "tiny", objectives = { "f1", "f2" }, reference_point = { 20, 20 },
      space = pg.space { pg.ordinal("a", lv), pg.ordinal("b", lv), pg.ordinal("c", lv) },
      evaluate = function(x) return { x.a + 0.5 * x.b + x.c, (3 - x.a) + 0.5 * (3 - x.b) + x.c } end,
    }
    for _, name in ipairs(names) do
      local out = tmpdir()
      local res = pg.experiment { benchmark = bench, optimizer = name, n_init = 8, iterations = 6, batch = 8,
                                  seed = 1, out = out, quiet = true, plots = false }:go()
      assert.is_truthy(res)
      local recs = require("perigee.results").read_records(out .. "/" .. name .. "/seed1/evaluations.csv")
      local keys = {}
      for _, r in ipairs(recs) do
        local k = ("%s,%s,%s"):format(r.a, r.b, r.c)
        assert.is_nil(keys[k], name .. " proposed " .. k .. " twice")
        keys[k] = true
      end
      assert.equal(56, #recs)
      os.execute("rm -rf " .. out)
    end
  end)
end)
