-- nats_sss_hw: the NATS-Bench size space x the six Coflex hardware
-- parameters (Coflex's workload 1, ~9.2e18 points as Coflex counts them).
--
--   error  = an ESTIMATE of 100 - NATS-SSS ImageNet16-120 validation accuracy
--            (90-epoch schedule), in %. NATS-Bench SSS accuracies are not in
--            the project data, so this is NOT NATS-Bench accuracy. Two
--            estimators (option estimator):
--   "proxy" (default): the training-free combined proxy score of the
--            network (perigee.proxy; docs/proxies.md), NASWOT + LogSynflow
--            (SkipScore is the same for every network of the size space, the
--            cell is fixed), each min-max normalised with the smallest and
--            the largest network of the space as anchors (8:8:8:8:8 -> 0,
--            64:64:64:64:64 -> 1; no whole-space table is needed), averaged:
--              s = (nNASWOT + nLogSynflow) / 2,
--            then mapped to error % by a monotone (decreasing) linear
--            calibration err = A + B s least-squares fitted to the 400
--            evaluations Coflex ships (data.md section 8,
--            coflex_observed_sss_imagenet16.csv.gz). The calibration only
--            sets the scale: every ranking is the proxy's. Networks are
--            scored as ImageNet16-120 networks (16 x 16 inputs, 120 classes),
--            NASWOT on a Fashion-MNIST batch of proxy_batch = 16 images,
--            single-precision convolutions, seed 0; scores are computed on
--            demand and cached on disk (perigee.proxy_cache), about 0.05 s
--            of CPU per new network. Against the 400 shipped errors:
--            Spearman 0.745, Kendall 0.557 (bench/nats_proxy_corr.lua).
--   "linear": a linear model in log2 of the five channel counts,
--              err = b0 + sum_i b_i log2(C_i),
--            least-squares fitted to the same 400 evaluations
--            (395 architectures): R^2 = 0.954, 5-fold
--            cross-validated RMSE 0.90 points (the shipped errors are
--            themselves noisy: one random training seed per query). The
--            coefficients are embedded, so it needs no data file.
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
-- Options: {estimator = "proxy" | "linear", proxy_batch = 16,
--           input = 32, mapping = "full" | "coflex",
--           schedule = "depth_first" | "layer_by_layer"}.
local pg = require "perigee"

local CH = { 8, 16, 24, 32, 40, 48, 56, 64 }
-- err = B[1] + sum_i B[i+1] log2(C_i), fitted as described above.
local B = { 111.59233904724, -2.1274387808937, -1.3635160362086, -1.8831184638972, -1.2624238982725,
            -3.3392728993423 }
local LINEAR = "linear model in log2 channels fitted to Coflex's 400 shipped NATS-SSS ImageNet16-120 "
  .. "errors (R^2 0.954, CV RMSE 0.90 points); not NATS-Bench accuracy"

local function linear_error(c)
  local e = B[1]
  for i = 1, 5 do e = e + B[i + 1] * math.log(c[i], 2) end
  return e
end

-- err = CAL[1] + CAL[2] s, s the anchored combined score (proxy_batch 16).
local CAL = { 73.454190, -20.500091 }
local LO, HI = "8:8:8:8:8", "64:64:64:64:64"

-- The proxy estimator: returns error(c), the per-network record function.
local function proxy_estimator(batch)
  local cache = pg.proxy_cache
  local popts = { side = 16, classes = 120, batch = batch, seed = 0, data_seed = 3, input = "fmnist",
                  precision = "single" }
  local lo, hi
  local function score(a)
    if not lo then
      lo = cache.scores(LO, popts, "nats_sss")
      hi = cache.scores(HI, popts, "nats_sss")
    end
    local r = cache.scores(a, popts, "nats_sss")
    local nw = 0 -- a singular NASWOT kernel counts as the worst (the lower anchor)
    if r.naswot > -math.huge and r.naswot == r.naswot then
      nw = (r.naswot - lo.naswot) / (hi.naswot - lo.naswot)
    end
    local ls = (r.logsynflow - lo.logsynflow) / (hi.logsynflow - lo.logsynflow)
    return (nw + ls) / 2, r
  end
  local function err(c)
    local s = score(table.concat(c, ":"))
    return CAL[1] + CAL[2] * s, s
  end
  return err, popts
end

return function(opts)
  local input = opts.input or 32
  local mapping = opts.mapping or "full"
  local schedule = opts.schedule or "depth_first"
  local estimator = opts.estimator or "proxy"
  if estimator ~= "proxy" and estimator ~= "linear" then
    error("nats_sss_hw: option estimator must be \"proxy\" or \"linear\", not " .. tostring(estimator), 0)
  end
  local batch = opts.proxy_batch or 16
  if math.type(batch) ~= "integer" or batch < 2 or batch > 1024 then
    error("nats_sss_hw: option proxy_batch must be an integer in 2..1024", 0)
  end
  local ESTIMATOR, estimate_error, proxy_opts = LINEAR, linear_error, nil
  if estimator == "proxy" then
    estimate_error, proxy_opts = proxy_estimator(batch)
    ESTIMATOR = ("training-free combined proxy score (NASWOT + LogSynflow, min-max normalised between the "
      .. "8:8:8:8:8 and 64:64:64:64:64 networks, averaged) as an ImageNet16-120 network (16x16, NASWOT on %d "
      .. "Fashion-MNIST images), mapped to error %% by a decreasing linear calibration err = %.2f %+.2f s fitted "
      .. "to Coflex's 400 shipped NATS-SSS ImageNet16-120 errors (rank correlation with them at batch 16: Spearman 0.745, "
      .. "Kendall 0.557); computed on demand, cached in %s; "
      .. "not NATS-Bench accuracy"):format(batch, CAL[1], CAL[2], pg.proxy_cache.dir())
  end
  local sw_dims = {}
  for i = 1, 5 do sw_dims[i] = pg.ordinal("C" .. i, CH) end
  local hw_dims = {}
  for i, p in ipairs(pg.hw.coflex_parameters) do hw_dims[i] = pg.int(p.name, p.min, p.max) end
  local space = pg.space(sw_dims) * pg.space(hw_dims)
  return {
    name = "nats_sss_hw",
    description = ("NATS size space x Coflex hardware: error = ESTIMATE, estimator %q: %s; EDP [uJ*s] from "
      .. "perigee's %s model (input %d) on the Meta-prototype-DF template; both minimised, HV in (error %%, ln EDP) "
      .. "with reference (100, 1e3 uJ*s)"):format(estimator, ESTIMATOR, schedule:gsub("_", "-"), input),
    estimator = estimator,
    estimator_description = ESTIMATOR,
    proxy_options = proxy_opts,
    space = space,
    blocks = { software = space.factors[1], hardware = space.factors[2] },
    objectives = { { name = "error", direction = "min" }, { name = "edp", direction = "min", log = true } },
    reference_point = { 100, 1e3 },
    estimate_error = function(c) return (estimate_error(c)) end,
    evaluate = function(x)
      local c = { x.C1, x.C2, x.C3, x.C4, x.C5 }
      local a = table.concat(c, ":")
      local L = pg.hw.network.nats_sss(a, { input = input, classes = 100 }):layers()
      local acc_hw = pg.hw.coflex_accelerator { pe_x = x.pe_x, pe_y = x.pe_y, reg_input = x.reg_input,
        reg_weight = x.reg_weight, reg_output = x.reg_output, reg_bw = x.reg_bw, mapping = mapping }
      local r = acc_hw:evaluate(L, { schedule = schedule })
      local e, s = estimate_error(c)
      return { error = e, edp = r.edp, energy_pj = r.energy, cycles = r.cycles, proxy_score = s }
    end,
  }
end
