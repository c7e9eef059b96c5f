package weights

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Default limits, used for the zero fields of a Limits.
const (
	DefaultMaxBytes = 8 << 20 // 8 MiB
	DefaultMaxNodes = 100_000
	DefaultMaxIDLen = 255
	DefaultMaxDepth = 64
	// DefaultMaxValues bounds the values ParseJSON builds.
	DefaultMaxValues = 1_000_000
)

// Payload-level errors. A *PayloadError unwraps to one of these.
var (
	// ErrSyntax: the payload is not JSON (malformed text, invalid UTF-8, a
	// byte-order mark, trailing data after the value, a lone surrogate).
	ErrSyntax = errors.New("weights: malformed JSON")
	// ErrTooLarge: the payload is larger than Limits.MaxBytes, or holds
	// more than Limits.MaxValues values.
	ErrTooLarge = errors.New("weights: payload too large")
	// ErrTooDeep: arrays and objects nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("weights: payload nested too deeply")
	// ErrTooManyNodes: more nodes than Limits.MaxNodes.
	ErrTooManyNodes = errors.New("weights: too many nodes")
	// ErrShape: valid JSON that is not a snapshot (neither an object nor an array).
	ErrShape = errors.New("weights: payload is not a snapshot")
)

// PayloadError is a problem with a payload as a whole, at a byte offset.
// Unwrap gives ErrSyntax, ErrTooLarge, ErrTooDeep, ErrTooManyNodes or ErrShape.
type PayloadError struct {
	Offset int    // byte offset into the payload where the problem was seen
	Msg    string // what is wrong, for people
	Err    error  // the sentinel
}

// Error reads like: weights: invalid character 'x' looking for a value at byte 17.
func (e *PayloadError) Error() string {
	return fmt.Sprintf("weights: %s at byte %d", e.Msg, e.Offset)
}

// Unwrap returns the sentinel error.
func (e *PayloadError) Unwrap() error { return e.Err }

// WithDefaults returns l with its zero (or negative) fields set to the
// documented defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MaxIDLen <= 0 {
		l.MaxIDLen = DefaultMaxIDLen
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	return l
}

// ParseJSON decodes one JSON value into a Raw without losing what was sent:
// numbers keep their literal text, strings stay strings, object members keep
// their order and their duplicates. It rejects, with a *PayloadError that
// names the byte offset, anything larger than l.MaxBytes, a byte-order mark,
// invalid UTF-8, malformed JSON, nesting deeper than l.MaxDepth, and trailing
// data after the value, and more than l.MaxValues values. Zero fields of l
// take the documented defaults.
//
// As an extension for payloads written by Python and JavaScript tools, the
// bare tokens NaN, Infinity and -Infinity are read as numbers with that text,
// so a validator can reject the one node ("nan", "infinite") instead of the
// whole payload. Strings and numbers in the result share memory with one copy
// of data; data itself is not retained.
func ParseJSON(data []byte, l Limits) (Raw, error) {
	l = l.WithDefaults()
	if err := precheck(data, l); err != nil {
		return Raw{}, err
	}
	sc := scanner{maxDepth: l.MaxDepth, maxValues: l.MaxValues}
	sc.load(data)
	v, err := sc.value(true)
	if err != nil {
		return Raw{}, err
	}
	if err := sc.end(); err != nil {
		return Raw{}, err
	}
	return v, nil
}

// precheck applies the checks that look at the payload as bytes.
func precheck(data []byte, l Limits) error {
	if len(data) > l.MaxBytes {
		return &PayloadError{Offset: l.MaxBytes, Err: ErrTooLarge,
			Msg: fmt.Sprintf("payload is %d bytes, the limit is %d", len(data), l.MaxBytes)}
	}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return &PayloadError{Offset: 0, Err: ErrSyntax, Msg: "byte-order mark before the JSON value"}
	}
	if !utf8.Valid(data) {
		// bytes.IndexRune finds the first invalid sequence, or a U+FFFD
		// that was sent, which is valid.
		off := 0
		for {
			j := bytes.IndexRune(data[off:], utf8.RuneError)
			if j < 0 { // not reached: data is not valid UTF-8
				return &PayloadError{Offset: off, Err: ErrSyntax, Msg: "invalid UTF-8"}
			}
			off += j
			if r, size := utf8.DecodeRune(data[off:]); r != utf8.RuneError || size > 1 {
				off += size
				continue
			}
			break
		}
		return &PayloadError{Offset: off, Err: ErrSyntax, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[off])}
	}
	return nil
}

