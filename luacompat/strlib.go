package luacompat

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// installBounded replaces, in a loaded module's state, the built-in
// functions that can do unbounded work in Go or build unbounded strings and
// tables with versions that charge the meter: pattern matching (find, match,
// gmatch, gsub) runs on the sandbox's own matcher, which charges every match
// attempt; rep, format, upper, lower, reverse, table.concat and tostring
// charge the bytes they build (and check them against the memory limit
// before building); table.insert and rawset charge the slots they add;
// table.sort charges for the elements it sorts.
func installBounded(L *lua.LState, m *meter) {
	g := L.Get(lua.GlobalsIndex).(*lua.LTable)
	str := g.RawGetString("string").(*lua.LTable)
	tab := g.RawGetString("table").(*lua.LTable)
	set := func(t *lua.LTable, name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }

	set(str, "find", func(L *lua.LState) int { return m.strFind(L, true) })
	set(str, "match", func(L *lua.LState) int { return m.strFind(L, false) })
	set(str, "gmatch", m.strGmatch)
	set(str, "gsub", m.strGsub)
	set(str, "rep", func(L *lua.LState) int {
		// LuaJIT's rep(s, n [, sep]) puts sep between the copies.
		s, n, sep := L.CheckString(1), L.CheckInt(2), L.OptString(3, "")
		if n <= 0 || s == "" && sep == "" {
			L.Push(lua.LString(""))
			return 1
		}
		unit := int64(len(s) + len(sep))
		if unit > (1<<62)/int64(n) {
			m.room(L, -1)
		}
		total := unit*int64(n) - int64(len(sep))
		m.room(L, total)
		m.chargeBytes(L, total, true)
		if sep == "" {
			L.Push(lua.LString(strings.Repeat(s, n)))
		} else {
			L.Push(lua.LString(strings.Repeat(s+sep, n-1) + s))
		}
		return 1
	})
	for _, name := range []string{"upper", "lower", "reverse"} {
		orig := str.RawGetString(name).(*lua.LFunction)
		set(str, name, m.charged(orig, func(L *lua.LState) int64 { return int64(len(L.CheckString(1))) }))
	}
	format := str.RawGetString("format").(*lua.LFunction)
	set(str, "format", func(L *lua.LState) int {
		f := L.CheckString(1)
		checkFormat(L, f)
		// The result is at most the format, the arguments and 99 bytes of
		// padding per conversion.
		est := int64(len(f))
		for i := 2; i <= L.GetTop(); i++ {
			est += 99
			if s, ok := L.Get(i).(lua.LString); ok {
				est += int64(len(s))
			}
		}
		m.room(L, est)
		n := callOrig(L, format)
		if s, ok := L.Get(-1).(lua.LString); ok {
			m.chargeBytes(L, int64(len(s)), true)
		}
		return n
	})
	set(g, "tostring", func(L *lua.LState) int {
		v := L.CheckAny(1)
		if n, ok := v.(lua.LNumber); ok {
			L.Push(lua.LString(formatNumber(float64(n))))
			return 1
		}
		L.Push(L.ToStringMeta(v))
		return 1
	})
	concat := tab.RawGetString("concat").(*lua.LFunction)
	set(tab, "concat", func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := int64(len(L.OptString(2, "")))
		i, j := L.OptInt(3, 1), L.OptInt(4, t.Len())
		var total int64
		for k := i; k <= j; k++ {
			switch v := t.RawGetInt(k).(type) {
			case lua.LString:
				total += int64(len(v)) + sep
			case lua.LNumber:
				total += 24 + sep
			default:
				L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
			}
			if (k-i)&63 == 63 {
				m.charge(L, 1, 0)
			}
		}
		m.room(L, total)
		m.chargeBytes(L, total, true)
		return callOrig(L, concat)
	})
	insert := tab.RawGetString("insert").(*lua.LFunction)
	set(tab, "insert", func(L *lua.LState) int {
		m.charge(L, 0, slotBytes)
		return callOrig(L, insert)
	})
	sort := tab.RawGetString("sort").(*lua.LFunction)
	set(tab, "sort", func(L *lua.LState) int {
		t := L.CheckTable(1)
		n := int64(t.Len())
		m.charge(L, n/8+1, 0)
		// Each element takes part in about log2(n) comparisons, each of
		// which may walk a long string byte by byte.
		var long int64
		for i := 1; i <= int(n); i++ {
			if s, ok := t.RawGetInt(i).(lua.LString); ok && len(s) >= compileBytesPerStep {
				long += int64(len(s))
			}
			if i&63 == 63 {
				m.charge(L, 1, 0)
			}
		}
		logn := int64(1)
		for x := n; x > 1; x >>= 1 {
			logn++
		}
		m.charge(L, long*logn/compileBytesPerStep, 0)
		return callOrig(L, sort)
	})
	rawset := g.RawGetString("rawset").(*lua.LFunction)
	set(g, "rawset", func(L *lua.LState) int {
		m.chargeKey(L, L.Get(2))
		m.charge(L, 0, slotBytes)
		return callOrig(L, rawset)
	})
	// Each of these hashes or compares its key argument in full.
	for _, name := range []string{"rawget", "rawequal", "next"} {
		orig := g.RawGetString(name).(*lua.LFunction)
		set(g, name, func(L *lua.LState) int {
			m.chargeKey(L, L.Get(2))
			return callOrig(L, orig)
		})
	}
	// A caught error is charged caughtErrorSteps, as under LuaJIT, where
	// raising and unwinding costs far more than the instructions counted.
	for _, name := range []string{"pcall", "xpcall"} {
		orig := g.RawGetString(name).(*lua.LFunction)
		set(g, name, func(L *lua.LState) int {
			n := callOrig(L, orig)
			if n > 0 && L.Get(-n) == lua.LFalse && m.tripped == nil {
				m.charge(L, caughtErrorSteps, 0)
			}
			return n
		})
	}
	next := g.RawGetString("next")
	set(g, "pairs", func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.Push(next)
		L.Push(t)
		L.Push(lua.LNil)
		return 3
	})
}

