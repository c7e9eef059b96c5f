-- safewrr's LuaJIT driver: runs a Lua balancer module the way luacompat.Run
-- does under gopher-lua, in the real luajit binary, as a long-lived
-- co-process. Written for safewrr.
--
--   luajit driver.lua DIR
--   SAFEWRR_LUAJIT_DIR=DIR luajit -e "$(cat driver.lua)"
--
-- Modules are found in DIR only (DIR/?.lua, DIR/?/init.lua). Each request is
-- one line on stdin, fields separated by tabs:
--
--   instruction limit <TAB> picks <TAB> seed <TAB> module <TAB> node spec
--
-- The node spec is a Lua table literal (luacompat.FormatSpec). For each
-- request one line is written, fields separated by tabs:
--
--   outcome <TAB> phase <TAB> order <TAB> picks <TAB> start <TAB> count <TAB> message
--
-- outcome is ok, hang or error; phase is load, build or pick (empty for ok);
-- order and picks are lists of ids separated by commas; start is the last_id
-- after new() (may be empty); in ids, '%', ',', tab, CR, LF and NUL are
-- written as %XX; count is the number
-- of VM instructions counted; message is Lua's error text with tabs and
-- line breaks replaced by spaces.
--
-- A hang is detected by instruction count: a count hook (debug.sethook)
-- fires every 1,000 VM instructions and raises an error once the limit is
-- passed. The JIT compiler is switched off, because compiled traces do not
-- run count hooks. A module that catches that error with pcall is judged a
-- hang all the same. Every request loads the module afresh (package.loaded
-- is reset to what it held at start); the string hash, and so the order
-- pairs() and next() walk a table, is LuaJIT's own for this process.

local dir = (arg and arg[1]) or os.getenv("SAFEWRR_LUAJIT_DIR")
if not dir then
  io.stderr:write("usage: luajit driver.lua DIR\n")
  os.exit(2)
end
if jit then jit.off() end
package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua"
package.cpath = ""

null = newproxy(false) -- JSON null, as lua-cjson's cjson.null

local sethook, pcall, tostring, type = debug.sethook, pcall, tostring, type
local raw_next, raw_pairs = next, pairs
local concat, format, byte = table.concat, string.format, string.byte

local base_loaded = {}
for k in pairs(package.loaded) do base_loaded[k] = true end

local HOOK_EVERY = 1000
local limit, count, tripped, phase = 0, 0, false, "load"
local LIMIT_MSG = "safewrr: step limit reached in "

local function hook()
  count = count + HOOK_EVERY
  if tripped or count > limit then
    tripped = true
    error(LIMIT_MSG .. phase, 0)
  end
end

-- enc writes an id with %XX for the bytes that would break a reply line
-- ('%', ',', tab, CR, LF, NUL); any other id is written as it is.
local function encbyte(c) return format("%%%02x", byte(c)) end
local function enc(v)
  return (tostring(v):gsub("[%%,\t\r\n%z]", encbyte))
end

local function clean(v)
  return (tostring(v):gsub("[\t\r\n]", " "))
end

local function keys(t)
  local out = {}
  if type(t) ~= "table" then return "" end
  for k in raw_next, t do out[#out + 1] = enc(k) end
  return concat(out, ",")
end

-- While new() runs, next and pairs note the first table other than the
-- caller's nodes that the module walks: the balancer's own copy of the
-- nodes. When new() does not return, its order is the order reported.
local input, walked = nil, nil
local function note(t)
  if phase == "build" and walked == nil and t ~= input and type(t) == "table" then walked = t end
end
_G.next = function(t, k)
  if k == nil then note(t) end
  return raw_next(t, k)
end
_G.pairs = function(t)
  note(t)
  return raw_pairs(t)
end

-- copy_order is the order of the balancer's copy when new() walked one,
-- else the order next() walks a plain copy of the nodes.
local function copy_order(nodes)
  if walked ~= nil then return keys(walked) end
  local t = {}
  for k, v in raw_pairs(nodes) do t[k] = v end
  return keys(t)
end

local function reply(outcome, ph, order, picks, start, msg)
  io.write(outcome, "\t", ph, "\t", order, "\t", concat(picks, ","), "\t", start, "\t",
    tostring(count), "\t", clean(msg or ""), "\n")
  io.flush()
end

local function classify(err)
  if tripped then return "hang", LIMIT_MSG:sub(10) .. phase end
  return "error", tostring(err)
end

local function run(lim, picks, seed, module, spec)
  for k in raw_pairs(package.loaded) do
    if not base_loaded[k] then package.loaded[k] = nil end
  end
  local chunk, perr = loadstring("return " .. spec, "=nodes")
  if not chunk then return reply("error", "spec", "", {}, "", perr) end
  setfenv(chunk, { null = null })
  local nodes = chunk()
  input, walked = nodes, nil
  math.randomseed(seed)
  limit, count, tripped, phase = lim, 0, false, "load"
  local got = {}
  sethook(hook, "", HOOK_EVERY)
  local ok, mod = pcall(require, module)
  if not ok or tripped then
    sethook()
    local o, m = classify(mod)
    return reply(o, "load", copy_order(nodes), got, "", m)
  end
  local new
  if type(mod) == "table" then
    ok, new = pcall(function() return mod.new end)
    if not ok then
      sethook()
      return reply("error", "load", copy_order(nodes), got, "", new)
    end
  end
  if type(new) ~= "function" then
    sethook()
    return reply("error", "load", copy_order(nodes), got, "", "module " .. module .. " returned " .. type(mod) .. ", not a table with new()")
  end
  phase = "build"
  local b
  ok, b = pcall(new, mod, nodes)
  if ok and not tripped and type(b) ~= "table" then ok, b = false, "new() returned " .. type(b) .. ", not a table" end
  if not ok or tripped then
    sethook()
    local o, m = classify(b)
    return reply(o, "build", copy_order(nodes), got, "", m)
  end
  local order = type(rawget(b, "nodes")) == "table" and keys(rawget(b, "nodes")) or copy_order(nodes)
  local start = type(rawget(b, "last_id")) == "string" and enc(rawget(b, "last_id")) or ""
  phase = "pick"
  local fok, find = pcall(function() return b.find end)
  if not fok or tripped then
    sethook()
    local o, m = classify(find)
    return reply(o, "pick", order, got, start, m)
  end
  for _ = 1, picks do
    local pok, id = pcall(find, b)
    if pok and not tripped and id == nil then pok, id = false, "find() returned nil" end
    if not pok or tripped then
      sethook()
      local o, m = classify(id)
      return reply(o, "pick", order, got, start, m)
    end
    got[#got + 1] = enc(id)
  end
  sethook()
  return reply("ok", "", order, got, start, "")
end

for line in io.lines() do
  local lim, picks, seed, module, spec = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  if not lim then
    reply("error", "spec", "", {}, "", "malformed request")
  else
    local ok, err = pcall(run, tonumber(lim), tonumber(picks), tonumber(seed), module, spec)
    if not ok then
      sethook()
      reply("error", "driver", "", {}, "", err)
    end
  end
end
