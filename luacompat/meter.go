package luacompat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ErrMemoryLimit is the Result.Err of a loaded module that built more
// strings and table slots than Config.MemoryLimit allows. The outcome is
// OutcomeError: LuaJIT raises "not enough memory" where its allocator gives
// up.
var ErrMemoryLimit = errors.New("luacompat: memory limit reached")

// errSafetyNet is the cause of a hang the wall-clock safety net stopped.
var errSafetyNet = fmt.Errorf("luacompat: wall-clock safety net: %w", context.DeadlineExceeded)

const memoryLimitMsg = "safewrr: memory limit reached in "

// Costs charged to the meter, in steps and bytes.
const (
	slotBytes      = 40   // a table slot (key, value, map overhead)
	bytesPerStep   = 4096 // a built-in that reads or writes n bytes costs n/4096 steps
	checkClockMask = 1023
	// caughtErrorSteps is what pcall or xpcall charges for an error it
	// caught, under both engines (the LuaJIT driver's ERROR_COST is this
	// many steps' instructions).
	caughtErrorSteps = 4
)

// meter counts the steps and bytes of a loaded module's run and stops it at
// its limits. One meter belongs to one Lua state.
type meter struct {
	steps, limit int64
	mem, memMax  int64
	phase        Phase
	// tripped is set once a limit is reached and stays set: a module that
	// catches the error with pcall cannot turn a hang into an answer.
	tripped error
	// The caller's context and the wall-clock safety net, checked every
	// 1,024 steps.
	ctx      context.Context
	deadline time.Time
	timedOut bool
}

func (m *meter) reset(ctx context.Context, limit, memMax int64, deadline time.Time) {
	*m = meter{limit: limit, memMax: memMax, ctx: ctx, deadline: deadline, phase: PhaseLoad}
}

// charge counts n steps and b bytes and raises the limit error when either
// runs out. It is called from Go functions running on L.
func (m *meter) charge(L *lua.LState, n, b int64) {
	m.steps += n
	m.mem += b
	if m.tripped != nil {
		m.raise(L)
	}
	if m.limit > 0 && m.steps > m.limit {
		m.tripped = ErrStepLimit
		m.raise(L)
	}
	if m.memMax > 0 && m.mem > m.memMax {
		m.tripped = ErrMemoryLimit
		m.raise(L)
	}
	if m.steps&checkClockMask < n || n > checkClockMask {
		if m.ctx != nil && m.ctx.Err() != nil {
			m.tripped = m.ctx.Err()
			m.raise(L)
		}
		if !m.deadline.IsZero() && time.Now().After(m.deadline) {
			m.timedOut = true
			m.tripped = errSafetyNet
			m.raise(L)
		}
	}
}

// chargeBytes charges a built-in that handles n bytes: n bytes of memory
// when it keeps them, and a step per bytesPerStep either way.
func (m *meter) chargeBytes(L *lua.LState, n int64, keep bool) {
	var b int64
	if keep {
		b = n
	}
	m.charge(L, n/bytesPerStep, b)
}

func (m *meter) raise(L *lua.LState) {
	switch m.tripped {
	case ErrMemoryLimit:
		L.Error(lua.LString(memoryLimitMsg+string(m.phase)), 0)
	default:
		L.Error(lua.LString(stepLimitMsg+string(m.phase)), 0)
	}
}

// room reports whether n more bytes fit under the memory limit, and raises
// the limit error when they do not, before anything is built.
func (m *meter) room(L *lua.LState, n int64) {
	if m.memMax > 0 && (n < 0 || m.mem+n > m.memMax) {
		m.mem = m.memMax + 1
		m.tripped = ErrMemoryLimit
		m.raise(L)
	}
}

// runtime returns the functions a rewritten chunk receives, in rtNames order.
func (m *meter) runtime(L *lua.LState) []lua.LValue {
	fns := map[string]lua.LGFunction{
		rtStep: func(L *lua.LState) int { m.charge(L, 1, 0); return 0 },
		rtAdd:  m.arith("__add", func(a, b float64) float64 { return a + b }),
		rtSub:  m.arith("__sub", func(a, b float64) float64 { return a - b }),
		rtMul:  m.arith("__mul", func(a, b float64) float64 { return a * b }),
		rtDiv:  m.arith("__div", func(a, b float64) float64 { return a / b }),
		rtMod:  m.arith("__mod", luaMod),
		rtPow:  m.arith("__pow", math.Pow),
		rtUnm: func(L *lua.LState) int {
			a := L.Get(1)
			m.chargeString(L, a)
			if x, ok := arithOperand(a); ok {
				L.Push(lua.LNumber(-x))
				return 1
			}
			if mm := L.GetMetaField(a, "__unm"); mm.Type() == lua.LTFunction {
				L.Push(mm)
				L.Push(a)
				L.Push(a)
				L.Call(2, 1)
				return 1
			}
			L.RaiseError("attempt to perform arithmetic on a %s value", a.Type())
			return 0
		},
		rtConcat: m.concat,
		rtForNum: func(L *lua.LState) int {
			m.chargeString(L, L.Get(1))
			return forNum(L)
		},
		rtTable:   m.table,
		rtSetItem: m.setItem,
		rtKey: func(L *lua.LState) int {
			v := L.Get(1)
			m.chargeKey(L, v)
			L.Push(v)
			return 1
		},
		rtOrder: func(L *lua.LState) int {
			v := L.Get(1)
			m.chargeString(L, v)
			L.Push(v)
			return 1
		},
	}
	out := make([]lua.LValue, len(rtNames))
	for i, name := range rtNames {
		out[i] = L.NewFunction(fns[name])
	}
	return out
}

