package luacompat

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/internal/regfile"
	"github.com/safewrr/safewrr/weights"
)

// Limits on a node spec.
const (
	maxSpecBytes = 8 << 20
	maxSpecDepth = 64
)

// ErrSpec is wrapped by every error ParseSpec returns for a malformed spec.
var ErrSpec = errors.New("luacompat: malformed node spec")

// ParseSpec reads a node set in one of three forms:
//
//   - a Lua table literal, optionally after "return", such as
//     {a=10, b="0", ["10.0.0.1:80"]=5, c=0/0, d=1/0, e=-1/0, f=2^53+1}.
//     Values are numbers (decimal or hex, math.huge, and constant arithmetic
//     with the operators of Lua and parentheses), strings in any Lua
//     quoting, true, false, nil (an absent weight) and nested tables;
//     comments are allowed. Nothing is executed. Positional values get the
//     ids "1", "2", ...;
//   - a JSON object {"id": weight, ...} or array [{"id": ..., "weight": ...}],
//     read with weights.ParseJSON so the string "0" stays a string and the
//     member order is kept;
//   - @file: the contents of a file in either form (a regular file of at
//     most 8 MiB; a FIFO, a device or a directory is an error, never read).
//
// Entries come back in the order written, duplicates included (in Lua the
// last one wins when the table is built).
func ParseSpec(spec string) ([]weights.Entry, error) {
	if strings.HasPrefix(spec, "@") {
		data, err := regfile.Read(spec[1:], maxSpecBytes)
		if err != nil {
			return nil, fmt.Errorf("luacompat: node spec: %w", err)
		}
		spec = string(data)
		if strings.HasPrefix(strings.TrimSpace(spec), "@") {
			return nil, fmt.Errorf("%w: a spec file cannot name another file", ErrSpec)
		}
	}
	if len(spec) > maxSpecBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSpec, maxSpecBytes)
	}
	trimmed := strings.TrimSpace(spec)
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "{") && looksJSON(trimmed) {
		return parseJSONSpec([]byte(trimmed))
	}
	p := &specParser{s: spec}
	return p.parse()
}

// looksJSON reports whether a text starting with "{" reads as JSON: its
// first token after the brace is a double-quoted string followed by ':' or
// the object is empty.
func looksJSON(s string) bool {
	rest := strings.TrimSpace(s[1:])
	if strings.HasPrefix(rest, "}") {
		return false
	}
	if !strings.HasPrefix(rest, `"`) {
		return false
	}
	for i := 1; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case '"':
			return strings.HasPrefix(strings.TrimSpace(rest[i+1:]), ":")
		}
	}
	return false
}

func parseJSONSpec(data []byte) ([]weights.Entry, error) {
	raw, err := weights.ParseJSON(data, weights.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	switch raw.Kind {
	case weights.KindObject:
		entries := make([]weights.Entry, 0, len(raw.Members))
		for _, m := range raw.Members {
			entries = append(entries, weights.Entry{ID: m.Key, Weight: m.Value})
		}
		return entries, nil
	case weights.KindArray:
		entries := make([]weights.Entry, 0, len(raw.Items))
		for i, it := range raw.Items {
			id, ok := it.Get("id")
			if it.Kind != weights.KindObject || !ok || id.Kind != weights.KindString {
				return nil, fmt.Errorf("%w: element %d is not an object with a string \"id\"", ErrSpec, i)
			}
			w, _ := it.Get("weight")
			entries = append(entries, weights.Entry{ID: id.Text, Weight: w})
		}
		return entries, nil
	}
	return nil, fmt.Errorf("%w: JSON %s, want an object or an array", ErrSpec, raw.Kind)
}

// FormatSpec writes entries as a Lua table literal that ParseSpec reads back
// to the same entries: {["10.0.0.1:80"]=10, b="0", c=0/0, d=1/0, e=-1/0}.
// An absent weight is written as nil; null as the identifier null, which
// ParseSpec reads back as null (Lua itself would read a nil global).
func FormatSpec(entries []weights.Entry) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		writeKey(&b, e.ID)
		b.WriteByte('=')
		writeValue(&b, e.Weight, true)
	}
	b.WriteByte('}')
	return b.String()
}

// specParser reads a Lua table literal without running anything.
type specParser struct {
	s     string
	i     int
	depth int
}

func (p *specParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.s[:min(p.i, len(p.s))], "\n")
	return fmt.Errorf("%w: line %d: %s", ErrSpec, line, fmt.Sprintf(format, args...))
}

