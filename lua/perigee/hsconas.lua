--- perigee.hsconas: HSCoNAS (Luo, Liu, Huai, Liu, "HSCoNAS: Hardware-Software
-- Co-Design of Efficient DNNs via Neural Architecture Search", DATE 2021) on
-- perigee's hardware models. Method and our choices: docs/hsconas.md; the
-- reconstructed search space: research/hsconas.md part B.
--
--   local H = require "perigee.hsconas"
--   local sp = H.space {}                             -- 20 x (operator, channel factor)
--   print(sp:size())                                  -- 4^4 * 5^16 * 10^20 = 3.9e33
--   local dev = H.device "gpu"                        -- hardware/devices/gpu.lua
--   local lut = H.lut(dev, "A")                       -- per (layer, op, factor) latency, ms
--   local cal = H.calibrate(lut, dev, H.sample(sp, 100, pg.rng(1)))  -- bias B (Eq. 3)
--   local prob = H.problem { lut = lut, bias = cal.bias, target = 5.0, beta = -20 }
--   local res = H.evolve(prob, sp, pg.rng(2))         -- 20 generations x 50 (SPOS-style EA)
--   local shr = H.shrink(prob, sp, pg.rng(3))         -- progressive space shrinking
--
-- An architecture is { op = {20 indices into H.OPS}, f = {20 indices into
-- H.FACTORS} }. Everything stochastic takes a perigee rng.
local pg = require "perigee"

local H = {}

H.OPS = { "3x3", "5x5", "7x7", "xception", "skip" }
H.SKIP = 5
H.FACTORS = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 }
H.L = 20
H.STRIDE2 = { [1] = true, [5] = true, [9] = true, [17] = true }
H.LAYOUTS = { A = { 48, 128, 256, 512 }, B = { 68, 168, 336, 672 } }

local function layout_of(layout)
  if type(layout) == "table" then return layout end
  local c = H.LAYOUTS[layout or "A"]
  if not c then error(("unknown layout '%s' (A or B, or a table of 4 widths)"):format(tostring(layout)), 3) end
  return c
end

-- ---------------------------------------------------------------------
-- search space
-- ---------------------------------------------------------------------

