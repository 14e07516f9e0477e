--- perigee.mpi: Open MPI for the experiment runner (docs/scaling.md).
--
--   local mpi = require "perigee.mpi"     -- or pg.mpi
--   mpi.built            true when perigee was built with MPI
--   mpi.launched()       true under mpirun / srun
--   mpi.init()           -> rank, size (MPI_Init once; 0, 1 without MPI)
--   mpi.rank(), mpi.size(), mpi.active()  (active: initialised, size > 1)
--   mpi.send(dest, tag, value)            any value made of nil, booleans,
--   mpi.probe(seconds) -> source, tag     numbers, strings and tables
--   mpi.recv(source, tag) -> value        (no cycles, no functions)
--   mpi.encode(value) -> string, mpi.decode(string) -> value
--   mpi.peer_lost()      a rank is dead or hung: skip MPI_Finalize at exit
--   mpi.finish()         rank 0, end of the script: the workers exit
--   mpi.run_grid(exp, progress, E), mpi.worker(exp, E): the experiment
--                        runner under MPI (called by experiment:go())
--
-- `perigee run` calls mpi.init() when it was started by a launcher; then
-- pg.experiment{...}:go() on rank 0 runs the grid and sends evaluations to
-- every rank (see perigee.experiment), the other ranks evaluate. Without MPI
-- everything runs in one process and these functions answer rank 0 of 1.
-- Numbers travel as hexadecimal floats ("%a") and integers as integers, so
-- a value decodes to exactly what was encoded (NaN and infinities too).
require "perigee.core" -- registers perigee.mpi_c
local C = require "perigee.mpi_c"

local M = {}
M.built = C.built
M.TAG = { task = 1, result = 2, next = 3, finish = 4 }

-- Experiments rank 0 has started in this process (see run_grid / finish).
local started, finished = 0, false

function M.launched() return C.launched() end

local inited = false
function M.init()
  if not C.built then return 0, 1 end
  local r, s = C.init()
  inited = true
  return r, s
end

function M.rank() return (C.built and inited) and C.rank() or 0 end
function M.size() return (C.built and inited) and C.size() or 1 end
function M.active() return C.built and inited and C.size() > 1 end

