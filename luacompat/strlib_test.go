package luacompat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// patternChecks hold the sandbox's string functions to Lua 5.1's answers
// (each line is an assertion that holds under LuaJIT too; the e2e test runs
// them there).
var patternChecks = []string{
	`assert(string.find("hello world", "o w") == 5)`,
	`local a, b = string.find("hello", "l+"); assert(a == 3 and b == 4)`,
	`assert(string.find("hello", "xyz") == nil)`,
	`local a, b = string.find("a.b", ".", 1, true); assert(a == 2 and b == 2)`,
	`local a, b = string.find("a.b", "%."); assert(a == 2 and b == 2)`,
	`local a, b, c = string.find("key=val", "(%w+)="); assert(a == 1 and b == 4 and c == "key")`,
	`assert(string.find("abc", "b", -1) == nil and string.find("abc", "c", -1) == 3)`,
	`local a, b = string.find("abc", "", 10); assert(a == 4 and b == 3)`,
	`assert(string.find("", "") == 1)`,
	`assert(string.match("  trim  ", "^%s*(.-)%s*$") == "trim")`,
	`assert(string.match("10.0.0.3:80", "^(%d+%.%d+%.%d+%.%d+):(%d+)$") == "10.0.0.3")`,
	`local h, p = string.match("10.0.0.3:80", "^([^:]+):(%d+)$"); assert(h == "10.0.0.3" and p == "80")`,
	`assert(string.match("abc", "()b()") == 2)`,
	`local x, y = string.match("abc", "()b()"); assert(x == 2 and y == 3)`,
	`assert(string.match("f(a(b)c)d", "%b()") == "(a(b)c)")`,
	`assert(string.match("THE (quick) fox", "%f[%a]%a+") == "THE")`,
	`assert(string.match("hello", "(l)%1") == "l")`,
	`assert(string.match("x = 1", "^(%w+)%s*=%s*(%w+)$") == "x")`,
	`assert(string.match("aaa", "a-b") == nil and string.match("aaab", "a-b") == "aaab")`,
	`assert(string.match("abc", "[a-b]+") == "ab" and string.match("abc", "[^a]+") == "bc")`,
	`assert(string.match("a]b", "[]]") == "]" and string.match("a-b", "[a%-]+") == "a-")`,
	`assert(string.match("x$y", "x$y") == "x$y" and string.match("xy", "y$") == "y")`,
	`assert(string.match("abc", "^b") == nil and string.match("abc", "a?b") == "ab")`,
	`assert(string.match("\0x", "%z") == "\0")`,
	`local t = {}; for w in string.gmatch("one two  three", "%a+") do t[#t + 1] = w end; assert(#t == 3 and t[3] == "three")`,
	`local t = {}; for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[k] = v end; assert(t.a == "1" and t.b == "2")`,
	`local n = 0; for _ in string.gmatch("abc", "") do n = n + 1 end; assert(n == 4)`,
	`assert(string.gsub("hello world", "o", "0") == "hell0 w0rld")`,
	`local s, n = string.gsub("hello world", "(%w+)", "<%1>"); assert(s == "<hello> <world>" and n == 2)`,
	`assert(string.gsub("abc", "%w", "%0%0") == "aabbcc")`,
	`assert(string.gsub("abc", "", "-") == "-a-b-c-")`,
	`assert(string.gsub("hello", "l", "L", 1) == "heLlo")`,
	`assert(string.gsub("$name is $age", "%$(%w+)", {name = "bob", age = 3}) == "bob is 3")`,
	`assert(string.gsub("abc", "%w", function(c) if c == "b" then return false end return c:upper() end) == "AbC")`,
	`assert(string.gsub("abc", "^a", "x") == "xbc" and string.gsub("aaa", "^a", "x") == "xaa")`,
	`assert(string.gsub("a b", " ", "%%") == "a%b")`,
	`assert(not pcall(string.gsub, "abc", "%w", function() return {} end))`,
	`assert(not pcall(string.find, "abc", "[a"))`,
	`assert(not pcall(string.find, "abc", "%"))`,
	`assert(not pcall(string.match, "abc", "(()"))`,
	`assert(not pcall(string.match, "abc", "%1"))`,
	`assert(("x"):rep(3) == "xxx" and ("x"):rep(0) == "" and ("ab"):rep(2) == "abab")`,
	`assert(("x"):rep(3, ",") == "x,x,x" and ("x"):rep(1, ",") == "x" and (""):rep(3, "-") == "--")`,
	`assert(string.format("%5.2f|%d|%s|%x", 3.14159, 42, "s", 255) == " 3.14|42|s|ff")`,
	`assert(not pcall(string.format, "%100d", 1))`,
	`assert(table.concat({1, "a", 2.5}, ",") == "1,a,2.5")`,
	`assert(tostring(0.1 + 0.2) == "0.3" and tostring(1/0) == "inf" and tostring(10) == "10")`,
	`assert(("Ab"):upper() == "AB" and ("Ab"):lower() == "ab" and ("ab"):reverse() == "ba")`,
	`local t = {}; table.insert(t, 1); table.insert(t, 1, 0); assert(t[1] == 0 and t[2] == 1)`,
	`local t = {3, 1, 2}; table.sort(t); assert(t[1] == 1 and t[3] == 3)`,
}

func TestSandboxStringFunctions(t *testing.T) {
	for _, chunk := range patternChecks {
		res := loadedCheck(t, chunk)
		if res.Outcome != OutcomeOK {
			t.Errorf("%s: %s/%s %s", chunk, res.Outcome, res.Phase, res.Message)
		}
	}
}

