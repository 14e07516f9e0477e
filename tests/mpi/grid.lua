-- tests/mpi/grid.lua: the experiment of the MPI tests and of bench/scaling.lua.
--   perigee run tests/mpi/grid.lua --out DIR [MODE [SLEEP]]
-- MODE "grid" (default): ZDT1 with 2 optimizers x 2 seeds, cheap evaluations.
-- MODE "slow": one run, batch 4, every evaluation runs `sleep SLEEP` (default
-- 0.2 s) through pg.run_external; evaluation 7 sleeps 30 s and is cut by
-- --eval-timeout (recorded as "timeout"); evaluation 5 fails with an error.
-- MODE "die": as "slow" without failures, but evaluation 3 ends its process
-- (os.exit) when it runs on a rank other than 0: under
-- `mpirun --enable-recovery` it is recorded as "timeout" and the run goes on.
-- MODE "batch" (bench/scaling.lua): one run, 3 batches of 4 evaluations of
-- SLEEP s each, no failures. MODE "gridslow": 2 optimizers x 2 seeds, 3
-- batches of 2 evaluations of SLEEP s each.
-- MODE "two": two experiments in one script ("grid" into OUT/a, "batch" into
-- OUT/b), then code after the last go() that only rank 0 may run.
local pg = require "perigee"
local mode = arg[1] or "grid"
local sleep = tonumber(arg[2] or "0.2")

local E = require "perigee.experiment"
local out = E.overrides.out
if mode == "two" then
  local function with(sub, m)
    E.overrides.out = out .. "/" .. sub
    local save = arg[1]
    arg[1] = m
    local r = assert(loadfile(debug.getinfo(1, "S").source:sub(2)))(m, tostring(sleep))
    arg[1] = save
    return r
  end
  with("a", "grid")
  local res = with("b", "batch")
  -- after the last go(): rank 0 only (a worker's go() never returns here)
  assert(#res.runs == 1 and res.runs[1].evaluations == 12, "post-processing sees the results")
  local f = assert(io.open(out .. "/after.txt", "w"))
  f:write("after the last go()\n")
  f:close()
  return
end

if mode == "grid" then
  return pg.experiment {
    benchmark = "zdt1", benchmark_options = { n = 4 },
    optimizers = { "random", pg.optimizers.pool {
      name = "gp_lcb", pool = 300,
      score = function(ctx, U)                   -- a GP on a Chebyshev scalarisation
        local _, Ue, Y = ctx.data()
        local n = Ue:shape()
        local y = {}
        for i = 1, n do y[i] = math.max(Y:get(i, 1), 0.2 * Y:get(i, 2)) end
        local gp = pg.gp.exact { kernel = "matern52", train = 1, seed = ctx.iteration }
        gp:fit(Ue, y)
        local mu, var = gp:predict(U)
        local s = {}
        for i = 1, U:shape() do s[i] = -mu:get(i, 1) + math.sqrt(var:get(i, 1)) end
        return s
      end } },
    seeds = { 1, 2 }, n_init = 6, iterations = 3, batch = 3,
    out = "results/mpi_grid", plots = false, quiet = true,
  }:go()
end

local zdt1 = pg.benchmark("zdt1", { n = 3 })
local slow = {
  name = "slow_zdt1", description = "ZDT1 behind a sleeping external command",
  space = zdt1.space, objectives = { "f1", "f2" }, reference_point = { 11, 11 },
  evaluate = function(x, ctx)
    local failures = mode == "slow"
    if failures and ctx.eval == 5 then error("evaluation 5 fails on purpose") end
    local t = (failures and ctx.eval == 7) and 30 or sleep
    if mode == "die" and ctx.eval == 3 and pg.mpi.rank() ~= 0 then os.exit(3) end
    local r = pg.run_external { cmd = "sleep", args = { tostring(t) }, timeout = ctx.timeout }
    if not r.ok then error(r.message) end
    return zdt1.evaluate(x, ctx)
  end,
}
if mode == "gridslow" then
  return pg.experiment {
    benchmark = slow, optimizers = { "random", pg.optimizers.random { method = "sobol" } }, seeds = { 1, 2 },
    n_init = 2, iterations = 2, batch = 2, out = "results/mpi_gridslow", plots = false, quiet = true,
  }:go()
end
assert(mode == "slow" or mode == "batch" or mode == "die", "mode: grid, slow, batch, die or gridslow")
return pg.experiment {
  benchmark = slow, optimizer = "random", seed = 3, n_init = 4, iterations = 2, batch = 4,
  out = "results/mpi_slow", plots = false, quiet = true,
}:go()
