--- pool: propose the q best-scoring points of a candidate pool.
--   pg.optimizers.pool{
--     score = function(ctx, U, pts) return scores end,  -- higher is better
--     pool = 2000, method = "sobol", name = "my_rule" }
-- Each iteration samples `pool` candidates in C (Sobol, uniform or LHS),
-- drops those already evaluated, encodes them to the unit cube (U, a
-- perigee.matrix) and calls score(ctx, U, pts): one number per row (a table
-- or an n x 1 matrix). The q best distinct candidates are proposed. This is
-- how an acquisition rule is prototyped at the REPL: compute predictions for
-- U with the C numerics (GP, distances, hypervolume improvement) and return
-- a score; see docs/guide.md.
return function(opts)
  opts = opts or {}
  assert(type(opts.score) == "function", "pool: score = function(ctx, U, pts) required")
  local n_pool = opts.pool or 2000
  local method = opts.method or "sobol"
  return {
    name = opts.name or "pool",
    description = opts.description or "best-scoring points of a candidate pool",
    init = function(ctx)
      ctx.state.shift = ctx.rng:split()
      ctx.state.offset = 0
    end,
    propose = function(ctx, q)
      local X
      if method == "sobol" then
        X = ctx.space:sample_matrix(n_pool, ctx.state.shift:clone(), { method = "sobol", offset = ctx.state.offset })
        ctx.state.offset = ctx.state.offset + n_pool
      else
        X = ctx.space:sample_matrix(n_pool, ctx.rng, { method = method })
      end
      local pts, hs, keep, seen = ctx.space:points(X), ctx.space:hashes(X), {}, {}
      for i, p in ipairs(pts) do
        if not ctx.seen[hs[i]] and not seen[hs[i]] then
          seen[hs[i]] = true
          keep[#keep + 1] = p
        end
      end
      local U = ctx.space:encode(keep)
      local s = opts.score(ctx, U, keep)
      if type(s) == "userdata" then
        local t = {}
        for i = 1, #keep do t[i] = s:get(i, 1) end
        s = t
      end
      assert(type(s) == "table" and #s == #keep, "pool: score must return one number per candidate")
      local order = {}
      for i = 1, #keep do order[i] = i end
      table.sort(order, function(a, b)
        local sa, sb = s[a], s[b]
        if sa ~= sa then sa = -math.huge end
        if sb ~= sb then sb = -math.huge end
        if sa ~= sb then return sa > sb end
        return a < b -- ties: keep pool order, so the choice is deterministic
      end)
      local out = {}
      for i = 1, math.min(q, #order) do out[i] = keep[order[i]] end
      return out
    end,
    observe = opts.observe or function() end,
  }
end
