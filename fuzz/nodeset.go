package fuzz

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/safewrr/safewrr/weights"
)

// MaxNodeSet is the largest node set DecodeNodeSet returns.
const MaxNodeSet = 16

// Node kinds of the compact binary node-set form. Each node is one kind byte
// (taken modulo the number of kinds) followed by its payload; a payload cut
// short by the end of the input reads as zero bytes.
const (
	kindSmallInt   = iota // 1 byte: 0..255
	kindDecimalStr        // 1 byte: the decimal string of 0..255 ("0" for 0)
	kindSpecialNum        // 1 byte: index into specialNumbers
	kindSpecialStr        // 1 byte: index into specialStrings
	kindBool              // 1 byte: low bit
	kindFloatBits         // 8 bytes: IEEE-754 bits, little-endian
	kindBytesStr          // 1 byte length (mod 16), then that many bytes
	kindNegInt            // 1 byte: -(0..255)
	kindWideInt           // 4 bytes: uint32, big-endian
	numKinds
)

// specialNumbers are the numbers a registry, lua-cjson or Lua code can hand
// to a balancer that are not ordinary small weights.
var specialNumbers = [...]float64{
	math.NaN(),
	math.Inf(1),
	math.Inf(-1),
	math.Copysign(0, -1),
	0.5,
	1.5,
	1e308,
	1 << 53,
	1<<53 + 2,
	1e-300,
	-1,
	1 << 32,
	1 << 63,
	0.1,
	100.25,
	math.MaxFloat64,
}

// specialStrings are weight strings that Lua coerces, half-coerces or refuses
// to coerce in arithmetic and comparisons. The plain decimal strings ("0",
// "10") come from kindDecimalStr, so nothing here singles out the
// incident's value.
var specialStrings = [...]string{
	"", "ten", " 10", "10 ", "0x10", "1e1", "nan", "inf", "-0", "0.0",
	"-1", "10.5", "00", "1e400", "0x0", "+5", "\t7\n", "1/0", "true",
}

// DecodeNodeSet turns fuzzer bytes into a typed node set: ids n1, n2, ... in
// order, each with a weight that may be any of the values a Lua balancer can
// be handed: integers, NaN, ±Inf, -0, huge and fractional numbers, numeric
// and non-numeric strings, and booleans.
//
// Input that starts (after spaces) with '{', '[' or '@' is not decoded here:
// callers hand it to a Lua-literal or JSON parser, so that readable seed files
// and compact fuzzer-made inputs share one corpus. DecodeNodeSet itself never
// fails: every byte string is some node set (the empty input is the empty set).
func DecodeNodeSet(data []byte) []weights.Entry {
	var out []weights.Entry
	for len(data) > 0 && len(out) < MaxNodeSet {
		kind := int(data[0]) % numKinds
		data = data[1:]
		var w weights.Raw
		switch kind {
		case kindSmallInt:
			w = weights.Int(int64(take(&data, 1)[0]))
		case kindDecimalStr:
			w = weights.String(strconv.Itoa(int(take(&data, 1)[0])))
		case kindSpecialNum:
			w = weights.Float(specialNumbers[int(take(&data, 1)[0])%len(specialNumbers)])
		case kindSpecialStr:
			w = weights.String(specialStrings[int(take(&data, 1)[0])%len(specialStrings)])
		case kindBool:
			w = weights.Bool(take(&data, 1)[0]&1 == 1)
		case kindFloatBits:
			w = weights.Float(math.Float64frombits(binary.LittleEndian.Uint64(take(&data, 8))))
		case kindBytesStr:
			n := int(take(&data, 1)[0]) % 16
			w = weights.String(string(take(&data, n)))
		case kindNegInt:
			w = weights.Int(-int64(take(&data, 1)[0]))
		case kindWideInt:
			w = weights.Int(int64(binary.BigEndian.Uint32(take(&data, 4))))
		}
		out = append(out, weights.Entry{ID: "n" + strconv.Itoa(len(out)+1), Weight: w})
	}
	return out
}

// take removes n bytes from the front of *data, padding with zeros when the
// input is shorter.
func take(data *[]byte, n int) []byte {
	if len(*data) >= n {
		b := (*data)[:n]
		*data = (*data)[n:]
		return b
	}
	b := make([]byte, n)
	copy(b, *data)
	*data = nil
	return b
}

// isTextSpec reports whether the input is a readable node set (a Lua table
// literal, a JSON object or array, or an @file reference) rather than the
// compact binary form.
func isTextSpec(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[', '@':
			return true
		}
		return false
	}
	return false
}
