--- qehvi: batch expected hypervolume improvement (Daulton et al. 2020), Monte-Carlo, sequential greedy
--   pg.optimizers.qehvi{ samples = 128, pool = 500, restarts = 3, ref = "benchmark" | "nadir", ... }
-- One GP per objective on the objectives normalised to [0, 1] over the
-- observed data (minimised internally). The acquisition of a batch is the
-- mean over posterior samples of HV(front u Q_s) - HV(front), where front
-- is the observed Pareto set (normalised) and the reference point is the
-- run's reference point mapped into the same normalised units
-- (ref = "nadir": the observed front's nadir plus 10% of its range, like
-- BoTorch's infer_reference_point). Batches are built greedily: the j-th
-- point maximises the joint improvement of (chosen points, x) with the
-- chosen points inside the same joint posterior samples (fixed Sobol' QMC
-- base samples per iteration). See docs/optimizers.md.
local core = require "perigee.core"
local A = require "perigee.acqopt"

return function(opts)
  -- one local search for batch elements 2..q unless told otherwise: the
  -- later greedy steps start from the pool the first step's searches grew
  -- (docs/optimizers.md, "Cost": same grid HV, about a third less time)
  local o = { restarts_later = 1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  opts = A.options(o)
  local name = opts.name or "qehvi"
  return {
    name = name,
    description = "MC qEHVI, one GP per objective, sequential greedy batches",
    init = function() end,
    propose = function(ctx, q)
      local rows, U, Y = A.data(ctx)
      local Yn, lo, hi = A.normalise(Y)
      local ref = A.reference(ctx, opts, Yn, lo, hi)
      local model = A.models(ctx, U, A.columns(Yn), opts, q, "y")
      local fidx = core.pareto.filter(Yn)
      local front = {}
      for i, k in ipairs(fidx) do front[i] = Yn[k] end
      front = #front > 0 and core.matrix(front) or front
      local elite = A.elite(rows, Yn, opts.elite)
      local function step()
        local acq = core.bo.acq_hvi_q(model.posts, 1, front, ref)
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
