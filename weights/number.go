package weights

import (
	"math/big"
	"math/bits"
	"strings"
)

// maxDigits is the number of decimal digits of the largest uint32; an integer
// part with more digits is above any MaxWeight.
const maxDigits = 10

// numberValue decides, exactly and from the text alone, what a number's text
// means as a weight once multiplied by scale: a non-negative integer no
// larger than max (reason ""; 0 for every spelling of zero, -0 included), or
// why not. The order of the checks is: malformed text (bad-number), NaN,
// ±Inf, negative, not an integer after scaling (fraction), above max
// (overflow). No float64 is involved, so 1.0000000000000000001 is a
// fraction and 1e400 an overflow, never a rounded value.
func numberValue(text string, scale, max uint64) (uint64, Reason) {
	// Fast path: a plain unsigned integer of at most maxDigits digits.
	if n := len(text); n > 0 && n <= maxDigits && (text[0] != '0' || n == 1) {
		var v uint64
		ok := true
		for i := 0; i < n; i++ {
			c := text[i]
			if !digit[c] {
				ok = false
				break
			}
			v = v*10 + uint64(c-'0')
		}
		if ok {
			return scaleInt(v, scale, max)
		}
	}
	if r, special := nonFinite(text); special {
		if plantNaN && r == ReasonNaN {
			return 0, ""
		}
		return 0, r
	}
	neg, intPart, frac, exp, ok := splitNumber(text)
	if !ok {
		return 0, ReasonBadNumber
	}
	d := digitView{intPart, frac}
	lo, hi := 0, d.len()
	for lo < hi && d.at(lo) == '0' {
		lo++
	}
	for hi > lo && d.at(hi-1) == '0' {
		hi--
	}
	if lo == hi {
		return 0, "" // every spelling of zero: 0, -0, 0.000, 0e99
	}
	if neg && !plantNegative {
		return 0, ReasonNegative
	}
	// The value is D × 10^e, D = digits [lo, hi) without leading or trailing zeros.
	e := exp - int64(len(frac)) + int64(d.len()-hi)
	n := int64(hi - lo)
	if e >= 0 {
		if n+e > maxDigits {
			return 0, ReasonOverflow
		}
		v := d.uint(lo, hi)
		for ; e > 0; e-- {
			v *= 10
		}
		return scaleInt(v, scale, max)
	}
	// A fraction part of k digits, the last one non-zero. D×scale is a
	// multiple of 10^k only if scale supplies every factor 2 or every factor
	// 5 that D lacks (D, not ending in 0, lacks all of one of them); a
	// uint32 scale has at most 31 factors 2, so k > 31 is always a fraction.
	k := -e
	if k > 31 {
		return 0, ReasonFraction
	}
	tailLo := hi - int(k)
	if tailLo < lo {
		tailLo = lo
	}
	q, exact := scaledTail(d, tailLo, hi, int(k), scale)
	if !exact && !plantFraction {
		return 0, ReasonFraction
	}
	// The integer part (digits before the fraction), scaled, plus q.
	if int64(tailLo-lo) > maxDigits {
		return 0, ReasonOverflow
	}
	ip := d.uint(lo, tailLo)
	h, l := bits.Mul64(ip, scale)
	if h != 0 {
		return 0, ReasonOverflow
	}
	v, carry := bits.Add64(l, q, 0)
	if carry != 0 || v > max {
		return 0, ReasonOverflow
	}
	return v, ""
}

// scaleInt multiplies an integer by scale and checks it against max.
func scaleInt(v, scale, max uint64) (uint64, Reason) {
	h, l := bits.Mul64(v, scale)
	if h != 0 || l > max && !(plantMaxPlusOne && l == max+1) {
		return 0, ReasonOverflow
	}
	return l, ""
}

// scaledTail computes T×scale / 10^k for T = the digits [lo, hi) of d, and
// whether the division is exact.
func scaledTail(d digitView, lo, hi, k int, scale uint64) (uint64, bool) {
	if k <= 19 {
		t := d.uint(lo, hi) // < 10^k ≤ 10^19 < 2^64
		h, l := bits.Mul64(t, scale)
		p := pow10(k)
		// T < 10^k, so the quotient is below scale < 2^64 and h < p.
		q, r := bits.Div64(h, l, p)
		return q, r == 0
	}
	var b strings.Builder
	for i := lo; i < hi; i++ {
		b.WriteByte(d.at(i))
	}
	t, _ := new(big.Int).SetString(b.String(), 10)
	t.Mul(t, new(big.Int).SetUint64(scale))
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
	q, r := t.QuoRem(t, p, new(big.Int))
	return q.Uint64(), r.Sign() == 0
}

func pow10(k int) uint64 {
	p := uint64(1)
	for ; k > 0; k-- {
		p *= 10
	}
	return p
}

// nonFinite recognises the names non-finite values are written with:
// NaN (any case, optionally signed), Inf, Infinity (any case, optionally signed).
func nonFinite(text string) (Reason, bool) {
	t := text
	if len(t) > 0 && (t[0] == '-' || t[0] == '+') {
		t = t[1:]
	}
	switch {
	case strings.EqualFold(t, "nan"):
		return ReasonNaN, true
	case strings.EqualFold(t, "inf"), strings.EqualFold(t, "infinity"):
		return ReasonInfinite, true
	}
	return "", false
}

// splitNumber splits JSON number text: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// The exponent saturates at ±1e12, far beyond any meaningful value.
func splitNumber(s string) (neg bool, intPart, frac string, exp int64, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	j := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart = s[j:i]
	if len(intPart) == 0 || (len(intPart) > 1 && intPart[0] == '0') {
		return
	}
	if i < len(s) && s[i] == '.' {
		i++
		j = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[j:i]
		if len(frac) == 0 {
			return
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		j = i
		for i < len(s) && isDigit(s[i]) {
			if exp < 1e12 {
				exp = exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == j {
			return
		}
		if eneg {
			exp = -exp
		}
	}
	ok = i == len(s)
	return
}

// isDigit reports whether c is a decimal digit: a table lookup, which a
// fuzzing build does not trace, where two comparisons would be two hooks.
func isDigit(c byte) bool { return digit[c] }

// digitView is the digits of a followed by the digits of b, without copying.
type digitView struct{ a, b string }

func (d digitView) len() int { return len(d.a) + len(d.b) }

func (d digitView) at(i int) byte {
	if i < len(d.a) {
		return d.a[i]
	}
	return d.b[i-len(d.a)]
}

// uint returns digits [lo, hi) as a number; callers keep hi-lo ≤ 19.
func (d digitView) uint(lo, hi int) uint64 {
	var v uint64
	for i := lo; i < hi; i++ {
		v = v*10 + uint64(d.at(i)-'0')
	}
	return v
}
