--- perigee.results: the file formats of experiment results.
--
-- CSV (RFC 4180 quoting, "\n" line ends, numbers in the shortest form that
-- reads back to the same double, "nan"/"inf"/"-inf" for non-finite values,
-- empty for missing), deterministic JSON (sorted keys), atomic whole-file
-- writes and reading back a run directory.
local core = require "perigee.core"

local M = {}

local ARRAY = {}
--- Mark a table as a JSON array (so that an empty one is written [] not {}).
function M.array(t) return setmetatable(t or {}, ARRAY) end

--- Shortest decimal form of a number that reads back exactly.
function M.num(v)
  if math.type(v) == "integer" then return ("%d"):format(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%.1f"):format(v) end
  for p = 15, 17 do
    local s = ("%." .. p .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

--- One CSV field.
function M.field(v)
  if v == nil then return "" end
  if type(v) == "number" then return M.num(v) end
  if type(v) == "boolean" then return tostring(v) end
  local s = tostring(v)
  if s:find('[,"\r\n]') or s:match("^%s") or s:match("%s$") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- A CSV line (with "\n") from a list of values (n = number of fields).
function M.line(values, n)
  local t = {}
  for i = 1, n or #values do t[i] = M.field(values[i]) end
  return table.concat(t, ",") .. "\n"
end

--- Split one CSV line (no line end) into fields (strings).
function M.split(line)
  local out, i, n = {}, 1, #line
  while true do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then error("unterminated quote in CSV line: " .. line, 2) end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      out[#out + 1] = table.concat(buf)
    else
      local c = line:find(",", i, true)
      out[#out + 1] = line:sub(i, (c or n + 1) - 1)
      i = c or n + 1
    end
    if i > n then break end
    i = i + 1 -- skip the comma
    if i > n then out[#out + 1] = "" break end
  end
  return out
end

--- Read a CSV file: header (list), rows (lists of strings), and whether an
-- unterminated last line (a record cut by a crash) was dropped. Fields may
-- not contain line breaks (ours never do).
function M.read_csv(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local rows, header, cut = {}, nil, false
  local pos = 1
  while pos <= #text do
    local e = text:find("\n", pos, true)
    if not e then cut = true break end
    local line = text:sub(pos, e - 1)
    if not header then header = M.split(line) else rows[#rows + 1] = M.split(line) end
    pos = e + 1
  end
  return header, rows, cut, pos - 1 -- bytes of complete lines
end

--- Rows of a CSV file as tables keyed by the header names.
function M.read_records(path)
  local header, rows = M.read_csv(path)
  if not header then return nil end
  local out = {}
  for i, r in ipairs(rows) do
    local rec = {}
    for j, h in ipairs(header) do rec[h] = r[j] end
    out[i] = rec
  end
  return out, header
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return map[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

--- Deterministic JSON: object keys sorted, numbers as M.num (non-finite as
-- null), arrays for tables with keys 1..n, two-space indentation.
function M.json(v, indent)
  indent = indent or ""
  local t = type(v)
  if v == nil then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return M.num(v)
  end
  if t == "string" then return json_string(v) end
  if t == "table" then
    local n = #v
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    local inner = indent .. "  "
    if n == 0 and getmetatable(v) == ARRAY then return "[]" end
    if n > 0 and count == n then
      local simple = true
      for i = 1, n do if type(v[i]) == "table" then simple = false end end
      local parts = {}
      for i = 1, n do parts[i] = M.json(v[i], inner) end
      if simple then return "[" .. table.concat(parts, ", ") .. "]" end
      return "[\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "]"
    end
    if count == 0 then return "{}" end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end
      parts[i] = json_string(k) .. ": " .. M.json(val, inner)
    end
    return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
  end
  return json_string(tostring(v))
end

--- Quote a string for /bin/sh.
function M.shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- mkdir -p
function M.mkdir(path)
  local ok = os.execute("mkdir -p " .. M.shell_quote(path))
  if not ok then error("cannot create directory " .. path, 2) end
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

--- Write a whole file atomically (temporary file, then rename).
function M.write_atomic(path, content)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(content)
  f:close()
  local ok, err = os.rename(tmp, path)
  if not ok then error("cannot write " .. path .. ": " .. tostring(err), 2) end
end

--- Append a journal record, flushed and synced (survives kill -9).
function M.append(path, content, sync)
  local ok, err = core.journal_append(path, content, sync ~= false)
  if not ok then error("cannot append to " .. err, 2) end
end

--- Read a whole file (nil if absent).
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Load a finished or partial run directory: config (decoded JSON when
-- lua-cjson is present, else the text), evaluations, metrics, pareto records.
function M.load_run(dir)
  local run = { dir = dir }
  local cfg = M.read(dir .. "/config.json")
  local okj, cjson = pcall(require, "cjson")
  run.config = cfg and okj and cjson.decode(cfg) or cfg
  run.evaluations = M.read_records(dir .. "/evaluations.csv")
  run.metrics = M.read_records(dir .. "/metrics.csv")
  run.pareto = M.read_records(dir .. "/pareto.csv")
  local s = M.read(dir .. "/summary.json")
  run.summary = s and okj and cjson.decode(s) or s
  return run
end

return M
