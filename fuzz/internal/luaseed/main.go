// Command luaseed writes a Lua fuzz target's input as a readable seed: the
// node set it decodes to, as a Lua table literal. fuzz/gofuzz.sh import uses
// it to turn go-fuzz crashers into files under seeds/lua.
//
//	go run ./fuzz/internal/luaseed [-seeds DIR] CRASHER > seeds/lua/found-NAME.lua
//
// With -seeds DIR, a crasher whose node set is already the node set of a
// seed in DIR (compared as written back by luacompat.FormatSpec, so spacing,
// key spelling and number spelling do not matter) is not written: luaseed
// names that seed on stderr and exits 3.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/safewrr/safewrr/fuzz"
	"github.com/safewrr/safewrr/luacompat"
)

// exitKnown is the exit code for a crasher that is already a seed.
const exitKnown = 3

func main() {
	seeds := flag.String("seeds", "", "directory of existing seeds; a crasher already among them is not written (exit 3)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: luaseed [-seeds DIR] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "luaseed:", err)
		os.Exit(2)
	}
	entries, ok := fuzz.NodeSet(data)
	if !ok {
		fmt.Fprintf(os.Stderr, "luaseed: %s is not a node set\n", flag.Arg(0))
		os.Exit(1)
	}
	spec := luacompat.FormatSpec(entries)
	if *seeds != "" {
		if name, err := knownSeed(*seeds, spec); err != nil {
			fmt.Fprintln(os.Stderr, "luaseed:", err)
			os.Exit(2)
		} else if name != "" {
			fmt.Fprintf(os.Stderr, "luaseed: %s is already the seed %s\n", flag.Arg(0), name)
			os.Exit(exitKnown)
		}
	}
	fmt.Println(spec)
}

// knownSeed returns the name of a seed in dir whose node set formats as
// spec, or "".
func knownSeed(dir, spec string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.lua"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		entries, ok := fuzz.NodeSet(data)
		if ok && luacompat.FormatSpec(entries) == spec {
			return filepath.Base(f), nil
		}
	}
	return "", nil
}