func (p *specParser) parse() ([]weights.Entry, error) {
	p.skip()
	if p.word("return") {
		p.skip()
	}
	if !p.peek('{') {
		return nil, p.errorf("want a Lua table literal {...} or a JSON object")
	}
	p.i++
	entries, err := p.fields(true)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.peek(';') {
		p.i++
		p.skip()
	}
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected %q after the table", p.rest(10))
	}
	return entries, nil
}

func (p *specParser) rest(n int) string {
	r := p.s[p.i:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

// skip skips white space and comments.
func (p *specParser) skip() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "--"):
			p.i += 2
			if lvl, ok := p.longOpen(); ok {
				if j := strings.Index(p.s[p.i:], "]"+strings.Repeat("=", lvl)+"]"); j >= 0 {
					p.i += j + lvl + 2
				} else {
					p.i = len(p.s)
				}
				continue
			}
			if j := strings.IndexByte(p.s[p.i:], '\n'); j >= 0 {
				p.i += j + 1
			} else {
				p.i = len(p.s)
			}
		default:
			return
		}
	}
}

// longOpen consumes "[[" or "[==[" and returns the level.
func (p *specParser) longOpen() (int, bool) {
	if !p.peek('[') {
		return 0, false
	}
	j := p.i + 1
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	if j < len(p.s) && p.s[j] == '[' {
		lvl := j - p.i - 1
		p.i = j + 1
		return lvl, true
	}
	return 0, false
}

func (p *specParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// word consumes the identifier w if it is next and whole.
func (p *specParser) word(w string) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	j := p.i + len(w)
	if j < len(p.s) && isIdentByte(p.s[j]) {
		return false
	}
	p.i = j
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// fields reads table fields up to the closing brace (already past '{').
func (p *specParser) fields(top bool) ([]weights.Entry, error) {
	p.depth++
	if p.depth > maxSpecDepth {
		return nil, p.errorf("tables nested deeper than %d", maxSpecDepth)
	}
	defer func() { p.depth-- }()
	var entries []weights.Entry
	positional := 0
	for {
		p.skip()
		if p.peek('}') {
			p.i++
			return entries, nil
		}
		var key string
		var val weights.Raw
		var err error
		switch {
		case p.peek('[') && !p.isLongString():
			p.i++
			p.skip()
			k, err := p.expr()
			if err != nil {
				return nil, err
			}
			p.skip()
			if !p.peek(']') {
				return nil, p.errorf("want ] after a key")
			}
			p.i++
			key, err = keyText(k)
			if err != nil {
				return nil, p.errorf("%v", err)
			}
			if err := p.expectAssign(); err != nil {
				return nil, err
			}
			if val, err = p.expr(); err != nil {
				return nil, err
			}
		case p.nameAssign():
			name := p.ident()
			if err := p.expectAssign(); err != nil {
				return nil, err
			}
			key = name
			if val, err = p.expr(); err != nil {
				return nil, err
			}
		default:
			if val, err = p.expr(); err != nil {
				return nil, err
			}
			positional++
			key = strconv.Itoa(positional)
		}
		entries = append(entries, weights.Entry{ID: key, Weight: val})
		if top && len(entries) > weights.DefaultMaxNodes {
			return nil, p.errorf("more than %d nodes", weights.DefaultMaxNodes)
		}
		p.skip()
		switch {
		case p.peek(',') || p.peek(';'):
			p.i++
		case p.peek('}'):
		default:
			return nil, p.errorf("want , or } after a field, found %q", p.rest(10))
		}
	}
}

func (p *specParser) isLongString() bool {
	save := p.i
	_, ok := p.longOpen()
	p.i = save
	return ok
}

// nameAssign reports whether the next tokens are Name '=' (not '==').
func (p *specParser) nameAssign() bool {
	save := p.i
	defer func() { p.i = save }()
	if p.ident() == "" {
		return false
	}
	p.skip()
	return p.peek('=') && !strings.HasPrefix(p.s[p.i:], "==")
}

func (p *specParser) ident() string {
	j := p.i
	if j >= len(p.s) || !(isIdentByte(p.s[j]) && !(p.s[j] >= '0' && p.s[j] <= '9')) {
		return ""
	}
	for j < len(p.s) && isIdentByte(p.s[j]) {
		j++
	}
	name := p.s[p.i:j]
	if luaKeywords[name] {
		return ""
	}
	p.i = j
	return name
}

func (p *specParser) expectAssign() error {
	p.skip()
	if !p.peek('=') {
		return p.errorf("want = after a key")
	}
	p.i++
	p.skip()
	return nil
}

func keyText(k weights.Raw) (string, error) {
	switch k.Kind {
	case weights.KindString:
		return k.Text, nil
	case weights.KindNumber:
		f, _ := k.Float64()
		if math.IsNaN(f) {
			return "", errors.New("table index is NaN")
		}
		return FormatNumber(f), nil
	case weights.KindBool:
		return strconv.FormatBool(k.Bool), nil
	case weights.KindAbsent:
		return "", errors.New("table index is nil")
	}
	return "", fmt.Errorf("a %s cannot be a node id", k.Kind)
}

// Expressions: constant arithmetic over numbers, with Lua's precedence:
// + - (lowest), * / %, unary -, ^ (right associative, binds tighter than
// unary minus on its left operand).

func (p *specParser) expr() (weights.Raw, error) {
	left, err := p.term()
	if err != nil {
		return left, err
	}
	for {
		p.skip()
		if !(p.peek('+') || p.peek('-')) || strings.HasPrefix(p.s[p.i:], "--") {
			return left, nil
		}
		op := p.s[p.i]
		p.i++
		p.skip()
		right, err := p.term()
		if err != nil {
			return left, err
		}
		if left, err = p.arith(op, left, right); err != nil {
			return left, err
		}
	}
}

func (p *specParser) term() (weights.Raw, error) {
	left, err := p.unary()
	if err != nil {
		return left, err
	}
	for {
		p.skip()
		if !(p.peek('*') || p.peek('/') || p.peek('%')) {
			return left, nil
		}
		op := p.s[p.i]
		p.i++
		p.skip()
		right, err := p.unary()
		if err != nil {
			return left, err
		}
		if left, err = p.arith(op, left, right); err != nil {
			return left, err
		}
	}
}

func (p *specParser) unary() (weights.Raw, error) {
	if p.peek('-') && !strings.HasPrefix(p.s[p.i:], "--") {
		p.i++
		p.skip()
		v, err := p.unary()
		if err != nil {
			return v, err
		}
		if v.Kind != weights.KindNumber {
			return v, p.errorf("unary minus on a %s", v.Kind)
		}
		if strings.HasPrefix(v.Text, "-") {
			return weights.Number(v.Text[1:]), nil
		}
		if f, ok := v.Float64(); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return weights.Float(-f), nil
		}
		return weights.Number("-" + v.Text), nil
	}
	return p.power()
}

