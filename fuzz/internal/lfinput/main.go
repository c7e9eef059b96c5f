// Command lfinput converts between a fuzz target's input and the bytes a
// libFuzzer build of it reads. go-118-fuzz-build's testing package hands
// f.Fuzz's []byte argument out of the libFuzzer input through
// go-fuzz-headers: a 4-byte big-endian length, then the bytes. fuzz/libfuzzer.sh
// uses this to turn seed files into a libFuzzer corpus (encode) and
// findings back into seed files (decode).
//
//	go run ./fuzz/internal/lfinput encode FILE   # seed file -> libFuzzer input, on stdout
//	go run ./fuzz/internal/lfinput decode FILE   # libFuzzer input -> what the target saw
//
// decode fails (exit 1) on an input that never reaches the target (shorter
// than the length prefix plus one byte).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// encode frames data so that the libFuzzer build's f.Fuzz passes exactly
// data to the target. Empty data has no framing that reaches the target; it
// encodes as the bare prefix, which the target never sees.
func encode(data []byte) []byte {
	out := make([]byte, 4, 4+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(data)))
	return append(out, data...)
}

// errNoInput is decode's answer for an input the target never sees.
var errNoInput = errors.New("input too short: the target never runs on it")

// decode returns the bytes a libFuzzer build passes to the target for
// input, reading the prefix the way go-fuzz-headers' GetBytes does: a
// length of 0 means 30; a length other than what is left is taken modulo
// what is left.
func decode(input []byte) ([]byte, error) {
	if len(input) < 4 {
		return nil, errNoInput
	}
	n := binary.BigEndian.Uint32(input)
	rest := input[4:]
	left := uint32(len(rest))
	if left == 0 {
		return nil, errNoInput
	}
	if n == 0 {
		n = 30
	}
	if n != left {
		n %= left
	}
	return rest[:n], nil
}

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "encode" && os.Args[1] != "decode") {
		fmt.Fprintln(os.Stderr, "usage: lfinput encode|decode FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lfinput:", err)
		os.Exit(2)
	}
	out := encode(data)
	if os.Args[1] == "decode" {
		if out, err = decode(data); err != nil {
			fmt.Fprintf(os.Stderr, "lfinput: %s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintln(os.Stderr, "lfinput:", err)
		os.Exit(2)
	}
}
