-- Meta-prototype-like accelerator, depth-first variant.
-- Source: DeFiNES (KULeuven-MICAS/DeFiNES) inputs/HW/Meta_prototype_DF.py;
-- values from research/hardware_models.md section 2. Copy this file, edit a
-- size or an energy, and load it with perigee.hw.accelerator "<file name>"
-- (PERIGEE_HW_DIR selects the directory) -- no rebuild needed.
--
-- Units: sizes in bits, bandwidths (word widths) in bits/cycle, energies in
-- pJ per access of one full-width word, MAC energy in pJ. Levels are listed
-- bottom-up (PE side first); the last one is DRAM. `served` lists the array
-- dimensions one instance of the level is shared across ("all": one
-- instance for the whole array).
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "meta_prototype_df",
  mac_energy = 0.04,          -- pJ per 8b x 8b MAC
  psum_bits = 16,             -- partial sums; final outputs at the layer's precision (8)
  clock_hz = 2.2e9,           -- Coflex's EDP clock
  array = {                   -- 1024 MACs: K 32 x C 2 x OX 4 x OY 4
    { name = "D1", size = 32, loop = "K" },
    { name = "D2", size = 2, loop = "C" },
    { name = "D3", size = 4, loop = "OX" },
    { name = "D4", size = 4, loop = "OY" },
  },
  -- fixed temporal order, innermost first (output stationary inside the
  -- registers, weights stationary above them; see docs/dataflow.md)
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 8, bw = 8, r_energy = 0.01, w_energy = 0.01,
      operands = { "W" }, served = { "D3", "D4" } },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.02, w_energy = 0.02,
      operands = { "O" }, served = { "D2" } },
    { name = "w_sram_32k", size = 32 * KB, bw = 512, r_energy = 17.2, w_energy = 28.4,
      operands = { "W" }, served = "all" },
    { name = "io_sram_64k", size = 64 * KB, bw = 512, r_energy = 26.56, w_energy = 30.8,
      operands = { "I", "O" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
