-- nats_proxy_corr.lua: how well the training-free proxies rank the 400
-- NATS-SSS ImageNet16-120 errors Coflex ships (data.md section 8), and the
-- calibration of nats_sss_hw's proxy estimator (err = A + B s).
--   PERIGEE_DATA=/work/shared/data OPENBLAS_NUM_THREADS=1 build/perigee bench/nats_proxy_corr.lua [BATCH=16] [SIDE=16] [precision=single] [seed=0] [data_seed=3]
-- Scores go through perigee.proxy_cache (a second run is instant). Prints
-- Spearman's rho and Kendall's tau-b of NASWOT, LogSynflow, the anchored
-- combined score s and the linear channel model (fitted to these very
-- errors: in-sample) against accuracy = 100 - error, the least-squares
-- calibration A + B s, and the mean error by decile of s.
local pg = require "perigee"
local P, C = pg.proxy, pg.proxy_cache
local data = os.getenv "PERIGEE_DATA"
local text = data and P.read_gz(data .. "/coflex_observed_sss_imagenet16.csv.gz")
if not text then
  io.stderr:write "coflex_observed_sss_imagenet16.csv.gz not found: set PERIGEE_DATA\n"
  os.exit(1)
end
local o = { side = tonumber(arg[2]) or 16, batch = tonumber(arg[1]) or 16, classes = 120,
            precision = arg[3] or "single", seed = tonumber(arg[4]) or 0, data_seed = tonumber(arg[5]) or 3 }
local B = { 111.59233904724, -2.1274387808937, -1.3635160362086, -1.8831184638972, -1.2624238982725,
            -3.3392728993423 }
local lo, hi = C.scores("8:8:8:8:8", o, "nats_sss"), C.scores("64:64:64:64:64", o, "nats_sss")
local rows, t0 = {}, os.clock()
for line in text:gmatch "[^\n]+" do
  local a, err = line:match "^([%d:]+),.*,([%d.]+),[^,]+$"
  if a then
    local c = {}
    for v in a:gmatch "%d+" do c[#c + 1] = tonumber(v) end
    local lin = B[1]
    for i = 1, 5 do lin = lin + B[i + 1] * math.log(c[i], 2) end
    local r = C.scores(a, o, "nats_sss")
    local s = ((r.naswot - lo.naswot) / (hi.naswot - lo.naswot) + (r.logsynflow - lo.logsynflow)
      / (hi.logsynflow - lo.logsynflow)) / 2
    rows[#rows + 1] = { err = tonumber(err), nw = r.naswot, ls = r.logsynflow, s = s, lin = lin }
  end
end
local st = C.stats(o, "nats_sss")

local spearman, kendall = pg.stats.spearman, pg.stats.kendall

print(("settings: %dx%d, batch %d, %s, seed %d, data_seed %d; %d rows; %d networks computed (%.2f s CPU each), "
  .. "%d loaded from %s"):format(o.side, o.side, o.batch, o.precision, o.seed, o.data_seed, #rows, st.computed,
  st.computed > 0 and st.cpu / st.computed or 0, st.loaded, st.path))
local acc, cols = {}, { nw = {}, ls = {}, s = {}, lin = {} }
for i, r in ipairs(rows) do
  acc[i] = -r.err
  cols.nw[i], cols.ls[i], cols.s[i], cols.lin[i] = r.nw, r.ls, r.s, -r.lin
end
for _, p in ipairs { { "NASWOT", cols.nw }, { "LogSynflow", cols.ls }, { "combined s", cols.s },
                     { "linear model (in-sample)", cols.lin } } do
  print(("  %-26s vs accuracy: Spearman %.3f  Kendall %.3f"):format(p[1], spearman(p[2], acc),
    kendall(p[2], acc)))
end
local n, sx, sy, sxx, sxy = #rows, 0, 0, 0, 0
for _, r in ipairs(rows) do sx, sy, sxx, sxy = sx + r.s, sy + r.err, sxx + r.s ^ 2, sxy + r.s * r.err end
local b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
local a = (sy - b * sx) / n
local sse, sst, sel = 0, 0, 0
for _, r in ipairs(rows) do
  sse = sse + (r.err - a - b * r.s) ^ 2
  sst = sst + (r.err - sy / n) ^ 2
  sel = sel + (r.err - r.lin) ^ 2
end
print(("  calibration err = %.6f %+.6f s: R^2 %.3f, RMSE %.2f points (linear model, in-sample: %.2f)"):format(a, b,
  1 - sse / sst, math.sqrt(sse / n), math.sqrt(sel / n)))
table.sort(rows, function(x, y) return x.s < y.s end)
local dec = {}
for d = 0, 9 do
  local se, ss, k = 0, 0, 0
  for i = d * n // 10 + 1, (d + 1) * n // 10 do se, ss, k = se + rows[i].err, ss + rows[i].s, k + 1 end
  dec[#dec + 1] = ("%.2f:%.1f"):format(ss / k, se / k)
end
print("  mean s : mean error by decile of s: " .. table.concat(dec, " "))
print(("  anchors: NASWOT %.3f .. %.3f, LogSynflow %.6g .. %.6g (8:8:8:8:8 .. 64:64:64:64:64)"):format(lo.naswot,
  hi.naswot, lo.logsynflow, hi.logsynflow))