// scanner reads JSON from a string that has passed precheck.
type scanner struct {
	s string
	// buf is s followed by at least pad zero bytes (see load): at reads
	// the byte at the cursor through it, 0 at the end of s.
	buf       string
	i         int
	depth     int
	maxDepth  int
	values    int // values built so far
	maxValues int
	// limit is the MaxValues named in the error when it differs from
	// maxValues (a sub-scanner that has the rest of a budget).
	limit int
	// Elements of the arrays and objects being built, innermost last; each
	// container is copied out at its exact size when it closes.
	items   []Raw
	members []Member
	// sketch, when set, bounds what is built (SketchJSON).
	sketch *sketch
	// open holds, for skip, the offset of each container it is in.
	open []int
	// noSkip holds, ascending, the offsets of the containers that were open
	// when skip last failed: skip fails again from any of them (it would
	// read the same bytes to the same problem), so it gives up at once
	// instead of reading to the problem from every level of a deeply nested
	// malformed value.
	noSkip []int
}

// pad is the number of zero bytes after the input in scanner.buf: at least
// one step of stop.
const pad = len(zeros)

// load sets the scanner to read data, from its start. The copy it reads
// (which the strings it returns share) ends with pad zero bytes, a byte no
// JSON token holds outside a string (where it is refused): the scanner
// reads the byte at the cursor, or sixteen bytes of a string, without first
// comparing the cursor with the length, and a zero byte reads as "not what
// was looked for". It is the same work; under a fuzzing build, where
// every comparison in safewrr's code calls a tracing hook, these are the
// scanner's most frequent comparisons.
func (sc *scanner) load(data []byte) {
	sc.buf = string(data) + zeros
	sc.s = sc.buf[:len(data)]
	sc.i = 0
}

// zeros are the pad zero bytes load puts after the input.
const zeros = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// at returns the byte at the cursor, 0 at the end of the input.
func (sc *scanner) at() byte { return sc.buf[sc.i] }

// sketch says which parts of a value SketchJSON builds.
type sketch struct {
	keys map[string]bool
}

// Bounds of a sketch: containers nest at most sketchDepth deep; an object
// keeps its first sketchFirst members, the first member of each of the
// given keys and its first array or object member, at most sketchMembers in
// all; an array keeps its first element.
const (
	sketchDepth   = 4
	sketchFirst   = 7
	sketchMembers = 24
)

// SketchJSON reads data as ParseJSON does, with the same checks and errors
// (syntax, size, UTF-8, depth), but builds only a bounded outline of the
// value: arrays keep their first element; objects keep their first few
// members, the first member named by each of keys, and their first member
// that is an array or an object; arrays and objects nested deeper than a
// few levels, and every member or element not kept, are checked and
// skipped, and come back (if at all) as empty values of their kind. What it
// builds is bounded whatever data holds, so its cost is one pass over the
// bytes: it is how a payload's shape is told cheaply before it is decoded.
// MaxValues does not apply.
func SketchJSON(data []byte, l Limits, keys ...string) (Raw, error) {
	l = l.WithDefaults()
	if err := precheck(data, l); err != nil {
		return Raw{}, err
	}
	sk := &sketch{keys: make(map[string]bool, len(keys))}
	for _, k := range keys {
		sk.keys[k] = true
	}
	sc := scanner{maxDepth: l.MaxDepth, maxValues: math.MaxInt, sketch: sk}
	sc.load(data)
	v, err := sc.value(true)
	if err != nil {
		return Raw{}, err
	}
	if err := sc.end(); err != nil {
		return Raw{}, err
	}
	return v, nil
}

// Sketch returns the outline of v that SketchJSON builds, with the same
// keys, from the text of which v is what ParseJSON built: the same value,
// read from the tree instead of the text. It is how a payload that has
// been parsed whole is told by its shape without being read again.
func Sketch(v Raw, keys ...string) Raw {
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	return sketchOf(v, 0, set)
}

