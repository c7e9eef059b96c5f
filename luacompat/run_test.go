package luacompat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

func run(t *testing.T, cfg Config) Result {
	t.Helper()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run(%s, %s) error: %v", cfg.Model, FormatSpec(cfg.Nodes), err)
	}
	return res
}

func TestIncidentHangsOn2020EveryRun(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		limit := 20_000 // a hang is a hang at any limit; seed 0 uses the default
		if seed == 0 {
			limit = 0
		}
		res := run(t, Config{Model: Resty2020, Nodes: IncidentNodes(), Seed: seed, Trace: 4, StepLimit: limit})
		if res.Outcome != OutcomeHang || res.Phase != PhaseBuild {
			t.Fatalf("seed %d: 2020 model on the incident = %s/%s %q, want hang/build", seed, res.Outcome, res.Phase, res.Message)
		}
		if !errors.Is(res.Err, ErrStepLimit) {
			t.Errorf("seed %d: Err = %v, want ErrStepLimit", seed, res.Err)
		}
		want := []string{`_gcd(10, "0")`, `_gcd("0", nan)`, `_gcd(nan, nan)`, `_gcd(nan, nan)`}
		var got []string
		for _, c := range res.Trace {
			got = append(got, c.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("seed %d: trace = %q, want %q", seed, got, want)
		}
		if !slices.Equal(res.Order, []string{IncidentGoodID, IncidentBadID}) {
			t.Errorf("seed %d: order = %q", seed, res.Order)
		}
		if res.Steps < res.StepLimit || seed == 0 && res.StepLimit != DefaultStepLimit {
			t.Errorf("seed %d: steps %d, limit %d", seed, res.Steps, res.StepLimit)
		}
	}
}

func TestIncidentServesOn2021EveryRun(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		res := run(t, Config{Model: Resty2021, Nodes: IncidentNodes(), Seed: seed, Picks: 20})
		if res.Outcome != OutcomeOK || len(res.Picks) != 20 {
			t.Fatalf("seed %d: 2021 model = %s/%s %q with %d picks, want ok with 20", seed, res.Outcome, res.Phase, res.Message, len(res.Picks))
		}
		for i, p := range res.Picks {
			if p != IncidentGoodID {
				t.Fatalf("seed %d: pick %d = %q, want %q", seed, i, p, IncidentGoodID)
			}
		}
	}
}

