--- pabo: PABO (Parsa et al. 2019), a GP and an acquisition per objective, batch from the Pareto front of the acquisition values
--   pg.optimizers.pabo{ acq = "ei" | "lcb", beta = 2, pool = 500, restarts = 3, ... }
-- Parsa, Ankit, Ziabari and Roy, "PABO: pseudo agent-based multi-objective
-- Bayesian hyperparameter optimization for efficient neural accelerator
-- design", ICCAD 2019. Each objective (normalised to [0, 1], minimised) has
-- its own GP and acquisition a_j (EI with the best observed value, or
-- -LCB = -(mu - beta sigma)); the candidates are a pool plus the local
-- maxima of every a_j (local search from the pool's best points, all
-- visited points kept); the batch is taken from the Pareto front of the
-- vectors (a_1, ..., a_m) (maximised): whole fronts in rank order, and
-- within the last front needed the points of largest crowding distance
-- (extremes first). The public Coflex code has no PABO; this follows the
-- paper's description.
local core = require "perigee.core"
local A = require "perigee.acqopt"

return function(opts)
  opts = A.options(opts)
  local kind = opts.acq or "ei"
  assert(kind == "ei" or kind == "lcb", "pabo: acq must be 'ei' or 'lcb'")
  local beta = opts.beta or 2
  return {
    name = opts.name or "pabo",
    description = "PABO: per-objective GP and acquisition, Pareto front of the acquisitions",
    init = function() end,
    propose = function(ctx, q)
      local rows, U, Y = A.data(ctx)
      local Yn = A.normalise(Y)
      local cols = A.columns(Yn)
      local m = #cols
      local model = A.models(ctx, U, cols, opts, 0, "y")
      local best = {}
      for j = 1, m do
        best[j] = math.huge
        for _, v in ipairs(cols[j]) do if v < best[j] then best[j] = v end end
      end
      local function acq(r, h)
        local _, mu, var = model:prep(r, h)
        local out = {}
        for j = 1, m do
          local sd = {}
          for i, v in ipairs(var[j]) do sd[i] = math.sqrt(v) end
          if #r == 0 then out[j] = {}
          elseif kind == "ei" then
            out[j] = core.acq.ei(mu[j], sd, best[j])
            if type(out[j]) ~= "table" then out[j] = { out[j] } end
          else
            local t = {}
            for i = 1, #r do t[i] = -(mu[j][i] - beta * sd[i]) end
            out[j] = t
          end
        end
        return out
      end
      local elite = A.elite(rows, Yn, opts.elite)
      local crows, chs = A.pool(ctx, opts, elite)
      local cand = { rows = crows, hashes = chs }
      for j = 1, m do
        A.batch(ctx, 1, function()
          return { score = function(r, h) return acq(r, h)[j] end }
        end, opts, nil, cand)
      end
      local a = acq(cand.rows, cand.hashes)
      local P = {}
      for i = 1, #cand.rows do
        local p = {}
        for j = 1, m do p[j] = -a[j][i] end
        P[i] = p
      end
      local ranks = core.pareto.sort(P)
      local crowd = core.pareto.crowding(P, ranks)
      local order = {}
      for i = 1, #P do order[i] = i end
      table.sort(order, function(x, y)
        if ranks[x] ~= ranks[y] then return ranks[x] < ranks[y] end
        if crowd[x] ~= crowd[y] then return crowd[x] > crowd[y] end
        return x < y
      end)
      local out = {}
      for k = 1, math.min(q, #order) do out[k] = cand.rows[order[k]] end
      return core.matrix(out)
    end,
    observe = function() end,
  }
end
