-- perigee.ppo and perigee.simismore: Lua environments, NAS-Bench-201
-- environment, files, errors, the Sim-is-More glue with and without data.
local pg = require "perigee"
local ppo = pg.ppo
local sm = require "perigee.simismore"

-- Bandit written in Lua: one step per episode, arm 3 pays most.
local function bandit()
  local means = { 0.1, 0.4, 0.9, 0.2 }
  local r = pg.rng(5)
  return {
    obs_dim = 2, heads = { 4 }, steps = 0,
    reset = function(self) return { 1, 0 } end,
    step = function(self, a)
      self.steps = self.steps + 1
      return { 1, 0 }, means[a[1]] + 0.2 * r:normal(), true, false
    end,
  }
end

local function small_agent(extra)
  local cfg = { obs_dim = 2, heads = { 4 }, hidden = { 16, 16 }, n_steps = 128, batch_size = 32,
                n_epochs = 4, lr = 3e-3, seed = 1 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return ppo.new(cfg)
end

describe("perigee.ppo with a Lua environment", function()
  it("learns the best arm of a bandit written in Lua", function()
    local env, agent = bandit(), small_agent()
    local st = agent:learn(env, 128 * 15)
    assert.are.equal(128 * 15, st.timesteps)
    assert.are.equal(128 * 15, env.steps)
    assert.is_true(st.episodes > 0 and st.ep_len_mean == 1)
    local a = agent:act({ 1, 0 }, true)
    assert.are.equal(3, a[1])
    local p = agent:probs({ 1, 0 })
    assert.is_true(p[1][3] > 0.9)
    local s = 0
    for i = 1, 4 do s = s + p[1][i] end
    assert.is_true(math.abs(s - 1) < 1e-12)
  end)

  it("gives the same result for the same seed and differs otherwise", function()
    local a1, a2, a3 = small_agent(), small_agent(), small_agent { seed = 2 }
    a1:learn(bandit(), 256)
    a2:learn(bandit(), 256)
    a3:learn(bandit(), 256)
    local p1, p2, p3 = a1:probs({ 1, 0 })[1], a2:probs({ 1, 0 })[1], a3:probs({ 1, 0 })[1]
    for i = 1, 4 do assert.are.equal(p1[i], p2[i]) end
    assert.are_not.equal(p1[1], p3[1])
  end)

  it("accepts a list of environments", function()
    local agent = small_agent { n_steps = 32 }
    local st = agent:learn({ bandit(), bandit() }, 64)
    assert.are.equal(64, st.timesteps)
  end)

  it("re-raises errors from the environment with their message", function()
    local agent = small_agent()
    local env = bandit()
    env.step = function() error("boom in step") end
    local ok, err = pcall(agent.learn, agent, env, 10)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom in step", 1, true))
    env = bandit()
    env.reset = function() return { 1, 2, 3 } end
    ok, err = pcall(agent.learn, agent, env, 10)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("expected 2", 1, true))
    env = bandit()
    env.step = function() return { 1, 0 }, 0 / 0, true, false end
    ok, err = pcall(agent.learn, agent, env, 10)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("finite reward", 1, true))
    env = bandit()
    env.heads = { 5 }
    ok, err = pcall(agent.learn, agent, env, 10)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("obs_dim/heads", 1, true))
    env = bandit()
    env.obs_dim = nil
    assert.has_error(function() agent:learn(env, 10) end)
    -- the agent still works after the errors
    assert.are.equal(128, agent:learn(bandit(), 100).timesteps)
  end)

  it("validates options and arguments", function()
    assert.has_error(function() ppo.new {} end)
    assert.has_error(function() ppo.new { obs_dim = 3 } end)
    assert.has_error(function() ppo.new { obs_dim = 3, heads = { 2 }, gamma = 2 } end)
    assert.has_error(function() ppo.new { obs_dim = 3, heads = { 0 } } end)
    assert.has_error(function() ppo.new { obs_dim = 3, heads = { 2 }, activation = "sigmoid" } end)
    assert.has_error(function() ppo.new { obs_dim = 3, heads = { 2 }, shared = true, hidden = {} } end)
    assert.has_error(function() ppo.new { obs_dim = 3, heads = { 2 }, batch_size = 0 } end)
    local agent = small_agent()
    assert.has_error(function() agent:act({ 1, 2, 3 }, true) end)
    assert.has_error(function() agent:act({ 1, 0 / 0 }, true) end)
    assert.has_error(function() agent:act({ 1, 0 }) end) -- stochastic needs a generator
    assert.are.equal(1, #agent:act({ 1, 0 }, false, pg.rng(1)))
    assert.has_error(function() agent:learn(bandit(), -1) end)
    assert.has_error(function() agent:learn(42, 10) end)
  end)

  it("saves and loads a policy (gzip) with identical outputs", function()
    local agent = small_agent { shared = true, activation = "relu" }
    agent:learn(bandit(), 256)
    local path = os.tmpname()
    assert.is_true(agent:save(path))
    local f = assert(io.open(path, "rb"))
    local magic = f:read(2)
    f:close()
    assert.are.equal("\31\139", magic)
    local b = ppo.load(path)
    os.remove(path)
    local p, q = agent:probs({ 1, 0 })[1], b:probs({ 1, 0 })[1]
    for i = 1, 4 do assert.are.equal(p[i], q[i]) end
    local c = b:config()
    assert.is_true(c.shared)
    assert.are.equal("relu", c.activation)
    assert.are.equal(agent:nparams(), b:nparams())
    assert.has_error(function() ppo.load("/nonexistent/policy.gz") end)
  end)
end)