// sketchOf is Sketch for a value inside depth arrays and objects. It
// follows the rules of objectBody and arrayBody under a sketch, as value
// applies them to the text (keepMember for an object's members; an array's
// first element; a container below sketchDepth stubbed).
func sketchOf(v Raw, depth int, keys map[string]bool) Raw {
	depth++ // the depth of v's members or elements, as the scanner counts
	switch v.Kind {
	case KindArray:
		if len(v.Items) == 0 {
			return Raw{Kind: KindArray}
		}
		first := v.Items[0]
		if containerKind(first.Kind) && depth >= sketchDepth {
			first = Raw{Kind: first.Kind} // deep: a stub
		} else {
			first = sketchOf(first, depth, keys)
		}
		return Raw{Kind: KindArray, Items: []Raw{first}}
	case KindObject:
		var (
			kept      []Member
			seen      = map[string]bool{}
			container bool
		)
		for _, m := range v.Members {
			isContainer := containerKind(m.Value.Kind)
			deep := isContainer && depth >= sketchDepth
			var build, stub bool
			switch {
			case len(kept) >= sketchMembers:
			case len(kept) < sketchFirst, keys[m.Key] && !seen[m.Key]:
				build, stub = !deep, deep
			case isContainer && !container:
				stub = true
			}
			switch {
			case build:
				kept = append(kept, Member{Key: m.Key, Value: sketchOf(m.Value, depth, keys)})
			case stub:
				kept = append(kept, Member{Key: m.Key, Value: Raw{Kind: m.Value.Kind}})
			default:
				continue
			}
			seen[m.Key] = true
			container = container || isContainer
		}
		return Raw{Kind: KindObject, Members: kept}
	}
	return v
}

// containerKind reports whether k is an array or an object.
func containerKind(k Kind) bool { return k == KindArray || k == KindObject }

// keepMember decides, in a sketch, whether an object member is built: kept
// counts the members kept so far, seen the keys kept, container whether a
// container member was kept.
func (sc *scanner) keepMember(key string, kept int, seen map[string]bool, container bool) (build, stub bool) {
	sk := sc.sketch
	if kept >= sketchMembers {
		return false, false
	}
	isContainer := containerStart[sc.at()]
	deep := isContainer && sc.depth >= sketchDepth
	switch {
	case kept < sketchFirst, sk.keys[key] && !seen[key]:
		return !deep, deep
	case isContainer && !container:
		return false, true
	}
	return false, false
}

func (sc *scanner) fail(off int, msg string) *PayloadError {
	return &PayloadError{Offset: off, Err: ErrSyntax, Msg: msg}
}

// unexpected describes the byte at the cursor, or the end of input.
func (sc *scanner) unexpected(looking string) *PayloadError {
	if sc.i >= len(sc.s) {
		return sc.fail(sc.i, "unexpected end of input "+looking)
	}
	r, _ := utf8.DecodeRuneInString(sc.s[sc.i:])
	return sc.fail(sc.i, fmt.Sprintf("invalid character %q %s", r, looking))
}

// The inner loops of the scanner find the end of a run of bytes with a
// table lookup or a search in the standard library rather than by comparing
// each byte with several others: this is the same work, but under a fuzzing
// build every comparison in safewrr's code calls a tracing hook, and these
// loops are most of what a fuzz target runs.

// space marks the JSON whitespace bytes.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strStop is 1 for the bytes that end the plain part of a string: the
// closing quote, a backslash and the control characters.
var strStop = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 1
	}
	t['"'], t['\\'] = 1, 1
	return t
}()

// nonZero marks the bytes that are not 0: stop tells a step that found a
// byte of strStop by a table, not by comparing its bits with 0.
var nonZero = func() (t [256]bool) {
	for x := 1; x < 256; x++ {
		t[x] = true
	}
	return t
}()

// isQuote, isColon and isComma mark the bytes the scanner looks for at
// the common steps (a string's end, after a key, between elements), and
// closesObject and closesArray the end of a container's elements.
var (
	isQuote      = [256]bool{'"': true}
	isColon      = [256]bool{':': true}
	isComma      = [256]bool{',': true}
	closesObject = [256]bool{'}': true}
	closesArray  = [256]bool{']': true}
)

// containerStart marks the bytes that open an array or an object.
var containerStart = [256]bool{'[': true, '{': true}

func (sc *scanner) ws() {
	if space[sc.at()] {
		sc.skipSpace()
	}
}

