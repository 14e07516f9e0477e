-- Edge-TPU-like accelerator, layer-by-layer variant.
-- Source: DeFiNES inputs/HW/Edge_TPU_like.py (research/hardware_models.md
-- section 2). Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "edge_tpu",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {                   -- K 8 x C 8 x OX 4 x OY 4
    { name = "D1", size = 8, loop = "K" },
    { name = "D2", size = 8, loop = "C" },
    { name = "D3", size = 4, loop = "OX" },
    { name = "D4", size = 4, loop = "OY" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 8, bw = 8, r_energy = 0.01, w_energy = 0.01,
      operands = { "W" }, served = { "D3", "D4" } },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.02, w_energy = 0.02,
      operands = { "O" }, served = { "D2" } },
    { name = "w_sram_32k", size = 32 * KB, bw = 512, r_energy = 22.9, w_energy = 52.0,
      operands = { "W" }, served = "all" },
    { name = "io_sram_2m", size = 2 * MB, bw = 2048, r_energy = 416.2, w_energy = 378.4,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
