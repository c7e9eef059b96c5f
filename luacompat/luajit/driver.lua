-- safewrr's LuaJIT driver: runs a Lua balancer module the way luacompat.Run
-- does under gopher-lua, in the real luajit binary, as a long-lived
-- co-process started by luacompat (luajit -joff -e "<this file>").
-- Written for safewrr.
--
-- Channels. Requests and module sources arrive on stdin; everything the
-- driver says goes to file descriptor 3, which only the driver holds: the
-- module cannot reach io, so nothing it prints or writes is read as a
-- verdict. Every message carries the run's nonce, and the driver checks the
-- nonce of every source it receives. Fields are separated by tabs; in ids,
-- names and messages '%', ',', tab, CR, LF and NUL are written as %XX.
--
--   stdin  R nonce limit picks seed memkb maxorder maxid maxpicks maxmsg module spec
--          M nonce length chunkname, then length bytes of source
--          N nonce message                    (the module is not in DIR)
--          E nonce message                    (it is, but cannot be loaded)
--   fd 3   Q nonce module                     (require asks for a module)
--          P nonce phase                      (the run entered build or pick)
--          V nonce outcome phase order picks start count message
--
-- The sandbox. The module and everything it requires run in an environment
-- built for the run from an allowlist: the safe base functions, copies of
-- string (without dump), table, math and bit, a require that loads only
-- what the harness serves (files from DIR, read and checked by luacompat,
-- and LuaJIT's own table.new, table.clear, table.nkeys, table.isempty,
-- table.isarray, table.clone and bit), loadstring and load that compile
-- source only, into that environment, and getfenv and setfenv that neither
-- show nor change anything of the driver's. os, io, debug, jit, ffi,
-- coroutine, package.loadlib, dofile, loadfile, newproxy and string.dump are
-- out of reach; the string metatable is shown as a copy.
--
-- The meter. A count hook fires every 1,000 VM instructions and raises an
-- error once the instruction limit is passed, or once the Lua heap has grown
-- by more than memkb since the run began; both stick, so a module that
-- catches the error with pcall is judged by the limit all the same. The JIT
-- compiler is off (compiled traces run no hooks), and the module can reach
-- neither debug nor jit to change that. Work done inside one C function (a
-- backtracking pattern) is stopped by luacompat's wall clock and the
-- co-process's resource limits, after the phase messages said where the run
-- was.

local jit = jit
jit.off()
jit.flush()

local sethook, getinfo = debug.sethook, debug.getinfo
local raw_getfenv, raw_setfenv, raw_load = getfenv, setfenv, load
local pcall, error, type, tostring, tonumber = pcall, error, type, tostring, tonumber
local m_floor = math.floor
local select, rawget, rawset, rawequal, next, pairs, ipairs = select, rawget, rawset, rawequal, next, pairs, ipairs
local setmetatable, getmetatable, unpack, xpcall, assert = setmetatable, getmetatable, unpack, xpcall, assert
local collectgarbage, randomseed = collectgarbage, math.randomseed
local s_format, s_byte, s_char, s_sub, s_gsub, s_match, s_find =
  string.format, string.byte, string.char, string.sub, string.gsub, string.match, string.find
local concat = table.concat
local stdin, stderr, exit = io.stdin, io.stderr, os.exit
local driverG = _G
local strmt = debug.getmetatable("")

local chan, cerr = io.open("/dev/fd/3", "w")
if not chan then
  stderr:write("safewrr driver: cannot open the reply channel (fd 3): ", tostring(cerr), "\n")
  return
end
chan:setvbuf("full")

local function copy(t, skip)
  local c = {}
  for k, v in next, t do
    if not (skip and skip[k]) then c[k] = v end
  end
  return c
end

-- Snapshots of the libraries, taken before any module runs; a run gets
-- copies, so nothing a module changes outlives its run.
local lib_string = copy(string, { dump = true })
local lib_table = copy(table)
local lib_math = copy(math)
local lib_bit = copy(bit)
local builtin = {}
for _, name in ipairs({ "table.new", "table.clear", "table.nkeys", "table.isempty", "table.isarray", "table.clone" }) do
  local ok, fn = pcall(require, name)
  if ok and type(fn) == "function" then builtin[name] = fn end
