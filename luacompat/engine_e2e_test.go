//go:build e2e

package luacompat

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// These tests run modules loaded from a directory through both engines:
// gopher-lua with the rewrite and the bounded sandbox, and the luajit binary
// (Debian's luajit2) through the co-process driver. They need luajit in PATH.

type engineTarget struct {
	name, dir, module string
}

func engineTargets(t *testing.T) []engineTarget {
	t.Helper()
	models := t.TempDir()
	for _, m := range Models() {
		writeModule(t, models, m, m)
	}
	up, _ := filepath.Abs(filepath.Join("testdata", "upstream"))
	fixed, _ := filepath.Abs(filepath.Join("testdata", "upstream-fixed"))
	return []engineTarget{
		{"model-2020", models, Resty2020},
		{"model-2021", models, Resty2021},
		{"model-swrr", models, NginxSWRR},
		{"upstream-shaped", up, DefaultModule},
		{"upstream-shaped-fixed", fixed, DefaultModule},
		{"swrr-shaped", fixed, "resty.swrr"},
	}
}

// randomTypedNodes draws node sets from the values that matter to Lua's
// semantics: numbers incl. NaN, ±Inf, -0, tiny and huge, numeric and other
// strings, bools and null.
func randomTypedNodes(rng *rand.Rand) []weights.Entry {
	pool := []weights.Raw{
		weights.Int(0), weights.Int(1), weights.Int(2), weights.Int(3), weights.Int(5), weights.Int(10), weights.Int(12),
		weights.Int(-5), weights.Number("0.5"), weights.Number("2.5"), weights.Number("1e308"), weights.Number("9007199254740993"),
		weights.Number("NaN"), weights.Number("Inf"), weights.Number("-Inf"), weights.Number("-0"),
		weights.Number("1.56e-317"), weights.Number("5e-324"), weights.Number("1e-300"), weights.Number("4294967296"),
		weights.String("0"), weights.String("10"), weights.String(" 10 "), weights.String("0x10"), weights.String("1e1"),
		weights.String("nan"), weights.String("inf"), weights.String("ten"), weights.String(""), weights.String("017"),
		weights.String("0x1p4"), weights.String("1e400"), weights.String("-0"), weights.String("+5"), weights.String("5."),
		weights.String("0b1"), weights.String("1_0"), weights.String("1.56e-317"),
		weights.Int(7), weights.Int(1000000), weights.Bool(true), weights.Bool(false), weights.Null(),
	}
	n := 1 + rng.IntN(5)
	nodes := make([]weights.Entry, n)
	for j := range nodes {
		nodes[j] = weights.Entry{ID: "n" + strconv.Itoa(j), Weight: pool[rng.IntN(len(pool))]}
	}
	return nodes
}

// TestEnginesAgreeOnLoadedModules: on 1,000 random typed node sets, every
// target gives the same outcome and phase under gopher-lua (--lua-path) as
// under LuaJIT (--engine luajit), gopher-lua walking the nodes in the order
// LuaJIT met them.
func TestEnginesAgreeOnLoadedModules(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	const sets, steps = 1000, 5000
	rng := rand.New(rand.NewPCG(14, 17))
	targets := engineTargets(t)
	counts := map[string]int{}
	for i := 0; i < sets; i++ {
		nodes := randomTypedNodes(rng)
		for _, tg := range targets {
			cfg := Config{LuaPath: tg.dir, Module: tg.module, Nodes: nodes, Picks: 12, StepLimit: steps, Engine: EngineLuaJIT}
			lj, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%s on %s: luajit: %v", tg.name, FormatSpec(nodes), err)
			}
			cfg.Engine, cfg.Nodes = EngineGopherLua, inOrder(nodes, lj.Order, entryID)
			g, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%s on %s: gopher-lua: %v", tg.name, FormatSpec(nodes), err)
			}
			counts[tg.name+" "+string(lj.Outcome)+"/"+string(lj.Phase)]++
			if g.Outcome != lj.Outcome || g.Phase != lj.Phase {
				t.Errorf("%s on %s (LuaJIT order %q): LuaJIT %s/%s %q, gopher-lua %s/%s %q", tg.name, FormatSpec(nodes), lj.Order,
					lj.Outcome, lj.Phase, lj.Message, g.Outcome, g.Phase, g.Message)
			}
		}
	}
	t.Logf("%d node sets x %d targets; LuaJIT outcomes: %v", sets, len(targets), counts)
}

