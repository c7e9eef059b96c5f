package fuzz_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safewrr/safewrr/fuzz"
	"github.com/safewrr/safewrr/luacompat"
)

// seedRoot is the seed corpus, one directory per target.
const seedRoot = "../seeds"

type seed struct {
	name string
	data []byte
}

// seeds returns the seed files of one target in name order. A seed corpus
// that has gone missing fails the test rather than passing with nothing run.
func seeds(tb testing.TB, dir string) []seed {
	tb.Helper()
	ents, err := os.ReadDir(filepath.Join(seedRoot, dir))
	if err != nil {
		tb.Fatalf("seed corpus: %v", err)
	}
	var out []seed
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(seedRoot, dir, e.Name()))
		if err != nil {
			tb.Fatalf("seed corpus: %v", err)
		}
		out = append(out, seed{e.Name(), data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) == 0 {
		tb.Fatalf("seed corpus %s is empty", filepath.Join(seedRoot, dir))
	}
	return out
}

// target is one fuzz target and its seed directory.
type target struct {
	name string
	dir  string
	run  func([]byte) (bool, error)
}

var targets = []target{
	{"Weights", "weights", fuzz.WeightsAll},
	{"Balancer", "balancer", fuzz.Balancer},
	{"LuaModule", "lua", fuzz.LuaModule},
	{"Differential", "lua", fuzz.Differential},
}

// TestSeeds replays every seed file through its target, one subtest per
// file (TestSeeds/Weights/bilibili-string-zero.json), so that a regression
// shows in plain go test without fuzzing.
func TestSeeds(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			if tg.dir == "lua" && os.Getenv(fuzz.EnvLuaPath) == "" {
				// The built-in 2020 model's hangs are known cases, checked
				// by TestLuaKnownCases; here the harness is checked.
				t.Setenv(fuzz.EnvLuaFindings, "none")
			}
			for _, s := range seeds(t, tg.dir) {
				t.Run(s.name, func(t *testing.T) {
					if _, err := tg.run(s.data); err != nil {
						t.Fatalf("%s(%s): %v", tg.name, s.name, err)
					}
				})
			}
		})
	}
}

// hangLimit is how long one input may take before it counts as a hang of
// the target itself. Inputs take microseconds; the limit only has to stay
// clear of a loaded machine running the race detector.
const hangLimit = 10 * time.Second

// envSeeds set to "off" leaves the seed corpus out of a fuzzing run, to
// measure what a target finds from nothing.
const envSeeds = "SAFEWRR_FUZZ_SEEDS"

// fuzzTarget seeds f from the target's seed directory and fuzzes run. With
// knownOut, seeds that are findings already (the known hangs of a Lua
// model, when a campaign asks for hangs) are left out of the corpus, so
// that the campaign looks for new ones; TestLuaKnownCases replays them.
func fuzzTarget(f *testing.F, dir string, run func([]byte) (bool, error), knownOut bool) {
	if os.Getenv(envSeeds) != "off" {
		for _, s := range seeds(f, dir) {
			if knownOut {
				if _, err := run(s.data); err != nil {
					f.Logf("seed %s left out: a known case: %v", s.name, err)
					continue
				}
			}
			f.Add(s.data)
		}
	}
	fuzzRun(f, dir, run)
}

// fuzzRun fuzzes run, each input under the watchdog.
func fuzzRun(f *testing.F, dir string, run func([]byte) (bool, error)) {
	var w watchdog
	f.Fuzz(func(t *testing.T, data []byte) {
		w.begin(dir, data)
		defer w.end()
		if _, err := run(data); err != nil {
			t.Fatal(err)
		}
	})
}

// watchdog turns an input that does not return into a finding: the native
// engine has no per-input time limit, so a target that hangs would stall
// its worker silently. One timer per process is re-armed for each input
// (no allocation, and nothing of the harness runs between inputs to blur
// the coverage the engine measures) and crashes the worker with the input
// in flight once it has run for hangLimit.
type watchdog struct {
	dir   string
	input atomic.Pointer[[]byte]
	timer *time.Timer // armed while an input runs
}

func (w *watchdog) begin(dir string, data []byte) {
	w.input.Store(&data)
	if w.timer == nil {
		w.dir = dir
		w.timer = time.AfterFunc(hangLimit, w.fire)
		return
	}
	w.timer.Reset(hangLimit)
}

func (w *watchdog) end() { w.timer.Stop() }

func (w *watchdog) fire() {
	panic(fmt.Sprintf("%s did not return within %v on input %q", w.dir, hangLimit, *w.input.Load()))
}

// FuzzWeights: go test ./fuzz -run '^$' -fuzz '^FuzzWeights$' -fuzztime 60s
func FuzzWeights(f *testing.F) { fuzzTarget(f, "weights", fuzz.Weights, false) }

