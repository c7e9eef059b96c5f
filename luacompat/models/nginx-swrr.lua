-- nginx-swrr: nginx's smooth weighted round robin
-- (ngx_http_upstream_get_peer in ngx_http_upstream_round_robin.c), as a Lua
-- module with the resty.roundrobin interface. Written for safewrr, plain Lua
-- 5.1; it runs unchanged under gopher-lua, LuaJIT and ngx_lua.
--
--   local swrr = require "nginx-swrr"
--   local b = swrr:new({ a = 5, b = 1, c = 1 })
--   local id = b:find()   -- a a b a c a a ...
--
-- new(nodes) lists the nodes once, in next() order (nginx: configuration
-- order), each with a current weight of 0. Every find() adds each node's
-- weight to its current weight, picks the node with the largest current
-- weight (ties go to the earlier node) and subtracts the sum of all weights
-- from the winner's current weight.
--
-- Weights are used as given; arithmetic coerces numeric strings the way Lua
-- 5.1 and LuaJIT do (spelled out below so every engine agrees). A weight of
-- 0 is never picked while any weight is positive. Every find() visits each
-- node once, so the model cannot loop; instrumentation (M.instrument) counts
-- the visits and stops the run once they pass a limit, as the resty models do.

local next, pairs, type, tonumber, error = next, pairs, type, tonumber, error

local M = { _VERSION = "0.1", model = "nginx-swrr" }
local mt = { __index = M }

local limit, steps = nil, 0
local order = nil

local function over(phase)
  error("safewrr: step limit reached in " .. phase, 0)
end

-- Lua's arithmetic coercion of a string operand.
local function operand(v)
  if type(v) == "string" then
    local n = tonumber(v)
    if n == nil then
      error("attempt to perform arithmetic on a string value", 0)
    end
    return n
  end
  return v
end

-- new builds a balancer. Both swrr:new(nodes) and swrr.new(nodes) work.
function M.new(a, b)
  local nodes = a
  if a == M then nodes = b end
  if type(nodes) ~= "table" then
    error("nodes must be a table", 0)
  end
  local peers = {}
  for id, weight in pairs(nodes) do
    if limit then
      steps = steps + 1
      if steps > limit then over("build") end
    end
    if order then order[#order + 1] = id end
    peers[#peers + 1] = { id = id, weight = weight, current = 0 }
  end
  if #peers == 0 then
    error("no nodes", 0)
  end
  return setmetatable({ peers = peers }, mt)
end

-- find returns the next node's id.
function M.find(self)
  local peers = self.peers
  local best, total = nil, 0
  for i = 1, #peers do
    if limit then
      steps = steps + 1
      if steps > limit then over("pick") end
    end
    local p = peers[i]
    local w = p.weight
    if type(w) == "string" then w = operand(w) end
    p.current = p.current + w
    total = total + w
    if best == nil or p.current > best.current then
      best = p
    end
  end
  best.current = best.current - total
  return best.id
end

M.next = M.find

-- instrument switches step counting on (step_limit a number) or off (nil)
-- and resets the counters. The second argument is accepted for symmetry with
-- the resty models; this model has no gcd to trace.
function M.instrument(step_limit)
  limit, steps = step_limit, 0
  order = step_limit and {} or nil
end

-- probe returns the steps taken and the ids in the order new() met them.
function M.probe()
  return steps, order, 0, {}, {}
end

return M