local function enc(v, out)
  local t = type(v)
  if t == "nil" then out[#out + 1] = "nil"
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = v == math.mininteger and "math.mininteger" or string.format("%d", v)
    elseif v ~= v then out[#out + 1] = "(0/0)"
    elseif v == math.huge then out[#out + 1] = "(1/0)"
    elseif v == -math.huge then out[#out + 1] = "(-1/0)"
    else out[#out + 1] = string.format("%a", v) end
  elseif t == "string" then out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    out[#out + 1] = "{"
    local n = #v
    for i = 1, n do enc(v[i], out); out[#out + 1] = "," end
    for k, x in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then
        out[#out + 1] = "["
        enc(k, out)
        out[#out + 1] = "]="
        enc(x, out)
        out[#out + 1] = ","
      end
    end
    out[#out + 1] = "}"
  else
    error("perigee.mpi: cannot send a " .. t, 3)
  end
end

function M.encode(v)
  local out = {}
  enc(v, out)
  return table.concat(out)
end

function M.decode(s)
  local f, err = load("return " .. s, "=mpi message", "t", { math = { mininteger = math.mininteger } })
  if not f then error("perigee.mpi: bad message: " .. err, 2) end
  return f()
end

function M.send(dest, tag, v) C.send(dest, tag, M.encode(v)) end
function M.probe(seconds) return C.probe(seconds) end
function M.recv(src, tag) return M.decode(C.recv(src, tag)) end
function M.abort(code) return C.abort(code) end
--- Rank 0, at the end of the script (perigee run calls it): the worker
-- ranks waiting in an experiment's loop exit. A driver other than
-- `perigee run` that calls pg.experiment{}:go() under MPI must call it too.
function M.finish()
  if finished or not M.active() or M.rank() ~= 0 then return end
  finished = true
  for r = 1, M.size() - 1 do pcall(C.send, r, M.TAG.finish, "true") end
end

--- A rank was given up (dead or hung): do not wait for it in MPI_Finalize.
function M.peer_lost() if C.built and inited then C.peer_lost() end end

-- ---- the experiment runner under MPI (used by perigee.experiment) ----
--
-- Rank 0 owns the journal and every file. It runs each (optimizer, seed)
-- run of the grid in a coroutine; a run that needs a batch evaluated yields
-- its jobs, and the scheduler below splits the jobs of all waiting runs over
-- the ranks (rank 0 included) as soon as they are proposed, resuming each
-- run when its batch is complete. All runs progress together, so the
-- evaluations of the whole grid are spread over the ranks; fitting and
-- proposals stay on rank 0. A rank that does not answer within
-- eval_timeout + max(5, eval_timeout / 2) seconds of starting a job (its own
-- timeout hook normally answers first) has that job recorded as "timeout",
-- its other jobs handed to the remaining ranks, and gets no more jobs in
-- this experiment.

--- Rank 0: run the grid of experiment `exp` (E = perigee.experiment);
-- returns the run summaries in grid order.
function M.run_grid(exp, progress, E)
  local mpi, core = M, require "perigee.core"
  local T = mpi.TAG
  local c, b = exp.cfg, exp.cfg.bench
  local size = mpi.size()
  local cos, summaries = {}, {}
  for _, opt in ipairs(c.opts) do
    for _, seed in ipairs(c.seeds) do
      local run = exp:_new_run(opt, seed)
      run.farm = true
      cos[#cos + 1] = coroutine.create(function() return run:go(progress) end)
    end
  end
  local ready = {} -- run index -> {results} to resume with
  for i = 1, #cos do ready[i] = { first = true } end
  local batches, queue = {}, {}
  -- jobs handed out and not answered: per rank, in the order sent (a rank
  -- evaluates its jobs in that order); [0] are rank 0's own
  local out, lost = { [0] = {} }, {}
  for r = 1, size - 1 do out[r] = {} end
  local backstop = c.eval_timeout and c.eval_timeout + math.max(5, c.eval_timeout / 2)
  local next_id, alive = 0, #cos
  -- the workers are still in the loop of the previous experiment: let them
  -- go on to this one (they run the script up to its next go())
  if started > 0 then
    for r = 1, size - 1 do pcall(mpi.send, r, T.next, true) end
  end
  started = started + 1
  local function complete(item, res)
    local bt = batches[item.run]
    bt.results[item.k] = res
    bt.left = bt.left - 1
    if bt.left == 0 then
      batches[item.run] = nil
      ready[item.run] = { results = bt.results }
    end
  end
  local function pending()
    for r = 1, size - 1 do if #out[r] > 0 then return true end end
    return false
  end
  local function receive(wait)
    local src, tag = mpi.probe(wait)
    if not src then return false end
    local msg = mpi.recv(src, tag)
    local item = out[src] and out[src][1]
    if tag == T.result and item and item.id == msg.id then
      table.remove(out[src], 1)
      complete(item, msg.r)
      if out[src][1] then out[src][1].t0 = core.wtime() end
    end -- else: a late answer of a rank given up on: dropped
    return true
  end
  while true do
    -- resume the runs whose batch is complete, in run order
    for i = 1, #cos do
      local v = ready[i]
      if v then
        ready[i] = nil
        local ok, res
        if v.first then ok, res = coroutine.resume(cos[i]) else ok, res = coroutine.resume(cos[i], v.results) end
        if not ok then
          error(debug.traceback(cos[i], res), 0)
        end
        if coroutine.status(cos[i]) == "dead" then
          summaries[i] = res
          alive = alive - 1
        else
          batches[i] = { results = {}, left = #res }
          for k, job in ipairs(res) do queue[#queue + 1] = { run = i, k = k, job = job } end
        end
      end
    end
    if alive == 0 and not pending() then break end
    -- hand every queued job out at once, each to the rank with the fewest
    -- jobs outstanding (other ranks first on ties, rank 0 last): rank 0
    -- cannot hand out work while it evaluates, so the work is split up front
    while #queue > 0 do
      local item = table.remove(queue, 1)
      local best, bestn = 0, #out[0]
      for r = 1, size - 1 do
        if not lost[r] and #out[r] <= bestn then
          if #out[r] < bestn or best == 0 then best, bestn = r, #out[r] end
        end
      end
      next_id = next_id + 1
      item.id = next_id
      local list = out[best]
      list[#list + 1] = item
      if best > 0 then
        if #list == 1 then item.t0 = core.wtime() end
        local j = item.job
        mpi.send(best, T.task, { id = item.id, p = j.p, e = j.e, iteration = j.iteration, seed = j.seed, timeout = j.timeout })
      end
    end
    while receive(0) do end
    if #out[0] > 0 then
      local item = table.remove(out[0], 1)
      complete(item, E.evaluate_job(b, item.job))
    elseif not next(ready) then
      -- nothing to do but wait for an answer (or the next backstop)
      local wait = 1.0
      if backstop then
        for r = 1, size - 1 do
          local h = out[r][1]
          if h then wait = math.min(wait, math.max(0, h.t0 + backstop - core.wtime())) end
        end
      end
      receive(wait)
    end
    if backstop then
      local now = core.wtime()
      for r = 1, size - 1 do
        local h = out[r][1]
        if h and now - h.t0 > backstop then
          -- give the rank up: its current job fails, its other jobs go back
          lost[r] = true
          mpi.peer_lost()
          table.remove(out[r], 1)
          complete(h, { status = "timeout", named = {}, dt = now - h.t0,
            msg = ("rank %d gave no answer within %g s (eval_timeout %g s)"):format(r, backstop, c.eval_timeout) })
          for _, it in ipairs(out[r]) do queue[#queue + 1] = it end
          out[r] = {}
        end
      end
    end
  end
  return summaries
end

--- Ranks > 0: evaluate the jobs rank 0 sends. When rank 0 starts another
-- experiment, return (what experiment:go() returns on a worker rank) so that
-- the script reaches its next go(); when rank 0's script is over
-- (M.finish), exit the process (closing the Lua state finalises MPI): the
-- script's code after its last go() runs on rank 0 only.
function M.worker(exp, E)
  local mpi = M
  local T = mpi.TAG
  local b = exp.cfg.bench
  while true do
    local src, tag = mpi.probe(-1)
    local msg = mpi.recv(src, tag)
    if tag == T.next then break end
    if tag == T.finish then os.exit(0, true) end
    if tag == T.task then
      mpi.send(0, T.result, { id = msg.id, r = E.evaluate_job(b, msg) })
    end
  end
  return { dir = exp.cfg.out, runs = {}, benchmark = exp.cfg.bench.name, worker = true, rank = mpi.rank() }
end

return M
