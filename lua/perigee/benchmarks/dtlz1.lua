-- dtlz1: Deb, Thiele, Laumanns and Zitzler, "Scalable test problems for
-- evolutionary multiobjective optimization", in Evolutionary Multiobjective
-- Optimization, Springer 2005 (TIK report 112, 2001).
-- n = m + k - 1 real variables in [0, 1] (k = 5), m minimised objectives:
--   g = 100 (k + sum_{x in x_M} ((x - 1/2)^2 - cos(20 pi (x - 1/2))))
--   f_1 = 1/2 x_1 ... x_{m-1} (1 + g)
--   f_j = 1/2 x_1 ... x_{m-j} (1 - x_{m-j+1}) (1 + g),  f_m = 1/2 (1 - x_1)(1 + g)
-- Pareto front (g = 0): the simplex sum f_j = 1/2, f_j >= 0, sampled on a
-- Das-Dennis lattice. Options: {m = 3, k = 5, front_divisions = 40}.
local pg = require "perigee"
local B = require "perigee.benchmark"

return function(opts)
  local m, k = opts.m or 3, opts.k or 5
  assert(math.type(m) == "integer" and m >= 2, "dtlz1: m must be an integer >= 2")
  assert(math.type(k) == "integer" and k >= 1, "dtlz1: k must be an integer >= 1")
  local n = m + k - 1
  local dims, names = {}, {}
  for i = 1, n do
    dims[i] = pg.real("x" .. i, 0, 1)
    names[i] = "f" .. i
  end
  names = {}
  for j = 1, m do names[j] = "f" .. j end
  local ref = {}
  for j = 1, m do ref[j] = 400 end
  return {
    name = "dtlz1",
    description = ("DTLZ1: linear front, many local fronts (%d variables, %d objectives)"):format(n, m),
    space = pg.space(dims),
    objectives = names,
    reference_point = ref,
    evaluate = function(x)
      local g = k
      for i = m, n do
        local t = x["x" .. i] - 0.5
        g = g + t * t - math.cos(20 * math.pi * t)
      end
      g = 100 * g
      local f = {}
      for j = 1, m do
        local v = 0.5 * (1 + g)
        for i = 1, m - j do v = v * x["x" .. i] end
        if j > 1 then v = v * (1 - x["x" .. (m - j + 1)]) end
        f[j] = v
      end
      return f
    end,
    true_front = function()
      local pts = B.simplex_lattice(m, opts.front_divisions or (m == 2 and 1000 or 40))
      for _, p in ipairs(pts) do
        for j = 1, m do p[j] = 0.5 * p[j] end
      end
      return pts
    end,
  }
end
