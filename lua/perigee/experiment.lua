--- perigee.experiment: the resumable experiment runner.
--
--   pg.experiment {
--     benchmark = "zdt1" | benchmark table,   benchmark_options = {...},
--     optimizer = "random" | optimizer table,  -- or optimizers = {...}
--     n_init = 20, iterations = 10, batch = 4,
--     seed = 1,                                 -- or seeds = {1, 2, 3}
--     out = "results/zdt1",
--     init = "lhs" | "sobol" | "uniform",       -- initial design (default "lhs")
--     reference_point = {...},                  -- overrides the benchmark's
--     plots = true, quiet = false, resume = false,
--     eval_timeout = nil,                       -- seconds; a late evaluation
--                                               -- is recorded as "timeout"
--     sync = 1,                                 -- seconds of evaluation per
--                                               -- journal fdatasync (0: every
--                                               -- record); see below
--     jobs = nil,                               -- processes (perigee run)
--   }:go()  -> results {dir, runs = {summary...}, plots = {...}}
--
-- One run per (optimizer, seed), in out/<optimizer>/seed<seed>/:
--   config.json      the resolved configuration (compared on --resume)
--   evaluations.csv  the journal: eval, iteration, inputs by name, objectives
--                    by name, constraint outputs, status, message; one record
--                    appended (one write(2)) per evaluation, fdatasync'ed as
--                    soon as `sync` seconds of evaluation time (default 1)
--                    have gone unsynced, and at the end of every iteration:
--                    a record survives a killed process at once, a machine
--                    crash loses at most ~`sync` seconds of evaluations
--                    (sync = 0: every record, the cost of one fdatasync per
--                    evaluation, which dominated fast benchmarks)
--   metrics.csv      per iteration: evaluations, ok, failed, infeasible,
--                    hypervolume, igd, igd_plus, best_<objective>, pareto_size
--   pareto.csv       the non-dominated successful evaluations
--   summary.json     final figures, failures with their messages
--   timings.csv      eval, iteration, seconds          (wall-clock: not
--   walltime.csv     iteration, evaluations, elapsed_seconds, hypervolume
--                    reproducible, so kept out of the files above)
--   phases.csv       phase, seconds: total, init, propose, observe, evaluate
--                    and the optimizer's own split of propose (wall-clock)
-- and out/summary.csv over all runs, out/plots/ (see perigee.plot).
--
-- Determinism and resume: every random draw comes from pg.rng(seed) split
-- into an initial-design stream and an optimizer stream; evaluate() gets
-- ctx.rng = pg.rng(seed * 1000003 + eval) (independent of replay). With
-- resume = true (perigee run --resume) the run is replayed from the start:
-- the optimizer proposes again, and every point already in the journal takes
-- its recorded result instead of being evaluated (the journal must match the
-- proposals exactly, or the run stops with an error). The files then end
-- byte-identical to an uninterrupted run; timings.csv and walltime.csv are
-- the only files that differ between runs.
--
-- Parallel runs: under `perigee run` (E.launch set) a grid of more than one
-- (optimizer, seed) run uses `jobs` processes (cfg.jobs, perigee run --jobs
-- N; default: perigee's thread count, i.e. the core count). The extra ones
-- are worker processes started with the same `perigee run` command (and
-- PERIGEE_RUN_WORKER set): each re-runs the script up to the same go(), then
-- every process (this one included) takes the runs of the grid one at a
-- time, in grid order, each claimed once (an atomic mkdir in out/.jobs<k>/),
-- and writes that run's files exactly as a one-process run does: a run is a
-- function of its seed and configuration alone, so the files are identical
-- (tested), only timings.csv / walltime.csv / phases.csv differ. The worker
-- checks that its script built the same grid (run directories and
-- config.json texts) and claims nothing otherwise; runs a worker did not
-- finish are run here. Each process gets threads / jobs threads. In a worker,
-- go() calls before the parallel one return {worker = true, runs = {}}
-- without running anything (as under MPI), and the worker exits after the
-- parallel one: the script must build the same experiments in every process
-- and not need the results of an earlier go() to get to the next.
--
-- MPI: under `mpirun -np N perigee run exp.lua` rank 0 runs the grid and
-- the evaluations go to all ranks (perigee.mpi: run_grid, worker; and
-- docs/scaling.md); the files are the same as those of a one-process run.
-- On ranks > 0, go() serves evaluations; it returns {worker = true, runs = {}}
-- when rank 0 starts another experiment, and the process exits when rank 0's
-- script is over, so code after the last go() runs on rank 0 only.
local core = require "perigee.core"
local space_mod = require "perigee.space"
local bench_mod = require "perigee.benchmark"
local optimizers = require "perigee.optimizers"
local R = require "perigee.results"

local E = {}
--- Command-line overrides (perigee run): seed, out, resume, quick, quiet,
-- plots, eval_timeout, jobs.
E.overrides = {}
--- How this process was started, set by `perigee run`: {exe = path, args =
-- {...}} (the arguments after "run"); worker processes of a parallel grid
-- are started with the same command. nil: no worker processes.
E.launch = nil

local Experiment = {}
Experiment.__index = Experiment

-- In a worker: the id of the process that started it. When that process is
-- gone (killed), the worker stops before its next evaluation or claim, so
-- that nothing writes a run directory behind the back of a --resume.
local parent_pid
local function orphaned()
  return parent_pid ~= nil and core.getppid() ~= parent_pid
end


local RUN_FILES = { "config.json", "evaluations.csv", "metrics.csv", "pareto.csv", "summary.json",
                    "timings.csv", "walltime.csv", "phases.csv" }

local function posint(v, name, allow_zero)
  if math.type(v) ~= "integer" or v < (allow_zero and 0 or 1) then
    error(("experiment: '%s' must be an integer >= %d, got %s"):format(name, allow_zero and 0 or 1, tostring(v)), 3)
  end
  return v
end

--- pg.experiment(cfg) -> experiment (call :go() to run it).
function E.new(cfg)
  if type(cfg) ~= "table" then error("experiment: configuration table expected", 2) end
  local o = E.overrides
  local c = {}
  for k, v in pairs(cfg) do c[k] = v end
  if o.seed then c.seeds = { o.seed }; c.seed = nil end
  if o.out then c.out = o.out end
  if o.resume ~= nil then c.resume = o.resume end
  if o.quiet ~= nil then c.quiet = o.quiet end
  if o.plots ~= nil then c.plots = o.plots end
  if o.eval_timeout then c.eval_timeout = o.eval_timeout end
  if o.jobs then c.jobs = o.jobs end
  if c.jobs ~= nil and not (math.type(c.jobs) == "integer" and c.jobs >= 1) then
    error("experiment: 'jobs' must be a positive integer", 2)
  end
  local mpi = require "perigee.mpi"
  if mpi.active() and mpi.rank() ~= 0 then c.quiet, c.plots = true, false end
  if c.sync == nil then c.sync = 1 end
  if not (type(c.sync) == "number" and c.sync >= 0 and c.sync == c.sync) then
    error("experiment: 'sync' must be a number of seconds >= 0", 2)
  end
  if c.eval_timeout ~= nil and not (type(c.eval_timeout) == "number" and c.eval_timeout > 0) then
    error("experiment: 'eval_timeout' must be a positive number of seconds", 2)
  end
  c.n_init = posint(c.n_init or 20, "n_init")
  c.iterations = posint(c.iterations or 10, "iterations", true)
  c.batch = posint(c.batch or 4, "batch")
  local seeds = c.seeds or { c.seed or 1 }
  if type(seeds) ~= "table" or #seeds == 0 then error("experiment: 'seeds' must be a non-empty list", 2) end
  for _, s in ipairs(seeds) do
    if math.type(s) ~= "integer" or s < 0 then error("experiment: seeds must be non-negative integers", 2) end
  end
  if o.quick then
    c.n_init = math.min(c.n_init, 10)
    c.iterations = math.min(c.iterations, 3)
    seeds = { seeds[1] }
  end
  c.seeds = seeds
  c.init = c.init or "lhs"
  if c.init ~= "lhs" and c.init ~= "sobol" and c.init ~= "uniform" then
    error("experiment: 'init' must be lhs, sobol or uniform", 2)
  end
  local b = bench_mod.load(c.benchmark or error("experiment: 'benchmark' is required", 2), c.benchmark_options)
  c.bench = b
  local opts = c.optimizers or { c.optimizer or "random" }
  if type(opts) ~= "table" or (opts.propose and not opts[1]) then opts = { opts } end
  c.opts = {}
  local names = {}
  for i, spec in ipairs(opts) do
    local opt = optimizers.get(spec)
    if names[opt.name] then error(("experiment: two optimizers are named '%s' (give one a name)"):format(opt.name), 2) end
    names[opt.name] = true
    c.opts[i] = opt
  end
  c.out = c.out or ("results/" .. b.name)
  if c.reference_point ~= nil then
    if type(c.reference_point) ~= "table" or #c.reference_point ~= #b.objectives then
      error(("experiment: reference_point needs %d values"):format(#b.objectives), 2)
    end
  end
  return setmetatable({ cfg = c }, Experiment)
end

-- ---- one run ----

local function first_line(msg)
  local s = tostring(msg):gsub("[\r\n\t]+", " ")
  if #s > 300 then s = s:sub(1, 297) .. "..." end
  return s
end

-- Result of evaluate() -> status, objective list (user units), outputs by name, message.
local function check_result(b, res)
  local m = #b.objectives
  if type(res) ~= "table" then
    if type(res) == "number" and m == 1 then res = { res } else
      return "wrong_count", nil, {}, ("evaluate returned %s, expected a table of %d objectives"):format(type(res), m)
    end
  end
  local y, named = {}, {}
  if res[1] ~= nil then
    local n = #res
    if n ~= m then
      return "wrong_count", nil, {}, ("evaluate returned %d objectives, expected %d"):format(n, m)
    end
    for i = 1, m do y[i] = res[i] end
  else
    for i, ob in ipairs(b.objectives) do
      if res[ob.name] == nil then
        return "wrong_count", nil, {}, ("evaluate returned no value for objective '%s'"):format(ob.name)
      end
      y[i] = res[ob.name]
    end
  end
  for k, v in pairs(res) do if type(k) == "string" then named[k] = v end end
  for i, ob in ipairs(b.objectives) do
    named[ob.name] = y[i]
    if type(y[i]) ~= "number" then
      return "wrong_count", nil, named, ("objective '%s' is a %s, not a number"):format(ob.name, type(y[i]))
    end
    if y[i] ~= y[i] or y[i] == math.huge or y[i] == -math.huge then
      return "nan", y, named, ("objective '%s' is %s"):format(ob.name, R.num(y[i]))
    end
  end
  local ok, err = bench_mod.to_internal(b.objectives, y)
  if not ok then return "invalid", y, named, err end
  for _, con in ipairs(b.constraints) do
    if not bench_mod.satisfies(con, named[con.name]) then
      return "infeasible", y, named, ("constraint %s violated (%s = %s)"):format(con.text, con.name, tostring(named[con.name]))
    end
  end
  return "ok", y, named, ""
end

-- ---- one evaluation (here, or on another MPI rank) ----

local TIMEOUT_MSG = "evaluation timed out after %g s (eval_timeout)"

--- Evaluate job {p, e, iteration, seed, timeout?} of benchmark b:
-- -> {status, y, named, msg, dt}. The same function runs on every MPI rank,
-- so a point gives the same record wherever it is evaluated. With a timeout,
-- Lua code running past the deadline is interrupted (a count hook) and an
-- evaluation that returns late is recorded as "timeout" too; ctx.timeout and
-- ctx.deadline (core.wtime() value) let evaluate() pass the remaining time
-- to pg.run_external for programs it starts.
function E.evaluate_job(b, job)
  local ctx = { rng = core.rng(job.seed * 1000003 + job.e), iteration = job.iteration, eval = job.e, seed = job.seed,
                benchmark = b, data = os.getenv("PERIGEE_DATA") }
  local t0 = core.wtime()
  local timeout = job.timeout
  if timeout then
    local deadline = t0 + timeout
    ctx.timeout, ctx.deadline = timeout, deadline
    debug.sethook(function()
      if core.wtime() > deadline then error(TIMEOUT_MSG:format(timeout), 0) end
    end, "", 10000)
  end
  local okcall, res = pcall(b.evaluate, job.p, ctx)
  if timeout then debug.sethook() end
  local dt = core.wtime() - t0
  local status, y, named, msg
  if timeout and (dt > timeout or (not okcall and res == TIMEOUT_MSG:format(timeout))) then
    status, y, named, msg = "timeout", nil, {}, TIMEOUT_MSG:format(timeout)
  elseif okcall then
    status, y, named, msg = check_result(b, res)
  else
    status, y, named, msg = "error", nil, {}, first_line(res)
  end
  -- only numbers and strings travel between ranks (and only numbers are used)
  local plain = {}
  for k, v in pairs(named or {}) do
    if type(k) == "string" and (type(v) == "number" or type(v) == "string") then plain[k] = v end
  end
  return { status = status, y = y, named = plain, msg = msg, dt = dt }
end

local Run = {}
Run.__index = Run

function Experiment:_new_run(opt, seed)
  local c, b = self.cfg, self.cfg.bench
  local dir = c.out .. "/" .. opt.name .. "/seed" .. seed
  local run = setmetatable({ exp = self, opt = opt, seed = seed, dir = dir, b = b, space = b.space }, Run)
  -- names of the columns of evaluations.csv
  run.inputs = b.space:names()
  run.objnames = {}
  for i, ob in ipairs(b.objectives) do run.objnames[i] = ob.name end
  run.extra = {}
  local isobj = {}
  for _, n in ipairs(run.objnames) do isobj[n] = true end
  for _, con in ipairs(b.constraints) do
    if not isobj[con.name] then run.extra[#run.extra + 1] = con.name; isobj[con.name] = true end
  end
  run.header = { "eval", "iteration" }
  for _, n in ipairs(run.inputs) do run.header[#run.header + 1] = n end
  for _, n in ipairs(run.objnames) do run.header[#run.header + 1] = n end
  for _, n in ipairs(run.extra) do run.header[#run.header + 1] = n end
  run.header[#run.header + 1] = "status"
  run.header[#run.header + 1] = "message"
  return run
end

function Run:config_table()
  local c, b = self.exp.cfg, self.b
  local objs = {}
  for i, ob in ipairs(b.objectives) do objs[i] = { name = ob.name, direction = ob.direction, log = ob.log } end
  local cons = {}
  for i, con in ipairs(b.constraints) do cons[i] = con.text end
  return {
    perigee = core._VERSION,
    benchmark = b.name, benchmark_options = c.benchmark_options, benchmark_description = b.description,
    space = tostring(b.space), objectives = objs, constraints = cons,
    reference_point = c.reference_point or b.reference_point,
    optimizer = self.opt.name, optimizer_description = self.opt.description,
    n_init = c.n_init, iterations = c.iterations, batch = c.batch, seed = self.seed, init = c.init,
    evaluations_planned = c.n_init + c.iterations * c.batch,
  }
end

function Run:input_fields(p)
  local t = {}
  for i, n in ipairs(self.inputs) do t[i] = R.field(p[n]) end
  return t
end

-- Prepare the directory: fresh, or load the journal for a resume.
function Run:open()
  R.mkdir(self.dir)
  local cfgtext = R.json(self:config_table()) .. "\n"
  local evpath = self.dir .. "/evaluations.csv"
  self.journal = {}
  self.elapsed0 = 0
  self.last_walltime_iter = -1
  if self.exp.cfg.resume and R.exists(evpath) then
    local old = R.read(self.dir .. "/config.json")
    if old ~= cfgtext then
      error(("cannot resume %s: its config.json differs from this experiment (different script, seed or options); "
        .. "run without --resume to start again"):format(self.dir), 0)
    end
    local header, rows, cut, bytes = R.read_csv(evpath)
    if header and table.concat(header, ",") ~= table.concat(self.header, ",") then
      error("cannot resume " .. self.dir .. ": evaluations.csv has other columns", 0)
    end
    if cut then -- drop a record cut by a crash
      local text = R.read(evpath)
      R.write_atomic(evpath, text:sub(1, bytes))
    end
    if not header then R.write_atomic(evpath, R.line(self.header)) end
    self.journal = rows or {}
    local wt = R.read_records(self.dir .. "/walltime.csv")
    if wt and #wt > 0 then
      self.elapsed0 = tonumber(wt[#wt].elapsed_seconds) or 0
      self.last_walltime_iter = tonumber(wt[#wt].iteration) or -1
    elseif not R.exists(self.dir .. "/walltime.csv") then
      R.write_atomic(self.dir .. "/walltime.csv", R.line { "iteration", "evaluations", "elapsed_seconds", "hypervolume" })
    end
    if not R.exists(self.dir .. "/timings.csv") then
      R.write_atomic(self.dir .. "/timings.csv", R.line { "eval", "iteration", "seconds" })
    end
    self.resumed = #self.journal
  else
    for _, f in ipairs(RUN_FILES) do os.remove(self.dir .. "/" .. f) end
    R.write_atomic(self.dir .. "/config.json", cfgtext)
    R.write_atomic(evpath, R.line(self.header))
    R.write_atomic(self.dir .. "/timings.csv", R.line { "eval", "iteration", "seconds" })
    R.write_atomic(self.dir .. "/walltime.csv", R.line { "iteration", "evaluations", "elapsed_seconds", "hypervolume" })
    self.resumed = 0
  end
end

-- Evaluate (or replay) a batch of points of one iteration.
function Run:evaluate_batch(points, iteration)
  local b, m = self.b, #self.b.objectives
  local okX, okY = {}, {}
  local timeout = self.exp.cfg.eval_timeout
  -- Under MPI (rank 0, self.farm) the points not in the journal go out as
  -- jobs at once: the run yields them to the scheduler of Experiment:go,
  -- which resumes it with their results; the records below are then written
  -- in evaluation order, as in a single-process run.
  local done
  if self.farm then
    local jobs, es = {}, {}
    for k, p in ipairs(points) do
      local e = self.n_evals + k
      if not self.journal[e] then
        jobs[#jobs + 1] = { p = p, e = e, iteration = iteration, seed = self.seed, timeout = timeout }
        es[#es + 1] = e
      end
    end
    if #jobs > 0 then
      local res = coroutine.yield(jobs)
      done = {}
      for i, e in ipairs(es) do done[e] = res[i] end
    end
  end
  for _, p in ipairs(points) do
    local e = self.n_evals + 1
    local fields = self:input_fields(p)
    local status, y, named, msg
    local rec = self.journal[e]
    if rec then
      -- replay: the recorded point must be the one proposed now
      if tonumber(rec[1]) ~= e or tonumber(rec[2]) ~= iteration then
        error(("cannot resume %s: journal record %d is for iteration %s, the run is at iteration %d"):format(
          self.dir, e, tostring(rec[2]), iteration), 0)
      end
      for i, f in ipairs(fields) do
        if rec[2 + i] ~= f then
          error(("cannot resume %s: evaluation %d was %s = %s, now proposed %s (the optimizer is not deterministic "
            .. "or the experiment changed)"):format(self.dir, e, self.inputs[i], rec[2 + i], f), 0)
        end
      end
      local k = 2 + #self.inputs
      y, named = {}, {}
      for i = 1, m do
        y[i] = tonumber(rec[k + i])
        named[self.objnames[i]] = y[i]
      end
      for i, n in ipairs(self.extra) do named[n] = tonumber(rec[k + m + i]) end
      status, msg = rec[k + m + #self.extra + 1], rec[k + m + #self.extra + 2]
    else
      if orphaned() then os.exit(4, true) end
      local r = done and done[e]
        or E.evaluate_job(b, { p = p, e = e, iteration = iteration, seed = self.seed, timeout = timeout })
      status, y, named, msg = r.status, r.y, r.named, r.msg
      local dt = r.dt
      self.phase.evaluate = self.phase.evaluate + (dt or 0)
      local row = { e, iteration }
      for _, f in ipairs(fields) do row[#row + 1] = f end
      for i = 1, m do row[#row + 1] = y and R.field(y[i]) or "" end
      for _, n in ipairs(self.extra) do
        local v = named and named[n]
        row[#row + 1] = type(v) == "number" and R.num(v) or ""
      end
      row[#row + 1] = status
      row[#row + 1] = R.field(msg)
      self.unsynced = self.unsynced + (dt or 0)
      local sync = self.unsynced >= self.exp.cfg.sync
      R.append(self.dir .. "/evaluations.csv", table.concat(row, ",") .. "\n", sync)
      self.dirty = not sync
      if sync then self.unsynced = 0 end
      R.append(self.dir .. "/timings.csv", R.line { e, iteration, dt }, false)
    end
    self.n_evals = e
    self.counts[status] = (self.counts[status] or 0) + 1
    self.ctx.seen[self.space:hash(p)] = true
    if status == "ok" then
      local z = bench_mod.to_internal(b.objectives, y)
      self.X[#self.X + 1] = p
      self.Y[#self.Y + 1] = z
      self.Yuser[#self.Yuser + 1] = y
      self.evals_ok[#self.evals_ok + 1] = { e = e, iteration = iteration, p = p, y = y }
      okX[#okX + 1] = p
      okY[#okY + 1] = z
    elseif #self.failures < 1000 then
      self.failures[#self.failures + 1] = { eval = e, iteration = iteration, status = status, message = msg }
    end
  end
  if self.dirty then -- the iteration's records on disk before it counts as done
    R.append(self.dir .. "/evaluations.csv", "", true)
    self.dirty, self.unsynced = false, 0
  end
  return okX, okY
end

-- The internal reference point (minimised, transformed), or a derived one.
function Run:reference()
  local c, b = self.exp.cfg, self.b
  local ref = c.reference_point or b.reference_point
  if ref then
    local z = bench_mod.to_internal(b.objectives, ref)
    if not z then error("experiment: the reference point is not positive on a log-transformed objective", 0) end
    return z, false
  end
  if #self.Y == 0 then return nil end
  -- none given: 10% beyond the worst value of the initial design (recorded in summary.json)
  local z = {}
  for j = 1, #b.objectives do
    local lo, hi = math.huge, -math.huge
    for _, y in ipairs(self.Y) do lo = math.min(lo, y[j]); hi = math.max(hi, y[j]) end
    z[j] = hi + 0.1 * math.max(hi - lo, math.abs(hi), 1e-12)
  end
  return z, true
end

function Run:metrics_row(iteration)
  local b = self.b
  local m = #b.objectives
  local row = { iteration = iteration, evaluations = self.n_evals, ok = self.counts.ok or 0 }
  row.failed = self.n_evals - row.ok - (self.counts.infeasible or 0)
  row.infeasible = self.counts.infeasible or 0
  if not self.ref then self.ref, self.ref_derived = self:reference() end
  local nd = {}
  if #self.Y > 0 then
    local Ym = core.matrix(self.Y)
    local idx = core.pareto.filter(Ym)
    for i, k in ipairs(idx) do nd[i] = self.Y[k] end
    row.pareto_size = #idx
    row.hypervolume = self.ref and core.hv(Ym, self.ref) or 0 / 0
    local front = self.front
    if front then
      local Nd = core.matrix(nd)
      row.igd = core.igd(Nd, front)
      row.igd_plus = core.igd_plus(Nd, front)
    end
    for j = 1, m do
      local best = math.huge
      for _, y in ipairs(self.Y) do best = math.min(best, y[j]) end
      local ob = b.objectives[j]
      local v = ob.direction == "max" and -best or best
      row["best_" .. ob.name] = ob.log and math.exp(v) or v
    end
  else
    row.pareto_size = 0
    row.hypervolume = 0.0
  end
  self.nd_idx = nil
  return row
end

function Run:metrics_header()
  local h = { "iteration", "evaluations", "ok", "failed", "infeasible", "hypervolume", "igd", "igd_plus" }
  for _, ob in ipairs(self.b.objectives) do h[#h + 1] = "best_" .. ob.name end
  h[#h + 1] = "pareto_size"
  return h
end

function Run:write_metrics()
  local h = self:metrics_header()
  local lines = { R.line(h) }
  for _, r in ipairs(self.metrics) do
    local vals = {}
    for i, k in ipairs(h) do vals[i] = r[k] end
    lines[#lines + 1] = R.line(vals, #h)
  end
  R.write_atomic(self.dir .. "/metrics.csv", table.concat(lines))
end

function Run:record_iteration(iteration)
  local row = self:metrics_row(iteration)
  self.metrics[#self.metrics + 1] = row
  self:write_metrics()
  local elapsed = self.elapsed0 + (core.wtime() - self.t0)
  if iteration > self.last_walltime_iter then
    R.append(self.dir .. "/walltime.csv", R.line { iteration, self.n_evals, elapsed, row.hypervolume }, false)
  end
  self.progress:update(self, row, elapsed)
  return row
end

-- Normalise what propose() returned into a list of valid points.
function Run:proposed_points(P, q)
  local space = self.space
  if type(P) == "userdata" then P = space:points(space.c:snap(P)) end
  if type(P) ~= "table" then
    error(("optimizer '%s': propose must return a list of points or a matrix, got %s"):format(self.opt.name, type(P)), 0)
  end
  if #P == 0 then error(("optimizer '%s' proposed no points"):format(self.opt.name), 0) end
  local out = {}
  for i, p in ipairs(P) do
    if i > q then break end
    local ok, err = space:validate(p)
    if not ok then error(("optimizer '%s' proposed an invalid point: %s"):format(self.opt.name, err), 0) end
    -- a canonical copy: only the space's names, fixed values filled in
    local c = {}
    for _, d in ipairs(space.dims) do c[d.name] = d.kind == "fixed" and d.value or p[d.name] end
    out[i] = c
  end
  return out
end

function Run:data()
  local U = #self.X > 0 and self.space:encode(self.X) or core.matrix(0, self.space:unit_dim())
  local Y = #self.Y > 0 and core.matrix(self.Y) or core.matrix(0, #self.b.objectives)
  return self.X, U, Y
end

function Run:go(progress)
  local c, b = self.exp.cfg, self.b
  self.progress = progress
  self:open()
  self.t0 = core.wtime()
  self.n_evals, self.counts, self.failures = 0, {}, {}
  self.unsynced, self.dirty = 0, false
  self.X, self.Y, self.Yuser, self.evals_ok, self.metrics = {}, {}, {}, {}, {}
  local frontrows = b.front and b.front()
  if frontrows then
    local f = {}
    for i, r in ipairs(frontrows) do f[i] = assert(bench_mod.to_internal(b.objectives, r), "true front outside a log objective") end
    self.front = core.matrix(f)
  end
  local master = core.rng(self.seed)
  local init_rng, opt_rng = master:split(), master:split()
  local run = self
  local ctx = {
    space = self.space, benchmark = b, objectives = b.objectives, m = #b.objectives, rng = opt_rng,
    state = {}, iteration = 0, batch = c.batch, n_init = c.n_init, iterations = c.iterations,
    seen = {}, seed = self.seed,
    data = function() return run:data() end,
  }
  self.ctx = ctx
  local ph = { init = 0, propose = 0, observe = 0, evaluate = 0 }
  self.phase = ph
  local function timed(k, f, ...)
    local t = core.wtime()
    local r = f(...)
    ph[k] = ph[k] + (core.wtime() - t)
    return r
  end
  timed("init", self.opt.init, ctx)
  progress:start(self)
  -- initial design
  local P
  if self.opt.initial_design then
    P = self:proposed_points(timed("propose", self.opt.initial_design, ctx, c.n_init), c.n_init)
  else
    P = self.space:sample(c.n_init, init_rng, { method = c.init })
  end
  local X, Y = self:evaluate_batch(P, 0)
  ctx.reference_point = nil
  self:record_iteration(0)
  ctx.reference_point = self.ref
  if #X > 0 then timed("observe", self.opt.observe, ctx, X, Y) end
  for it = 1, c.iterations do
    ctx.iteration = it
    P = self:proposed_points(timed("propose", self.opt.propose, ctx, c.batch), c.batch)
    X, Y = self:evaluate_batch(P, it)
    self:record_iteration(it)
    ctx.reference_point = self.ref
    if #X > 0 then timed("observe", self.opt.observe, ctx, X, Y) end
  end
  return self:finish()
end

-- phases.csv: where the run's wall time went (seconds; not reproducible,
-- like timings.csv): total, the optimizer's init / propose / observe, the
-- benchmark's evaluate (this process's evaluations; on a resume, replayed
-- evaluations cost nothing), then the optimizer's own split of propose when
-- it has a timing(ctx) function returning {name = seconds} (Coflex: fit,
-- pool, predict, select), as rows "propose.<name>".
function Run:write_phases(elapsed)
  local ph = self.phase
  local lines = { R.line { "phase", "seconds" }, R.line { "total", elapsed } }
  for _, k in ipairs { "init", "propose", "observe", "evaluate" } do lines[#lines + 1] = R.line { k, ph[k] } end
  local t = self.opt.timing and self.opt.timing(self.ctx)
  if type(t) == "table" then
    local names = {}
    for k, v in pairs(t) do if type(k) == "string" and type(v) == "number" then names[#names + 1] = k end end
    table.sort(names)
    for _, k in ipairs(names) do lines[#lines + 1] = R.line { "propose." .. k, t[k] } end
  end
  R.write_atomic(self.dir .. "/phases.csv", table.concat(lines))
end

function Run:finish()
  local b = self.b
  -- pareto.csv: non-dominated successful evaluations, in evaluation order
  local h = { "eval", "iteration" }
  for _, n in ipairs(self.inputs) do h[#h + 1] = n end
  for _, n in ipairs(self.objnames) do h[#h + 1] = n end
  local lines = { R.line(h) }
  local idx = #self.Y > 0 and core.pareto.filter(core.matrix(self.Y)) or {}
  table.sort(idx)
  for _, k in ipairs(idx) do
    local ev = self.evals_ok[k]
    local row = { ev.e, ev.iteration }
    for _, n in ipairs(self.inputs) do row[#row + 1] = ev.p[n] end
    for j = 1, #self.objnames do row[#row + 1] = ev.y[j] end
    lines[#lines + 1] = R.line(row, #h)
  end
  R.write_atomic(self.dir .. "/pareto.csv", table.concat(lines))
  local last = self.metrics[#self.metrics]
  local best = {}
  for _, ob in ipairs(b.objectives) do best[ob.name] = last["best_" .. ob.name] end
  local refu = self.ref and bench_mod.from_internal(b.objectives, self.ref)
  local summary = {
    benchmark = b.name, optimizer = self.opt.name, seed = self.seed,
    evaluations = self.n_evals, ok = self.counts.ok or 0, failed = last.failed, infeasible = last.infeasible,
    hypervolume = last.hypervolume, igd = last.igd, igd_plus = last.igd_plus, best = best,
    pareto_size = #idx, reference_point = refu, reference_point_derived = self.ref_derived or false,
    iterations = #self.metrics - 1, failures = R.array(self.failures),
    objectives = self.objnames,
  }
  R.write_atomic(self.dir .. "/summary.json", R.json(summary) .. "\n")
  local elapsed = self.elapsed0 + (core.wtime() - self.t0)
  self:write_phases(elapsed)
  self.progress:finish(self, last, elapsed)
  summary.dir = self.dir
  summary.replayed = self.resumed
  return summary
end

-- ---- the grid ----

-- ---- parallel runs in worker processes ----

-- "<go index>:<jobs dir>:<parent pid>:<threads>" in a worker process
local WORKER = os.getenv("PERIGEE_RUN_WORKER")
local go_count = 0 -- experiment:go() calls in this process

local function q(s) return R.shell_quote(s) end

-- The grid's runs in order, and its fingerprint (directories + configs).
function Experiment:_grid()
  local list, fp = {}, {}
  for _, opt in ipairs(self.cfg.opts) do
    for _, seed in ipairs(self.cfg.seeds) do
      local run = self:_new_run(opt, seed)
      list[#list + 1] = run
      fp[#fp + 1] = run.dir .. "\n" .. R.json(run:config_table())
    end
  end
  return list, table.concat(fp, "\n")
end

-- Claim run i of the grid (atomic mkdir).
local function claim(dir, i)
  if orphaned() then os.exit(4, true) end
  return os.execute(("mkdir %s 2>/dev/null"):format(q(dir .. "/claim." .. i))) == true
end

-- In a worker process, at the parallel go(): take runs until none is left.
function Experiment:_work(spec)
  local dir, threads = spec.dir, spec.threads
  parent_pid = spec.ppid
  local mpi = require "perigee.mpi"
  if threads then core.threads(threads) end
  local list, fp = self:_grid()
  if R.read(dir .. "/grid.txt") ~= fp then
    io.stderr:write("perigee run (worker): this process built another grid than its parent "
      .. "(the script must build the same experiment in every process); no runs taken\n")
    os.exit(3, true)
  end
  local progress = require("perigee.progress").new { quiet = true }
  for i, run in ipairs(list) do
    if claim(dir, i) then
      local s = run:go(progress)
      R.write_atomic(dir .. "/result." .. i, mpi.encode(s))
    end
  end
  os.exit(0, true)
end

-- The parent: start jobs - 1 workers, take runs too, collect the summaries.
function Experiment:_parallel(list, fp, progress, jobs, index)
  local c = self.cfg
  local mpi = require "perigee.mpi"
  local dir = c.out .. "/.jobs" .. index
  os.execute("rm -rf " .. q(dir))
  R.mkdir(dir)
  R.write_atomic(dir .. "/grid.txt", fp)
  local ppid = core.getpid()
  local threads = core.threads()
  local per = math.max(1, threads // jobs)
  local procs, pidfiles = {}, {}
  for k = 1, jobs - 1 do
    local env = ("PERIGEE_RUN_WORKER=%s PERIGEE_THREADS=%d"):format(
      q(("%d:%s:%d:%d"):format(index, dir, ppid, per)), per)
    local words = { q(E.launch.exe), "run" }
    for _, a in ipairs(E.launch.args) do words[#words + 1] = q(a) end
    pidfiles[k] = dir .. "/worker" .. k .. ".pid"
    local cmd = ("echo $$ > %s; %s exec %s >/dev/null 2>%s"):format(q(pidfiles[k]), env, table.concat(words, " "),
      q(dir .. "/worker" .. k .. ".err"))
    procs[k] = io.popen(cmd, "r")
  end
  core.threads(per)
  local mine = {}
  local ok, err = pcall(function()
    for i, run in ipairs(list) do
      if claim(dir, i) then mine[i] = run:go(progress) end
    end
  end)
  core.threads(threads)
  if not ok then -- stop the workers this process started, then report
    for _, f in ipairs(pidfiles) do
      local pid = math.tointeger(tonumber((R.read(f) or ""):match("%d+") or ""))
      if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    end
    for _, pr in ipairs(procs) do pr:close() end
    os.execute("rm -rf " .. q(dir))
    error(err, 0)
  end
  for k, pr in ipairs(procs) do
    pr:read("a")
    local okc, _, code = pr:close()
    if not okc and not c.quiet then
      local e = (R.read(dir .. "/worker" .. k .. ".err") or ""):gsub("%s+$", "")
      io.stderr:write(("perigee run: worker process %d ended with status %s%s\n"):format(k, tostring(code),
        e ~= "" and (": " .. e:sub(1, 2000)) or ""))
    end
  end
  local runs = {}
  for i, run in ipairs(list) do
    local s = mine[i]
    if not s then
      local text = R.read(dir .. "/result." .. i)
      if text then
        s = mpi.decode(text)
        if s.failures then R.array(s.failures) end
        if not c.quiet then
          io.write(("%s seed %d  evals %d  hv %.5g  done (worker process)\n"):format(s.optimizer, s.seed,
            s.evaluations, s.hypervolume or 0 / 0))
        end
      else -- a worker failed on this run (or never took it): run it here
        local why = {}
        for k = 1, jobs - 1 do
          local e = R.read(dir .. "/worker" .. k .. ".err")
          if e and e:match("%S") then why[#why + 1] = e end
        end
        if not c.quiet then
          io.stderr:write(("run %s was not completed by a worker process; running it here%s\n"):format(
            run.dir, #why > 0 and (" (worker stderr: " .. table.concat(why, " | "):sub(1, 2000) .. ")") or ""))
        end
        s = run:go(progress)
      end
    end
    runs[i] = s
  end
  os.execute("rm -rf " .. q(dir))
  return runs
end

--- experiment:go() -> results {dir, runs, plots, table}
function Experiment:go()
  local c = self.cfg
  local mpi = require "perigee.mpi"
  if mpi.active() and mpi.rank() ~= 0 then return mpi.worker(self, E) end
  go_count = go_count + 1
  if WORKER and not mpi.active() then
    local n, dir, ppid, th = WORKER:match("^(%d+):(.*):(%d+):(%d+)$")
    if not n then error("PERIGEE_RUN_WORKER is malformed: " .. WORKER, 0) end
    if go_count == tonumber(n) then
      self:_work { dir = dir, ppid = math.tointeger(tonumber(ppid)), threads = math.tointeger(tonumber(th)) }
    end
    return { dir = c.out, runs = {}, benchmark = c.bench.name, worker = true }
  end
  local progress = require("perigee.progress").new { quiet = c.quiet }
  R.mkdir(c.out)
  local runs = {}
  local nruns = #c.opts * #c.seeds
  local jobs = math.min(c.jobs or core.threads(), nruns)
  if mpi.active() then
    runs = mpi.run_grid(self, progress, E)
  elseif jobs > 1 and E.launch then
    local list, fp = self:_grid()
    runs = self:_parallel(list, fp, progress, jobs, go_count)
  else
    for _, opt in ipairs(c.opts) do
      for _, seed in ipairs(c.seeds) do
        local run = self:_new_run(opt, seed)
        runs[#runs + 1] = run:go(progress)
      end
    end
  end
  -- out/summary.csv: one line per run
  local h = { "optimizer", "seed", "evaluations", "ok", "failed", "infeasible", "hypervolume", "igd", "igd_plus", "pareto_size", "dir" }
  local lines = { R.line(h) }
  for _, s in ipairs(runs) do
    lines[#lines + 1] = R.line({ s.optimizer, s.seed, s.evaluations, s.ok, s.failed, s.infeasible, s.hypervolume,
      s.igd, s.igd_plus, s.pareto_size, s.optimizer .. "/seed" .. s.seed }, #h)
  end
  R.write_atomic(c.out .. "/summary.csv", table.concat(lines))
  local results = { dir = c.out, runs = runs, benchmark = c.bench.name }
  results.table = E.summary_table(runs)
  if c.plots ~= false then
    local ok, plots = pcall(function() return require("perigee.plot").experiment(c.out) end)
    if ok then results.plots = plots else results.plot_error = tostring(plots) end
  end
  if not c.quiet then
    io.write(results.table)
    if results.plots then
      io.write(results.plots.message, "\n")
    elseif results.plot_error then
      io.write("plots failed: ", results.plot_error, "\n")
    end
  end
  return results
end

local function mean_sd(xs)
  local n, s = 0, 0
  for _, x in ipairs(xs) do if x == x then n = n + 1; s = s + x end end
  if n == 0 then return 0 / 0, 0 / 0 end
  local mu = s / n
  local v = 0
  for _, x in ipairs(xs) do if x == x then v = v + (x - mu) ^ 2 end end
  return mu, n > 1 and math.sqrt(v / (n - 1)) or 0
end

--- A plain-text table of the runs grouped by optimizer (mean +- sd over seeds).
function E.summary_table(runs)
  local by, order = {}, {}
  for _, s in ipairs(runs) do
    if not by[s.optimizer] then by[s.optimizer] = {}; order[#order + 1] = s.optimizer end
    table.insert(by[s.optimizer], s)
  end
  local function fmt(mu, sd)
    if mu ~= mu then return "-" end
    return ("%.4g +- %.2g"):format(mu, sd)
  end
  local rows = { { "optimizer", "seeds", "evals", "failed", "hypervolume", "IGD", "IGD+" } }
  for _, name in ipairs(order) do
    local g = by[name]
    local hv, igd, igdp, ev, fail = {}, {}, {}, 0, 0
    for i, s in ipairs(g) do
      hv[i] = s.hypervolume or 0 / 0
      igd[i] = s.igd or 0 / 0
      igdp[i] = s.igd_plus or 0 / 0
      ev = ev + s.evaluations
      fail = fail + s.failed + s.infeasible
    end
    rows[#rows + 1] = { name, tostring(#g), tostring(ev), tostring(fail), fmt(mean_sd(hv)), fmt(mean_sd(igd)), fmt(mean_sd(igdp)) }
  end
  local w = {}
  for _, r in ipairs(rows) do for j, v in ipairs(r) do w[j] = math.max(w[j] or 0, #v) end end
  local out = {}
  for i, r in ipairs(rows) do
    local cells = {}
    for j, v in ipairs(r) do cells[j] = v .. string.rep(" ", w[j] - #v) end
    out[#out + 1] = table.concat(cells, "  ")
    if i == 1 then
      local dash = {}
      for j = 1, #w do dash[j] = string.rep("-", w[j]) end
      out[#out + 1] = table.concat(dash, "  ")
    end
  end
  return table.concat(out, "\n") .. "\n"
end

--- The calling script's usage: its leading block of `--` comment lines,
-- printed, and the process ends with status 0. Experiment scripts call it
-- for --help / -h.
function E.usage()
  local src = debug.getinfo(2, "S").source
  local lines = {}
  local f = src:sub(1, 1) == "@" and io.open(src:sub(2))
  if f then
    for line in f:lines() do
      local c = line:match "^%-%-%-? ?(.*)$"
      if not c then break end
      lines[#lines + 1] = c
    end
    f:close()
  end
  print(#lines > 0 and table.concat(lines, "\n") or "(no usage text)")
  os.exit(0)
end

E.Experiment = Experiment
return setmetatable(E, { __call = function(_, cfg) return E.new(cfg) end })