// TestHostileModules: built-in functions and growth count against the step
// and memory limits, so none of these runs longer than its limits allow.
func TestHostileModules(t *testing.T) {
	tests := []struct {
		name, chunk string
		want        Outcome
		err         error
	}{
		{"backtracking find", `string.find(string.rep("a", 600), ".-.-.-b")`, OutcomeHang, ErrStepLimit},
		{"backtracking match", `string.match(string.rep("a", 5000), "(.-)%s*$x")`, OutcomeHang, ErrStepLimit},
		{"backtracking gmatch", `for x in string.gmatch(string.rep("a", 3000), ".-.-b") do end`, OutcomeHang, ErrStepLimit},
		{"backtracking gsub", `string.gsub(string.rep("a", 3000), ".-.-b", "")`, OutcomeHang, ErrStepLimit},
		{"table.concat of big strings", `local t = {}; local s = string.rep("x", 1048576); for i = 1, 512 do t[i] = s end; table.concat(t)`, OutcomeError, ErrMemoryLimit},
		{"doubling concat", `local s = "x"; for i = 1, 40 do s = s .. s end`, OutcomeError, ErrMemoryLimit},
		{"huge rep", `string.rep("x", 1e9)`, OutcomeError, ErrMemoryLimit},
		{"rep of rep", `local s = string.rep("ab", 1e6); s = string.rep(s, 1e3)`, OutcomeError, ErrMemoryLimit},
		{"gsub amplification", `string.gsub(string.rep("x", 1000), ".", string.rep("y", 10000))`, OutcomeError, ErrMemoryLimit},
		{"format padding", `string.format("%99999999d", 1)`, OutcomeError, nil},
		{"table growth", `local t = {}; local i = 0; while true do i = i + 1; t[i] = i; t[-i] = i; t[i + 0.5] = i end`, OutcomeHang, ErrStepLimit},
		{"table.insert growth", `local t = {}; while true do table.insert(t, 1) end`, OutcomeHang, ErrStepLimit},
		{"pattern too deep", `string.match(string.rep("a", 300), string.rep("a?", 300))`, OutcomeError, nil},
		// Bytes are counted over the whole run, freed or not.
		{"upper in a loop", `local s = string.rep("x", 1048576); for i = 1, 1e6 do s:upper() end`, OutcomeError, ErrMemoryLimit},
		{"plain find in a loop", `local s = string.rep("x", 100000); for i = 1, 1e6 do s:find("y", 1, true) end`, OutcomeHang, ErrStepLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := loadedCheck(t, tt.chunk)
			if res.Outcome != tt.want || res.Phase != PhaseBuild {
				t.Fatalf("%s: %s/%s %q after %d steps, want %s/build", tt.chunk, res.Outcome, res.Phase, res.Message, res.Steps, tt.want)
			}
			if tt.err != nil && !errors.Is(res.Err, tt.err) {
				t.Errorf("Err = %v, want %v", res.Err, tt.err)
			}
			if errors.Is(res.Err, context.DeadlineExceeded) {
				t.Errorf("stopped by the wall-clock safety net, not by a limit: %q", res.Message)
			}
		})
	}
}

// TestMemoryLimitConfigurable: the memory limit is the caller's.
func TestMemoryLimitConfigurable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "m.lua"), `
		return { new = function(_, nodes) local s = string.rep("x", 2000000); return { find = function() return "a" end } end }`)
	nodes := []weights.Entry{{ID: "a", Weight: weights.Int(1)}}
	res := run(t, Config{LuaPath: dir, Module: "m", Nodes: nodes, Picks: 1})
	if res.Outcome != OutcomeOK {
		t.Fatalf("2 MB under the default limit: %s %q", res.Outcome, res.Message)
	}
	res = run(t, Config{LuaPath: dir, Module: "m", Nodes: nodes, Picks: 1, MemoryLimit: 1 << 20})
	if res.Outcome != OutcomeError || !errors.Is(res.Err, ErrMemoryLimit) || !strings.Contains(res.Message, "memory limit") {
		t.Fatalf("2 MB under a 1 MiB limit: %s %q (%v)", res.Outcome, res.Message, res.Err)
	}
}

// TestModuleFileMustBeRegularAndSmall: a FIFO or an oversized file fails to
// load at once; neither is opened for a blocking read nor read whole.
func TestModuleFileMustBeRegularAndSmall(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "resty", "roundrobin.lua")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard: a blocking open would hang the test
	defer cancel()
	res, err := Run(ctx, Config{LuaPath: dir, Nodes: IncidentNodes()})
	if err != nil || res.Outcome != OutcomeError || res.Phase != PhaseLoad || !strings.Contains(res.Message, "not a regular file") {
		t.Fatalf("FIFO module: %s/%s %q, %v", res.Outcome, res.Phase, res.Message, err)
	}

	big := t.TempDir()
	writeFile(t, filepath.Join(big, "resty", "roundrobin.lua"), "")
	f, err := os.OpenFile(filepath.Join(big, "resty", "roundrobin.lua"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil { // a sparse 3 GiB file
		t.Fatal(err)
	}
	f.Close()
	res = run(t, Config{LuaPath: big, Nodes: IncidentNodes()})
	if res.Outcome != OutcomeError || res.Phase != PhaseLoad || !strings.Contains(res.Message, "more than the 1048576") {
		t.Fatalf("3 GiB module: %s/%s %q", res.Outcome, res.Phase, res.Message)
	}

}
