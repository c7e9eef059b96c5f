package fuzz

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

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
// to coerce in arithmetic and comparisons.
var specialStrings = [...]string{
	"0", "", "ten", " 10", "10 ", "0x10", "1e1", "nan", "inf", "-0", "0.0",
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

// LuaLiteral writes a node set as a Lua table literal that rebuilds exactly
// the same values when evaluated: {["n1"]=10, ["n2"]="0", ["n3"]=0/0}.
// NaN is written 0/0, the infinities 1/0 and -1/0, negative zero -0.0; other
// numbers as the shortest text that reads back to the same float64. Keys and
// string values are quoted with Lua escapes, so any bytes survive.
func LuaLiteral(entries []weights.Entry) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('[')
		b.WriteString(luaQuote(e.ID))
		b.WriteString("]=")
		b.WriteString(luaValue(e.Weight))
	}
	b.WriteByte('}')
	return b.String()
}

// luaValue renders one raw value as a Lua expression.
func luaValue(r weights.Raw) string {
	switch r.Kind {
	case weights.KindAbsent, weights.KindNull:
		return "nil"
	case weights.KindBool:
		return strconv.FormatBool(r.Bool)
	case weights.KindString:
		return luaQuote(r.Text)
	case weights.KindNumber:
		f, ok := r.Float64()
		if !ok {
			return luaQuote(r.Text)
		}
		return luaNumber(f)
	case weights.KindArray:
		parts := make([]string, len(r.Items))
		for i, it := range r.Items {
			parts[i] = luaValue(it)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case weights.KindObject:
		parts := make([]string, len(r.Members))
		for i, m := range r.Members {
			parts[i] = "[" + luaQuote(m.Key) + "]=" + luaValue(m.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "nil"
}

// luaNumber renders a float64 as a Lua expression with the same value.
func luaNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "0/0"
	case math.IsInf(f, 1):
		return "1/0"
	case math.IsInf(f, -1):
		return "-1/0"
	case f == 0 && math.Signbit(f):
		return "-0.0"
	case f == math.Trunc(f) && math.Abs(f) < 1<<53:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// luaQuote quotes s as a Lua 5.1 string literal: printable ASCII as is, the
// usual escapes, and \ddd decimal escapes for every other byte.
func luaQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			// Three digits, so a following digit is not read as part of it.
			b.WriteString(strconv.Itoa(int(c) + 1000)[1:])
		}
	}
	b.WriteByte('"')
	return b.String()
}