// skipSpace moves the cursor past the whitespace at it. It is kept out of
// line so that ws, called before every token, is inlined.
//
//go:noinline
func (sc *scanner) skipSpace() {
	sc.i = len(sc.s) - len(strings.TrimLeft(sc.s[sc.i:], " \t\n\r"))
}

// end checks that only whitespace follows the value.
func (sc *scanner) end() error {
	sc.ws()
	if sc.i < len(sc.s) {
		return sc.fail(sc.i, "trailing data after the JSON value")
	}
	return nil
}

// colon consumes the ':' after an object key, after optional whitespace.
func (sc *scanner) colon(looking string) error {
	sc.ws()
	if isColon[sc.at()] {
		sc.i++
		return nil
	}
	return sc.unexpected(looking)
}

func (sc *scanner) enter() error {
	sc.depth++
	if sc.depth > sc.maxDepth {
		return &PayloadError{Offset: sc.i, Err: ErrTooDeep,
			Msg: fmt.Sprintf("arrays and objects nest more than %d deep", sc.maxDepth)}
	}
	return nil
}

// value reads one value after optional whitespace. With build false, arrays
// and objects are checked and skipped and come back without their contents.
func (sc *scanner) value(build bool) (Raw, error) {
	sc.ws()
	if sc.i >= len(sc.s) {
		return Raw{}, sc.unexpected("looking for a value")
	}
	if build {
		sc.values++
		if sc.values > sc.maxValues {
			limit := sc.maxValues
			if sc.limit != 0 {
				limit = sc.limit
			}
			return Raw{}, &PayloadError{Offset: sc.i, Err: ErrTooLarge,
				Msg: fmt.Sprintf("more than %d values (the limit)", limit)}
		}
	}
	switch c := sc.s[sc.i]; {
	case isQuote[c]:
		s, err := sc.str()
		return Raw{Kind: KindString, Text: s}, err
	case numberStart[c]:
		t, err := sc.number()
		return Raw{Kind: KindNumber, Text: t}, err
	case objectStart[c]:
		if !build && sc.skip() {
			return Raw{Kind: KindObject}, nil
		}
		return sc.object(build)
	case arrayStart[c]:
		if !build && sc.skip() {
			return Raw{Kind: KindArray}, nil
		}
		return sc.array(build)
	case literalStart[c]:
		if v, ok := sc.literal(valueStart[c]); ok {
			return v, nil
		}
	}
	return Raw{}, sc.unexpected("looking for a value")
}

// numberStart, objectStart, arrayStart and literalStart mark the bytes
// that start each kind of value (valueStart's classes), for the dispatch
// on a value's first byte: a test of a bool table is not traced by a
// fuzzing build, where a switch on the class calls a hook for every case
// it tries, and every value of every payload goes through it.
var (
	numberStart  = startsOf(startMinus, startDigit)
	objectStart  = startsOf(startObject)
	arrayStart   = startsOf(startArray)
	literalStart = startsOf(startTrue, startFalse, startNull, startNaN, startInfinity)
)

// startsOf marks the bytes whose valueStart class is one of classes.
func startsOf(classes ...uint8) (t [256]bool) {
	for c, cls := range valueStart {
		t[c] = slices.Contains(classes, cls)
	}
	return t
}

// Classes of the first byte of a value.
const (
	startOther uint8 = iota
	startObject
	startArray
	startString
	startMinus
	startDigit
	startTrue // the literals, in the order of literals
	startFalse
	startNull
	startNaN
	startInfinity
)

// digit marks the decimal digits.
var digit = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true,
	'5': true, '6': true, '7': true, '8': true, '9': true}

// exponentMark and sign mark the bytes that start a number's exponent and
// the signs that may follow; isMinus, isZero and isPoint the other bytes a
// number's shape turns on.
var (
	exponentMark = [256]bool{'e': true, 'E': true}
	sign         = [256]bool{'+': true, '-': true}
	isMinus      = [256]bool{'-': true}
	isZero       = [256]bool{'0': true}
	isPoint      = [256]bool{'.': true}
)

// valueStart is the class of each byte as the first of a value.
var valueStart = func() (t [256]uint8) {
	t['{'], t['['], t['"'], t['-'] = startObject, startArray, startString, startMinus
	for c := '0'; c <= '9'; c++ {
		t[c] = startDigit
	}
	for i, lit := range literals {
		t[lit.text[0]] = startTrue + uint8(i)
	}
	return t
}()

