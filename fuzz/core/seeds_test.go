package core

import (
	"testing"

	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
)

// target is one fuzz target and its seed directory.
type target struct {
	name string
	dir  string
	run  func([]byte) (bool, error)
}

// TestSeeds replays every seed file through its target, one subtest per
// file (TestSeeds/Weights/bilibili-string-zero.json), so that a regression
// shows in plain go test without fuzzing. Weights is replayed under every
// policy and registry setting (WeightsAll).
func TestSeeds(t *testing.T) {
	for _, tg := range []target{{"Weights", "weights", WeightsAll}, {"WeightsTyped", "weights-typed", WeightsTyped}, {"Balancer", "balancer", Balancer}} {
		t.Run(tg.name, func(t *testing.T) {
			seeds, err := seedcorpus.Read(seedRoot, tg.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range seeds {
				t.Run(s.Name, func(t *testing.T) {
					if _, err := tg.run(s.Data); err != nil {
						t.Fatalf("%s(%s): %v", tg.name, s.Name, err)
					}
				})
			}
		})
	}
}

// BenchmarkTarget measures one execution of each target, averaged over its
// seed corpus: 1e9/ns-per-op is the target's executions per second per core
// before the fuzzing engine's own overhead.
func BenchmarkTarget(b *testing.B) {
	for _, tg := range []target{{"Weights", "weights", Weights}, {"WeightsTyped", "weights-typed", WeightsTyped}, {"Balancer", "balancer", Balancer}} {
		corpus, err := seedcorpus.Read(seedRoot, tg.dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(corpus) == 0 {
			b.Fatalf("no seeds in %s", tg.dir)
		}
		b.Run("target="+tg.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := tg.run(corpus[i%len(corpus)].Data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
