-- resty-roundrobin-2020: a model of lua-resty-balancer's resty.roundrobin as
-- it behaved before the July 2021 fix. Written for safewrr, plain Lua 5.1; it
-- runs unchanged under gopher-lua, LuaJIT and ngx_lua (balancer_by_lua).
--
--   local rr = require "resty-roundrobin-2020"
--   local b = rr:new({ ["10.0.0.3:80"] = 10, ["10.0.0.4:80"] = "0" })
--   local id = b:find()
--
-- new(nodes) copies the nodes with their weights exactly as given (a weight
-- that arrived as the string "0" stays a string), then walks the copy in
-- next() order, folding every weight into a tail-recursive gcd and keeping the
-- largest weight. find() walks on from the node it returned last and returns
-- the first node whose weight reaches the current weight; after a pass that
-- finds none it lowers the current weight by the gcd, back to the largest
-- weight when that reaches 0. The first find() starts after a node chosen
-- with math.random.
-- (lua-resty-balancer draws that node from the caller's table rather than
-- from its copy; the model draws from the copy, so a node tonumber dropped
-- can never be the start.)
--
-- With the incident's input, in the order 10 then "0":
--   _gcd(10, "0")    "0" == 0 is false, so recurse on ("0", 10 % "0")
--   _gcd("0", nan)   10 % "0" coerces "0" to 0, and n % 0 is nan
--   _gcd(nan, nan)   nan == 0 is false, nan % nan is nan: forever
-- In the order "0" then 10 the gcd ends (at 10) and the next line compares
-- 10 > "0", which raises "attempt to compare string with number".
--
-- Lua 5.1 defines a % b as a - floor(a / b) * b and coerces numeric strings
-- in arithmetic as tonumber does. Both rules are spelled out below, so the
-- model gives LuaJIT's answer on every engine (gopher-lua's own % follows C
-- fmod, where 10 % math.huge is 10 rather than nan, and its string coercion
-- reads "017" as octal).
--
-- Instrumentation is off unless M.instrument is called; while it is off the
-- model behaves exactly like the code it models, hangs included. safewrr's
-- harness switches it on to count steps (every _gcd call and every node visited by
-- find) and to stop the run, with an error naming the phase, once the count
-- passes the limit.

local floor, random = math.floor, math.random
local next, pairs, type, tonumber, error = next, pairs, type, tonumber, error

local M = { _VERSION = "0.1", model = "resty-roundrobin-2020" }
local mt = { __index = M }

local limit, steps = nil, 0       -- step limit (nil: off) and steps taken
local order = nil                 -- ids in the order the gcd pass met them
local trace_a, trace_b = nil, nil -- arguments of the first _gcd calls
local traced, trace_max = 0, 0

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

-- a % b, as Lua 5.1 and LuaJIT define it.
local function mod(a, b)
  if type(a) == "string" then a = operand(a) end
  if type(b) == "string" then b = operand(b) end
  return a - floor(a / b) * b
end

-- a - b, with the same coercion.
local function sub(a, b)
  if type(a) == "string" then a = operand(a) end
  if type(b) == "string" then b = operand(b) end
  return a - b
end

local function _gcd(a, b)
  if limit then
    steps = steps + 1
    if traced < trace_max then
      traced = traced + 1
      trace_a[traced], trace_b[traced] = a, b
    end
    if steps > limit then over("build") end
  end
  if b == 0 then
    return a
  end
  return _gcd(b, mod(a, b))
end

local function copy(nodes)
  local t = {}
  for id, weight in pairs(nodes) do
    t[id] = weight
  end
  return t
end

