// Command luaseed writes a Lua fuzz target's input as a readable seed: the
// node set it decodes to, as a Lua table literal. fuzz/gofuzz.sh import uses
// it to turn go-fuzz crashers into files under seeds/lua.
//
//	go run ./fuzz/internal/luaseed CRASHER > seeds/lua/found-NAME.lua
package main

import (
	"fmt"
	"os"

	"github.com/safewrr/safewrr/fuzz"
	"github.com/safewrr/safewrr/luacompat"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: luaseed FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "luaseed:", err)
		os.Exit(2)
	}
	entries, ok := fuzz.NodeSet(data)
	if !ok {
		fmt.Fprintf(os.Stderr, "luaseed: %s is not a node set\n", os.Args[1])
		os.Exit(1)
	}
	fmt.Println(luacompat.FormatSpec(entries))
}