func TestOutcomes(t *testing.T) {
	e := func(id string, w weights.Raw) weights.Entry { return weights.Entry{ID: id, Weight: w} }
	nan, inf := weights.Number("NaN"), weights.Number("Inf")
	tests := []struct {
		name  string
		model string
		nodes []weights.Entry
		want  Outcome
		phase Phase
		msg   string // substring of the message
		picks []string
	}{
		{"string zero second", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("0"))}, OutcomeHang, PhaseBuild, "step limit", nil},
		{"string zero first", Resty2020, []weights.Entry{e("b", weights.String("0")), e("a", weights.Int(10))}, OutcomeError, PhaseBuild, "attempt to compare string with number", nil},
		{"nan", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", nan)}, OutcomeHang, PhaseBuild, "", nil},
		{"inf", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", inf)}, OutcomeHang, PhaseBuild, "", nil},
		{"zero then inf (Lua 5.1 modulo)", Resty2020, []weights.Entry{e("a", weights.Int(0)), e("b", inf)}, OutcomeHang, PhaseBuild, "", nil},
		{"negative", Resty2020, []weights.Entry{e("a", weights.Int(1)), e("b", weights.Int(-2))}, OutcomeHang, PhasePick, "", nil},
		{"non-numeric string", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("ten"))}, OutcomeError, PhaseBuild, "arithmetic on a string", nil},
		{"bool", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", weights.Bool(true))}, OutcomeError, PhaseBuild, "", nil},
		{"empty", Resty2020, nil, OutcomeError, PhaseBuild, "no nodes", nil},
		{"single", Resty2020, []weights.Entry{e("a", weights.Int(3))}, OutcomeOK, "", "", []string{"a", "a", "a"}},
		{"all strings, string order", Resty2020, []weights.Entry{e("a", weights.String("10")), e("b", weights.String("20"))}, OutcomeError, PhasePick, "compare", nil},
		{"2021 string zero", Resty2021, []weights.Entry{e("b", weights.String("0")), e("a", weights.Int(10))}, OutcomeOK, "", "", []string{"a", "a", "a"}},
		{"2021 nan string", Resty2021, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("nan"))}, OutcomeHang, PhaseBuild, "", nil},
		{"2021 bool dropped", Resty2021, []weights.Entry{e("a", weights.Int(10)), e("b", weights.Bool(true))}, OutcomeOK, "", "", []string{"a", "a", "a"}},
		{"2021 all dropped", Resty2021, []weights.Entry{e("b", weights.String("ten"))}, OutcomeError, PhaseBuild, "no nodes", nil},
		{"swrr", NginxSWRR, []weights.Entry{e("a", weights.Int(5)), e("b", weights.Int(1)), e("c", weights.Int(1))}, OutcomeOK, "", "", []string{"a", "a", "b", "a", "c", "a", "a"}},
		{"swrr string zero", NginxSWRR, IncidentNodes(), OutcomeOK, "", "", []string{IncidentGoodID, IncidentGoodID}},
		{"swrr non-numeric", NginxSWRR, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("x"))}, OutcomeError, PhasePick, "arithmetic", nil},
		{"swrr null", NginxSWRR, []weights.Entry{e("a", weights.Int(10)), e("b", weights.Null())}, OutcomeError, PhasePick, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			picks := len(tt.picks)
			res := run(t, Config{Model: tt.model, Nodes: tt.nodes, Picks: picks, StepLimit: 20_000})
			if res.Outcome != tt.want || res.Phase != tt.phase || !strings.Contains(res.Message, tt.msg) {
				t.Fatalf("%s on %s = %s/%s %q, want %s/%s containing %q", tt.model, FormatSpec(tt.nodes), res.Outcome, res.Phase, res.Message, tt.want, tt.phase, tt.msg)
			}
			if tt.picks != nil && !slices.Equal(res.Picks, tt.picks) {
				t.Errorf("picks = %q, want %q", res.Picks, tt.picks)
			}
		})
	}
}

func TestStepLimitCoversValidInputs(t *testing.T) {
	// 300 nodes with coprime-ish weights need more steps than a tiny limit;
	// Run must raise the limit rather than call the run a hang.
	var nodes []weights.Entry
	for i := 0; i < 300; i++ {
		nodes = append(nodes, weights.Entry{ID: "n" + string(rune('A'+i%26)) + strings.Repeat("x", i/26), Weight: weights.Int(int64(1 + i*7919%1000))})
	}
	res := run(t, Config{Model: Resty2020, Nodes: nodes, StepLimit: 10, Picks: 50})
	if res.Outcome != OutcomeOK {
		t.Fatalf("valid input classified %s/%s %q with limit %d after %d steps", res.Outcome, res.Phase, res.Message, res.StepLimit, res.Steps)
	}
}

func TestTailCallLoopsWithoutGrowingTheStack(t *testing.T) {
	L := newSandbox(1, "")
	defer L.Close()
	// Far more calls than the call stack has frames: a proper tail call.
	err := L.DoString(`
		local function loop(n) if n == 0 then return "done" end return loop(n - 1) end
		assert(loop(200000) == "done")`)
	if err != nil {
		t.Fatalf("tail-recursive loop: %v", err)
	}
	err = L.DoString(`local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end return deep(100000)`)
	if err == nil || !strings.Contains(err.Error(), "stack overflow") {
		t.Fatalf("non-tail recursion: err = %v, want a stack overflow", err)
	}
}

func TestLuaSemantics(t *testing.T) {
	L := newSandbox(1, "")
	defer L.Close()
	for _, chunk := range []string{
		`assert("0" ~= 0)`,
		`assert(not ("0" == 0))`,
		`local x = 10 % "0"; assert(x ~= x, "10 % '0' is nan")`,
		`assert(not pcall(function() return 10 > "0" end))`,
		`local ok, msg = pcall(function() return 10 > "0" end); assert(msg:find("attempt to compare string with number"), msg)`,
		`assert("10" < "9")`,
		`assert(-0 == 0)`,
		`assert(tonumber("0") == 0 and tonumber(" 10 ") == 10 and tonumber("1e2") == 100)`,
		`assert(tonumber("017") == 17 and tonumber("0x10") == 16 and tonumber("1_0") == nil)`,
		`local n = tonumber("nan"); assert(n ~= n)`,
		`assert(tonumber("inf") == 1/0 and tonumber("-Infinity") == -1/0)`,
		`assert(tonumber(true) == nil and tonumber("") == nil and tonumber("0x") == nil)`,
		`assert(tonumber("ff", 16) == 255 and tonumber("z", 36) == 35 and tonumber("8", 8) == nil)`,
	} {
		if err := L.DoString(chunk); err != nil {
			t.Errorf("%s: %v", chunk, err)
		}
	}
}