end
local base_names = {
  "assert", "error", "ipairs", "pcall", "rawequal", "rawget", "rawset", "select",
  "tonumber", "tostring", "type", "unpack", "setmetatable", "getmetatable", "_VERSION",
}
local base = {}
for _, k in ipairs(base_names) do base[k] = driverG[k] end

local null = newproxy(false) -- JSON null, as lua-cjson's cjson.null

-- From here on the driver uses locals only: its own environment is sealed,
-- and holds nothing.
local sealed = setmetatable({}, { __index = function(_, k) error("safewrr driver: global " .. tostring(k), 2) end,
  __newindex = function(_, k) error("safewrr driver: global " .. tostring(k), 2) end })
raw_setfenv(1, sealed)

local HOOK_EVERY = 1000
-- A caught error costs ERROR_COST instructions (luacompat's caughtErrorSteps
-- times LuaJITInstructionsPerStep): raising and unwinding costs LuaJIT far
-- more than the few instructions the hook sees, so a loop of caught errors
-- would otherwise run to the clock rather than the count.
local ERROR_COST = 1000
local LIMIT_MSG = "safewrr: step limit reached in "
local MEMORY_MSG = "safewrr: memory limit reached in "

-- The run's state.
local nonce = ""
local limit, count, phase = 0, 0, "load"
local tripped, memtripped = false, false
local memkb, basekb = 0, 0
local critical = false -- inside a message exchange: the hook waits

-- Once a limit is reached the hook fires on every instruction of the
-- module's code (never of the driver's, whose environment is sealed), so
-- the error escapes every pcall the module wraps around its loops: each
-- loop runs at least one instruction outside the call it protects.
local hook
hook = function()
  if tripped or memtripped then
    if raw_getfenv(2) ~= sealed then error((tripped and LIMIT_MSG or MEMORY_MSG) .. phase, 0) end
    return
  end
  count = count + HOOK_EVERY
  if critical then return end
  if count > limit then
    tripped = true
  elseif collectgarbage("count") - basekb > memkb then
    memtripped = true
  else
    return
  end
  sethook(hook, "", 1)
  error((tripped and LIMIT_MSG or MEMORY_MSG) .. phase, 0)
end

local function encbyte(c) return s_format("%%%02x", s_byte(c)) end
local function enc(s)
  return (s_gsub(s, "[%%,\t\r\n%z]", encbyte))
end
local function decbyte(h) return s_char(tonumber(h, 16)) end
local function dec(s)
  return (s_gsub(s, "%%(%x%x)", decbyte))
end

-- fail ends the process on a broken channel: an error raised here could
-- be caught by the module's pcall and leave the channels out of step.
local function fail(msg)
  stderr:write("safewrr driver: ", msg, "\n")
  exit(3)
end

local function send(...)
  local ok = chan:write(...)
  ok = ok and chan:flush()
  if not ok then fail("reply channel closed") end
end

-- A key or id as text, without calling any metamethod.
local function keytext(k)
  local t = type(k)
  if t == "string" then return k end
  if t == "number" then return tostring(k) end
  return "(" .. t .. ")"
end

local maxorder, maxid, maxpicks, maxmsg = 0, 0, 0, 0

