package weights

import (
	"strconv"
	"unicode/utf8"
)

// Encode writes a snapshot as a JSON object {"id": weight, ...} in node
// order, the object shape Decode reads. Decode(Encode(s), p) == s for every
// snapshot s that Decode or Build returned under a policy p with Scale 1.
// An id that is not valid UTF-8 (which Decode and Build never return) has its
// bad bytes written as U+FFFD.
func Encode(s Snapshot) []byte {
	n := 2
	for _, node := range s.Nodes {
		n += len(node.ID) + 14
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '{')
	for i, node := range s.Nodes {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, node.ID)
		buf = append(buf, ':')
		buf = strconv.AppendUint(buf, uint64(node.Weight), 10)
	}
	return append(buf, '}')
}

const hexDigits = "0123456789abcdef"

// jsonEscaped marks the bytes appendString escapes: the quote, the
// backslash and the control characters.
var jsonEscaped = byteClass(func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 })

// appendString appends s as a JSON string. A string that needs no escape
// (no quote, backslash or control character, valid UTF-8), as ids nearly
// always are, is found so with a byte-class test and the standard library
// and copied whole, without a comparison per byte (each a tracing hook
// under a fuzzing build).
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	if !anyIn(s, &jsonEscaped) && utf8.ValidString(s) {
		buf = append(buf, s...)
		return append(buf, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			buf = append(buf, c)
		}
		i++
	}
	return append(buf, '"')
}

// GCD returns the greatest common divisor of the snapshot's non-zero
// weights, or 0 when every node is drained or there are no nodes.
func (s Snapshot) GCD() uint32 {
	var g uint32
	for _, n := range s.Nodes {
		if n.Weight != 0 {
			g = gcd(g, n.Weight)
			if g == 1 {
				return 1
			}
		}
	}
	return g
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Normalized returns a copy of the snapshot with every weight divided by
// the gcd of the non-zero weights: the same ratios with a shorter schedule.
// Drained nodes stay at 0 and the order is kept.
func (s Snapshot) Normalized() Snapshot {
	if s.Nodes == nil {
		return s
	}
	g := s.GCD()
	nodes := make([]Node, len(s.Nodes))
	copy(nodes, s.Nodes)
	if g > 1 {
		for i := range nodes {
			nodes[i].Weight /= g
		}
	}
	return Snapshot{Nodes: nodes}
}
