-- Tesla-NPU-like accelerator, depth-first variant: 128 KB SRAMs for weights
-- and for inputs/outputs, an 896 KB shared SRAM above (its "64KB" instances
-- have a 128 KB size field, used here).
-- Source: DeFiNES inputs/HW/Tesla_NPU_like_DF.py (research/hardware_models.md
-- section 2). The weights' 1 MB SRAM energy is taken from Meta-prototype's
-- 1 MB SRAM (not in the note) -- edit it here.
-- Units and conventions: see meta_prototype_df.lua.
local KB, MB = 8 * 1024, 8 * 1024 * 1024
return {
  name = "tesla_npu_df",
  mac_energy = 0.04,
  psum_bits = 16,
  clock_hz = 2.2e9,
  array = {
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
    { name = "w_sram_128k", size = 128 * KB, bw = 1024, r_energy = 34.4, w_energy = 56.6,
      operands = { "W" }, served = "all" },
    { name = "io_sram_128k", size = 128 * KB, bw = 1024, r_energy = 34.4, w_energy = 56.6,
      operands = { "I", "O" }, served = "all" },
    { name = "w_sram_1m", size = 1 * MB, bw = 1024, r_energy = 208.1, w_energy = 189.2,
      operands = { "W" }, served = "all" },
    { name = "io_sram_896k", size = 896 * KB, bw = 896, r_energy = 182.1, w_energy = 189.2,
      operands = { "I", "O" }, served = "all" },
    { name = "dram", bw = 64, r_energy = 700, w_energy = 750,
      operands = { "I", "W", "O" }, served = "all" },
  },
}
