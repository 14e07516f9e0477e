-- pareto_spec.lua -- perigee.pareto, perigee.hv*, indicators and perigee.acq
-- from Lua: values from hand computations, argument errors.
local pg = require "perigee"

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

describe("perigee.pareto", function()
  it("ranks fronts, duplicates share a rank", function()
    local r, nf = pg.pareto.sort { { 1, 2 }, { 2, 1 }, { 2, 2 }, { 1, 2 }, { 3, 3 } }
    assert.same({ 1, 1, 2, 1, 3 }, r)
    assert.equal(3, nf)
    local m = pg.matrix { { 1, 2 }, { 2, 1 }, { 2, 2 } }
    assert.same({ 1, 1, 2 }, (pg.pareto.sort(m)))
    assert.same({}, (pg.pareto.sort {}))
  end)

  it("filters non-dominated rows", function()
    assert.same({ 1, 2, 4 }, pg.pareto.filter { { 1, 2, 0 }, { 2, 1, 0 }, { 2, 2, 1 }, { 1, 2, 0 } })
    assert.same({ 1 }, pg.pareto.filter { 5, 5 })
  end)

  it("computes crowding distances", function()
    local cd = pg.pareto.crowding { { 0, 4 }, { 1, 3 }, { 3, 1 }, { 4, 0 }, { 2, 2 } }
    assert.equal(math.huge, cd[1])
    assert.equal(math.huge, cd[4])
    assert.is_true(close(cd[2], 1) and close(cd[3], 1) and close(cd[5], 1))
    local cd2 = pg.pareto.crowding({ { 0, 4 }, { 1, 3 }, { 3, 1 } }, { 1, 1, 2 })
    assert.same({ math.huge, math.huge, math.huge }, cd2)
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() pg.pareto.sort { { 0 / 0, 1 } } end)
    assert.has_error(function() pg.pareto.sort { { 1, 2 }, { 1 } } end)
    assert.has_error(function() pg.pareto.filter "x" end)
    assert.has_error(function() pg.pareto.crowding({ { 1, 2 } }, { 0 }) end)
    assert.is_true(pg.pareto.dominates({ 1, 1 }, { 1, 2 }))
    assert.is_false(pg.pareto.dominates({ 1, 2 }, { 1, 2 }))
  end)
end)

describe("perigee.hv", function()
  it("matches hand-computed volumes", function()
    -- union of [0.5,1]^2 and [0.2,1]x[0.8,1]: 0.25 + 0.3*0.2 = 0.31
    assert.is_true(close(pg.hv({ { 0.5, 0.5 }, { 0.2, 0.8 } }, { 1, 1 }), 0.31))
    -- 3-D: two boxes of volume 0.125 overlapping in 0.5*0.5*0.25
    local Y = { { 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.75 }, { 0.75, 0.5, 0.25 } }
    -- box1 0.125, box3 0.25*0.5*0.75 = 0.09375, overlap 0.25*0.5*0.5 = 0.0625
    assert.is_true(close(pg.hv(Y, { 1, 1, 1 }), 0.125 + 0.09375 - 0.0625))
    assert.equal(0, pg.hv({}, { 1, 1 }))
    assert.equal(0, pg.hv({ { 1, 0 } }, { 1, 1 }))
  end)

  it("gives contributions and improvements", function()
    local c = pg.hv_contrib({ { 0.5, 0.5 }, { 0.2, 0.8 }, { 0.5, 0.5 } }, { 1, 1 })
    assert.equal(0, c[1])
    assert.equal(0, c[3])
    assert.is_true(close(c[2], 0.3 * 0.2))
    local imp = pg.hv_improvement({ { 0.5, 0.5 } }, { 1, 1 }, { 0.2, 0.8 })
    assert.is_true(close(imp, 0.06))
    imp = pg.hv_improvement({ { 0.5, 0.5 } }, { 1, 1 }, { { 0.2, 0.8 }, { 0.8, 0.2 } })
    assert.is_true(close(imp, 0.12))
  end)

  it("estimates by Monte Carlo", function()
    local est, se = pg.hv_mc({ { 0.5, 0.5 }, { 0.2, 0.8 } }, { 1, 1 }, 20000, pg.rng(1))
    assert.is_true(se > 0 and math.abs(est - 0.31) < 5 * se)
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() pg.hv({ { 1, 2 } }, { 1, 2, 3 }) end)
    assert.has_error(function() pg.hv({ { 1, 2 } }, { 1, 0 / 0 }) end)
    assert.has_error(function() pg.hv({ { 1, 2 } }) end)
    assert.has_error(function() pg.hv_improvement({ { 1, 2 } }, { 3, 3 }, { 1, 2, 3 }) end)
    assert.has_error(function() pg.hv_mc({ { 1, 2 } }, { 3, 3 }, 0, pg.rng(1)) end)
    assert.has_error(function() pg.hv_mc({ { 1, 2 } }, { 3, 3 }, 10, {}) end)
  end)
