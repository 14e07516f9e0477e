-- CPU-like target for HSCoNAS (the role of the paper's Intel Xeon Gold 6136,
-- batch 1). Four cores, each a 16x16 output-stationary array (a wide SIMD
-- FMA unit); small per-operator dispatch overhead; an L3 share in front of
-- DRAM.
-- See gpu.lua for the meaning of the fields and docs/hsconas.md.
return {
  name = "cpu",
  description = "CPU-like: 4 units of 16x16 os systolic arrays, batch 1",
  batch = 1,
  engine = "systolic",
  clock_hz = 3.0e9,
  array = { rows = 16, cols = 16, dataflow = "os", units = 4 },
  launch_us = 1.5,           -- operator dispatch per mapped layer
  act_bytes = 4,             -- fp32
  cache_kb = 3072,           -- L2 + a share of L3
  dram_gbs = 40,             -- the cores' share of memory bandwidth
  paper = { device = "Intel Xeon Gold 6136", batch = 1, target_ms = 24, shufflenet_ms = 34.3,
            rmse_ms = 0.1 },
}
