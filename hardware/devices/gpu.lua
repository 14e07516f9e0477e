-- GPU-like target for HSCoNAS (the role of the paper's Nvidia Quadro GV100,
-- batch 32). A device description for perigee.hsconas (docs/hsconas.md).
-- `units` output-stationary systolic arrays (perigee.hw.systolic, the
-- Scale-Sim model; one per streaming multiprocessor): a layer's work items
-- (groups x row folds x column folds) are spread over the units.
-- Every mapped layer pays a launch overhead; the inter-block term models
-- activations that spill from the on-chip cache to DRAM between neighbouring
-- blocks (the non-additive part the bias B of Eq. 3 corrects on average).
return {
  name = "gpu",
  description = "GPU-like: 80 units of 16x16 os systolic arrays, batch 32",
  batch = 32,
  engine = "systolic",
  clock_hz = 1.5e9,
  array = { rows = 16, cols = 16, dataflow = "os", units = 80 },
  launch_us = 4,             -- kernel launch per mapped layer
  act_bytes = 2,             -- fp16 activations and weights
  cache_kb = 6144,           -- L2
  dram_gbs = 870,            -- HBM2
  paper = { device = "Nvidia Quadro GV100", batch = 32, target_ms = 9, shufflenet_ms = 10.5,
            rmse_ms = 0.5 },
}
