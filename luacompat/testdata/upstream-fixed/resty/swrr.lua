-- Test module for safewrr, shaped like a smooth weighted round robin module
-- (written for safewrr): every find() adds each node's weight to its current
-- weight, picks the largest and subtracts the total from it.
local pairs, error, setmetatable, tonumber = pairs, error, setmetatable, tonumber

local _M = {}
local mt = { __index = _M }

function _M.new(_, nodes)
  local weights, current, total = {}, {}, 0
  for id, w in pairs(nodes) do
    w = tonumber(w)
    if w then
      weights[id], current[id] = w, 0
      total = total + w
    end
  end
  if next(weights) == nil then
    error("empty nodes")
  end
  return setmetatable({ nodes = weights, current = current, total = total }, mt)
end

function _M.find(self)
  local best, best_cw
  for id, w in pairs(self.nodes) do
    local cw = self.current[id] + w
    self.current[id] = cw
    if best == nil or cw > best_cw then
      best, best_cw = id, cw
    end
  end
  self.current[best] = best_cw - self.total
  return best
end

return _M