// skip passes over the array or object at the cursor without building
// anything, in one loop instead of a call per value, and reports true. It is
// the cheap path for what a decoder checks and drops (a payload of deeply
// nested arrays is millions of containers). It takes only well-formed input
// within the depth limit: at anything else it puts the cursor and the depth
// back and reports false, and the caller reads the value again the long way,
// which finds and names the problem, so errors and their offsets are those
// of one reader.
func (sc *scanner) skip() bool {
	start, depth := sc.i, sc.depth
	// The reads go forward, so offsets before start are behind us.
	for len(sc.noSkip) > 0 && sc.noSkip[0] < start {
		sc.noSkip = sc.noSkip[1:]
	}
	if len(sc.noSkip) > 0 && sc.noSkip[0] == start {
		return false
	}
	if sc.skipContainer() {
		return true
	}
	sc.noSkip = append(sc.noSkip[:0], sc.open...)
	sc.i, sc.depth = start, depth
	return false
}

// skipContainer reads one array or object, the offsets of the containers
// it is in kept in sc.open.
func (sc *scanner) skipContainer() bool {
	s := sc.s
	sc.open = sc.open[:0]
	for {
		// At a value (or at the end of the input, which is no value's
		// start).
		sc.ws()
		switch c := sc.at(); {
		case containerStart[c]:
			sc.depth++
			if sc.depth > sc.maxDepth {
				sc.open = append(sc.open, sc.i)
				return false
			}
			start := sc.i
			sc.i++
			sc.ws()
			if sc.at() == closer(c) {
				sc.i++
				sc.depth--
				break // an empty container is a value read
			}
			sc.open = append(sc.open, start)
			if c == '{' && !sc.skipKey() {
				return false
			}
			continue
		case isQuote[c]:
			if _, err := sc.str(); err != nil {
				return false
			}
		case numberStart[c]:
			if _, err := sc.number(); err != nil {
				return false
			}
		case literalStart[c]:
			if _, ok := sc.literal(valueStart[c]); !ok {
				return false
			}
		default:
			return false
		}
		// After a value: close what ends here, up to the next value.
		for {
			if len(sc.open) == 0 {
				return true
			}
			sc.ws()
			top := s[sc.open[len(sc.open)-1]]
			c := sc.at() // 0 at the end of the input, neither closer nor ','
			if c == closer(top) {
				sc.i++
				sc.depth--
				sc.open = sc.open[:len(sc.open)-1]
				continue
			}
			if c != ',' {
				return false
			}
			sc.i++
			if top == '{' && !sc.skipKey() {
				return false
			}
			break
		}
	}
}

// closer is the byte that closes the array or object opened by c.
func closer(c byte) byte {
	if c == '{' {
		return '}'
	}
	return ']'
}

// skipKey reads an object key and its colon, for skip.
func (sc *scanner) skipKey() bool {
	sc.ws()
	if !isQuote[sc.at()] {
		return false
	}
	if _, err := sc.str(); err != nil {
		return false
	}
	sc.ws()
	if !isColon[sc.at()] {
		return false
	}
	sc.i++
	return true
}

// literal reads the literal at the cursor, whose first byte is of class
// cls (startTrue...startInfinity).
func (sc *scanner) literal(cls uint8) (Raw, bool) {
	lit := &literals[cls-startTrue]
	if !strings.HasPrefix(sc.s[sc.i:], lit.text) {
		return Raw{}, false
	}
	sc.i += len(lit.text)
	return lit.raw, true
}

type literal struct {
	text string
	raw  Raw
}

var literals = []literal{
	{"true", Raw{Kind: KindBool, Bool: true}},
	{"false", Raw{Kind: KindBool}},
	{"null", Raw{Kind: KindNull}},
	{"NaN", Raw{Kind: KindNumber, Text: "NaN"}},
	{"Infinity", Raw{Kind: KindNumber, Text: "Infinity"}},
}

func (sc *scanner) object(build bool) (Raw, error) {
	base := len(sc.members)
	v, err := sc.objectBody(build, base)
	sc.members = sc.members[:base]
	return v, err
}