func TestStr2Number(t *testing.T) {
	// Cases checked against LuaJIT 2.1 (OpenResty's luajit2) tonumber.
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"10", 10, true}, {" 10 ", 10, true}, {"\t5\n", 5, true}, {"\v5", 5, true}, {"5\r", 5, true},
		{"1e2", 100, true}, {"1E-2", 0.01, true}, {"1e+2", 100, true}, {"10.", 10, true}, {"-.5", -0.5, true},
		{"017", 17, true}, {"+10", 10, true}, {"0x10", 16, true}, {"0X1A", 26, true}, {"0x1p4", 16, true},
		{"0x10.8", 16.5, true}, {"0x.8", 0.5, true}, {"0x1P-1", 0.5, true}, {"  -0x10  ", -16, true}, {"0x1e", 30, true},
		{"1_0", 0, false}, {"10LL", 0, false}, {"0x", 0, false}, {"1e", 0, false}, {"5\x00", 0, false},
		{" ", 0, false}, {"", 0, false}, {"1 0", 0, false}, {"+-1", 0, false}, {"--1", 0, false},
		{".", 0, false}, {"nan(1)", 0, false}, {"infin", 0, false}, {"0x1g", 0, false}, {"0x1p", 0, false},
		{"1e2.5", 0, false}, {"00x1", 0, false}, {".e1", 0, false}, {"0b1", 1, true}, {"0B101", 5, true}, {" -0b11 ", -3, true},
		{"0b", 0, false}, {"0b2", 0, false}, {"0b1.1", 0, false}, {"0b1e1", 0, false}, {"00b1", 0, false}, {"0b-1", 0, false},
		{"0b" + strings.Repeat("1", 65), 0, false},
	}
	for _, tt := range tests {
		got, ok := str2number(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("str2number(%q) = %v, %v want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for _, s := range []string{"inf", "Inf", "INF", "infinity", "iNfInItY", "-inf", "nan", "NaN", "-nan", "+nan"} {
		if _, ok := str2number(s); !ok {
			t.Errorf("str2number(%q) not a number; LuaJIT reads it", s)
		}
	}
	if f, _ := str2number("-0"); f != 0 || !signbit(f) {
		t.Errorf("str2number(-0) = %v, want -0", f)
	}
}

func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.lua"), `return { v = 1 }`)
	writeFile(t, filepath.Join(dir, "pkg", "init.lua"), `return { v = 2 }`)
	writeFile(t, filepath.Join(filepath.Dir(dir), "outside.lua"), `return { v = 3 }`)
	L := newSandbox(7, dir)
	defer L.Close()
	for _, chunk := range []string{
		`assert(os == nil and io == nil and debug == nil and coroutine == nil)`,
		`assert(dofile == nil and loadfile == nil and package.loadlib == nil)`,
		`assert(not pcall(require, "table.new"))`,
		`assert(not pcall(require, "table.nkeys"))`,
		`assert(not pcall(require, "ffi"))`,
		`assert(require("ok").v == 1 and require("pkg").v == 2)`,
		`assert(not pcall(require, "..outside"))`,
		`assert(not pcall(require, "os"))`,
		`assert(not pcall(string.rep, "x", 1e9))`,
		`local r = math.random(100); assert(r >= 1 and r <= 100)`,
		`assert(not pcall(math.random, 0))`,
	} {
		if err := L.DoString(chunk); err != nil {
			t.Errorf("%s: %v", chunk, err)
		}
	}
	// math.random is seeded from the option.
	draw := func(seed uint64) string {
		L := newSandbox(seed, "")
		defer L.Close()
		if err := L.DoString(`r = math.random(1000000) .. "," .. math.random(1000000)`); err != nil {
			t.Fatal(err)
		}
		return L.GetGlobal("r").String()
	}
	if draw(1) != draw(1) || draw(1) == draw(2) {
		t.Errorf("math.random: seed 1 gives %s and %s, seed 2 %s", draw(1), draw(1), draw(2))
	}
}

