package fuzz

import (
	"errors"
	"testing"

	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
)

// The native fuzz targets. This file stays self-contained: go-118-fuzz-build
// (fuzz/libfuzzer.sh, OSS-Fuzz, ClusterFuzzLite) builds it without the
// package's other test files, with its own testing package in place of the
// standard one (of which it uses only f.Add, f.Fatal, f.Logf, f.Fuzz and
// t.Fatal), and in that build FuzzX runs once per input, so nothing here may
// be slow outside f.Fuzz.

// seedRoot is the seed corpus, one directory per target.
const seedRoot = "../seeds"

// fuzzTarget seeds f from the target's seed directory (unless
// SAFEWRR_FUZZ_SEEDS=off) and fuzzes run under a watchdog. With knownOut,
// seeds that are findings already (the known hangs of a Lua model, when a
// campaign asks for hangs) are left out of the corpus, so that the campaign
// looks for new ones; TestLuaKnownCases replays them.
func fuzzTarget(f *testing.F, dir string, run func([]byte) (bool, error), knownOut bool) {
	if !seedcorpus.LibFuzzer() && !seedcorpus.Off() {
		all, err := seedcorpus.Read(seedRoot, dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range all {
			if knownOut {
				if _, err := run(s.Data); err != nil {
					var le *LuaLoadError
					if errors.As(err, &le) {
						f.Fatal(err) // nothing can be fuzzed
					}
					f.Logf("seed %s left out: a known case: %v", s.Name, err)
					continue
				}
			}
			f.Add(s.Data)
		}
	}
	var w seedcorpus.Watchdog
	f.Fuzz(func(t *testing.T, data []byte) {
		w.Begin(dir, data)
		defer w.End()
		if _, err := run(data); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzLuaModule: SAFEWRR_LUA_FINDINGS=hang go test ./fuzz -run '^$' -fuzz '^FuzzLuaModule$' -fuzztime 60s
func FuzzLuaModule(f *testing.F) { fuzzTarget(f, "lua", LuaModule, true) }

// FuzzDifferential: go test ./fuzz -run '^$' -fuzz '^FuzzDifferential$' -fuzztime 60s
func FuzzDifferential(f *testing.F) { fuzzTarget(f, "lua", Differential, false) }
