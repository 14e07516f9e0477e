-- Meta-prototype-like accelerator, layer-by-layer variant.
-- Source: DeFiNES inputs/HW/Meta_prototype.py (research/hardware_models.md
-- section 2). Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "meta_prototype",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {
    { name = "D1", size = 32, loop = "K" },
    { name = "D2", size = 2, loop = "C" },
    { name = "D3", size = 4, loop = "OX" },
    { name = "D4", size = 4, loop = "OY" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 8, bw = 8, r_energy = 0.01, w_energy = 0.01,
      operands = { "W" }, served = { "D3", "D4" } },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.02, w_energy = 0.02,
      operands = { "O" }, served = { "D2" } },
    { name = "i_sram_32k", size = 32 * KB, bw = 256, r_energy = 13.28, w_energy = 15.4,
      operands = { "I" }, served = "all" },
    { name = "w_sram_64k", size = 64 * KB, bw = 512, r_energy = 26.56, w_energy = 30.8,
      operands = { "W" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