// TestLuaJITEngineVerdicts: the engine's verdicts, phases and errors.
func TestLuaJITEngineVerdicts(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	dir := t.TempDir()
	writeModule(t, dir, "resty.roundrobin", Resty2020)
	writeFile(t, filepath.Join(dir, "loadhang.lua"), `while true do end`)
	writeFile(t, filepath.Join(dir, "pcallhang.lua"), `
		return { new = function(_, nodes) return { find = function() pcall(function() while true do end end); return "a" end } end }`)
	writeFile(t, filepath.Join(dir, "broken.lua"), `return {`)
	up, _ := filepath.Abs(filepath.Join("testdata", "upstream"))
	e := func(id string, w weights.Raw) weights.Entry { return weights.Entry{ID: id, Weight: w} }
	tests := []struct {
		name, dir, module string
		nodes             []weights.Entry
		outcome           Outcome
		phase             Phase
		msg               string
	}{
		{"tiny weight (issue's false ok)", up, DefaultModule, []weights.Entry{e("a", weights.Int(1)), e("b", weights.Number("1.56e-317"))}, OutcomeHang, PhaseBuild, "step limit"},
		{"load hang", dir, "loadhang", IncidentNodes(), OutcomeHang, PhaseLoad, "step limit"},
		{"pcall does not hide a hang", dir, "pcallhang", IncidentNodes(), OutcomeHang, PhasePick, "step limit"},
		{"syntax error", dir, "broken", IncidentNodes(), OutcomeError, PhaseLoad, ""},
		{"missing module", dir, "nope", IncidentNodes(), OutcomeError, PhaseLoad, "not found"},
		{"valid", up, DefaultModule, []weights.Entry{e("a", weights.Int(3)), e("b", weights.Int(1))}, OutcomeOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, engine := range []string{EngineLuaJIT, EngineGopherLua} {
				res, err := Run(context.Background(), Config{LuaPath: tt.dir, Module: tt.module, Nodes: tt.nodes, StepLimit: 5000, Engine: engine})
				if err != nil {
					t.Fatalf("%s: %v", engine, err)
				}
				if res.Outcome != tt.outcome || res.Phase != tt.phase || !strings.Contains(res.Message, tt.msg) {
					t.Errorf("%s: %s/%s %q, want %s/%s %q", engine, res.Outcome, res.Phase, res.Message, tt.outcome, tt.phase, tt.msg)
				}
				if tt.outcome == OutcomeHang && !errors.Is(res.Err, ErrStepLimit) {
					t.Errorf("%s: Err = %v", engine, res.Err)
				}
				if res.Engine != engine {
					t.Errorf("Engine = %q, want %q", res.Engine, engine)
				}
			}
		})
	}
}

// TestLuaJITEngineHashOrder: LuaJIT's order is per process. Across fresh
// co-processes the incident's two nodes are met in both orders, and each
// order gives its own verdict: a hang with 10 first, an error with "0"
// first; Result.Order says which.
func TestLuaJITEngineHashOrder(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	dir, _ := filepath.Abs(filepath.Join("testdata", "upstream"))
	seen := map[string]bool{}
	for round := 0; round < 40 && len(seen) < 2; round++ {
		StopLuaJIT() // a new process, a new hash seed
		res, err := Run(context.Background(), Config{LuaPath: dir, Nodes: IncidentNodes(), StepLimit: 5000, Engine: EngineLuaJIT})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Order) != 2 {
			t.Fatalf("order %q", res.Order)
		}
		want := OutcomeHang
		if res.Order[0] == IncidentBadID {
			want = OutcomeError
		}
		if res.Outcome != want || res.Phase != PhaseBuild {
			t.Errorf("order %q: %s/%s %q, want %s/build", res.Order, res.Outcome, res.Phase, res.Message, want)
		}
		seen[res.Order[0]] = true
	}
	if len(seen) < 2 {
		t.Errorf("40 LuaJIT processes met the incident's nodes in one order only: %v", seen)
	}
}

// TestLuaJITEngineIDs: ids with the bytes the reply line uses (comma, tab,
// line breaks, percent, NUL) come back as they were.
func TestLuaJITEngineIDs(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	dir, _ := filepath.Abs(filepath.Join("testdata", "upstream-fixed"))
	ids := []string{"a,b", "t\tab", "line\nbreak\r", "100%", "nul\x00", "10.0.0.1:80"}
	var nodes []weights.Entry
	for _, id := range ids {
		nodes = append(nodes, weights.Entry{ID: id, Weight: weights.Int(1)})
	}
	res, err := Run(context.Background(), Config{LuaPath: dir, Nodes: nodes, Picks: 12, Engine: EngineLuaJIT})
	if err != nil || res.Outcome != OutcomeOK {
		t.Fatalf("%s %q %v", res.Outcome, res.Message, err)
	}
	seen := map[string]bool{}
	for _, p := range res.Picks {
		seen[p] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("id %q never picked; picks %q", id, res.Picks)
		}
	}
	if len(res.Order) != len(ids) {
		t.Errorf("order %q", res.Order)
	}
}

// TestLuaJITStringFunctions: the assertions that hold the sandbox's string
// functions to Lua 5.1 (patternChecks) hold under LuaJIT too.
func TestLuaJITStringFunctions(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	dir := t.TempDir()
	for i, chunk := range patternChecks {
		writeFile(t, filepath.Join(dir, "check"+strconv.Itoa(i)+".lua"), checkModule(chunk))
	}
	for i, chunk := range patternChecks {
		res, err := Run(context.Background(), Config{LuaPath: dir, Module: "check" + strconv.Itoa(i), Nodes: []weights.Entry{{ID: "a", Weight: weights.Int(1)}}, Picks: 1, Engine: EngineLuaJIT})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != OutcomeOK {
			t.Errorf("LuaJIT: %s: %s/%s %s", chunk, res.Outcome, res.Phase, res.Message)
		}
	}
}
