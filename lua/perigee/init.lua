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
