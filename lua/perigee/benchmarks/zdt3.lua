-- zdt3: Zitzler, Deb and Thiele, "Comparison of multiobjective evolutionary
-- algorithms: empirical results", Evolutionary Computation 8(2), 2000.
-- n real variables in [0, 1] (default 30), two minimised objectives:
--   f1 = x1,  g = 1 + 9/(n-1) * sum_{i>=2} x_i,  f2 = g * h(f1, g)
--   h = 1 - sqrt(f1/g) - (f1/g) sin(10 pi f1)
-- Pareto front: g = 1 (the points of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1) not dominated by another point of the curve: five disconnected pieces). Options: {n = 30}.
local B = require "perigee.benchmark"

return function(opts)
  return B.zdt("zdt3", "disconnected front", function(f1, g)
    return 1 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10 * math.pi * f1)
  end, opts, 10001)
end
