-- Test module for safewrr, shaped like lua-resty-balancer's helpers (written
-- for safewrr): a shallow copy and a key count.
local _M = {}

function _M.copy(nodes)
  local out = {}
  for id, weight in pairs(nodes) do
    out[id] = weight
  end
  return out
end

function _M.nkeys(t)
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n
end

return _M
