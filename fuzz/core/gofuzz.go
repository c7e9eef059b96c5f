//go:build gofuzz

package core

import (
	"os"
	"runtime/debug"
)

// init runs the collector at a quarter of its default pace in the external
// engines' builds (libFuzzer, go-fuzz; the gofuzz tag): a campaign is one
// process running many small inputs whose garbage dies young, and its heap
// stays at tens of megabytes. Under libFuzzer, Balancer runs 14-18% more
// inputs a second with it (fleets allocate their schedules; fuzz/README.md).
// A GOGC set in the environment is left to rule.
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// go-fuzz entry points, built by fuzz/gofuzz.sh with go-fuzz-build -func
// FuzzGofuzzX. They are not named FuzzX: OSS-Fuzz builds the native FuzzX of
// the tests with the gofuzz tag set, and go-fuzz-build wants a name that
// starts with Fuzz. Each returns 1 for an input the target found
// interesting, 0 otherwise, and panics on a finding.

// FuzzGofuzzWeights is the go-fuzz entry point of Weights.
func FuzzGofuzzWeights(data []byte) int { return gofuzz(Weights(data)) }

// FuzzGofuzzWeightsTyped is the go-fuzz entry point of WeightsTyped.
func FuzzGofuzzWeightsTyped(data []byte) int { return gofuzz(WeightsTyped(data)) }

// FuzzGofuzzBalancer is the go-fuzz entry point of Balancer.
func FuzzGofuzzBalancer(data []byte) int { return gofuzz(Balancer(data)) }

func gofuzz(interesting bool, err error) int {
	if err != nil {
		panic(err)
	}
	if interesting {
		return 1
	}
	return 0
}
