-- hsconas_proxy_cost.lua: cost and ranking agreement of cheaper settings of
-- the HSCoNAS ShuffleNet proxy (docs/hsconas.md section 3.1): N uniform
-- architectures of the HSCoNAS space (seed 7) in layout A, scored with the
-- current setting and each cheaper one; prints CPU seconds per network and
-- Spearman's rho of NASWOT, LogSynflow and the combined score (min-max over
-- the sample) against the reference setting.
--   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 build/perigee bench/hsconas_proxy_cost.lua [N=100]
local pg = require "perigee"
local H = require "perigee.hsconas"
local N = tonumber(arg[1]) or 100
local archs = H.sample(H.space {}, N, pg.rng(7))
local sn = {}
for i, a in ipairs(archs) do
  local t = { ops = {}, factors = {} }
  for l = 1, H.L do t.ops[l], t.factors[l] = a.op[l], H.FACTORS[a.f[l]] end
  sn[i] = t
end
local base = { channels = H.LAYOUTS.A, classes = 10, seed = 0, data_seed = 3, repeats = 1 }
local function run(side, batch, proxies)
  local o = {}
  for k, v in pairs(base) do o[k] = v end
  o.side, o.batch, o.proxies = side, batch, proxies
  local c0 = os.clock()
  local r = pg.shufflenet.scores(sn, o)
  return r, (os.clock() - c0) / N
end
local function combined(nw, ls)
  local function mm(v)
    local lo, hi = math.huge, -math.huge
    for _, x in ipairs(v) do if x > -math.huge then lo, hi = math.min(lo, x), math.max(hi, x) end end
    local o = {}
    for i, x in ipairs(v) do o[i] = x > -math.huge and (x - lo) / (hi - lo) or 0 end
    return o
  end
  local a, b, c = mm(nw), mm(ls), {}
  for i = 1, #a do c[i] = (a[i] + b[i]) / 3 end
  return c
end
local function cols(r)
  local nw, ls = {}, {}
  for i, x in ipairs(r) do nw[i], ls[i] = x.naswot, x.logsynflow end
  return nw, ls
end
local rho = pg.stats.spearman
local ref, tref = run(32, 16, "all")
local rn, rl = cols(ref)
local rc = combined(rn, rl)
print(("reference side 32, batch 16: %.4f s CPU per network (threads %d)"):format(tref, pg.threads()))
print("setting                 s/net   speedup  rho NASWOT  rho LogSynflow  rho combined")
for _, s in ipairs { { 32, 16 }, { 32, 8 }, { 16, 16 }, { 16, 8 }, { 8, 16 }, { 8, 8 } } do
  local r, t = run(s[1], s[2], "all")
  local n, l = cols(r)
  print(("side %2d batch %2d        %.4f  %6.2fx  %10.4f  %14.4f  %12.4f"):format(s[1], s[2], t, tref / t,
        rho(n, rn), rho(l, rl), rho(combined(n, l), rc)))
end
local _, ts = run(32, 16, "synflow")
print(("LogSynflow alone at side 32: %.4f s per network"):format(ts))
