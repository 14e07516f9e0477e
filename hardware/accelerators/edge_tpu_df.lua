-- Edge-TPU-like accelerator, depth-first variant.
-- Source: DeFiNES inputs/HW/Edge_TPU_like_DF.py (research/hardware_models.md
-- section 2). The 1 MB SRAMs' energies are not in the note: they are taken
-- from Meta-prototype's 1 MB SRAM (1024 b, 208.1 / 189.2 pJ) -- edit them here.
-- Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "edge_tpu_df",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {
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
    { name = "w_sram_16k", size = 16 * KB, bw = 512, r_energy = 19.4, w_energy = 33.9,
      operands = { "W" }, served = "all" },
    { name = "io_sram_16k", size = 16 * KB, bw = 2048, r_energy = 27.2, w_energy = 40.3,
      operands = { "I", "O" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