describe("the NAS-Bench-201 environment", function()
  local tf = {}
  for i = 1, 15625 do tf[i] = ((i * 37) % 101) / 100 end
  local pool = { { 0.5, 0.6, 1.0, 2.0, 4.0 }, { 0.7, 0.4, 1.4, 3.0, 6.0 } }
  local data = ppo.nasdata(tf, pool)

  it("encodes cells and parses architecture strings", function()
    local s = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    local code, ops = sm.parse_arch(s)
    assert.are.same({ 2, 3, 1, 3, 1, 1 }, ops)
    assert.are.equal(((((2 * 5 + 3) * 5 + 1) * 5 + 3) * 5 + 1) * 5 + 1, code)
    assert.are.equal(s, sm.arch_string(code))
    assert.are.same(ops, ppo.decode(code))
    assert.has_error(function() sm.parse_arch("|conv~0|") end)
    assert.has_error(function() ppo.decode(15625) end)
    assert.has_error(function() ppo.encode { 0, 0, 0, 0, 0, 5 } end)
  end)

  it("resets and steps with 241-dimensional observations and 1-based actions", function()
    local env = ppo.nasenv(data, { start = 0, seed = 3 })
    local obs = env:reset()
    assert.are.equal(241, #obs)
    local o, r, term, trunc = env:step { 3, 5 } -- edge 3 -> nor_conv_3x3
    assert.are.equal(241, #o)
    assert.are.equal(4 * 125, env:cell())
    assert.is_false(term)
    assert.is_false(trunc)
    local lut = env:lut()
    local lat = 5 * lut[1] + lut[5]
    assert.is_true(math.abs(env:latency(500) - lat) < 1e-12)
    local l = (lat - 6 * math.min(table.unpack(lut))) / (6 * math.max(table.unpack(lut)) - 6 * math.min(table.unpack(lut)))
    assert.is_true(math.abs(r - (tf[501] + 1 - l)) < 1e-12)
    assert.has_error(function() env:step { 7, 1 } end)
    assert.has_error(function() env:step { 1, 0 } end)
    assert.has_error(function() env:set_device { lut = { 1, 2 } } end)
    assert.has_error(function() ppo.nasenv(data, { reward = "other" }) end)
    assert.has_error(function() ppo.nasdata({ 1, 2 }, pool) end)
    assert.has_error(function() ppo.nasdata(tf, { { 1, 2, 3, 4, -1 } }) end)
  end)

  it("trains an agent on the C environment and runs episodes in C", function()
    local agent = ppo.new { obs_dim = ppo.NAS_OBS_DIM, heads = { 6, 5 }, n_steps = 256, gamma = 0.6,
                            seed = 3, hidden = { 32 } }
    local env = ppo.nasenv(data, { seed = 1 })
    local st = agent:learn(env, 512)
    assert.are.equal(512, st.timesteps)
    local tr = agent:episode(env, { start = 0 })
    assert.are.equal(50, tr.steps)
    assert.are.equal(51, #tr.cells)
    assert.are.equal(0, tr.cells[1])
    assert.are.equal(tr.final, tr.cells[51])
    -- budget: at most 4 distinct cells are measured
    local env4 = ppo.nasenv(data, { budget = 4 })
    env4:set_device { lut = pool[2] }
    local t4 = agent:episode(env4, { start = 7, deterministic = false, rng = pg.rng(2) })
    assert.is_true(#env4:measured() <= 4)
    assert.are.equal(7, env4:measured()[1])
    -- explore and climb use the whole budget
    for _, o in ipairs { { explore = true }, { explore = true, climb = true } } do
      o.start = 7
      local t = agent:episode(env4, o)
      assert.are.equal(4, #env4:measured())
      assert.is_true(t.refused)
    end
    assert.has_error(function() agent:episode(env4, { climb = true }) end)
    assert.has_error(function() agent:episode(env, { start = 20000 }) end)
    local other = ppo.new { obs_dim = 3, heads = { 2 } }
    assert.has_error(function() other:episode(env) end)
  end)
end)

describe("perigee.simismore", function()
  it("explains what to do without data", function()
    local ok, err = pcall(sm.setup, { data_dir = false })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("PERIGEE_DATA", 1, true))
  end)

  it("runs end to end on a user-supplied proxy and pool (no data files)", function()
    -- a proxy preferring convolutions and a pool of 4 made-up devices
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
    assert.are.equal(3, #ctx.train_pool)
    assert.are.equal("d4", ctx.heldout[1].name)
    local agent, curve = sm.train(ctx, { timesteps = 2048, eval_every = 2048, eval_episodes = 2,
                                         agent = { hidden = { 16 } } })
    assert.are.equal(1, #curve)
    assert.are.equal(2048, curve[1].timesteps)
    local d = ctx.heldout[1]
    local a = sm.adapt(agent, ctx, d, { start = 100 })
    local r = sm.random_search(ctx, d, { start = 100, rng = pg.rng(1) })
    local g = sm.greedy_search(ctx, d, { start = 100, rng = pg.rng(1) })
    for _, res in ipairs { a, r, g } do
      assert.is_true(res.measurements >= 1 and res.measurements <= 10)
      assert.are.equal(res.code, (sm.parse_arch(res.arch)))
      assert.is_true(res.percentile >= 0 and res.percentile <= 100)
    end
    assert.are.equal(10, r.measurements)
    assert.are.equal(10, g.measurements)
    -- the best of 10 is at least as good as the start cell
    local env = ppo.nasenv(ctx.data)
    env:set_device { lut = d.lut }
    assert.is_true(r.reward >= env:reward_of(100) - 1e-12)
    assert.is_true(g.reward >= env:reward_of(100) - 1e-12)
    assert.has_error(function() sm.setup { data_dir = false, tf = function() return 0 end, pool = {}, holdout = {} } end)
  end)

  it("reads the published tables (needs PERIGEE_DATA)", function()
    local dir = os.getenv("PERIGEE_DATA")
    if not dir or dir == "" then
      pending("PERIGEE_DATA is not set: skipping the published-data checks")
      return
    end
    local t = sm.load_tables(dir, "c10")
    assert.are.equal(18, #t.pool)
    local best, n = -1, 0
    for i = 1, 15625 do
      assert.is_true(t.tf[i] >= 0 and t.tf[i] <= 1)
      if t.acc[i] > best then best = t.acc[i] end
      n = n + 1
    end
    assert.are.equal(15625, n)
    assert.is_true(math.abs(best - 94.373) < 1e-3) -- NATS-Bench best CIFAR-10 accuracy
    -- tf of index 0 recomputed by hand from the raw columns
    local cols = { "c10_naswot_fc", "c10_logsynflow_fc", "c10_skip_fc" }
    local raw = ppo.read_gzcsv(dir .. "/nb201_proxies.csv.gz", cols)
    local s = 0
    for _, c in ipairs(cols) do
      local lo, hi = math.huge, -math.huge
      for i = 1, raw._rows do lo, hi = math.min(lo, raw[c][i]), math.max(hi, raw[c][i]) end
      s = s + (raw[c][1] - lo) / (hi - lo)
    end
    local code0 = sm.parse_arch(sm.REF_ARCH)
    assert.is_true(math.abs(t.tf[code0 + 1] - s / 3) < 1e-12)
    -- measured raspi4 latency of index 0: 10.482 ms (HW-NAS-Bench README)
    local lat = t.measured("raspi4")
    assert.is_true(math.abs(lat[code0 + 1] - 10.482) < 1e-3)
    assert.is_nil(t.measured("edgegpu"))
  end)
end)