func (p *specParser) power() (weights.Raw, error) {
	base, err := p.atom()
	if err != nil {
		return base, err
	}
	p.skip()
	if !p.peek('^') {
		return base, nil
	}
	p.i++
	p.skip()
	exp, err := p.unary() // right associative; -x allowed in the exponent
	if err != nil {
		return exp, err
	}
	return p.arith('^', base, exp)
}

func (p *specParser) arith(op byte, a, b weights.Raw) (weights.Raw, error) {
	x, ok1 := a.Float64()
	y, ok2 := b.Float64()
	if a.Kind != weights.KindNumber || b.Kind != weights.KindNumber || !ok1 || !ok2 {
		return weights.Raw{}, p.errorf("arithmetic on a %s and a %s (only numbers are supported in a spec)", a.Kind, b.Kind)
	}
	var r float64
	switch op {
	case '+':
		r = x + y
	case '-':
		r = x - y
	case '*':
		r = x * y
	case '/':
		r = x / y
	case '%':
		r = x - math.Floor(x/y)*y
	case '^':
		r = math.Pow(x, y)
	}
	return weights.Float(r), nil
}

func (p *specParser) atom() (weights.Raw, error) {
	if p.i >= len(p.s) {
		return weights.Raw{}, p.errorf("unexpected end of the spec")
	}
	c := p.s[p.i]
	switch {
	case c == '(':
		p.i++
		p.skip()
		v, err := p.expr()
		if err != nil {
			return v, err
		}
		p.skip()
		if !p.peek(')') {
			return v, p.errorf("want )")
		}
		p.i++
		return v, nil
	case c == '{':
		p.i++
		entries, err := p.fields(false)
		if err != nil {
			return weights.Raw{}, err
		}
		return tableRaw(entries), nil
	case c == '"' || c == '\'':
		s, err := p.shortString(c)
		return weights.String(s), err
	case c == '[':
		lvl, ok := p.longOpen()
		if !ok {
			return weights.Raw{}, p.errorf("unexpected [")
		}
		end := "]" + strings.Repeat("=", lvl) + "]"
		j := strings.Index(p.s[p.i:], end)
		if j < 0 {
			return weights.Raw{}, p.errorf("unfinished long string")
		}
		s := p.s[p.i : p.i+j]
		p.i += j + len(end)
		if strings.HasPrefix(s, "\r\n") {
			s = s[2:]
		} else if strings.HasPrefix(s, "\n") {
			s = s[1:]
		}
		return weights.String(s), nil
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	}
	switch {
	case p.word("true"):
		return weights.Bool(true), nil
	case p.word("false"):
		return weights.Bool(false), nil
	case p.word("nil"):
		return weights.Raw{}, nil
	case p.word("null"):
		return weights.Null(), nil
	case p.word("math"):
		p.skip()
		if p.peek('.') {
			p.i++
			p.skip()
			if p.word("huge") {
				return weights.Float(math.Inf(1)), nil
			}
			if p.word("pi") {
				return weights.Float(math.Pi), nil
			}
		}
		return weights.Raw{}, p.errorf("only math.huge and math.pi are allowed in a spec")
	}
	return weights.Raw{}, p.errorf("unexpected %q (a spec holds only constants)", p.rest(10))
}

