package core

import (
	"testing"

	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
)

// The native fuzz targets. This file stays self-contained: go-118-fuzz-build
// (fuzz/libfuzzer.sh, OSS-Fuzz, ClusterFuzzLite) builds it without the
// package's other test files, with its own testing package in place of the
// standard one (of which it uses only f.Add, f.Fuzz and t.Fatal), and in
// that build FuzzX runs once per input, so nothing here may be slow outside
// f.Fuzz.

// seedRoot is the seed corpus, one directory per target.
const seedRoot = "../../seeds"

// FuzzWeights: go test ./fuzz/core -run '^$' -fuzz '^FuzzWeights$' -fuzztime 60s
func FuzzWeights(f *testing.F) {
	addSeeds(f, "weights")
	f.Fuzz(func(t *testing.T, data []byte) { check(t, "weights", Weights, data) })
}

// FuzzWeightsTyped: go test ./fuzz/core -run '^$' -fuzz '^FuzzWeightsTyped$' -fuzztime 60s
func FuzzWeightsTyped(f *testing.F) {
	addSeeds(f, "weights-typed")
	f.Fuzz(func(t *testing.T, data []byte) { check(t, "weights-typed", WeightsTyped, data) })
}

// FuzzBalancer: go test ./fuzz/core -run '^$' -fuzz '^FuzzBalancer$' -fuzztime 60s
func FuzzBalancer(f *testing.F) {
	addSeeds(f, "balancer")
	f.Fuzz(func(t *testing.T, data []byte) { check(t, "balancer", Balancer, data) })
}

// FuzzNoop does nothing with its input: the engine's own ceiling, for
// comparing the targets' rates with (see fuzz/measure.sh). It is no test.
func FuzzNoop(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {})
}

// addSeeds adds the seed files of dir to f's corpus, unless
// SAFEWRR_FUZZ_SEEDS=off or this is a libFuzzer build (which gets them as a
// corpus directory).
func addSeeds(f *testing.F, dir string) {
	if seedcorpus.LibFuzzer() || seedcorpus.Off() {
		return
	}
	seeds, err := seedcorpus.Read(seedRoot, dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s.Data)
	}
}

var watchdog seedcorpus.Watchdog

// check runs one input through a target under the watchdog.
func check(t *testing.T, name string, target func([]byte) (bool, error), data []byte) {
	watchdog.Begin(name, data)
	defer watchdog.End()
	if _, err := target(data); err != nil {
		t.Fatal(err)
	}
}
