package luacompat

import (
	lua "github.com/yuin/gopher-lua"
)

// A Lua 5.1 pattern matcher (the string library's patterns: character
// classes, sets, the quantifiers * + - ?, anchors, captures, position
// captures, %b, %f and back-references), written for the sandbox so that
// every match attempt is charged to the meter: gopher-lua's matcher
// backtracks in Go, where no step limit reaches, and a pattern such as
// ".-.-.-b" against a long string would run for hours.

const (
	maxCaptures      = 32
	maxMatchDepth    = 200 // nested match calls, as LuaJIT's "pattern too complex"
	capUnfinished    = -1
	capPosition      = -2
	patternSpecials  = "^$*+?.([%-"
	errMalformedPerc = "malformed pattern (ends with '%')"
)

type capture struct{ init, len int }

// matcher matches one pattern against one subject string.
type matcher struct {
	L        *lua.LState
	m        *meter
	src, pat string
	level    int
	depth    int
	capture  [maxCaptures]capture
}

func (ms *matcher) fail(msg string) {
	ms.L.RaiseError("%s", msg)
}

// classEnd returns the index just past the single-character class at p.
func (ms *matcher) classEnd(p int) int {
	pat := ms.pat
	c := pat[p]
	p++
	switch c {
	case '%':
		if p >= len(pat) {
			ms.fail(errMalformedPerc)
		}
		return p + 1
	case '[':
		if p < len(pat) && pat[p] == '^' {
			p++
		}
		for { // the first character of a set may be ']'
			if p >= len(pat) {
				ms.fail("malformed pattern (missing ']')")
			}
			c := pat[p]
			p++
			if c == '%' && p < len(pat) {
				p++
			}
			if p < len(pat) && pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
func isCntrl(c byte) bool { return c < 32 || c == 127 }
func isPunct(c byte) bool {
	return c > 32 && c < 127 && !isAlpha(c) && !isDigit(c)
}
func isXDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// matchClass reports whether c belongs to the class %cl.
func matchClass(c, cl byte) bool {
	var res bool
	lower := cl | 0x20
	switch lower {
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = isCntrl(c)
	case 'd':
		res = isDigit(c)
	case 'l':
		res = isLower(c)
	case 'p':
		res = isPunct(c)
	case 's':
		res = isSpace(c)
	case 'u':
		res = isUpper(c)
	case 'w':
		res = isAlpha(c) || isDigit(c)
	case 'x':
		res = isXDigit(c)
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if isUpper(cl) {
		return !res
	}
	return res
}

// matchSet reports whether c is in the set pat[p:ec], where pat[p] is '['
// and pat[ec] is the closing ']'.
func (ms *matcher) matchSet(c byte, p, ec int) bool {
	pat := ms.pat
	in := true
	p++
	if pat[p] == '^' {
		in = false
		p++
	}
	for ; p < ec; p++ {
		switch {
		case pat[p] == '%' && p+1 < ec:
			p++
			if matchClass(c, pat[p]) {
				return in
			}
		case p+2 < ec && pat[p+1] == '-':
			if pat[p] <= c && c <= pat[p+2] {
				return in
			}
			p += 2
		case pat[p] == c:
			return in
		}
	}
	return !in
}

// single reports whether the subject's byte at s matches the class at
// pat[p:ep].
func (ms *matcher) single(s, p, ep int) bool {
	if s >= len(ms.src) {
		return false
	}
	c := ms.src[s]
	switch ms.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, ms.pat[p+1])
	case '[':
		return ms.matchSet(c, p, ep-1)
	}
	return ms.pat[p] == c
}

// match matches the pattern from p against the subject from s and returns
// the end of the match, or -1. Every call is a step.
func (ms *matcher) match(s, p int) int {
	ms.m.charge(ms.L, 1, 0)
	ms.depth++
	if ms.depth > maxMatchDepth {
		ms.fail("pattern too complex")
	}
	defer func() { ms.depth-- }()
	pat := ms.pat
	for p < len(pat) {
		switch pat[p] {
		case '(':
			if p+1 < len(pat) && pat[p+1] == ')' {
				return ms.startCapture(s, p+2, capPosition)
			}
			return ms.startCapture(s, p+1, capUnfinished)
		case ')':
			return ms.endCapture(s, p+1)
		case '$':
			if p+1 == len(pat) {
				if s == len(ms.src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 >= len(pat) {
				ms.fail(errMalformedPerc)
			}
			switch c := pat[p+1]; {
			case c == 'b':
				s = ms.matchBalance(s, p+2)
				if s == -1 {
					return -1
				}
				p += 4
				continue
			case c == 'f':
				p += 2
				if p >= len(pat) || pat[p] != '[' {
					ms.fail("missing '[' after '%f' in pattern")
				}
				ep := ms.classEnd(p)
				var prev, cur byte
				if s > 0 {
					prev = ms.src[s-1]
				}
				if s < len(ms.src) {
					cur = ms.src[s]
				}
				if ms.matchSet(prev, p, ep-1) || !ms.matchSet(cur, p, ep-1) {
					return -1
				}
				p = ep
				continue
			case isDigit(c):
				s = ms.matchCapture(s, c)
				if s == -1 {
					return -1
				}
				p += 2
				continue
			}
		}
		// A single-character class, possibly with a quantifier.
		ep := ms.classEnd(p)
		m := ms.single(s, p, ep)
		if ep < len(pat) {
			switch pat[ep] {
			case '?':
				if m {
					if r := ms.match(s+1, ep+1); r != -1 {
						return r
					}
				}
				p = ep + 1
				continue
			case '*':
				return ms.maxExpand(s, p, ep)
			case '+':
				if !m {
					return -1
				}
				return ms.maxExpand(s+1, p, ep)
			case '-':
				return ms.minExpand(s, p, ep)
			}
		}
		if !m {
			return -1
		}
		s++
		p = ep
	}
	return s
}

func (ms *matcher) maxExpand(s, p, ep int) int {
	i := 0
	for ms.single(s+i, p, ep) {
		i++
	}
	ms.m.charge(ms.L, int64(i/bytesPerStep), 0)
	for ; i >= 0; i-- {
		if r := ms.match(s+i, ep+1); r != -1 {
			return r
		}
	}
	return -1
}

func (ms *matcher) minExpand(s, p, ep int) int {
	for {
		if r := ms.match(s, ep+1); r != -1 {
			return r
		}
		if !ms.single(s, p, ep) {
			return -1
		}
		s++
	}
}

func (ms *matcher) startCapture(s, p, what int) int {
	if ms.level >= maxCaptures {
		ms.fail("too many captures")
	}
	ms.capture[ms.level] = capture{init: s, len: what}
	ms.level++
	r := ms.match(s, p)
	if r == -1 {
		ms.level--
	}
	return r
}

func (ms *matcher) endCapture(s, p int) int {
	l := -1
	for i := ms.level - 1; i >= 0; i-- {
		if ms.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		ms.fail("invalid pattern capture")
	}
	ms.capture[l].len = s - ms.capture[l].init
	r := ms.match(s, p)
	if r == -1 {
		ms.capture[l].len = capUnfinished
	}
	return r
}

func (ms *matcher) matchBalance(s, p int) int {
	if p+1 >= len(ms.pat) {
		ms.fail("missing arguments to '%b'")
	}
	if s >= len(ms.src) || ms.src[s] != ms.pat[p] {
		return -1
	}
	b, e := ms.pat[p], ms.pat[p+1]
	depth := 1
	for i := s + 1; i < len(ms.src); i++ {
		switch ms.src[i] {
		case e:
			depth--
			if depth == 0 {
				ms.m.charge(ms.L, int64((i-s)/bytesPerStep), 0)
				return i + 1
			}
		case b:
			depth++
		}
	}
	ms.m.charge(ms.L, int64((len(ms.src)-s)/bytesPerStep), 0)
	return -1
}

func (ms *matcher) matchCapture(s int, c byte) int {
	l := int(c - '1')
	if l < 0 || l >= ms.level || ms.capture[l].len == capUnfinished {
		ms.fail("invalid capture index")
	}
	n := ms.capture[l].len
	if n < 0 {
		n = 0
	}
	capt := ms.src[ms.capture[l].init : ms.capture[l].init+n]
	ms.m.charge(ms.L, int64(n/bytesPerStep), 0)
	if len(ms.src)-s >= n && ms.src[s:s+n] == capt {
		return s + n
	}
	return -1
}

// captureValue is capture i of a match from s to e: the whole match when
// the pattern has no captures and i is 0.
func (ms *matcher) captureValue(i, s, e int) lua.LValue {
	if i >= ms.level {
		if i == 0 {
			return lua.LString(ms.src[s:e])
		}
		ms.fail("invalid capture index")
	}
	c := ms.capture[i]
	switch c.len {
	case capUnfinished:
		ms.fail("unfinished capture")
	case capPosition:
		return lua.LNumber(c.init + 1)
	}
	return lua.LString(ms.src[c.init : c.init+c.len])
}

// pushCaptures pushes the captures of a match (the whole match when there
// are none) and returns how many it pushed.
func (ms *matcher) pushCaptures(s, e int, wholeIfNone bool) int {
	n := ms.level
	if n == 0 && wholeIfNone {
		n = 1
	}
	for i := 0; i < n; i++ {
		ms.L.Push(ms.captureValue(i, s, e))
	}
	return n
}