-- The gcd and largest weight of the nodes, in next() order, and the node's id
-- when there is only one.
local function scan(nodes)
  local first, max_weight = next(nodes)
  if first == nil then
    error("no nodes", 0)
  end
  if order then order[#order + 1] = first end
  local only, gcd = first, max_weight
  for id, weight in next, nodes, first do
    if order then order[#order + 1] = id end
    only = nil
    gcd = _gcd(gcd, weight)
    if weight > max_weight then
      max_weight = weight
    end
  end
  return only, gcd, max_weight
end

local function random_start(nodes)
  local count = 0
  for _ in pairs(nodes) do
    count = count + 1
  end
  local id = nil
  for _ = 1, random(count) do
    id = next(nodes, id)
  end
  return id
end

-- new builds a balancer. Both rr:new(nodes) and rr.new(nodes) work.
function M.new(a, b)
  local nodes = a
  if a == M then nodes = b end
  if type(nodes) ~= "table" then
    error("nodes must be a table", 0)
  end
  local t = copy(nodes)
  local only, gcd, max_weight = scan(t)
  return setmetatable({
    nodes = t,
    only_id = only,
    gcd = gcd,
    max_weight = max_weight,
    cw = max_weight,
    last_id = random_start(t),
  }, mt)
end

-- find returns the next node's id.
function M.find(self)
  local only = self.only_id
  if only ~= nil then
    return only
  end
  local nodes, gcd, max_weight = self.nodes, self.gcd, self.max_weight
  local id, cw = self.last_id, self.cw
  while true do
    while true do
      if limit then
        steps = steps + 1
        if steps > limit then over("pick") end
      end
      local weight
      id, weight = next(nodes, id)
      if id == nil then
        break
      end
      if weight >= cw then
        self.last_id, self.cw = id, cw
        return id
      end
    end
    cw = sub(cw, gcd)
    if cw <= 0 then
      cw = max_weight
    end
  end
end

M.next = M.find

-- The update operations lua-resty-balancer documents for resty.roundrobin
-- (set, incr, decr, delete, reinit), with the effect on find()'s state
-- that its README and source describe:
--   * every operation recomputes the gcd, the largest weight and the only
--     node over the whole copy, in next() order;
--   * delete(id) removes the node; when it was the node find() returned
--     last, last_id becomes nil, so the next scan starts at the first node;
--     the current weight is lowered to the new largest weight if it is
--     above it. Deleting the only node leaves no nodes, an error;
--   * decr(id, w) lowers a weight (1 by default), deletes the node when the
--     weight would not stay positive, and caps the current weight like
--     delete;
--   * incr(id, w) raises a weight (1 by default), adding the node when it
--     is new; the current weight and last_id stay;
--   * set(id, w) is incr or decr by the difference (w nil or unreadable:
--     0, so set(id) deletes);
--   * reinit(nodes) starts over on a copy of nodes: current weight at the
--     largest weight, find() starting after a random node.
-- incr, decr and set read their weight argument with tonumber (new() and
-- reinit() copy weights as given).

local function recount(self)
  self.only_id, self.gcd, self.max_weight = scan(self.nodes)
end

local function cap(self)
  if self.cw > self.max_weight then
    self.cw = self.max_weight
  end
end

function M.delete(self, id)
  self.nodes[id] = nil
  recount(self)
  if id == self.last_id then
    self.last_id = nil
  end
  cap(self)
end

function M.decr(self, id, weight)
  weight = tonumber(weight) or 1
  local old = self.nodes[id]
  if old == nil then
    return
  end
  if old <= weight then
    return M.delete(self, id)
  end
  self.nodes[id] = old - weight
  recount(self)
  cap(self)
end

function M.incr(self, id, weight)
  weight = tonumber(weight) or 1
  self.nodes[id] = (self.nodes[id] or 0) + weight
  recount(self)
end

function M.set(self, id, weight)
  weight = tonumber(weight) or 0
  local old = self.nodes[id] or 0
  if old == weight then
    return
  end
  if old < weight then
    return M.incr(self, id, weight - old)
  end
  return M.decr(self, id, old - weight)
end

function M.reinit(self, nodes)
  if type(nodes) ~= "table" then
    error("nodes must be a table", 0)
  end
  local t = copy(nodes)
  self.only_id, self.gcd, self.max_weight = scan(t)
  self.nodes = t
  self.cw = self.max_weight
  self.last_id = random_start(t)
end

-- instrument switches step counting and tracing on (step_limit a number) or
-- off (nil), and resets the counters. trace_calls is how many _gcd calls to
-- record.
function M.instrument(step_limit, trace_calls)
  limit, steps = step_limit, 0
  order = step_limit and {} or nil
  trace_a, trace_b, traced, trace_max = {}, {}, 0, trace_calls or 0
end

-- probe returns the steps taken, the ids in the order the gcd pass met them,
-- the number of _gcd calls recorded and the two argument lists.
function M.probe()
  return steps, order, traced, trace_a, trace_b
end

return M
