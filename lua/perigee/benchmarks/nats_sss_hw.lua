-- nats_sss_hw: the NATS-Bench size space x the six Coflex hardware
-- parameters (Coflex's workload 1, ~9.2e18 points as Coflex counts them).
--
--   error  = an ESTIMATE of 100 - NATS-SSS ImageNet16-120 validation accuracy
--            (90-epoch schedule), in %. NATS-Bench SSS accuracies are not in
--            the project data, so this is NOT NATS-Bench accuracy: it is a
--            linear model in log2 of the five channel counts,
--              err = b0 + sum_i b_i log2(C_i),
--            least-squares fitted to the 400 evaluations Coflex ships
--            (395 architectures; data.md section 8,
--            coflex_observed_sss_imagenet16.csv.gz): R^2 = 0.954, 5-fold
--            cross-validated RMSE 0.90 points (the shipped errors are
--            themselves noisy: one random training seed per query). The
--            coefficients are embedded, so the benchmark needs no data file.
--            perigee's training-free proxies (perigee.proxy) score NATS
--            strings too, but take 0.1-8 s per network here, too slow for
--            thousands of evaluations, and give a score, not an error.
--   edp    = energy-delay product in uJ*s (Coflex's unit, 2.2 GHz) of the
--            NATS-SSS network (CIFAR-100 configuration as Coflex builds it;
--            one consistent input size, option input = 32) on the Coflex
--            Meta-prototype-DF template from perigee's depth-first
--            DeFiNES-style model (perigee.hw.coflex_accelerator).
-- Both minimised; edp in log space (log = true): hypervolumes are in
-- (error %, ln(EDP / uJ*s)) units with reference (100 %, 1e3 uJ*s), worse
-- than every point (the worst corner found, 64-channel network on a 1 x 1
-- array, is below that).
-- Space: C1..C5 in {8, ..., 64} (8^5 = 32,768) x pe_x, pe_y in 1..64 x four
-- register parameters in 10..512: 8.6e18 grid points (Coflex's 9.2e18 =
-- 2^63 counts 512 values per register parameter).
-- Options: {input = 32, mapping = "full" | "coflex",
--           schedule = "depth_first" | "layer_by_layer"}.
local pg = require "perigee"

local CH = { 8, 16, 24, 32, 40, 48, 56, 64 }
-- err = B[1] + sum_i B[i+1] log2(C_i), fitted as described above.
local B = { 111.59233904724, -2.1274387808937, -1.3635160362086, -1.8831184638972, -1.2624238982725,
            -3.3392728993423 }
local ESTIMATOR = "linear model in log2 channels fitted to Coflex's 400 shipped NATS-SSS ImageNet16-120 "
  .. "errors (R^2 0.954, CV RMSE 0.90 points); not NATS-Bench accuracy"

local function estimate_error(c)
  local e = B[1]
  for i = 1, 5 do e = e + B[i + 1] * math.log(c[i], 2) end
  return e
end

return function(opts)
  local input = opts.input or 32
  local mapping = opts.mapping or "full"
  local schedule = opts.schedule or "depth_first"
  local sw_dims = {}
  for i = 1, 5 do sw_dims[i] = pg.ordinal("C" .. i, CH) end
  local hw_dims = {}
  for i, p in ipairs(pg.hw.coflex_parameters) do hw_dims[i] = pg.int(p.name, p.min, p.max) end
  local space = pg.space(sw_dims) * pg.space(hw_dims)
  return {
    name = "nats_sss_hw",
    description = ("NATS size space x Coflex hardware: error = ESTIMATE (%s), EDP [uJ*s] from perigee's %s "
      .. "model (input %d) on the Meta-prototype-DF template; both minimised, HV in (error %%, ln EDP) with "
      .. "reference (100, 1e3 uJ*s)"):format(ESTIMATOR, schedule:gsub("_", "-"), input),
    estimator = ESTIMATOR,
    space = space,
    blocks = { software = space.factors[1], hardware = space.factors[2] },
    objectives = { { name = "error", direction = "min" }, { name = "edp", direction = "min", log = true } },
    reference_point = { 100, 1e3 },
    estimate_error = estimate_error,
    evaluate = function(x)
      local c = { x.C1, x.C2, x.C3, x.C4, x.C5 }
      local a = table.concat(c, ":")
      local L = pg.hw.network.nats_sss(a, { input = input, classes = 100 }):layers()
      local acc_hw = pg.hw.coflex_accelerator { pe_x = x.pe_x, pe_y = x.pe_y, reg_input = x.reg_input,
        reg_weight = x.reg_weight, reg_output = x.reg_output, reg_bw = x.reg_bw, mapping = mapping }
      local r = acc_hw:evaluate(L, { schedule = schedule })
      return { error = estimate_error(c), edp = r.edp, energy_pj = r.energy, cycles = r.cycles }
    end,
  }
end
