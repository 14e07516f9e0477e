-- bench/scaling.lua: speed-ups at 1 and 2 threads and at 1 and 2 MPI ranks.
--   OPENBLAS_CORETYPE=SkylakeX build/perigee bench/scaling.lua [SLEEP]
-- Threads (in this process, pg.threads 1 vs 2; results checked identical):
--   exact GP, mean+variance of 20000 candidates (n = 500, d = 6)
--   sparse GP (m = 128), 400000 candidates
--   pg.hw.sweep: 64 systolic arrays x 240 NATS networks; 16 Coflex dataflow
--   accelerators x 120 networks
-- Ranks (perigee run tests/mpi/grid.lua, 1 process vs mpirun -np 2):
--   batch:    one run, 12 evaluations in batches of 4, each `sleep SLEEP`
--   gridslow: 2 optimizers x 2 seeds, 6 evaluations each (batches of 2)
-- with SLEEP = 0.5 s by default. Wall times include process start-up
-- (about 0.1 s for perigee, 0.5-1 s for mpirun). The results directories of
-- the 1- and 2-rank runs are compared (timings.csv and walltime.csv aside).
local pg = require "perigee"
local SLEEP = arg and arg[1] or "0.5"
local SRC = os.getenv("PERIGEE_SOURCE_DIR") or "."
local EXE = os.getenv("PERIGEE_EXE") or (SRC .. "/build/perigee")
local GRID = SRC .. "/tests/mpi/grid.lua"

local function best_of(k, f)
  local best = math.huge
  for _ = 1, k do
    local t0 = pg.wtime()
    f()
    best = math.min(best, pg.wtime() - t0)
  end
  return best
end

local function row(name, t1, t2, same)
  print(("%-44s %8.3f s %8.3f s  x%.2f  %s"):format(name, t1, t2, t1 / t2, same))
end

local function eq(A, B)
  local r, c = A:shape()
  for i = 1, r do for j = 1, c do if A:get(i, j) ~= B:get(i, j) then return "DIFFERENT" end end end
  return "identical"
end

local function threads_case(name, f)
  local old = pg.threads()
  pg.threads(1)
  local a = f()
  local t1 = best_of(3, f)
  pg.threads(2)
  local b = f()
  local t2 = best_of(3, f)
  pg.threads(old)
  row(name, t1, t2, eq(a, b))
end

print(("%-44s %10s %10s  %s"):format("threads (1 vs 2)", "1", "2", "speed-up"))
local r = pg.rng(5)
local function pts(n, d)
  local X = {}
  for i = 1, n do X[i] = {} for j = 1, d do X[i][j] = r:uniform() end end
  return pg.matrix(X)
end
local X = pts(500, 6)
local y = {}
for i = 1, 500 do y[i] = math.sin(5 * X:get(i, 1)) + X:get(i, 2) ^ 2 end
local gp = pg.gp.exact { kernel = "matern52", train = 0, lengthscale = 0.5 }
gp:fit(X, y)
local C = pts(20000, 6)
threads_case("exact GP predict (n=500, 20000 candidates)", function() local _, v = gp:predict(C); return v end)
local sgp = pg.gp.sparse { kernel = "matern52", inducing = 128, train = 0, lengthscale = 0.5 }
sgp:fit(X, y)
local C2 = pts(400000, 6)
threads_case("sparse GP predict (m=128, 400000 cand.)", function() local _, v = sgp:predict(C2); return v end)
local arrays, nets = {}, {}
for i = 1, 64 do
  arrays[i] = pg.hw.systolic { rows = 8 * (1 + i % 8), cols = 8 * (1 + i // 8), dataflow = ({ "os", "ws", "is" })[1 + i % 3] }
end
local ch = { 8, 16, 24, 32, 40, 48, 56, 64 }
for j = 1, 240 do
  local c = {}
  for k = 1, 5 do c[k] = ch[1 + (j * (k + 2) + k * k * 3 + j // 8) % 8] end
  nets[j] = pg.hw.network.nats_sss(table.concat(c, ":"))
end
threads_case("pg.hw.sweep (64 arrays x 240 networks)", function() return (pg.hw.sweep(arrays, nets)) end)
local accs = {}
for i = 1, 16 do
  accs[i] = pg.hw.coflex_accelerator { pe_x = 4 * (1 + i % 8), pe_y = 2 + i % 3, reg_input = 16 * (1 + i // 2), reg_weight = 16,
                                       reg_output = 32, reg_bw = 64 }
end
local nets_df = {}
for j = 1, 120 do nets_df[j] = nets[j] end
threads_case("pg.hw.sweep dataflow (16 accel. x 120 networks)", function() return (pg.hw.sweep(accs, nets_df)) end)

-- ---- ranks ----
if not pg.mpi_built then
  print("MPI: perigee was built without MPI; rank scaling not measured")
  return
end
local mpirun = io.popen("command -v mpirun"):read("l")
if not mpirun then
  print("MPI: mpirun not found; rank scaling not measured")
  return
end
local root = io.popen("id -u"):read("l") == "0" and " --allow-run-as-root" or ""
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)
local function run(np, mode, out)
  local cmd = ("cd %s && %s'%s' run '%s' --out %s %s %s > /dev/null 2>&1"):format(tmp,
    np > 1 and ("'" .. mpirun .. "'" .. root .. " --oversubscribe -np " .. np .. " ") or "", EXE, GRID, out, mode, SLEEP)
  local t0 = pg.wtime()
  assert(os.execute(cmd), "failed: " .. cmd)
  return pg.wtime() - t0
end
local function same(a, b)
  local ok = os.execute(("cd %s && diff -r -x timings.csv -x walltime.csv %s %s > /dev/null"):format(tmp, a, b))
  return ok and "identical" or "DIFFERENT"
end
print(("%-44s %10s %10s  %s"):format("MPI ranks (1 process vs mpirun -np 2), SLEEP " .. SLEEP .. " s", "1", "2", "speed-up"))
local function startup(np)
  local cmd = ("cd %s && %s'%s' -e '' > /dev/null 2>&1"):format(tmp,
    np > 1 and ("'" .. mpirun .. "'" .. root .. " --oversubscribe -np " .. np .. " ") or "", EXE)
  return best_of(2, function() os.execute(cmd) end)
end
local s1, s2 = startup(1), startup(2)
row("start-up only (perigee -e '')", s1, s2, "")
local t1 = run(1, "batch", "b1")
local t2 = run(2, "batch", "b2")
row("batch: 12 slow evaluations, q = 4", t1, t2, same("b1", "b2"))
row("  the same without start-up", t1 - s1, t2 - s2, "")
t1 = run(1, "gridslow", "g1")
t2 = run(2, "gridslow", "g2")
row("grid: 4 runs x 6 slow evaluations, q = 2", t1, t2, same("g1", "g2"))
row("  the same without start-up", t1 - s1, t2 - s2, "")
os.execute("rm -rf " .. tmp)