func TestSymlinkOutsideDirRefused(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "lib")
	writeFile(t, filepath.Join(base, "secret.lua"), `return 1`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.lua"), filepath.Join(dir, "secret.lua")); err != nil {
		t.Fatal(err)
	}
	L := newSandbox(1, dir)
	defer L.Close()
	err := L.DoString(`require "secret"`)
	if err == nil || !strings.Contains(err.Error(), "outside the module directory") {
		t.Fatalf("require through a symlink out of the directory: err = %v", err)
	}
}

// writeModule writes a built-in model to dir as the module name (a.b → a/b.lua).
func writeModule(t *testing.T, dir, module, model string) {
	t.Helper()
	src, err := ModelSource(model)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(module, ".", "/"))+".lua"), string(src))
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLuaPathStepLimit(t *testing.T) {
	dir := t.TempDir()
	// Uninstrumented, the model loops for real, as it would in nginx; the
	// steps the rewritten code counts stop it.
	writeModule(t, dir, "resty.roundrobin", Resty2020)
	res := run(t, Config{LuaPath: dir, Nodes: IncidentNodes(), StepLimit: 5000})
	if res.Outcome != OutcomeHang || res.Phase != PhaseBuild {
		t.Fatalf("loaded 2020 model = %s/%s %q, want hang/build", res.Outcome, res.Phase, res.Message)
	}
	if !errors.Is(res.Err, ErrStepLimit) {
		t.Errorf("Err = %v, want ErrStepLimit", res.Err)
	}
	if res.Steps <= res.StepLimit || res.StepLimit < 5000 {
		t.Errorf("steps %d, limit %d", res.Steps, res.StepLimit)
	}
	if !slices.Equal(res.Order, []string{IncidentGoodID, IncidentBadID}) {
		t.Errorf("order = %q", res.Order)
	}

	// The same module serves a valid set, and reports its own order and start.
	res = run(t, Config{LuaPath: dir, Nodes: []weights.Entry{{ID: "a", Weight: weights.Int(2)}, {ID: "b", Weight: weights.Int(1)}}, Picks: 6})
	if res.Outcome != OutcomeOK || len(res.Picks) != 6 || res.Start == "" {
		t.Fatalf("valid set = %+v", res)
	}
	if res.Steps == 0 || res.Steps > res.StepLimit {
		t.Errorf("valid set: steps %d, limit %d", res.Steps, res.StepLimit)
	}
}

// TestLuaPathStepsAreDeterministic: the same run counts the same steps every
// time, so its verdict cannot depend on the machine's load.
func TestLuaPathStepsAreDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "resty.roundrobin", Resty2020)
	nodes := []weights.Entry{{ID: "a", Weight: weights.Int(7)}, {ID: "b", Weight: weights.Int(3)}, {ID: "c", Weight: weights.Int(5)}}
	first := run(t, Config{LuaPath: dir, Nodes: nodes, Picks: 40, Seed: 3})
	for i := 0; i < 5; i++ {
		res := run(t, Config{LuaPath: dir, Nodes: nodes, Picks: 40, Seed: 3})
		if res.Steps != first.Steps || !slices.Equal(res.Picks, first.Picks) {
			t.Fatalf("run %d: %d steps, picks %q; first run %d steps, picks %q", i, res.Steps, res.Picks, first.Steps, first.Picks)
		}
	}
	if first.Steps <= 0 {
		t.Fatal("no steps counted")
	}
}

// TestLuaPathSafetyNet: the wall-clock safety net still stops a run whose
// steps stay under the limit; it is reported as a hang that wraps
// context.DeadlineExceeded.
func TestLuaPathSafetyNet(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "resty.roundrobin", Resty2020)
	res := run(t, Config{LuaPath: dir, Nodes: IncidentNodes(), StepLimit: 1 << 40, Budget: time.Nanosecond})
	if res.Outcome != OutcomeHang || !errors.Is(res.Err, context.DeadlineExceeded) || !strings.Contains(res.Message, "safety net") {
		t.Fatalf("= %s/%s %q (%v), want a hang by the safety net", res.Outcome, res.Phase, res.Message, res.Err)
	}
}

