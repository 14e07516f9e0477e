--- perigee proxies: precompute the training-free proxies of a whole space.
--
--   perigee proxies --space nb201|nats_sss --out FILE.csv.gz|--cache [--limit N]
--                   [--resume] [--jobs 2] [--repeats 1] [--batch 64]
--                   [--seed 0] [--input fmnist|noise] [--side 32]
--                   [--classes 10] [--data DIR]
--
-- --cache writes the table of perigee.proxy_cache for these options instead
-- of --out (implies --resume): e.g. nats_sss_hw's estimator table is
--   perigee proxies --space nats_sss --side 16 --batch 16 --classes 120 --cache
--
-- Writes a gzip CSV with columns
--   arch_index, arch, naswot, logsynflow, synflow, skip, input
-- in index order. Resumable: `--jobs` worker processes (default 2, one per
-- core) each take the indices i with i % jobs == k and append one line per
-- network to FILE.csv.gz.part<k>, flushed at once; a killed run restarted
-- with --resume skips every row already in FILE.csv.gz or a part file, and
-- the final table is the same as an uninterrupted run's (each network's
-- score depends only on its architecture and the options). At the end the
-- rows are merged, sorted, written to FILE.csv.gz (through a temporary file
-- and a rename) and the part files removed.
--
-- Index order. nb201: the benchmark's own arch_index when the table
-- nb201_acc.csv.gz is found in --data or $PERIGEE_DATA; otherwise
-- perigee's mixed-radix order of the six edge ops (say so on stderr).
-- nats_sss: perigee's mixed-radix order of the channels, C1 most
-- significant (index = sum (Ci/8 - 1) * 8^(5-i)).
local argparse = require "argparse"
local pg = require "perigee"

local SPACES = { nb201 = 15625, nats_sss = 32768 }
local HEADER = "arch_index,arch,naswot,logsynflow,synflow,skip,input"

local function parser()
  local p = argparse("perigee proxies", "Precompute NASWOT, LogSynflow, SynFlow and SkipScore "
    .. "of every network of a search space into a gzip CSV table.")
  p:option("--space", "Search space."):choices { "nb201", "nats_sss" }:args(1)
  p:option("--out", "Output table (gzip CSV)."):args(1)
  p:flag("--cache", "Write perigee.proxy_cache's table of these options (implies --resume).")
  p:option("--limit", "Only the first N indices."):convert(tonumber)
  p:flag("--resume", "Continue an interrupted run (keep rows already computed).")
  p:option("--jobs", "Worker processes.", "2"):convert(tonumber)
  p:option("--repeats", "Re-initialisations averaged per proxy.", "1"):convert(tonumber)
  p:option("--batch", "NASWOT batch size.", "64"):convert(tonumber)
  p:option("--seed", "Initialisation seed.", "0"):convert(tonumber)
  p:option("--input", "NASWOT inputs."):choices { "fmnist", "noise" }:default "fmnist"
  p:option("--side", "Input side (32 CIFAR, 16 ImageNet16-120).", "32"):convert(tonumber)
  p:option("--classes", "Classifier outputs.", "10"):convert(tonumber)
  p:option("--data", "Project data directory (default $PERIGEE_DATA).")
  p:option("--worker", "Internal: run as worker K of --of."):convert(tonumber)
  p:option("--of", "Internal: number of workers."):convert(tonumber)
  return p
end

--- The list of architecture strings (0-based index -> string) and a note
-- on where the order comes from.
local function arch_list(space, data)
  local n = SPACES[space]
  if space == "nb201" and data then
    local text = pg.proxy.read_gz(data .. "/nb201_acc.csv.gz")
    if text then
      local list, header = {}, true
      for line in text:gmatch "[^\n]+" do
        if header then
          header = false
        else
          local idx, arch = line:match "^(%d+),([^,]+)"
          if idx then list[tonumber(idx)] = arch end
        end
      end
      if #list == n - 1 and list[0] then return list, "NAS-Bench-201 arch_index" end
    end
  end
  local list = {}
  for i = 0, n - 1 do list[i] = pg.proxy.arch(space, i) end
  return list, "perigee mixed-radix order"
end