func (sc *scanner) objectBody(build bool, base int) (Raw, error) {
	if err := sc.enter(); err != nil {
		return Raw{}, err
	}
	sc.i++ // '{'
	sc.ws()
	if sc.at() == '}' {
		sc.i++
		sc.depth--
		return Raw{Kind: KindObject}, nil
	}
	var (
		seen      map[string]bool // sketch: keys kept
		container bool            // sketch: a container member was kept
	)
	if build && sc.sketch != nil {
		seen = map[string]bool{}
	}
	for {
		sc.ws()
		if !isQuote[sc.at()] {
			return Raw{}, sc.unexpected("looking for an object key")
		}
		key, err := sc.str()
		if err != nil {
			return Raw{}, err
		}
		if err := sc.colon("after an object key"); err != nil {
			return Raw{}, err
		}
		buildIt, keep := build, build
		if build && sc.sketch != nil {
			sc.ws()
			var stub bool
			buildIt, stub = sc.keepMember(key, len(sc.members)-base, seen, container)
			keep = buildIt || stub
		}
		v, err := sc.value(buildIt)
		if err != nil {
			return Raw{}, err
		}
		if keep {
			sc.members = append(sc.members, Member{Key: key, Value: v})
			if seen != nil {
				seen[key] = true
				container = container || v.Kind == KindArray || v.Kind == KindObject
			}
		}
		more, err := sc.next(&closesObject, "after an object member")
		if err != nil {
			return Raw{}, err
		}
		if !more {
			if !build {
				return Raw{Kind: KindObject}, nil
			}
			return Raw{Kind: KindObject, Members: append([]Member(nil), sc.members[base:]...)}, nil
		}
	}
}

func (sc *scanner) array(build bool) (Raw, error) {
	base := len(sc.items)
	v, err := sc.arrayBody(build, base)
	sc.items = sc.items[:base]
	return v, err
}

func (sc *scanner) arrayBody(build bool, base int) (Raw, error) {
	if err := sc.enter(); err != nil {
		return Raw{}, err
	}
	sc.i++ // '['
	sc.ws()
	if sc.at() == ']' {
		sc.i++
		sc.depth--
		return Raw{Kind: KindArray}, nil
	}
	for n := 0; ; n++ {
		buildIt := build
		if build && sc.sketch != nil {
			// a sketch keeps the first element, and not below its depth
			sc.ws()
			deep := containerStart[sc.at()] && sc.depth >= sketchDepth
			buildIt = n == 0 && !deep
		}
		v, err := sc.value(buildIt)
		if err != nil {
			return Raw{}, err
		}
		if buildIt || (build && n == 0) {
			sc.items = append(sc.items, v)
		}
		more, err := sc.next(&closesArray, "after an array element")
		if err != nil {
			return Raw{}, err
		}
		if !more {
			if !build {
				return Raw{Kind: KindArray}, nil
			}
			return Raw{Kind: KindArray, Items: append([]Raw(nil), sc.items[base:]...)}, nil
		}
	}
}

// next consumes ',' (more is true) or the byte closes marks, the container's
// closing one (more is false, and the container is left).
func (sc *scanner) next(closes *[256]bool, looking string) (more bool, err error) {
	sc.ws()
	switch c := sc.at(); {
	case isComma[c]:
		sc.i++
		return true, nil
	case closes[c]:
		sc.i++
		sc.depth--
		return false, nil
	}
	return false, sc.unexpected(looking)
}

