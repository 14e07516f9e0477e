--- perigee run FILE [--seed N] [--out DIR] [--resume] [--quick] [--quiet] [--no-plots]
--                   [--threads N] [--eval-timeout SECONDS] [--jobs N]
-- The independent runs of a grid go to --jobs processes (default: the thread
-- count, i.e. the cores); the files are those of a one-process run
-- (perigee.experiment, "Parallel runs").
-- Under mpirun / srun (and a perigee built with MPI) it initialises MPI and
-- the experiments spread their evaluations over the ranks (docs/scaling.md).
-- Runs an experiment script. Command-line values override the script's:
-- the script's pg.experiment{...} picks them up (perigee.experiment.overrides).
-- A script that returns an experiment without calling :go() is run too.
local argparse = require "argparse"

-- This executable, to start worker processes with (as perigee proxies does).
local function executable()
  local exe = os.getenv "PERIGEE_EXE"
  if exe and exe ~= "" then return exe end
  local lo = 0
  while arg and arg[lo - 1] do lo = lo - 1 end
  return arg and arg[lo] or "perigee"
end

return function(args)
  local parser = argparse("perigee run", "Run an experiment script (see docs/guide.md).")
  parser:argument("file", "Experiment script (Lua).")
  parser:argument("script_args", "Arguments passed to the script as arg[1..].") :args("*")
  parser:option("--seed", "Run this seed only (overrides seed/seeds)."):convert(function(s)
    local n = math.tointeger(tonumber(s))
    if not n or n < 0 then return nil, "seed must be a non-negative integer" end
    return n
  end)
  parser:option("--out", "Output directory (overrides out).")
  parser:flag("--resume", "Continue a killed run: replay the journal, evaluate only what is missing.")
  parser:flag("--quick", "Smoke test: n_init <= 10, iterations <= 3, first seed only.")
  parser:flag("--quiet", "No progress lines or summary.")
  parser:flag("--no-plots", "Do not render plots.")
  parser:option("--threads", "Threads of perigee's parallel loops (default: PERIGEE_THREADS or all cores)."):convert(function(s)
    local n = math.tointeger(tonumber(s))
    if not n or n < 1 or n > 4096 then return nil, "threads must be an integer in 1..4096" end
    return n
  end)
  parser:option("--eval-timeout", "Seconds an evaluation may take; a late one is recorded as failed (\"timeout\")."):convert(function(s)
    local t = tonumber(s)
    if not t or t <= 0 or t ~= t or t == math.huge then return nil, "eval-timeout must be a positive number of seconds" end
    return t
  end)
  parser:option("--jobs", "Processes running the grid's independent runs (default: the thread count, i.e. the cores; 1 = this process only)."):convert(function(s)
    local n = math.tointeger(tonumber(s))
    if not n or n < 1 or n > 256 then return nil, "jobs must be an integer in 1..256" end
    return n
  end)
  local exe = executable()
  local ok, a = parser:pparse(args)
  if not ok then
    io.stderr:write(parser:get_usage(), "\nperigee run: ", a, "\n")
    return 2
  end
  local pg = require "perigee"
  local mpi = require "perigee.mpi"
  if mpi.built and mpi.launched() then
    mpi.init()
    -- one machine shared by several ranks: split its cores between them
    -- unless the user chose a thread count
    local ranks_here = tonumber(os.getenv("OMPI_COMM_WORLD_LOCAL_SIZE") or os.getenv("SLURM_NTASKS_PER_NODE") or "")
    if not a.threads and not os.getenv("PERIGEE_THREADS") and ranks_here and ranks_here > 1 then
      pg.threads(math.max(1, pg.threads() // math.tointeger(ranks_here)))
    end
  end
  if a.threads then pg.threads(a.threads) end
  local E = require "perigee.experiment"
  E.overrides = { seed = a.seed, out = a.out, resume = a.resume or nil, quick = a.quick or nil,
                  quiet = a.quiet or nil, plots = a.no_plots and false or nil, eval_timeout = a.eval_timeout,
                  jobs = a.jobs }
  local launch_args = {}
  for i, v in ipairs(args) do launch_args[i] = v end
  E.launch = { exe = exe, args = launch_args }
  local chunk, err = loadfile(a.file)
  if not chunk then
    io.stderr:write("perigee run: ", err, "\n")
    return 1
  end
  arg = { [0] = a.file }
  for i, v in ipairs(a.script_args or {}) do arg[i] = v end
  -- remember which experiments were run, to run a returned one if needed
  local ran = {}
  local go = E.Experiment.go
  E.Experiment.go = function(self, ...)
    ran[self] = true
    return go(self, ...)
  end
  local results = table.pack(xpcall(chunk, debug.traceback, table.unpack(arg)))
  E.Experiment.go = go
  if not results[1] then
    mpi.finish() -- under MPI: the worker ranks exit (rank 0 reports the error)
    io.stderr:write("perigee run: ", tostring(results[2]), "\n")
    return 1
  end
  local ret = results[2]
  if getmetatable(ret) == E.Experiment and not ran[ret] then
    local okgo, e = xpcall(function() return ret:go() end, debug.traceback)
    if not okgo then
      mpi.finish()
      io.stderr:write("perigee run: ", tostring(e), "\n")
      return 1
    end
  end
  mpi.finish()
  E.overrides = {}
  E.launch = nil
  return 0
end
