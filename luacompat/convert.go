package luacompat

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/weights"
	lua "github.com/yuin/gopher-lua"
)

// nullName names the userdata that stands for a JSON null in Lua, like
// lua-cjson's cjson.null.
const nullName = "null"

// ToLua converts a raw value into a Lua value in L: a number (NaN, ±Inf and
// -0 included) into a Lua number, a string into a Lua string (the string "0"
// stays a string), a bool into a Lua boolean, null into a userdata that plays
// the part of lua-cjson's cjson.null, and arrays and objects into tables
// (object members in order, so a later duplicate key wins, as in Lua). An
// absent value becomes nil. A number whose text does not parse is an error.
func ToLua(L *lua.LState, r weights.Raw) (lua.LValue, error) {
	return toLua(L, r, 0)
}

func toLua(L *lua.LState, r weights.Raw, depth int) (lua.LValue, error) {
	if depth > maxSpecDepth {
		return lua.LNil, fmt.Errorf("luacompat: value nested deeper than %d", maxSpecDepth)
	}
	switch r.Kind {
	case weights.KindAbsent:
		return lua.LNil, nil
	case weights.KindNull:
		return luaNull(L), nil
	case weights.KindBool:
		return lua.LBool(r.Bool), nil
	case weights.KindNumber:
		f, ok := r.Float64()
		if !ok {
			return lua.LNil, fmt.Errorf("luacompat: number text %q does not parse", r.Text)
		}
		return lua.LNumber(f), nil
	case weights.KindString:
		return lua.LString(r.Text), nil
	case weights.KindArray:
		t := L.CreateTable(len(r.Items), 0)
		for i, it := range r.Items {
			v, err := toLua(L, it, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			t.RawSetInt(i+1, v)
		}
		return t, nil
	case weights.KindObject:
		t := L.CreateTable(0, len(r.Members))
		for _, m := range r.Members {
			v, err := toLua(L, m.Value, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			t.RawSetString(m.Key, v)
		}
		return t, nil
	}
	return lua.LNil, fmt.Errorf("luacompat: cannot convert a %s to Lua", r.Kind)
}

// luaNull returns the state's null userdata, creating it once per state.
func luaNull(L *lua.LState) *lua.LUserData {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString("safewrr.null").(*lua.LUserData); ok {
		return ud
	}
	ud := L.NewUserData()
	ud.Value = nullName
	reg.RawSetString("safewrr.null", ud)
	return ud
}

// FromLua converts a Lua value back into a raw value: numbers through
// weights.Float (NaN, ±Inf and -0 kept), strings, booleans, nil as absent,
// the null userdata as null, and tables as arrays (keys exactly 1..n) or
// objects (other keys, in iteration order, written as Lua's tostring would).
// Functions, threads and other userdata are errors.
func FromLua(v lua.LValue) (weights.Raw, error) {
	return fromLua(v, 0)
}

func fromLua(v lua.LValue, depth int) (weights.Raw, error) {
	if depth > maxSpecDepth {
		return weights.Raw{}, fmt.Errorf("luacompat: table nested deeper than %d", maxSpecDepth)
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return weights.Raw{}, nil
	case lua.LBool:
		return weights.Bool(bool(x)), nil
	case lua.LNumber:
		return weights.Float(float64(x)), nil
	case lua.LString:
		return weights.String(string(x)), nil
	case *lua.LUserData:
		if x.Value == nullName {
			return weights.Null(), nil
		}
	case *lua.LTable:
		n := x.Len()
		var members []weights.Member
		count := 0
		// next() order; LTable.ForEach would walk Go maps in random order.
		for k, val := x.Next(lua.LNil); k != lua.LNil; k, val = x.Next(k) {
			count++
			r, err := fromLua(val, depth+1)
			if err != nil {
				return weights.Raw{}, err
			}
			members = append(members, weights.Member{Key: luaKeyString(k), Value: r})
		}
		if count == n && n > 0 {
			items := make([]weights.Raw, n)
			for i := 1; i <= n; i++ {
				r, e := fromLua(x.RawGetInt(i), depth+1)
				if e != nil {
					return weights.Raw{}, e
				}
				items[i-1] = r
			}
			return weights.Array(items...), nil
		}
		return weights.Object(members...), nil
	}
	return weights.Raw{}, fmt.Errorf("luacompat: cannot convert a Lua %s", v.Type())
}

func luaKeyString(k lua.LValue) string {
	switch x := k.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return FormatNumber(float64(x))
	}
	return k.String()
}

// FormatNumber writes a number as LuaJIT's tostring does ("%.14g"; "nan",
// "inf", "-inf", "-0").
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	return fmt.Sprintf("%.14g", f)
}

// FormatValue writes a raw value as a Lua programmer would read it in a
// trace: numbers as tostring writes them (10, nan, inf, -0), strings quoted
// ("0"), true, false, nil for absent, null for null, tables as literals.
func FormatValue(r weights.Raw) string {
	var b strings.Builder
	writeValue(&b, r, false)
	return b.String()
}

// writeValue writes r; literal selects Lua source syntax for non-finite
// numbers (0/0, 1/0, -1/0) instead of tostring's names.
func writeValue(b *strings.Builder, r weights.Raw, literal bool) {
	switch r.Kind {
	case weights.KindAbsent:
		b.WriteString("nil")
	case weights.KindNull:
		b.WriteString("null")
	case weights.KindBool:
		b.WriteString(strconv.FormatBool(r.Bool))
	case weights.KindNumber:
		f, ok := r.Float64()
		switch {
		case !ok:
			b.WriteString(quoteLua(r.Text))
		case literal && math.IsNaN(f):
			b.WriteString("0/0")
		case literal && math.IsInf(f, 1):
			b.WriteString("1/0")
		case literal && math.IsInf(f, -1):
			b.WriteString("-1/0")
		case literal:
			b.WriteString(literalNumber(r.Text, f))
		default:
			b.WriteString(FormatNumber(f))
		}
	case weights.KindString:
		b.WriteString(quoteLua(r.Text))
	case weights.KindArray:
		b.WriteByte('{')
		for i, it := range r.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, it, literal)
		}
		b.WriteByte('}')
	case weights.KindObject:
		b.WriteByte('{')
		for i, m := range r.Members {
			if i > 0 {
				b.WriteString(", ")
			}
			writeKey(b, m.Key)
			b.WriteByte('=')
			writeValue(b, m.Value, literal)
		}
		b.WriteByte('}')
	}
}

// literalNumber keeps a number's own text when Lua reads it back as the same
// value, and otherwise writes the shortest text that does.
func literalNumber(text string, f float64) string {
	if scanDecimal(strings.TrimPrefix(text, "-")) {
		return text
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true,
	"nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true,
	"true": true, "until": true, "while": true, "goto": true,
}

func isIdent(s string) bool {
	if s == "" || luaKeywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func writeKey(b *strings.Builder, k string) {
	if isIdent(k) {
		b.WriteString(k)
		return
	}
	b.WriteByte('[')
	b.WriteString(quoteLua(k))
	b.WriteByte(']')
}

// quoteLua writes s as a double-quoted Lua string literal that reads back as
// the same bytes.
func quoteLua(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				// three digits, so a following digit is not read as part of it
				fmt.Fprintf(&b, `\%03d`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
