-- dtlz7: Deb, Thiele, Laumanns and Zitzler, "Scalable test problems for
-- evolutionary multiobjective optimization", Springer 2005.
-- n = m + k - 1 real variables in [0, 1] (k = 20), m minimised objectives:
--   f_j = x_j (j < m),  g = 1 + 9/k sum_{x in x_M} x
--   h = m - sum_{j<m} f_j / (1 + g) (1 + sin(3 pi f_j)),  f_m = (1 + g) h
-- Pareto front (g = 1): f_m = 2m - sum_j psi(f_j) with psi(t) = t (1 + sin(3 pi t)).
-- Because f_m is separable, a point is non-dominated exactly when every f_j
-- is a running maximum of psi (psi(f_j) > psi(t) for all t < f_j): the front
-- is the product of that one-dimensional record set with itself (2^(m-1)
-- disconnected regions), sampled on a grid. Options: {m = 3, k = 20, front_grid}.
local pg = require "perigee"
local B = require "perigee.benchmark"

return function(opts)
  local m, k = opts.m or 3, opts.k or 20
  assert(math.type(m) == "integer" and m >= 2, "dtlz7: m must be an integer >= 2")
  assert(math.type(k) == "integer" and k >= 1, "dtlz7: k must be an integer >= 1")
  local n = m + k - 1
  local dims, names, ref = {}, {}, {}
  for i = 1, n do dims[i] = pg.real("x" .. i, 0, 1) end
  for j = 1, m do
    names[j] = "f" .. j
    ref[j] = j < m and 1.1 or 40
  end
  local function psi(t) return t * (1 + math.sin(3 * math.pi * t)) end
  return {
    name = "dtlz7",
    description = ("DTLZ7: disconnected front (%d variables, %d objectives)"):format(n, m),
    space = pg.space(dims),
    objectives = names,
    reference_point = ref,
    evaluate = function(x)
      local s = 0
      for i = m, n do s = s + x["x" .. i] end
      local g = 1 + 9 * s / k
      local f, h = {}, m
      for j = 1, m - 1 do
        f[j] = x["x" .. j]
        h = h - f[j] / (1 + g) * (1 + math.sin(3 * math.pi * f[j]))
      end
      f[m] = (1 + g) * h
      return f
    end,
    true_front = function()
      local grid = opts.front_grid or (m == 2 and 10001 or (m == 3 and 161 or 41))
      local rec = B.running_min(grid, function(t) return -psi(t) end)
      local ts = {}
      for i, r in ipairs(rec) do ts[i] = r[1] end
      local pts, cur = {}, {}
      local function build(j)
        if j == m then
          local s = 0
          for i = 1, m - 1 do s = s + psi(cur[i]) end
          local p = {}
          for i = 1, m - 1 do p[i] = cur[i] end
          p[m] = 2 * m - s
          pts[#pts + 1] = p
          return
        end
        for _, t in ipairs(ts) do
          cur[j] = t
          build(j + 1)
        end
      end
      build(1)
      return pts
    end,
  }
end
