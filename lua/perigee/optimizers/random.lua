--- random: uniform, Sobol or Latin-hypercube sampling of the search space.
--   pg.optimizers.random{method = "uniform" (default) | "sobol" | "lhs", name = ...}
-- "sobol" continues one scrambled Sobol' sequence across iterations (the
-- digital shift is drawn once from the run's optimizer stream); "lhs" draws
-- a fresh Latin hypercube of q points per batch. Points already evaluated
-- are not re-proposed (re-drawn up to 100 times).
return function(opts)
  opts = opts or {}
  local method = opts.method or "uniform"
  assert(method == "uniform" or method == "sobol" or method == "lhs",
         "random: method must be uniform, sobol or lhs")
  return {
    name = opts.name or (method == "uniform" and "random" or ("random_" .. method)),
    description = "random search (" .. method .. " sampling)",
    init = function(ctx)
      ctx.state.shift = ctx.rng:split() -- the Sobol digital shift, kept for the run
      ctx.state.offset = 0
    end,
    propose = function(ctx, q)
      local out, keys = {}, {}
      for _ = 1, 100 do
        local X
        if method == "sobol" then
          X = ctx.space:sample_matrix(q, ctx.state.shift:clone(), { method = "sobol", offset = ctx.state.offset })
          ctx.state.offset = ctx.state.offset + q
        else
          X = ctx.space:sample_matrix(q, ctx.rng, { method = method })
        end
        local pts = ctx.space:points(X)
        local hs = ctx.space:hashes(X)
        for i, p in ipairs(pts) do
          if not ctx.seen[hs[i]] and not keys[hs[i]] and #out < q then
            keys[hs[i]] = true
            out[#out + 1] = p
          end
        end
        if #out >= q then break end
      end
      return out
    end,
    observe = function() end,
  }
end
