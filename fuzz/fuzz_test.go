package fuzz_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/fuzz"
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
	{"Weights", "weights", fuzz.Weights},
	{"Balancer", "balancer", fuzz.Balancer},
}

// TestSeeds replays every seed file through its target, one subtest per
// file (TestSeeds/Weights/bilibili-string-zero.json), so that a regression
// shows in plain go test without fuzzing.
func TestSeeds(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
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

// fuzzTarget seeds f from the target's seed directory and fuzzes run.
func fuzzTarget(f *testing.F, dir string, run func([]byte) (bool, error)) {
	for _, s := range seeds(f, dir) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A target that does not return is a finding too. The native engine
		// has no per-input time limit, so crash the worker with the input.
		watchdog := time.AfterFunc(hangLimit, func() {
			panic(fmt.Sprintf("%s did not return within %v on input %q", dir, hangLimit, data))
		})
		defer watchdog.Stop()
		if _, err := run(data); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzWeights: go test ./fuzz -run '^$' -fuzz '^FuzzWeights$' -fuzztime 60s
func FuzzWeights(f *testing.F) { fuzzTarget(f, "weights", fuzz.Weights) }

// FuzzBalancer: go test ./fuzz -run '^$' -fuzz '^FuzzBalancer$' -fuzztime 60s
func FuzzBalancer(f *testing.F) { fuzzTarget(f, "balancer", fuzz.Balancer) }

// BenchmarkTarget measures one execution of each target, averaged over its
// seed corpus: 1e9/ns-per-op is the target's executions per second per core
// before the fuzzing engine's own overhead.
func BenchmarkTarget(b *testing.B) {
	for _, tg := range targets {
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
