-- TPU-like accelerator (2-D, weight stationary), depth-first variant.
-- Source: DeFiNES inputs/HW/TPU_like_DF.py (research/hardware_models.md
-- section 2). The 1 MB SRAMs' energies are not in the note: they are taken
-- from Meta-prototype's 1 MB SRAM (1024 b, 208.1 / 189.2 pJ) -- edit them here.
-- Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "tpu_df",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {
    { name = "D1", size = 32, loop = "K" },
    { name = "D2", size = 32, loop = "C" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 64 * 8, bw = 8, r_energy = 0.053, w_energy = 0.053,
      operands = { "W" }, served = {} },
    { name = "o_reg", size = 16, bw = 16, r_energy = 0.54, w_energy = 0.6,
      operands = { "O" }, served = { "D2" } },
    { name = "io_sram_64k", size = 64 * KB, bw = 2048, r_energy = 37.0, w_energy = 94.9,
      operands = { "I", "O" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
