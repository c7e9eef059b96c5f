package weights

import (
	"math"
	"strconv"
	"strings"
)

// Kind is the type a registry actually sent for a value.
type Kind uint8

// The kinds of a Raw value. The zero Kind is KindAbsent: the field was not sent.
const (
	KindAbsent Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

var kindNames = [...]string{"absent", "null", "bool", "number", "string", "array", "object"}

var kindArticles = [...]string{"an absent", "a null", "a bool", "a number", "a string", "an array", "an object"}

// String returns the kind's lower-case name ("absent", "number", "string", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Article returns the kind's name with "a" or "an" before it ("a number",
// "an object"), for messages.
func (k Kind) Article() string {
	if int(k) < len(kindArticles) {
		return kindArticles[k]
	}
	return "a " + k.String()
}

// Raw is a value exactly as a registry (or Lua code) sent it, before any
// interpretation. Numbers keep their literal text, so 10.0, 1e2, -0 and 1e400
// stay distinguishable; strings stay strings; object members keep their order
// and duplicates.
//
// The zero Raw is an absent value.
type Raw struct {
	// Kind is what was sent.
	Kind Kind
	// Text is the literal text of a number ("10", "1e400", "-0"; "NaN", "Inf"
	// and "-Inf" for the non-finite values JSON cannot carry) or the decoded
	// value of a string.
	Text string
	// Bool is the value of a KindBool.
	Bool bool
	// Items are the elements of a KindArray, in order.
	Items []Raw
	// Members are the members of a KindObject, in the order sent, duplicates kept.
	Members []Member
}

// Member is one key/value pair of an object, in the order it was sent.
type Member struct {
	Key   string
	Value Raw
}

// Number returns a number Raw with the given literal text. The text is kept as
// given; validation decides later whether it is a usable weight.
func Number(text string) Raw { return Raw{Kind: KindNumber, Text: text} }

// Int returns a number Raw for an integer.
func Int(i int64) Raw { return Number(strconv.FormatInt(i, 10)) }

// Float returns a number Raw for a float64, including NaN and ±Inf (written
// "NaN", "Inf" and "-Inf"). Integral values are written without a fraction;
// -0 is written "-0".
func Float(f float64) Raw {
	switch {
	case math.IsNaN(f):
		return Number("NaN")
	case math.IsInf(f, 1):
		return Number("Inf")
	case math.IsInf(f, -1):
		return Number("-Inf")
	case f == 0 && math.Signbit(f):
		return Number("-0")
	}
	return Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// String returns a string Raw.
func String(s string) Raw { return Raw{Kind: KindString, Text: s} }

// Bool returns a bool Raw.
func Bool(b bool) Raw { return Raw{Kind: KindBool, Bool: b} }

// Null returns a JSON null.
func Null() Raw { return Raw{Kind: KindNull} }

// Array returns an array Raw holding items in order.
func Array(items ...Raw) Raw { return Raw{Kind: KindArray, Items: items} }

// Object returns an object Raw holding members in order.
func Object(members ...Member) Raw { return Raw{Kind: KindObject, Members: members} }

// Get returns the value of the first member named key and whether it was
// present. It returns an absent Raw for anything that is not an object.
func (r Raw) Get(key string) (Raw, bool) {
	for _, m := range r.Members {
		if m.Key == key {
			return m.Value, true
		}
	}
	return Raw{}, false
}

// Float64 parses a number's text. ok is false for anything that is not a
// number or whose text is not a number Go can parse. Values beyond float64's
// range come back as ±Inf with ok true, so callers must check.
func (r Raw) Float64() (f float64, ok bool) {
	if r.Kind != KindNumber {
		return 0, false
	}
	switch r.Text {
	case "NaN":
		return math.NaN(), true
	case "Inf", "+Inf":
		return math.Inf(1), true
	case "-Inf":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(r.Text, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// String renders the value for people and reports: JSON text where JSON can
// say it (strings quoted, numbers as sent), NaN/Inf/-Inf as their names,
// "<absent>" for a value that was not sent.
func (r Raw) String() string {
	var b strings.Builder
	r.write(&b)
	return b.String()
}

func (r Raw) write(b *strings.Builder) {
	switch r.Kind {
	case KindAbsent:
		b.WriteString("<absent>")
	case KindNull:
		b.WriteString("null")
	case KindBool:
		b.WriteString(strconv.FormatBool(r.Bool))
	case KindNumber:
		b.WriteString(r.Text)
	case KindString:
		b.WriteString(strconv.Quote(r.Text))
	case KindArray:
		b.WriteByte('[')
		for i, it := range r.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.write(b)
		}
		b.WriteByte(']')
	case KindObject:
		b.WriteByte('{')
		for i, m := range r.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(m.Key))
			b.WriteByte(':')
			m.Value.write(b)
		}
		b.WriteByte('}')
	default:
		b.WriteString(r.Kind.String())
	}
}
