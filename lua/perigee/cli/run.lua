--- perigee run FILE [--seed N] [--out DIR] [--resume] [--quick] [--quiet] [--no-plots]
-- Runs an experiment script. Command-line values override the script's:
-- the script's pg.experiment{...} picks them up (perigee.experiment.overrides).
-- A script that returns an experiment without calling :go() is run too.
local argparse = require "argparse"

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
  local ok, a = parser:pparse(args)
  if not ok then
    io.stderr:write(parser:get_usage(), "\nperigee run: ", a, "\n")
    return 2
  end
  local E = require "perigee.experiment"
  E.overrides = { seed = a.seed, out = a.out, resume = a.resume or nil, quick = a.quick or nil,
                  quiet = a.quiet or nil, plots = a.no_plots and false or nil }
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
    io.stderr:write("perigee run: ", tostring(results[2]), "\n")
    return 1
  end
  local ret = results[2]
  if getmetatable(ret) == E.Experiment and not ran[ret] then
    local okgo, e = xpcall(function() return ret:go() end, debug.traceback)
    if not okgo then
      io.stderr:write("perigee run: ", tostring(e), "\n")
      return 1
    end
  end
  E.overrides = {}
  return 0
end
