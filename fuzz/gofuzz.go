//go:build gofuzz

package fuzz

import (
	"errors"
	"fmt"
	"os"
)

// go-fuzz entry points, built by fuzz/gofuzz.sh with go-fuzz-build -func
// FuzzGofuzzX. They are not named FuzzX: OSS-Fuzz builds the native FuzzX of
// the tests with the gofuzz tag set, and go-fuzz-build wants a name that
// starts with Fuzz. Each returns 1 for an input the target found
// interesting, 0 otherwise, and panics on a finding. A Lua finding panics
// with its class only (after writing the whole finding to stderr, which
// go-fuzz keeps in the crasher's .output file), so that go-fuzz keeps one
// crasher per class instead of one per node set.

// FuzzGofuzzLuaModule is the go-fuzz entry point of LuaModule.
func FuzzGofuzzLuaModule(data []byte) int { return gofuzz(LuaModule(data)) }

// FuzzGofuzzDifferential is the go-fuzz entry point of Differential.
func FuzzGofuzzDifferential(data []byte) int { return gofuzz(Differential(data)) }

func gofuzz(interesting bool, err error) int {
	if err != nil {
		var f *LuaFinding
		if errors.As(err, &f) {
			fmt.Fprintln(os.Stderr, f.Error())
			panic(fmt.Sprintf("lua: %s: %s", f.Target, f.Class))
		}
		panic(err)
	}
	if interesting {
		return 1
	}
	return 0
}
