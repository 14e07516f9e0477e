--- Sim-is-More oracle check: how often is each cell the best one on a synthetic
-- device of the training distribution (200 draws), and the best cell on each
-- held-out device versus the skip-only cell the controller converges to.
--   PERIGEE_DATA=/work/shared/data build/perigee experiments/simismore_oracle.lua
local pg = require "perigee"
local sm = pg.simismore
local ctx = sm.setup{}
local a = sm.parse_arch("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
local b = sm.parse_arch("|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|")
local c = sm.parse_arch("|none~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|")
local env = pg.ppo.nasenv(ctx.data, {seed=5})
print("tf", env:tf(a), env:tf(b), env:tf(c))
local wins = {0,0,0}
local sum = {0,0,0}
for i=1,2000 do
  env:reset()
  local r = {env:reward_of(a), env:reward_of(b), env:reward_of(c)}
  local best = 1
  for k=1,3 do sum[k]=sum[k]+r[k]; if r[k] > r[best] then best=k end end
  wins[best]=wins[best]+1
end
print("synthetic mean reward", sum[1]/2000, sum[2]/2000, sum[3]/2000, "wins", table.unpack(wins))
-- best cell per synthetic device: how often is a the argmax over all cells?
local cnt, nd = {}, 200
for i=1,nd do
  env:reset()
  local best, br = nil, -1e9
  for code=0,15624 do local r = env:reward_of(code); if r > br then best, br = code, r end end
  cnt[best] = (cnt[best] or 0) + 1
end
for k,v in pairs(cnt) do print(sm.arch_string(k), v) end
for _,d in ipairs(ctx.heldout) do
  env:set_device{table=d.table}
  local best, br = nil, -1e9
  for code=0,15624 do local r = env:reward_of(code); if r > br then best, br = code, r end end
  print(d.name, "best", sm.arch_string(best), br, "attractor", env:reward_of(a))
end
