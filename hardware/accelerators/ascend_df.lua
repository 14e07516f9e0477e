-- Ascend-like accelerator, depth-first variant: inputs and outputs share
-- both the 8 KB and the 256 KB level.
-- Source: DeFiNES inputs/HW/Ascend_like_DF.py (research/hardware_models.md
-- section 2). Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "ascend_df",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {
    { name = "D1", size = 16, loop = "K" },
    { name = "D2", size = 16, loop = "C" },
    { name = "D3", size = 2, loop = "OX" },
    { name = "D4", size = 2, loop = "OY" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 8, bw = 8, r_energy = 0.01, w_energy = 0.01,
      operands = { "W" }, served = { "D3", "D4" } },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.02, w_energy = 0.02,
      operands = { "O" }, served = { "D2" } },
    { name = "w_sram_8k", size = 8 * KB, bw = 2048, r_energy = 50.2, w_energy = 108,
      operands = { "W" }, served = "all" },
    { name = "io_sram_8k", size = 8 * KB, bw = 512, r_energy = 26.6, w_energy = 30.7,
      operands = { "I", "O" }, served = "all" },
    { name = "io_sram_256k", size = 256 * KB, bw = 2048, r_energy = 123.2, w_energy = 212.8,
      operands = { "I", "O" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 4096, r_energy = 465.6, w_energy = 825.6,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 4096, r_energy = 465.6, w_energy = 825.6,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
