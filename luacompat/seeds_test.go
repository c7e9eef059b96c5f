package luacompat

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// seedSpecs reads the seed corpus: every file under ../seeds/lua (node sets
// as Lua table literals) and every payload under ../seeds/weights that
// ParseSpec reads as a node set (a JSON object or an id/weight array). A
// file that is no node set (a fuzzer's binary input, a payload in a
// registry's own format, deliberately broken JSON) is listed in the log.
func seedSpecs(t *testing.T) map[string][]weights.Entry {
	t.Helper()
	specs := map[string][]weights.Entry{}
	var other []string
	for _, dir := range []string{"lua", "weights"} {
		files, err := filepath.Glob(filepath.Join("..", "seeds", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			nodes, err := ParseSpec("@" + file)
			if err != nil {
				other = append(other, dir+"/"+filepath.Base(file))
				continue
			}
			specs[dir+"/"+filepath.Base(file)] = nodes
		}
	}
	lua := 0
	for name := range specs {
		if strings.HasPrefix(name, "lua/") {
			lua++
		}
	}
	if lua == 0 {
		t.Fatal("no node-set seeds under ../seeds/lua")
	}
	t.Logf("%d node-set seeds; not node sets: %v", len(specs), other)
	return specs
}

// seedFiles lists the Lua node-set seed files.
func seedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "seeds", "lua", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no seeds under ../seeds/lua")
	}
	return files
}

// TestSeedsClassifiedTheSameEveryRun runs every seed through every model
// three times (with different math.random seeds) and requires the same
// outcome, phase, message and iteration order each time.
func TestSeedsClassifiedTheSameEveryRun(t *testing.T) {
	specs := seedSpecs(t)
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		nodes := specs[name]
		for _, model := range Models() {
			t.Run(name+"/"+model, func(t *testing.T) {
				var first Result
				for i := 0; i < 3; i++ {
					res := run(t, Config{Model: model, Nodes: nodes, Seed: uint64(i), StepLimit: 10_000})
					if i == 0 {
						first = res
						continue
					}
					if res.Outcome != first.Outcome || res.Phase != first.Phase || res.Message != first.Message || !slices.Equal(res.Order, first.Order) {
						t.Fatalf("run %d: %s/%s %q order %q; run 0: %s/%s %q order %q", i,
							res.Outcome, res.Phase, res.Message, res.Order, first.Outcome, first.Phase, first.Message, first.Order)
					}
				}
			})
		}
	}
}

// TestSeedVerdicts pins the verdicts of the seeds that name the incident.
func TestSeedVerdicts(t *testing.T) {
	tests := []struct {
		seed, model string
		want        Outcome
		phase       Phase
	}{
		{"bilibili-string-zero.lua", Resty2020, OutcomeHang, PhaseBuild},
		{"bilibili-string-zero.lua", Resty2021, OutcomeOK, ""},
		{"string-zero-first.lua", Resty2020, OutcomeError, PhaseBuild},
		{"string-zero-first.lua", Resty2021, OutcomeOK, ""},
		{"nan.lua", Resty2020, OutcomeHang, PhaseBuild},
		{"valid-weights.lua", Resty2020, OutcomeOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.seed+"/"+tt.model, func(t *testing.T) {
			path := filepath.Join("..", "seeds", "lua", tt.seed)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("seed missing: %v", err)
			}
			nodes, err := ParseSpec("@" + path)
			if err != nil {
				t.Fatal(err)
			}
			res := run(t, Config{Model: tt.model, Nodes: nodes, StepLimit: 20_000})
			if res.Outcome != tt.want || res.Phase != tt.phase {
				t.Fatalf("%s on %s = %s/%s %q, want %s/%s", tt.model, tt.seed, res.Outcome, res.Phase, res.Message, tt.want, tt.phase)
			}
		})
	}
}
