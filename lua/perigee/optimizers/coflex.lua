--- coflex: per-objective sparse GPs with a software x hardware kernel and Pareto-based fusion.
--   pg.optimizers.coflex{ ... options below ... }
--
-- The method of Coflex (Ma et al. 2025) as its paper describes it, with the
-- defects of the public code fixed (docs/coflex.md lists them). Each
-- iteration:
--   1. one inducing-point sparse GP (engine/sgp.c, VFE by default) per
--      objective on ALL evaluations so far, over the joint encoding of the
--      space (one-hot for choice dimensions, the unit cube otherwise);
--      kernel = a block per factor of the space (software, hardware), each
--      an ARD kernel over its own columns, combined by product or sum;
--      hyperparameters refit every iteration by L-BFGS on the bound,
--      warm-started from the previous iteration's values;
--   2. a candidate pool: `pool` scrambled Sobol points of the joint space
--      (one sequence continued across iterations) plus `local_pool` children
--      of the observed Pareto set (half Gaussian mutations, half SBX
--      crossovers followed by polynomial mutation), all generated in C;
--      candidates already evaluated or duplicated are excluded (space hash);
--   3. predictions of every objective for the whole pool (C, blocked);
--   4. Pareto-based fusion (engine/fusion.c): per-objective optimistic
--      scores (LCB mu - beta sigma, or per-objective EI), non-dominated
--      filtering of the candidates on the score vectors, then a batch of q
--      chosen greedily by predicted hypervolume improvement over the
--      observed front, objectives normalised by the observed range and the
--      reference point at the observed front's nadir + ref_margin in those
--      units, plus `diversity` x distance to the nearest evaluated/picked
--      input.
-- All randomness (Sobol shift, mutations, inducing selection seeds, L-BFGS
-- restarts) is drawn from ctx.rng, so a run is a function of its seed.
--
-- Options (defaults):
--   kernel = "matern52"     ARD kernel of every block ("se", "matern32", ...)
--   combine = "product"     "product" or "sum" of the block kernels
--   blocks = nil            list of lists of dimension names (or a table
--                           {software = {...}, hardware = {...}}); default:
--                           the factors of a product space, else one block
--   inducing = nil          number of inducing points; default
--                           min(n, max(32, floor(4 sqrt(n)))) for n evaluations
--   select = "kmeans++"     inducing selection: "kmeans++", "greedy" (variance), "random"
--   method = "vfe"          "vfe" (Titsias) or "fitc"
--   noise = 1e-2            initial noise variance (standardised outputs), trained
--   restarts = 3            L-BFGS starts at the first fit
--   warm_restarts = 1       starts at later fits (the first from the previous optimum)
--   max_iter = 60           L-BFGS iterations per start at the first fit
--   warm_max_iter = 25      L-BFGS iterations per start at warm-started fits
--   pool = 3000             Sobol candidates per iteration
--   local_pool = 3000       mutation / crossover children of the Pareto set
--                           (larger pools were measured WORSE: more Sobol points
--                           hurt DTLZ2 (the LCB filter then keeps far-from-data
--                           extrapolations), more children hurt nb201_hw (they
--                           crowd the known stretches of the front); prediction
--                           is linear in the pool; docs/coflex.md)
--   sigma = 0.05            Gaussian mutation step (unit encoding)
--   parents = "uniform"     parents of the local pool: "uniform" over the
--                           observed front, or "crowding" (probability ~ crowding
--                           distance: more children in sparse stretches; measured
--                           worse on nb201_hw and DTLZ2, docs/coflex.md)
--   score = "lcb"           "lcb" or "ei" (per objective)
--   beta = 0.5              LCB width (scores of the non-dominated filter)
--   kappa = 0               predicted point of the greedy HVI: mu - kappa sigma
--                           (0: the posterior mean; beta: the LCB vector)
--   diversity = 1e-4        weight of the input-distance term in the greedy batch
--                           (normalised HVI units per unit of distance / sqrt(dims))
--   min_keep = 256          candidates kept by the front filter (further fronts if needed)
--   ref_margin = 0.1        fusion reference point beyond the observed nadir (normalised)
--   name = "coflex"
-- Timings: ctx.state.timing = {fit = s, predict = s, select = s, pool = s}
-- (cumulative), also returned by the optimizer's timing(ctx).
local core = require "perigee.core"

