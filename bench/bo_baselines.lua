-- bo_baselines.lua -- the batch BO baselines (qnparego, qehvi, qnehvi, pabo)
-- against random search, and their cost per iteration.
--
--   OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX build/perigee bench/bo_baselines.lua [parts] [--seeds N] [--first K]
-- (seeds K .. K + N - 1; default 1 .. 5)
--
-- parts (default all): hv     mean final hypervolume over seeds on ZDT1 and DTLZ2,
--                              equal budgets (n_init 20 + 10 x 5 evaluations)
--                       cost   seconds per iteration (model fitting, acquisition
--                              optimisation) at 100, 300, 1000 observations, batch 10
--                       grid   the default Coflex grid (100 + 30 x 10) on nb201_hw
--                              (PERIGEE_DATA set), else nats_sss_hw, else on a
--                              stand-in with the nats_sss_hw space
-- Never part of ctest.
local pg = require "perigee"
local A = require "perigee.acqopt"

local args = { ... }
local parts, nseeds, first = {}, 5, 1
do
  local i = 1
  while i <= #args do
    if args[i] == "--seeds" then nseeds = tonumber(args[i + 1]); i = i + 1
    elseif args[i] == "--first" then first = tonumber(args[i + 1]); i = i + 1
    else parts[args[i]] = true end
    i = i + 1
  end
  if next(parts) == nil then parts = { hv = true, cost = true, grid = true } end
end
local OPTS = { "qnparego", "qehvi", "qnehvi", "pabo" }

