package luacompat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// The hostile-module catalog: modules written as an attacker would write
// them, run under both engines where the attack applies. Each case names
// the verdict it must end with; the runner also requires that no file
// appears outside the run (a canary directory the module names, and the
// module directory itself) and that the peak RSS stays under
// hostileMaxRSS. TestHostileCatalog runs it under gopher-lua; under the
// e2e build tag TestHostileCatalogLuaJIT runs it under LuaJIT.

// hostileMaxRSS bounds the peak resident set of the process that ran the
// Lua code (this one for gopher-lua, the co-process for LuaJIT).
const hostileMaxRSS = 512 << 20

// escape is what a case does when it got hold of something it must not
// have: it writes the canary and fails loudly, so either check catches it.
const escape = `
local function escaped(how, os_)
  pcall(function() os_.execute("touch CANARY/escaped") end)
  pcall(function() local f = io.open("CANARY/escaped-io", "w"); f:write("x"); f:close() end)
  error("ESCAPED: " .. how)
end
`

// validModule is a valid module body: every pick is "a".
const validModule = `
return { new = function(self, nodes) return { find = function() return "a" end } end }
`

type expect struct {
	outcome Outcome
	phase   Phase
	msg     string // a substring of the message
	err     error  // errors.Is(res.Err, err) when set
	// byClock: the wall-clock safety net is the intended stop (a C
	// function that runs for hours under LuaJIT).
	byClock bool
}

type hostileCase struct {
	name string
	// files are written to the module directory (CANARY is replaced by
	// the canary directory); the module is resty.roundrobin.
	files map[string]string
	setup func(t *testing.T, dir, outside string)
	// want is the verdict under both engines; luajit, when set, under
	// LuaJIT instead.
	want, luajit *expect
	budget       time.Duration // under LuaJIT, for a case the clock stops
	memory       int64         // the memory limit; 0 means 16 MiB
	steps        int           // the step limit; 0 means 20,000
	// gopherSteps, when set, is the step limit under gopher-lua: high
	// enough that uncharged work would run into the minute's clock long
	// before the count, so only a charge ends the run by the count.
	gopherSteps int
}

func mod(src string) map[string]string {
	return map[string]string{"resty/roundrobin.lua": escape + src}
}

var (
	hangLoad   = &expect{outcome: OutcomeHang, phase: PhaseLoad, err: ErrStepLimit}
	hangBuild  = &expect{outcome: OutcomeHang, phase: PhaseBuild, err: ErrStepLimit}
	hangPick   = &expect{outcome: OutcomeHang, phase: PhasePick, err: ErrStepLimit}
	memoryLoad = &expect{outcome: OutcomeError, phase: PhaseLoad, msg: "memory limit", err: ErrMemoryLimit}
	servesA    = &expect{outcome: OutcomeOK}
)

func errorIn(p Phase, msg string) *expect { return &expect{outcome: OutcomeError, phase: p, msg: msg} }