local function check_opts(o)
  local function enum(k, vals, def)
    local v = o[k] == nil and def or o[k]
    for _, a in ipairs(vals) do if v == a then return v end end
    error(("coflex: option '%s' must be one of %s"):format(k, table.concat(vals, ", ")), 3)
  end
  local function num(k, def, lo, hi, int)
    local v = o[k] == nil and def or o[k]
    if type(v) ~= "number" or v ~= v or v < lo or v > hi or (int and math.type(v) ~= "integer") then
      error(("coflex: option '%s' must be a%s number in [%s, %s]"):format(k, int and "n integer" or "", lo, hi), 3)
    end
    return v
  end
  local c = {}
  c.kernel = enum("kernel", { "matern52", "matern32", "matern12", "se" }, "matern52")
  c.combine = enum("combine", { "product", "sum" }, "product")
  c.select = enum("select", { "kmeans++", "greedy", "random" }, "kmeans++")
  c.method = enum("method", { "vfe", "fitc" }, "vfe")
  c.score = enum("score", { "lcb", "ei" }, "lcb")
  c.noise = num("noise", 1e-2, 1e-8, 10)
  c.restarts = num("restarts", 3, 1, 100, true)
  c.warm_restarts = num("warm_restarts", 1, 1, 100, true)
  c.max_iter = num("max_iter", 60, 1, 10000, true)
  c.warm_max_iter = num("warm_max_iter", 25, 1, 10000, true)
  c.pool = num("pool", 3000, 0, 1e7, true)
  c.local_pool = num("local_pool", 3000, 0, 1e7, true)
  c.sigma = num("sigma", 0.05, 0, 1)
  c.beta = num("beta", 0.5, 0, 100)
  c.kappa = num("kappa", 0, 0, 100)
  c.diversity = num("diversity", 1e-4, 0, 1e6)
  c.min_keep = num("min_keep", 256, 1, 1e7, true)
  c.ref_margin = num("ref_margin", 0.1, 1e-9, 1e6)
  c.parents = enum("parents", { "uniform", "crowding" }, "uniform")
  if o.inducing ~= nil then c.inducing = num("inducing", 64, 1, 65536, true) end
  if c.pool + c.local_pool < 1 then error("coflex: pool + local_pool must be >= 1", 3) end
  c.blocks = o.blocks
  c.name = o.name or "coflex"
  return c
end

-- Columns of the model encoding (one-hot) taken by each dimension.
local function column_map(space)
  local cols, at = {}, 0
  for j, d in ipairs(space.dims) do
    local w = (d.kind == "fixed") and 0 or (d.kind == "choice" and d.levels or 1)
    local t = {}
    for k = 1, w do t[k] = at + k end
    cols[d.name] = t
    at = at + w
    cols[j] = t
  end
  return cols, at
end