// chargeString charges reading a string operand as a number: a step per
// compileBytesPerStep bytes (Go's number parsing of a long string costs far
// more per byte than a scan).
func (m *meter) chargeString(L *lua.LState, v lua.LValue) {
	if s, ok := v.(lua.LString); ok && len(s) >= compileBytesPerStep {
		m.charge(L, int64(len(s))/compileBytesPerStep, 0)
	}
}

// chargeKey charges comparing or hashing v when it is a long string: a step
// per bytesPerStep bytes, as for a built-in that reads them. gopher-lua
// compares strings byte by byte and hashes a string key in full on every
// lookup (LuaJIT interns strings, so its == and lookups cost the same for
// any length); without the charge a loop over such operations on
// megabyte strings would run to the wall clock on a few steps.
func (m *meter) chargeKey(L *lua.LState, v lua.LValue) {
	if s, ok := v.(lua.LString); ok && len(s) >= bytesPerStep {
		m.charge(L, int64(len(s))/bytesPerStep, 0)
	}
}

// luaMod is a % b as Lua 5.1 and LuaJIT define it: a - floor(a/b)*b. (C's
// fmod, which gopher-lua uses, differs when b is tiny or infinite: under
// LuaJIT 1 % 1.56e-317 is -inf and 10 % math.huge is nan.)
func luaMod(a, b float64) float64 { return a - math.Floor(a/b)*b }

// arithOperand is a number operand of arithmetic: a number, or a string
// LuaJIT reads as one.
func arithOperand(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return str2number(string(x))
	}
	return 0, false
}

func (m *meter) arith(event string, op func(a, b float64) float64) lua.LGFunction {
	return func(L *lua.LState) int {
		a, b := L.Get(1), L.Get(2)
		if x, ok := a.(lua.LNumber); ok {
			if y, ok := b.(lua.LNumber); ok {
				L.Push(lua.LNumber(op(float64(x), float64(y))))
				return 1
			}
		}
		m.chargeString(L, a)
		m.chargeString(L, b)
		x, okA := arithOperand(a)
		y, okB := arithOperand(b)
		if okA && okB {
			L.Push(lua.LNumber(op(x, y)))
			return 1
		}
		mm := L.GetMetaField(a, event)
		if mm == lua.LNil {
			mm = L.GetMetaField(b, event)
		}
		if mm.Type() == lua.LTFunction {
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			return 1
		}
		bad := a
		if okA {
			bad = b
		}
		L.RaiseError("attempt to perform arithmetic on a %s value", bad.Type())
		return 0
	}
}

// formatNumber writes a number as LuaJIT's tostring and concatenation do
// ("%.14g"; inf, -inf, nan, -nan).
func formatNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// concatPart is an operand of .. as a string, if it is a string or number.
func concatPart(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return formatNumber(float64(x)), true
	}
	return "", false
}

// concat joins a .. b .. c ..., counting the bytes it builds. Operands that
// are neither strings nor numbers go through __concat, from the right, as
// Lua does.
func (m *meter) concat(L *lua.LState) int {
	n := L.GetTop()
	parts := make([]string, n)
	total := int64(0)
	plain := true
	for i := 1; i <= n; i++ {
		s, ok := concatPart(L.Get(i))
		if !ok {
			plain = false
			break
		}
		parts[i-1] = s
		total += int64(len(s))
	}
	if plain {
		m.room(L, total)
		m.chargeBytes(L, total, true)
		L.Push(lua.LString(strings.Join(parts, "")))
		return 1
	}
	acc := L.Get(n)
	for i := n - 1; i >= 1; i-- {
		acc = m.concat2(L, L.Get(i), acc)
	}
	L.Push(acc)
	return 1
}

func (m *meter) concat2(L *lua.LState, a, b lua.LValue) lua.LValue {
	x, okA := concatPart(a)
	y, okB := concatPart(b)
	if okA && okB {
		total := int64(len(x) + len(y))
		m.room(L, total)
		m.chargeBytes(L, total, true)
		return lua.LString(x + y)
	}
	mm := L.GetMetaField(a, "__concat")
	if mm == lua.LNil {
		mm = L.GetMetaField(b, "__concat")
	}
	if mm.Type() != lua.LTFunction {
		bad := a
		if okA {
			bad = b
		}
		L.RaiseError("attempt to concatenate a %s value", bad.Type())
	}
	L.Push(mm)
	L.Push(a)
	L.Push(b)
	L.Call(2, 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// forNum is a numeric for loop's control value: LuaJIT accepts a number or
// a string it reads as one.
func forNum(L *lua.LState) int {
	v := L.Get(1)
	if x, ok := arithOperand(v); ok {
		L.Push(lua.LNumber(x))
		return 1
	}
	L.RaiseError("'for' %s value must be a number", L.CheckString(2))
	return 0
}

// table counts the slots of a table a constructor built.
func (m *meter) table(L *lua.LState) int {
	t := L.CheckTable(1)
	slots := int64(t.Len())
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		slots++
		m.chargeKey(L, k)
	}
	m.charge(L, slots/64, slots*slotBytes)
	L.Push(t)
	return 1
}

// setItem is t[k] = v, counting the slot when it adds one.
func (m *meter) setItem(L *lua.LState) int {
	t, k, v := L.Get(1), L.Get(2), L.Get(3)
	m.chargeKey(L, k)
	if tb, ok := t.(*lua.LTable); ok && v != lua.LNil && tb.RawGet(k) == lua.LNil {
		m.charge(L, 0, slotBytes)
	}
	L.SetTable(t, k, v)
	return 0
}
