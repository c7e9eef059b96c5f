-- Runs safewrr's Lua models outside Go (LuaJIT, PUC Lua 5.1), with the same
-- step counting as the gopher-lua harness, so both engines can be compared.
--
-- Classify: luajit luajit_driver.lua MODELDIR run CASEFILE
--   CASEFILE holds one case per line, fields separated by tabs:
--     model <TAB> step limit <TAB> picks <TAB> start <TAB> node spec
--   The node spec is a Lua table literal (luacompat.FormatSpec). For each
--   case one line is printed, fields separated by tabs:
--     outcome <TAB> phase <TAB> order <TAB> picks <TAB> message
--   where order and picks are lists separated by \031. With a start k (a
--   number, 0-based), the first find() starts after the k-th node of the
--   order instead of math.random's node. The order is LuaJIT's own: its
--   string hash is seeded at random for every Lua state, so the order of the
--   same table differs from one process to the next.
--
-- Updates: luajit luajit_driver.lua MODELDIR updates SCRIPTFILE
--   SCRIPTFILE holds one script per line: model <TAB> operations separated
--   by ";", each one of
--     new K SPEC      build over SPEC; find() starts after the K-th node
--                     (0-based) of the order
--     pick N          N calls of find()
--     set ID W, incr ID W, decr ID W, delete ID
--     reinit SPEC     start over; find() starts after the last node of the
--                     new order
--   For each script one line is printed, one field per operation, separated
--   by tabs: "O" and the nodes as ID=WEIGHT in next() order after the
--   operation, "P" and the ids picked, or "E" and the error that ended the
--   script. Lists are separated by \031.
--
-- Benchmark: luajit luajit_driver.lua MODELDIR bench MODEL NODES FINDS
--   Builds MODEL over NODES nodes with weights 1..NODES and prints the
--   seconds (os.clock) that FINDS calls of find() took.

local dir, mode = arg[1], arg[2]
package.path = dir .. "/?.lua;" .. package.path

null = newproxy and newproxy(false) or {} -- JSON null, as lua-cjson's cjson.null

local SEP = "\031"
local LIMIT = "safewrr: step limit reached in "

local function clean(s)
  return (tostring(s):gsub("[\t\n\r]", " "))
end

local function classify(err)
  local msg = clean(err)
  if msg:sub(1, #LIMIT) == LIMIT then
    return "hang", msg:sub(#LIMIT + 1), msg
  end
  return "error", nil, msg
end

local function run_case(name, limit, picks, start, spec)
  local m = require(name)
  local chunk, perr = loadstring("return " .. spec)
  if not chunk then
    return "spec-error\t\t\t\t" .. clean(perr)
  end
  local nodes = chunk()
  m.instrument(limit, 0)
  local ok, b = pcall(m.new, m, nodes)
  local _, order = m.probe()
  local ids = {}
  for i, id in ipairs(order or {}) do ids[i] = clean(id) end
  local order_s = table.concat(ids, SEP)
  if not ok then
    local outcome, phase, msg = classify(b)
    return table.concat({ outcome, "build", order_s, "", msg }, "\t")
  end
  if start ~= "" and b.last_id ~= nil then
    b.last_id = order[tonumber(start) + 1]
  end
  local got = {}
  for i = 1, picks do
    local pok, id = pcall(b.find, b)
    if not pok then
      local outcome, phase, msg = classify(id)
      return table.concat({ outcome, "pick", order_s, table.concat(got, SEP), msg }, "\t")
    end
    if id == nil then
      return table.concat({ "error", "pick", order_s, table.concat(got, SEP), "find() returned nil" }, "\t")
    end
    got[#got + 1] = clean(id)
  end
  return table.concat({ "ok", "", order_s, table.concat(got, SEP), "" }, "\t")
end

local function order_of(b)
  local out = {}
  for id, w in pairs(b.nodes) do
    out[#out + 1] = clean(id) .. "=" .. clean(w)
  end
  return "O" .. table.concat(out, SEP)
end

local function run_updates(name, script)
  local m = require(name)
  m.instrument(nil)
  local b
  local out = {}
  for op in script:gmatch("[^;]+") do
    local verb, rest = op:match("^%s*(%S+)%s*(.-)%s*$")
    local ok, err = pcall(function()
      if verb == "new" then
        local k, spec = rest:match("^(%S+)%s+(.*)$")
        b = m:new(loadstring("return " .. spec)())
        local id = nil
        for _ = 0, tonumber(k) do id = next(b.nodes, id) end
        b.last_id = id
        out[#out + 1] = order_of(b)
      elseif verb == "pick" then
        local got = {}
        for i = 1, tonumber(rest) do got[i] = clean(b:find()) end
        out[#out + 1] = "P" .. table.concat(got, SEP)
      elseif verb == "reinit" then
        b:reinit(loadstring("return " .. rest)())
        local last = nil
        for id in pairs(b.nodes) do last = id end
        b.last_id = last
        out[#out + 1] = order_of(b)
      elseif verb == "set" or verb == "incr" or verb == "decr" or verb == "delete" then
        local id, w = rest:match("^(%S+)%s*(%S*)$")
        b[verb](b, id, tonumber(w))
        out[#out + 1] = order_of(b)
      else
        error("unknown operation " .. tostring(verb), 0)
      end
    end)
    if not ok then
      out[#out + 1] = "E" .. clean(err)
      break
    end
  end
  return table.concat(out, "\t")
end

if mode == "updates" then
  for line in io.lines(arg[3]) do
    local name, script = line:match("^([^\t]*)\t(.*)$")
    io.write(run_updates(name, script), "\n")
  end
elseif mode == "run" then
  for line in io.lines(arg[3]) do
    local name, limit, picks, start, spec = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    io.write(run_case(name, tonumber(limit), tonumber(picks), start, spec), "\n")
  end
elseif mode == "bench" then
  local m = require(arg[3])
  local n, finds = tonumber(arg[4]), tonumber(arg[5])
  local nodes = {}
  for i = 1, n do nodes["10.0." .. math.floor(i / 256) .. "." .. (i % 256) .. ":80"] = i end
  local b = m:new(nodes)
  local find = b.find
  local t0 = os.clock()
  for _ = 1, finds do find(b) end
  io.write(string.format("%.9f\n", os.clock() - t0))
else
  io.stderr:write("usage: luajit luajit_driver.lua MODELDIR run CASEFILE | updates SCRIPTFILE | bench MODEL NODES FINDS\n")
  os.exit(2)
end