-- stand-in for nats_sss_hw: the same space (8^5 channel choices x pe_x, pe_y
-- in 1..64 x four register parameters in 10..512, 8.6e18 points) with cheap
-- analytic objectives: an error that falls with log2 of the channels (the
-- coefficients of the coflex branch's linear estimate) and a synthetic EDP
-- with an array-utilisation / register / bandwidth trade-off (log scale).
local CH = { 8, 16, 24, 32, 40, 48, 56, 64 }
local function standin()
  local dims = {}
  for i = 1, 5 do dims[i] = pg.ordinal("C" .. i, CH) end
  local hw = { pg.int("pe_x", 1, 64), pg.int("pe_y", 1, 64), pg.int("reg_i", 10, 512),
               pg.int("reg_w", 10, 512), pg.int("reg_o", 10, 512), pg.int("bw", 10, 512) }
  for _, d in ipairs(hw) do dims[#dims + 1] = d end
  local B = { 111.59233904724, -2.1274387808937, -1.3635160362086, -1.8831184638972, -1.2624238982725,
              -3.3392728993423 }
  return {
    name = "nats_sss_standin",
    description = "stand-in for nats_sss_hw (same space, analytic objectives)",
    space = pg.space(dims),
    objectives = { "error", { name = "edp", log = true } },
    reference_point = { 100, 1e3 },
    evaluate = function(x)
      local c = { x.C1, x.C2, x.C3, x.C4, x.C5 }
      local err, work, cycles, energy = B[1], 0, 0, 0
      for i = 1, 5 do err = err + B[i + 1] * math.log(c[i], 2) end
      for i = 1, 5 do
        local cin, cout = i == 1 and 3 or c[i - 1], c[i]
        local w = cin * cout * 9 * 1024 / (4 ^ math.floor((i - 1) / 2))
        local ux = math.min(cout, x.pe_x) / x.pe_x / math.ceil(cout / x.pe_x) * math.ceil(cout / x.pe_x)
        local uy = math.min(cin, x.pe_y) / x.pe_y
        local pes = x.pe_x * x.pe_y * ux * uy
        local reuse = math.min(1, (x.reg_i + x.reg_w + x.reg_o) / 600)
        local comp = w / pes
        local mem = w * (1.2 - reuse) * 8 / x.bw
        cycles = cycles + math.max(comp, mem) + 0.1 * math.min(comp, mem)
        energy = energy + w * (1 + 2 * (1.2 - reuse)) + 0.02 * (x.reg_i + x.reg_w + x.reg_o) * x.pe_x * x.pe_y
      end
      return { err, energy * 1e-9 * cycles / 2.2e9 * 1e3 * 1e3 }
    end,
  }
end

local function grid_benchmark()
  local ok, b = pcall(pg.benchmark, "nb201_hw")
  if ok and b then return "nb201_hw", "nb201_hw" end
  ok, b = pcall(pg.benchmark, "nats_sss_hw")
  if ok and b then return "nats_sss_hw", "nats_sss_hw" end
  return standin(), "nats_sss_standin (nats_sss_hw not on the search path)"
end

local function mean_sd(t)
  local m, v = 0, 0
  for _, x in ipairs(t) do m = m + x end
  m = m / #t
  for _, x in ipairs(t) do v = v + (x - m) ^ 2 end
  return m, #t > 1 and math.sqrt(v / (#t - 1)) or 0
end

local tmp = os.tmpname()
os.remove(tmp)

if parts.hv then
  print(("== final hypervolume, mean +- sd over seeds %d-%d, n_init 20 + 10 x 5 evaluations =="):format(first,
        first + nseeds - 1))
  local seeds = {}
  for s = 1, nseeds do seeds[s] = first + s - 1 end
  for _, bench in ipairs { { "zdt1", {} }, { "dtlz2", { m = 2 } } } do
    local names = { "random" }
    for _, o in ipairs(OPTS) do names[#names + 1] = o end
    local res = {}
    for _, o in ipairs(names) do
      local t0, c0 = pg.wtime(), os.clock()
      local r = pg.experiment { benchmark = bench[1], benchmark_options = bench[2], optimizer = o, n_init = 20,
                                iterations = 10, batch = 5, seeds = seeds, out = tmp .. "/hv", plots = false,
                                quiet = true }:go()
      local hv = {}
      for i, run in ipairs(r.runs) do hv[i] = run.hypervolume end
      local m, sd = mean_sd(hv)
      res[o] = m
      print(("%-6s %-9s HV %10.4f +- %-8.4f (wall %5.1f s, cpu %5.1f s for %d seeds)%s"):format(bench[1], o, m, sd,
            pg.wtime() - t0, os.clock() - c0, nseeds, o ~= "random" and (m > res.random and "  beats random" or "  DOES NOT beat random") or ""))
    end
  end
end

if parts.cost then
  print("== cost per iteration (batch 10), CPU seconds: model fitting / acquisition optimisation / total ==")
  local b = standin()
  for _, n in ipairs { 100, 300, 1000 } do
    -- n evaluated points of the stand-in space (one LHS per n)
    local rng = pg.rng(n)
    local pts = b.space:sample(n, rng, { method = "lhs" })
    local Y, seen = {}, {}
    for i, p in ipairs(pts) do
      local y = b.evaluate(p)
      Y[i] = { y[1], math.log(y[2]) }
      seen[b.space:hash(p)] = true
    end
    local U = b.space:encode(pts)
    for _, o in ipairs(OPTS) do
      local opt = pg.optimizers.get(o)
      local ctx = { space = b.space, benchmark = b, objectives = b.objectives, m = 2, rng = pg.rng(7), state = {},
                    iteration = 1, batch = 10, seen = seen, reference_point = { 100, math.log(1e3) },
                    data = function() return pts, U, pg.matrix(Y) end, timing = {} }
      opt.init(ctx)
      local t0 = os.clock()
      local P = opt.propose(ctx, 10)
      local total = os.clock() - t0
      local fit = ctx.timing.fit or 0
      assert(P:shape() == 10)
      print(("n = %4d  %-9s fit %7.3f  acqopt %7.3f  total %7.3f"):format(n, o, fit, total - fit, total))
    end
  end
end

if parts.grid then
  local bench, label = grid_benchmark()
  print(("== default Coflex grid (100 + 30 x 10 evaluations) on %s, seed 1 =="):format(label))
  for _, o in ipairs { "random", table.unpack(OPTS) } do
    local t0, c0 = pg.wtime(), os.clock()
    local r = pg.experiment { benchmark = bench, optimizer = o, n_init = 100, iterations = 30, batch = 10, seed = 1,
                              out = tmp .. "/grid", plots = false, quiet = true }:go()
    print(("%-9s HV %10.4f  wall %6.1f s  cpu %6.1f s"):format(o, r.runs[1].hypervolume, pg.wtime() - t0, os.clock() - c0))
  end
end
os.execute("rm -rf " .. tmp)
