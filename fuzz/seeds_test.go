package fuzz

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
	"github.com/safewrr/safewrr/luacompat"
)

// seeds returns the seed files of one target in name order. A seed
// directory that has gone missing fails the test; an empty one is an empty
// corpus.
func seeds(tb testing.TB, dir string) []seedcorpus.Seed {
	tb.Helper()
	out, err := seedcorpus.Read(seedRoot, dir)
	if err != nil {
		tb.Fatal(err)
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
	{"LuaModule", "lua", LuaModule},
	{"Differential", "lua", Differential},
}

// TestSeeds replays every seed file through its target, one subtest per
// file (TestSeeds/LuaModule/bilibili-string-zero.lua), so that a regression
// shows in plain go test without fuzzing. (The seeds of Weights and
// Balancer are replayed by fuzz/core's TestSeeds.)
func TestSeeds(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			if tg.dir == "lua" && os.Getenv(EnvLuaPath) == "" {
				// The built-in 2020 model's hangs are known cases, checked
				// by TestLuaKnownCases; here the harness is checked.
				t.Setenv(EnvLuaFindings, "none")
			}
			for _, s := range seeds(t, tg.dir) {
				t.Run(s.Name, func(t *testing.T) {
					if _, err := tg.run(s.Data); err != nil {
						t.Fatalf("%s(%s): %v", tg.name, s.Name, err)
					}
				})
			}
		})
	}
}

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
	// A cycle longer than safewrr's exact schedule (Differential's exactOrder).
	"long-cycle.lua": {luacompat.OutcomeOK, ""},
}

// TestLuaKnownCases replays every Lua seed through the 2020 model and checks
// the verdict: the known hangs must still hang (in the phase recorded), and
// with SAFEWRR_LUA_FINDINGS=hang the LuaModule target reports each of them.
func TestLuaKnownCases(t *testing.T) {
	for _, s := range seeds(t, "lua") {
		t.Run(s.Name, func(t *testing.T) {
			entries, ok := NodeSet(s.Data)
			if !ok {
				t.Fatalf("seed %s is not a node set", s.Name)
			}
			res, err := luacompat.Run(context.Background(), luacompat.Config{Model: luacompat.Resty2020, Nodes: entries})
			if err != nil {
				t.Fatal(err)
			}
			want, known := knownLua[s.Name]
			if !known {
				// An imported finding: kept because it hangs or fails.
				if res.Outcome == luacompat.OutcomeOK {
					t.Fatalf("%s: imported seed %s runs fine on %s; add it to knownLua or remove it", s.Name, s.Data, luacompat.Resty2020)
				}
				want.outcome, want.phase = res.Outcome, res.Phase
			}
			if res.Outcome != want.outcome || res.Phase != want.phase {
				t.Fatalf("%s on %s: %s in %q (%s), want %s in %q", luacompat.Resty2020, s.Name,
					res.Outcome, res.Phase, res.Message, want.outcome, want.phase)
			}
			t.Setenv(EnvLuaPath, "")
			t.Setenv(EnvLuaFindings, "hang")
			_, err = LuaModule(s.Data)
			var finding *LuaFinding
			switch {
			case want.outcome == luacompat.OutcomeHang && !errors.As(err, &finding):
				t.Fatalf("LuaModule(%s) = %v, want a *LuaFinding", s.Name, err)
			case want.outcome == luacompat.OutcomeHang && (finding.Phase != want.phase || finding.Outcome != luacompat.OutcomeHang):
				t.Fatalf("finding %v, want a hang in %s", finding, want.phase)
			case want.outcome != luacompat.OutcomeHang && err != nil:
				t.Fatalf("LuaModule(%s) = %v, want no finding for %s", s.Name, err, want.outcome)
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
		t.Run(fmt.Sprintf("%s=%q/%s", EnvLuaFindings, tc.env, tc.input), func(t *testing.T) {
			t.Setenv(EnvLuaPath, "")
			t.Setenv(EnvLuaFindings, tc.env)
			interesting, err := LuaModule(tc.input)
			var finding *LuaFinding
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
