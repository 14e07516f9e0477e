-- scale_spec.lua: pg.run_external (timeouts, failures), eval_timeout in the
-- experiment runner, and the MPI runner: `mpirun -np 2 --oversubscribe`
-- (with --allow-run-as-root as root) on a small grid and on a batch of slow
-- evaluations must write the same files as a single-process run (only
-- timings.csv and walltime.csv, wall-clock figures, may differ). The MPI
-- cases are skipped, with a message, when perigee was built without MPI or
-- mpirun is missing.
local pg = require "perigee"

local EXE = os.getenv("PERIGEE_EXE") or "perigee"
local SRC = os.getenv("PERIGEE_SOURCE_DIR") or "../.."
local GRID = SRC .. "/tests/mpi/grid.lua"

local function sh(cmd)
  local f = assert(io.popen(cmd .. " 2>&1"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return out, ok and 0 or code
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p '" .. p .. "'"))
  return p
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function records(path)
  local rows, header = {}, nil
  for line in io.lines(path) do
    local t = {}
    for v in (line .. ","):gmatch("([^,]*),") do t[#t + 1] = v end
    if not header then header = t else
      local r = {}
      for i, k in ipairs(header) do r[k] = t[i] end
      rows[#rows + 1] = r
    end
  end
  return rows
end

-- every file of a results tree except the wall-clock ones
local function same_tree(a, b)
  local list = sh("cd '" .. a .. "' && find . -type f ! -name timings.csv ! -name walltime.csv ! -name phases.csv | sort")
  local n = 0
  for f in list:gmatch("[^\n]+") do
    n = n + 1
    local x, y = read(a .. "/" .. f), read(b .. "/" .. f)
    assert(y ~= nil, "missing in the MPI run: " .. f)
    assert(x == y, "differs from the single-process run: " .. f)
  end
  return n
end

describe("pg.run_external", function()
  it("returns stdout, stderr and the exit code, feeding stdin", function()
    local r = pg.run_external { cmd = "sh", args = { "-c", "cat; echo oops >&2; exit 3" }, input = "abc\n" }
    assert.equal("exit", r.status)
    assert.is_false(r.ok)
    assert.equal(3, r.code)
    assert.equal("abc\n", r.stdout)
    assert.equal("oops\n", r.stderr)
    r = pg.run_external { cmd = "sh", args = { "-c", "printf '%s,%s' \"$PG_X\" \"$(pwd)\"" }, env = { PG_X = "7" }, cwd = "/" }
    assert.is_true(r.ok)
    assert.equal("7,/", r.stdout)
  end)

  it("kills the whole process group on timeout", function()
    local marker = os.tmpname()
    local t0 = pg.wtime()
    -- a child that starts a grandchild; both must die at the timeout
    local r = pg.run_external { cmd = "sh", args = { "-c", "(sleep 3; echo late > '" .. marker .. "') & sleep 30" },
                                timeout = 0.3, grace = 0.2 }
    local dt = pg.wtime() - t0
    assert.equal("timeout", r.status)
    assert.is_false(r.ok)
    assert.is_true(dt >= 0.3 and dt < 2.5, "took " .. dt)
    assert.truthy(r.message:find("timeout", 1, true))
    -- the grandchild would write the marker at 3 s if it survived
    pg.run_external { cmd = "sleep", args = { "3.5" } }
    assert.equal("", read(marker))
    os.remove(marker)
  end)

  it("reports a program that cannot start or dies of a signal", function()
    local r = pg.run_external { cmd = "/nonexistent/perigee-test-program" }
    assert.equal("error", r.status)
    assert.truthy(r.message:find("No such file", 1, true))
    r = pg.run_external { cmd = "sh", args = { "-c", "kill -TERM $$" } }
    assert.equal("signal", r.status)
    assert.equal(15, r.signal)
  end)

  it("rejects bad options", function()
    assert.has_error(function() pg.run_external {} end)
    assert.has_error(function() pg.run_external { cmd = "true", args = { {} } } end)
    assert.has_error(function() pg.run_external { cmd = "true", timeout = -1 } end)
    assert.has_error(function() pg.run_external { cmd = "true", env = { 1 } } end)
    assert.has_error(function() pg.run_external("true") end)
  end)
end)

describe("eval_timeout", function()
  it("records a late evaluation as a timeout and an error as an error; the run goes on", function()
    local d = tmpdir()
    local out, code = sh("cd '" .. d .. "' && '" .. EXE .. "' run '" .. GRID .. "' --out s --eval-timeout 1 slow 0.01")
    assert.equal(0, code, out)
    local rows = records(d .. "/s/random/seed3/evaluations.csv")
    assert.equal(12, #rows)
    for i, r in ipairs(rows) do
      local want = i == 5 and "error" or i == 7 and "timeout" or "ok"
      assert.equal(want, r.status, "evaluation " .. i)
    end
    assert.truthy(rows[7].message:find("timed out", 1, true))
    local summary = read(d .. "/s/random/seed3/summary.json")
    assert.truthy(summary:find('"failed":%s*2'))
    os.execute("rm -rf '" .. d .. "'")
  end)

  it("interrupts a Lua evaluation that loops", function()
    local E = require "perigee.experiment"
    local b = pg.benchmark {
      name = "spin", space = pg.space { pg.real("x", 0, 1) }, objectives = { "f" }, reference_point = { 2 },
      evaluate = function() while true do end end,
    }
    local t0 = pg.wtime()
    local r = E.evaluate_job(b, { p = { x = 0.5 }, e = 1, iteration = 0, seed = 1, timeout = 0.2 })
    assert.equal("timeout", r.status)
    assert.is_true(pg.wtime() - t0 < 2)
  end)
end)

describe("MPI runner", function()
  local mpirun = sh("command -v mpirun"):match("[^\n]+")
  local function skip()
    if not pg.mpi_built then
      pending("perigee was built without MPI (install libopenmpi-dev openmpi-bin and reconfigure): MPI tests skipped")
      return true
    end
    if not mpirun or mpirun == "" then
      pending("mpirun not found (install openmpi-bin): MPI tests skipped")
      return true
    end
  end
  local root = sh("id -u"):match("^0") and " --allow-run-as-root" or ""
  -- Open MPI itself leaks at exit; under the sanitizer build only our own
  -- single-process runs are leak-checked
  local function mpi_cmd(d, extra, args)
    return "cd '" .. d .. "' && ASAN_OPTIONS=detect_leaks=0 '" .. mpirun .. "'" .. root .. extra
      .. " --oversubscribe -np 2 '" .. EXE .. "' run '" .. GRID .. "' --out two " .. args
  end
  local function both(args)
    local d = tmpdir()
    local out, code = sh("cd '" .. d .. "' && '" .. EXE .. "' run '" .. GRID .. "' --out one " .. args)
    assert.equal(0, code, out)
    out, code = sh(mpi_cmd(d, "", args))
    assert.equal(0, code, out)
    return d
  end

  it("a grid of 2 optimizers x 2 seeds gives the single-process files", function()
    if skip() then return end
    local d = both("grid")
    assert.equal(21, same_tree(d .. "/one", d .. "/two")) -- 4 runs x 5 files + summary.csv
    os.execute("rm -rf '" .. d .. "'")
  end)

  it("a batch of slow evaluations, with an error and a timeout, gives the single-process files", function()
    if skip() then return end
    local d = both("--eval-timeout 1 slow 0.2")
    assert.equal(6, same_tree(d .. "/one", d .. "/two"))
    local rows = records(d .. "/two/random/seed3/evaluations.csv")
    assert.equal("timeout", rows[7].status)
    assert.equal("error", rows[5].status)
    os.execute("rm -rf '" .. d .. "'")
  end)

  it("two experiments in one script, then code after the last go() on rank 0 only", function()
    if skip() then return end
    local d = both("two 0.05")
    assert.equal(28, same_tree(d .. "/one", d .. "/two")) -- 21 (grid) + 6 (batch) + after.txt
    os.execute("rm -rf '" .. d .. "'")
  end)

  it("a worker that dies is recorded as a failed evaluation and the run goes on (--enable-recovery)", function()
    if skip() then return end
    local d = tmpdir()
    local out, code = sh(mpi_cmd(d, " --enable-recovery", "--eval-timeout 1 die 0.05"))
    assert.equal(0, code, out)
    local rows = records(d .. "/two/random/seed3/evaluations.csv")
    assert.equal(12, #rows)
    for i, r in ipairs(rows) do
      assert.equal(i == 3 and "timeout" or "ok", r.status, "evaluation " .. i)
    end
    assert.truthy(rows[3].message:find("rank 1 gave no answer", 1, true))
    os.execute("rm -rf '" .. d .. "'")
  end)
end)
