//go:build tools

package fuzz

// This file is never built. It records the fuzzing engines' support
// packages as dependencies, so that go.mod pins the versions the scripts
// install and link, and so that go mod tidy keeps those pins:
//
//   - go-fuzz-dep: what fuzz/gofuzz.sh's go-fuzz-build links into its
//     builds (go-fuzz and go-fuzz-build are installed at the same version);
//   - go-118-fuzz-build's testing package: what a native fuzz target's
//     *testing.F becomes in a libFuzzer build by fuzz/libfuzzer.sh (and by
//     OSS-Fuzz or ClusterFuzzLite); go-118-fuzz-build itself is installed at
//     the same version.
import (
	_ "github.com/AdamKorcz/go-118-fuzz-build/testing"
	_ "github.com/dvyukov/go-fuzz/go-fuzz-dep"
)
