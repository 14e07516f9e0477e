--- perigee.progress: one status line per run.
--
-- On a terminal the line is rewritten in place ("\r" + clear to end of line)
-- after every iteration and kept when the run ends; otherwise one plain line
-- is printed per iteration (logs, CI). quiet = true prints nothing.
-- The line: optimizer, seed, iteration i/N, evaluations, hypervolume, best
-- objectives, elapsed and estimated remaining time (linear in iterations).
local core = require "perigee.core"

local P = {}
P.__index = P

function P.new(opts)
  opts = opts or {}
  local tty = opts.tty
  if tty == nil then tty = core.isatty(1) end
  return setmetatable({ quiet = opts.quiet, tty = tty, out = opts.out or io.stdout }, P)
end

local function secs(t)
  if t ~= t or t == math.huge then return "?" end
  if t < 60 then return ("%.1fs"):format(t) end
  if t < 3600 then return ("%dm%02ds"):format(t // 60, math.floor(t % 60)) end
  return ("%dh%02dm"):format(t // 3600, math.floor(t % 3600 / 60))
end

function P:start(run)
  self.run = run
end

function P:line(run, row, elapsed, done)
  local c = run.exp.cfg
  local it, total = row.iteration, c.iterations
  local parts = {
    ("%s seed %d"):format(run.opt.name, run.seed),
    ("it %d/%d"):format(it, total),
    ("evals %d"):format(row.evaluations),
  }
  if (row.failed or 0) + (row.infeasible or 0) > 0 then
    parts[#parts + 1] = ("failed %d"):format(row.failed + row.infeasible)
  end
  parts[#parts + 1] = ("hv %.5g"):format(row.hypervolume or 0 / 0)
  if row.igd then parts[#parts + 1] = ("igd %.4g"):format(row.igd) end
  local best = {}
  for _, ob in ipairs(run.b.objectives) do
    local v = row["best_" .. ob.name]
    if v then best[#best + 1] = ("%s=%.4g"):format(ob.name, v) end
  end
  if #best > 0 then parts[#parts + 1] = "best " .. table.concat(best, " ") end
  parts[#parts + 1] = "elapsed " .. secs(elapsed)
  if not done then
    local remaining = it > 0 and elapsed / (it + 1) * (total - it) or 0 / 0
    parts[#parts + 1] = "eta " .. secs(remaining)
  end
  if run.resumed and run.resumed > 0 then parts[#parts + 1] = ("(resumed: %d replayed)"):format(run.resumed) end
  return table.concat(parts, "  ")
end

function P:update(run, row, elapsed)
  if self.quiet then return end
  local s = self:line(run, row, elapsed, false)
  if self.tty then
    self.out:write("\r\27[K", s)
  else
    self.out:write(s, "\n")
  end
  self.out:flush()
end

function P:finish(run, row, elapsed)
  if self.quiet then return end
  if self.tty then
    self.out:write("\r\27[K", self:line(run, row, elapsed, true), "\n")
  else
    self.out:write(self:line(run, row, elapsed, true), "  done\n")
  end
  self.out:flush()
end

return P
