-- accel_dse: design-space exploration of the Coflex accelerator template for
-- a fixed network, on perigee's own DeFiNES-style dataflow model
-- (hardware/dataflow.c, perigee.hw.coflex_accelerator; research/coflex.md 2.2).
-- Needs no data.
--
-- Space: the six Coflex hardware parameters, inclusive integer grids
--   pe_x, pe_y in 1..64 (MAC array), reg_input, reg_weight, reg_output in
--   10..512 bits (per-PE registers), reg_bw in 10..512 bits/cycle.
-- Network (fixed): a 7-layer CIFAR-size CNN, 32x32x3 input:
--   conv3x3 3->16, conv3x3/2 16->32, conv3x3 32->32, conv3x3/2 32->64,
--   conv3x3 64->64, global 8x8 pool, fc 64->10 (8-bit operands).
-- Objectives, all minimised and modelled on a log scale:
--   latency_ms = cycles / clock_hz * 1e3 (clock of the template, 2.2 GHz)
--   energy_uj  = model energy (pJ) * 1e-6
--   area_mm2   = a documented first-order area model (not calibrated; for
--                trade-off studies only):
--       area = n_pe * (A_mac + A_bit * (reg_input + reg_weight + reg_output)
--                      + A_port * reg_bw) * 1e-6 mm^2
--       A_mac = 600 um^2 (one 8-bit MAC), A_bit = 5 um^2 (one register bit,
--       flip-flop), A_port = 2 um^2 (one bit of register port width); the
--       fixed SRAM/DRAM hierarchy is the same for every design and left out.
-- Options: {mapping = "full" | "coflex", schedule = "depth_first" | "layer_by_layer"}.
local pg = require "perigee"

local A_MAC, A_BIT, A_PORT = 600, 5, 2

local NET = {
  { name = "conv1", C = 3, K = 16, IY = 32, FY = 3, FX = 3, PY = 1, PX = 1 },
  { name = "conv2", C = 16, K = 32, IY = 32, FY = 3, FX = 3, PY = 1, PX = 1, SY = 2, SX = 2 },
  { name = "conv3", C = 32, K = 32, IY = 16, FY = 3, FX = 3, PY = 1, PX = 1 },
  { name = "conv4", C = 32, K = 64, IY = 16, FY = 3, FX = 3, PY = 1, PX = 1, SY = 2, SX = 2 },
  { name = "conv5", C = 64, K = 64, IY = 8, FY = 3, FX = 3, PY = 1, PX = 1 },
  { name = "pool", kind = "pool", C = 64, IY = 8, FY = 8, FX = 8, SY = 8, SX = 8 },
  { name = "fc", kind = "fc", C = 64, K = 10, OY = 1, OX = 1 },
}

local function area_mm2(x)
  local n_pe = x.pe_x * x.pe_y
  return n_pe * (A_MAC + A_BIT * (x.reg_input + x.reg_weight + x.reg_output) + A_PORT * x.reg_bw) * 1e-6
end

return function(opts)
  if not (pg.hw and pg.hw.coflex_accelerator) then
    error("accel_dse needs the dataflow cost model (perigee.hw), which this build lacks", 0)
  end
  local eval_opts = opts.schedule and { schedule = opts.schedule } or nil
  return {
    name = "accel_dse",
    description = "Coflex accelerator DSE for a fixed 7-layer CNN: latency, energy, area (dataflow model, no data)",
    space = pg.space {
      pg.int("pe_x", 1, 64), pg.int("pe_y", 1, 64),
      pg.int("reg_input", 10, 512), pg.int("reg_weight", 10, 512), pg.int("reg_output", 10, 512),
      pg.int("reg_bw", 10, 512),
    },
    objectives = {
      { name = "latency_ms", log = true }, { name = "energy_uj", log = true }, { name = "area_mm2", log = true },
    },
    reference_point = { 5, 40, 50 },
    network = NET,
    area_mm2 = area_mm2,
    evaluate = function(x)
      local acc = pg.hw.coflex_accelerator {
        pe_x = x.pe_x, pe_y = x.pe_y, reg_input = x.reg_input, reg_weight = x.reg_weight,
        reg_output = x.reg_output, reg_bw = x.reg_bw, mapping = opts.mapping,
      }
      local r = acc:evaluate(NET, eval_opts)
      return { latency_ms = r.cycles / acc:describe().clock_hz * 1e3, energy_uj = r.energy * 1e-6,
               area_mm2 = area_mm2(x) }
    end,
  }
end
