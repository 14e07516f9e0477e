-- dtlz2: Deb, Thiele, Laumanns and Zitzler, "Scalable test problems for
-- evolutionary multiobjective optimization", Springer 2005.
-- n = m + k - 1 real variables in [0, 1] (k = 10), m minimised objectives:
--   g = sum_{x in x_M} (x - 1/2)^2
--   f_1 = (1 + g) cos(x_1 pi/2) ... cos(x_{m-1} pi/2)
--   f_j = (1 + g) cos(x_1 pi/2) ... cos(x_{m-j} pi/2) sin(x_{m-j+1} pi/2)
--   f_m = (1 + g) sin(x_1 pi/2)
-- Pareto front (g = 0): the positive orthant of the unit sphere, sampled as
-- Das-Dennis lattice directions normalised to length 1.
-- Options: {m = 3, k = 10, front_divisions = 40}.
local pg = require "perigee"
local B = require "perigee.benchmark"

return function(opts)
  local m, k = opts.m or 3, opts.k or 10
  assert(math.type(m) == "integer" and m >= 2, "dtlz2: m must be an integer >= 2")
  assert(math.type(k) == "integer" and k >= 1, "dtlz2: k must be an integer >= 1")
  local n = m + k - 1
  local dims, names, ref = {}, {}, {}
  for i = 1, n do dims[i] = pg.real("x" .. i, 0, 1) end
  for j = 1, m do
    names[j] = "f" .. j
    ref[j] = 2.5
  end
  local half_pi = math.pi / 2
  return {
    name = "dtlz2",
    description = ("DTLZ2: spherical front (%d variables, %d objectives)"):format(n, m),
    space = pg.space(dims),
    objectives = names,
    reference_point = ref,
    evaluate = function(x)
      local g = 0
      for i = m, n do
        local t = x["x" .. i] - 0.5
        g = g + t * t
      end
      local f = {}
      for j = 1, m do
        local v = 1 + g
        for i = 1, m - j do v = v * math.cos(x["x" .. i] * half_pi) end
        if j > 1 then v = v * math.sin(x["x" .. (m - j + 1)] * half_pi) end
        f[j] = v
      end
      return f
    end,
    true_front = function()
      local pts = B.simplex_lattice(m, opts.front_divisions or (m == 2 and 1000 or 40))
      for _, p in ipairs(pts) do
        local s = 0
        for j = 1, m do s = s + p[j] * p[j] end
        s = math.sqrt(s)
        for j = 1, m do p[j] = p[j] / s end
      end
      return pts
    end,
  }
end
