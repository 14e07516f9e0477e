--- qnparego: ParEGO (Knowles 2006) batched as in BoTorch's qNParEGO: a random augmented-Chebyshev scalarisation per batch element, MC noisy EI
--   pg.optimizers.qnparego{ rho = 0.05, samples = 128, baseline = 20, train_each = false, ... }
-- For batch element j: weights w_j uniform on the simplex (new for every
-- element), g = max_k w_jk y_k + rho sum_k w_jk y_k on the objectives
-- normalised to [0, 1] over the observed data (minimised), one GP fitted to
-- g, and the Monte-Carlo noisy expected improvement
--   qNEI(x) = E[ max(min(g_B, g_P) - g_x, 0) ]
-- over joint posterior samples of the baseline B (the `baseline` observed
-- points with the smallest g), the points P already chosen for this batch
-- and the candidate x (fixed Sobol' QMC base samples per element). So the
-- chosen points of earlier elements are pending points of the later ones,
-- inside the same samples.
local core = require "perigee.core"
local A = require "perigee.acqopt"

return function(opts)
  opts = A.options(opts)
  local rho = opts.rho or 0.05
  local nbase = opts.baseline or 20
  return {
    name = opts.name or "qnparego",
    description = "qNParEGO: random Chebyshev scalarisation per batch element, MC noisy EI",
    init = function() end,
    propose = function(ctx, q)
      local rows, U, Y = A.data(ctx)
      local Yn = A.normalise(Y)
      local Ut = type(U) == "userdata" and U:totable() or U
      local elite = A.elite(rows, Yn, opts.elite)
      local chosen, chosen_u = {}, {}
      local function step(j)
        local w = core.acq.simplex_weights(#Yn[1], ctx.rng)
        local g = core.acq.chebyshev(Yn, w, rho)
        local order = {}
        for i = 1, #g do order[i] = i end
        table.sort(order, function(a, b) if g[a] ~= g[b] then return g[a] < g[b] end return a < b end)
        local nb = math.min(nbase, #order)
        -- hyperparameters trained for the first element of the batch, reused
        -- (refit only) for the others: same inputs, outputs on the same scale
        local model = A.models(ctx, U, { g }, opts, nb + j, "g", j > 1 and not opts.train_each, nb)
        for k = 1, nb do
          local i = order[k]
          local mu, var = model.posts[1]:predict({ Ut[i] })
          model.cache["base" .. i] = { u = Ut[i], mu = { mu[1] }, var = { var[1] } }
          model:add(rows[i], "base" .. i)
        end
        for k = 1, #chosen do model:add(chosen[k], chosen_u[k]) end
        -- threshold per sample: best of baseline and pending samples
        local Fq = model:qsamples()[1]:totable()
        local t = {}
        for s = 1, opts.samples do
          local b = math.huge
          for _, v in ipairs(Fq[s]) do if v < b then b = v end end
          t[s] = b
        end
        return {
          score = function(r, h) return core.bo.nei(model:samples(r, h)[1], t) end,
          add = function(r, h)
            chosen[#chosen + 1] = r
            chosen_u[#chosen_u + 1] = h
          end,
        }
      end
      return core.matrix(A.batch(ctx, q, step, opts, elite))
    end,
    observe = function() end,
  }
end
