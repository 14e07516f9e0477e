--- perigee scalesim: a drop-in for Scale-Sim v2's scale.py.
--
--   perigee scalesim -c CFG -t TOPOLOGY [-i gemm] [-p OUTDIR] [--exact]
--
-- Reads a Scale-Sim .cfg file (INI: [general] run_name, [architecture_presets]
-- ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB,
-- Dataflow, Bandwidth, [run_presets] InterfaceBandwidth) and a topology CSV
-- (conv format, or GEMM "name, M, N, K," with -i gemm), evaluates every layer
-- with perigee's systolic model and writes, like scale.py, OUTDIR/<run_name>/
-- COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv with
-- Scale-Sim v2's columns and number formatting (Python str of ints and
-- floats). Without --exact the DRAM columns are perigee's analytical estimate
-- (exact whenever an operand fits the read buffer's window); with --exact
-- they reproduce the simulator's CALC-mode buffers.
local argparse = require "argparse"

local M = {}

--- Python's repr()/str() of a float: the shortest string that reads back as
-- the same double, fixed notation for exponents in [-4, 16), else scientific.
function M.pyfloat(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return (1 / x < 0) and "-0.0" or "0.0" end
  local sign = x < 0 and "-" or ""
  local a = math.abs(x)
  local s
  for p = 1, 17 do
    s = string.format("%." .. (p - 1) .. "e", a)
    if tonumber(s) == a then break end
  end
  local mant, e = s:match("^([%d%.]+)e([-+]%d+)$")
  e = tonumber(e)
  local digits = mant:gsub("%.", ""):gsub("0+$", "")
  if digits == "" then digits = "0" end
  if e >= -4 and e < 16 then
    if e >= 0 then
      local int = digits:sub(1, e + 1)
      if #int < e + 1 then int = int .. string.rep("0", e + 1 - #int) end
      local frac = digits:sub(e + 2)
      if frac == "" then frac = "0" end
      return sign .. int .. "." .. frac
    end
    return sign .. "0." .. string.rep("0", -e - 1) .. digits
  end
  local m = digits:sub(1, 1)
  if #digits > 1 then m = m .. "." .. digits:sub(2) end
  return string.format("%s%se%s%02d", sign, m, e < 0 and "-" or "+", math.abs(e))
end

local function pyint(n) return string.format("%d", n) end
-- numpy float64 cycles (trace matrices) print as "123.0"
local function pycycle(n) return string.format("%d.0", n) end

--- Parse a Scale-Sim configuration file the way Python's configparser does
-- (sections, "key = value" or "key: value", case-insensitive keys, # and ;
-- comments). Returns a table section -> key(lowercase) -> value, or nil, err.
function M.read_cfg(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local conf, section = {}, nil
  local n = 0
  for line in f:lines() do
    n = n + 1
    local s = line:gsub("\r$", "")
    if s:match("^%s*[#;]") or s:match("^%s*$") then
      -- comment or blank
    elseif s:match("^%s*%[") then
      section = s:match("^%s*%[([^%]]+)%]")
      if not section then f:close() return nil, path .. ":" .. n .. ": malformed section" end
      conf[section] = conf[section] or {}
    else
      local k, v = s:match("^%s*([^=:]-)%s*[=:]%s*(.-)%s*$")
      if not k or not section then
        f:close()
        return nil, path .. ":" .. n .. ": expected 'key = value' inside a section"
      end
      conf[section][k:lower()] = v
    end
  end
  f:close()
  return conf
end

local function get(conf, section, key, required)
  local v = conf[section] and conf[section][key:lower()]
  if v == nil and required then
    error(string.format("configuration: missing '%s' in section [%s]", key, section), 0)
  end
  return v
end

local function getint(conf, section, key)
  local v = get(conf, section, key, true)
  local n = math.tointeger(tonumber(v))
  if not n then error(string.format("configuration: '%s' must be an integer, got '%s'", key, v), 0) end
  return n
end

--- Build the perigee.hw.systolic options from a parsed configuration.
function M.systolic_options(conf, exact)
  local df = get(conf, "architecture_presets", "Dataflow", true)
  if df ~= "os" and df ~= "ws" and df ~= "is" then
    error("configuration: Dataflow must be os, ws or is, got '" .. tostring(df) .. "'", 0)
  end
  local opts = {
    rows = getint(conf, "architecture_presets", "ArrayHeight"),
    cols = getint(conf, "architecture_presets", "ArrayWidth"),
    ifmap_sram_kb = getint(conf, "architecture_presets", "IfmapSramSzkB"),
    filter_sram_kb = getint(conf, "architecture_presets", "FilterSramSzkB"),
    ofmap_sram_kb = getint(conf, "architecture_presets", "OfmapSramSzkB"),
    dataflow = df,
    mode = exact and "exact" or "analytical",
  }
  local mode = get(conf, "run_presets", "InterfaceBandwidth") or "CALC"
  if mode == "USER" then
    local bw = get(conf, "architecture_presets", "Bandwidth", true)
    opts.bandwidth = tonumber((tostring(bw):match("^%s*([^,]+)")))
    if not opts.bandwidth then error("configuration: Bandwidth must be a number", 0) end
  elseif mode ~= "CALC" then
    error("configuration: InterfaceBandwidth must be CALC or USER, got '" .. mode .. "'", 0)
  end
  return opts, mode
end

local COMPUTE_HEADER =
  "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n"
local BANDWIDTH_HEADER = "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
  .. "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n"
local DETAIL_HEADER = "LayerID, "
  .. "SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
  .. "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
  .. "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
  .. "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
  .. "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
  .. "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n"

local function row(lid, items)
  return tostring(lid) .. ", " .. table.concat(items, ", ") .. ",\n"
end

--- Write the three reports for evaluation `res` into directory `dir`.
function M.write_reports(dir, res)
  local files = {}
  for _, name in ipairs { "COMPUTE_REPORT", "BANDWIDTH_REPORT", "DETAILED_ACCESS_REPORT" } do
    local f, err = io.open(dir .. "/" .. name .. ".csv", "w")
    if not f then
      for _, g in pairs(files) do g:close() end
      return nil, err
    end
    files[name] = f
  end
  local c, b, d = files.COMPUTE_REPORT, files.BANDWIDTH_REPORT, files.DETAILED_ACCESS_REPORT
  c:write(COMPUTE_HEADER)
  b:write(BANDWIDTH_HEADER)
  d:write(DETAIL_HEADER)
  for i, r in ipairs(res.layers) do
    local lid = i - 1
    c:write(row(lid, { pyint(r.total_cycles), pyint(r.stall_cycles), M.pyfloat(r.overall_util),
      M.pyfloat(r.mapping_eff), M.pyfloat(r.compute_util) }))
    b:write(row(lid, { M.pyfloat(r.bw_sram_ifmap), M.pyfloat(r.bw_sram_filter),
      M.pyfloat(r.bw_sram_ofmap), M.pyfloat(r.bw_dram_ifmap), M.pyfloat(r.bw_dram_filter),
      M.pyfloat(r.bw_dram_ofmap) }))
    d:write(row(lid, {
      pycycle(r.sram_ifmap_start), pycycle(r.sram_ifmap_stop), pyint(r.sram_ifmap_reads),
      pycycle(r.sram_filter_start), pycycle(r.sram_filter_stop), pyint(r.sram_filter_reads),
      pycycle(r.sram_ofmap_start), pycycle(r.sram_ofmap_stop), pyint(r.sram_ofmap_writes),
      pycycle(r.dram_ifmap_start), pycycle(r.dram_ifmap_stop), pyint(r.dram_ifmap_reads),
      pycycle(r.dram_filter_start), pycycle(r.dram_filter_stop), pyint(r.dram_filter_reads),
      pycycle(r.dram_ofmap_start), pycycle(r.dram_ofmap_stop), pyint(r.dram_ofmap_writes) }))
  end
  for _, f in pairs(files) do f:close() end
  return true
end

--- Write network `net` (a perigee.hw network) as a Scale-Sim conv topology
-- CSV, so that the simulator itself can be run on perigee's workloads. Each
-- layer uses the geometry perigee's systolic model uses (H = IY without
-- padding when the simulator's ceil rule reproduces OY, else the rows the
-- windows touch); depthwise layers become "DP" rows (expanded per channel by
-- the simulator), other grouped layers one row per group; pooling and
-- additions are skipped (Scale-Sim has no such layers). Batch > 1 is an
-- error. Returns the number of rows written, or nil, message.
function M.write_topology(net, path)
  local rows = {}
  for i, l in ipairs(net:layers()) do
    if l.kind ~= "pool" and l.kind ~= "add" then
      if l.B ~= 1 then return nil, "layer " .. i .. ": Scale-Sim has no batch dimension" end
      local function side(I, O, F, S, P)
        if P == 0 and I >= F and (I - F + S + S - 1) // S == O then return I end
        return (O - 1) * S + F
      end
      local H = side(l.IY, l.OY, l.FY, l.SY, l.PY)
      local W = side(l.IX, l.OX, l.FX, l.SX, l.PX)
      local name = (l.name ~= "" and l.name or ("L" .. i)):gsub("[,%s]", "_")
      name = name:gsub("DP", "Dp") -- only depthwise rows may carry the DP marker
      local stride = l.SY == l.SX and tostring(l.SY) or (l.SY .. ", " .. l.SX)
      if l.kind == "depthwise" then
        rows[#rows + 1] = string.format("%s_DP, %d, %d, %d, %d, %d, %d, %s,", name, H, W, l.FY,
          l.FX, l.C, 1, stride)
      else
        for g = 1, l.groups do
          rows[#rows + 1] = string.format("%s%s, %d, %d, %d, %d, %d, %d, %s,", name,
            l.groups > 1 and ("_g" .. g) or "", H, W, l.FY, l.FX, l.C // l.groups,
            l.K // l.groups, stride)
        end
      end
    end
  end
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  f:write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, ",
    "Num Filter, Strides,\n")
  for _, r in ipairs(rows) do f:write(r, "\n") end
  f:close()
  return #rows
end

local function mkdir_p(dir)
  -- os.execute with a quoted path; the directory may already exist
  local ok = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  return ok
end

--- Run with an argument list (the strings after `perigee scalesim`);
-- returns an exit code.
function M.main(args)
  local parser = argparse("perigee scalesim",
    "Scale-Sim v2 compatible systolic-array reports from perigee's model.")
  parser:option("-c --config", "Scale-Sim configuration (.cfg)."):args(1)
  parser:option("-t --topology", "Topology CSV."):args(1)
  parser:option("-i --input-type", "Topology format: conv or gemm."):default("conv")
    :choices { "conv", "gemm" }
  parser:option("-p --path", "Output directory (reports go to PATH/<run_name>/)."):default(".")
  parser:flag("--exact", "Emulate the simulator's DRAM buffers (exact DRAM columns).")
  parser:flag("-q --quiet", "Print nothing but errors.")
  local ok, a = parser:pparse(args)
  if not ok then
    io.stderr:write(a, "\n", parser:get_usage(), "\n")
    return 2
  end
  if not a.config or not a.topology then
    io.stderr:write("perigee scalesim: -c CONFIG and -t TOPOLOGY are required\n", parser:get_usage(), "\n")
    return 2
  end
  local pg = require "perigee"
  local conf, err = M.read_cfg(a.config)
  if not conf then
    io.stderr:write("perigee scalesim: ", err, "\n")
    return 1
  end
  local okc, opts, mode = pcall(M.systolic_options, conf, a.exact)
  if not okc then
    io.stderr:write("perigee scalesim: ", opts, "\n")
    return 1
  end
  local run_name = get(conf, "general", "run_name") or "scale_run"
  local net, terr = pg.hw.network.scalesim_topology(a.topology, { gemm = a.input_type == "gemm" })
  if not net then
    io.stderr:write("perigee scalesim: ", terr, "\n")
    return 1
  end
  if mode == "USER" then
    io.stderr:write("perigee scalesim: USER bandwidth mode is approximated by perigee's own stall ",
      "model (Scale-Sim's USER read buffers are not emulated)\n")
  end
  local arr = pg.hw.systolic(opts)
  local t0 = os.clock()
  local res = arr:evaluate(net)
  local elapsed = os.clock() - t0
  local dir = a.path .. "/" .. run_name
  if not mkdir_p(dir) then
    io.stderr:write("perigee scalesim: cannot create ", dir, "\n")
    return 1
  end
  local okw, werr = M.write_reports(dir, res)
  if not okw then
    io.stderr:write("perigee scalesim: ", werr, "\n")
    return 1
  end
  if not a.quiet then
    print(string.format("perigee scalesim: %d layers, %s %dx%d, %s mode, %.3f ms", #res.layers,
      opts.dataflow, opts.rows, opts.cols, opts.mode, elapsed * 1e3))
    print(string.format("total cycles %d, overall utilisation %.2f %%", res.total.total_cycles,
      res.total.overall_util))
    print("reports in " .. dir)
  end
  return 0
end

return M