--- H.allowed_ops(l) -> list of operator indices legal at layer l (skip only
-- where the stride is 1: research/hsconas.md B2).
function H.allowed_ops(l)
  local t = {}
  for o = 1, #H.OPS do
    if not (o == H.SKIP and H.STRIDE2[l]) then t[#t + 1] = o end
  end
  return t
end

--- H.space{channel_scaling = true, fixed_ops = {[l] = op index or name}}
-- -> a perigee space with dimensions op1..op20 (pg.choice, or pg.fixed where
-- the operator is fixed) and c1..c20 (pg.ordinal over H.FACTORS, or
-- pg.fixed 1.0 without channel scaling). The space also carries `hs`, the
-- per-layer lists of legal operator and factor indices.
function H.space(opts)
  opts = opts or {}
  local scaling = opts.channel_scaling ~= false
  local fixed = {}
  for l, v in pairs(opts.fixed_ops or {}) do
    local idx = v
    if type(v) == "string" then
      for o, n in ipairs(H.OPS) do if n == v then idx = o end end
    end
    if type(idx) ~= "number" or not H.OPS[idx] or (idx == H.SKIP and H.STRIDE2[l]) then
      error(("bad fixed operator %s at layer %s"):format(tostring(v), tostring(l)), 2)
    end
    fixed[l] = idx
  end
  local dims, hs = {}, { ops = {}, factors = {}, fixed = fixed, channel_scaling = scaling }
  for l = 1, H.L do
    if fixed[l] then
      dims[#dims + 1] = pg.fixed("op" .. l, H.OPS[fixed[l]])
      hs.ops[l] = { fixed[l] }
    else
      local names = {}
      hs.ops[l] = H.allowed_ops(l)
      for i, o in ipairs(hs.ops[l]) do names[i] = H.OPS[o] end
      dims[#dims + 1] = pg.choice("op" .. l, names)
    end
  end
  for l = 1, H.L do
    if scaling then
      dims[#dims + 1] = pg.ordinal("c" .. l, H.FACTORS)
      hs.factors[l] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }
    else
      dims[#dims + 1] = pg.fixed("c" .. l, 1.0)
      hs.factors[l] = { 10 }
    end
  end
  local sp = pg.space(dims)
  sp.hs = hs
  return sp
end

--- H.paper_size() -> 50^20 = 9.54e33, the paper's |A| (5 operators x 10
-- factors at every layer, skip counted at stride-2 layers too).
function H.paper_size() return 50.0 ^ 20 end

--- H.decode(space, X) -> list of architectures from a native matrix of the
-- space (choice: 0-based level, fixed: 0).
function H.decode(sp, X)
  local n = #X
  local out = {}
  local hs = sp.hs
  for i = 1, n do
    local row = X[i]
    local a = { op = {}, f = {} }
    for l = 1, H.L do
      local ol = hs.ops[l]
      a.op[l] = #ol == 1 and ol[1] or ol[math.tointeger(row[l]) + 1]
      local fl = hs.factors[l]
      a.f[l] = #fl == 1 and fl[1] or fl[math.tointeger(row[H.L + l]) + 1]
    end
    out[i] = a
  end
  return out
end

--- H.sample(space, n, rng) -> n architectures drawn uniformly from the space
-- (perigee's C sampler).
function H.sample(sp, n, rng)
  if n <= 0 then return {} end
  return H.decode(sp, sp:sample_matrix(n, rng))
end

--- H.contains(space, arch) -> true when every gene is legal in the space.
function H.contains(sp, a)
  for l = 1, H.L do
    local okop, okf = false, false
    for _, o in ipairs(sp.hs.ops[l]) do if o == a.op[l] then okop = true end end
    for _, f in ipairs(sp.hs.factors[l]) do if f == a.f[l] then okf = true end end
    if not (okop and okf) then return false end
  end
  return true
end

--- H.key(arch) -> a string key (for de-duplication).
function H.key(a)
  local t = {}
  for l = 1, H.L do t[l] = string.char(47 + a.op[l], 47 + a.f[l]) end
  return table.concat(t)
end

--- H.format(arch) -> "3x3/0.5 skip 7x7/1.0 ..." (skip shows no factor).
function H.format(a)
  local t = {}
  for l = 1, H.L do
    t[l] = a.op[l] == H.SKIP and "skip" or ("%s/%.1f"):format(H.OPS[a.op[l]], H.FACTORS[a.f[l]])
  end
  return table.concat(t, " ")
end

local function copy_arch(a)
  local b = { op = {}, f = {} }
  for l = 1, H.L do b.op[l], b.f[l] = a.op[l], a.f[l] end
  return b
end
H.copy = copy_arch

--- H.network(arch, layout) -> the perigee.hw network (hw.network.shufflenet_spos).
function H.network(a, layout)
  local ops, fs = {}, {}
  for l = 1, H.L do ops[l], fs[l] = H.OPS[a.op[l]], H.FACTORS[a.f[l]] end
  return pg.hw.network.shufflenet_spos { channels = layout_of(layout), ops = ops, factors = fs,
                                         last = 1280, classes = 1000, input = 224 }
end

-- ---------------------------------------------------------------------
-- devices
-- ---------------------------------------------------------------------

local function readable(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function devices_dir()
  local env = os.getenv("PERIGEE_DEVICES_DIR")
  if env and env ~= "" then return env end
  local here = package.searchpath("perigee.hsconas", package.path)
  if here then
    local root = here:gsub("[/\\]?lua[/\\]perigee[/\\]hsconas%.lua$", "")
    if root == "" then root = "." end
    local d = root .. "/hardware/devices"
    if readable(d .. "/gpu.lua") then return d end
  end
  for _, d in ipairs { "/usr/local/share/perigee/devices", "/usr/share/perigee/devices" } do
    if readable(d .. "/gpu.lua") then return d end
  end
  return "hardware/devices"
end

--- H.devices_dir() -> the directory holding the device descriptions.
H.devices_dir = devices_dir

--- H.device(name | table) -> a device description (hardware/devices/NAME.lua)
-- completed with its cost engines (see docs/hsconas.md section 2).
function H.device(d)
  if type(d) == "string" then
    local path = devices_dir() .. "/" .. d .. ".lua"
    local chunk, err = loadfile(path)
    if not chunk then error(("device '%s': %s"):format(d, err), 2) end
    d = chunk()
  end
  if type(d) ~= "table" or not d.name then error("bad device description", 2) end
  local dev = {}
  for k, v in pairs(d) do dev[k] = v end
  if dev.engine == "systolic" then
    local c = dev.array
    dev._array = pg.hw.systolic { rows = c.rows, cols = c.cols, dataflow = c.dataflow,
                                  clock_hz = dev.clock_hz, word_bytes = dev.act_bytes,
                                  mode = "analytical" }
  elseif dev.engine == "dataflow" then
    dev._acc = pg.hw.accelerator(dev.accelerator)
  else
    error(("device '%s': engine must be 'systolic' or 'dataflow'"):format(dev.name), 2)
  end
  return dev
end

-- Layer tables of a network with the device's batch (net:layers() fields,
-- which hw.network.from_layers and acc:evaluate both accept after renaming).
local function batched_tables(net, batch)
  local L = net:layers()
  local T = {}
  for i, l in ipairs(L) do
    T[i] = { name = l.name, kind = l.kind, B = batch, C = l.C, K = l.K, H = l.IY, W = l.IX,
             FY = l.FY, FX = l.FX, stride = l.SY, SY = l.SY, SX = l.SX, pad = l.PY, PY = l.PY,
             PX = l.PX, groups = l.groups, input = l.input, input2 = l.input2, bias = l.bias,
             bn = l.bn, IY = l.IY, IX = l.IX, OY = l.OY, OX = l.OX,
             -- for the inter-block term (per batch element, words)
             _in = l.C * l.IY * l.IX, _out = l.K * l.OY * l.OX,
             _w = (l.kind == "pool" or l.kind == "add") and 0 or l.K * (l.C // l.groups) * l.FY * l.FX,
             _block = tonumber(l.name:match("^L(%d+)%.")) }
  end
  return T
end

-- Latency (seconds, launch overhead excluded) of layer tables on the device:
-- the device's engine on the whole list. Returns the total and, for
-- systolic devices, the per-layer list (whose sum is the total). The
-- dataflow model's total also holds feature-map copies and first fills that
-- are not attributed to layers, so only its total is used.
local function layer_seconds(dev, T)
  local n = #T
  local s = {}
  if dev.engine == "systolic" then
    -- `units` identical arrays; a layer's work items (groups x row folds x
    -- column folds, each P cycles) are spread over them.
    local net = pg.hw.network.from_layers(T)
    local rl = dev._array:evaluate(net).layers
    local units = dev.array.units or 1
    for i = 1, n do
      local r = rl[i]
      if r.mapped == 0 or r.mapped == false then
        s[i] = 0
      else
        local items = math.max(1, r.instances) * r.fold_r * r.fold_c
        local per = (r.total_cycles + math.max(1, r.instances)) / items
        s[i] = math.ceil(items / units) * per / dev.clock_hz
      end
    end
    local tot = 0
    for i = 1, n do tot = tot + s[i] end
    return tot, s
  end
  local r = dev._acc:evaluate(T, { schedule = dev.schedule, fuse = dev.fuse ~= false, layers = false })
  return r.cycles / dev.clock_hz, nil
end

-- Blocks of a layer list: per block index l, {first, last, weights, acts}
-- (weights in words, activations per batch element in words: block input
-- plus every layer output).
local function block_summary(T)
  local B = {}
  for i, t in ipairs(T) do
    local l = t._block
    if l then
      local b = B[l]
      if not b then
        b = { first = i, last = i, w = 0, act = 0, input = t._in }
        B[l] = b
      end
      b.last = i
      b.w = b.w + t._w
      b.act = b.act + t._out
    end
  end
  return B
end

--- H.interblock_ms(dev, T, out_words) -> the non-additive term of the device
-- model (ms): for consecutive non-skip blocks p -> q, the tensor between them
-- (t bytes) stays on chip only as far as the cache left by the two blocks'
-- working sets allows; the spilled part s = clamp((ws_p + ws_q - cache)/t, 0, 1)
-- costs a DRAM write and read, 2 s t / bandwidth. ws = weights + batch x
-- (block input + all layer outputs), in bytes. out_words[l] = the block's
-- output tensor (words per batch element).
local function interblock_ms(dev, T, out_words)
  local Bk = block_summary(T)
  local present = {}
  for l = 1, H.L do if Bk[l] then present[#present + 1] = l end end
  local cache = dev.cache_kb * 1024
  local bw = dev.dram_gbs * 1e9
  local ms = 0
  for i = 1, #present - 1 do
    local p, q = Bk[present[i]], Bk[present[i + 1]]
    local ab = dev.act_bytes
    local wsp = ab * (p.w + dev.batch * p.act + dev.batch * p.input)
    local wsq = ab * (q.w + dev.batch * q.act + dev.batch * q.input)
    local t = ab * dev.batch * out_words[present[i]]
    local s = math.max(0, math.min(1, (wsp + wsq - cache) / t))
    ms = ms + 2 * s * t / bw * 1e3
  end
  return ms
end

local function stage_of(l)
  if l <= 4 then return 1 elseif l <= 8 then return 2 elseif l <= 16 then return 3 else return 4 end
end

-- Output tensor words of block l (per batch element): stage width x side^2.
local function block_out_words(layout, l)
  local side = ({ 56, 28, 14, 7 })[stage_of(l)]
  return layout[stage_of(l)] * side * side
end

--- H.measure(dev, arch, layout [, {interblock = true}]) -> latency in ms "on
-- device": the device engine on the whole batched network, plus launch
-- overhead per layer, plus the inter-block term; second value: the parts.
function H.measure(dev, a, layout, opts)
  layout = layout_of(layout)
  local net = H.network(a, layout)
  local T = batched_tables(net, dev.batch)
  local model = layer_seconds(dev, T)
  local launch = #T * dev.launch_us * 1e-3
  local inter = 0
  if not (opts and opts.interblock == false) then
    local ow = {}
    for l = 1, H.L do ow[l] = block_out_words(layout, l) end
    inter = interblock_ms(dev, T, ow)
  end
  local total = model * 1e3 + launch + inter
  return total, { model = model * 1e3, launch = launch, interblock = inter, layers = #T }
end

-- ---------------------------------------------------------------------
-- latency lookup table (Eq. 2) and bias (Eq. 3)
-- ---------------------------------------------------------------------

-- Renumber a block's layers as an isolated network: producers inside the
-- block keep their relative index, producers outside become the input (0).
local function isolate(T, first, last)
  local out = {}
  for i = first, last do
    local t = {}
    for k, v in pairs(T[i]) do t[k] = v end
    local function re(p)
      if p == nil then return nil end
      if p >= first and p <= last then return p - first + 1 end
      return 0
    end
    t.input = re(T[i].input)
    t.input2 = re(T[i].input2)
    out[#out + 1] = t
  end
  return out
end

--- H.lut(dev, layout) -> the lookup table of Eq. 2: lut.t[l][op][f] in ms =
-- the device's latency of choice block l with operator op and factor f,
-- measured in isolation (its layers alone, input from and output to
-- memory, launch overhead included); skip = 0. Also lut.macs[l][op][f] and
-- lut.params[l][op][f], and lut.fixed_macs / fixed_params for the stem and
-- head (for the accuracy estimate). Systolic devices: one network per
-- (op, f) gives all 20 blocks at once (per-layer latencies are independent
-- of the neighbours there); dataflow devices evaluate each block alone.
function H.lut(dev, layout)
  layout = layout_of(layout)
  local lut = { t = {}, macs = {}, params = {}, device = dev.name, layout = layout }
  for l = 1, H.L do lut.t[l], lut.macs[l], lut.params[l] = {}, {}, {} end
  for o = 1, #H.OPS do
    for l = 1, H.L do lut.t[l][o], lut.macs[l][o], lut.params[l][o] = {}, {}, {} end
  end
  for o = 1, #H.OPS do
    for f = 1, #H.FACTORS do
      local a = { op = {}, f = {} }
      for l = 1, H.L do
        a.op[l] = (o == H.SKIP and H.STRIDE2[l]) and 1 or o
        a.f[l] = f
      end
      local net = H.network(a, layout)
      local L = net:layers()
      local T = batched_tables(net, dev.batch)
      local fixed_macs, fixed_params = 0, 0
      local bm, bp = {}, {}
      for i, x in ipairs(L) do
        local l = T[i]._block
        if l then
          bm[l] = (bm[l] or 0) + x.macs
          bp[l] = (bp[l] or 0) + x.params
        else
          fixed_macs, fixed_params = fixed_macs + x.macs, fixed_params + x.params
        end
      end
      lut.fixed_macs, lut.fixed_params = fixed_macs, fixed_params
      local Bk = block_summary(T)
      local sec
      if dev.engine == "systolic" then sec = select(2, layer_seconds(dev, T)) end
      for l = 1, H.L do
        if a.op[l] == o then
          local b = Bk[l]
          local ms
          if o == H.SKIP then
            ms = 0
          else
            local s = 0
            if sec then
              for i = b.first, b.last do s = s + sec[i] end
            else
              s = layer_seconds(dev, isolate(T, b.first, b.last))
            end
            ms = s * 1e3 + (b.last - b.first + 1) * dev.launch_us * 1e-3
          end
          lut.t[l][o][f] = ms
          lut.macs[l][o][f] = o == H.SKIP and 0 or bm[l]
          lut.params[l][o][f] = o == H.SKIP and 0 or bp[l]
        end
      end
    end
  end
  return lut
end

--- H.lut_sum(lut, arch) -> sum over layers of lut.t[l][op_l][f_l] (ms).
function H.lut_sum(lut, a)
  local s = 0
  local t = lut.t
  for l = 1, H.L do s = s + t[l][a.op[l]][a.f[l]] end
  return s
end

--- H.macs(lut, arch), H.params(lut, arch) -> MACs and parameters of the
-- whole network (stem and head included), from the table.
function H.macs(lut, a)
  local s = lut.fixed_macs
  for l = 1, H.L do s = s + lut.macs[l][a.op[l]][a.f[l]] end
  return s
end
function H.params(lut, a)
  local s = lut.fixed_params
  for l = 1, H.L do s = s + lut.params[l][a.op[l]][a.f[l]] end
  return s
end

--- H.bias(measured, lut_sums) -> B of Eq. 3, the mean of measured - LUT sum.
-- It is the least-squares intercept of measured = LUT sum + B.
function H.bias(y, x)
  assert(#y == #x and #y > 0, "bias: two lists of equal, non-zero length expected")
  local s = 0
  for i = 1, #y do s = s + (y[i] - x[i]) end
  return s / #y
end

--- H.calibrate(lut, dev, archs) -> {bias = B, measured = {...}, sums = {...}}:
-- "measure" the M architectures on the device model and apply Eq. 3.
function H.calibrate(lut, dev, archs)
  local y, x = {}, {}
  for i, a in ipairs(archs) do
    y[i] = H.measure(dev, a, lut.layout)
    x[i] = H.lut_sum(lut, a)
  end
  return { bias = H.bias(y, x), measured = y, sums = x, M = #archs }
end

--- H.rmse(a, b), H.kendall(a, b) (tau-b, O(n^2)).
function H.rmse(a, b)
  local s = 0
  for i = 1, #a do s = s + (a[i] - b[i]) ^ 2 end
  return math.sqrt(s / #a)
end
H.kendall = pg.stats.kendall

-- ---------------------------------------------------------------------
-- accuracy estimate
-- ---------------------------------------------------------------------

-- Anchors: ShuffleNetV2+ Small / Medium / Large (megvii-model/ShuffleNet-Series
-- README: 156 / 222 / 360 M FLOPs, top-1 error 25.9 / 24.3 / 22.9 %), with
-- the MAC counts perigee's builder gives those networks (docs/hardware.md).
H.ACC_ANCHORS = { { macs = 155845008, err = 25.9 }, { macs = 222249984, err = 24.3 },
                  { macs = 360050704, err = 22.9 } }

-- err(m) = e_inf + a (m / 1e8)^(-b) through the three anchors: b by
-- bisection on the ratio of the two differences, then a and e_inf.
local function fit_power_law(P)
  local x1, x2, x3 = P[1].macs / 1e8, P[2].macs / 1e8, P[3].macs / 1e8
  local r = (P[1].err - P[2].err) / (P[2].err - P[3].err)
  local function g(b) return (x1 ^ -b - x2 ^ -b) / (x2 ^ -b - x3 ^ -b) - r end
  local lo, hi = 1e-6, 20
  for _ = 1, 200 do
    local mid = 0.5 * (lo + hi)
    if (g(lo) > 0) == (g(mid) > 0) then lo = mid else hi = mid end
  end
  local b = 0.5 * (lo + hi)
  local a = (P[1].err - P[2].err) / (x1 ^ -b - x2 ^ -b)
  return { e_inf = P[1].err - a * x1 ^ -b, a = a, b = b }
end
H.ACC_LAW = fit_power_law(H.ACC_ANCHORS)

H.ACCURACY_NAME = "capacity estimate: top-1 = 100 - (e_inf + a (MACs/1e8)^-b), power law through "
  .. "ShuffleNetV2+ S/M/L (not a trained, supernet or proxy accuracy)"

--- H.accuracy_from_macs(m) -> estimated ImageNet top-1 accuracy (%) of a
-- network with m MACs (monotone increasing, saturating at 100 - e_inf).
function H.accuracy_from_macs(m)
  local p = H.ACC_LAW
  return math.max(0, 100 - (p.e_inf + p.a * (m / 1e8) ^ -p.b))
end

-- ---------------------------------------------------------------------
-- training-free proxy estimate (docs/hsconas.md section 3)
-- ---------------------------------------------------------------------

--- H.cache_dir() -> the proxy cache directory of perigee.proxy_cache
-- ($PERIGEE_CACHE, else $XDG_CACHE_HOME/perigee, else ~/.cache/perigee; not
-- created here).
function H.cache_dir() return pg.proxy_cache.dir() end

-- Proxy settings [ours]: a 32 x 32 input (CIFAR / FreeREA scale), one batch
-- of 16 Fashion-MNIST images for NASWOT, a 10-class head (the classes of
-- that input), one initialisation (seed 0); the body is the costed network.
H.PROXY_DEFAULTS = { side = 32, batch = 16, classes = 10, seed = 0, data_seed = 3,
                     input = "fmnist", repeats = 1, reference = 50, reference_seed = 2021 }
H.PROXY_VERSION = 1

-- ShuffleNetV2+ S/M/L (megvii-model/ShuffleNet-Series): their operators and
-- layouts, factor 1.0, built without SE; published top-1 errors.
H.PROXY_ANCHORS = {
  { name = "ShuffleNetV2+ Small", channels = { 36, 104, 208, 416 }, err = 25.9 },
  { name = "ShuffleNetV2+ Medium", channels = { 48, 128, 256, 512 }, err = 24.3 },
  { name = "ShuffleNetV2+ Large", channels = { 68, 168, 336, 672 }, err = 22.9 },
}
H.V2PLUS_OPS = { 1, 1, 4, 2, 2, 2, 1, 1, 3, 1, 3, 2, 2, 1, 3, 1, 3, 2, 4, 3 }

local function layout_name(layout)
  if type(layout) == "table" then return table.concat(layout, ":") end
  return layout or "A"
end

local function sn_arch(a)
  local t = { ops = {}, factors = {} }
  for l = 1, H.L do t.ops[l], t.factors[l] = a.op[l], H.FACTORS[a.f[l]] end
  return t
end

local CACHE_HEADER = "layout,arch,naswot,logsynflow,synflow,skip,macs,params,input"

--- H.proxy_estimator{side, batch, classes, seed, data_seed, input, repeats,
-- reference, reference_seed, cache = path | false, chunk = 64} -> estimator E:
--   E:raw(a, layout) -> {naswot, logsynflow, synflow, skip, macs, params, input}
--   E:prefetch(list, layout)  computes the missing ones (in C, on perigee's threads)
--   E:combined(a, layout) -> (NASWOT_n + LogSynflow_n + SkipScore_n) / 3
--   E:accuracy(a, layout) -> ACC0 + SLOPE * combined (top-1 %, calibrated)
-- Scores are cached in a gzip CSV (one locked gzip member appended per batch
-- through perigee.proxy.append_gz),
-- reloaded when the estimator is created. Normalisation and calibration
-- are computed on first use (see docs/hsconas.md section 3).
function H.proxy_estimator(o)
  o = o or {}
  local E = { opts = {}, mem = {}, computed = 0, cached = 0, seconds = 0 }
  for k, v in pairs(H.PROXY_DEFAULTS) do E.opts[k] = o[k] == nil and v or o[k] end
  local po = E.opts
  E.chunk = o.chunk or 64
  if o.cache ~= false then
    local name = ("hsconas_proxies_v%d_s%d_b%d_c%d_seed%d_d%d_%s_r%d.csv.gz"):format(
      H.PROXY_VERSION, po.side, po.batch, po.classes, po.seed, po.data_seed, po.input, po.repeats)
    E.path = o.cache or (H.cache_dir() .. "/" .. name)
    local dir = E.path:match("^(.*)/[^/]*$")
    if dir and dir ~= "" then require("perigee.results").mkdir(dir) end
    local text = pg.proxy.read_gz(E.path)
    if text then
      for line in text:gmatch("[^\n]+") do
        local lay, key, nw, ls, sf, sk, mc, pr, inp =
          line:match("^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$")
        if lay and lay ~= "layout" then
          E.mem[lay .. "/" .. key] = { naswot = tonumber(nw) or -math.huge, logsynflow = tonumber(ls),
                                       synflow = tonumber(sf), skip = tonumber(sk), macs = tonumber(mc),
                                       params = tonumber(pr), input = inp }
          E.cached = E.cached + 1
        end
      end
    end
  end
  E.name = ("training-free proxy: (NASWOT_n + LogSynflow_n + SkipScore_n)/3 (Sim-is-More/FreeREA, "
            .. "min-max over a reference sample), linear in top-1 through ShuffleNetV2+ S/M/L; "
            .. "networks at %dx%d, batch %d, %d classes"):format(po.side, po.side, po.batch, po.classes)
  local sopts = { side = po.side, batch = po.batch, classes = po.classes, seed = po.seed,
                  data_seed = po.data_seed, input = po.input, repeats = po.repeats }

  local function num(x)
    if x == -math.huge then return "-inf" end
    return ("%.17g"):format(x)
  end

  -- list of {key=, arch = sn table, layout = widths}; computes and caches
  local function compute(missing)
    for i0 = 1, #missing, E.chunk do
      local part, archs = {}, {}
      for i = i0, math.min(#missing, i0 + E.chunk - 1) do part[#part + 1] = missing[i] end
      -- one call per layout
      local bylay = {}
      for _, t in ipairs(part) do
        bylay[t.lname] = bylay[t.lname] or { widths = t.widths, items = {} }
        table.insert(bylay[t.lname].items, t)
      end
      local lines = {}
      for lname, g in pairs(bylay) do
        archs = {}
        for i, t in ipairs(g.items) do archs[i] = t.arch end
        sopts.channels = g.widths
        local c0 = os.clock()
        local recs, input = pg.shufflenet.scores(archs, sopts)
        E.seconds = E.seconds + (os.clock() - c0)
        for i, t in ipairs(g.items) do
          local r = recs[i]
          r.input = input
          E.mem[lname .. "/" .. t.key] = r
          E.computed = E.computed + 1
          lines[#lines + 1] = table.concat({ lname, t.key, num(r.naswot), num(r.logsynflow), num(r.synflow),
                                             num(r.skip), num(r.macs), num(r.params), input }, ",")
        end
      end
      -- one locked gzip member per chunk (the header when the file is new),
      -- so parallel processes can share the table
      if E.path and #lines > 0 then assert(pg.proxy.append_gz(E.path, table.concat(lines, "\n") .. "\n", CACHE_HEADER)) end
    end
  end

  function E:prefetch(list, layout)
    local lname, widths = layout_name(layout), layout_of(layout)
    local missing, seen = {}, {}
    for _, a in ipairs(list) do
      local key = H.key(a)
      local k = lname .. "/" .. key
      if not self.mem[k] and not seen[k] then
        seen[k] = true
        missing[#missing + 1] = { key = key, arch = sn_arch(a), lname = lname, widths = widths }
      end
    end
    if #missing > 0 then compute(missing) end
  end

  function E:raw(a, layout)
    local k = layout_name(layout) .. "/" .. H.key(a)
    if not self.mem[k] then self:prefetch({ a }, layout) end
    return self.mem[k]
  end

  -- min-max constants from the reference sample, and the calibration
  function E:calibrate()
    if self.norm then return self end
    local ref = H.sample(H.space {}, po.reference, pg.rng(po.reference_seed))
    local lo = { naswot = math.huge, logsynflow = math.huge }
    local hi = { naswot = -math.huge, logsynflow = -math.huge }
    for _, lay in ipairs { "A", "B" } do
      self:prefetch(ref, lay)
      for _, a in ipairs(ref) do
        local r = self:raw(a, lay)
        for k in pairs(lo) do
          local v = r[k]
          if v > -math.huge and v < math.huge then
            if v < lo[k] then lo[k] = v end
            if v > hi[k] then hi[k] = v end
          end
        end
      end
    end
    self.norm = { lo = lo, hi = hi, n = 2 * #ref }
    -- anchors: least-squares line top-1 = ACC0 + SLOPE * combined
    local xs, ys = {}, {}
    local anchors = {}
    for i, an in ipairs(H.PROXY_ANCHORS) do
      local a = { op = {}, f = {} }
      for l = 1, H.L do a.op[l], a.f[l] = H.V2PLUS_OPS[l], 10 end
      xs[i] = self:combined(a, an.channels)
      ys[i] = 100 - an.err
      anchors[i] = { name = an.name, combined = xs[i], top1 = ys[i] }
    end
    local mx, my = 0, 0
    for i = 1, #xs do mx, my = mx + xs[i] / #xs, my + ys[i] / #ys end
    local sxy, sxx = 0, 0
    for i = 1, #xs do
      sxy = sxy + (xs[i] - mx) * (ys[i] - my)
      sxx = sxx + (xs[i] - mx) ^ 2
    end
    local slope = sxx > 0 and sxy / sxx or 0
    self.cal = { slope = slope, acc0 = my - slope * mx, anchors = anchors }
    return self
  end

  function E:combined(a, layout)
    if not self.norm then self:calibrate() end
    local r = self:raw(a, layout)
    local s = 0
    for _, k in ipairs { "naswot", "logsynflow" } do
      local v, lo, hi = r[k], self.norm.lo[k], self.norm.hi[k]
      if v > -math.huge and hi > lo then s = s + (v - lo) / (hi - lo) end
    end
    -- SkipScore: 0 for every architecture of this chain space (its skip
    -- edges join adjacent nodes), a constant column, which contributes 0
    return s / 3
  end

  function E:accuracy(a, layout)
    if not self.cal then self:calibrate() end
    return self.cal.acc0 + self.cal.slope * self:combined(a, layout)
  end

  return E
end

-- ---------------------------------------------------------------------
-- objective (Eq. 1)
-- ---------------------------------------------------------------------

--- H.problem{lut, bias, target (ms), beta (< 0, default -20)} -> a problem
-- with :latency(a), :accuracy(a), :F(a), :eval(a) -> F, acc, lat.
function H.problem(o)
  assert(o.lut and o.target and o.target > 0, "problem: lut and target > 0 required")
  local beta = o.beta or -20
  assert(beta < 0, "problem: beta must be negative (Eq. 1)")
  local p = { lut = o.lut, bias = o.bias or 0, target = o.target, beta = beta,
              estimator = o.estimator, layout = o.layout or o.lut.layout or "A" }
  function p:latency(a) return H.lut_sum(self.lut, a) + self.bias end
  if p.estimator then
    function p:accuracy(a) return self.estimator:accuracy(a, self.layout) end
    function p:prefetch(list) self.estimator:prefetch(list, self.layout) end
  else
    function p:accuracy(a) return H.accuracy_from_macs(H.macs(self.lut, a)) end
    function p:prefetch() end
  end
  function p:eval(a)
    local lat, acc = self:latency(a), self:accuracy(a)
    return acc + self.beta * math.abs(lat / self.target - 1), acc, lat
  end
  function p:F(a) return (self:eval(a)) end
  return p
end

-- ---------------------------------------------------------------------
-- progressive space shrinking (Definition 1)
-- ---------------------------------------------------------------------

--- H.quality(prob, space, N, rng) -> Q(A_sub): mean F over N uniform samples.
function H.quality(prob, sp, N, rng)
  local archs = H.sample(sp, N, rng)
  if prob.prefetch then prob:prefetch(archs) end
  local s = 0
  for _, a in ipairs(archs) do s = s + prob:F(a) end
  return s / N
end

--- H.shrink(prob, space, rng [, {N = 100, stages = {{20,19,18,17},{16,15,14,13}},
-- channel_scaling}]) -> {space = final space, stages = {{layers, fixed =
-- {[l] = op}, q = {[l] = {[op] = Q}}, size, space}}, size0, evaluations}. Each stage
-- visits its layers in order; for each, one subspace per legal operator
-- (that layer fixed, the layers already visited kept fixed), Q estimated
-- from N uniform samples, and the best operator fixed.
function H.shrink(prob, sp, rng, opts)
  opts = opts or {}
  local N = opts.N or 100
  local stages = opts.stages or { { 20, 19, 18, 17 }, { 16, 15, 14, 13 } }
  local scaling = sp.hs.channel_scaling
  local fixed = {}
  for l, o in pairs(sp.hs.fixed) do fixed[l] = o end
  local res = { size0 = sp:size(), stages = {}, evaluations = 0 }
  local cur = sp
  for si, layers in ipairs(stages) do
    local st = { layers = layers, q = {}, fixed = {} }
    for _, l in ipairs(layers) do
      local best, bestq = nil, -math.huge
      st.q[l] = {}
      for _, o in ipairs(cur.hs.ops[l]) do
        local f2 = {}
        for k, v in pairs(fixed) do f2[k] = v end
        f2[l] = o
        local sub = H.space { channel_scaling = scaling, fixed_ops = f2 }
        local q = H.quality(prob, sub, N, rng)
        res.evaluations = res.evaluations + N
        st.q[l][o] = q
        if q > bestq then best, bestq = o, q end
      end
      fixed[l] = best
      st.fixed[l] = best
      cur = H.space { channel_scaling = scaling, fixed_ops = fixed }
    end
    st.size = cur:size()
    st.space = cur
    res.stages[si] = st
  end
  res.space = cur
  return res
end

-- ---------------------------------------------------------------------
-- evolutionary search (SPOS template, HSCoNAS settings)
-- ---------------------------------------------------------------------

--- H.evolve(prob, space, rng [, opts]) -> {best = arch, best_F, best_acc,
-- best_lat, history = {{gen, lat = {...}, F = {...}}}, evaluated, final = {...}}.
-- opts: generations 20, population 50, parents 20, crossover 0.25 (per-gene
-- probability of taking the gene from the second parent), mutation 0.25
-- (per-gene probability of resampling it within the space), offspring split
-- evenly between mutation and crossover, the rest random. Each generation:
-- evaluate the population, keep the top `parents` of everything seen,
-- breed the next population from them (duplicates of seen candidates are
-- redrawn, up to 10 times, then replaced by random samples).
function H.evolve(prob, sp, rng, opts)
  opts = opts or {}
  local G = opts.generations or 20
  local P = opts.population or 50
  local K = opts.parents or 20
  local pc = opts.crossover or 0.25
  local pm = opts.mutation or 0.25
  local hs = sp.hs
  local seen, pool = {}, {}
  local history = {}
  local function gene_resample(a, l)
    local ol, fl = hs.ops[l], hs.factors[l]
    if #ol > 1 then a.op[l] = ol[rng:integer(#ol)] end
    if #fl > 1 then a.f[l] = fl[rng:integer(#fl)] end
  end
  local function mutate(par)
    local c = copy_arch(par)
    for l = 1, H.L do
      if rng:uniform() < pm then gene_resample(c, l) end
    end
    return c
  end
  local function crossover(p1, p2)
    local c = copy_arch(p1)
    for l = 1, H.L do
      if rng:uniform() < pc then c.op[l] = p2.op[l] end
      if rng:uniform() < pc then c.f[l] = p2.f[l] end
    end
    return c
  end
  local popu = H.sample(sp, P, rng)
  local n_eval = 0
  for g = 1, G do
    local lat, F = {}, {}
    if prob.prefetch then prob:prefetch(popu) end
    for i, a in ipairs(popu) do
      local f, acc, l = prob:eval(a)
      n_eval = n_eval + 1
      lat[i], F[i] = l, f
      local k = H.key(a)
      if not seen[k] then
        seen[k] = true
        pool[#pool + 1] = { arch = a, F = f, acc = acc, lat = l, gen = g }
      end
    end
    history[g] = { gen = g, lat = lat, F = F }
    table.sort(pool, function(x, y)
      if x.F ~= y.F then return x.F > y.F end
      return H.key(x.arch) < H.key(y.arch)
    end)
    for i = #pool, K + 1, -1 do pool[i] = nil end
    if g == G then break end
    -- next population
    local nxt, inpop = {}, {}
    local function push(c)
      local k = H.key(c)
      if seen[k] or inpop[k] then return false end
      inpop[k] = true
      nxt[#nxt + 1] = c
      return true
    end
    local nm = P // 2
    local tries = 0
    while #nxt < nm and tries < 10 * nm do
      tries = tries + 1
      push(mutate(pool[rng:integer(#pool)].arch))
    end
    tries = 0
    while #nxt < P and tries < 10 * P do
      tries = tries + 1
      local p1, p2 = pool[rng:integer(#pool)].arch, pool[rng:integer(#pool)].arch
      push(crossover(p1, p2))
    end
    -- random candidates; a space too small to give P new candidates gets
    -- repeats after 10 rounds (so tiny subspaces cannot loop forever)
    local rounds = 0
    while #nxt < P do
      rounds = rounds + 1
      local r = H.sample(sp, P - #nxt, rng)
      for _, c in ipairs(r) do
        if #nxt < P and not push(c) and rounds > 10 then nxt[#nxt + 1] = c end
      end
    end
    popu = nxt
  end
  local b = pool[1]
  return { best = b.arch, best_F = b.F, best_acc = b.acc, best_lat = b.lat, history = history,
           evaluated = n_eval, top = pool }
end

--- H.random_search(prob, space, n, rng) -> best of n uniform samples (same
-- fields as evolve: best, best_F, best_acc, best_lat).
function H.random_search(prob, sp, n, rng)
  local best
  local archs = H.sample(sp, n, rng)
  if prob.prefetch then prob:prefetch(archs) end
  for _, a in ipairs(archs) do
    local f, acc, l = prob:eval(a)
    if not best or f > best.F then best = { arch = a, F = f, acc = acc, lat = l } end
  end
  return { best = best.arch, best_F = best.F, best_acc = best.acc, best_lat = best.lat, evaluated = n }
end

return H
