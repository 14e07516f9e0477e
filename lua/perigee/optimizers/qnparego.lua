--- qnparego: ParEGO (Knowles 2006) batched as in BoTorch's qNParEGO: a random augmented-Chebyshev scalarisation per batch element, MC noisy EI
--   pg.optimizers.qnparego{ rho = 0.05, samples = 128, baseline = 20, model = "objectives" | "scalarised", ... }
-- For batch element j: weights w_j uniform on the simplex (new for every
-- element), g = max_k w_jk y_k + rho sum_k w_jk y_k on the objectives
-- normalised to [0, 1] over the observed data (minimised), and the
-- Monte-Carlo noisy expected improvement
--   qNEI(x) = E[ max(min(g_B, g_P) - g_x, 0) ]
-- over joint posterior samples of the baseline B, the points P already
-- chosen for this batch and the candidate x (fixed Sobol' QMC base samples).
-- So the chosen points of earlier elements are pending points of the later
-- ones, inside the same samples.
--   model = "objectives" (default; BoTorch's qNParEGO): one GP per
--     objective, trained once per iteration; g is applied to the joint
--     samples of the objectives (BoTorch's GenericMCObjective with
--     get_chebyshev_scalarization). The baseline is the observed points of
--     the first non-dominated fronts (at most `baseline`): every minimiser of
--     a Chebyshev scalarisation is weakly Pareto-optimal, so they are the
--     incumbents for every weight vector (prune_baseline in spirit).
--   model = "scalarised" (Knowles' ParEGO): one GP fitted to g per element
--     (hyperparameters trained for the first element, refitted for the
--     others unless train_each), baseline the `baseline` observed points of
--     smallest g.
local core = require "perigee.core"
local A = require "perigee.acqopt"

-- model = "objectives"
local function propose_objectives(ctx, q, opts, rho, nbase)
  local rows, U, Y = A.data(ctx)
  local Yn = A.normalise(Y)
  local m = #Yn[1]
  local Ut = type(U) == "userdata" and U:totable() or U
  local _, order = A.elite(rows, Yn, 0)
  local elite = {}
  for k = 1, math.min(opts.elite, #order) do elite[k] = rows[order[k]] end
  local nb = math.min(nbase, #order)
  local model = A.models(ctx, U, A.columns(Yn), opts, nb + q, "y", false, nb)
  for k = 1, nb do
    local i = order[k]
    model:add(rows[i], "base" .. i, Ut[i])
  end
  local function step()
    local w = core.acq.simplex_weights(m, ctx.rng)
    -- threshold per sample: best scalarised value of baseline and pending samples
    local Fq = model:qsamples()
    local qt = {}
    for j = 1, m do qt[j] = Fq[j]:totable() end
    local t = {}
    for s = 1, opts.samples do
      local b = math.huge
      for i = 1, #qt[1][s] do
        local mx, sum = -math.huge, 0
        for j = 1, m do
          local a = w[j] * qt[j][s][i]
          if a > mx then mx = a end
          sum = sum + a
        end
        local g = mx + rho * sum
        if g < b then b = g end
      end
      t[s] = b
    end
    local acq = core.bo.acq_cheb(w, rho, t)
    return {
      score = function(r, h) return model:score(r, h, acq) end,
      add = function(r, h) model:add(r, h) end,
    }
  end
  return core.matrix(A.batch(ctx, q, step, opts, elite))
end

-- model = "scalarised"
local function propose_scalarised(ctx, q, opts, rho, nbase)
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
      model:add(rows[i], "base" .. i, Ut[i])
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
    local acq = core.bo.acq_nei(t)
    return {
      score = function(r, h) return model:score(r, h, acq) end,
      add = function(r, h)
        chosen[#chosen + 1] = r
        chosen_u[#chosen_u + 1] = h
      end,
    }
  end
  return core.matrix(A.batch(ctx, q, step, opts, elite))
end

return function(opts)
  opts = A.options(opts)
  local rho = opts.rho or 0.05
  local nbase = opts.baseline or 20
  local kind = opts.model or "objectives"
  assert(kind == "objectives" or kind == "scalarised", "qnparego: model must be 'objectives' or 'scalarised'")
  return {
    name = opts.name or "qnparego",
    description = "qNParEGO: random Chebyshev scalarisation per batch element, MC noisy EI",
    init = function() end,
    propose = function(ctx, q)
      if kind == "objectives" then return propose_objectives(ctx, q, opts, rho, nbase) end
      return propose_scalarised(ctx, q, opts, rho, nbase)
    end,
    observe = function() end,
  }
end
