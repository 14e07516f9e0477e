-- Edge-like target for HSCoNAS (the role of the paper's Nvidia Jetson Xavier
-- in power mode 6, batch 16). The whole network runs on the DeFiNES-style
-- dataflow model (perigee.hw.accelerator, hardware/accelerators/
-- edge_tpu_df.lua) scheduled layer by layer with one stack per layer
-- (fuse = false: every kernel reads its input from and writes its output to
-- DRAM, as a GPU-style runtime does; with fusing, the model keeps fused
-- blocks' maps on chip and its bandwidth stalls change with the neighbours,
-- a non-additivity of about 10 % RMSE that the bias cannot correct).
-- Plus a launch overhead per layer and the inter-block spill term of gpu.lua
-- with the edge device's cache and LPDDR bandwidth.
return {
  name = "edge",
  description = "edge-like: Edge-TPU-like dataflow accelerator (layer by layer), batch 16",
  batch = 16,
  engine = "dataflow",
  accelerator = "edge_tpu_df",
  schedule = "layer_by_layer",
  fuse = false,
  clock_hz = 2.2e9,          -- the accelerator description's clock
  launch_us = 20,            -- per mapped layer (kernel launch on a small GPU)
  act_bytes = 1,             -- int8
  cache_kb = 512,
  dram_gbs = 60,             -- LPDDR4x share
  paper = { device = "Nvidia Jetson Xavier (power mode 6)", batch = 16, target_ms = 34,
            shufflenet_ms = 65.9, rmse_ms = 1.7 },
}
