-- perigee.simismore: the device pool generated from perigee's cost models,
-- perigee's own proxy without data, and the device estimate of the NAS
-- environment (obs_device).
local pg = require "perigee"
local ppo = pg.ppo
local sm = require "perigee.simismore"

local function homogeneous(op)
  return ("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|"):format(op, op, op, op, op, op)
end

describe("the cost-model device pool", function()
  local pool = sm.cost_model_pool { n = 8, seed = 3 }

  it("gives n devices of 5 positive per-op latencies (ms)", function()
    assert.are.equal(8, #pool)
    local names = {}
    for _, d in ipairs(pool) do
      assert.are.equal(5, #d.lut)
      for o = 1, 5 do assert.is_true(d.lut[o] > 0 and d.lut[o] < 1e6) end
      assert.is_nil(names[d.name])
      names[d.name] = true
    end
  end)

  it("orders the operations as the cost models imply", function()
    for _, d in ipairs(pool) do
      local t = d.lut -- none, skip, avg_pool_3x3, conv1x1, conv3x3
      assert.is_true(t[5] > t[4], d.name) -- 9x the MACs of the 1x1 convolution, same traffic
      assert.is_true(t[4] > t[1], d.name) -- a convolution against nothing
      assert.is_true(t[3] > t[1], d.name) -- a pooling against nothing
      assert.is_true(t[2] >= t[1], d.name)
    end
  end)

  it("respects the systolic array's compute bound", function()
    local sys = sm.cost_model_pool { n = 3, seed = 9, engines = "systolic" }
    local net = pg.hw.network.nb201(homogeneous("nor_conv_3x3"), { C = 16, N = 5, input = 32, classes = 10 })
    local macs = net:macs()
    for _, d in ipairs(sys) do
      local c = d.config
      assert.are.equal("systolic", c.engine)
      -- the all-3x3 network cannot run faster than its MACs on rows x cols PEs
      local bound_ms = macs / (c.rows * c.cols * c.clock_hz) * 1e3
      assert.is_true(6 * d.lut[5] >= bound_ms, d.name)
    end
    for _, d in ipairs(sm.cost_model_pool { n = 2, seed = 9, engines = "dataflow" }) do
      assert.are.equal("dataflow", d.config.engine)
    end
  end)

  it("is deterministic for a seed", function()
    local again, other = sm.cost_model_pool { n = 8, seed = 3 }, sm.cost_model_pool { n = 8, seed = 4 }
    local differs = false
    for i = 1, 8 do
      assert.are.equal(pool[i].name, again[i].name)
      for o = 1, 5 do
        assert.are.equal(pool[i].lut[o], again[i].lut[o])
        differs = differs or pool[i].lut[o] ~= other[i].lut[o]
      end
    end
    assert.is_true(differs)
  end)

  it("validates its options", function()
    assert.has_error(function() sm.cost_model_pool { n = 0 } end)
    assert.has_error(function() sm.cost_model_pool { engines = "gpu" } end)
  end)

  it("sets up an experiment without data: generated devices and perigee's SkipScore", function()
    local ctx = sm.setup { data_dir = false, pool = "cost_models", pool_opts = { n = 10, seed = 2 } }
    assert.are.equal(4, #ctx.train_pool)
    assert.are.equal(6, #ctx.heldout)
    assert.are.equal("cost_models", ctx.pool_source)
    assert.is_nil(ctx.acc)
    -- tf is the min-max normalised SkipScore: recompute two cells
    local lo, hi = math.huge, -math.huge
    local raw = {}
    for code = 0, sm.NCELLS - 1 do
      raw[code] = pg.proxy.skipscore(sm.arch_string(code))
      lo, hi = math.min(lo, raw[code]), math.max(hi, raw[code])
    end
    for _, code in ipairs { 0, 1234, 15624 } do
      assert.is_true(math.abs(ctx.tf[code + 1] - (raw[code] - lo) / (hi - lo)) < 1e-12)
    end
    -- held-out devices are LUT devices of the generated pool
    for _, d in ipairs(ctx.heldout) do
      assert.is_nil(d.table)
      assert.are.equal(5, #d.lut)
    end
  end)
end)

describe("the device estimate (obs_device)", function()
  local mu_pool = { { 0.2, 0.3, 1, 2, 4 }, { 0.4, 0.3, 1.5, 3, 5 }, { 0.3, 0.2, 0.8, 1, 6 } }
  local tf = {}
  for i = 1, sm.NCELLS do tf[i] = (i * 7919 % 1000) / 1000 end
  local data = ppo.nasdata(tf, mu_pool)

  it("adds 5 inputs and equals the Gaussian posterior after one measurement", function()
    local env = ppo.nasenv(data, { obs_device = true, dev_noise = 0.1 })
    local lut = { 0.25, 0.35, 1.2, 2.2, 5.5 }
    env:set_device { lut = lut }
    local start = 1234
    local obs = env:reset(start)
    assert.are.equal(ppo.NAS_OBS_DIM_DEVICE, #obs)
    assert.are.equal(246, env:info().obs_dim)
    -- closed form: m = mu + S a (y - a'mu) / (a' S a + s^2), S = diag(sigma^2)
    local fit = data:fit()
    local n = { 0, 0, 0, 0, 0 }
    for _, o in ipairs(ppo.decode(start)) do n[o + 1] = n[o + 1] + 1 end
    local y, amu, asa = 0, 0, 0
    for o = 1, 5 do
      y = y + n[o] * lut[o]
      amu = amu + n[o] * fit.mu[o]
      asa = asa + n[o] * n[o] * fit.sigma[o] ^ 2
    end
    local s = 0.1 * y + 1e-6 * env:info().lat_scale
    local est = env:info().device_estimate
    local m = {}
    for o = 1, 5 do
      m[o] = fit.mu[o] + fit.sigma[o] ^ 2 * n[o] * (y - amu) / (asa + s * s)
      assert.is_true(math.abs(est[o] - m[o]) < 1e-9 * (1 + math.abs(m[o])))
    end
    -- the observation's last 5 inputs: the estimate min-max scaled
    local lo, hi = math.min(table.unpack(m)), math.max(table.unpack(m))
    for o = 1, 5 do
      assert.is_true(math.abs(obs[241 + o] - (m[o] - lo) / (hi - lo)) < 1e-9)
    end
  end)

  it("approaches the device's LUT as distinct cells are measured", function()
    local env = ppo.nasenv(data, { obs_device = true, dev_noise = 0.01, seed = 4 })
    local lut = { 0.25, 0.35, 1.2, 2.2, 5.5 }
    env:set_device { lut = lut }
    env:reset(0)
    local r = pg.rng(7)
    for _ = 1, 40 do env:step { r:integer(1, 6), r:integer(1, 5) } end
    local est = env:info().device_estimate
    for o = 1, 5 do assert.is_true(math.abs(est[o] - lut[o]) < 0.05 * lut[o] + 0.02, o) end
    -- without the option: 241 inputs, no estimate
    local plain = ppo.nasenv(data)
    assert.are.equal(241, #plain:reset(0))
    assert.is_nil(plain:info().device_estimate)
    assert.has_error(function() ppo.nasenv(data, { dev_noise = 0 }) end)
  end)
end)

describe("test-time adaptation through the estimated device (adapt_sim)", function()
  it("spends the budget on distinct cells and agrees with the environment's estimate", function()
    local ctx = sm.setup {
      data_dir = false, holdout = { "d4" },
      tf = function(ops)
        local s = 0
        for i = 1, 6 do s = s + (ops[i] >= 3 and 1 or 0) end
        return s / 6
      end,
      pool = { { name = "d1", lut = { 0.2, 0.3, 1, 2, 4 } }, { name = "d2", lut = { 0.4, 0.3, 1.5, 3, 5 } },
               { name = "d3", lut = { 0.3, 0.2, 0.8, 1, 6 } }, { name = "d4", lut = { 0.5, 0.5, 1, 2.5, 3 } } },
    }
    local eo = { obs_device = true }
    local agent = sm.train(ctx, { timesteps = 2048, eval_every = 2048, eval_episodes = 1,
                                  agent = { hidden = { 16 } }, env = eo })
    local d = ctx.heldout[1]
    local res = sm.adapt_sim(agent, ctx, d, { start = 100, env = eo })
    assert.are.equal(10, res.measurements)
    local seen = {}
    for _, c in ipairs(res.trajectory) do
      assert.is_nil(seen[c])
      seen[c] = true
    end
    local env = ppo.nasenv(ctx.data, eo)
    env:set_device { lut = d.lut }
    assert.is_true(res.reward >= env:reward_of(100) - 1e-12)
    -- the Lua estimate equals the C environment's after the same measurements
    env:reset(100)
    env:step { 2, 4 }
    env:step { 5, 1 }
    local cells = env:measured()
    local lats = {}
    for i, c in ipairs(cells) do lats[i] = env:latency(c) end
    local m = sm.device_estimate(ctx.data:fit(), cells, lats, 0.05, env:info().lat_scale)
    local est = env:info().device_estimate
    for o = 1, 5 do assert.is_true(math.abs(m[o] - est[o]) < 1e-9 * (1 + est[o])) end
  end)
end)

describe("the update threads of ppo.new", function()
  it("give the same policy with one or two threads", function()
    local function run(t)
      local a = ppo.new { obs_dim = 2, heads = { 4 }, hidden = { 16, 16 }, n_steps = 100, batch_size = 32,
                          n_epochs = 3, seed = 3, threads = t }
      local r = pg.rng(2)
      local env = { obs_dim = 2, heads = { 4 }, reset = function() return { 1, 0 } end,
                    step = function(_, act) return { 1, 0 }, (act[1] == 3 and 1 or 0) + 0.1 * r:normal(), true, false end }
      a:learn(env, 300)
      return a:probs { 1, 0 }[1]
    end
    local on, off = run("on"), run("off")
    for k = 1, 4 do assert.are.equal(on[k], off[k]) end
    assert.is_true(on[3] > 0.25) -- it learned something
    assert.has_error(function() ppo.new { obs_dim = 2, heads = { 4 }, threads = "many" } end)
  end)
end)