-- Blocks as lists of model columns.
local function block_columns(space, blocks)
  local cols, D = column_map(space)
  local groups = {}
  if blocks == nil then blocks = space.factors end
  if blocks and blocks[1] == nil then -- a table keyed by block name
    local names = {}
    for k in pairs(blocks) do names[#names + 1] = k end
    table.sort(names)
    local l = {}
    for i, k in ipairs(names) do l[i] = blocks[k] end
    blocks = l
  end
  local used = {}
  for _, b in ipairs(blocks or {}) do
    local g = {}
    for _, name in ipairs(b) do
      local c = cols[name]
      if not c then error(("coflex: block dimension '%s' is not in the space"):format(tostring(name)), 0) end
      for _, k in ipairs(c) do
        if used[k] then error(("coflex: dimension '%s' is in two blocks"):format(name), 0) end
        used[k] = true
        g[#g + 1] = k
      end
    end
    if #g > 0 then groups[#groups + 1] = g end
  end
  local rest = {}
  for k = 1, D do if not used[k] then rest[#rest + 1] = k end end
  if #rest > 0 then groups[#groups + 1] = rest end
  return groups, D
end

local function kernel_spec(c, groups)
  if #groups == 1 then return { kind = c.kernel, dims = groups[1] } end
  local spec = { c.combine }
  for i, g in ipairs(groups) do spec[i + 1] = { kind = c.kernel, dims = g } end
  return spec
end

local function default_inducing(n)
  return math.min(n, math.max(32, math.floor(4 * math.sqrt(n))))
end

return function(opts)
  local c = check_opts(opts or {})
  local self = {
    name = c.name,
    description = ("Coflex: per-objective sparse GPs (%s, %s inducing, %s %s kernel), %s fusion, pool %d+%d"):format(
      c.method, c.select, c.combine, c.kernel, c.score, c.pool, c.local_pool),
    options = c,
  }

  local parent_picker -- defined below (uses c)

  function self.init(ctx)
    local st = ctx.state
    st.shift = ctx.rng:split() -- Sobol digital shift for the whole run
    st.offset = 0
    st.theta = {}
    st.groups, st.D = block_columns(ctx.space, c.blocks)
    st.spec = kernel_spec(c, st.groups)
    st.timing = { fit = 0, predict = 0, select = 0, pool = 0 }
    st.info = {}
  end

  -- Fit one sparse GP per objective; returns the models and the encoded data.
  local function fit_models(ctx, X, Y)
    local st = ctx.state
    local H = ctx.space:onehot(X)
    local n, m = Y:shape()
    local mi = c.inducing and math.min(c.inducing, n) or default_inducing(n)
    local models = {}
    for j = 1, m do
      local y = Y:col(j)
      local g = core.gp.sparse { kernel = st.spec, inducing = mi, method = c.method, select = c.select,
                                 seed = ctx.rng:integer(1, 2147483647), train = 0, noise = c.noise,
                                 max_iter = st.theta[j] and c.warm_max_iter or c.max_iter }
      g:fit(H, y)
      if st.theta[j] then
        g:set_params(st.theta[j])
        if c.select == "greedy" then g:fit(H, y) end -- re-select Z with the warm kernel
        g:train { restarts = c.warm_restarts, rng = ctx.rng }
      else
        g:train { restarts = c.restarts, rng = ctx.rng }
      end
      local p = g:params()
      local th = {}
      for i = 1, #p do th[i] = p[i] end
      st.theta[j] = th
      models[j] = g
    end
    return models, H, mi
  end

  -- Parents of the local pool: a function returning an index into `front`.
  -- "uniform": every front point alike. "crowding": probability proportional
  -- to the point's crowding distance on the front (Deb et al. 2002; the two
  -- extremes, whose distance is infinite, count as the largest finite one),
  -- plus 10 % of the mean so that no point is left out: sparse stretches of
  -- the front (its ends, gaps) get more children than crowded ones.
  parent_picker = function(ctx, Y, front)
    local nf = #front
    if c.parents == "uniform" or nf <= 2 then return function() return ctx.rng:integer(nf) end end
    local _, m = Y:shape()
    local Yf = {}
    for i, k in ipairs(front) do
      local r = {}
      for j = 1, m do r[j] = Y:get(k, j) end
      Yf[i] = r
    end
    local _, _, cd = core.evo.survive(Yf, nf)
    local big, sum, cnt = 0, 0, 0
    for i = 1, nf do
      if cd[i] < math.huge then big = math.max(big, cd[i]); sum = sum + cd[i]; cnt = cnt + 1 end
    end
    if big <= 0 then big = 1 end
    local floor = cnt > 0 and sum > 0 and 0.1 * sum / cnt or 0.1
    local cum, tot = {}, 0
    for i = 1, nf do
      tot = tot + (cd[i] < math.huge and cd[i] or big) + floor
      cum[i] = tot
    end
    return function()
      local u = ctx.rng:uniform() * tot
      local lo, hi = 1, nf
      while lo < hi do
        local mid = (lo + hi) // 2
        if cum[mid] < u then lo = mid + 1 else hi = mid end
      end
      return lo
    end
  end

  -- The candidate pool (native matrix).
  local function candidate_pool(ctx, X, Y)
    local st, space = ctx.state, ctx.space
    local parts = {}
    if c.pool > 0 then
      parts[#parts + 1] = space:sample_matrix(c.pool, st.shift:clone(), { method = "sobol", offset = st.offset })
      st.offset = st.offset + c.pool
    end
    if c.local_pool > 0 then
      local front = core.pareto.filter(Y)
      local rows = {}
      for i, k in ipairs(front) do rows[i] = space:to_native(X[k]) end
      local pick = parent_picker(ctx, Y, front)
      local nmut = c.local_pool // 2
      local ncx = c.local_pool - nmut
      local P = {}
      for i = 1, nmut do P[i] = rows[pick()] end
      if nmut > 0 then parts[#parts + 1] = space.c:mutate(P, ctx.rng, nil, c.sigma) end
      local npair = (ncx + 1) // 2
      if npair > 0 then
        local A, B = {}, {}
        for i = 1, npair do
          A[i] = rows[pick()]
          B[i] = rows[pick()]
        end
        local C1, C2 = core.evo.sbx(space, A, B, ctx.rng, { pc = 1.0, pvar = 0.5, eta = 15 })
        parts[#parts + 1] = core.evo.pm(space, C1, ctx.rng, { eta = 20 })
        parts[#parts + 1] = core.evo.pm(space, C2, ctx.rng, { eta = 20 })
      end
    end
    return core.fusion.stack(table.unpack(parts))
  end

  -- Hash set (integers) of every point evaluated so far, failures included.
  local function seen_ints(ctx)
    local s = {}
    for k in pairs(ctx.seen) do
      local v = math.tointeger(tonumber(k, 16))
      if v then s[v] = true end
    end
    return s
  end

  function self.propose(ctx, q)
    local st, space = ctx.state, ctx.space
    local X, _, Y = ctx:data()
    local n = #X
    if n < 2 then -- nothing to model yet: space-filling points
      local out, keys = {}, {}
      for _ = 1, 100 do
        local M = space:sample_matrix(q, ctx.rng, { method = "uniform" })
        local pts, hs = space:points(M), space:hashes(M)
        for i, p in ipairs(pts) do
          if #out < q and not ctx.seen[hs[i]] and not keys[hs[i]] then keys[hs[i]] = true; out[#out + 1] = p end
        end
        if #out >= q then break end
      end
      return out
    end
    local t0 = core.wtime()
    local models, Hd, mi = fit_models(ctx, X, Y)
    local t1 = core.wtime()
    local Xc = candidate_pool(ctx, X, Y)
    local hs = space.c:hash(Xc)
    local seen, dup, excl = seen_ints(ctx), {}, {}
    for i, h in ipairs(hs) do
      if seen[h] or dup[h] then excl[#excl + 1] = i else dup[h] = true end
    end
    local Hc = space.c:onehot(Xc)
    local t2 = core.wtime()
    local means, vars = {}, {}
    for j, g in ipairs(models) do means[j], vars[j] = g:predict(Hc) end
    local t3 = core.wtime()
    local idx, gains, nkeep = core.fusion.select(means, vars, Y, Hd, Hc, q, {
      score = c.score, beta = c.beta, diversity = c.diversity, min_keep = c.min_keep,
      ref_margin = c.ref_margin, kappa = c.kappa, exclude = excl })
    local out = {}
    local _, d = Xc:shape()
    for i, k in ipairs(idx) do
      local row = {}
      for jj = 1, d do row[jj] = Xc:get(k, jj) end
      out[i] = space:to_point(row)
    end
    local t4 = core.wtime()
    st.models = models -- the last fitted models (one perigee.gp.sparse per objective)
    local tm = st.timing
    tm.fit = tm.fit + (t1 - t0)
    tm.pool = tm.pool + (t2 - t1)
    tm.predict = tm.predict + (t3 - t2)
    tm.select = tm.select + (t4 - t3)
    st.info[#st.info + 1] = { iteration = ctx.iteration, n = n, inducing = mi, candidates = #hs,
                              excluded = #excl, kept = nkeep, gain = gains[1] or 0 }
    if #out < q then -- fewer eligible candidates than q (tiny spaces): fill at random
      local keys = {}
      for _, p in ipairs(out) do keys[space:hash(p)] = true end
      for _ = 1, 100 do
        if #out >= q then break end
        local M = space:sample_matrix(q, ctx.rng, { method = "uniform" })
        local pts, hh = space:points(M), space:hashes(M)
        for i, p in ipairs(pts) do
          if #out < q and not ctx.seen[hh[i]] and not keys[hh[i]] then keys[hh[i]] = true; out[#out + 1] = p end
        end
      end
    end
    return out
  end

  function self.observe() end

  --- The cumulative time split of a run (seconds): fit, pool, predict, select.
  function self.timing(ctx) return ctx.state.timing end

  return self
end
