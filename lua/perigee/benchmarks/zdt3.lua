-- zdt3: Zitzler, Deb and Thiele, "Comparison of multiobjective evolutionary
-- algorithms: empirical results", Evolutionary Computation 8(2), 2000.
-- n real variables in [0, 1] (default 30), two minimised objectives:
--   f1 = x1,  g = 1 + 9/(n-1) * sum_{i>=2} x_i,  f2 = g * h(f1, g)
--   h = 1 - sqrt(f1/g) - (f1/g) sin(10 pi f1)
-- Pareto front: g = 1 (the points of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1) not dominated by another point of the curve: five disconnected pieces). Options: {n = 30}.
local pg = require "perigee"
local B = require "perigee.benchmark"

return function(opts)
  local n = opts.n or 30
  assert(math.type(n) == "integer" and n >= 2, "zdt3: n must be an integer >= 2")
  local dims = {}
  for i = 1, n do dims[i] = pg.real("x" .. i, 0, 1) end
  local function h(f1, g)
    return 1 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10 * math.pi * f1)
  end
  return {
    name = "zdt3",
    description = ("ZDT3: disconnected front (%d variables, 2 objectives)"):format(n),
    space = pg.space(dims),
    objectives = { "f1", "f2" },
    reference_point = { 11, 11 },
    evaluate = function(x)
      local s = 0
      for i = 2, n do s = s + x["x" .. i] end
      local g = 1 + 9 * s / (n - 1)
      local f1 = x.x1
      return { f1, g * h(f1, g) }
    end,
    -- dense sample of the analytic front (non-dominated points of the curve)
    true_front = function()
      return B.running_min(opts.front_points or 10001, function(t) return h(t, 1) end)
    end,
  }
end