func hostileCatalog() []hostileCase {
	return []hostileCase{
		// loadstring and load compile through the same rewrite as a file.
		{name: "loadstring infinite loop", files: mod(`loadstring("while true do end")()` + validModule), want: hangLoad},
		{name: "load(function) infinite loop", files: mod(`
			local parts = {"while true ", "do end"}
			local i = 0
			load(function() i = i + 1; return parts[i] end)()` + validModule), want: hangLoad},
		// The memory bomb meets the step limit first; the next one builds a
		// kilobyte per step.
		{name: "loadstring memory bomb", files: mod(`loadstring("local t = {} for i = 1, 3e8 do t[i] = i end")()` + validModule), want: hangLoad,
			luajit: memoryLoad}, // LuaJIT's array grows faster than its instructions count
		{name: "loadstring memory bomb of strings", files: mod(`loadstring("local t = {} for i = 1, 3e8 do t[i] = string.rep('x', 16384) .. i end")()` + validModule), want: memoryLoad},
		{name: "loadstring inside new", files: mod(`
			return { new = function(self, nodes) loadstring("local x = 0 while true do x = x + 1 end")() end }`), want: hangBuild},
		{name: "loadstring of a string and tostring bomb", files: mod(`loadstring("local s = 'x' while true do s = s .. s end")()` + validModule), want: memoryLoad},
		// Built-ins whose work is not bounded by their arguments' size.
		{name: "pcall(unpack, {}, 1, 2^30) in a loop", files: mod(`while true do pcall(unpack, {}, 1, 2^30) end` + validModule), want: hangLoad, steps: 4000},
		{name: "unpack with a huge range", files: mod(`local ok, e = pcall(unpack, {}, 1, 2^30); assert(not ok and e:find("too many results"), e)` + validModule), want: servesA},
		{name: "string.byte of a long string", files: mod(`local s = string.rep("x", 1e6); while true do pcall(string.byte, s, 1, -1) end` + validModule), want: hangLoad, steps: 4000},
		{name: "table.concat over a huge range", files: mod(`table.concat({}, "", 1, 2^30)` + validModule), want: errorIn(PhaseLoad, "invalid value")},
		{name: "select over many arguments", files: mod(`local t = {} for i = 1, 7000 do t[i] = i end; while true do select(-1, unpack(t)) end` + validModule), want: hangLoad,
			// Under LuaJIT unpack and select copy 7,000 values in C for one
			// instruction; the driver charges them as gopher-lua does, so the
			// count ends the run long before this budget.
			budget: 4 * time.Second},
		{name: "insert and remove at the front of a big table", files: mod(`
			local t = {} for i = 1, 200000 do t[i] = i end
			while true do table.insert(t, 1, 0); table.remove(t, 1) end` + validModule), want: hangLoad},
		{name: "tonumber of a long string", files: mod(`local s = string.rep("1", 4e6); while true do tonumber(s) end` + validModule), want: hangLoad,
			budget: 4 * time.Second}, // charged by the driver too
		{name: "arithmetic on a long string", files: mod(`local s = string.rep("1", 4e6); while true do local x = s + 1 end` + validModule), want: hangLoad,
			luajit: &expect{outcome: OutcomeHang, phase: PhaseLoad, byClock: true}, budget: 2 * time.Second},
		// What a run returns is bounded.
		{name: "a 30 MiB id", files: mod(`
			return { new = function(self, nodes) return { find = function() return string.rep("x", 30 * 2^20) end } end }`),
			want: errorIn(PhasePick, "more than the 4096 an id may have"), memory: 64 << 20},
		{name: "find returns a table with a looping __tostring", files: mod(`
			local id = setmetatable({}, { __tostring = function() while true do end end })
			return { new = function(self, nodes) return { find = function() return id end } end }`),
			want: errorIn(PhasePick, "not an id")},
		{name: "error object with a looping __tostring", files: mod(`
			error(setmetatable({}, { __tostring = function() while true do end end }))`),
			want: &expect{outcome: OutcomeError, phase: PhaseLoad}},
		{name: "a table as the error object", files: mod(`error({})`), want: errorIn(PhaseLoad, "(error object is a table value)")},
		{name: "a module that requires itself", files: mod(`require("resty.roundrobin")` + validModule), want: &expect{outcome: OutcomeError, phase: PhaseLoad}},
		{name: "a module that requires itself, caught", files: mod(`pcall(require, "resty.roundrobin")` + validModule), want: servesA},
		{name: "a megabyte module name", files: mod(`require(string.rep("x", 2^20))` + validModule), want: errorIn(PhaseLoad, "")},
		{name: "a global __index that loops", files: mod(`setmetatable(_G, { __index = function() while true do end end }); local x = undefined_global` + validModule), want: hangLoad},
		{name: "a 10 MiB error message", files: mod(`error(string.rep("e", 10 * 2^20))`), want: errorIn(PhaseLoad, "bytes in all)")},
		// The libraries a module must not reach.
		{name: "os.execute", files: mod(`os.execute("touch CANARY/os")` + validModule), want: errorIn(PhaseLoad, "")},
		{name: "io.open", files: mod(`local f = io.open("CANARY/io", "w"); f:write("x"); f:close()` + validModule), want: errorIn(PhaseLoad, "")},
		{name: "ffi.C.system", files: mod(`
			local ffi = require("ffi")
			ffi.cdef("int system(const char *);")
			ffi.C.system("touch CANARY/ffi")` + validModule), want: errorIn(PhaseLoad, "ffi")},
		{name: "require of the standard libraries", files: mod(`
			for _, name in ipairs({"os", "io", "debug", "jit", "ffi", "jit.util", "jit.profile", "string.buffer", "coroutine"}) do
			  local ok, lib = pcall(require, name)
			  if ok and type(lib) == "table" then escaped("require " .. name, lib) end
			end` + validModule), want: servesA},
		{name: "globals hold no library", files: mod(`
			for _, name in ipairs({"os", "io", "debug", "jit", "ffi", "dofile", "loadfile", "newproxy", "gcinfo", "module"}) do
			  if rawget(_G, name) ~= nil and name ~= "module" then escaped("global " .. name, os) end
			end
			assert(package == nil or package.loadlib == nil)
			assert(string.dump == nil)` + validModule), want: servesA},
		// The count hook and the verdict channel.
		{name: "debug.sethook() then loop", files: mod(`pcall(function() debug.sethook() end); while true do end` + validModule), want: hangLoad},
		{name: "jit.on() then loop", files: mod(`pcall(function() jit.on() end); pcall(function() require("jit").on() end); while true do end` + validModule), want: hangLoad},
		{name: "debug.setupvalue on the hook's counters", files: mod(`
			pcall(function()
			  local f = debug.gethook()
			  for i = 1, 10 do debug.setupvalue(f, i, 0) end
			end)
			while true do end` + validModule), want: hangLoad},
		{name: "forged verdict on stdout, then loop forever", files: mod(`
			local forged = "ok\t\ta\ta,a,a,a,a,a,a,a,a,a,a,a\t\t0\t\n"
			pcall(print, forged)
			pcall(function() io.write(forged); io.flush() end)
			pcall(function() io.stdout:write(forged) end)
			while true do end` + validModule), want: hangLoad},
		{name: "pcall catching the limit", files: mod(`while true do pcall(function() while true do end end) end` + validModule), want: hangLoad},
		{name: "xpcall handler that loops", files: mod(`
			while true do xpcall(function() while true do end end, function() while true do end end) end` + validModule), want: hangLoad},
		// Environments.
		{name: "getfenv of everything reachable", files: mod(`
			local function look(env, how)
			  if type(env) == "table" and (rawget(env, "os") or rawget(env, "io") or rawget(env, "debug") or rawget(env, "jit")) then
			    escaped(how, rawget(env, "os"))
			  end
			end
			for level = 0, 8 do local ok, env = pcall(getfenv, level); if ok then look(env, "getfenv level " .. level) end end
			for name, f in pairs(_G) do
			  if type(f) == "function" then local ok, env = pcall(getfenv, f); if ok then look(env, "getfenv " .. name) end end
			end
			for name, lib in pairs({string = string, table = table, math = math}) do
			  for k, f in pairs(lib) do
			    if type(f) == "function" then local ok, env = pcall(getfenv, f); if ok then look(env, "getfenv " .. name .. "." .. k) end end
			  end
			end` + validModule), want: servesA},
		{name: "setfenv on the harness", files: map[string]string{"resty/roundrobin/helper.lua": "return {v = 1}", "resty/roundrobin.lua": escape + `
			local G, pcall, setfenv, ipairs = _G, pcall, setfenv, ipairs
			local empty = {}
			for level = 0, 8 do pcall(setfenv, level, empty) end
			for _, f in ipairs({require, pcall, pairs, next, tostring, error, loadstring}) do pcall(setfenv, f, empty) end
			setfenv(1, G)
			assert(require("resty.roundrobin.helper").v == 1)` + validModule}, want: servesA},
		{name: "string metatable tampering", files: mod(`
			pcall(function() getmetatable("").__index = function() while true do end end end)
			pcall(function() string.gsub = function() while true do end end; string.format = nil; string.rep = nil end)` + validModule), want: servesA},
		// Bytecode.
		{name: "string.dump and load of bytecode", files: mod(`
			assert(string.dump == nil, "string.dump reachable")
			local bc = "\27LJ\2\10\0\0\0\0"
			local f, e = loadstring(bc)
			assert(f == nil and tostring(e):find("binary"), e)
			f, e = load(bc, "x", "b")
			assert(f == nil, "load of bytecode")
			local i = 0
			f, e = load(function() i = i + 1; if i == 1 then return "\27" end; if i == 2 then return "LJ" end end)
			assert(f == nil and tostring(e):find("binary"), e)` + validModule), want: servesA},
		{name: "a module file of bytecode", files: map[string]string{"resty/roundrobin.lua": "\x1bLJ\x02\x00\x00"}, want: errorIn(PhaseLoad, "binary chunks are refused")},
		// Files.
		{name: "require outside DIR", files: mod(`
			for _, name in ipairs({"..outside", "../outside", "/etc/passwd", "resty..x", "outside"}) do
			  local ok, m = pcall(require, name)
			  if ok then escaped("require " .. name, os) end
			end` + validModule), setup: func(t *testing.T, dir, outside string) {
			writeFile(t, filepath.Join(filepath.Dir(dir), "outside.lua"), `return {}`)
			if err := os.Symlink(filepath.Join(outside, "target.lua"), filepath.Join(dir, "outside.lua")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(outside, "target.lua"), `return {}`)
		}, want: servesA},
		{name: "a FIFO as the module file", setup: func(t *testing.T, dir, outside string) {
			if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(dir, "resty", "roundrobin.lua"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: errorIn(PhaseLoad, "not a regular file")},
		{name: "a 3 GiB module file", setup: func(t *testing.T, dir, outside string) {
			writeFile(t, filepath.Join(dir, "resty", "roundrobin.lua"), "")
			if err := os.Truncate(filepath.Join(dir, "resty", "roundrobin.lua"), 3<<30); err != nil {
				t.Fatal(err)
			}
		}, want: errorIn(PhaseLoad, "more than the 1048576")},
		{name: "a required FIFO", files: mod(`require("resty.pipe")` + validModule), setup: func(t *testing.T, dir, outside string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "resty", "pipe.lua"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: errorIn(PhaseLoad, "not a regular file")},
		// Bombs.
		{name: "string doubling", files: mod(`local s = "x" for i = 1, 40 do s = s .. s end` + validModule), want: memoryLoad},
		{name: "string.rep of 2^30", files: mod(`local s = string.rep("x", 2^30)` + validModule),
			want: &expect{outcome: OutcomeError, phase: PhaseLoad, err: ErrMemoryLimit}},
		{name: "distinct strings kept alive", files: mod(`
			local t = {} local i = 0
			while true do i = i + 1; t[i] = string.rep("x", 10000) .. i end` + validModule), want: memoryLoad},
		{name: "tables kept alive", files: mod(`
			local t = {} local i = 0
			while true do
			  i = i + 1
			  t[i] = {i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i,
			          i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i}
			end` + validModule), want: memoryLoad},
		{name: "deeply nested source", files: mod(`return ` + strings.Repeat("{", 100000) + strings.Repeat("}", 100000)),
			want: errorIn(PhaseLoad, "syntax levels")},
		{name: "deeply nested loadstring", files: mod(`
			local f, e = loadstring("return " .. string.rep("{", 100000) .. string.rep("}", 100000))
			assert(f == nil and e:find("syntax levels"), e)` + validModule), want: servesA},
		{name: "recursion without a tail call", files: mod(`local function f(n) return 1 + f(n + 1) end f(1)` + validModule),
			want: &expect{outcome: OutcomeError, phase: PhaseLoad}},
		// Pattern backtracking: the sandbox's matcher counts it under
		// gopher-lua; LuaJIT's C matcher is stopped by the wall clock,
		// in the phase it was in.
		{name: "pattern backtracking at load", files: mod(`string.find(string.rep("a", 600), ".-.-.-b")` + validModule), want: hangLoad,
			luajit: &expect{outcome: OutcomeHang, phase: PhaseLoad, byClock: true}, budget: 2 * time.Second},
		{name: "pattern backtracking in find", files: mod(`
			return { new = function(self, nodes) return { find = function() string.find(string.rep("a", 600), ".-.-.-b"); return "a" end } end }`),
			want: hangPick, luajit: &expect{outcome: OutcomeHang, phase: PhasePick, byClock: true}, budget: 2 * time.Second},
		// Built-ins that call back into Lua stay counted.
		{name: "gsub with a looping replacement", files: mod(`string.gsub("abc", ".", function() while true do end end)` + validModule), want: hangLoad},
		{name: "sort with a looping comparator", files: mod(`table.sort({3, 2, 1}, function() while true do end end)` + validModule), want: hangLoad},
		{name: "__index that loops on find", files: mod(`
			return { new = function(self, nodes) return setmetatable({}, { __index = function() while true do end end }) end }`), want: hangPick},
		// Caught errors: raising and unwinding costs LuaJIT far more than
		// the instructions its hook counts, so each caught error is charged
		// caughtErrorSteps under both engines. The budget under LuaJIT is
		// far above what the charged run takes, far below what an uncharged
		// one would: the count must end it.
		{name: "a loop of caught errors", files: mod(`while true do pcall(error, "x") end` + validModule),
			want: hangLoad, steps: 100_000, budget: 4 * time.Second},
		{name: "a loop of caught errors raised in Lua", files: mod(`
			local function f() error("x") end
			for i = 1, 1e9 do pcall(f) end` + validModule), want: hangLoad, steps: 100_000, budget: 4 * time.Second},
		{name: "a loop of errors caught by xpcall", files: mod(`
			local function h(e) return e end
			while true do xpcall(error, h, "x") end` + validModule), want: hangLoad, steps: 100_000, budget: 4 * time.Second},
		{name: "a loop of pcall(unpack) in new", files: mod(`
			return { new = function(self, nodes) while true do pcall(unpack, {}, 1, 2^30) end end }`),
			want: hangBuild, steps: 100_000, budget: 4 * time.Second},
		// Long strings: gopher-lua compares them byte by byte and hashes a
		// string key in full on every lookup, work the rewrite charges by
		// length; LuaJIT interns strings, so == and lookups cost the same
		// for any length there, and each loop ends by the step count.
		{name: "== of two long strings in a loop", files: mod(`
			local a, b = string.rep("a", 2^23), string.rep("a", 2^23)
			while true do if a == b then end end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000},
		{name: "~= of two long strings inside pcall", files: mod(`
			local a, b = string.rep("a", 2^23), string.rep("a", 2^23)
			local function f() while true do if a ~= b then end end end
			while true do pcall(f) end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000},
		{name: "a long string as a table key", files: mod(`
			local s, t = string.rep("k", 2^23), {}
			while true do t[s] = 1; local x = t[s] end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000},
		{name: "rawget, rawset and next with a long key", files: mod(`
			local s, t = string.rep("k", 2^23), {}
			rawset(t, s, 1)
			while true do rawget(t, s); next(t, s); for k in pairs(t) do end end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000},
		{name: "a long string key in a constructor", files: mod(`
			local s = string.rep("k", 2^23)
			while true do local t = {[s] = 1} end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000},
		// < walks both strings in either engine; LuaJIT's count cannot see
		// it, so the clock ends that run.
		{name: "< of two long strings in a loop", files: mod(`
			local a, b = string.rep("a", 2^23), string.rep("a", 2^23)
			while true do if a < b or a >= b then end end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000,
			luajit: &expect{outcome: OutcomeHang, phase: PhaseLoad, byClock: true}, budget: time.Second},
		{name: "sort of long strings in a loop", files: mod(`
			local t = {} for i = 1, 8 do t[i] = string.rep("a", 2^20) .. (9 - i) end
			while true do table.sort(t); t[1], t[8] = t[8], t[1] end` + validModule), want: hangLoad, memory: 64 << 20, gopherSteps: 250_000,
			luajit: &expect{outcome: OutcomeHang, phase: PhaseLoad, byClock: true}, budget: time.Second},
	}
}

// runCatalog runs every case that applies to engine and checks it.
func runCatalog(t *testing.T, engine string, peakRSS func() int64) {
	start := time.Now()
	ran := 0
	for _, c := range hostileCatalog() {
		want := c.want
		if engine == EngineLuaJIT && c.luajit != nil {
			want = c.luajit
		}
		ran++
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir, outside := filepath.Join(root, "lib"), filepath.Join(root, "outside")
			for _, d := range []string{dir, outside} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, src := range c.files {
				writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), strings.ReplaceAll(src, "CANARY", outside))
			}
			if c.setup != nil {
				c.setup(t, dir, outside)
			}
			writeFile(t, filepath.Join(dir, "safewrr_after.lua"), validModule)
			before := listTree(t, root)
			budget := time.Minute // far off: the limits decide
			if engine == EngineLuaJIT && c.budget != 0 {
				budget = c.budget
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard only
			defer cancel()
			memory := c.memory
			if memory == 0 {
				memory = 16 << 20
			}
			steps := c.steps
			if engine == EngineGopherLua && c.gopherSteps != 0 {
				steps = c.gopherSteps
			}
			if steps == 0 {
				steps = 20_000
			}
			res, err := Run(ctx, Config{LuaPath: dir, Nodes: []weights.Entry{{ID: "a", Weight: weights.Int(1)}}, Picks: 3,
				StepLimit: steps, MemoryLimit: memory, Budget: budget, Engine: engine})
			if err != nil {
				t.Fatalf("%s: %v", engine, err)
			}
			got := string(res.Outcome) + "/" + string(res.Phase)
			if got != string(want.outcome)+"/"+string(want.phase) || !strings.Contains(res.Message, want.msg) {
				t.Errorf("%s: %s %q, want %s/%s %q", engine, got, res.Message, want.outcome, want.phase, want.msg)
			}
			if strings.Contains(res.Message, "ESCAPED") {
				t.Errorf("%s: the module escaped: %s", engine, res.Message)
			}
			if want.err != nil && !errors.Is(res.Err, want.err) {
				t.Errorf("%s: Err = %v, want %v", engine, res.Err, want.err)
			}
			if clock := errors.Is(res.Err, context.DeadlineExceeded); clock != want.byClock {
				t.Errorf("%s: stopped by the wall clock: %v, want %v (%q)", engine, clock, want.byClock, res.Message)
			}
			if res.Outcome == OutcomeOK && !slices.Equal(res.Picks, []string{"a", "a", "a"}) {
				t.Errorf("%s: picks %q", engine, res.Picks)
			}
			if len(res.Message) > MaxMessageLength+64 {
				t.Errorf("%s: message of %d bytes", engine, len(res.Message))
			}
			// The harness still works after the attack (under LuaJIT, in
			// the same co-process unless the run killed it).
			after, err := Run(ctx, Config{LuaPath: dir, Module: "safewrr_after", Nodes: []weights.Entry{{ID: "a", Weight: weights.Int(1)}}, Picks: 3, Engine: engine})
			if err != nil || after.Outcome != OutcomeOK || !slices.Equal(after.Picks, []string{"a", "a", "a"}) {
				t.Errorf("%s: a valid module after the attack: %s %q %q (%v)", engine, after.Outcome, after.Message, after.Picks, err)
			}
			if after := listTree(t, root); !slices.Equal(before, after) {
				t.Errorf("%s: files changed: before %q, after %q", engine, before, after)
			}
			if rss := peakRSS(); rss >= hostileMaxRSS {
				t.Errorf("%s: peak RSS %d MiB, more than %d MiB", engine, rss>>20, hostileMaxRSS>>20)
			}
		})
	}
	t.Logf("%s: %d cases in %v", engine, ran, time.Since(start).Round(time.Millisecond))
}

// listTree lists every path under root.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// selfPeakRSS is this process's peak resident set, in bytes.
func selfPeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}

func TestHostileCatalog(t *testing.T) {
	runCatalog(t, EngineGopherLua, selfPeakRSS)
}

// TestDriverChargesCaughtErrorsAsGopherLua: the LuaJIT driver charges a
// caught error the instructions of caughtErrorSteps steps.
func TestDriverChargesCaughtErrorsAsGopherLua(t *testing.T) {
	want := "local ERROR_COST = " + strconv.Itoa(caughtErrorSteps*LuaJITInstructionsPerStep) + "\n"
	if !strings.Contains(luajitDriver, want) {
		t.Errorf("driver.lua does not say %q", want)
	}
}

// TestDriverChargesStepsAsGopherLua: the LuaJIT driver's step is
// LuaJITInstructionsPerStep instructions.
func TestDriverChargesStepsAsGopherLua(t *testing.T) {
	want := "local STEP_COST = " + strconv.Itoa(LuaJITInstructionsPerStep) + "\n"
	if !strings.Contains(luajitDriver, want) {
		t.Errorf("driver.lua does not say %q", want)
	}
}
