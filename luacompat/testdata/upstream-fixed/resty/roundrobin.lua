-- Test module for safewrr, shaped like lua-resty-balancer's resty.roundrobin
-- after the July 2021 fix (written for safewrr, not copied): every weight goes
-- through tonumber when the nodes are copied; the rest is the engine's own
-- arithmetic, the % operator included.
local utils = require "resty.balancer.utils"

local pairs, next, random, error, setmetatable = pairs, next, math.random, error, setmetatable
local tonumber, nkeys = tonumber, utils.nkeys

local function copy(nodes)
  local out = {}
  for id, weight in pairs(nodes) do
    out[id] = tonumber(weight)
  end
  return out
end

local _M = {}
local mt = { __index = _M }

local function _gcd(a, b)
  if b == 0 then
    return a
  end
  return _gcd(b, a % b)
end

local function gcd_and_max(nodes)
  local first, max_weight = next(nodes)
  if first == nil then
    return error("empty nodes")
  end
  local only, gcd = first, max_weight
  for _, weight in next, nodes, first do
    only = nil
    gcd = _gcd(gcd, weight)
    if weight > max_weight then
      max_weight = weight
    end
  end
  return only, gcd, max_weight
end

local function random_id(nodes)
  local id
  for _ = 1, random(nkeys(nodes)) do
    id = next(nodes, id)
  end
  return id
end

function _M.new(_, nodes)
  local own = copy(nodes)
  local only, gcd, max_weight = gcd_and_max(own)
  local self = {
    nodes = own,
    only_key = only,
    gcd = gcd,
    max_weight = max_weight,
    cw = max_weight,
    last_id = random_id(own),
  }
  return setmetatable(self, mt)
end

function _M.find(self)
  if self.only_key ~= nil then
    return self.only_key
  end
  local nodes, gcd, max_weight = self.nodes, self.gcd, self.max_weight
  local id, cw = self.last_id, self.cw
  while true do
    while true do
      local weight
      id, weight = next(nodes, id)
      if id == nil then
        break
      end
      if weight >= cw then
        self.cw, self.last_id = cw, id
        return id
      end
    end
    cw = cw - gcd
    if cw <= 0 then
      cw = max_weight
    end
  end
end

_M.next = _M.find

return _M