func TestLuaPathModuleErrors(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "resty.swrr", NginxSWRR)
	writeFile(t, filepath.Join(dir, "broken.lua"), `return {`)
	writeFile(t, filepath.Join(dir, "notable.lua"), `return 42`)
	writeFile(t, filepath.Join(dir, "probe.lua"), `
		local ok = pcall(require, "table.new")
		assert(not ok, "table.new must not load")
		local ok2, ffi = pcall(require, "ffi")
		assert(not ok2)
		return { new = function(_, nodes) return { find = function() return next(nodes) end } end }`)
	writeFile(t, filepath.Join(dir, "badindex.lua"), `
		local M = {}
		function M.new(_, nodes) return setmetatable({}, { __index = function() error("no such field") end }) end
		return M`)
	writeFile(t, filepath.Join(dir, "badmodule.lua"), `
		return setmetatable({}, { __index = function() error("module has no fields") end })`)
	tests := []struct {
		module string
		want   Outcome
		phase  Phase
		msg    string
	}{
		{"resty.swrr", OutcomeOK, "", ""},
		{"probe", OutcomeOK, "", ""},
		{"missing", OutcomeError, PhaseLoad, "not found"},
		{"broken", OutcomeError, PhaseLoad, ""},
		{"notable", OutcomeError, PhaseLoad, "not a table with new()"},
		{"badindex", OutcomeError, PhasePick, "no such field"},
		{"badmodule", OutcomeError, PhaseLoad, "module has no fields"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			res := run(t, Config{LuaPath: dir, Module: tt.module, Nodes: IncidentNodes()})
			if res.Outcome != tt.want || res.Phase != tt.phase || !strings.Contains(res.Message, tt.msg) {
				t.Fatalf("%s = %s/%s %q, want %s/%s %q", tt.module, res.Outcome, res.Phase, res.Message, tt.want, tt.phase, tt.msg)
			}
		})
	}
	if _, err := Run(context.Background(), Config{LuaPath: filepath.Join(dir, "nope")}); err == nil {
		t.Error("Run with a missing lua path: no error")
	}
	if _, err := Run(context.Background(), Config{Model: "nope"}); err == nil {
		t.Error("Run with an unknown model: no error")
	}
}

func TestCallerContextEnds(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "resty.roundrobin", Resty2020)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Config{LuaPath: dir, Nodes: IncidentNodes(), Budget: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestModelsExported(t *testing.T) {
	dir := t.TempDir()
	if err := WriteModels(dir); err != nil {
		t.Fatal(err)
	}
	for _, m := range Models() {
		src, err := ModelSource(m)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join(dir, m+".lua"))
		if err != nil || string(disk) != string(src) {
			t.Errorf("%s: file on disk differs (%v)", m, err)
		}
		if !strings.Contains(string(src), `model = "`+m+`"`) {
			t.Errorf("%s: source does not name itself", m)
		}
	}
	if _, err := ModelSource("resty-roundrobin-1999"); err == nil {
		t.Error("ModelSource of an unknown model: no error")
	}
}

