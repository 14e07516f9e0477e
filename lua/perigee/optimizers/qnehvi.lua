--- qnehvi: noisy batch expected hypervolume improvement (Daulton et al. 2021), Monte-Carlo, sequential greedy
--   pg.optimizers.qnehvi{ samples = 128, baseline = 50, pool = 500, restarts = 3, ref = "benchmark" | "nadir", ... }
-- Like qehvi, but the front is not taken as known: in each posterior sample
-- s the baseline points (the observed points of the first non-dominated
-- fronts, at most `baseline`, BoTorch's prune_baseline in spirit) are drawn
-- jointly with the batch, and the improvement is measured against the
-- sampled baseline's own Pareto front. The per-sample fronts are computed
-- once per iteration and reused for every candidate and greedy step (the
-- cached box decomposition of BoTorch's qNEHVI: here the 2-objective
-- staircase, or the point set for the exact m >= 3 improvement).
local core = require "perigee.core"
local A = require "perigee.acqopt"

return function(opts)
  -- one local search for batch elements 2..q unless told otherwise: the
  -- later greedy steps start from the pool the first step's searches grew
  -- (docs/optimizers.md, "Cost": same grid HV, about a third less time)
  local o = { restarts_later = 1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  opts = A.options(o)
  local nbase = opts.baseline or 50
  return {
    name = opts.name or "qnehvi",
    description = "MC qNEHVI, one GP per objective, sequential greedy batches",
    init = function() end,
    propose = function(ctx, q)
      local rows, U, Y = A.data(ctx)
      local Yn, lo, hi = A.normalise(Y)
      local ref = A.reference(ctx, opts, Yn, lo, hi)
      local _, order = A.elite(rows, Yn, 0)
      local elite = {}
      for k = 1, math.min(opts.elite, #order) do elite[k] = rows[order[k]] end
      local nb = math.min(nbase, #order)
      local model = A.models(ctx, U, A.columns(Yn), opts, nb + q, "y", false, nb)
      local Ut = type(U) == "userdata" and U:totable() or U
      -- condition on the baseline (slots 1..nb)
      for k = 1, nb do
        local i = order[k]
        model:add(rows[i], "base" .. i, Ut[i])
      end
      -- per-sample Pareto fronts of the sampled baseline (cached)
      local Fq = model:qsamples()
      local qt = {}
      for j = 1, model.m do qt[j] = Fq[j]:totable() end
      local fronts = {}
      for s = 1, opts.samples do
        local pts = {}
        for k = 1, nb do
          local y = {}
          for j = 1, model.m do y[j] = qt[j][s][k] end
          pts[k] = y
        end
        local f = {}
        for _, k in ipairs(core.pareto.filter(pts)) do f[#f + 1] = pts[k] end
        fronts[s] = #f > 0 and core.matrix(f) or f
      end
      local function step()
        local acq = core.bo.acq_hvi_q(model.posts, nb + 1, fronts, ref, true)
        return {
          score = function(r, h) return model:score(r, h, acq) end,
          add = function(r, h) model:add(r, h) end,
        }
      end
      return core.matrix(A.batch(ctx, q, step, opts, elite))
    end,
    observe = function() end,
  }
end
