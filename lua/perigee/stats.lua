--- perigee.stats: rank statistics used to compare estimators with measured
-- values (benchmarks, tests, HSCoNAS's latency model).
--
--   local S = require("perigee").stats
--   S.ranks(v)          --> average ranks (ties share the mean of their ranks)
--   S.pearson(x, y)     --> Pearson correlation
--   S.spearman(x, y)    --> Spearman's rho = Pearson of the average ranks
--   S.kendall(x, y)     --> Kendall's tau-b, O(n^2); 0 when undefined
local M = {}

function M.ranks(v)
  local idx = {}
  for i = 1, #v do idx[i] = i end
  table.sort(idx, function(a, b) return v[a] < v[b] end)
  local r, i = {}, 1
  while i <= #idx do
    local j = i
    while j < #idx and v[idx[j + 1]] == v[idx[i]] do j = j + 1 end
    for k = i, j do r[idx[k]] = (i + j) / 2 end
    i = j + 1
  end
  return r
end

function M.pearson(x, y)
  local n, mx, my = #x, 0, 0
  for i = 1, n do mx, my = mx + x[i], my + y[i] end
  mx, my = mx / n, my / n
  local sxy, sxx, syy = 0, 0, 0
  for i = 1, n do
    sxy = sxy + (x[i] - mx) * (y[i] - my)
    sxx = sxx + (x[i] - mx) ^ 2
    syy = syy + (y[i] - my) ^ 2
  end
  return sxy / math.sqrt(sxx * syy)
end

function M.spearman(x, y) return M.pearson(M.ranks(x), M.ranks(y)) end

function M.kendall(x, y)
  local c, d, tx, ty = 0, 0, 0, 0
  for i = 1, #x - 1 do
    for j = i + 1, #x do
      local a, b = x[i] - x[j], y[i] - y[j]
      if a == 0 and b == 0 then -- tied in both: left out
      elseif a == 0 then tx = tx + 1
      elseif b == 0 then ty = ty + 1
      elseif (a > 0) == (b > 0) then c = c + 1
      else d = d + 1 end
    end
  end
  local den = math.sqrt((c + d + tx) * (c + d + ty))
  return den > 0 and (c - d) / den or 0
end

return M