// typedCorpus seeds FuzzWeightsTyped (see decodeTyped for the layout:
// format, settings, then address, flags, weight kind and weight bytes per
// node). Plain go test replays it.
var typedCorpus = [][]byte{
	{0, 0, 1, 0, 2, 0},                        // map: {"10.0.0.1:80":"0"}, the incident's value
	{1, 1, 1, 0, 1, 10, 2, 0, 0},              // array, lenient: 10.0.0.1:80 weight 10, 10.0.0.2:80 weight missing
	{2, 0, 1, 0, 2, 10, 2, 1, 3, 0},           // discovery: "10", then NaN on a node with status 2
	{5, 4, 1, 0, 3, 7, 2, 0, 3, 25},           // nacos, lenient and following the policy: 1.5 and 0.5 (scaled by 100)
	{7, 0, 1, 2, 1, 5, 2, 0, 5, 15},           // EDS: two clusters; the string "00"
	{4, 4, 160, 0, 1, 5, 1, 0, 1, 5},          // consul: a host with CR/LF, then a plain one
	{3, 4, 1, 2, 4, 5, 7, 250, 2, 0, 8, 1, 9}, // kratos: -7.25 (built), then {"weight":9}
}

// FuzzWeightsTyped: go test ./fuzz -run '^$' -fuzz '^FuzzWeightsTyped$' -fuzztime 60s
func FuzzWeightsTyped(f *testing.F) {
	if os.Getenv(envSeeds) != "off" {
		for _, c := range typedCorpus {
			f.Add(c)
		}
	}
	fuzzRun(f, "weights-typed", fuzz.WeightsTyped)
}

// TestTypedCorpus replays the typed corpus.
func TestTypedCorpus(t *testing.T) {
	for i, c := range typedCorpus {
		if _, err := fuzz.WeightsTyped(c); err != nil {
			t.Errorf("typedCorpus[%d]: %v", i, err)
		}
	}
}

// FuzzBalancer: go test ./fuzz -run '^$' -fuzz '^FuzzBalancer$' -fuzztime 60s
func FuzzBalancer(f *testing.F) { fuzzTarget(f, "balancer", fuzz.Balancer, false) }

