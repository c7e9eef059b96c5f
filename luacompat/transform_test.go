package luacompat

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// checkModule is a balancer module whose new() runs chunk (with the node
// table as nodes) and returns a balancer that always picks "a".
func checkModule(chunk string) string {
	return `
		local M = {}
		function M.new(_, nodes)
			` + chunk + `
			return { find = function() return "a" end }
		end
		return M`
}

// loadedCheck runs chunk as the body of a module's new() under a loaded
// module's rewrite and returns the result's outcome and message. The chunk
// returns nothing on success or raises an error.
func loadedCheck(t *testing.T, chunk string) Result {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "check.lua"), checkModule(chunk))
	// Small limits keep the hostile runs short; the safety net is out of
	// reach, so only the limits decide.
	res, err := Run(context.Background(), Config{LuaPath: dir, Module: "check", Nodes: []weights.Entry{{ID: "a", Weight: weights.Int(1)}}, Picks: 1,
		StepLimit: 50_000, MemoryLimit: 8 << 20, Budget: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLoadedCodeGetsLuaJITArithmetic(t *testing.T) {
	for _, chunk := range []string{
		// Lua 5.1's %, not C's fmod.
		`local x = 1 % 1.56e-317; assert(x == -1/0, tostring(x))`,
		`local x = 10 % (1/0); assert(x ~= x, tostring(x))`,
		`assert(-7 % 3 == 2 and 7 % -3 == -2 and 5.5 % 2 == 1.5)`,
		`local z = 0; local x = 10 % z; assert(x ~= x)`,
		`local x = 10 % "0"; assert(x ~= x)`,
		// Strings in arithmetic, as LuaJIT reads them.
		`assert("017" + 0 == 17 and "1e2" * 1 == 100 and "0x10" - 0 == 16 and -"2" == -2)`,
		`assert("0b101" + 0 == 5 and not pcall(function() return "0b2" + 0 end))`,
		`assert(not pcall(function() return "1_0" + 0 end))`,
		`assert(" 5 " + 1 == 6 and "inf" + 0 == 1/0)`,
		`local ok, msg = pcall(function() return {} + 1 end); assert(not ok and msg:find("arithmetic on a table"), msg)`,
		`local ok, msg = pcall(function() return "x" .. {} end); assert(not ok and msg:find("concatenate"), msg)`,
		// Metamethods still apply.
		`local mt = {__add = function(a, b) return 42 end, __concat = function() return "cc" end, __unm = function() return 7 end, __mod = function() return 9 end}
		 local v = setmetatable({}, mt); assert(v + 1 == 42 and 1 + v == 42 and v .. "x" == "cc" and -v == 7 and v % 2 == 9)`,
		// Numbers written as LuaJIT writes them.
		`assert(0.1 + 0.2 .. "" == "0.3" and 1e15 .. "" == "1e+15" and 100 .. "" == "100")`,
		`assert((1/0) .. "" == "inf" and (-1/0) .. "" == "-inf" and 2^53 .. "" == "9.007199254741e+15")`,
		`assert("a" .. 1 .. "b" .. 2.5 == "a1b2.5")`,
		// Numeric for loops coerce strings, as LuaJIT does.
		`local n = 0; for i = "1", "3" do n = n + i end; assert(n == 6)`,
		`assert(not pcall(function() for i = "x", 2 do end end))`,
		// Assignments and constructors behave as before.
		`local t = {1, 2, x = 3}; t[4] = 4; t.y = 5; assert(#t == 2 or t[4] == 4); assert(t.x + t.y == 8)`,
		`local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end}); t.a = 2; assert(t.a == 4)`,
		`local t = {}; assert(not pcall(function() t[0/0] = 1 end)); assert(not pcall(function() t[nil] = 1 end))`,
		// gopher-lua's own code gets a swap wrong; the rewrite does not.
		`local a, b = 1, 2; a, b = b, a; assert(a == 2 and b == 1)`,
		`local t = {1, 2}; t[1], t[2] = t[2], t[1]; assert(t[1] == 2 and t[2] == 1)`,
		`local function two() return 3, 4 end; local a, b, c = 0, 0, 0; a, b, c = two(); assert(a == 3 and b == 4 and c == nil)`,
		`local i, t = 1, {}; i, t[i] = i + 1, 20; assert(i == 2 and t[1] == 20 and t[2] == nil)`,
		`local i = 0; ::top:: i = i + 1; if i < 5 then goto top end; assert(i == 5)`,
	} {
		res := loadedCheck(t, chunk)
		if res.Outcome != OutcomeOK {
			t.Errorf("%s: %s/%s %s", chunk, res.Outcome, res.Phase, res.Message)
		}
	}
}

func TestLoadedCodeCountsSteps(t *testing.T) {
	tests := []struct {
		name, chunk string
		want        Outcome
		msg         string
	}{
		{"while", `while true do end`, OutcomeHang, "step limit reached in build"},
		{"repeat", `repeat until false`, OutcomeHang, "step limit"},
		{"numeric for", `for i = 1, 1e300 do end`, OutcomeHang, "step limit"},
		{"generic for", `local function it() return 1 end; for x in it do end`, OutcomeHang, "step limit"},
		{"goto", `::again:: goto again`, OutcomeHang, "step limit"},
		{"tail recursion", `local function f(a) return f(a) end; f(1)`, OutcomeHang, "step limit"},
		{"pcall swallows the limit", `while true do pcall(function() while true do end end) end`, OutcomeHang, "step limit"},
		{"pcall then return", `pcall(function() while true do end end)`, OutcomeHang, "step limit"},
		{"bounded loop", `local n = 0; for i = 1, 1000 do n = n + i end; assert(n == 500500)`, OutcomeOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := loadedCheck(t, tt.chunk)
			if res.Outcome != tt.want || !strings.Contains(res.Message, tt.msg) {
				t.Fatalf("%s: %s/%s %q (%d steps), want %s %q", tt.chunk, res.Outcome, res.Phase, res.Message, res.Steps, tt.want, tt.msg)
			}
		})
	}
}

func TestLoadPhaseHang(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "resty", "roundrobin.lua"), `while true do end`)
	res := run(t, Config{LuaPath: dir, Nodes: IncidentNodes()})
	if res.Outcome != OutcomeHang || res.Phase != PhaseLoad {
		t.Fatalf("= %s/%s %q, want hang/load", res.Outcome, res.Phase, res.Message)
	}
}

func TestDecodeID(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a%2cb": "a,b", "%25%09%00": "%\t\x00"} {
		if got, err := decodeID(in); err != nil || got != want {
			t.Errorf("decodeID(%q) = %q, %v want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"%", "%2", "%zz"} {
		if _, err := decodeID(bad); err == nil {
			t.Errorf("decodeID(%q): no error", bad)
		}
	}
}
