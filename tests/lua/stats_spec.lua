-- perigee.stats against hand-computed values.
local pg = require "perigee"
local S = pg.stats

describe("perigee.stats", function()
  it("gives tied values the mean of their ranks", function()
    assert.same({ 1.5, 1.5, 3, 4.5, 4.5 }, S.ranks { 7, 7, 8, 9, 9 })
  end)

  it("computes Spearman's rho and Kendall's tau-b of a small permutation", function()
    local x, y = { 1, 2, 3, 4, 5 }, { 2, 1, 4, 3, 5 }
    -- rho = 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6 * 4 / 120; tau = (8 - 2) / 10
    assert.is_true(math.abs(S.spearman(x, y) - 0.8) < 1e-12)
    assert.is_true(math.abs(S.kendall(x, y) - 0.6) < 1e-12)
    assert.is_true(math.abs(S.spearman(x, { 50, 40, 30, 20, 10 }) + 1) < 1e-12)
  end)

  it("handles ties in tau-b and returns 0 when it is undefined", function()
    -- pairs: (1,2) tied in x only, (1,3) and (2,3) concordant: 2 / sqrt(3 * 2)
    assert.is_true(math.abs(S.kendall({ 1, 1, 2 }, { 1, 2, 3 }) - 2 / math.sqrt(6)) < 1e-12)
    assert.are.equal(0, S.kendall({ 1, 1 }, { 2, 2 }))
  end)

  it("computes Pearson's r of a linear relation", function()
    assert.is_true(math.abs(S.pearson({ 1, 2, 3 }, { 2, 4, 6 }) - 1) < 1e-12)
  end)
end)