// callOrig calls a built-in with the current arguments and returns its
// results.
func callOrig(L *lua.LState, fn *lua.LFunction) int {
	top := L.GetTop()
	L.Push(fn)
	for i := 1; i <= top; i++ {
		L.Push(L.Get(i))
	}
	L.Call(top, lua.MultRet)
	return L.GetTop() - top
}

// charged wraps a built-in that builds a string as long as size says.
func (m *meter) charged(fn *lua.LFunction, size func(*lua.LState) int64) lua.LGFunction {
	return func(L *lua.LState) int {
		n := size(L)
		m.room(L, n)
		m.chargeBytes(L, n, true)
		return callOrig(L, fn)
	}
}

// checkFormat refuses, as Lua 5.1 and LuaJIT do, a conversion whose flags,
// width or precision are longer than the C library allows (two digits).
func checkFormat(L *lua.LState, f string) {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		flags := 0
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i, flags = i+1, flags+1
		}
		if flags > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		digits := 0
		for i < len(f) && isDigit(f[i]) {
			i, digits = i+1, digits+1
		}
		if i < len(f) && f[i] == '.' {
			i++
			p := 0
			for i < len(f) && isDigit(f[i]) {
				i, p = i+1, p+1
			}
			if p > 2 {
				digits = 3
			}
		}
		if digits > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
	}
}

// posStart turns a Lua string position (1-based, negative from the end)
// into a 0-based start clamped to the string, as string.find does.
func posStart(init, n int) int {
	if init < 0 {
		init = n + init + 1
	}
	if init < 1 {
		init = 1
	}
	if init > n+1 {
		init = n + 1
	}
	return init - 1
}

func (m *meter) newMatcher(L *lua.LState, src, pat string) *matcher {
	return &matcher{L: L, m: m, src: src, pat: pat}
}

