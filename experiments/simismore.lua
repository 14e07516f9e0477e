--- Sim-is-More on perigee: train a PPO controller on synthetic devices, log
-- the curves of the paper's Fig. 5, save the policy, then adapt on held-out
-- real devices with at most 10 latency measurements against random search
-- and greedy search with the same budget.
--
--   PERIGEE_DATA=/work/shared/data build/perigee experiments/simismore.lua [options]
--     --quick            1e5 timesteps (the public code's default) instead of 5e5
--     --timesteps N      training length
--     --seeds K          adaptation seeds per device (default 5)
--     --out DIR          output directory (default results/simismore)
--     --policy FILE      skip training and load this policy
--     --reward paper|code   reward form (default paper: p(h) + 1 - l(h))
--     --envs N           parallel environments during training (default 1)
--     --holdout a,b,...  held-out devices (default HELP's test split)
--     --ent X            entropy coefficient (default 0, the public code's)
--     --device           the observation carries the device estimate from the measured
--                        latencies (nasenv obs_device; the posterior under the synthetic prior)
--     --pool cost_models devices generated from perigee's cost models over random accelerator
--                        configurations (sm.cost_model_pool; the default without PERIGEE_DATA)
--     --pool-seed N      seed of the generated pool (default 1)
--     --proxies FILE     without PERIGEE_DATA: p(h) from a `perigee proxies --space nb201` table
--                        (default: the table of `perigee proxies --space nb201 --cache` when it
--                        is complete, else perigee's SkipScore); accuracy is then absent
--     --joint            one categorical over the 30 (edge, op) pairs instead of two heads
local pg = require "perigee"
local sm = pg.simismore

local args = { timesteps = 500000, seeds = 5, out = "results/simismore", reward = "paper", envs = 1 }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--help" or a == "-h" then
      pg.experiment.usage()
    elseif a == "--quick" then
      args.timesteps = 100000
    elseif a == "--timesteps" or a == "--seeds" or a == "--envs" or a == "--pool-seed" then
      args[a:sub(3):gsub("-", "_")] = math.tointeger(tonumber(arg[i + 1])) or error(a .. " needs an integer")
      i = i + 1
    elseif a == "--device" then
      args.device = true
    elseif a == "--joint" then
      args.joint = true
    elseif a == "--ent" then
      args.ent = tonumber(arg[i + 1]) or error("--ent needs a number")
      i = i + 1
    elseif a == "--out" or a == "--policy" or a == "--reward" or a == "--holdout" or a == "--pool"
        or a == "--proxies" then
      args[a:sub(3)] = arg[i + 1] or error(a .. " needs a value")
      i = i + 1
    else
      error("unknown option " .. a)
    end
    i = i + 1
  end
end

local has_data = os.getenv("PERIGEE_DATA") and os.getenv("PERIGEE_DATA") ~= ""
if args.pool and args.pool ~= "cost_models" then error("--pool: only 'cost_models' is known") end
if not has_data and not args.proxies then
  -- the whole-space table of `perigee proxies --space nb201 --cache`, when complete
  local path = pg.proxy_cache.path({ batch = 64, seed = 0, input = "fmnist", repeats = 1, side = 32,
                                     classes = 10 }, "nb201")
  local t = io.open(path, "rb") and pg.proxy.load(path)
  local n = 0
  for _ in pairs(t or {}) do n = n + 1 end
  if n == sm.NCELLS then
    args.proxies = path
  else
    io.stderr:write("simismore: no complete NAS-Bench-201 proxy table in the cache (", n, " of ", sm.NCELLS,
                    " cells in ", path, "); `perigee proxies --space nb201 --cache` computes it (about\n",
                    "40 minutes on 2 cores) and later runs use it\n")
  end
end
if not has_data then
  io.stderr:write("simismore: PERIGEE_DATA is not set: devices from perigee's cost models over random\n",
                  "accelerator configurations, p(h) from ", args.proxies or "perigee's SkipScore",
                  ", no accuracy (for the published tables see /work/shared/research/data.md)\n")
  args.pool = "cost_models"
end

os.execute("mkdir -p '" .. args.out .. "'")
local holdout
if args.holdout then
  holdout = {}
  for name in args.holdout:gmatch("[^,]+") do holdout[#holdout + 1] = name end
end
local ctx = sm.setup { holdout = holdout, pool = args.pool, pool_opts = { seed = args.pool_seed or 1 },
                       proxies = args.proxies }
print("devices: " .. ctx.pool_source .. "; p(h): " .. ctx.tf_source .. "; accuracy: " ..
      (ctx.acc and "published" or "absent"))
if ctx.pool_source == "cost_models" then
  for _, d in ipairs(ctx.pool) do
    print(string.format("  %-24s %s", d.name, table.concat((function()
      local t = {} for o = 1, 5 do t[o] = string.format("%8.4f", d.lut[o]) end return t end)(), " ")))
  end
end
local env_opts = { reward = args.reward, obs_device = args.device }
io.write(string.format("training pool: %d devices; held out: ", #ctx.train_pool))
for i, d in ipairs(ctx.heldout) do io.write(i > 1 and ", " or "", d.name, d.table and "" or " (LUT)") end
io.write("\n")

-- ---- training (Fig. 5 curves) ----
local agent
if args.policy then
  agent = pg.ppo.load(args.policy)
  print("loaded policy " .. args.policy)
else
  print(string.format("training %d timesteps (gamma 0.6, clip 0.2, reward %s)", args.timesteps, args.reward))
  print(string.format("%10s %8s %8s %8s %8s %9s %8s %8s %8s", "timesteps", "p(h_T)", "1-l(h_T)",
                      "pct(h_T)", "acc(h_T)", "lat(ref)", "return", "train_R", "cpu_s"))
  local curve
  agent, curve = sm.train(ctx, {
    timesteps = args.timesteps, n_envs = args.envs, env = env_opts,
    agent = { ent_coef = args.ent, joint = args.joint },
    on_eval = function(r)
      print(string.format("%10d %8.4f %8.4f %8.2f %8s %9.3f %8.3f %8.3f %8.1f", r.timesteps, r.tf,
                          r.lbar, r.percentile, r.accuracy == r.accuracy and ("%.2f"):format(r.accuracy) or "-",
                          r.ref_latency, r.ret, r.train_return,
                          r.seconds))
    end,
  })
  sm.write_csv(args.out .. "/curves.csv", curve, { "timesteps", "tf", "lbar", "percentile",
    "accuracy", "ref_latency", "ret", "train_return", "seconds" })
  agent:save(args.out .. "/policy.ppo.gz")
  print("curves: " .. args.out .. "/curves.csv; policy: " .. args.out .. "/policy.ppo.gz")
end

-- ---- test-time adaptation on held-out devices ----
local methods = {
  { name = "controller", run = function(d, start, s)
      return sm.adapt(agent, ctx, d, { start = start, env = env_opts })
    end },
  { name = "controller_explore", run = function(d, start, s)
      return sm.adapt(agent, ctx, d, { start = start, explore = true, env = env_opts })
    end },
  { name = "controller_climb", run = function(d, start, s)
      return sm.adapt(agent, ctx, d, { start = start, climb = true, env = env_opts })
    end },
  { name = "controller_refine", run = function(d, start, s)
      return sm.adapt(agent, ctx, d, { start = start, refine = "lut", rng = pg.rng(s), env = env_opts })
    end },
  { name = "controller_sim", run = function(d, start, s)
      return sm.adapt_sim(agent, ctx, d, { start = start, env = env_opts })
    end },
  { name = "controller_stoch", run = function(d, start, s)
      return sm.adapt(agent, ctx, d, { start = start, deterministic = false, rng = pg.rng(s), env = env_opts })
    end },
  { name = "random", run = function(d, start, s)
      return sm.random_search(ctx, d, { start = start, rng = pg.rng(s), env = env_opts })
    end },
  { name = "greedy_lut", run = function(d, start, s)
      return sm.greedy_search(ctx, d, { start = start, rng = pg.rng(s), env = env_opts, guide = "lut" })
    end },
  { name = "greedy_rand", run = function(d, start, s)
      return sm.greedy_search(ctx, d, { start = start, rng = pg.rng(s), env = env_opts, guide = "random" })
    end },
}

if args.joint or agent:config().joint then -- explore/climb follow factored heads
  for i = #methods, 1, -1 do
    if methods[i].name == "controller_explore" or methods[i].name == "controller_climb" then
      table.remove(methods, i)
    end
  end
end

local rows, sum = {}, {}
for _, m in ipairs(methods) do
  sum[m.name] = { r = 0, r2 = 0, pct = 0, acc = 0, n = 0, meas = 0, wins = 0, ties = 0,
                  gw = 0, gt = 0, gl = 0, dev = {} }
end
print(string.format("\ntest-time adaptation: %d held-out devices x %d seeds, at most 10 measurements",
                    #ctx.heldout, args.seeds))
local fig6 = {}
for _, d in ipairs(ctx.heldout) do
  for s = 1, args.seeds do
    local start = pg.rng(1000 + s):integer(0, sm.NCELLS - 1) -- same start for every method/device
    local res = {}
    for _, m in ipairs(methods) do
      local r = m.run(d, start, s)
      res[m.name] = r
      rows[#rows + 1] = { device = d.name, seed = s, method = m.name, start = start, final = r.code,
                          arch = r.arch, reward = r.reward, percentile = r.percentile,
                          accuracy = r.accuracy, latency_ms = r.latency, proxy = r.tf,
                          measurements = r.measurements }
      local a = sum[m.name]
      a.r, a.r2, a.pct, a.n, a.meas = a.r + r.reward, a.r2 + r.reward ^ 2, a.pct + r.percentile, a.n + 1,
                                      a.meas + r.measurements
      a.acc = a.acc + (r.accuracy == r.accuracy and r.accuracy or 0)
      a.dev[d.name] = (a.dev[d.name] or 0) + r.reward / args.seeds
    end
    local g = res.greedy_lut.reward -- seed by seed against the LUT-guided greedy search
    for _, m in ipairs(methods) do
      local a, o = sum[m.name], res[m.name].reward
      if o > g + 1e-12 then a.gw = a.gw + 1 elseif o >= g - 1e-12 then a.gt = a.gt + 1 else a.gl = a.gl + 1 end
    end
    local c = res.controller.reward
    for _, m in ipairs(methods) do
      if m.name ~= "controller" then
        local o = res[m.name].reward
        if c > o + 1e-12 then
          sum[m.name].wins = sum[m.name].wins + 1
        elseif c >= o - 1e-12 then
          sum[m.name].ties = sum[m.name].ties + 1
        end
      end
    end
    if s == 1 then
      fig6[#fig6 + 1] = { device = d.name, start = sm.arch_string(start), res = res.controller,
                          sim = res.controller_sim }
    end
  end
end
sm.write_csv(args.out .. "/adaptation.csv", rows, { "device", "seed", "method", "start", "final",
  "arch", "reward", "percentile", "accuracy", "latency_ms", "proxy", "measurements" })

print(string.format("%-19s %8s %8s %9s %9s %8s %18s %16s", "method", "reward", "sd", "pct", "acc(%)",
                    "meas", "ctrl better/tie", "vs greedy b/t/w"))
for _, m in ipairs(methods) do
  local a = sum[m.name]
  local mean = a.r / a.n
  local sd = math.sqrt(math.max(0, a.r2 / a.n - mean * mean))
  print(string.format("%-19s %8.4f %8.4f %9.2f %9s %8.2f %18s %16s", m.name, mean, sd, a.pct / a.n,
                      ctx.acc and ("%.2f"):format(a.acc / a.n) or "-", a.meas / a.n,
                      m.name == "controller" and "-" or string.format("%d/%d of %d", a.wins, a.ties, a.n),
                      m.name == "greedy_lut" and "-" or string.format("%d/%d/%d", a.gw, a.gt, a.gl)))
end
io.write(string.format("\nmean reward per device (%d seeds)\n%-19s", args.seeds, "method"))
for _, d in ipairs(ctx.heldout) do io.write(string.format(" %10.10s", d.name)) end
io.write("\n")
for _, m in ipairs(methods) do
  io.write(string.format("%-19s", m.name))
  for _, d in ipairs(ctx.heldout) do io.write(string.format(" %10.4f", sum[m.name].dev[d.name])) end
  io.write("\n")
end
print("(reward = " .. (args.reward == "code" and "p(h) (1e-3 + l(h))^-0.3 - 1" or "p(h) + 1 - l(h)")
      .. " on the real device; pct = latency percentile among all 15625 cells, lower is faster;"
      .. " ctrl better/tie = seeds where the controller's reward is higher / equal;"
      .. " vs greedy b/t/w = seeds where the method is better / level / worse than greedy_lut)")

for _, which in ipairs { { "res", "controller" }, { "sim", "controller_sim" } } do
  print("\nFig. 6: same start (seed 1), final architecture chosen by " .. which[2] .. " per device")
  for _, f in ipairs(fig6) do
    local r = f[which[1]]
    local acc = r.accuracy == r.accuracy and ("%5.2f"):format(r.accuracy) or "    -"
    print(string.format("  %-10s %s  reward %.3f  pct %5.1f  acc %s", f.device, r.arch,
                        r.reward, r.percentile, acc))
  end
end
print("start: " .. (fig6[1] and fig6[1].start or "-"))
print("per-run rows: " .. args.out .. "/adaptation.csv")
