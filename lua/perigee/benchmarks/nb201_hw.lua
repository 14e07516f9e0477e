-- nb201_hw: NAS-Bench-201 cells x the six Coflex hardware parameters
-- (software-hardware co-design, two minimised objectives).
--
--   error  = 100 - test accuracy (%) of the cell network, from
--            $PERIGEE_DATA/nb201_acc.csv.gz (NATS-Bench topology results,
--            200-epoch schedule, mean over seeds; data.md section 2):
--            cifar10 -> cifar10_test, cifar100 -> cifar100_xtest,
--            imagenet16 -> imagenet16_xtest (option `dataset`, default cifar10)
--   edp    = energy-delay product in uJ*s (Coflex's unit: E[pJ] * cycles *
--            4.545e-16 at 2.2 GHz) of the NB201 network (C = 16, N = 5,
--            the dataset's input size and classes) on the Coflex
--            Meta-prototype-DF template with the six parameters, from
--            perigee's DeFiNES-style model, depth-first schedule
--            (perigee.hw.coflex_accelerator, hardware/dataflow.c; array
--            mapped K on pe_x, C on pe_y so every PE counts - option
--            mapping = "coflex" gives the public code's clipped mapping).
--   Both minimised; edp is modelled and measured in log space (objective
--   log = true), so hypervolumes are in (error %, ln(EDP / uJ*s)) units.
-- Space: 6 edges x 5 ops (15,625 cells) x 64 x 64 x 503^4 hardware points
-- = 4.1e18. The reference point (100 %, 100 uJ*s) is worse than every
-- point of the space on both objectives (the worst corner found, all-3x3 cells on a 1 x 1 array, gives 70 uJ*s on CIFAR; see
-- docs/coflex.md). Options: {dataset = "cifar10" | "cifar100" | "imagenet16",
-- mapping = "full" | "coflex", schedule = "depth_first" | "layer_by_layer"}.
local pg = require "perigee"
local B = require "perigee.benchmark"

local OPS = { "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" }
local EDGES = { "e1_0", "e2_0", "e2_1", "e3_0", "e3_1", "e3_2" }
local DATASETS = {
  cifar10 = { column = "cifar10_test", input = 32, classes = 10, label = "CIFAR-10 test" },
  cifar100 = { column = "cifar100_xtest", input = 32, classes = 100, label = "CIFAR-100 x-test" },
  imagenet16 = { column = "imagenet16_xtest", input = 16, classes = 120, label = "ImageNet16-120 x-test" },
}
local DATA_FILE = "nb201_acc.csv.gz"
local DOWNLOAD = "nb201_acc.csv.gz is the project's NAS-Bench-201 accuracy table (15,625 rows: arch_index, arch_str, "
  .. "cifar10_test, cifar100_xtest, imagenet16_xtest, ...; built from NATS-Bench topology results via FreeREA's "
  .. "cached metrics, see shared/research/data.md section 2); copy it into the folder $PERIGEE_DATA points to"

-- Accuracy tables are read once per process and dataset.
local acc_cache = {}
local function accuracies(path, column)
  local key = path .. "|" .. column
  if acc_cache[key] then return acc_cache[key] end
  local text = pg.proxy.read_gz(path)
  local header, col = nil, nil
  local acc = {}
  for line in text:gmatch("[^\n]+") do
    if not header then
      header = {}
      local i = 0
      for f in line:gmatch("[^,]+") do
        i = i + 1
        header[f] = i
      end
      col = header[column]
      if not header.arch_str or not col then
        error(("nb201_hw: %s has no arch_str or %s column"):format(path, column), 0)
      end
    else
      -- split only up to the last column needed (the table has 16)
      local fields, i, last = {}, 0, math.max(col, header.arch_str)
      for f in (line .. ","):gmatch("([^,]*),") do
        i = i + 1
        fields[i] = f
        if i == last then break end
      end
      acc[fields[header.arch_str]] = tonumber(fields[col])
    end
  end
  acc_cache[key] = acc
  return acc
end

--- The NB201 arch string of a point (edge e<i>_<j>: node i's input from node j).
local function arch_string(x)
  return ("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|"):format(x.e1_0, x.e2_0, x.e2_1, x.e3_0, x.e3_1, x.e3_2)
end

return function(opts)
  local dataset = opts.dataset or "cifar10"
  local ds = DATASETS[dataset]
  assert(ds, "nb201_hw: dataset must be cifar10, cifar100 or imagenet16")
  local mapping = opts.mapping or "full"
  local schedule = opts.schedule or "depth_first"
  local sw_dims = {}
  for i, e in ipairs(EDGES) do sw_dims[i] = pg.choice(e, OPS) end
  local hw_dims = {}
  for i, p in ipairs(pg.hw.coflex_parameters) do hw_dims[i] = pg.int(p.name, p.min, p.max) end
  local space = pg.space(sw_dims) * pg.space(hw_dims)
  local path -- resolved lazily: normalize() checks the file exists first
  return {
    name = "nb201_hw",
    description = ("NAS-Bench-201 cells x Coflex hardware: error = 100 - %s accuracy (%s), EDP [uJ*s] from "
      .. "perigee's %s model of the cell network on the Meta-prototype-DF template; both minimised, "
      .. "HV in (error %%, ln EDP) with reference (100, 100 uJ*s)"):format(ds.label, DATA_FILE, schedule:gsub("_", "-")),
    space = space,
    blocks = { software = EDGES, hardware = space.factors[2] },
    objectives = { { name = "error", direction = "min" }, { name = "edp", direction = "min", log = true } },
    reference_point = { 100, 100 },
    data = { { file = DATA_FILE, download = DOWNLOAD } },
    arch_string = arch_string,
    evaluate = function(x)
      path = path or B.data_file(DATA_FILE, DOWNLOAD, "nb201_hw")
      local a = arch_string(x)
      local acc = accuracies(path, ds.column)[a]
      if not acc then error("nb201_hw: no accuracy for " .. a, 0) end
      -- built per call (0.1 ms): caching the layer tables of thousands of
      -- cells would hold hundreds of MB
      local L = pg.hw.network.nb201(a, { C = 16, N = 5, input = ds.input, classes = ds.classes }):layers()
      local acc_hw = pg.hw.coflex_accelerator { pe_x = x.pe_x, pe_y = x.pe_y, reg_input = x.reg_input,
        reg_weight = x.reg_weight, reg_output = x.reg_output, reg_bw = x.reg_bw, mapping = mapping }
      local r = acc_hw:evaluate(L, { schedule = schedule })
      return { error = 100 - acc, edp = r.edp, energy_pj = r.energy, cycles = r.cycles }
    end,
  }
end