func (p *specParser) number() (weights.Raw, error) {
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		if isIdentByte(c) || c == '.' {
			j++
			continue
		}
		if (c == '+' || c == '-') && j > p.i {
			prev := p.s[j-1] | 0x20
			hex := strings.HasPrefix(strings.ToLower(p.s[p.i:j]), "0x")
			if prev == 'e' && !hex || prev == 'p' && hex {
				j++
				continue
			}
		}
		break
	}
	text := p.s[p.i:j]
	f, ok := str2number(text)
	lower := strings.ToLower(text)
	if !ok || strings.ContainsAny(lower, "in") { // no "inf" or "nan" in source
		return weights.Raw{}, p.errorf("malformed number %q", text)
	}
	p.i = j
	if strings.HasPrefix(lower, "0x") || !jsonNumberText(text) {
		// Lua reads 0x10, 01, .5 and 5. as numbers; JSON has no such
		// spellings, so pass on the value Lua reads, not the text.
		return weights.Float(f), nil
	}
	return weights.Number(text), nil
}

// jsonNumberText reports whether text is an unsigned number as JSON writes
// one: 0 or a digit run without a leading zero, an optional fraction with
// digits, an optional exponent. Such text is kept as written, so 10.0 and 1e2
// are reported as sent.
func jsonNumberText(text string) bool {
	i, n := 0, len(text)
	digits := func() int {
		j := i
		for i < n && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < n && text[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < n && text[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < n && (text[i] == 'e' || text[i] == 'E') {
		i++
		if i < n && (text[i] == '+' || text[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

func (p *specParser) shortString(q byte) (string, error) {
	var b bytes.Buffer
	p.i++
	for {
		if p.i >= len(p.s) {
			return "", p.errorf("unfinished string")
		}
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\n':
			return "", p.errorf("unfinished string")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			return "", p.errorf("unfinished string")
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\', '"', '\'':
			b.WriteByte(e)
		case '\n':
			b.WriteByte('\n')
		case 'x':
			if p.i+2 > len(p.s) {
				return "", p.errorf("bad \\x escape")
			}
			v, err := strconv.ParseUint(p.s[p.i:p.i+2], 16, 8)
			if err != nil {
				return "", p.errorf("bad \\x escape")
			}
			b.WriteByte(byte(v))
			p.i += 2
		default:
			if e < '0' || e > '9' {
				return "", p.errorf("invalid escape \\%c", e)
			}
			v := int(e - '0')
			for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9'; k++ {
				v = v*10 + int(p.s[p.i]-'0')
				p.i++
			}
			if v > 255 {
				return "", p.errorf("escape \\%d too large", v)
			}
			b.WriteByte(byte(v))
		}
	}
}

// tableRaw turns nested fields into an array (ids exactly "1".."n" in order)
// or an object.
func tableRaw(entries []weights.Entry) weights.Raw {
	isArray := len(entries) > 0
	for i, e := range entries {
		if e.ID != strconv.Itoa(i+1) {
			isArray = false
			break
		}
	}
	if isArray {
		items := make([]weights.Raw, len(entries))
		for i, e := range entries {
			items[i] = e.Weight
		}
		return weights.Array(items...)
	}
	members := make([]weights.Member, len(entries))
	for i, e := range entries {
		members[i] = weights.Member{Key: e.ID, Value: e.Weight}
	}
	return weights.Object(members...)
}
