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
	if !seedcorpus.LibFuzzer() && !seedcorpus.Off() {
		for _, c := range typedCorpus {
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { check(t, "weights-typed", WeightsTyped, data) })
}

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
	{4, 0, 1, 0, 1, 5, 1, 2, 1, 5},            // consul: services "api" and "web", neither chosen nor merged: refused (a campaign found Consul merged them)
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