// str reads a string starting at its opening quote. Without escapes the
// result is a substring of the input.
func (sc *scanner) str() (string, error) {
	start := sc.i + 1
	i := sc.stop(start)
	var out []byte // the string's bytes, once an escape is met
	for {
		// i is at most len(sc.s): the zero byte after the input stops
		// the search there, and reads as a control character, so the
		// end of the input is told from one only on that path.
		switch c := sc.buf[i]; {
		case isQuote[c]:
			sc.i = i + 1
			if out == nil {
				return sc.s[start:i], nil // no escape: a substring of the input
			}
			return string(out), nil
		case c < 0x20:
			if i >= len(sc.s) {
				return "", sc.fail(start-1, "unterminated string")
			}
			return "", sc.fail(i, fmt.Sprintf("control character 0x%02x in a string", c))
		}
		// A backslash.
		if out == nil {
			out = make([]byte, 0, i-start+16)
			out = append(out, sc.s[start:i]...)
		}
		if i+1 >= len(sc.s) {
			return "", sc.fail(start-1, "unterminated string")
		}
		n := 2 // the escape's length
		switch e := sc.s[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(sc.s, i+2)
			if !ok {
				return "", sc.fail(i, `invalid \u escape`)
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00:
				r2, ok2 := rune(0), false
				if i+7 < len(sc.s) && sc.s[i+6] == '\\' && sc.s[i+7] == 'u' {
					r2, ok2 = hex4(sc.s, i+8)
				}
				if !ok2 || r2 < 0xDC00 || r2 > 0xDFFF {
					return "", sc.fail(i, `lone UTF-16 surrogate in a \u escape`)
				}
				out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
				n = 12
			case utf16.IsSurrogate(r):
				return "", sc.fail(i, `lone UTF-16 surrogate in a \u escape`)
			default:
				out = utf8.AppendRune(out, r)
				n = 6
			}
		default:
			return "", sc.fail(i, fmt.Sprintf("invalid escape %q in a string", "\\"+string(rune(e))))
		}
		i += n
		// The plain run up to the next stop byte, copied whole.
		j := sc.stop(i)
		out = append(out, sc.s[i:j]...)
		i = j
	}
}

// stop returns the offset of the first strStop byte at or after i, found
// sixteen bytes a step (one branch for the sixteen, and its place among
// them from the bits of the step); len(sc.s) or more when there is none.
// The zero bytes after the input (load) stop the search at the latest
// there, in a step that lies within them: no step needs a test of the
// length. Most strings of a payload (keys, addresses, numbers sent as
// strings) end within the first step.
func (sc *scanner) stop(i int) int {
	for {
		b := sc.buf[i : i+16]
		lo := strStop[b[0]] | strStop[b[1]]<<1 | strStop[b[2]]<<2 | strStop[b[3]]<<3 |
			strStop[b[4]]<<4 | strStop[b[5]]<<5 | strStop[b[6]]<<6 | strStop[b[7]]<<7
		hi := strStop[b[8]] | strStop[b[9]]<<1 | strStop[b[10]]<<2 | strStop[b[11]]<<3 |
			strStop[b[12]]<<4 | strStop[b[13]]<<5 | strStop[b[14]]<<6 | strStop[b[15]]<<7
		if nonZero[lo|hi] {
			return i + bits.TrailingZeros16(uint16(lo)|uint16(hi)<<8)
		}
		i += 16
	}
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	// hexValue is 16 for a byte that is not a hexadecimal digit: one test
	// of the four values or'ed together finds one.
	a, b, c, d := hexValue[s[i]], hexValue[s[i+1]], hexValue[s[i+2]], hexValue[s[i+3]]
	if (a|b|c|d)&16 != 0 {
		return 0, false
	}
	return rune(a)<<12 | rune(b)<<8 | rune(c)<<4 | rune(d), true
}

// hexValue is the value of each hexadecimal digit, 16 for the other bytes.
var hexValue = func() (t [256]uint8) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = uint8(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = uint8(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = uint8(c - 'A' + 10)
		default:
			t[c] = 16
		}
	}
	return t
}()

// number reads a JSON number (or -Infinity) and returns its text.
func (sc *scanner) number() (string, error) {
	start := sc.i
	i := sc.i
	s, b := sc.s, sc.buf // b: s and the zero bytes after it (load)
	if isMinus[b[i]] {
		i++
		if strings.HasPrefix(s[i:], "Infinity") {
			sc.i = i + len("Infinity")
			return s[start:sc.i], nil
		}
	}
	digits := func() bool {
		j := i
		for digit[b[i]] {
			i++
		}
		return i != j
	}
	switch {
	case isZero[b[i]]:
		i++
		if digit[b[i]] {
			return "", sc.fail(i-1, "number with a leading zero")
		}
	case !digits():
		sc.i = i
		return "", sc.unexpected("in a number, looking for a digit")
	}
	if isPoint[b[i]] {
		i++
		if !digits() {
			sc.i = i
			return "", sc.unexpected("after the decimal point of a number")
		}
	}
	if exponentMark[b[i]] {
		i++
		if sign[b[i]] {
			i++
		}
		if !digits() {
			sc.i = i
			return "", sc.unexpected("in the exponent of a number")
		}
	}
	sc.i = i
	return s[start:i], nil
}