--- Rows already computed: index -> line (from the table and the part files).
local function read_done(out)
  local done, parts = {}, {}
  local function take(text)
    for line in text:gmatch "([^\n]*)\n" do -- complete lines only
      local idx = line:match "^(%d+),"
      if idx and select(2, line:gsub(",", "")) == 6 then done[tonumber(idx)] = line end
    end
  end
  local text = pg.proxy.read_gz(out)
  if text then take(text) end
  for k = 0, 255 do
    local name = out .. ".part" .. k
    local f = io.open(name, "rb")
    if f then
      parts[#parts + 1] = name
      take(f:read "a")
      f:close()
    end
  end
  return done, parts
end

local function fmt(v)
  if v ~= v then return "" end
  return string.format("%.17g", v)
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function executable()
  local exe = os.getenv "PERIGEE_EXE"
  if exe and exe ~= "" then return exe end
  local lo = 0
  while arg and arg[lo - 1] do lo = lo - 1 end
  return arg and arg[lo] or "perigee"
end

--- Compute the rows of worker k of j into out.part<k>.
local function work(a, list, n, done)
  local k, j = a.worker, a.of
  local f = assert(io.open(a.out .. ".part" .. k, "ab"))
  local opts = { batch = a.batch, seed = a.seed, input = a.input, repeats = a.repeats,
                 side = a.side, classes = a.classes }
  local t0, count = os.clock(), 0
  for i = 0, n - 1 do
    if i % j == k and not done[i] then
      local s = pg.proxy.scores(list[i], opts)
      f:write(string.format("%d,%s,%s,%s,%s,%s,%s\n", i, list[i], fmt(s.naswot),
        fmt(s.logsynflow), fmt(s.synflow), fmt(s.skip), s.input))
      f:flush()
      count = count + 1
      if count % 100 == 0 then
        io.stderr:write(string.format("worker %d: %d networks, %.2f s CPU each\n", k, count,
          (os.clock() - t0) / count))
      end
    end
  end
  f:close()
  return 0
end

local function main(argv)
  local p = parser()
  local ok, a = p:pparse(argv)
  if not ok then
    io.stderr:write(p:get_usage(), "\n", "error: ", a, "\n")
    return 2
  end
  if a.cache and a.space and not a.out and not a.worker then
    local C = pg.proxy_cache
    a.out = C.path({ batch = a.batch, seed = a.seed, input = a.input, repeats = a.repeats, side = a.side,
                     classes = a.classes }, a.space)
    a.resume = true
    pg.results.mkdir(C.dir())
    io.stderr:write("perigee proxies: cache table " .. a.out .. "\n")
  end
  if not a.space or not a.out then
    io.stderr:write(p:get_usage(), "\nerror: --space and --out (or --cache) are required\n")
    return 2
  end
  local n = SPACES[a.space]
  if a.limit then
    if a.limit < 1 or a.limit ~= math.floor(a.limit) then
      io.stderr:write "error: --limit must be a positive integer\n"
      return 2
    end
    n = math.min(n, a.limit)
  end
  for _, key in ipairs { "jobs", "repeats", "batch", "side", "classes", "seed" } do
    local v = a[key]
    local lo = key == "seed" and 0 or key == "batch" and 2 or key == "side" and 4 or 1
    if not v or v ~= math.floor(v) or v < lo then
      io.stderr:write(string.format("error: --%s must be an integer >= %d\n", key, lo))
      return 2
    end
  end
  local data = a.data or os.getenv "PERIGEE_DATA"
  if data == "" then data = nil end
  local list, order = arch_list(a.space, data)
  local done, parts = read_done(a.out)

  if a.worker then return work(a, list, n, done) end

  if (next(done) or #parts > 0) and not a.resume then
    io.stderr:write("error: " .. a.out .. " (or its part files) exists: use --resume to "
      .. "continue it or remove it\n")
    return 1
  end
  for i, line in pairs(done) do -- a resumed table must come from the same inputs
    local input = line:match ",([%a]+)$"
    if input ~= a.input and not (a.input == "fmnist" and input == "noise") then
      io.stderr:write(string.format("error: row %d of %s was computed with --input %s\n", i,
        a.out, tostring(input)))
      return 1
    end
  end
  local remaining = 0
  for i = 0, n - 1 do if not done[i] then remaining = remaining + 1 end end
  io.stderr:write(string.format("perigee proxies: %s, %d networks (%d to compute), order: %s, "
    .. "%d worker(s)\n", a.space, n, remaining, order, a.jobs))

  if remaining > 0 then
    if a.jobs == 1 then
      a.worker, a.of = 0, 1
      work(a, list, n, done)
    else
      local base = { "--space", a.space, "--out", a.out, "--limit", n, "--repeats", a.repeats,
        "--batch", a.batch, "--seed", a.seed, "--input", a.input, "--side", a.side,
        "--classes", a.classes }
      if data then base[#base + 1] = "--data"; base[#base + 1] = data end
      local procs = {}
      for k = 0, a.jobs - 1 do
        local words = { "OPENBLAS_NUM_THREADS=1", "exec", shell_quote(executable()), "proxies" }
        for _, w in ipairs(base) do words[#words + 1] = shell_quote(w) end
        for _, w in ipairs { "--worker", k, "--of", a.jobs } do words[#words + 1] = shell_quote(w) end
        procs[#procs + 1] = assert(io.popen(table.concat(words, " "), "r"))
      end
      local failed = false
      for _, pr in ipairs(procs) do
        pr:read "a"
        local okc = pr:close()
        if not okc then failed = true end
      end
      if failed then
        io.stderr:write "error: a worker failed; rerun with --resume to continue\n"
        return 1
      end
    end
    done, parts = read_done(a.out)
  end

  -- merge: every done row in index order (rows beyond --limit are kept too)
  local idx = {}
  for i in pairs(done) do idx[#idx + 1] = i end
  table.sort(idx)
  local lines = { HEADER }
  for _, i in ipairs(idx) do lines[#lines + 1] = done[i] end
  local okw, err = pg.proxy.write_gz(a.out, table.concat(lines, "\n") .. "\n")
  if not okw then
    io.stderr:write("error: ", err, "\n")
    return 1
  end
  for _, name in ipairs(parts) do os.remove(name) end
  local missing = 0
  for i = 0, n - 1 do if not done[i] then missing = missing + 1 end end
  io.stderr:write(string.format("wrote %s: %d rows%s\n", a.out, #idx,
    missing > 0 and string.format(" (%d missing)", missing) or ""))
  return missing == 0 and 0 or 1
end

return main