// BenchmarkTarget measures one execution of each target, averaged over its
// seed corpus: 1e9/ns-per-op is the target's executions per second per core
// before the fuzzing engine's own overhead.
func BenchmarkTarget(b *testing.B) {
	for _, tg := range []target{{"Weights", "weights", fuzz.Weights}, {"Balancer", "balancer", fuzz.Balancer}} {
		corpus := seeds(b, tg.dir)
		b.Run("target="+tg.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := tg.run(corpus[i%len(corpus)].data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzLuaModule: SAFEWRR_LUA_FINDINGS=hang go test ./fuzz -run '^$' -fuzz '^FuzzLuaModule$' -fuzztime 60s
func FuzzLuaModule(f *testing.F) { fuzzTarget(f, "lua", fuzz.LuaModule, true) }

// FuzzDifferential: go test ./fuzz -run '^$' -fuzz '^FuzzDifferential$' -fuzztime 60s
func FuzzDifferential(f *testing.F) { fuzzTarget(f, "lua", fuzz.Differential, false) }

// knownLua is what the built-in 2020 model does with each seed in
// seeds/lua: the known cases. The hangs are the outage; a fuzzing campaign
// (SAFEWRR_LUA_FINDINGS=hang) reports them as findings, plain go test checks
// that they still reproduce.
var knownLua = map[string]struct {
	outcome luacompat.Outcome
	phase   luacompat.Phase
}{
	"bilibili-string-zero.lua": {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"nan.lua":                  {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"inf.lua":                  {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"minus-inf.lua":            {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"negative.lua":             {luacompat.OutcomeHang, luacompat.PhasePick},
	"string-zero-first.lua":    {luacompat.OutcomeError, luacompat.PhaseBuild},
	"non-numeric-string.lua":   {luacompat.OutcomeError, luacompat.PhaseBuild},
	"numeric-strings.lua":      {luacompat.OutcomeError, luacompat.PhaseBuild},
	"bool.lua":                 {luacompat.OutcomeError, luacompat.PhaseBuild},
	"empty.lua":                {luacompat.OutcomeError, luacompat.PhaseBuild},
	"tiny-fraction.lua":        {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"inf-string.lua":           {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"string-zero-twice.lua":    {luacompat.OutcomeHang, luacompat.PhaseBuild},
	"minus-inf-and-zero.lua":   {luacompat.OutcomeHang, luacompat.PhasePick},
	"negative-and-zero.lua":    {luacompat.OutcomeHang, luacompat.PhasePick},
	"numeric-strings-only.lua": {luacompat.OutcomeError, luacompat.PhasePick},
	"bool-and-zero.lua":        {luacompat.OutcomeError, luacompat.PhaseBuild},
	"empty-string.lua":         {luacompat.OutcomeError, luacompat.PhaseBuild},
	"all-string.lua":           {luacompat.OutcomeOK, ""},
	"all-zero.lua":             {luacompat.OutcomeOK, ""},
	"bare-keys.lua":            {luacompat.OutcomeOK, ""},
	"fractional.lua":           {luacompat.OutcomeOK, ""},
	"huge.lua":                 {luacompat.OutcomeOK, ""},
	"minus-zero.lua":           {luacompat.OutcomeOK, ""},
	"single.lua":               {luacompat.OutcomeOK, ""},
	"valid-weights.lua":        {luacompat.OutcomeOK, ""},
	"zero.lua":                 {luacompat.OutcomeOK, ""},
}

// TestLuaKnownCases replays every Lua seed through the 2020 model and checks
// the verdict: the known hangs must still hang (in the phase recorded), and
// with SAFEWRR_LUA_FINDINGS=hang the LuaModule target reports each of them.
func TestLuaKnownCases(t *testing.T) {
	for _, s := range seeds(t, "lua") {
		t.Run(s.name, func(t *testing.T) {
			entries, ok := fuzz.NodeSet(s.data)
			if !ok {
				t.Fatalf("seed %s is not a node set", s.name)
			}
			res, err := luacompat.Run(context.Background(), luacompat.Config{Model: luacompat.Resty2020, Nodes: entries})
			if err != nil {
				t.Fatal(err)
			}
			want, known := knownLua[s.name]
			if !known {
				// An imported finding: kept because it hangs or fails.
				if res.Outcome == luacompat.OutcomeOK {
					t.Fatalf("%s: imported seed %s runs fine on %s; add it to knownLua or remove it", s.name, s.data, luacompat.Resty2020)
				}
				want.outcome, want.phase = res.Outcome, res.Phase
			}
			if res.Outcome != want.outcome || res.Phase != want.phase {
				t.Fatalf("%s on %s: %s in %q (%s), want %s in %q", luacompat.Resty2020, s.name,
					res.Outcome, res.Phase, res.Message, want.outcome, want.phase)
			}
			t.Setenv(fuzz.EnvLuaPath, "")
			t.Setenv(fuzz.EnvLuaFindings, "hang")
			_, err = fuzz.LuaModule(s.data)
			var finding *fuzz.LuaFinding
			switch {
			case want.outcome == luacompat.OutcomeHang && !errors.As(err, &finding):
				t.Fatalf("LuaModule(%s) = %v, want a *LuaFinding", s.name, err)
			case want.outcome == luacompat.OutcomeHang && (finding.Phase != want.phase || finding.Outcome != luacompat.OutcomeHang):
				t.Fatalf("finding %v, want a hang in %s", finding, want.phase)
			case want.outcome != luacompat.OutcomeHang && err != nil:
				t.Fatalf("LuaModule(%s) = %v, want no finding for %s", s.name, err, want.outcome)
			}
		})
	}
}

// TestLuaFindingsDefault checks the default mode: hangs of the built-in
// model are not findings unless SAFEWRR_LUA_FINDINGS asks for them, and
// errors only with "error" in the list.
func TestLuaFindingsDefault(t *testing.T) {
	hang := []byte(`{["10.0.0.1:8080"]=10, ["10.0.0.2:8080"]="0"}`)
	fail := []byte(`{a=10, b="ten"}`)
	tests := []struct {
		env       string
		input     []byte
		wantFound bool
	}{
		{"", hang, false},
		{"none", hang, false},
		{"hang", hang, true},
		{"hang", fail, false},
		{"hang,error", fail, true},
		{"hang,error", hang, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s=%q/%s", fuzz.EnvLuaFindings, tc.env, tc.input), func(t *testing.T) {
			t.Setenv(fuzz.EnvLuaPath, "")
			t.Setenv(fuzz.EnvLuaFindings, tc.env)
			interesting, err := fuzz.LuaModule(tc.input)
			var finding *fuzz.LuaFinding
			if got := errors.As(err, &finding); got != tc.wantFound {
				t.Fatalf("LuaModule(%s) = %v, %v; want a finding: %v", tc.input, interesting, err, tc.wantFound)
			}
			if !interesting {
				t.Fatalf("LuaModule(%s) not interesting, but the model fails on it", tc.input)
			}
			if finding != nil && !strings.Contains(finding.Error(), finding.Nodes) {
				t.Fatalf("finding %q does not show the node set %s", finding.Error(), finding.Nodes)
			}
		})
	}
}
