--- perigee.simismore: Sim-is-More (Capuano, Tiboni, Cavagnero, Averta,
-- "Sim-is-More: Randomizing HW-NAS with Synthetic Devices") on perigee's PPO.
--
-- A PPO controller edits NAS-Bench-201 cells on synthetic devices (per-op
-- latencies drawn at every episode from Gaussians fitted to a device pool);
-- at test time it adapts to a real, held-out device from at most 10 latency
-- measurements. See docs/simismore.md.
--
--   local sm = require "perigee.simismore"
--   local ctx = sm.setup{}                         -- reads $PERIGEE_DATA
--   local agent, curve = sm.train(ctx, {timesteps = 1e5})
--   local res = sm.adapt(agent, ctx, ctx.heldout[1], {start = 1234})
--   local rs  = sm.random_search(ctx, ctx.heldout[1], {start = 1234, rng = pg.rng(1)})
--   local gs  = sm.greedy_search(ctx, ctx.heldout[1], {start = 1234, rng = pg.rng(1)})
--
-- Cells are identified by their code (0..15624): the base-5 number of the 6
-- op indices in Sim-is-More's encoding (0 none, 1 skip_connect,
-- 2 avg_pool_3x3, 3 nor_conv_1x1, 4 nor_conv_3x3), edge 0 most significant,
-- edges in the order of the NAS-Bench-201 string.
local core = require "perigee.core"
local ppo = core.ppo

local M = {}

M.OPS = { "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3" }
local OP_INDEX = {}
for i, name in ipairs(M.OPS) do OP_INDEX[name] = i - 1 end
M.NCELLS = 15625

