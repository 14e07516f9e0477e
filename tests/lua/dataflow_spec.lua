-- dataflow_spec.lua -- perigee.hw.accelerator and friends (bindings/ldataflow.c).
local pg = require "perigee"
local hw = pg.hw

-- 4-layer 3x3 chain of the research note (section 8.2): 40x40 input, no
-- padding, channels 3 -> 32 -> 32 -> 64 -> 64, 72.2 M MACs.
local function chain()
  local ch, net = { 3, 32, 32, 64, 64 }, {}
  for i = 1, 4 do
    net[i] = { name = "conv" .. i, kind = "conv", C = ch[i], K = ch[i + 1], IY = 42 - 2 * i, IX = 42 - 2 * i,
               FY = 3, FX = 3 }
  end
  return net
end

local TEMPLATES = { "meta_prototype", "meta_prototype_df", "edge_tpu", "edge_tpu_df", "ascend", "ascend_df",
                    "tpu", "tpu_df", "tesla_npu", "tesla_npu_df" }

describe("perigee.hw.accelerator", function()
  it("loads every template and evaluates a network", function()
    local names = hw.accelerators()
    for _, n in ipairs(TEMPLATES) do
      local found = false
      for _, m in ipairs(names) do found = found or m == n end
      assert.is_true(found, n)
      local a = hw.accelerator(n)
      assert.equal(n, a:name())
      local r = a:evaluate(chain(), { schedule = "depth_first", tile = { 8, 8 }, mode = "fully_cached" })
      assert.is_true(r.energy > 0 and r.cycles > 0)
      -- every output computed once: the MACs of the loop nests
      assert.near(72.2e6, r.macs, 0.05e6)
      assert.near(r.macs * 0.04, r.energy_mac, 1e-6 * r.energy_mac)
      -- the split per level and operand adds up to the total
      local sum = r.energy_mac
      for _, l in ipairs(r.levels) do
        assert.is_string(l.name)
        sum = sum + l.energy.I + l.energy.W + l.energy.O
        assert.near(l.total, l.energy.I + l.energy.W + l.energy.O, 1e-9 * (1 + l.total))
      end
      assert.near(r.energy, sum, 1e-9 * r.energy)
      -- per-layer results add up too
      local e, c = 0, 0
      for _, l in ipairs(r.layers) do e = e + l.energy; c = c + l.cycles end
      assert.near(r.energy, e, 1e-9 * r.energy)
      assert.near(r.cycles, c, 1e-9 * r.cycles)
      assert.equal(4, #r.layers)
      assert.equal("conv1", r.layers[1].name)
      -- EDP in uJ*s at the template's 2.2 GHz
      assert.near(r.energy * 1e-12 * r.cycles / 2.2e9 * 1e6, r.edp, 1e-12 * r.edp)
    end
  end)

  it("matches DeFiNES's reference runs of the 4-layer chain within a few percent", function()
    -- research/hardware_models.md 8.2 (template not recorded: indicative):
    -- mode 3 8x8: 2.15e7 pJ, 94.4 k cycles; mode 1 8x8: 2.43e7 pJ, 125.5 k;
    -- one 32x32 tile: 2.02e7 pJ, 86.0 k
    local a = hw.accelerator "meta_prototype_df"
    local cases = {
      { { schedule = "depth_first", tile = 8, mode = "fully_cached" }, 2.15e7, 94.4e3 },
      { { schedule = "depth_first", tile = 8, mode = "fully_recompute" }, 2.43e7, 125.5e3 },
      { { schedule = "layer_by_layer" }, 2.02e7, 86.0e3 },
    }
    for _, c in ipairs(cases) do
      local r = a:evaluate(chain(), c[1])
      assert.is_true(math.abs(r.energy / c[2] - 1) < 0.05, ("energy %g vs %g"):format(r.energy, c[2]))
      assert.is_true(math.abs(r.cycles / c[3] - 1) < 0.12, ("cycles %g vs %g"):format(r.cycles, c[3]))
    end
  end)

  it("round-trips a description table and sees an edit without recompiling", function()
    local a = hw.accelerator "meta_prototype_df"
    local d = a:describe()
    assert.equal("meta_prototype_df", d.name)
    assert.equal(4, #d.array)
    local b = hw.accelerator(d)
    local net = chain()
    local ra, rb = a:evaluate(net), b:evaluate(net)
    assert.equal(ra.energy, rb.energy)
    assert.equal(ra.cycles, rb.cycles)
    -- an alternative loop for a dimension survives the round trip
    d.array[1].alt = "OX"
    assert.equal("OX", hw.accelerator(d):describe().array[1].alt)
    d.array[1].alt = nil
    -- doubling the DRAM energy per access raises the energy by exactly the
    -- DRAM share
    local dram = d.levels[#d.levels]
    dram.r_energy, dram.w_energy = 2 * dram.r_energy, 2 * dram.w_energy
    local rc = hw.accelerator(d):evaluate(net)
    local share = ra.levels[#ra.levels].total
    assert.near(ra.energy + share, rc.energy, 1e-9 * rc.energy)
  end)

  it("loads a copied file from PERIGEE_HW_DIR semantics (a table from a file)", function()
    local src = assert(io.open(os.getenv("PERIGEE_SOURCE_DIR") .. "/hardware/accelerators/tpu_df.lua"))
    local chunk = assert(load(src:read("a"), "tpu_df", "t", { math = math }))
    src:close()
    local t = chunk()
    t.name = "my_tpu"
    t.levels[1].size = 2 * t.levels[1].size
    local a = hw.accelerator(t)
    assert.equal("my_tpu", a:name())
    assert.is_true(a:evaluate(chain()).energy > 0)
  end)

  it("evaluates every schedule and mode; one whole tile equals layer by layer", function()
    local a = hw.accelerator "meta_prototype_df"
    local net = chain()
    local lbl = a:evaluate(net, { schedule = "layer_by_layer" })
    local m = {}
    for _, mode in ipairs { "fully_cached", "h_cached_v_recompute", "fully_recompute" } do
      local one = a:evaluate(net, { schedule = "depth_first", tile = { 1000, 1000 }, mode = mode })
      assert.equal(lbl.energy, one.energy)
      assert.equal(lbl.cycles, one.cycles)
      m[mode] = a:evaluate(net, { schedule = "depth_first", tile = { 4, 4 }, mode = mode }).macs
    end
    assert.is_true(m.fully_recompute > m.h_cached_v_recompute)
    assert.is_true(m.h_cached_v_recompute > m.fully_cached)
    local nofuse = a:evaluate(net, { fuse = false })
    assert.equal(4, nofuse.stacks)
  end)

  it("accepts kinds, producers and defaults in layer tables", function()
    local a = hw.accelerator "edge_tpu_df"
    local net = {
      { name = "stem", C = 3, K = 16, IY = 32, FY = 3, PY = 1 },
      { name = "dw", kind = "depthwise", C = 16, IY = 32, FY = 3, PY = 1 },
      { name = "pw", kind = "pointwise", C = 16, K = 16, IY = 32 },
      { name = "add", kind = "add", C = 16, IY = 32, input = 3, input2 = 1 },
      { name = "pool", kind = "pool", C = 16, IY = 32, FY = 2, SY = 2 },
      { name = "fc", kind = "fc", C = 16 * 16 * 16, K = 10 },
    }
    local r = a:evaluate(net)
    assert.equal(6, #r.layers)
    assert.equal(32 * 32 * 16 * 27 + 32 * 32 * 16 * 9 + 32 * 32 * 256 + 32 * 32 * 16 + 16 * 16 * 16 * 4 +
                 16 * 16 * 16 * 10, r.macs)
  end)
end)

describe("networks of perigee.hw.network", function()
  it("evaluates them, and their layer tables give the same result", function()
    local a = hw.accelerator "meta_prototype_df"
    local nb = hw.network.nb201("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    for _, net in ipairs { hw.network.nats_sss("24:40:64:16:48", { input = 32 }), hw.network.resnet18(),
                           hw.network.mobilenetv2(), nb } do
      local r = a:evaluate(net, { tile = { 8, 8 } })
      local t = a:evaluate(net:layers(), { tile = { 8, 8 } })
      assert.equal(#net, #r.layers)
      local totals = a:evaluate(net, { tile = { 8, 8 }, layers = false })
      assert.is_nil(totals.layers)
      assert.is_nil(r.layers[2].levels[1].read_bits)
      local bits = a:evaluate(net, { tile = { 8, 8 }, layers = "bits" })
      local sum = 0
      for _, l in ipairs(bits.layers) do sum = sum + l.levels[#l.levels].read_bits.I end
      assert.near(bits.levels[#bits.levels].read_bits.I, sum, 1e-9 * (1 + sum))
      assert.has_error(function() a:evaluate(net, { layers = "all" }) end)
      assert.equal(r.energy, totals.energy)
      assert.equal(r.edp, totals.edp)
      assert.equal(r.energy, t.energy)
      assert.equal(r.cycles, t.cycles)
      -- fully cached: MACs of the loop nests (pooling and additions counted as MACs)
      local ops = 0
      for _, l in ipairs(net:layers()) do ops = ops + l.macs + l.ops end
      assert.near(ops, r.macs, 1e-9 * ops)
    end
  end)
  it("depth-first beats layer by layer on a NATS network at 224 x 224, as DeFiNES runs showed", function()
    local a = hw.accelerator "meta_prototype_df"
    local net = hw.network.nats_sss("64:64:64:64:64", { input = 224 })
    local df = a:evaluate(net, { tile = { 8, 8 } })
    local lbl = a:evaluate(net, { schedule = "layer_by_layer" })
    assert.is_true(df.energy < 0.5 * lbl.energy)
    assert.is_true(df.dram_bits < lbl.dram_bits)
  end)
end)

describe("perigee.hw.coflex_accelerator", function()
  it("builds Coflex's template and exposes the six parameters", function()
    local p = hw.coflex_parameters
    assert.equal(6, #p)
    local size = 1
    for _, q in ipairs(p) do size = size * (q.max - q.min + 1) end
    local grid, readme = hw.coflex_space_size()
    assert.equal(size, grid)
    assert.equal(64 * 64 * 503 ^ 4, grid)       -- 2.62e14, the inclusive grid
    assert.equal(2 ^ 48, readme)                 -- 2.81e14, the README's figure
    -- the search space built from the table (the Lua layer owns spaces)
    if pg.space and pg.int then
      local dims = {}
      for i, q in ipairs(p) do dims[i] = pg.int(q.name, q.min, q.max) end
      local space = pg.space(dims)
      assert.equal(grid, space:size())
      assert.equal("2.6e+14", ("%.1e"):format(space:size()))
    end
    assert.equal("pe_x", p[1].name)
    assert.equal("reg_bw", p[6].name)
    local a = hw.coflex_accelerator { pe_x = 32, pe_y = 2, reg_input = 16, reg_weight = 16, reg_output = 32,
                                      reg_bw = 64 }
    local r = a:evaluate(chain(), { tile = { 8, 8 } })
    assert.is_true(r.edp > 0)
    -- Coflex's clipped mapping ignores PEs beyond 32 x 2; the full one uses them
    local function cycles(x, y, mapping)
      return hw.coflex_accelerator { pe_x = x, pe_y = y, reg_input = 16, reg_weight = 16, reg_output = 32,
                                     reg_bw = 64, mapping = mapping }:evaluate(chain()).cycles_compute
    end
    assert.equal(cycles(32, 2, "coflex"), cycles(64, 8, "coflex"))
    assert.is_true(cycles(64, 8, "full") < cycles(32, 2, "full"))
    assert.equal(cycles(32, 2, "coflex"), cycles(32, 2, "full"))
  end)
end)

describe("errors", function()
  local a = hw.accelerator "meta_prototype_df"
  it("rejects bad accelerators", function()
    assert.has_error(function() hw.accelerator "no_such_accelerator" end)
    assert.has_error(function() hw.accelerator "../etc/passwd" end)
    assert.has_error(function() hw.accelerator(42) end)
    local d = a:describe()
    d.levels[#d.levels].size = 1024
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.levels[2].operands = { "X" }
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.array[1].loop = "Q"
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.array[1].alt = "Z"
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.levels[3].r_bw = -1
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.mac_energy = 0 / 0
    assert.has_error(function() hw.accelerator(d) end)
    d = a:describe()
    d.order = { "K", "K", "C", "OX", "OY", "FX", "FY" }
    assert.has_error(function() hw.accelerator(d) end)
  end)
  it("rejects bad networks and options", function()
    assert.has_error(function() a:evaluate({}) end)
    assert.has_error(function() a:evaluate("net") end)
    assert.has_error(function() a:evaluate({ { C = 3 } }) end)                        -- no K
    assert.has_error(function() a:evaluate({ { C = 3, K = 4, IY = 8, FY = 3, kind = "nope" } }) end)
    assert.has_error(function() a:evaluate({ { C = 3, K = 4, IY = 8, FY = 3, input = 5 } }) end)
    assert.has_error(function() a:evaluate({ { C = 3, K = 4, IY = 8, FY = 3, groups = 2 } }) end)
    assert.has_error(function() a:evaluate({ { C = -3, K = 4, IY = 8 } }) end)
    assert.has_error(function() a:evaluate(chain(), { mode = "sometimes" }) end)
    assert.has_error(function() a:evaluate(chain(), { schedule = "random" }) end)
    assert.has_error(function() a:evaluate(chain(), { tile = { 0, 8 } }) end)
    assert.has_error(function() a:evaluate(chain(), { tile = "8x8" }) end)
    assert.has_error(function() a.evaluate(42, chain()) end)
    assert.has_error(function() hw.coflex_accelerator { pe_x = 65, pe_y = 2, reg_input = 16, reg_weight = 16,
                                                         reg_output = 16, reg_bw = 16 } end)
    assert.has_error(function() hw.coflex_accelerator { pe_x = 8, pe_y = 2, reg_input = 9, reg_weight = 16,
                                                         reg_output = 16, reg_bw = 16 } end)
    assert.has_error(function() hw.coflex_accelerator { pe_x = 8, pe_y = 2, reg_input = 16, reg_weight = 16,
                                                         reg_output = 16, reg_bw = 16, mapping = "x" } end)
    assert.has_error(function() hw.coflex_accelerator() end)
  end)

  it("pg.hw.coflex_space() is the six-parameter space, every sample a valid accelerator", function()
    local pg = require "perigee"
    local s = pg.hw.coflex_space()
    assert.are.equal(6, #s)
    assert.are.equal(64 * 64 * 503 ^ 4, s:size()) -- inclusive integer grids
    local pts = s:sample(20, pg.rng(3))
    for _, x in ipairs(pts) do
      local acc = pg.hw.coflex_accelerator(x)
      assert.truthy(tostring(acc):find("accelerator", 1, true))
    end
  end)
end)
