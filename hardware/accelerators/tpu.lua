-- TPU-like accelerator (2-D, weight stationary), layer-by-layer variant:
-- weights go from a 128 B per-PE register straight to DRAM.
-- Source: DeFiNES inputs/HW/TPU_like.py (research/hardware_models.md
-- section 2). Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "tpu",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {                   -- K 32 x C 32
    { name = "D1", size = 32, loop = "K" },
    { name = "D2", size = 32, loop = "C" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 128 * 8, bw = 8, r_energy = 0.095, w_energy = 0.095,
      operands = { "W" }, served = {} },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.54, w_energy = 0.6,
      operands = { "O" }, served = { "D2" } },
    { name = "io_sram_2m", size = 2 * MB, bw = 2048, r_energy = 416.2, w_energy = 378.4,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