func TestModels2020And2021DifferOnlyInTheFix(t *testing.T) {
	a, _ := ModelSource(Resty2020)
	b, _ := ModelSource(Resty2021)
	code := func(src []byte) []string {
		var lines []string
		for _, l := range strings.Split(string(src), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	ca, cb := code(a), code(b)
	if len(ca) != len(cb) {
		t.Fatalf("code lines: %d vs %d", len(ca), len(cb))
	}
	var diffs []string
	for i := range ca {
		if ca[i] != cb[i] {
			diffs = append(diffs, ca[i]+" | "+cb[i])
		}
	}
	want := []string{
		`local M = { _VERSION = "0.1", model = "resty-roundrobin-2020" } | local M = { _VERSION = "0.1", model = "resty-roundrobin-2021" }`,
		`    t[id] = weight |     t[id] = tonumber(weight)`,
	}
	if !slices.Equal(diffs, want) {
		t.Errorf("2020 vs 2021 code differences:\n%s", strings.Join(diffs, "\n"))
	}
}

func signbit(f float64) bool { return 1/f < 0 }

// TestReusedStatesCarryNothing: built-in models reuse Lua states; a run must
// give the same result whatever ran before it.
func TestReusedStatesCarryNothing(t *testing.T) {
	nodes := []weights.Entry{{ID: "a", Weight: weights.Int(3)}, {ID: "b", Weight: weights.Int(2)}, {ID: "c", Weight: weights.Int(1)}, {ID: "d", Weight: weights.Int(4)}}
	first := map[uint64]Result{}
	for round := 0; round < 3; round++ {
		for seed := uint64(0); seed < 6; seed++ {
			run(t, Config{Model: Resty2020, Nodes: IncidentNodes(), StepLimit: 1000}) // a hang in between
			res := run(t, Config{Model: Resty2021, Nodes: nodes, Seed: seed})
			if round == 0 {
				first[seed] = res
				continue
			}
			if res.Start != first[seed].Start || !slices.Equal(res.Picks, first[seed].Picks) {
				t.Fatalf("seed %d, round %d: start %q picks %q; first run: start %q picks %q", seed, round, res.Start, res.Picks, first[seed].Start, first[seed].Picks)
			}
		}
	}
	starts := map[string]bool{}
	for _, r := range first {
		starts[r.Start] = true
	}
	if len(starts) < 2 {
		t.Errorf("six seeds gave one start node: %v", starts)
	}
}

// TestConcurrentRuns: Run is safe to call from many goroutines (states are
// per run, compiled models are shared).
func TestConcurrentRuns(t *testing.T) {
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 5; i++ {
				res, err := Run(context.Background(), Config{Model: Models()[(g+i)%3], Nodes: IncidentNodes(), StepLimit: 2000})
				if err == nil && res.Outcome == OutcomeError {
					err = errors.New(res.Message)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadedModuleRecursion: a module may recurse a few thousand levels, as
// in LuaJIT; endless non-tail recursion is an error, endless tail recursion
// a hang.
func TestLoadedModuleRecursion(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "deep.lua"), `
		local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
		local M = {}
		function M.new(_, nodes) return { find = function() return depth(2500) == 2500 and "a" or nil end } end
		return M`)
	writeFile(t, filepath.Join(dir, "overflow.lua"), `
		local function depth(n) return 1 + depth(n + 1) end
		return { new = function(_, nodes) return depth(0) end }`)
	writeFile(t, filepath.Join(dir, "tail.lua"), `
		local function loop(a, b) if b == 0 then return a end return loop(b, a % b) end
		return { new = function(_, nodes) return loop(10, 0/0) end }`)
	tests := []struct {
		module string
		want   Outcome
		msg    string
	}{
		{"deep", OutcomeOK, ""},
		{"overflow", OutcomeError, "stack overflow"},
		{"tail", OutcomeHang, "step limit"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			res := run(t, Config{LuaPath: dir, Module: tt.module, Nodes: IncidentNodes(), Picks: 1})
			if res.Outcome != tt.want || !strings.Contains(res.Message, tt.msg) {
				t.Fatalf("%s: %s/%s %q, want %s %q", tt.module, res.Outcome, res.Phase, res.Message, tt.want, tt.msg)
			}
		})
	}
}

// TestStepLimitCoversLargeIntegers: consecutive Fibonacci numbers are the
// worst case of Euclid's algorithm; below 2^53 they still finish inside the
// limit Run sets, however small the configured one.
func TestStepLimitCoversLargeIntegers(t *testing.T) {
	a, b := int64(1), int64(1)
	for b < 1<<53-a {
		a, b = b, a+b
	}
	for _, model := range []string{Resty2020, Resty2021} {
		nodes := []weights.Entry{{ID: "a", Weight: weights.Int(b)}, {ID: "b", Weight: weights.Int(a)}, {ID: "c", Weight: weights.Int(1 << 52)}}
		res := run(t, Config{Model: model, Nodes: nodes, StepLimit: 1, Picks: 30})
		if res.Outcome != OutcomeOK {
			t.Fatalf("%s on %s: %s/%s after %d steps (limit %d)", model, FormatSpec(nodes), res.Outcome, res.Phase, res.Steps, res.StepLimit)
		}
	}
}
