--- nsga2: NSGA-II (Deb et al. 2002) over mixed spaces, as a batch optimizer.
--   pg.optimizers.nsga2{
--     pop = nil,        -- population size (default: n_init of the run, at least 2*q)
--     pc = 0.9,         -- probability that a parent pair is recombined
--     pvar = 0.5,       -- per-column crossover probability within a recombined pair
--     eta_c = 15,       -- SBX distribution index
--     pm = nil,         -- per-column mutation probability (default 1 / unit dimensions)
--     eta_m = 20,       -- polynomial-mutation distribution index
--     retries = 20,     -- extra variation rounds to replace duplicates of evaluated points
--     name = "nsga2" }
--
-- Generation = one batch: propose(q) breeds q children from the current
-- population by binary tournament on (rank, crowding distance), SBX
-- crossover and polynomial mutation on the unit encoding (REAL, INT and
-- ORDINAL columns continuous and rounded back to their levels; CHOICE
-- columns exchanged by crossover and redrawn by mutation), all in C
-- (engine/evo.c). observe() merges the evaluated children into the
-- population and keeps the best `pop` by non-dominated rank, then crowding
-- (elitist (mu + lambda) survival). The initial population is the run's
-- initial design (the best `pop` of it when n_init > pop). Points already
-- evaluated are never proposed again (space hashing); when variation keeps
-- producing duplicates, uniform samples fill the batch. Every draw comes
-- from ctx.rng.
local core = require "perigee.core"

local function as_rows(M)
  local n = M:shape()
  local t = {}
  for i = 1, n do
    local r = {}
    local _, d = M:shape()
    for j = 1, d do r[j] = M:get(i, j) end
    t[i] = r
  end
  return t
end

return function(opts)
  opts = opts or {}
  local pc, pvar = opts.pc or 0.9, opts.pvar or 0.5
  local eta_c, eta_m = opts.eta_c or 15, opts.eta_m or 20
  local pm = opts.pm or 0
  local retries = opts.retries or 20
  assert(pc >= 0 and pc <= 1 and pvar >= 0 and pvar <= 1 and pm >= 0 and pm <= 1,
         "nsga2: pc, pvar and pm must be probabilities")
  assert(eta_c >= 0 and eta_m >= 0, "nsga2: eta_c and eta_m must be non-negative")
  assert(opts.pop == nil or (math.type(opts.pop) == "integer" and opts.pop >= 2), "nsga2: pop must be an integer >= 2")

  local self = {
    name = opts.name or "nsga2",
    description = ("NSGA-II (SBX eta %g, polynomial mutation eta %g, pc %g)"):format(eta_c, eta_m, pc),
  }

  function self.init(ctx)
    local st = ctx.state
    st.pop_native = {} -- list of native rows
    st.pop_y = {}      -- their internal objective rows
    st.size = opts.pop
  end

  -- Keep the best st.size of the population (rank, then crowding).
  local function survive(st)
    local n = #st.pop_y
    if n == 0 then return end
    local k = math.min(st.size, n)
    local idx, ranks, crowd = core.evo.survive(st.pop_y, k)
    local nx, ny, nr, nc = {}, {}, {}, {}
    for i, j in ipairs(idx) do
      nx[i], ny[i], nr[i], nc[i] = st.pop_native[j], st.pop_y[j], ranks[j], crowd[j]
    end
    st.pop_native, st.pop_y = nx, ny
    -- ranks and crowding of the survivors, recomputed among themselves
    local _, r2, c2 = core.evo.survive(ny, 0)
    st.ranks, st.crowd = r2, c2
  end

  function self.observe(ctx, X, Y)
    local st = ctx.state
    if not st.size then st.size = math.max(ctx.n_init or #X, 2 * (ctx.batch or 1), 4) end
    local Xn = as_rows(ctx.space:native(X))
    for i = 1, #Xn do
      st.pop_native[#st.pop_native + 1] = Xn[i]
      st.pop_y[#st.pop_y + 1] = Y[i]
    end
    survive(st)
  end

  -- q children from the current population.
  local function breed(ctx, q)
    local st, space = ctx.state, ctx.space
    local n = #st.pop_native
    local pairs_needed = (q + 1) // 2
    local win = core.evo.tournament(st.ranks, st.crowd, 2 * pairs_needed, ctx.rng)
    local A, B = {}, {}
    for i = 1, pairs_needed do
      A[i] = st.pop_native[win[2 * i - 1]]
      B[i] = st.pop_native[win[2 * i]]
    end
    local C1, C2 = core.evo.sbx(space, A, B, ctx.rng, { pc = pc, pvar = pvar, eta = eta_c })
    local kids = {}
    local c1, c2 = as_rows(C1), as_rows(C2)
    for i = 1, pairs_needed do
      kids[#kids + 1] = c1[i]
      kids[#kids + 1] = c2[i]
    end
    local M = core.evo.pm(space, kids, ctx.rng, { prob = pm, eta = eta_m })
    assert(n > 0)
    return M
  end

  function self.propose(ctx, q)
    local st, space = ctx.state, ctx.space
    local out, keys = {}, {}
    local function take(M)
      local pts, hs = space:points(M), space:hashes(M)
      for i, p in ipairs(pts) do
        if #out >= q then return end
        if not ctx.seen[hs[i]] and not keys[hs[i]] then
          keys[hs[i]] = true
          out[#out + 1] = p
        end
      end
    end
    if #st.pop_native > 0 then
      for _ = 0, retries do
        take(breed(ctx, q - #out))
        if #out >= q then break end
      end
    end
    for _ = 1, 100 do -- duplicates everywhere (tiny spaces) or no population yet
      if #out >= q then break end
      take(space:sample_matrix(q, ctx.rng, { method = "uniform" }))
    end
    return out
  end

  return self
end