// strFind is string.find (find) and string.match (!find).
func (m *meter) strFind(L *lua.LState, find bool) int {
	src, pat := L.CheckString(1), L.CheckString(2)
	init := posStart(L.OptInt(3, 1), len(src))
	if find && (L.ToBool(4) || !strings.ContainsAny(pat, patternSpecials)) {
		m.chargeBytes(L, int64(len(src)-init), false)
		if i := strings.Index(src[init:], pat); i >= 0 {
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(pat)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	ms := m.newMatcher(L, src, pat)
	p := 0
	anchor := pat != "" && pat[0] == '^'
	if anchor {
		p = 1
	}
	for s := init; ; s++ {
		ms.level = 0
		if e := ms.match(s, p); e != -1 {
			if find {
				L.Push(lua.LNumber(s + 1))
				L.Push(lua.LNumber(e))
				return ms.pushCaptures(s, e, false) + 2
			}
			return ms.pushCaptures(s, e, true)
		}
		if s >= len(src) || anchor {
			break
		}
	}
	L.Push(lua.LNil)
	return 1
}

// strGmatch is string.gmatch.
func (m *meter) strGmatch(L *lua.LState) int {
	src, pat := L.CheckString(1), L.CheckString(2)
	pos := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		ms := m.newMatcher(L, src, pat)
		for s := pos; s <= len(src); s++ {
			ms.level = 0
			if e := ms.match(s, 0); e != -1 {
				pos = e
				if e == s {
					pos++
				}
				return ms.pushCaptures(s, e, true)
			}
		}
		pos = len(src) + 1
		return 0
	}))
	return 1
}

// strGsub is string.gsub.
func (m *meter) strGsub(L *lua.LState) int {
	src, pat := L.CheckString(1), L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTTable, lua.LTFunction:
	default:
		L.ArgError(3, "string/function/table expected, got "+repl.Type().String())
	}
	maxN := L.OptInt(4, len(src)+1)
	ms := m.newMatcher(L, src, pat)
	p := 0
	anchor := pat != "" && pat[0] == '^'
	if anchor {
		p = 1
	}
	var b strings.Builder
	grow := func(n int) {
		m.room(L, int64(b.Len()+n))
	}
	s, n := 0, 0
	for n < maxN {
		ms.level = 0
		e := ms.match(s, p)
		if e != -1 {
			n++
			v := m.replacement(L, ms, repl, s, e)
			grow(len(v))
			b.WriteString(v)
		}
		switch {
		case e != -1 && e > s:
			s = e
		case s < len(src):
			grow(1)
			b.WriteByte(src[s])
			s++
		default:
			s = len(src) + 1
		}
		if s > len(src) || anchor {
			break
		}
	}
	if s <= len(src) {
		grow(len(src) - s)
		b.WriteString(src[s:])
	}
	m.chargeBytes(L, int64(b.Len()), true)
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// replacement is what gsub puts in place of the match from s to e.
func (m *meter) replacement(L *lua.LState, ms *matcher, repl lua.LValue, s, e int) string {
	whole := ms.src[s:e]
	var v lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		text, _ := concatPart(r)
		if strings.IndexByte(text, '%') < 0 {
			return text
		}
		var b strings.Builder
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c != '%' || i+1 >= len(text) {
				b.WriteByte(c)
				continue
			}
			i++
			switch d := text[i]; {
			case d == '0':
				b.WriteString(whole)
			case isDigit(d):
				cv := ms.captureValue(int(d-'1'), s, e)
				part, _ := concatPart(cv)
				b.WriteString(part)
			default:
				b.WriteByte(d)
			}
			m.room(L, int64(b.Len()))
		}
		return b.String()
	case *lua.LTable:
		v = L.GetTable(r, ms.captureValue(0, s, e))
	case *lua.LFunction:
		top := L.GetTop()
		L.Push(r)
		k := ms.pushCaptures(s, e, true)
		L.Call(k, 1)
		v = L.Get(-1)
		L.SetTop(top)
	}
	if !lua.LVAsBool(v) {
		return whole
	}
	text, ok := concatPart(v)
	if !ok {
		L.RaiseError("invalid replacement value (a %s)", v.Type())
	}
	return text
}
