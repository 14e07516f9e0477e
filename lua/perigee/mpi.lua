--- perigee.mpi: Open MPI for the experiment runner (docs/scaling.md).
--
--   local mpi = require "perigee.mpi"     -- or pg.mpi
--   mpi.built            true when perigee was built with MPI
--   mpi.launched()       true under mpirun / srun
--   mpi.init()           -> rank, size (MPI_Init once; 0, 1 without MPI)
--   mpi.rank(), mpi.size(), mpi.active()  (active: initialised, size > 1)
--   mpi.send(dest, tag, value)            any value made of nil, booleans,
--   mpi.probe(seconds) -> source, tag     numbers, strings and tables
--   mpi.recv(source, tag) -> value        (no cycles, no functions)
--   mpi.encode(value) -> string, mpi.decode(string) -> value
--
-- `perigee run` calls mpi.init() when it was started by a launcher; then
-- pg.experiment{...}:go() on rank 0 runs the grid and sends evaluations to
-- every rank (see perigee.experiment), the other ranks evaluate. Without MPI
-- everything runs in one process and these functions answer rank 0 of 1.
-- Numbers travel as hexadecimal floats ("%a") and integers as integers, so
-- a value decodes to exactly what was encoded (NaN and infinities too).
require "perigee.core" -- registers perigee.mpi_c
local C = require "perigee.mpi_c"

local M = {}
M.built = C.built
M.TAG = { task = 1, result = 2, stop = 3 }

function M.launched() return C.launched() end

local inited = false
function M.init()
  if not C.built then return 0, 1 end
  local r, s = C.init()
  inited = true
  return r, s
end

function M.rank() return (C.built and inited) and C.rank() or 0 end
function M.size() return (C.built and inited) and C.size() or 1 end
function M.active() return C.built and inited and C.size() > 1 end

local function enc(v, out)
  local t = type(v)
  if t == "nil" then out[#out + 1] = "nil"
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = v == math.mininteger and "math.mininteger" or string.format("%d", v)
    elseif v ~= v then out[#out + 1] = "(0/0)"
    elseif v == math.huge then out[#out + 1] = "(1/0)"
    elseif v == -math.huge then out[#out + 1] = "(-1/0)"
    else out[#out + 1] = string.format("%a", v) end
  elseif t == "string" then out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    out[#out + 1] = "{"
    local n = #v
    for i = 1, n do enc(v[i], out); out[#out + 1] = "," end
    for k, x in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then
        out[#out + 1] = "["
        enc(k, out)
        out[#out + 1] = "]="
        enc(x, out)
        out[#out + 1] = ","
      end
    end
    out[#out + 1] = "}"
  else
    error("perigee.mpi: cannot send a " .. t, 3)
  end
end

function M.encode(v)
  local out = {}
  enc(v, out)
  return table.concat(out)
end

function M.decode(s)
  local f, err = load("return " .. s, "=mpi message", "t", { math = { mininteger = math.mininteger } })
  if not f then error("perigee.mpi: bad message: " .. err, 2) end
  return f()
end

function M.send(dest, tag, v) C.send(dest, tag, M.encode(v)) end
function M.probe(seconds) return C.probe(seconds) end
function M.recv(src, tag) return M.decode(C.recv(src, tag)) end
function M.abort(code) return C.abort(code) end
--- A rank was given up (dead or hung): do not wait for it in MPI_Finalize.
function M.peer_lost() if C.built and inited then C.peer_lost() end end

return M
