package luacompat

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxResults is how many values unpack and string.byte may return at once:
// LuaJIT raises "too many results to unpack" and "string slice too long"
// past LUAI_MAXCSTACK (8,000), and so does the sandbox.
const maxResults = 8000

// Costs of compiling a chunk given to loadstring or load: a step per
// compileBytesPerStep bytes of source, and compileMemFactor bytes of memory
// per byte of source (the syntax tree and the prototype it becomes).
const (
	compileBytesPerStep = 64
	compileMemFactor    = 4
)

// installBoundedBase replaces, in a loaded module's state, the base and table
// functions whose work is not bounded by their arguments' size with versions
// that charge the meter for what they do, and loadstring and load with
// versions that compile through the rewrite (steps, LuaJIT's arithmetic,
// memory accounting) in the module's environment and refuse bytecode.
func (sb *sandbox) installBoundedBase(L *lua.LState) {
	m := sb.meter
	g := L.Get(lua.GlobalsIndex).(*lua.LTable)
	tab := g.RawGetString("table").(*lua.LTable)
	str := g.RawGetString("string").(*lua.LTable)
	set := func(t *lua.LTable, name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }

	set(g, "loadstring", func(L *lua.LState) int {
		return sb.loadChunk(L, L.CheckString(1), L.OptString(2, "<string>"))
	})
	set(g, "load", func(L *lua.LState) int {
		switch chunk := L.Get(1).(type) {
		case lua.LString: // LuaJIT's load also takes a string
			return sb.loadChunk(L, string(chunk), L.OptString(2, "=(load)"))
		case *lua.LFunction:
			return sb.loadReader(L, chunk, L.OptString(2, "=(load)"))
		}
		L.ArgError(1, "string or function expected")
		return 0
	})
	set(g, "unpack", func(L *lua.LState) int {
		t := L.CheckTable(1)
		i, j := optIndex(L, 2, 1), optIndex(L, 3, int64(t.Len()))
		if i > j {
			return 0
		}
		n := j - i + 1
		if n > maxResults || n <= 0 {
			L.RaiseError("too many results to unpack")
		}
		m.charge(L, n/64, 0)
		for k := i; k <= j; k++ {
			L.Push(t.RawGetInt(int(k)))
		}
		return int(n)
	})
	sel := g.RawGetString("select").(*lua.LFunction)
	set(g, "select", func(L *lua.LState) int {
		m.charge(L, int64(L.GetTop())/64, 0)
		return callOrig(L, sel)
	})
	set(g, "tonumber", func(L *lua.LState) int {
		m.chargeString(L, L.Get(1))
		return luaToNumber(L)
	})
	set(str, "byte", func(L *lua.LState) int {
		s := L.CheckString(1)
		i := optIndex(L, 2, 1)
		j := optIndex(L, 3, i)
		n := int64(len(s))
		if i < 0 {
			i += n + 1
		}
		if j < 0 {
			j += n + 1
		}
		i, j = max(i, 1), min(j, n)
		if i > j {
			return 0
		}
		if j-i+1 > maxResults {
			L.RaiseError("string slice too long")
		}
		m.charge(L, (j-i+1)/64, 0)
		for k := i; k <= j; k++ {
			L.Push(lua.LNumber(s[k-1]))
		}
		return int(j - i + 1)
	})
	// insert at a position and remove shift the elements after it.
	insert := tab.RawGetString("insert").(*lua.LFunction)
	set(tab, "insert", func(L *lua.LState) int {
		n := int64(L.CheckTable(1).Len())
		m.charge(L, n/64*int64(min(L.GetTop()-2, 1)), slotBytes)
		return callOrig(L, insert)
	})
	remove := tab.RawGetString("remove").(*lua.LFunction)
	set(tab, "remove", func(L *lua.LState) int {
		m.charge(L, int64(L.CheckTable(1).Len())/64, 0)
		return callOrig(L, remove)
	})
	set(tab, "maxn", func(L *lua.LState) int {
		t := L.CheckTable(1)
		best, seen := 0.0, int64(0)
		for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
			if seen++; seen&63 == 0 {
				m.charge(L, 1, 0)
			}
			if x, ok := k.(lua.LNumber); ok && float64(x) > best {
				best = float64(x)
			}
		}
		L.Push(lua.LNumber(best))
		return 1
	})
}

// optIndex is an optional integer argument as an int64, without the
// overflow of converting a huge float to int: values beyond ±2^53 are
// clamped there.
func optIndex(L *lua.LState, n int, def int64) int64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	f := math.Floor(float64(L.CheckNumber(n)))
	switch {
	case math.IsNaN(f):
		return 0
	case f > 1<<53:
		return 1 << 53
	case f < -(1 << 53):
		return -(1 << 53)
	}
	return int64(f)
}

// loadChunk compiles src through the rewrite and returns the chunk, or nil
// and a message, as loadstring does. The chunk runs in the module's
// environment, with the run's meter.
func (sb *sandbox) loadChunk(L *lua.LState, src, name string) int {
	sb.meter.room(L, int64(len(src))*compileMemFactor)
	sb.meter.charge(L, int64(len(src))/compileBytesPerStep+1, int64(len(src))*compileMemFactor)
	if int64(len(src)) > sb.maxFile {
		L.Push(lua.LNil)
		L.Push(lua.LString("luacompat: a chunk of " + strconv.Itoa(len(src)) + " bytes is more than the " + strconv.FormatInt(sb.maxFile, 10) + " a chunk may have"))
		return 2
	}
	proto, err := compileModule([]byte(src), name)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	sb.instantiate(L, proto)
	return 1
}

// loadReader is load(f): it calls f for pieces of source until it returns
// nil or "", at most the size a chunk may have, then compiles them.
func (sb *sandbox) loadReader(L *lua.LState, f *lua.LFunction, name string) int {
	var b strings.Builder
	for {
		L.Push(f)
		L.Call(0, 1)
		v := L.Get(-1)
		L.Pop(1)
		if v == lua.LNil {
			break
		}
		piece, ok := concatPart(v)
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString("reader function must return a string"))
			return 2
		}
		if piece == "" {
			break
		}
		if int64(b.Len()+len(piece)) > sb.maxFile {
			L.Push(lua.LNil)
			L.Push(lua.LString("luacompat: a chunk of more than " + strconv.FormatInt(sb.maxFile, 10) + " bytes is more than a chunk may have"))
			return 2
		}
		sb.meter.chargeBytes(L, int64(len(piece)), true)
		b.WriteString(piece)
	}
	return sb.loadChunk(L, b.String(), name)
}

// runtime is the state's runtime for rewritten chunks, built once.
func (sb *sandbox) runtime(L *lua.LState) []lua.LValue {
	if sb.rt == nil {
		sb.rt = sb.meter.runtime(L)
	}
	return sb.rt
}