local function keys(t)
  local out = {}
  if type(t) ~= "table" then return "" end
  for k in next, t do
    if #out >= maxorder then break end
    local s = keytext(k)
    if #s > maxid then s = s_sub(s, 1, maxid) end
    out[#out + 1] = enc(s)
  end
  return concat(out, ",")
end

local function setphase(p)
  phase = p
  critical = true
  send("P\t", nonce, "\t", p, "\n")
  critical = false
end

-- The run's environment.
local env, loaded = nil, nil

local function safe_getfenv(f)
  if f == nil then f = 1 end
  local r
  if type(f) == "number" then
    if f == 0 then return env end
    if f < 0 or not getinfo(f + 1, "f") then error("bad argument #1 to 'getfenv' (invalid level)", 2) end
    r = raw_getfenv(f + 1)
  elseif type(f) == "function" then
    r = raw_getfenv(f)
  else
    error("bad argument #1 to 'getfenv' (number expected, got " .. type(f) .. ")", 2)
  end
  if r == driverG or r == sealed then r = env end
  return r
end

local function safe_setfenv(f, t)
  if type(t) ~= "table" then error("bad argument #2 to 'setfenv' (table expected, got " .. type(t) .. ")", 2) end
  if f == nil then f = 1 end
  local fn
  if type(f) == "number" then
    if f == 0 then error("'setfenv' cannot change the environment of the harness's thread", 2) end
    local info = f > 0 and getinfo(f + 1, "f")
    if not info then error("bad argument #1 to 'setfenv' (invalid level)", 2) end
    fn = info.func
  elseif type(f) == "function" then
    fn = f
  else
    error("bad argument #1 to 'setfenv' (number expected, got " .. type(f) .. ")", 2)
  end
  local what = getinfo(fn, "S").what
  local cur = raw_getfenv(fn)
  if what == "C" or cur == driverG or cur == sealed then
    error("'setfenv' cannot change environment of given object", 2)
  end
  raw_setfenv(fn, t)
  return fn
end

-- compile loads source only (mode "t"), into env unless one is given.
local BINARY_MSG = "binary chunks are refused: only Lua source is loaded"
local function compile(chunk, name, e)
  if type(chunk) == "string" and s_byte(chunk, 1) == 27 then return nil, BINARY_MSG end
  local f, err = raw_load(chunk, name, "t")
  if not f then
    if type(err) == "string" and s_find(err, "wrong mode", 1, true) then err = BINARY_MSG end
    return nil, err
  end
  raw_setfenv(f, e or env)
  return f
end

local function safe_loadstring(s, name)
  if type(s) ~= "string" then error("bad argument #1 to 'loadstring' (string expected, got " .. type(s) .. ")", 2) end
  if type(name) ~= "string" then name = s end
  return compile(s, name)
end

local function safe_load(chunk, name, mode, e)
  local t = type(chunk)
  if t ~= "string" and t ~= "function" then
    error("bad argument #1 to 'load' (function expected, got " .. t .. ")", 2)
  end
  if type(name) ~= "string" then name = t == "string" and chunk or "=(load)" end
  if e ~= nil and type(e) ~= "table" then e = nil end
  return compile(chunk, name, e)
end

-- fetch asks the harness for a module's source.
local function fetch(name)
  critical = true
  send("Q\t", nonce, "\t", enc(name), "\n")
  local line = stdin:read("*l")
  if not line then fail("no answer for a module") end
  local kind, n, rest = s_match(line, "^(%u)\t([^\t]*)\t(.*)$")
  if n ~= nonce then fail("an answer with a wrong nonce") end
  if kind == "M" then
    local len, chunkname = s_match(rest, "^(%d+)\t(.*)$")
    local src = stdin:read(tonumber(len))
    if not len or #(src or "") ~= tonumber(len) then fail("a short module source") end
    critical = false
    return "M", src or "", dec(chunkname)
  end
  critical = false
  return kind, dec(rest)
end

local function safe_require(name)
  local t = type(name)
  if t == "number" then name = tostring(name)
  elseif t ~= "string" then error("bad argument #1 to 'require' (string expected, got " .. t .. ")", 2) end
  local v = loaded[name]
  if v ~= nil then return v end
  if builtin[name] then
    loaded[name] = builtin[name]
    return builtin[name]
  end
  local kind, src, chunkname = fetch(name)
  if kind == "N" then error("module '" .. name .. "' not found:" .. src, 2) end
  if kind ~= "M" then error(src, 2) end
  local f, err = compile(src, "@" .. chunkname)
  if not f then error("error loading module '" .. name .. "' from file '" .. chunkname .. "':\n\t" .. tostring(err), 2) end
  local r = f(name)
  if r ~= nil then loaded[name] = r end
  if loaded[name] == nil then loaded[name] = true end
  return loaded[name]
end

-- While new() runs, next and pairs note the first table other than the
-- caller's nodes that the module walks: the balancer's own copy of the
-- nodes. When new() does not return, its order is the order reported.
local input, walked = nil, nil
local function note(t)
  if phase == "build" and walked == nil and t ~= input and type(t) == "table" then walked = t end
end
local function noting_next(t, k)
  if k == nil then note(t) end
  return next(t, k)
end
local function noting_pairs(t)
  note(t)
  return pairs(t)
end

-- xpcall runs the message handler after the error has unwound, under the
-- hook: LuaJIT runs a handler at the point of the error, and an error the
-- count hook raised leaves hooks off there, so a handler that loops would
-- never be stopped. (The handler sees the error, not the stack it came
-- from; without debug a module cannot tell.)
-- charge adds n instructions for work the hook cannot see.
local function charge(n)
  count = count + n
  if count > limit and not tripped and not memtripped then
    -- The next instruction of the module's code raises the limit.
    tripped = true
    sethook(hook, "", 1)
  end
end
local function charge_error()
  charge(ERROR_COST)
end
local function pcall_result(ok, ...)
  if not ok then charge_error() end
  return ok, ...
end
local function safe_pcall(f, ...)
  return pcall_result(pcall(f, ...))
end
local function xpcall_result(h, ok, ...)
  if ok then return true, ... end
  charge_error()
  local _, v = pcall(h, (...))
  return false, v
end
local function safe_xpcall(f, h, ...)
  return xpcall_result(h, pcall(f, ...))
end

-- Built-ins that copy many values or parse a long string in one C call
-- charge what gopher-lua's sandbox charges for them: a step per 64 values
-- or bytes (a step is STEP_COST instructions). Past 8,000 values LuaJIT
-- raises "too many results" itself, without the work, as gopher-lua does.
local STEP_COST = 250
local l_unpack, l_select, l_tonumber, l_byte = unpack, select, tonumber, s_byte
local function values(n)
  if n > 0 and n <= 8000 then charge(m_floor(n / 64) * STEP_COST) end
end
-- Each passes its arguments on as they came (a tail call: LuaJIT's error
-- messages name the built-in as the module called it).
local function b_unpack(...)
  local t, i, j = ...
  if type(t) == "table" then
    local a, b = tonumber(i) or 1, tonumber(j) or #t
    values(b - a + 1)
  end
  return l_unpack(...)
end
local function b_select(...)
  values(l_select("#", ...) - 1)
  return l_select(...)
end
local function b_tonumber(...)
  local v = ...
  if type(v) == "string" then charge(m_floor(#v / 64) * STEP_COST) end
  return l_tonumber(...)
end
local function b_byte(...)
  local s, i, j = ...
  if type(s) == "string" then
    local n = #s
    local a = tonumber(i) or 1
    local b = tonumber(j) or a
    if a < 0 then a = a + n + 1 end
    if b < 0 then b = b + n + 1 end
    if a < 1 then a = 1 end
    if b > n then b = n end
    values(b - a + 1)
  end
  return l_byte(...)
end

local function nothing() end
local function zero() return 0 end

local function new_env()
  local e = {}
  for k, v in next, base do e[k] = v end
  e.string, e.table, e.math, e.bit = copy(lib_string), copy(lib_table), copy(lib_math), copy(lib_bit)
  e.next, e.pairs, e.pcall, e.xpcall = noting_next, noting_pairs, safe_pcall, safe_xpcall
  e.print, e.collectgarbage = nothing, zero
  e.unpack, e.select, e.tonumber, e.string.byte = b_unpack, b_select, b_tonumber, b_byte
  e.require, e.loadstring, e.load = safe_require, safe_loadstring, safe_load
  e.getfenv, e.setfenv = safe_getfenv, safe_setfenv
  e._G = e
  loaded = { string = e.string, table = e.table, math = e.math, bit = e.bit, _G = e }
  e.package = { loaded = loaded }
  -- "s":method() finds the run's string copy; getmetatable("") shows a
  -- copy of the metatable, never the real one.
  strmt.__index = e.string
  strmt.__metatable = { __index = e.string }
  return e
end

-- copy_order is the order of the balancer's copy when new() walked one,
-- else the order next() walks a plain copy of the nodes.
local function copy_order(nodes)
  if walked ~= nil then return keys(walked) end
  local t = {}
  for k, v in pairs(nodes) do t[k] = v end
  return keys(t)
end

local function cut(msg)
  if #msg <= maxmsg then return msg end
  return s_sub(msg, 1, maxmsg) .. "… (" .. #msg .. " bytes in all)"
end

local function clean(msg)
  return (s_gsub(cut(msg), "[\t\r\n]", " "))
end

local function reply(outcome, ph, order, picks, start, msg)
  sethook()
  env, walked, input = nil, nil, nil
  send("V\t", nonce, "\t", outcome, "\t", ph, "\t", order, "\t", concat(picks, ","), "\t", start, "\t",
    tostring(count), "\t", clean(msg or ""), "\n")
end

-- classify turns an error that reached the driver into a verdict, without
-- calling anything of the module's (an error object's __tostring).
local function classify(err)
  if tripped then return "hang", s_sub(LIMIT_MSG, 10) .. phase end
  if memtripped or err == "not enough memory" then return "error", s_sub(MEMORY_MSG, 10) .. phase end
  local t = type(err)
  if t == "string" then return "error", err end
  if t == "number" then return "error", tostring(err) end
  return "error", "(error object is a " .. t .. " value)"
end

local function run(lim, picks, seed, module, spec)
  local chunk, perr = raw_load("return " .. spec, "=nodes", "t")
  if not chunk then return reply("error", "spec", "", {}, "", perr) end
  raw_setfenv(chunk, { null = null })
  local nodes = chunk()
  if collectgarbage("count") > basekb + 8192 then collectgarbage() end
  randomseed(seed)
  env = new_env()
  input, walked = nodes, nil
  limit, count, phase, tripped, memtripped = lim, 0, "load", false, false
  basekb = collectgarbage("count")
  local got = {}
  sethook(hook, "", HOOK_EVERY)
  local ok, mod = pcall(safe_require, module)
  if not ok or tripped or memtripped then
    local o, m = classify(mod)
    return reply(o, "load", copy_order(nodes), got, "", m)
  end
  local new
  if type(mod) == "table" then
    ok, new = pcall(function() return mod.new end)
    if not ok or tripped or memtripped then
      local o, m = classify(new)
      return reply(o, "load", copy_order(nodes), got, "", m)
    end
  end
  if type(new) ~= "function" then
    return reply("error", "load", copy_order(nodes), got, "", "module " .. module .. " returned " .. type(mod) .. ", not a table with new()")
  end
  setphase("build")
  local b
  ok, b = pcall(new, mod, nodes)
  if ok and not tripped and not memtripped and type(b) ~= "table" then ok, b = false, "new() returned " .. type(b) .. ", not a table" end
  if not ok or tripped or memtripped then
    local o, m = classify(b)
    return reply(o, "build", copy_order(nodes), got, "", m)
  end
  local order = type(rawget(b, "nodes")) == "table" and keys(rawget(b, "nodes")) or copy_order(nodes)
  local last = rawget(b, "last_id")
  local start = type(last) == "string" and #last <= maxid and enc(last) or ""
  setphase("pick")
  local fok, find = pcall(function() return b.find end)
  if not fok or tripped or memtripped then
    local o, m = classify(find)
    return reply(o, "pick", order, got, start, m)
  end
  local total = 0
  for _ = 1, picks do
    local pok, id = pcall(find, b)
    if pok and not tripped and not memtripped then
      local t = type(id)
      if t ~= "string" and t ~= "number" then
        pok, id = false, "find() returned " .. t .. ", not an id (a string or a number)"
      else
        id = keytext(id)
        total = total + #id
        if #id > maxid then
          pok, id = false, "find() returned an id of " .. #id .. " bytes, more than the " .. maxid .. " an id may have"
        elseif total > maxpicks then
          pok, id = false, "find() returned more than " .. maxpicks .. " bytes of ids in all"
        end
      end
    end
    if not pok or tripped or memtripped then
      local o, m = classify(id)
      return reply(o, "pick", order, got, start, m)
    end
    got[#got + 1] = enc(id)
  end
  return reply("ok", "", order, got, start, "")
end

while true do
  local line = stdin:read("*l")
  if not line then break end
  local n, lim, picks, seed, mkb, mo, mi, mp, mm, module, spec =
    s_match(line, "^R\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  if not n then
    stderr:write("safewrr driver: malformed request\n")
    break
  end
  nonce, memkb = n, tonumber(mkb)
  maxorder, maxid, maxpicks, maxmsg = tonumber(mo), tonumber(mi), tonumber(mp), tonumber(mm)
  local ok, err = pcall(run, tonumber(lim), tonumber(picks), tonumber(seed), module, spec)
  if not ok then
    sethook()
    critical = false
    local sent = pcall(send, "V\t", nonce, "\terror\tdriver\t\t\t\t0\t", clean(tostring(err)), "\n")
    if not sent then break end
  end
end
