-- parallel_spec.lua: OpenMP thread count (pg.threads, PERIGEE_THREADS,
-- perigee --threads) and thread-count invariance of the parallel loops:
-- candidate-pool prediction of the exact and sparse GP, and cost-model
-- sweeps (pg.hw.sweep). "Identical" here means bit for bit (==).
local pg = require "perigee"

local EXE = os.getenv("PERIGEE_EXE") or "perigee"

local function data(n, d, seed)
  local r = pg.rng(seed)
  local X, y = {}, {}
  for i = 1, n do
    X[i] = {}
    local s = 0
    for j = 1, d do
      X[i][j] = r:uniform()
      s = s + math.sin(3 * X[i][j]) * j
    end
    y[i] = s + 0.01 * r:normal()
  end
  return X, y
end

-- predictions at 1 and at 2 threads (restoring the count afterwards)
local function at_threads(f)
  local old = pg.threads()
  pg.threads(1)
  local a = table.pack(f())
  pg.threads(2)
  local b = table.pack(f())
  pg.threads(old)
  return a, b
end

local function same_matrix(A, B)
  local ra, ca = A:shape()
  local rb, cb = B:shape()
  assert.equal(ra, rb)
  assert.equal(ca, cb)
  local diff = 0
  for i = 1, ra do
    for j = 1, ca do
      if A:get(i, j) ~= B:get(i, j) then diff = diff + 1 end
    end
  end
  assert.equal(0, diff)
end

local function pipe(cmd)
  local f = assert(io.popen(cmd .. " 2>&1"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return out, ok and 0 or code
end

describe("pg.threads", function()
  it("gets and sets the count, and rejects bad values", function()
    local old = pg.threads()
    assert.is_true(math.type(old) == "integer" and old >= 1)
    assert.equal(old, pg.threads(3))
    assert.equal(pg.threads_info().openmp and 3 or 1, pg.threads())
    pg.threads(old)
    assert.has_error(function() pg.threads(0) end)
    assert.has_error(function() pg.threads(1.5) end)
    assert.has_error(function() pg.threads("x") end)
  end)

  it("is chosen by PERIGEE_THREADS and perigee --threads", function()
    if not pg.threads_info().openmp then
      pending("built without OpenMP: the count is always 1")
      return
    end
    local out = pipe("PERIGEE_THREADS=3 '" .. EXE .. "' -e 'io.write(perigee.threads())'")
    assert.equal("3", out)
    out = pipe("'" .. EXE .. "' --threads 2 -e 'io.write(perigee.threads())'")
    assert.equal("2", out)
    out = pipe("'" .. EXE .. "' --threads=1 -e 'io.write(os.getenv(\"PERIGEE_THREADS\"))'")
    assert.equal("1", out)
    local msg, code = pipe("'" .. EXE .. "' --threads 0 -e 'print(1)'")
    assert.is_true(code ~= 0)
    assert.truthy(msg:find("--threads needs an integer", 1, true))
  end)
end)

describe("thread-count invariance", function()
  local X, y = data(150, 3, 11)
  local C = pg.matrix((data(1500, 3, 12))) -- 3 blocks of 512 candidates

  it("exact GP: mean and variance of a candidate pool are identical at 1 and 2 threads", function()
    local m = pg.gp.exact { kernel = "matern52", train = 0, lengthscale = 0.4 }
    m:fit(X, y)
    local a, b = at_threads(function() return m:predict(C) end)
    same_matrix(a[1], b[1])
    same_matrix(a[2], b[2])
    -- and they are the GP's predictions: each row agrees with a one-point
    -- prediction (another BLAS code path) to rounding
    for _, i in ipairs { 1, 512, 513, 1024, 1500 } do
      local mu1, v1 = m:predict({ { C:get(i, 1), C:get(i, 2), C:get(i, 3) } })
      assert.near(mu1:get(1, 1), a[1]:get(i, 1), 1e-9 * (1 + math.abs(mu1:get(1, 1))))
      assert.near(v1:get(1, 1), a[2]:get(i, 1), 1e-9)
    end
  end)

  it("sparse GP (VFE and FITC): identical at 1 and 2 threads", function()
    for _, method in ipairs { "vfe", "fitc" } do
      local s = pg.gp.sparse { kernel = "se", inducing = 20, method = method, train = 0, seed = 3 }
      s:fit(X, y)
      local a, b = at_threads(function() return s:predict(C) end)
      same_matrix(a[1], b[1])
      same_matrix(a[2], b[2])
    end
  end)

  it("pg.hw.sweep equals the serial evaluate, at 1 and 2 threads", function()
    local hw = pg.hw
    local arrays = {
      hw.systolic { rows = 16, cols = 16, dataflow = "os" },
      hw.systolic { rows = 32, cols = 8, dataflow = "ws", bandwidth = 8 },
      hw.systolic { rows = 8, cols = 64, dataflow = "is", ifmap_sram_kb = 8 },
    }
    local nets = {
      hw.network.nats_sss("8:16:24:32:40"),
      hw.network.nats_sss("64:64:64:64:64"),
      hw.network.resnet18(),
    }
    local a, b = at_threads(function() return hw.sweep(arrays, nets) end)
    same_matrix(a[1], b[1])
    local cols = a[2]
    assert.same({ "total_cycles", "energy_pj", "latency_s", "edp_js", "overall_util", "macs" }, cols)
    for i, arr in ipairs(arrays) do
      for j, net in ipairs(nets) do
        local t = arr:evaluate(net).total
        local row = (i - 1) * #nets + j
        for k, name in ipairs(cols) do
          assert.equal(t[name] + 0.0, a[1]:get(row, k))
        end
      end
    end
  end)

  it("pg.hw.sweep over dataflow accelerators equals acc:evaluate, at 1 and 2 threads", function()
    local hw = pg.hw
    local accs = {
      hw.accelerator "meta_prototype_df",
      hw.coflex_accelerator { pe_x = 16, pe_y = 4, reg_input = 16, reg_weight = 16, reg_output = 32, reg_bw = 64 },
    }
    local nets = { hw.network.nats_sss("8:16:24:32:40"), hw.network.nats_sss("32:8:64:16:48") }
    for _, opts in ipairs { {}, { schedule = "layer_by_layer" } } do
      local a, b = at_threads(function() return hw.sweep(accs, nets, opts) end)
      same_matrix(a[1], b[1])
      assert.same({ "cycles", "energy_pj", "edp", "macs", "dram_bits" }, a[2])
      for i, acc in ipairs(accs) do
        for j, net in ipairs(nets) do
          local r = acc:evaluate(net, { layers = false, schedule = opts.schedule })
          local row = (i - 1) * #nets + j
          for k, name in ipairs { "cycles", "energy", "edp", "macs", "dram_bits" } do
            assert.equal(r[name], a[1]:get(row, k), name)
          end
        end
      end
    end
    assert.has_error(function() hw.sweep({ accs[1], pg.hw.systolic {} }, nets) end)
    assert.has_error(function() hw.sweep(accs, nets, { schedule = "nope" }) end)
  end)

  it("pg.hw.sweep validates its arguments", function()
    local arr = pg.hw.systolic {}
    local net = pg.hw.network.nats_sss("8:8:8:8:8")
    assert.has_error(function() pg.hw.sweep({}, { net }) end)
    assert.has_error(function() pg.hw.sweep({ arr }, {}) end)
    assert.has_error(function() pg.hw.sweep({ net }, { net }) end)
    assert.has_error(function() pg.hw.sweep({ arr }, { arr }) end)
    assert.has_error(function() pg.hw.sweep(arr, { net }) end)
  end)
end)
