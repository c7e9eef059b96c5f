package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// weight applies the registry's convention to one weight. It returns the
// value to validate and whether it differs from what was sent. A default is
// handed to Build as an absent weight, so Build gives it the policy's
// DefaultWeight, which policy() set to the registry's default unless the
// caller chose one. Under FollowRegistry a value the registry's SDK would
// have replaced or read loosely is left for Build to reject, and in.sdk says
// what the SDK would have done; under FollowSDK the SDK's reading applies.
func (r rule) weight(in *instance, p weights.Policy, scale uint64, follow, sdk, regDefault bool) (weights.Raw, bool) {
	w := in.weight
	if w.Kind == weights.KindNull && r.nullUnset {
		w = weights.Raw{}
	}
	whose := func() string {
		if regDefault {
			return r.registry + " uses " + r.defText(scale)
		}
		return "the policy's default is " + strconv.FormatUint(uint64(defaultWeight(p)), 10)
	}
	deflt := func(why string) (weights.Raw, bool) {
		if p.MissingRejected {
			return w, false
		}
		in.addNote(NoteDefaulted, in.weight, "%s; %s", why, whose())
		return weights.Raw{}, true
	}
	would := func(what string) {
		in.sdk = r.registry + " would " + what
	}
	switch w.Kind {
	case weights.KindAbsent:
		if !p.MissingRejected {
			what := "no weight"
			if in.weight.Kind == weights.KindNull {
				what = "weight null (unset)"
			}
			if len(in.where) != 0 {
				what += " at " + in.where
			}
			in.addNote(NoteDefaulted, in.weight, "%s; %s", what, whose())
		}
		return w, in.weight.Kind != weights.KindAbsent
	case weights.KindString:
		if !r.strings || zeroText(w.Text) || !follow {
			return w, false
		}
		v, ok := r.parse(w.Text)
		if sdk {
			switch {
			case ok && v > 0:
				return weights.Int(v), true
			case ok && v < 0 && r.lowDefault:
				return deflt(fmt.Sprintf("weight %s is below 1", w))
			case ok && v < 0:
				return weights.Int(v), true
			case !ok && r.badDefault:
				return deflt(fmt.Sprintf("weight %s is not an integer", w))
			}
			return w, false
		}
		switch {
		case ok && v < 0 && r.lowDefault:
			would("use " + r.defText(scale))
			return weights.Int(v), true
		case ok && v < 0:
			would("read it as " + strconv.FormatInt(v, 10))
			return weights.Int(v), true
		case ok && strconv.FormatInt(v, 10) != w.Text:
			// "010", "+10": the client's parser reads them; the policy's
			// decimal rule rejects them.
			would("read it as " + strconv.FormatInt(v, 10))
		case !ok && r.badDefault:
			would("use " + r.defText(scale))
		}
		return w, false
	case weights.KindNumber:
		if r.strings && !r.nullUnset {
			in.addNote(NoteNumberType, w, "weight sent as the JSON number %s where the registry stores a string", w)
		}
		if !follow {
			return w, false
		}
		if r.lowDefault {
			if f, ok := w.Float64(); ok && f <= 0 && !math.IsInf(f, -1) {
				if sdk {
					return deflt(fmt.Sprintf("weight %s is below 1", w))
				}
				if f == 0 {
					in.zeroNote = fmt.Sprintf("%s would use %s", r.registry, r.defText(scale))
				} else {
					would("use " + r.defText(scale))
				}
			}
		}
		if r.round {
			return r.rounded(in, w, p, scale)
		}
	}
	return w, false
}

// defText renders the registry default, with its scaled value.
func (r rule) defText(scale uint64) string {
	if scale == 1 {
		return strconv.FormatUint(uint64(r.def), 10)
	}
	return fmt.Sprintf("%d (%d after scaling by %d)", r.def, uint64(r.def)*scale, scale)
}

// zeroText reports whether s spells zero as a number would ("0", "00", "-0",
// "0.0", " 0"): such a string is never replaced by a default.
func zeroText(s string) bool {
	t := strings.TrimSpace(s)
	t = strings.TrimLeft(t, "+-")
	if len(t) == 0 {
		return false
	}
	digits := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '0':
			digits = true
		case c == '.':
		case c == 'e' || c == 'E':
			return digits
		default:
			return false
		}
	}
	return digits
}

// rounded rounds a fractional scaled weight to the nearest integer (a
// positive weight to at least 1), as registries with float weights mean
// them. It changes nothing that Build would accept or reject for another
// reason than a fraction.
func (r rule) rounded(in *instance, w weights.Raw, p weights.Policy, scale uint64) (weights.Raw, bool) {
	if _, reason := p.Weight(w); reason != weights.ReasonFraction {
		return w, false
	}
	v, ok := exactRat(w.Text)
	if !ok {
		return w, false
	}
	v.Mul(v, new(big.Rat).SetInt64(int64(scale)))
	if v.Sign() <= 0 {
		return w, false
	}
	// round half away from zero: floor(v + 1/2)
	half := new(big.Rat).Add(v, big.NewRat(1, 2))
	n := new(big.Int).Quo(half.Num(), half.Denom())
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	// Build multiplies by the scale again: hand it n / scale, which has a
	// finite decimal form only when the scale is made of 2s and 5s.
	q := new(big.Rat).SetFrac(n, new(big.Int).SetUint64(scale))
	text, exact := decimalText(q)
	if !exact {
		in.extra = fmt.Sprintf("rounding it needs a scale made of 2s and 5s (10, 100, 1000), not %d", scale)
		return w, false
	}
	in.addNote(NoteRounded, w, "weight %s × scale %d = %s, rounded to %s", w, scale, ratText(v), n.String())
	return weights.Number(text), true
}

// exactRat parses JSON number text exactly, refusing exponents that would
// make the value huge to compute.
func exactRat(text string) (*big.Rat, bool) {
	if len(text) > 64 {
		return nil, false
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || e > 40 || e < -40 {
			return nil, false
		}
	}
	v, ok := new(big.Rat).SetString(text)
	return v, ok
}

// decimalText writes q as a finite decimal if it has one.
func decimalText(q *big.Rat) (string, bool) {
	d := new(big.Int).Set(q.Denom())
	digits := 0
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	var m big.Int
	for d.Cmp(big.NewInt(1)) != 0 {
		switch {
		case m.Mod(d, two).Cmp(zero) == 0:
			d.Quo(d, two)
		case m.Mod(d, five).Cmp(zero) == 0:
			d.Quo(d, five)
		default:
			return "", false
		}
		digits++
	}
	return q.FloatString(digits), true
}

// ratText renders a rational for a note, with up to 6 decimals.
func ratText(v *big.Rat) string {
	s := v.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Parsers for weight strings, as each registry's client reads them.

// goParseInt is strconv.ParseInt(s, 10, 64): optional sign, decimal digits.
func goParseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// javaParseInt is Java's Integer.parseInt: optional sign, decimal digits,
// 32-bit range.
func javaParseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 32)
	return v, err == nil
}

// protoUint32 is a proto3 JSON uint32 sent as a string: decimal digits.
func protoUint32(s string) (int64, bool) {
	if len(s) == 0 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return int64(v), err == nil
}

// defaultWeight is the weight a policy gives a missing weight.
func defaultWeight(p weights.Policy) uint32 {
	if p.DefaultWeight == 0 {
		return weights.DefaultWeight
	}
	return p.DefaultWeight
}