--- HELP's test split (HELP README), the default held-out devices.
M.DEFAULT_HOLDOUT = { "titan_rtx", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss" }

-- per-op pool device name -> column of help_nb201_latency.csv.gz (GPUs and
-- the Essential phone at batch 1; edgegpu has no per-cell data)
local HELP_COLUMN = {
  ["1080ti"] = "1080ti_1", ["2080ti"] = "2080ti_1", titan_rtx = "titan_rtx_1", titanx = "titanx_1",
  titanxp = "titanxp_1", essential_ph = "essential_ph_1", gold_6226 = "gold_6226",
  gold_6240 = "gold_6240", silver_4114 = "silver_4114", silver_4210r = "silver_4210r",
  pixel2 = "pixel2", samsung_a50 = "samsung_a50", samsung_s7 = "samsung_s7", eyeriss = "eyeriss",
  fpga = "fpga", pixel3 = "pixel3", raspi4 = "raspi4",
}

local ACC_COLUMN = { c10 = "cifar10_test", c100 = "cifar100_oritest", in16 = "imagenet16_oritest" }

--- Cell code of a NAS-Bench-201 architecture string.
function M.parse_arch(s)
  local ops = {}
  for name in tostring(s):gmatch("|([%w_]+)~%d") do
    local o = OP_INDEX[name]
    if o == nil then error("parse_arch: unknown operation '" .. name .. "' in " .. s, 2) end
    ops[#ops + 1] = o
  end
  if #ops ~= 6 then error("parse_arch: expected 6 edges in " .. tostring(s), 2) end
  return ppo.encode(ops), ops
end

--- NAS-Bench-201 architecture string of a cell code.
function M.arch_string(code)
  local o = ppo.decode(code)
  local n = function(i) return M.OPS[o[i] + 1] end
  return string.format("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|", n(1), n(2), n(3), n(4), n(5), n(6))
end

local function data_dir(opts)
  if opts.data_dir == false then return nil end -- explicitly no data
  local d = opts.data_dir or os.getenv("PERIGEE_DATA")
  if d == "" then d = nil end
  return d
end

local function file(dir, name) return dir .. "/" .. name end

-- Min-max normalise a list over all its entries.
local function minmax(v)
  local lo, hi = math.huge, -math.huge
  for i = 1, #v do
    if v[i] < lo then lo = v[i] end
    if v[i] > hi then hi = v[i] end
  end
  local out, span = {}, hi - lo
  for i = 1, #v do out[i] = span > 0 and (v[i] - lo) / span or 0 end
  return out
end

--- Load the published tables from dir: proxies (tf by code, Sim-is-More's
-- combination: mean of min-max normalised NASWOT, LogSynflow and SkipScore
-- `_fc` columns, with the NASWOT sentinel quirk kept), accuracy by code, the
-- 18-device per-op pool, and a loader of per-cell measured latencies.
function M.load_tables(dir, dataset)
  dataset = dataset or "c10"
  if not ACC_COLUMN[dataset] then error("load_tables: dataset must be c10, c100 or in16", 2) end
  local cols = { "arch_str", dataset .. "_naswot_fc", dataset .. "_logsynflow_fc", dataset .. "_skip_fc" }
  local px = ppo.read_gzcsv(file(dir, "nb201_proxies.csv.gz"), cols)
  local n = px._rows
  assert(n == M.NCELLS, "nb201_proxies.csv.gz: expected 15625 rows")
  local codes = {}
  for i = 1, n do codes[i] = (M.parse_arch(px.arch_str[i])) end
  local a, b, c = minmax(px[cols[2]]), minmax(px[cols[3]]), minmax(px[cols[4]])
  local tf = {}
  for i = 1, n do tf[codes[i] + 1] = (a[i] + b[i] + c[i]) / 3 end
  local ac = ppo.read_gzcsv(file(dir, "nb201_acc.csv.gz"), { "arch_str", ACC_COLUMN[dataset] })
  local acc = {}
  for i = 1, ac._rows do acc[(M.parse_arch(ac.arch_str[i])) + 1] = ac[ACC_COLUMN[dataset]][i] end
  local pl = ppo.read_gzcsv(file(dir, "simismore_per_op_latency.csv.gz"), { "device", table.unpack(M.OPS) })
  local pool = {}
  for i = 1, pl._rows do
    local lut = {}
    for o = 1, 5 do lut[o] = pl[M.OPS[o]][i] end
    pool[i] = { name = pl.device[i], lut = lut }
  end
  local help_path = file(dir, "help_nb201_latency.csv.gz")
  -- per-cell measured latencies (ms) by code+1, or nil when not published
  local function measured(name)
    local col = HELP_COLUMN[name]
    if not col then return nil end
    local t = ppo.read_gzcsv(help_path, { "arch_str", col })
    local out = {}
    for i = 1, t._rows do out[(M.parse_arch(t.arch_str[i])) + 1] = t[col][i] end
    return out
  end
  return { tf = tf, acc = acc, pool = pool, measured = measured, dataset = dataset, codes = codes }
end

-- ---------------------------------------------------------------------
-- device pool from perigee's cost models
-- ---------------------------------------------------------------------

local DF_TEMPLATES = { "ascend_df", "edge_tpu_df", "meta_prototype_df", "tesla_npu_df", "tpu_df" }

-- log-uniform draw in [lo, hi]
local function loguni(rng, lo, hi) return lo * (hi / lo) ^ rng:uniform() end

-- Latency (s) of a perigee.hw network on a systolic device: per layer the
-- array's cycles (conv/fc), a vector unit for pooling and additions
-- (ops / lanes cycles), each at least its DRAM traffic (input + output +
-- weights, bytes / bandwidth: a roofline), plus a launch overhead.
local function systolic_seconds(cfg, arr, net)
  local L, R = net:layers(), arr:evaluate(net).layers
  local tot = 0
  for i, l in ipairs(L) do
    local comp
    if l.kind == "pool" or l.kind == "add" then
      comp = l.ops / cfg.lanes / cfg.clock_hz
    else
      comp = (R[i].total_cycles or 0) / cfg.clock_hz
    end
    local words = l.C * l.IY * l.IX + l.K * l.OY * l.OX + l.params
    if l.kind == "add" then words = words + l.C * l.IY * l.IX end
    local mem = words * cfg.bytes / (cfg.dram_gbs * 1e9)
    tot = tot + math.max(comp, mem) + cfg.launch_us * 1e-6
  end
  return tot
end

-- A random systolic configuration (perigee.hw.systolic, Scale-Sim model).
local function random_systolic(rng, i)
  local sizes = { 8, 16, 32, 64, 128 }
  local df = ({ "os", "ws", "is" })[rng:integer(1, 3)]
  local cfg = { engine = "systolic", rows = sizes[rng:integer(1, 5)], cols = sizes[rng:integer(1, 5)],
                dataflow = df, clock_hz = loguni(rng, 2e8, 2e9), lanes = 2 ^ rng:integer(3, 8),
                dram_gbs = loguni(rng, 4, 900), bytes = rng:integer(1, 2), launch_us = loguni(rng, 0.5, 30) }
  cfg.name = string.format("cm%02d_sys%dx%d%s", i, cfg.rows, cfg.cols, df)
  local arr = core.hw.systolic { rows = cfg.rows, cols = cfg.cols, dataflow = df, clock_hz = cfg.clock_hz,
                                 word_bytes = cfg.bytes, mode = "analytical" }
  return cfg, function(net) return systolic_seconds(cfg, arr, net) end
end

-- A random dataflow accelerator: a template of hardware/accelerators with
-- its spatial unrolling, on-chip memory sizes and DRAM bandwidth scaled by
-- random powers of two, a random clock; layer by layer without fusion, plus
-- a launch overhead per layer.
local function random_dataflow(rng, i)
  local tname = DF_TEMPLATES[rng:integer(1, #DF_TEMPLATES)]
  local d = core.hw.accelerator(tname):describe()
  for _, a in ipairs(d.array) do a.size = math.max(1, math.floor(a.size * 2 ^ rng:integer(-1, 1))) end
  local ms = 2 ^ rng:integer(-2, 1)
  for _, lv in ipairs(d.levels) do
    if lv.size and lv.size > 64 * 8 then lv.size = math.floor(lv.size * ms) end
  end
  local dram = d.levels[#d.levels]
  local bw = 2 ^ rng:integer(-2, 2)
  dram.r_bw, dram.w_bw, dram.bw = dram.r_bw * bw, dram.w_bw * bw, nil
  d.clock_hz = loguni(rng, 2e8, 2.2e9)
  d.name = string.format("cm%02d_%s", i, tname)
  local acc = core.hw.accelerator(d)
  local launch = loguni(rng, 0.5, 30)
  local cfg = { engine = "dataflow", template = tname, clock_hz = d.clock_hz, memory_scale = ms,
                dram_scale = bw, launch_us = launch, name = d.name }
  return cfg, function(net)
    local r = acc:evaluate(net, { schedule = "layer_by_layer", fuse = false, layers = false })
    return r.cycles / d.clock_hz + #net * launch * 1e-6
  end
end

--- Per-op latency pool from perigee's own cost models over random
-- accelerator configurations (for runs without $PERIGEE_DATA).
-- opts: n (18 devices), seed (1), engines ("both" | "systolic" | "dataflow";
-- both alternates), C (16), N (5), input (32), classes (10): the NAS-Bench-201
-- network on CIFAR-10. Device i's per-op latency t(o) is, as for HELP's
-- devices, the latency of the network whose 6 edges all carry op o, divided
-- by 6 (ms). Returns a list of {name =, lut = {5 ms}, config = {...}}, the
-- plain n x 5 pool that setup / pg.ppo.nasdata take. Deterministic for a seed.
function M.cost_model_pool(opts)
  opts = opts or {}
  local n = math.tointeger(opts.n or 18)
  if not n or n < 1 or n > 4096 then error("cost_model_pool: n must be an integer in 1..4096", 2) end
  local engines = opts.engines or "both"
  if engines ~= "both" and engines ~= "systolic" and engines ~= "dataflow" then
    error("cost_model_pool: engines must be 'both', 'systolic' or 'dataflow'", 2)
  end
  local rng = core.rng(opts.seed or 1)
  local nets = {}
  for o, name in ipairs(M.OPS) do
    local a = ("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|"):format(name, name, name, name, name, name)
    nets[o] = core.hw.network.nb201(a, { C = opts.C or 16, N = opts.N or 5, input = opts.input or 32,
                                         classes = opts.classes or 10 })
  end
  local pool = {}
  for i = 1, n do
    local sys = engines == "systolic" or (engines == "both" and i % 2 == 1)
    local cfg, seconds = (sys and random_systolic or random_dataflow)(rng, i)
    local lut = {}
    for o = 1, 5 do lut[o] = seconds(nets[o]) * 1e3 / 6 end
    pool[i] = { name = cfg.name, lut = lut, config = cfg }
  end
  return pool
end

--- Accuracy proxy without the published tables: perigee's own SkipScore
-- (pg.proxy.skipscore, closed form), or, given a table written by
-- `perigee proxies --space nb201` (opts.proxies = path), Sim-is-More's
-- combination of NASWOT, LogSynflow and SkipScore (mean of the min-max
-- normalised scores). Returns tf by code+1 in [0, 1] and a description.
function M.own_proxy(opts)
  opts = opts or {}
  local raw = {}
  if opts.proxies then
    local t, err = core.proxy.load(opts.proxies)
    if not t then error("own_proxy: " .. tostring(err), 2) end
    local cols = { naswot = {}, logsynflow = {}, skip = {} }
    for code = 0, M.NCELLS - 1 do
      local r = t[M.arch_string(code)]
      if not r then error("own_proxy: " .. opts.proxies .. " has no row for " .. M.arch_string(code), 2) end
      for k, v in pairs(cols) do
        local x = r[k]
        v[code + 1] = (x == x and x > -math.huge) and x or nil
      end
    end
    -- failed scores (-inf, NaN) take the column minimum
    for _, v in pairs(cols) do
      local lo = math.huge
      for code = 1, M.NCELLS do if v[code] and v[code] < lo then lo = v[code] end end
      for code = 1, M.NCELLS do v[code] = v[code] or lo end
    end
    local a, b, c = minmax(cols.naswot), minmax(cols.logsynflow), minmax(cols.skip)
    for i = 1, M.NCELLS do raw[i] = (a[i] + b[i] + c[i]) / 3 end
    return raw, "FreeREA combination of " .. opts.proxies
  end
  for code = 0, M.NCELLS - 1 do raw[code + 1] = core.proxy.skipscore(M.arch_string(code)) end
  return minmax(raw), "perigee's SkipScore (min-max normalised)"
end

--- Build the experiment context.
-- opts.data_dir (default $PERIGEE_DATA; false: do not read data), opts.dataset ("c10"), opts.holdout
-- (device names left out of the training pool; default HELP's test split;
-- {} keeps all 18 as the public code does), opts.measured (true: held-out
-- devices use their measured per-cell latencies when published, else their
-- per-op LUT). opts.pool = "cost_models": devices generated by
-- M.cost_model_pool(opts.pool_opts) (with or without data; the last 6 are
-- held out unless opts.holdout is given). Without data: opts.pool
-- ("cost_models" or {{name=, lut={5 ms}}, ...}), opts.tf (function(ops) ->
-- [0,1] or a list of 15625 values by code+1; default M.own_proxy, with
-- opts.proxies = a `perigee proxies` table), optional opts.accuracy
-- (function(ops) -> %).
function M.setup(opts)
  local copy = {}
  for k, v in pairs(opts or {}) do copy[k] = v end
  opts = copy
  local dir = data_dir(opts)
  local tables
  local cm = opts.pool == "cost_models"
  if cm then opts.pool = M.cost_model_pool(opts.pool_opts) end
  if dir then
    tables = M.load_tables(dir, opts.dataset)
    if cm then -- published proxies and accuracy, generated devices (LUT only)
      tables.pool = opts.pool
      tables.measured = function() return nil end
    end
  else
    if not (opts.tf or opts.pool) then
      error("simismore.setup: PERIGEE_DATA is not set and no data was given; set PERIGEE_DATA " ..
            "(see /work/shared/research/data.md), or pass pool = \"cost_models\" (perigee's " ..
            "cost models) or pool = {{name =, lut = {5 ms}}, ...}, and optionally tf = " ..
            "function(ops) ... end", 2)
    end
    local tf, acc, tf_source = {}, nil, "given"
    if opts.tf then
      for code = 0, M.NCELLS - 1 do
        local ops = ppo.decode(code)
        tf[code + 1] = type(opts.tf) == "function" and opts.tf(ops) or opts.tf[code + 1]
        if type(tf[code + 1]) ~= "number" then error("simismore.setup: tf must give numbers", 2) end
      end
    else
      tf, tf_source = M.own_proxy { proxies = opts.proxies }
    end
    if opts.accuracy then
      acc = {}
      for code = 0, M.NCELLS - 1 do acc[code + 1] = opts.accuracy(ppo.decode(code)) end
    end
    if not opts.pool then error("simismore.setup: pool is needed without PERIGEE_DATA", 2) end
    tables = { tf = tf, acc = acc, pool = opts.pool, measured = function() return nil end,
               tf_source = tf_source }
  end
  if cm and not opts.holdout then -- the last 6 generated devices
    opts.holdout = {}
    for i = math.max(1, #tables.pool - 5), #tables.pool do opts.holdout[#opts.holdout + 1] = tables.pool[i].name end
  end
  local holdout = opts.holdout or M.DEFAULT_HOLDOUT
  local out = {}
  for _, name in ipairs(holdout) do out[name] = true end
  local train, heldout, names = {}, {}, {}
  for _, dev in ipairs(tables.pool) do
    names[dev.name] = true
    if out[dev.name] then
      local table_ = opts.measured ~= false and tables.measured(dev.name) or nil
      heldout[#heldout + 1] = { name = dev.name, lut = dev.lut, table = table_ }
    else
      train[#train + 1] = dev.lut
    end
  end
  for _, name in ipairs(holdout) do
    if not names[name] then error("simismore.setup: unknown held-out device '" .. name .. "'", 2) end
  end
  if #train == 0 then error("simismore.setup: every device is held out", 2) end
  local data = ppo.nasdata(tables.tf, train)
  return {
    data = data, tf = tables.tf, acc = tables.acc, heldout = heldout, train_pool = train,
    pool = tables.pool, dataset = tables.dataset, has_data = dir ~= nil,
    tf_source = tables.tf_source or "published proxies (nb201_proxies.csv.gz)",
    pool_source = cm and "cost_models" or (dir and "published" or "given"),
  }
end

--- Agent with Sim-is-More's settings: 241 inputs, heads (edge 6, op 5),
-- gamma 0.6, seed 777, otherwise stable-baselines3's PPO defaults.
function M.agent(opts, env_opts)
  local cfg = { obs_dim = (env_opts and env_opts.obs_device) and ppo.NAS_OBS_DIM_DEVICE or ppo.NAS_OBS_DIM,
                heads = { 6, 5 }, gamma = 0.6, seed = 777 }
  for k, v in pairs(opts or {}) do cfg[k] = v end
  return ppo.new(cfg)
end

--- Environment on ctx's data; env_opts as pg.ppo.nasenv (reward, truncation, ...).
function M.env(ctx, env_opts)
  return ppo.nasenv(ctx.data, env_opts)
end

-- reference network of Fig. 5(e): NAS-Bench-201 index 0
M.REF_ARCH = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"

--- Evaluate the agent on n synthetic-device episodes (deterministic policy,
-- as stable-baselines3's evaluate_policy): the averages of Fig. 5.
function M.evaluate(agent, ctx, n, env_opts, seed)
  local opts = {}
  for k, v in pairs(env_opts or {}) do opts[k] = v end
  opts.seed = seed or 12345
  local env = ppo.nasenv(ctx.data, opts)
  local ref = (M.parse_arch(M.REF_ARCH))
  local s = { tf = 0, lbar = 0, percentile = 0, accuracy = 0, ref_latency = 0, ret = 0, n = n }
  local nacc = 0
  for _ = 1, n do
    local tr = agent:episode(env, { deterministic = true })
    local h = tr.final
    s.tf = s.tf + env:tf(h)
    s.lbar = s.lbar + (1 - env:norm_latency(h))
    s.percentile = s.percentile + env:percentile(h)
    s.ref_latency = s.ref_latency + env:latency(ref)
    s.ret = s.ret + tr.ret
    if ctx.acc and ctx.acc[h + 1] then
      s.accuracy = s.accuracy + ctx.acc[h + 1]
      nacc = nacc + 1
    end
  end
  for _, k in ipairs { "tf", "lbar", "percentile", "ref_latency", "ret" } do s[k] = s[k] / n end
  s.accuracy = nacc > 0 and s.accuracy / nacc or 0 / 0
  return s
end

--- Train. opts: timesteps (500000), n_envs (1), eval_every (10000),
-- eval_episodes (20), env (environment options), agent (agent options),
-- on_eval(row) callback, agent (an existing agent to continue).
-- Returns the agent and the curve (a list of rows: timesteps, tf, lbar,
-- percentile, accuracy, ref_latency, ret, train_return, seconds).
function M.train(ctx, opts)
  opts = opts or {}
  local total = math.tointeger(opts.timesteps or 500000)
  if not total or total < 0 then error("simismore.train: timesteps must be a non-negative integer", 2) end
  local agent = opts.policy or M.agent(opts.agent, opts.env)
  local envs = {}
  for i = 1, opts.n_envs or 1 do
    local eo = {}
    for k, v in pairs(opts.env or {}) do eo[k] = v end
    eo.seed = (eo.seed or 0) + i
    envs[i] = ppo.nasenv(ctx.data, eo)
  end
  local every = opts.eval_every or 10000
  local curve, done, t0 = {}, 0, os.clock()
  while done < total do
    local st = agent:learn(envs, math.min(every, total - done))
    done = st.timesteps
    local row = M.evaluate(agent, ctx, opts.eval_episodes or 20, opts.env, 999)
    row.timesteps = done
    row.train_return = st.ep_return_mean
    row.seconds = os.clock() - t0
    curve[#curve + 1] = row
    if opts.on_eval then opts.on_eval(row, st) end
  end
  return agent, curve
end

-- An environment on a held-out device (measured table, else its LUT).
local function device_env(ctx, device, env_opts, budget)
  local eo = {}
  for k, v in pairs(env_opts or {}) do eo[k] = v end
  eo.budget = budget
  local env = ppo.nasenv(ctx.data, eo)
  if device.table then env:set_device { table = device.table } else env:set_device { lut = device.lut } end
  return env
end

-- Score of a cell on the device: reward, latency percentile, accuracy.
local function score(ctx, env, code)
  return {
    code = code, arch = M.arch_string(code), reward = env:reward_of(code),
    percentile = env:percentile(code), latency = env:latency(code),
    accuracy = ctx.acc and ctx.acc[code + 1] or 0 / 0, tf = env:tf(code),
  }
end

-- Best measured cell by reward (ties: first measured).
local function best_of(env, cells)
  local best, br = nil, -math.huge
  for _, c in ipairs(cells) do
    local r = env:reward_of(c)
    if r > br then best, br = c, r end
  end
  return best
end

--- Test-time adaptation of a trained agent on a device with at most `budget`
-- (10) latency measurements. opts: start (cell code), budget (10),
-- deterministic (true), rng (for a stochastic policy), explore (true: each
-- step takes the policy's most probable edit that reaches an unmeasured
-- cell, so the whole budget is used), climb (true: explore, and step back
-- to the best measured cell after every edit that did not improve it), refine ("lut" or "random": when the
-- episode used fewer measurements than the budget, continue with a greedy
-- local search from the best measured cell), select ("best": the
-- best measured cell; "last": the cell the episode ends on), env (env
-- options: reward form must match training). Returns the score of the
-- chosen cell plus trajectory and measurement count.
function M.adapt(agent, ctx, device, opts)
  opts = opts or {}
  local budget = opts.budget or 10
  local env = device_env(ctx, device, opts.env, budget)
  local ep = { start = opts.start, deterministic = opts.deterministic ~= false, rng = opts.rng,
               explore = opts.explore or opts.climb, climb = opts.climb }
  -- one episode from the start cell: it ends when the horizon is reached or
  -- when the policy asks for an 11th distinct cell (the env refuses it)
  local tr = agent:episode(env, ep)
  local measured, trajectory = env:measured(), tr.cells
  if opts.refine and #measured < budget then
    -- spend what the episode left of the budget on a greedy refinement of
    -- the best measured cell (greedy_search's rule, its measurements kept)
    local g = M.greedy_search(ctx, device, { start = best_of(env, measured), rng = opts.rng,
      env = opts.env, budget = budget, guide = opts.refine, measured = measured })
    measured = g.cells
  end
  local chosen = opts.select == "last" and trajectory[#trajectory] or best_of(env, measured)
  local s = score(ctx, env, chosen)
  s.measurements = #measured
  s.trajectory = trajectory
  return s
end

-- Posterior mean of the per-op latencies given measured cells (codes and
-- latencies), under the synthetic prior N(mu, sigma^2) and relative noise
-- `noise`: the device estimate of nasenv's obs_device, in Lua.
local function device_estimate(fit, cells, lats, noise, scale)
  local P, b = {}, {}
  for i = 1, 5 do
    P[i] = {}
    for j = 1, 5 do P[i][j] = 0 end
    local sd = math.max(fit.sigma[i], 1e-9 * fit.mu[i])
    P[i][i] = 1 / (sd * sd)
    b[i] = fit.mu[i] / (sd * sd)
  end
  for k, c in ipairs(cells) do
    local n = { 0, 0, 0, 0, 0 }
    for _, o in ipairs(ppo.decode(c)) do n[o + 1] = n[o + 1] + 1 end
    local sd = noise * math.abs(lats[k]) + 1e-6 * scale
    local w = 1 / (sd * sd)
    for i = 1, 5 do
      for j = 1, 5 do P[i][j] = P[i][j] + w * n[i] * n[j] end
      b[i] = b[i] + w * n[i] * lats[k]
    end
  end
  -- Gaussian elimination (P is symmetric positive definite)
  for i = 1, 5 do
    for r = i + 1, 5 do
      local f = P[r][i] / P[i][i]
      for c = i, 5 do P[r][c] = P[r][c] - f * P[i][c] end
      b[r] = b[r] - f * b[i]
    end
  end
  local m = {}
  for i = 5, 1, -1 do
    local v = b[i]
    for c = i + 1, 5 do v = v - P[i][c] * m[c] end
    m[i] = v / P[i][i]
  end
  for i = 1, 5 do m[i] = math.max(m[i], 1e-6 * scale) end
  return m
end
M.device_estimate = device_estimate

--- Test-time adaptation through the controller's own simulator: the
-- measured latencies give a device estimate (the posterior of the
-- synthetic prior, as nasenv's obs_device); the policy runs free episodes
-- on that estimated device from the best measured cell, and the cell of
-- those episodes with the best predicted reward that is not yet measured is
-- measured next; the estimate is updated, and so on until the budget is
-- spent. Returns the best measured cell. opts: start, budget (10), env
-- (env options: obs_device must match the agent), horizon (steps of a
-- simulated episode, 10), noise (0.05), all_starts (true: episodes from
-- every measured cell, the best proposal over all; false: stop at the
-- first start that proposes an unmeasured cell).
function M.adapt_sim(agent, ctx, device, opts)
  opts = opts or {}
  local budget = opts.budget or 10
  local real = device_env(ctx, device, opts.env, 0)
  local fit = ctx.data:fit()
  local so = {}
  for k, v in pairs(opts.env or {}) do so[k] = v end
  so.horizon = opts.horizon or 10
  local sim = ppo.nasenv(ctx.data, so)
  local scale = real:info().lat_scale
  local cur = opts.start
  local cells, lats, seen = { cur }, { real:latency(cur) }, { [cur] = true }
  local trajectory = { cur }
  while #cells < budget do
    sim:set_device { lut = device_estimate(fit, cells, lats, opts.noise or 0.05, scale) }
    local inc = best_of(real, cells)
    -- free episodes on the estimated device from the incumbent and every
    -- other measured cell
    local pick, pr = nil, -math.huge
    local starts = { inc }
    for _, c in ipairs(cells) do if c ~= inc then starts[#starts + 1] = c end end
    for _, st in ipairs(starts) do
      local tr = agent:episode(sim, { start = st, deterministic = true })
      for _, c in ipairs(tr.cells) do
        if not seen[c] then
          local r = sim:reward_of(c)
          if r > pr then pick, pr = c, r end
        end
      end
      if pick and opts.all_starts == false then break end
    end
    if not pick then -- the policy proposes nothing new: the best predicted neighbour
      local ops = ppo.decode(inc)
      for e = 1, 6 do
        for o = 0, 4 do
          local n = { table.unpack(ops) }
          n[e] = o
          local c = ppo.encode(n)
          if not seen[c] and sim:reward_of(c) > pr then pick, pr = c, sim:reward_of(c) end
        end
      end
    end
    if not pick then break end
    seen[pick] = true
    cells[#cells + 1] = pick
    lats[#lats + 1] = real:latency(pick)
    trajectory[#trajectory + 1] = pick
  end
  local s = score(ctx, real, best_of(real, cells))
  s.measurements = #cells
  s.trajectory = trajectory
  return s
end

--- Random search with the same budget: the start cell plus budget-1 distinct
-- random cells; returns the best by reward on the device.
function M.random_search(ctx, device, opts)
  opts = opts or {}
  local budget, rng = opts.budget or 10, opts.rng or core.rng(0)
  local env = device_env(ctx, device, opts.env, 0)
  local cells, seen = {}, {}
  if opts.start then
    cells[1] = opts.start
    seen[opts.start] = true
  end
  while #cells < budget do
    local c = rng:integer(0, M.NCELLS - 1)
    if not seen[c] then
      seen[c] = true
      cells[#cells + 1] = c
    end
  end
  local s = score(ctx, env, best_of(env, cells))
  s.measurements = #cells
  return s
end

--- Greedy local search with the same budget, from the same start cell: at
-- each step measure the unmeasured single-edit neighbour of the incumbent
-- with the highest predicted reward (guide "lut": the proxy plus the
-- latency predicted by the training pool's mean per-op LUT; guide "random":
-- a random neighbour) and move when its measured reward is higher.
-- opts.measured: cells already measured (counted in the budget; cur must
-- be one of them).
function M.greedy_search(ctx, device, opts)
  opts = opts or {}
  local budget, rng = opts.budget or 10, opts.rng or core.rng(0)
  local guide = opts.guide or "lut"
  local env = device_env(ctx, device, opts.env, 0)
  local prior = device_env(ctx, { lut = ctx.data:fit().mu }, opts.env, 0)
  local cur = opts.start or rng:integer(0, M.NCELLS - 1)
  local seen, cells = { [cur] = true }, { cur }
  if opts.measured then -- cells already measured (they count against the budget)
    cells = {}
    for _, c in ipairs(opts.measured) do
      if not seen[c] or c == cur then cells[#cells + 1] = c end
      seen[c] = true
    end
  end
  local cur_r = env:reward_of(cur)
  while #cells < budget do
    local ops = ppo.decode(cur)
    local cand = {}
    for e = 1, 6 do
      for o = 0, 4 do
        if o ~= ops[e] then
          local n = { table.unpack(ops) }
          n[e] = o
          local c = ppo.encode(n)
          if not seen[c] then cand[#cand + 1] = c end
        end
      end
    end
    local pick
    if #cand == 0 then
      repeat pick = rng:integer(0, M.NCELLS - 1) until not seen[pick]
    elseif guide == "random" then
      pick = cand[rng:integer(1, #cand)]
    else
      local best = -math.huge
      for _, c in ipairs(cand) do
        local p = prior:reward_of(c) + 1e-9 * rng:uniform() -- random tie-break
        if p > best then best, pick = p, c end
      end
    end
    seen[pick] = true
    cells[#cells + 1] = pick
    local r = env:reward_of(pick)
    if r > cur_r then cur, cur_r = pick, r end
  end
  local s = score(ctx, env, best_of(env, cells))
  s.measurements = #cells
  s.cells = cells
  return s
end

--- Write a list of rows (tables) as CSV with the given columns.
function M.write_csv(path, rows, columns)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(columns, ","), "\n")
  for _, r in ipairs(rows) do
    local t = {}
    for i, c in ipairs(columns) do
      local v = r[c]
      t[i] = type(v) == "number" and string.format("%.10g", v) or tostring(v == nil and "" or v)
    end
    f:write(table.concat(t, ","), "\n")
  end
  f:close()
end

return M
