-- Tesla-NPU-like accelerator (3-D, output stationary: a 32-b output
-- register per PE), layer-by-layer variant.
-- Source: DeFiNES inputs/HW/Tesla_NPU_like.py (research/hardware_models.md
-- section 2). The weights' 1 MB SRAM energy is taken from Meta-prototype's
-- 1 MB SRAM (not in the note) -- edit it here.
-- Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "tesla_npu",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {                   -- K 32 x OX 8 x OY 4
    { name = "D1", size = 32, loop = "K" },
    { name = "D2", size = 8, loop = "OX" },
    { name = "D3", size = 4, loop = "OY" },
  },
  order = { "FX", "FY", "C", "OX", "OY", "B", "K" },
  levels = {
    { name = "w_reg", size = 8, bw = 8, r_energy = 0.01, w_energy = 0.01,
      operands = { "W" }, served = { "D2", "D3" } },
    { name = "o_reg", size = 32, bw = 16, r_energy = 0.022, w_energy = 0.022,
      operands = { "O" }, served = {} },
    { name = "w_sram_1k", size = 1 * KB, bw = 256, r_energy = 4.78, w_energy = 5.59,
      operands = { "W" }, served = "all" },
    { name = "i_sram_1k", size = 1 * KB, bw = 256, r_energy = 4.78, w_energy = 5.59,
      operands = { "I" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
