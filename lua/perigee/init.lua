--- perigee: the Lua face of the engine.
-- `local pg = require "perigee"` (the `perigee` executable also sets the
-- global `perigee`). The C core (perigee.core) provides matrices, generators
-- and the numerics; the Lua modules under lua/perigee/ add the experiment
-- layer. Submodules load lazily: `pg.foo` requires "perigee.foo" on first use.
local core = require "perigee.core"

local pg = {}
for k, v in pairs(core) do pg[k] = v end

-- The search-space constructors are used so often that they live at the
-- top level: pg.real, pg.int, pg.ordinal, pg.choice, pg.fixed, pg.space{...}.
-- (pg.experiment, pg.benchmark, pg.optimizers load lazily like any module.)
do
  local space = require "perigee.space"
  pg.space = space
  for _, k in ipairs { "real", "int", "ordinal", "choice", "fixed" } do pg[k] = space[k] end

  --- pg.hw.coflex_space(): the perigee space of Coflex's six hardware
  -- parameters (pg.hw.coflex_parameters: PE array x and y 1..64, three
  -- register sizes and their width 10..512 bits, integer grids). Its size is
  -- 64^2 x 503^4 = 2.62e14; Coflex's README quotes 2.81e14 = 2^48, counting
  -- 512 values per register parameter (docs/dataflow.md).
  if type(core.hw) == "table" and core.hw.coflex_parameters then
    core.hw.coflex_space = function()
      local dims = {}
      for i, p in ipairs(core.hw.coflex_parameters) do dims[i] = space.int(p.name, p.min, p.max) end
      return space(dims)
    end
  end
end

return setmetatable(pg, {
  __index = function(t, key)
    if type(key) ~= "string" or not key:match("^[%a_][%w_]*$") then return nil end
    local ok, mod = pcall(require, "perigee." .. key)
    if ok then
      rawset(t, key, mod)
      return mod
    end
    -- a module that exists but fails to load must say why
    if not tostring(mod):match("module 'perigee%." .. key .. "' not found") then
      error(mod, 2)
    end
    return nil
  end,
})
