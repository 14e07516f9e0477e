-- gp_spec.lua -- perigee.gp.exact / perigee.gp.sparse: API, argument errors,
-- and a cross-check against scikit-learn's GaussianProcessRegressor with
-- fixed hyperparameters (skipped with a message when python3 + sklearn are
-- not importable).
local pg = perigee or require "perigee"

local function dataset(n, d, seed)
  local r = pg.rng(seed)
  local X, y = {}, {}
  for i = 1, n do
    local row, s = {}, 0
    for j = 1, d do
      row[j] = r:uniform()
      s = s + math.sin(3 * row[j] + j)
    end
    X[i], y[i] = row, s + 0.05 * r:normal()
  end
  return X, y
end

local function err_match(f, pattern)
  local ok, msg = pcall(f)
  assert.is_false(ok)
  assert.is_truthy(tostring(msg):find(pattern, 1, true), "error was: " .. tostring(msg))
end

describe("perigee.gp.exact", function()
  local X, y = dataset(40, 3, 1)

  it("fits, predicts matrices and reproduces its training data", function()
    local m = pg.gp.exact { kernel = "matern52", noise = 1e-6, train = 0, lengthscale = 0.5 }
    assert.equal(m, m:fit(X, y))
    local mu, var = m:predict(X)
    assert.same({ 40, 1 }, { mu:shape() })
    assert.same({ 40, 1 }, { var:shape() })
    for i = 1, 40 do
      assert.is_true(math.abs(mu:get(i, 1) - y[i]) < 1e-3)
      assert.is_true(var:get(i, 1) >= 0 and var:get(i, 1) < 1e-3)
    end
    assert.equal(40, m:n())
    assert.is_truthy(tostring(m):find("perigee.gp.exact(matern52{1,2,3}, n=40", 1, true))
  end)

  it("accepts matrices, full covariances and joint samples", function()
    local m = pg.gp.exact { kernel = "se", train = 0 }
    m:fit(pg.matrix(X), pg.matrix(y))
    local Xc = { { 0.2, 0.3, 0.4 }, { 0.21, 0.3, 0.4 }, { 0.9, 0.1, 0.5 } }
    local mu, C = m:predict(Xc, { full = true })
    local _, v = m:predict(Xc)
    assert.same({ 3, 3 }, { C:shape() })
    for i = 1, 3 do assert.is_true(math.abs(C:get(i, i) - v:get(i, 1)) < 1e-10) end
    assert.equal(C:get(1, 2), C:get(2, 1))
    local F = m:sample(Xc, 500, pg.rng(3))
    assert.same({ 500, 3 }, { F:shape() })
    local s = 0
    for k = 1, 500 do s = s + F:get(k, 1) end
    assert.is_true(math.abs(s / 500 - mu:get(1, 1)) < 5 * math.sqrt(C:get(1, 1) / 500) + 1e-9)
    -- the same generator state gives the same draws
    local A, B = m:sample(Xc, 4, pg.rng(9)), m:sample(Xc, 4, pg.rng(9))
    assert.equal(A:get(4, 3), B:get(4, 3))
  end)

  it("trains, and params / set_params round-trip", function()
    local m = pg.gp.exact { kernel = { kind = "matern32", dims = { 1, 2, 3 } }, train = 0 }
    m:fit(X, y)
    local before = m:loglik()
    local self, after = m:train { restarts = 2, seed = 4 }
    assert.equal(m, self)
    assert.is_true(after >= before)
    local p = m:params()
    assert.equal(5, #p)
    assert.equal("matern32.lengthscale[1]", p.names[1])
    assert.equal("noise", p.names[5])
    assert.is_true(math.abs(p.noise - math.exp(p[5])) < 1e-15)
    local m2 = pg.gp.exact { kernel = { kind = "matern32", dims = { 1, 2, 3 } }, train = 0 }
    m2:fit(X, y)
    m2:set_params(p)
    assert.is_true(math.abs(m2:loglik() - after) < 1e-8)
    m2:set_params { noise = 0.5 }
    assert.is_true(math.abs(m2:params().noise - 0.5) < 1e-12)
  end)

  it("handles composite kernels over groups of columns", function()
    local Xm, ym = {}, {}
    local r = pg.rng(5)
    for i = 1, 30 do
      Xm[i] = { r:uniform(), r:uniform(), r:integer(0, 2) }
      ym[i] = math.sin(4 * Xm[i][1]) + Xm[i][3]
    end
    local m = pg.gp.exact {
      kernel = { "product", { kind = "matern52", dims = { 1, 2 } }, { kind = "hamming", dims = { 3 } } },
    }
    m:fit(Xm, ym)
    assert.is_truthy(tostring(m):find("product(matern52{1,2}, hamming{3})", 1, true))
    assert.equal(3 + 2 + 1, #m:params())
  end)

  it("raises clear errors on bad arguments", function()
    err_match(function() pg.gp.exact { kernel = "nope" } end, "unknown kernel 'nope'")
    err_match(function() pg.gp.exact { kernel = 3 } end, "option 'kernel'")
    err_match(function() pg.gp.exact { noise = -1 } end, "noise")
    err_match(function() pg.gp.exact { kernel = { "product" } } end, "1 to 64 kernels")
    err_match(function() pg.gp.exact { kernel = { kind = "se", dims = { 0 } } } end, "dims")
    local m = pg.gp.exact { train = 0 }
    err_match(function() m:predict(X) end, "not fitted")
    err_match(function() m:params() end, "call fit first")
    err_match(function() m:fit(X, { 1, 2 }) end, "bad argument #2 to 'fit'")
    err_match(function() m:fit({ { 0, 0 / 0 } }, { 1 }) end, "NaN")
    err_match(function() m:fit("x", y) end, "bad argument #1 to 'fit'")
    m:fit(X, y)
    err_match(function() m:predict({ { 1, 2 } }) end, "has 2 columns, the model has 3")
    err_match(function() m:sample(X, 0) end, "at least one sample")
    err_match(function() m:sample(X, 2, "rng") end, "bad argument #3 to 'sample'")
    err_match(function() m:set_params { 1, 2 } end, "expected 5 log-parameters")
    err_match(function() m:set_params { foo = 1 } end, "no known parameter names")
    err_match(function() m:train { restarts = 0 } end, "restarts")
    err_match(function() m:fit({ { 1, 2 } }, { 1 }) end, "has 2 columns, the model was built for 3")
  end)
end)

describe("perigee.gp.sparse", function()
  local X, y = dataset(300, 2, 7)

  it("fits with every method and selection and predicts", function()
    for _, method in ipairs { "vfe", "fitc" } do
      for _, select in ipairs { "kmeans++", "greedy", "random" } do
        local s = pg.gp.sparse { kernel = "matern52", inducing = 30, method = method, select = select, seed = 2 }
        s:fit(X, y)
        local Z = s:inducing()
        assert.same({ 30, 2 }, { Z:shape() })
        local mu, var = s:predict(X)
        local e = 0
        for i = 1, 300 do e = e + (mu:get(i, 1) - y[i]) ^ 2 end
        assert.is_true(math.sqrt(e / 300) < 0.2, method .. "/" .. select)
        assert.is_true(var:get(1, 1) >= 0)
        assert.is_truthy(tostring(s):find(method .. ", " .. select .. ", m=30, n=300", 1, true))
      end
    end
  end)

  it("matches the exact GP when every point is inducing", function()
    local Xs, ys = dataset(25, 2, 8)
    local e = pg.gp.exact { kernel = "se", noise = 0.01, train = 0, lengthscale = 0.4 }
    local s = pg.gp.sparse { kernel = "se", noise = 0.01, train = 0, lengthscale = 0.4, inducing = 25,
      select = "random", jitter = 1e-12 }
    e:fit(Xs, ys); s:fit(Xs, ys)
    assert.is_true(math.abs(e:loglik() - s:loglik()) < 1e-6 * math.abs(e:loglik()))
    local me, ve = e:predict(X)
    local ms, vs = s:predict(X)
    for i = 1, 300, 7 do
      assert.is_true(math.abs(me:get(i, 1) - ms:get(i, 1)) < 1e-5)
      assert.is_true(math.abs(ve:get(i, 1) - vs:get(i, 1)) < 1e-5)
    end
  end)

  it("moves the inducing inputs on the bound with inducing_iters", function()
    local opts = { kernel = "matern52", noise = 0.01, train = 0, lengthscale = 0.5, inducing = 12,
      seed = 3, jitter = 1e-10 }
    local a = pg.gp.sparse(opts)
    opts.inducing_iters = 15
    local b = pg.gp.sparse(opts)
    a:fit(X, y); b:fit(X, y)
    assert.is_true(b:loglik() > a:loglik())
    local Za, Zb = a:inducing(), b:inducing()
    local moved = 0
    for i = 1, 12 do moved = moved + math.abs(Za:get(i, 1) - Zb:get(i, 1)) end
    assert.is_true(moved > 0)
  end)

  it("raises clear errors on bad options", function()
    err_match(function() pg.gp.sparse { inducing_iters = -1 } end, "inducing_iters")
    err_match(function() pg.gp.sparse { inducing_max = -1 } end, "inducing_max")
    err_match(function() pg.gp.sparse { method = "dtc" } end, "option 'method' must be one of 'vfe', 'fitc'")
    err_match(function() pg.gp.sparse { select = "best" } end, "option 'select'")
    err_match(function() pg.gp.sparse { inducing = 0 } end, "inducing")
    err_match(function() pg.gp.sparse { train_max = -1 } end, "train_max")
    err_match(function() pg.gp.sparse { reselect = 1 } end, "option 'reselect' must be a boolean")
    err_match(function() pg.gp.exact {}:inducing() end, "only sparse GPs")
  end)
end)

-- scikit-learn cross-check (fixed hyperparameters, no optimiser)
local function sklearn_available()
  local p = io.popen("/usr/bin/python3 -c 'import sklearn, numpy; print(\"ok\")' 2>/dev/null")
  if not p then return false end
  local out = p:read("a"); p:close()
  return out:find("ok", 1, true) ~= nil
end

describe("scikit-learn cross-check", function()
  it("means and variances agree to 1e-6 relative", function()
    if not sklearn_available() then
      print("SKIP: /usr/bin/python3 with scikit-learn is not importable; cross-check not run")
      return
    end
    local n, d, nt = 60, 3, 40
    local X, y = dataset(n, d, 11)
    local Xt = dataset(nt, d, 12)
    local ls, var, noise = { 0.3, 0.5, 0.8 }, 1.7, 0.02
    local dir = os.tmpname()
    local f = assert(io.open(dir, "w"))
    for i = 1, n do f:write(string.format("%.17g,%.17g,%.17g,%.17g\n", X[i][1], X[i][2], X[i][3], y[i])) end
    for i = 1, nt do f:write(string.format("%.17g,%.17g,%.17g,nan\n", Xt[i][1], Xt[i][2], Xt[i][3])) end
    f:close()
    local py = ([[
import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern
A = np.loadtxt("%s", delimiter=",")
X, y, Xt = A[:%d, :3], A[:%d, 3], A[%d:, :3]
for nu in (2.5, 1.5, 0.5):
    k = ConstantKernel(%.17g, "fixed") * Matern([%.17g, %.17g, %.17g], "fixed", nu=nu)
    g = GaussianProcessRegressor(k, alpha=%.17g, optimizer=None, normalize_y=False).fit(X, y)
    mu, sd = g.predict(Xt, return_std=True)
    print(repr(g.log_marginal_likelihood_value_))
    for a, b in zip(mu, sd):
        print(repr(a), repr(b * b))
]]):format(dir, n, n, n, var, ls[1], ls[2], ls[3], noise)
    local pf = os.tmpname()
    local g = assert(io.open(pf, "w")); g:write(py); g:close()
    local p = assert(io.popen("LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 " .. pf))
    local lines = {}
    for line in p:lines() do lines[#lines + 1] = line end
    p:close()
    os.remove(dir); os.remove(pf)
    assert.equal(3 * (nt + 1), #lines)
    local k = 0
    for _, kind in ipairs { "matern52", "matern32", "matern12" } do
      local m = pg.gp.exact { kernel = { kind = kind, lengthscales = ls, variance = var }, noise = noise,
        standardize = false, train = 0 }
      m:fit(X, y)
      local mu, v = m:predict(Xt)
      k = k + 1
      local lml = tonumber(lines[k])
      assert.is_true(math.abs(m:loglik() - lml) <= 1e-6 * math.abs(lml), kind .. " lml")
      for i = 1, nt do
        k = k + 1
        local a, b = lines[k]:match("(%S+)%s+(%S+)")
        a, b = tonumber(a), tonumber(b)
        local rm = math.abs(mu:get(i, 1) - a) / math.max(math.abs(a), 1e-12)
        local rv = math.abs(v:get(i, 1) - b) / math.max(math.abs(b), 1e-12)
        assert.is_true(rm <= 1e-6, string.format("%s mean %d: %.17g vs %.17g", kind, i, mu:get(i, 1), a))
        assert.is_true(rv <= 1e-6, string.format("%s var %d: %.17g vs %.17g", kind, i, v:get(i, 1), b))
      end
    end
  end)
end)
