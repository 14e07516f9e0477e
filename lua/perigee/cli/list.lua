--- perigee list benchmarks|optimizers: what is available, with descriptions.
local argparse = require "argparse"

return function(args)
  local parser = argparse("perigee list", "List the benchmarks on the search path or the optimizers.")
  parser:argument("what", "benchmarks or optimizers."):choices { "benchmarks", "optimizers" }
  local ok, a = parser:pparse(args)
  if not ok then
    io.stderr:write(parser:get_usage(), "\nperigee list: ", a, "\n")
    return 2
  end
  local rows = {}
  if a.what == "benchmarks" then
    local B = require "perigee.benchmark"
    for _, b in ipairs(B.list()) do
      local shape = b.error and "" or ("%dd/%do"):format(b.dimensions, b.objectives)
      rows[#rows + 1] = { b.name, shape, b.description, file = b.file }
    end
    print("search path: " .. table.concat(B.path(), ":"))
  else
    for _, o in ipairs(require("perigee.optimizers").list()) do rows[#rows + 1] = { o.name, o.description } end
  end
  -- aligned short columns, the description last (unpadded), the file on
  -- its own indented line so that long descriptions do not widen the table
  local w = {}
  for _, r in ipairs(rows) do for j, v in ipairs(r) do w[j] = math.max(w[j] or 0, #v) end end
  for _, r in ipairs(rows) do
    local cells = {}
    for j, v in ipairs(r) do cells[j] = j < #r and (v .. string.rep(" ", w[j] - #v)) or v end
    print(table.concat(cells, "  "))
    if r.file then print(string.rep(" ", (w[1] or 0) + 2) .. r.file) end
  end
  return 0
end
