-- nats_proxy_cost.lua: CPU time per NATS size-space network of the proxies
-- (NASWOT + SynFlow/LogSynflow, one network build), at the settings of the
-- NB201 table (32x32, batch 64) and at the cheaper ImageNet16-120 settings
-- of nats_sss_hw's estimator, interleaved network by network so that the
-- machine's load affects every setting alike.
--   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 build/perigee bench/nats_proxy_cost.lua [N=40] [SEED=2026]
local pg = require "perigee"
local P = pg.proxy
local n, seed = tonumber(arg and arg[1]) or 40, tonumber(arg and arg[2]) or 2026
local rng = pg.rng(seed)
local settings = {
  { name = "32x32, batch 64, single", side = 32, batch = 64, classes = 120 },
  { name = "16x16, batch 64, single", side = 16, batch = 64, classes = 120 },
  { name = "16x16, batch 32, single", side = 16, batch = 32, classes = 120 },
  { name = "16x16, batch 16, single (nats_sss_hw)", side = 16, batch = 16, classes = 120 },
  { name = "16x16, batch 16, double", side = 16, batch = 16, classes = 120, precision = "double" },
}
local archs = {}
for i = 1, n do archs[i] = P.arch("nats_sss", rng:integer(0, 32767)) end
for _, s in ipairs(settings) do s.t = {}; P.naswot("8:8:8:8:8", s) end -- load the image batches
for i, a in ipairs(archs) do
  for _, s in ipairs(settings) do
    local t0 = os.clock()
    P.scores(a, s)
    s.t[i] = os.clock() - t0
  end
end
local function median(t)
  local c = { table.unpack(t) }
  table.sort(c)
  return #c % 2 == 1 and c[(#c + 1) // 2] or (c[#c // 2] + c[#c // 2 + 1]) / 2
end
print(("%d random NATS-SSS networks (seed %d), CPU seconds per network (NASWOT + SynFlow/LogSynflow):"):format(n, seed))
print(("%-42s %8s %8s %8s %7s"):format("setting", "median", "mean", "max", "ratio"))
local base
for _, s in ipairs(settings) do
  local sum, mx = 0, 0
  for _, v in ipairs(s.t) do sum = sum + v; mx = math.max(mx, v) end
  base = base or sum
  print(("%-42s %8.4f %8.4f %8.3f %6.1fx"):format(s.name, median(s.t), sum / n, mx, base / sum))
end
