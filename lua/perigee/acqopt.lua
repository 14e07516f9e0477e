--- perigee.acqopt: acquisition maximisation over mixed discrete spaces, and
-- the Monte-Carlo model plumbing shared by the batch BO optimizers
-- (qnparego, qehvi, qnehvi, pabo; see docs/optimizers.md).
--
-- Maximisation (acqopt.batch):
--   1. a scored candidate pool: `pool` space-filling points (scrambled
--      Sobol' through the C space sampler) plus `mutations` mutations of the
--      elite points (e.g. the observed Pareto set), de-duplicated by hash,
--      points already evaluated removed;
--   2. local search on the encoded space: from the `restarts` best distinct
--      pool points, repeatedly move to the best neighbour (engine/space.c:
--      one level up/down per integer/ordinal dimension, every other
--      category, +-delta for reals) while it improves, at most `steps`
--      moves; the local optima join the pool for later batch elements;
--   3. sequential greedy batches (BoTorch's optimize_acqf with
--      sequential = true): the j-th point maximises the acquisition given
--      the j-1 points already chosen. The optimizer's `step(j)` returns a
--      scorer {score = function(rows, hashes) -> values, add = function(row,
--      hash)}; for MC acquisitions `add` conditions the posterior samples on
--      the chosen point (pg.bo posterior :add), so pending points enter the
--      samples jointly.
-- Points already evaluated or already in the batch are never proposed.
--
-- Models (acqopt.models): one exact GP (Matern-5/2 ARD on the unit-cube
-- encoding, outputs standardised, hyperparameters by maximum a posteriori
-- under BoTorch's priors (pg.bo.train), warm-started from the previous
-- iteration) per output column,
-- and one pg.bo.posterior per output carrying the fixed quasi-Monte-Carlo
-- base samples of this iteration (sample average approximation). A C
-- candidate store (pg.bo.cands) keeps each candidate's predictive moments,
-- kernel projection and joint-factor row for the iteration, so rescoring
-- it in a later greedy step costs O(n + |Q| + S |Q|) per new conditioning
-- point instead of O(n^2), and acquisitions are evaluated in C.
local core = require "perigee.core"

local M = {}

M.defaults = {
  pool = 500,         -- space-filling candidates per iteration
  mutations = 200,    -- mutations of elite points per iteration
  elite = 20,         -- elite points mutated
  restarts = 3,       -- local searches for the first batch element
  restarts_later = false, -- local searches for the later ones (false: restarts)
  steps = 10,         -- moves (and refinements) per local search
  delta = 0.1,        -- initial step of real and integer dimensions in the unit encoding
  min_delta = 0.0125, -- the step is halved when no move improves, down to min_delta
  ftol = 0,           -- a move must improve the acquisition by more than ftol times its value
  samples = 128,      -- MC samples (Sobol' QMC base samples)
  max_iter = 30,      -- L-BFGS iterations of each GP training (warm-started)
  gp_restarts = 1,    -- random restarts of GP training (1 = warm start only)
  noise = 1e-4,       -- initial GP noise variance (standardised outputs)
  noise_lo = 1e-4,    -- lower bound of the noise variance (BoTorch's MIN_INFERRED_NOISE_LEVEL)
  prior = true,       -- MAP training under BoTorch's SingleTaskGP priors: lengthscales
                      -- Gamma(3, 6), output variance Gamma(2, 0.15), noise Gamma(1.1, 0.05)
                      -- (false: maximum likelihood). With 20-70 points in 11 dimensions,
                      -- maximum likelihood declares relevant dimensions irrelevant
                      -- (l = 1e4, the bound) and the acquisitions then chase the
                      -- posterior variance into the corners of those dimensions.
  max_lengthscale = false, -- optional cap on the ARD lengthscales the acquisition uses
}

--- acqopt.options(opts) -> opts with the defaults filled in.
function M.options(opts)
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- candidate keys: the space's 64-bit hashes as Lua integers (no string
-- formatting in the inner loops)
local function hashes(space, rows)
  if #rows == 0 then return {} end
  return space.c:hash(rows)
end
M.hashes = hashes

-- ctx.seen (keys "%016x" strings, see perigee.optimizers) as a set of
-- integer keys, rebuilt when it grows
local function seen_set(ctx)
  local c = ctx._seen_int
  local n = 0
  for _ in pairs(ctx.seen) do n = n + 1 end
  if c and c.n == n then return c.set end
  local set = {}
  for k in pairs(ctx.seen) do set[tonumber(k, 16)] = true end
  ctx._seen_int = { n = n, set = set }
  return set
end
M.seen_set = seen_set

--- acqopt.pool(ctx, opts, elite_rows) -> rows, hashes: the candidate pool
-- (native rows, unseen, distinct).
function M.pool(ctx, opts, elite)
  local rows, hs, have = {}, {}, {}
  local seen = seen_set(ctx)
  local function push(X)
    local t = type(X) == "userdata" and X:totable() or X
    if #t == 0 then return end
    local h = hashes(ctx.space, t)
    for i, r in ipairs(t) do
      if not seen[h[i]] and not have[h[i]] then
        have[h[i]] = true
        rows[#rows + 1] = r
        hs[#hs + 1] = h[i]
      end
    end
  end
  push(ctx.space:sample_matrix(opts.pool, ctx.rng, { method = "sobol" }))
  if elite and #elite > 0 and opts.mutations > 0 then
    local parents = {}
    for i = 1, opts.mutations do parents[i] = elite[(i - 1) % #elite + 1] end
    push(ctx.space.c:mutate(parents, ctx.rng))
  end
  return rows, hs
end

--- acqopt.neighbours(ctx, row, delta) -> list of native rows: the
-- neighbourhood of the local search. Real and integer dimensions move by
-- -delta and +delta in the unit encoding (decoded and snapped; an integer
-- moves at least one step), so that a step is a fraction of the range
-- whatever the number of levels (one level of a 503-level register size is
-- 0.2 % of its range); ordinal dimensions move one level down and up, choice
-- dimensions take every other level.
function M.neighbours(ctx, row, delta)
  local sp = ctx.space
  local dims, d = sp.dims, #row
  local u = sp.c:encode({ row }):totable()[1]
  local out, U, which = {}, {}, {}
  local function with(j, v)
    local t = table.move(row, 1, d, 1, {})
    t[j] = v
    out[#out + 1] = t
  end
  for j, dm in ipairs(dims) do
    local kind = dm.kind
    if kind == "real" or kind == "int" then
      for _, sg in ipairs { -1, 1 } do
        local v = u[j] + sg * delta
        v = v < 0 and 0 or (v > 1 and 1 or v)
        if v ~= u[j] then
          local t = table.move(u, 1, d, 1, {})
          t[j] = v
          U[#U + 1] = t
          which[#which + 1] = j * sg
        end
      end
    elseif kind == "ordinal" then
      if row[j] >= 1 then with(j, row[j] - 1) end
      if row[j] + 1 <= dm.levels - 1 then with(j, row[j] + 1) end
    elseif kind == "choice" then
      for k = 0, dm.levels - 1 do if k ~= row[j] then with(j, k) end end
    end
  end
  if #U > 0 then
    local D = sp.c:decode(U):totable()
    for k, w in ipairs(which) do
      local j, sg = math.abs(w), w < 0 and -1 or 1
      local v = D[k][j]
      if v == row[j] and dims[j].kind == "int" then
        v = row[j] + sg * (dims[j].step or 1)
        if v < dims[j].lo or v > dims[j].hi then v = row[j] end
      end
      if v ~= row[j] then with(j, v) end
    end
  end
  return out
end
local neighbours = M.neighbours

--- acqopt.batch(ctx, q, step, opts, elite [, cand]) -> list of q native rows.
-- step(j) returns {score = function(rows, hashes) -> values (higher is
-- better), add = function(row, hash) (optional)}. cand = {rows =, hashes =}
-- reuses (and extends with the points visited) a pool made by acqopt.pool.
function M.batch(ctx, q, step, opts, elite, cand)
  opts = M.options(opts)
  local rows, hs
  if cand then
    rows, hs = cand.rows, cand.hashes
  else
    rows, hs = M.pool(ctx, opts, elite)
  end
  local index = {}
  for i, h in ipairs(hs) do index[h] = i end
  local seen = seen_set(ctx)
  local chosen, taken = {}, {}
  for j = 1, q do
    local sc = step(j)
    local vals = sc.score(rows, hs)
    -- the `restarts` best untaken candidates (ties: pool order), by a
    -- partial insertion sort: O(pool x restarts), no full sort
    local nrs = j == 1 and opts.restarts or (opts.restarts_later or opts.restarts)
    local order, k = {}, math.max(1, nrs)
    for i = 1, #rows do
      if not taken[hs[i]] then
        local v = vals[i]
        if #order < k or v > vals[order[#order]] then
          local pos = #order + 1
          while pos > 1 and v > vals[order[pos - 1]] do pos = pos - 1 end
          table.insert(order, pos, i)
          if #order > k then order[#order] = nil end
        end
      end
    end
    if #order == 0 then break end
    local best, bestv, besth = rows[order[1]], vals[order[1]], hs[order[1]]
    for r = 1, math.min(nrs, #order) do
      local cur, curv, curh = rows[order[r]], vals[order[r]], hs[order[r]]
      local delta = opts.delta
      for _ = 1, opts.steps do
        local nb = neighbours(ctx, cur, delta)
        local nh = hashes(ctx.space, nb)
        local keep, kh = {}, {}
        for i, row in ipairs(nb) do
          if not seen[nh[i]] and not taken[nh[i]] then
            keep[#keep + 1] = row
            kh[#kh + 1] = nh[i]
          end
        end
        if #keep == 0 then break end
        local nv = sc.score(keep, kh)
        local bi, bv = nil, curv
        for i = 1, #keep do if nv[i] > bv then bi, bv = i, nv[i] end end
        if not bi or bv - curv <= opts.ftol * math.abs(curv) then
          -- no (worthwhile) move at this scale: refine it (pattern search) or stop
          if delta / 2 < opts.min_delta then break end
          delta = delta / 2
          goto continue
        end
        cur, curv, curh = keep[bi], bv, kh[bi]
        if curv > bestv then best, bestv, besth = cur, curv, curh end
        ::continue::
      end
      if not index[curh] then -- the local optimum joins the pool
        rows[#rows + 1] = cur
        hs[#hs + 1] = curh
        index[curh] = #rows
      end
    end
    chosen[#chosen + 1] = best
    taken[besth] = true
    if sc.add then sc.add(best, besth) end
  end
  return chosen
end

-- ---- models ----

--- acqopt.normalise(Y) -> Yn (rows), lo, hi: per-column min-max to [0, 1]
-- (a constant column keeps span 1).
function M.normalise(Y)
  local rows = type(Y) == "userdata" and Y:totable() or Y
  local m = #rows[1]
  local lo, hi = {}, {}
  for j = 1, m do lo[j], hi[j] = math.huge, -math.huge end
  for _, r in ipairs(rows) do
    for j = 1, m do
      if r[j] < lo[j] then lo[j] = r[j] end
      if r[j] > hi[j] then hi[j] = r[j] end
    end
  end
  local Yn = {}
  for i, r in ipairs(rows) do
    local t = {}
    for j = 1, m do
      local span = hi[j] - lo[j]
      if not (span > 0) then span = 1 end
      t[j] = (r[j] - lo[j]) / span
    end
    Yn[i] = t
  end
  return Yn, lo, hi
end

--- acqopt.to_unit(v, lo, hi) -> v normalised like normalise().
function M.to_unit(v, lo, hi)
  local t = {}
  for j = 1, #v do
    local span = hi[j] - lo[j]
    if not (span > 0) then span = 1 end
    t[j] = (v[j] - lo[j]) / span
  end
  return t
end

--- acqopt.fit(ctx, key, U, y, opts [, notrain]) -> theta: the GP
-- hyperparameters (log lengthscales, log variance, log noise) kept in
-- ctx.state under `key` (warm start across iterations) and, unless notrain,
-- trained on (U, y): maximum a posteriori under BoTorch's SingleTaskGP
-- priors (opts.prior, default) or maximum likelihood (prior = false).
function M.fit(ctx, key, U, y, opts, notrain)
  local t0 = os.clock()
  ctx.state.theta = ctx.state.theta or {}
  local th = ctx.state.theta[key]
  if not th then
    -- start at the priors' modes (BoTorch's initialisation), or at 1, 1
    local d = select(2, U:shape())
    local ls, var = 0, 0
    if opts.prior == "dimscaled" then
      ls = math.sqrt(2) + 0.5 * math.log(d) - 3
    elseif opts.prior then
      ls, var = math.log(1 / 3), math.log(1 / 0.15)
    end
    th = {}
    for i = 1, d do th[i] = ls end
    th[d + 1] = var
    th[d + 2] = math.log(opts.noise)
  end
  if not notrain then
    th = core.bo.train(U, y, th, { prior = opts.prior, restarts = opts.gp_restarts, max_iter = opts.max_iter,
                                   noise_lo = opts.noise_lo, rng = ctx.rng })
    ctx.state.theta[key] = th
  end
  -- optional instrumentation (bench/bo_baselines.lua): CPU seconds fitting
  if ctx.timing then ctx.timing.fit = (ctx.timing.fit or 0) + os.clock() - t0 end
  return th
end

local Model = {}
Model.__index = Model

--- acqopt.models(ctx, U, cols, opts, nslots) -> model set: one GP and one
-- pg.bo.posterior per output column cols[j] (a table of n values), with
-- nslots conditioning slots and one QMC base-sample column per slot and
-- output. key_prefix names the GPs in ctx.state (warm starts); notrain keeps
-- their hyperparameters (refit only); nbase is the number of baseline slots
-- (filled first, their base samples use the later Sobol' dimensions).
function M.models(ctx, U, cols, opts, nslots, key_prefix, notrain, nbase)
  local self = setmetatable({ ctx = ctx, m = #cols, posts = {}, gps = {}, index = {},
                              S = opts.samples, nslots = nslots, zc = {} }, Model)
  for j, y in ipairs(cols) do
    local p = M.fit(ctx, (key_prefix or "y") .. j, U, y, opts, notrain)
    self.gps[j] = p
    p = table.move(p, 1, #p, 1, {})
    if opts.max_lengthscale then -- optional cap (the ARD lengthscales come first)
      local d = select(2, U:shape())
      for i = 1, d do p[i] = math.min(p[i], math.log(opts.max_lengthscale)) end
    end
    self.posts[j] = core.bo.posterior(U, y, p, { samples = opts.samples, qmax = nslots })
  end
  self.cands = core.bo.cands(self.posts)
  -- base samples: one column per (output, slot), fixed for the iteration. The
  -- batch slots (after the nbase baseline slots) take the first Sobol'
  -- dimensions, interleaved over outputs, so that the candidates' joint
  -- draws use the best-distributed low-dimensional projections; the
  -- baseline slots take the dimensions after them.
  local Z = nslots > 0 and core.bo.normal_qmc(opts.samples, #cols * nslots, ctx.rng)
  local m, nb = #cols, nbase or 0
  for j = 1, m do
    self.zc[j] = {}
    for k = 1, nslots do
      local c = k > nb and (k - nb - 1) * m + j or (nslots - nb) * m + (k - 1) * m + j
      self.zc[j][k] = Z:col(c)
    end
  end
  self.slot = 0
  return self
end

--- model:indices(rows, hashes) -> indices into the C candidate store
-- (pg.bo.cands): a candidate's predictive moments and kernel projections
-- are computed once per iteration, at its first appearance.
function Model:indices(rows, hs)
  local index, miss, mh = self.index, {}, {}
  for i, h in ipairs(hs) do
    if not index[h] and not mh[h] then
      miss[#miss + 1] = rows[i]
      mh[h] = #miss
    end
  end
  if #miss > 0 then
    local first = self.cands:add(self.ctx.space.c:encode(miss))
    for h, k in pairs(mh) do index[h] = first + k - 1 end
  end
  local idx = {}
  for i, h in ipairs(hs) do idx[i] = index[h] end
  return idx
end

-- base samples of the next free slot, per output
function Model:zs()
  local t = {}
  for j = 1, self.m do t[j] = self.zc[j][self.slot + 1] end
  return t
end

--- model:prep(rows, hashes) -> nil, mean[j][i], var[j][i].
function Model:prep(rows, hs)
  local mu, var = self.cands:moments(self:indices(rows, hs))
  return nil, mu, var
end

--- model:samples(rows, hashes) -> list of nc x S matrices (one per output):
-- joint draws given the conditioning points, in the next free slot.
function Model:samples(rows, hs)
  return self.cands:samples(self:indices(rows, hs), self:zs())
end

--- model:score(rows, hashes, acq) -> acquisition values (pg.bo.acq_*
-- object) of the candidates' joint draws in the next free slot, in C.
function Model:score(rows, hs, acq)
  return self.cands:score(self:indices(rows, hs), acq, self:zs())
end

--- model:add(row, hash [, u]): condition every output on the point (next
-- slot); u is its unit row when known.
function Model:add(row, h, u)
  u = u or self.ctx.space.c:encode({ row })
  self.slot = self.slot + 1
  for j = 1, self.m do self.posts[j]:add(u, self.zc[j][self.slot]) end
end

--- model:qsamples() -> list (per output) of S x nq matrices.
function Model:qsamples()
  local t = {}
  for j = 1, self.m do t[j] = self.posts[j]:qsamples() end
  return t
end

--- acqopt.data(ctx) -> native rows X, unit matrix U, internal objective rows Y.
function M.data(ctx)
  local X, U, Y = ctx.data()
  local rows = {}
  for i, p in ipairs(X) do rows[i] = ctx.space:to_native(p) end
  return rows, U, (type(Y) == "userdata" and Y:totable() or Y)
end

--- acqopt.elite(rows, Y, k) -> the rows of the first non-dominated fronts,
-- at most k (front order, then data order).
function M.elite(rows, Y, k)
  local ranks = core.pareto.sort(Y)
  local idx = {}
  for i = 1, #rows do idx[i] = i end
  table.sort(idx, function(a, b)
    if ranks[a] ~= ranks[b] then return ranks[a] < ranks[b] end
    return a < b
  end)
  local out = {}
  for i = 1, math.min(k, #idx) do out[i] = rows[idx[i]] end
  return out, idx, ranks
end

-- ---- helpers of the hypervolume optimizers (qehvi, qnehvi) ----

--- Reference point in normalised units (shared with qnehvi).
function M.reference(ctx, opts, Yn, lo, hi)
  local m = #lo
  if opts.ref == "nadir" or not ctx.reference_point then
    local idx = core.pareto.filter(Yn)
    local r = {}
    for j = 1, m do
      local a, b = math.huge, -math.huge
      for _, i in ipairs(idx) do a = math.min(a, Yn[i][j]); b = math.max(b, Yn[i][j]) end
      r[j] = b + 0.1 * math.max(b - a, 1e-6)
    end
    return r
  end
  return M.to_unit(ctx.reference_point, lo, hi)
end

--- Columns of Yn as tables.
function M.columns(Yn)
  local cols = {}
  for j = 1, #Yn[1] do
    cols[j] = {}
    for i, r in ipairs(Yn) do cols[j][i] = r[j] end
  end
  return cols
end

--- Per-sample point sets: the rows of `base` (per_sample: base[s] for
-- sample s) plus the samples of the conditioning points first..nq.
function M.sets(model, base, S, first, per_sample)
  local Fq = model:qsamples()
  local nq = select(2, Fq[1]:shape())
  local m = #Fq
  local qt = {}
  for j = 1, m do qt[j] = Fq[j]:totable() end
  local sets = {}
  for s = 1, S do
    local rows = {}
    local b = per_sample and base[s] or base
    for i, r in ipairs(b) do rows[i] = r end
    for i = first, nq do
      local y = {}
      for j = 1, m do y[j] = qt[j][s][i] end
      rows[#rows + 1] = y
    end
    sets[s] = #rows > 0 and core.matrix(rows) or {}
  end
  return sets
end

return M