end)

describe("indicators", function()
  it("match hand cases", function()
    local front = { { 0, 1 }, { 1, 0 } }
    assert.is_true(close(pg.igd({ { 0, 2 } }, front), (1 + math.sqrt(5)) / 2))
    assert.is_true(close(pg.igd_plus({ { 0, 2 } }, front), 1.5))
    assert.is_true(close(pg.gd({ { 0, 2 } }, front), 1))
    assert.is_true(close(pg.gd_plus({ { 0, 2 } }, front), 1))
    assert.is_true(close(pg.epsilon({ { 0, 2 } }, front), 2))
    assert.equal(0, pg.igd(front, front))
  end)

  it("raise on bad arguments", function()
    assert.has_error(function() pg.igd({}, { { 0, 1 } }) end)
    assert.has_error(function() pg.igd({ { 0, 1 } }, { { 0, 1, 2 } }) end)
    assert.has_error(function() pg.igd_plus({ { 0, 1 } }, { { 0, 1 / 0 } }) end)
  end)
end)

describe("perigee.acq", function()
  local front = { { 0.1, 0.9 }, { 0.3, 0.6 }, { 0.5, 0.5 }, { 0.7, 0.2 } }

  it("computes EI, log-EI and bounds", function()
    assert.is_true(close(pg.acq.ei(0, 1, 0), 1 / math.sqrt(2 * math.pi)))
    assert.is_true(close(pg.acq.logei(0, 1, 0), math.log(1 / math.sqrt(2 * math.pi))))
    assert.equal(1, pg.acq.ei(-1, 0, 0))
    local v = pg.acq.ei({ 0, -1 }, { 1, 0 }, 0)
    assert.is_true(close(v[1], 1 / math.sqrt(2 * math.pi)) and v[2] == 1)
    -- far tail: finite and close to -z^2/2 - log sqrt(2 pi) - 2 log|z|
    local z = -200
    assert.is_true(close(pg.acq.logei(200, 1, 0), -z * z / 2 - 0.5 * math.log(2 * math.pi) - 2 * math.log(200), 1e-3))
    assert.same({ -1, 1 }, pg.acq.lcb({ 0, 2 }, { 0.5, 0.5 }, 2))
    assert.equal(1, pg.acq.ucb(0, 0.5, 2))
    assert.has_error(function() pg.acq.ei(0, -1, 0) end)
    assert.has_error(function() pg.acq.ei({ 0, 1 }, { 1 }, 0) end)
    assert.has_error(function() pg.acq.ei(0, 1, 0 / 0) end)
  end)

  it("EHVI matches deterministic improvement and Monte Carlo", function()
    -- zero variance: EHVI = HVI
    local e = pg.acq.ehvi({ 0.4, 0.4 }, { 0, 0 }, front, { 1, 1 })
    assert.is_true(close(e, pg.hv_improvement(front, { 1, 1 }, { 0.4, 0.4 })))
    local r = pg.rng(3)
    local S = {}
    for s = 1, 20000 do S[s] = { { 0.4 + 0.1 * r:normal(), 0.4 + 0.2 * r:normal() } } end
    local q, se = pg.acq.qehvi(S, front, { 1, 1 })
    local ex = pg.acq.ehvi({ 0.4, 0.4 }, { 0.1, 0.2 }, front, { 1, 1 })
    assert.is_true(math.abs(q - ex) < 4 * se)
    local t = pg.acq.ehvi({ { 0.4, 0.4 }, { 2, 2 } }, { { 0, 0 }, { 0, 0 } }, front, { 1, 1 })
    assert.equal(2, #t)
    assert.equal(0, t[2])
    assert.has_error(function() pg.acq.ehvi({ 0.4, 0.4, 1 }, { 0, 0, 0 }, front, { 1, 1, 1 }) end)
    assert.has_error(function() pg.acq.ehvi({ 0.4, 0.4 }, { 0, 0 }, front, { 1 }) end)
  end)

  it("qNEHVI and ParEGO helpers", function()
    local S = { { { 0.5, 0.5 }, { 0.2, 0.2 } }, { { 0.5, 0.5 }, { 0.6, 0.6 } } }
    local v = pg.acq.qnehvi(S, 1, { 1, 1 })
    assert.is_true(close(v, (0.64 - 0.25) / 2))
    assert.has_error(function() pg.acq.qnehvi(S, 2, { 1, 1 }) end)
    local w = pg.acq.simplex_weights(3, pg.rng(1))
    assert.is_true(close(w[1] + w[2] + w[3], 1, 1e-14))
    local c = pg.acq.chebyshev({ { 0.2, 0.8 } }, { 0.25, 0.75 }, 0)
    assert.is_true(close(c[1], 0.6))
    assert.has_error(function() pg.acq.chebyshev({ { 0.2, 0.8 } }, { 1 }) end)
    assert.has_error(function() pg.acq.simplex_weights(0, pg.rng(1)) end)
  end)
end)
