-- hw_spec.lua: perigee.hw (networks, systolic arrays) and `perigee scalesim`.
local pg = require "perigee"
local hw = pg.hw

local SRC = os.getenv("PERIGEE_SOURCE_DIR") or "../.."
local EXE = os.getenv("PERIGEE_EXE") or "perigee"
local ALEXNET = SRC .. "/hardware/scalesim/alexnet.csv"
local CFG = SRC .. "/hardware/scalesim/scale.cfg"
local ALL3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p '" .. p .. "'"))
  return p
end

local function read_lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

local function fields(line)
  local t = {}
  for f in line:gmatch("([^,]*),") do t[#t + 1] = f:match("^%s*(.-)%s*$") end
  return t
end

describe("perigee.hw.network", function()
  it("builds the published networks", function()
    local n = hw.network.nb201(ALL3)
    assert.equal(220119680, n:macs())
    assert.equal(1531546, n:params())
    assert.equal(274399872, hw.network.nats_sss("64:64:64:64:64"):macs())
    -- ImageNet16-120 input through the options table
    assert.equal(68607488, hw.network.nats_sss("64:64:64:64:64", { input = 16, classes = 120 }):macs())
    assert.equal(11689512, hw.network.resnet18():params())
    assert.equal(25557032, hw.network.resnet50():params())
    assert.equal(3504872, hw.network.mobilenetv2():params())
    assert.is_true(math.abs(hw.network.shufflenet_spos { preset = "v2plus_large" }:macs() - 360e6) < 0.5e6)
    assert.is_true(math.abs(hw.network.shufflenet_spos { preset = "v2plus_medium" }:macs() - 222e6) < 0.5e6)
  end)

  it("exposes layers whose MACs are the product of the loop bounds", function()
    local n = hw.network.resnet18 { input = 64, classes = 10 }
    local ls = n:layers()
    assert.equal(#n, #ls)
    local sum = 0
    for i, l in ipairs(ls) do
      if l.kind ~= "pool" and l.kind ~= "add" then
        assert.equal(l.B * l.K * (l.C // l.groups) * l.OY * l.OX * l.FY * l.FX, l.macs)
      else
        assert.equal(0, l.macs)
      end
      assert.is_true(l.input < i)
      sum = sum + l.macs
    end
    assert.equal(n:macs(), sum)
    assert.same(ls[3], n:layer(3))
    assert.matches("resnet18", tostring(n))
  end)

  it("builds SPOS choices from names or codes", function()
    local ops = {}
    for i = 1, 20 do ops[i] = (i == 1 or i == 5 or i == 9 or i == 17) and "3x3" or "skip" end
    local a = hw.network.shufflenet_spos { preset = "A", ops = ops }
    assert.is_true(math.abs(a:macs() - 103.43e6) < 0.01e6)
    local f = {}
    for i = 1, 20 do f[i] = 0.5 end
    local half = hw.network.shufflenet_spos { preset = "A", factors = f }
    assert.is_true(half:macs() < hw.network.shufflenet_spos { preset = "A" }:macs())
  end)

  it("declares a network in Lua", function()
    local n = hw.network.from_layers {
      name = "tiny",
      { kind = "conv", C = 3, K = 8, H = 16, F = 3, pad = 1, bn = true },
      { kind = "depthwise", C = 8, H = 16, F = 3, stride = 2, pad = 1 },
      { kind = "pointwise", C = 8, K = 4, H = 8 },
      { kind = "add", C = 4, H = 8, input = 3, input2 = 3 },
      { kind = "fc", C = 256, K = 10, bias = true },
    }
    assert.equal(5, #n)
    assert.equal("tiny", n:name())
    local ls = n:layers()
    assert.equal(3 * 8 * 9 * 16 * 16, ls[1].macs)
    assert.equal(8 * 9 * 8 * 8, ls[2].macs)
    assert.equal(8, ls[2].groups)
    assert.equal(0, ls[1].input)
    assert.equal(2, ls[3].input)
    assert.equal(3, ls[4].input2)
    assert.equal(3 * 8 * 9 + 16, ls[1].params)
    assert.equal(2570, ls[5].params)
  end)

  it("imports Scale-Sim topologies", function()
    local n = hw.network.scalesim_topology(ALEXNET)
    assert.equal(5, #n)
    local l = n:layer(1)
    assert.equal(55, l.OY)
    assert.equal("Conv1", l.name)
    local g = hw.network.scalesim_topology(SRC .. "/hardware/scalesim/gemm_example.csv", { gemm = true })
    assert.equal(64 * 128 * 256 + 49 * 49 * 64 + 128 * 128 * 64, g:macs())
    local none, err = hw.network.scalesim_topology("/nonexistent/topology.csv")
    assert.is_nil(none)
    assert.matches("cannot read", err)
  end)

  it("rejects bad arguments naming the function", function()
    assert.has_error(function() hw.network.nats_sss("64:64") end)
    assert.error_matches(function() hw.network.nats_sss("64:64") end, "nats_sss")
    assert.error_matches(function() hw.network.nb201("|conv~0|") end, "nb201")
    assert.error_matches(function() hw.network.nats_sss("8:8:8:8:8", { input = -3 }) end, "input")
    assert.error_matches(function() hw.network.resnet18 { classes = 1.5 } end, "classes")
    assert.error_matches(function() hw.network.shufflenet_spos { preset = "huge" } end, "preset")
    local bad = {}
    for i = 1, 20 do bad[i] = "skip" end
    assert.error_matches(function() hw.network.shufflenet_spos { ops = bad } end, "stride")
    assert.error_matches(function() hw.network.from_layers { { kind = "conv", K = 3, H = 4 } } end, "'C'")
    assert.error_matches(function() hw.network.from_layers { { kind = "blob", C = 1, K = 1, H = 1 } } end, "kind")
    assert.error_matches(function() hw.network.from_layers { { C = 3, K = 4, H = 2, F = 5 } } end, "layer 1")
    assert.error_matches(function() hw.network.from_layers { { C = 3, K = 4, H = 8 }, { C = 4, K = 4, H = 8, input = 5 } } end, "input")
    assert.error_matches(function() hw.network.scalesim_topology(42 .. "", 3) end, "table expected")
  end)
end)

describe("perigee.hw.systolic", function()
  it("reproduces the worked AlexNet example", function()
    local n = hw.network.scalesim_topology(ALEXNET)
    local arr = hw.systolic { rows = 32, cols = 32, dataflow = "ws" }
    local res = arr:evaluate(n)
    local r = res.layers[1]
    assert.equal(112283, r.total_cycles)
    assert.equal(0, r.stall_cycles)
    assert.equal(94.53125, r.mapping_eff)
    assert.is_true(math.abs(r.compute_util - 90.78) < 0.005)
    assert.equal(3294225, r.sram_ifmap_reads)
    assert.equal(12, r.fold_r)
    assert.equal(3, r.fold_c)
    local ex = hw.systolic { rows = 32, cols = 32, dataflow = "ws", mode = "exact" }:evaluate(n)
    assert.equal(r.total_cycles, ex.layers[1].total_cycles)
    assert.equal(r.compute_util, ex.layers[1].compute_util)
    assert.is_true(ex.layers[1].dram_ifmap_reads > 1.75e6 and ex.layers[1].dram_ifmap_reads < 1.85e6)
    assert.is_true(ex.layers[1].dram_exact)
    assert.equal("exact", ex.config.mode)
  end)

  it("sums layers into totals, energy, latency and EDP", function()
    local n = hw.network.nats_sss("16:16:16:16:16")
    local arr = hw.systolic { rows = 16, cols = 16, dataflow = "os", clock_hz = 2e9 }
    local res = arr:evaluate(n)
    local cycles, macs, e = 0, 0, 0
    for _, r in ipairs(res.layers) do
      cycles = cycles + r.total_cycles
      macs = macs + r.macs
      e = e + r.energy_pj
    end
    assert.equal(cycles, res.total.total_cycles)
    assert.equal(n:macs(), res.total.macs)
    assert.equal(macs, res.total.macs)
    assert.is_true(math.abs(res.total.energy_pj - e) <= 1e-9 * e)
    assert.is_true(math.abs(res.total.latency_s - cycles / 2e9) <= 1e-15)
    assert.is_true(math.abs(res.total.edp_js - res.total.energy_pj * 1e-12 * res.total.latency_s) <= 1e-12 * res.total.edp_js)
    assert.equal(16, arr:config().rows)
    assert.matches("16x16 os", tostring(arr))
  end)

  it("never gets slower with more bandwidth", function()
    local n = hw.network.resnet18 { input = 64 }
    local prev = math.huge
    for _, bw in ipairs { 0.5, 1, 2, 4, 8, 32 } do
      local c = hw.systolic { bandwidth = bw }:evaluate(n).total.total_cycles
      assert.is_true(c <= prev)
      prev = c
    end
  end)

  it("rejects bad configurations", function()
    assert.error_matches(function() hw.systolic { rows = 0 } end, "rows")
    assert.error_matches(function() hw.systolic { dataflow = "rs" } end, "dataflow")
    assert.error_matches(function() hw.systolic { mode = "fast" } end, "mode")
    assert.error_matches(function() hw.systolic { ifmap_sram_kb = 0.01 } end, "100 words")
    assert.error_matches(function() hw.systolic { bandwidth = 0 / 0 } end, "bandwidth")
    assert.error_matches(function() hw.systolic { colz = 4 } end, "unknown option 'colz'")
    assert.error_matches(function() hw.systolic {}:evaluate({}) end, "HwNetwork expected")
  end)
end)

describe("perigee scalesim", function()
  local cli = require "perigee.cli.scalesim"

  it("formats floats like Python", function()
    local cases = {
      [0.1] = "0.1", [100.0] = "100.0", [1e16] = "1e+16", [1.5e-05] = "1.5e-05",
      [94.53125] = "94.53125", [1 / 3] = "0.3333333333333333", [0.0001] = "0.0001",
      [123456789.125] = "123456789.125", [-2.5] = "-2.5", [1e-5] = "1e-05",
      [29.338590881967885] = "29.338590881967885", [1234567890123456.0] = "1234567890123456.0",
    }
    for x, s in pairs(cases) do assert.equal(s, cli.pyfloat(x)) end
  end)

  it("writes the three reports like scale.py", function()
    local dir = tmpdir()
    local cmd = string.format("'%s' scalesim -c '%s' -t '%s' -p '%s' --exact -q", EXE, CFG, ALEXNET, dir)
    assert.is_true(os.execute(cmd) == true)
    local run = dir .. "/scale_example_run_32x32_ws/"
    local c = read_lines(run .. "COMPUTE_REPORT.csv")
    local b = read_lines(run .. "BANDWIDTH_REPORT.csv")
    local d = read_lines(run .. "DETAILED_ACCESS_REPORT.csv")
    assert.equal(6, #c)
    assert.equal(6, #b)
    assert.equal(6, #d)
    assert.equal("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,", c[1])
    assert.equal(7, #fields(b[1]))
    assert.equal(19, #fields(d[1]))
    local r0 = fields(c[2])
    assert.same({ "0", "112283", "0" }, { r0[1], r0[2], r0[3] })
    assert.equal("94.53125", r0[5])
    local d0 = fields(d[2])
    assert.equal("33.0", d0[2]) -- ifmap SRAM starts after R weight-load rows + 1
    assert.equal("3294225", d0[4])
    -- the reports agree with the Lua API
    local n = hw.network.scalesim_topology(ALEXNET)
    local res = hw.systolic { dataflow = "ws", mode = "exact" }:evaluate(n)
    for i, l in ipairs(res.layers) do
      local f = fields(d[i + 1])
      assert.equal(tostring(l.dram_ifmap_reads), f[13])
      assert.equal(tostring(l.dram_ofmap_writes), f[19])
      assert.equal(cli.pyfloat(l.bw_dram_ifmap), fields(b[i + 1])[5])
    end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("exports perigee networks as topologies with the same results", function()
    -- grouped layers evaluated once and counted `groups` times must equal
    -- Scale-Sim's per-channel expansion of DP rows
    for _, net in ipairs { hw.network.mobilenetv2 { input = 32 }, hw.network.nats_sss("8:16:24:32:40"),
      hw.network.shufflenet_spos { preset = "A", input = 32 } } do
      local p = os.tmpname()
      assert.is_true(cli.write_topology(net, p) > 0)
      local back = assert(hw.network.scalesim_topology(p))
      os.remove(p)
      for _, df in ipairs { "os", "ws", "is" } do
        for _, mode in ipairs { "analytical", "exact" } do
          local arr = hw.systolic { rows = 8, cols = 8, dataflow = df, mode = mode }
          local a, b = arr:evaluate(net).total, arr:evaluate(back).total
          for _, k in ipairs { "macs", "total_cycles", "sram_ifmap_reads", "sram_filter_reads",
            "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes" } do
            assert.equal(a[k], b[k])
          end
        end
      end
    end
    local batched = hw.network.from_layers { { C = 3, K = 4, H = 8, B = 2 } }
    local p = os.tmpname()
    assert.is_nil(cli.write_topology(batched, p))
    os.remove(p)
  end)

  it("reads GEMM topologies and reports errors", function()
    local dir = tmpdir()
    local rc = cli.main { "-c", CFG, "-t", SRC .. "/hardware/scalesim/gemm_example.csv", "-i", "gemm", "-p", dir, "-q" }
    assert.equal(0, rc)
    local c = read_lines(dir .. "/scale_example_run_32x32_ws/COMPUTE_REPORT.csv")
    assert.equal(4, #c)
    -- M = 64 pixels, K = 256, N = 128 on 32 x 32 ws: Fr 8, Fc 4, P = 2R + C + M - 2
    assert.equal(tostring(8 * 4 * (2 * 32 + 32 + 64 - 2) - 1), fields(c[2])[2])
    -- M = N = 128, K = 64: Scale-Sim v2.0.2 printed 1775, 0, 57.69, 100.0, 50.59
    local r = fields(c[4])
    assert.same({ "2", "1775", "0", "100.0" }, { r[1], r[2], r[3], r[5] })
    assert.is_true(math.abs(tonumber(r[4]) - 57.69) < 0.005)
    assert.is_true(math.abs(tonumber(r[6]) - 50.59) < 0.005)
    assert.equal(1, cli.main { "-c", "/nonexistent.cfg", "-t", ALEXNET, "-p", dir, "-q" })
    assert.equal(2, cli.main { "-t", ALEXNET })
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
