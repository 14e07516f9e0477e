--- perigee plot DIR: (re)draw the figures of an experiment or run directory.
local argparse = require "argparse"

return function(args)
  local parser = argparse("perigee plot", "Write gnuplot data, scripts and PNG/SVG figures to DIR/plots.")
  parser:argument("dir", "Experiment output directory (with summary.csv) or one run directory.")
  local ok, a = parser:pparse(args)
  if not ok then
    io.stderr:write(parser:get_usage(), "\nperigee plot: ", a, "\n")
    return 2
  end
  local okp, r = pcall(require("perigee.plot").experiment, a.dir)
  if not okp then
    io.stderr:write("perigee plot: ", tostring(r), "\n")
    return 1
  end
  print(r.message)
  return 0
end
