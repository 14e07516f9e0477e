-- zdt2: Zitzler, Deb and Thiele, "Comparison of multiobjective evolutionary
-- algorithms: empirical results", Evolutionary Computation 8(2), 2000.
-- n real variables in [0, 1] (default 30), two minimised objectives:
--   f1 = x1,  g = 1 + 9/(n-1) * sum_{i>=2} x_i,  f2 = g * h(f1, g)
--   h = 1 - (f1/g)^2
-- Pareto front: g = 1 (f2 = 1 - f1^2, concave). Options: {n = 30}.
local B = require "perigee.benchmark"

return function(opts)
  return B.zdt("zdt2", "concave front", function(f1, g)
    return 1 - (f1 / g) ^ 2
  end, opts, 1001)
end
