package luacompat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/safewrr/safewrr/weights"
	lua "github.com/yuin/gopher-lua"
)

// Outcome is how a run ended.
type Outcome string

// Outcomes of a run.
const (
	// OutcomeOK: the balancer was built and every find() returned a node.
	OutcomeOK Outcome = "ok"
	// OutcomeHang: the step limit ran out (or, for a loaded module, the
	// far-off wall-clock safety net did). In nginx this is a worker
	// spinning at 100% CPU.
	OutcomeHang Outcome = "hang"
	// OutcomeError: Lua raised an error. In nginx this is a failed request.
	OutcomeError Outcome = "error"
)

// Phase says where a run was when it hung or failed.
type Phase string

// Phases of a run.
const (
	PhaseLoad  Phase = "load"  // loading the module (require)
	PhaseBuild Phase = "build" // new(nodes): the copy and the gcd pass
	PhasePick  Phase = "pick"  // find()
)

// Defaults for Config's zero fields.
const (
	DefaultBudget      = 30 * time.Second
	DefaultPicks       = 12
	DefaultStepLimit   = 100_000
	DefaultModule      = "resty.roundrobin"
	DefaultMemoryLimit = 64 << 20 // bytes
	DefaultMaxFileSize = 1 << 20  // bytes
)

// Bounds on what a run returns, whatever the Lua code does.
const (
	// MaxIDLength bounds an id find() returns: a longer one makes the run
	// OutcomeError in the pick phase. (No registry id comes near it.)
	MaxIDLength = 4096
	// MaxPickBytes bounds the ids of all picks together: past it the run is
	// OutcomeError in the pick phase.
	MaxPickBytes = 16 << 20
	// MaxMessageLength bounds Result.Message; a longer message (an error
	// object of megabytes) is cut there, and the cut says so.
	MaxMessageLength = 4096
)

// ErrStepLimit is the Result.Err of a built-in model that hung: it counted
// more steps than the limit allows.
var ErrStepLimit = errors.New("luacompat: step limit reached")

// Config says what to run and on which nodes.
type Config struct {
	// Model is a built-in model (Resty2020, Resty2021, NginxSWRR), used
	// when LuaPath is empty. Empty means Resty2020.
	Model string
	// LuaPath is a directory laid out like a lua-resty-balancer checkout's
	// lib/ (DIR/resty/roundrobin.lua, DIR/resty/balancer/utils.lua, ...).
	// When set, Module is loaded from it with require.
	LuaPath string
	// Module is the module LuaPath provides; empty means "resty.roundrobin".
	// It must return a table with new(self, nodes) whose result has find().
	Module string
	// Nodes are inserted into the Lua nodes table in this order (id = weight;
	// a later duplicate id overwrites, an absent weight leaves the id out).
	Nodes []weights.Entry
	// Picks is how many times find() is called; 0 means DefaultPicks.
	Picks int
	// Budget is a far-off wall-clock safety net: a run that has not
	// reached its step limit after this long is stopped and called a hang
	// in the phase it was in all the same. Verdicts come from the step
	// limit; the safety net only guards against a cost the steps do not see
	// (comparing or hashing very long strings, a C function under LuaJIT).
	// 0 means DefaultBudget. Every Lua state a run uses carries it as its
	// context, built-in models (which count their own steps and never come
	// near it) included.
	Budget time.Duration
	// StepLimit bounds the steps a run may take; 0 means DefaultStepLimit.
	// A built-in model counts every _gcd call and every node find()
	// visits; a loaded module counts every function entry, every loop
	// iteration and every goto label passed, and built-in functions charge
	// a step for every 4,096 bytes they scan or build (pattern matching
	// charges each match attempt). The limit is raised, if needed, above
	// twice what any input of non-negative integer weights of this size
	// takes in the models (80 per node for the gcd pass, enough for Euclid
	// on any integers below 2^53, and 2*nodes+2 per pick; a loaded module
	// gets twice that again, plus a few steps per node and pick for its
	// function calls), so such a run is never called a hang.
	StepLimit int
	// MemoryLimit bounds the bytes a loaded module's strings and table
	// slots may add up to (every string built by .. or a string function,
	// every table slot added), counted over the whole run; 0 means
	// DefaultMemoryLimit. Past it the run is OutcomeError with
	// ErrMemoryLimit. Under EngineLuaJIT it bounds how much the Lua heap
	// may grow during the run.
	MemoryLimit int64
	// MaxFileSize bounds the size of a module file; 0 means
	// DefaultMaxFileSize. A larger file, or anything that is not a regular
	// file, fails to load at once.
	MaxFileSize int64
	// Engine is EngineGopherLua (the default when empty) or EngineLuaJIT.
	Engine string
	// Seed seeds math.random (the resty models' random start node).
	Seed uint64
	// Trace is how many _gcd calls a resty model records for Result.Trace.
	Trace int
}

// Result is the classified run.
type Result struct {
	Outcome Outcome
	// Phase is where the run hung or failed; empty for OutcomeOK.
	Phase Phase
	// Message is Lua's error message, or what stopped a hang.
	Message string
	// Err is the underlying error of a hang or error: ErrStepLimit,
	// ErrMemoryLimit, an error for which errors.Is(err,
	// context.DeadlineExceeded) holds (the wall-clock safety net), or a
	// *LuaError.
	Err error
	// Picks are the ids find() returned, in order: each at most
	// MaxIDLength bytes, MaxPickBytes in all.
	Picks []string
	// Order is the node ids in the order Lua's next() visited them in the
	// balancer's own copy of the nodes: at most 2*len(Config.Nodes)+64
	// of them, each cut to MaxIDLength bytes.
	Order []string
	// Start is the node the first find() started after (the resty
	// balancers' random last_id), empty when unknown.
	Start string
	// Steps is the number of steps the run counted (see Config.StepLimit;
	// under EngineLuaJIT, VM instructions divided by
	// LuaJITInstructionsPerStep).
	Steps int
	// StepLimit is the step limit that applied, after Run raised it for
	// the node set.
	StepLimit int
	// Trace holds the first _gcd calls of a resty model when Config.Trace
	// asked for them.
	Trace []Call
	// Dropped are ids left out of the Lua table because their weight was
	// absent (nil cannot be stored in a Lua table).
	Dropped []string
	// Elapsed is the time from the start of Run to the verdict.
	Elapsed time.Duration
	// Target names what ran: a model name, or DIR:module.
	Target string
	// Engine is the engine that ran: EngineGopherLua or EngineLuaJIT.
	Engine string
}

// Call is one recorded _gcd(A, B) call.
type Call struct {
	A, B weights.Raw
}

// String writes the call as Lua would show its arguments: _gcd("0", nan).
func (c Call) String() string {
	return "_gcd(" + FormatValue(c.A) + ", " + FormatValue(c.B) + ")"
}

// LuaError is an error raised by Lua code during a run.
type LuaError struct {
	Phase   Phase
	Message string
	cause   error
}

// Error reads like: luacompat: lua error in build: attempt to compare ...
func (e *LuaError) Error() string {
	return "luacompat: lua error in " + string(e.Phase) + ": " + e.Message
}

// Unwrap returns the underlying error: a context error when the budget ran
// out, otherwise gopher-lua's *lua.ApiError.
func (e *LuaError) Unwrap() error { return e.cause }

const stepLimitMsg = "safewrr: step limit reached in "

func (c Config) withDefaults() Config {
	if c.Model == "" && c.LuaPath == "" {
		c.Model = Resty2020
	}
	if c.Module == "" {
		c.Module = DefaultModule
	}
	if c.Engine == "" {
		c.Engine = EngineGopherLua
	}
	if c.Picks <= 0 {
		c.Picks = DefaultPicks
	}
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.StepLimit <= 0 {
		c.StepLimit = DefaultStepLimit
	}
	if c.MemoryLimit <= 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	n := len(c.Nodes)
	need := 2 * (n*80 + n + c.Picks*(2*n+2))
	if c.LuaPath != "" {
		need = 2*need + 8*n + 8*c.Picks + 1000
	}
	if c.StepLimit < need {
		c.StepLimit = need
	}
	return c
}

// Run builds the configured balancer from cfg.Nodes, calls find() cfg.Picks
// times and classifies what happened. It returns an error only when it could
// not run at all (unknown model, unreadable directory, a node whose number
// text does not parse) or when ctx itself ends; a Lua error or a hang is a
// Result. A loaded module runs in a fresh Lua state; the built-in models
// run in reused states that carry nothing from one run to the next. Compiled
// code is reused in both cases. Run is safe for concurrent use.
func Run(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	res := Result{Target: cfg.Model, Engine: cfg.Engine}
	if cfg.Engine != EngineGopherLua && cfg.Engine != EngineLuaJIT {
		return res, fmt.Errorf("luacompat: unknown engine %q (have %s, %s)", cfg.Engine, EngineGopherLua, EngineLuaJIT)
	}
	builtin := cfg.LuaPath == ""
	var proto *lua.FunctionProto
	if builtin {
		p, err := modelProto(cfg.Model)
		if err != nil {
			return res, err
		}
		proto = p
		res.StepLimit = cfg.StepLimit
	} else {
		dir, err := filepath.Abs(cfg.LuaPath)
		if err != nil {
			return res, fmt.Errorf("luacompat: %w", err)
		}
		if st, err := os.Stat(dir); err != nil {
			return res, fmt.Errorf("luacompat: lua path: %w", err)
		} else if !st.IsDir() {
			return res, fmt.Errorf("luacompat: lua path %s is not a directory", dir)
		}
		cfg.LuaPath = dir
		res.Target = dir + ":" + cfg.Module
	}
	if cfg.Engine == EngineLuaJIT {
		res.StepLimit = cfg.StepLimit
		err := runEngineLuaJIT(ctx, cfg, &res, start)
		res.Elapsed = time.Since(start)
		return res, err
	}

	bctx, cancel := context.WithDeadline(ctx, start.Add(cfg.Budget))
	defer cancel()
	var sb *sandbox
	if builtin {
		sb = getModelSandbox(cfg.Seed)
		res.StepLimit = cfg.StepLimit
	} else {
		sb = newSeededSandbox(cfg.Seed, cfg.LuaPath)
		sb.maxFile = cfg.MaxFileSize
		sb.meter.reset(ctx, int64(cfg.StepLimit), cfg.MemoryLimit, start.Add(cfg.Budget))
		res.StepLimit = cfg.StepLimit
	}
	L := sb.L
	r := &runner{L: L, ctx: ctx, bctx: bctx, res: &res, budget: cfg.Budget, phase: PhaseLoad}
	if !builtin {
		r.meter = sb.meter
	}
	L.SetContext(bctx)
	clean, err := r.protected(cfg, proto)
	if r.meter != nil {
		res.Steps = int(r.meter.steps)
	}
	res.Elapsed = time.Since(start)
	if builtin && clean && err == nil && bctx.Err() == nil {
		if L.Context() != nil {
			L.RemoveContext()
		}
		putModelSandbox(sb)
	} else {
		L.Close()
	}
	return res, err
}

type runner struct {
	L      *lua.LState
	ctx    context.Context // the caller's
	bctx   context.Context // the caller's with the budget's deadline
	res    *Result
	budget time.Duration
	mod    *lua.LTable
	phase  Phase  // where the run is
	meter  *meter // a loaded module's steps and bytes; nil for a model
	// handler is the message handler of protected calls. With one,
	// gopher-lua skips its stack traceback, which after a long tail-call
	// loop has a line per call (megabytes for a hang).
	handler *lua.LFunction
}

// setPhase records where the run is, for the messages of the limits.
func (r *runner) setPhase(p Phase) {
	r.phase = p
	if r.meter != nil {
		r.meter.phase = p
	}
}

// protected runs r.run and turns a Lua error raised outside a protected
// call (a field lookup through a metatable whose __index fails) into an
// error outcome of the current phase. clean is false when that happened and
// the state must not be reused.
func (r *runner) protected(cfg Config, proto *lua.FunctionProto) (clean bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			apiErr, ok := p.(*lua.ApiError)
			if !ok {
				panic(p)
			}
			clean, err = false, r.fail(r.phase, apiErr)
		}
	}()
	return true, r.run(cfg, proto)
}

func (r *runner) run(cfg Config, proto *lua.FunctionProto) error {
	L, res := r.L, r.res
	builtin := proto != nil

	// Load.
	var modv lua.LValue
	var err error
	if builtin {
		modv, err = r.call(L.NewFunctionFromProto(proto), lua.LString(cfg.Model))
	} else {
		modv, err = r.call(L.GetGlobal("require"), lua.LString(cfg.Module))
	}
	if err != nil {
		return r.fail(PhaseLoad, err)
	}
	mod, ok := modv.(*lua.LTable)
	if !ok || L.GetField(mod, "new").Type() != lua.LTFunction {
		return r.fail(PhaseLoad, fmt.Errorf("module %s returned %s, not a table with new()", res.Target, modv.Type()))
	}
	r.mod = mod

	// The nodes table, in the given order.
	nodes := L.CreateTable(0, len(cfg.Nodes))
	for _, e := range cfg.Nodes {
		v, err := ToLua(L, e.Weight)
		if err != nil {
			return fmt.Errorf("luacompat: node %q: %w", e.ID, err)
		}
		if v == lua.LNil {
			res.Dropped = append(res.Dropped, e.ID)
		}
		nodes.RawSetString(e.ID, v)
	}

	if builtin {
		if _, err := r.call(L.GetField(mod, "instrument"), lua.LNumber(cfg.StepLimit), lua.LNumber(cfg.Trace)); err != nil {
			return r.fail(PhaseLoad, err)
		}
	} else {
		// The order a plain copy of the nodes iterates in; replaced by the
		// balancer's own table once new() has built it.
		res.Order = tableKeys(nodes, maxOrder(cfg))
	}

	// Build.
	r.setPhase(PhaseBuild)
	bv, err := r.call(L.GetField(mod, "new"), mod, nodes)
	if err == nil {
		if _, ok := bv.(*lua.LTable); !ok {
			err = fmt.Errorf("new() returned %s, not a table", bv.Type())
		}
	}
	if err != nil {
		return r.fail(PhaseBuild, err)
	}
	b := bv.(*lua.LTable)
	if t, ok := b.RawGetString("nodes").(*lua.LTable); ok && !builtin {
		res.Order = tableKeys(t, maxOrder(cfg))
	}
	if id, ok := b.RawGetString("last_id").(lua.LString); ok && len(id) <= MaxIDLength {
		res.Start = string(id)
	}

	// Pick.
	r.setPhase(PhasePick)
	find := L.GetField(b, "find")
	res.Picks = make([]string, 0, min(cfg.Picks, 1<<16))
	total := 0
	for i := 0; i < cfg.Picks; i++ {
		v, err := r.call(find, b)
		if err == nil {
			switch v.Type() {
			case lua.LTString, lua.LTNumber:
			default:
				// A table's __tostring is never called for it: an id is a
				// string or a number.
				err = fmt.Errorf("find() returned %s, not an id (a string or a number)", v.Type())
			}
		}
		if err != nil {
			return r.fail(PhasePick, err)
		}
		id := luaKeyString(v)
		total += len(id)
		if err := checkPick(len(id), total); err != nil {
			return r.fail(PhasePick, err)
		}
		res.Picks = append(res.Picks, id)
	}
	res.Outcome = OutcomeOK
	r.probe()
	return nil
}

// call calls fn protected and returns its first result.
func (r *runner) call(fn lua.LValue, args ...lua.LValue) (lua.LValue, error) {
	if fn.Type() != lua.LTFunction {
		return lua.LNil, fmt.Errorf("attempt to call a %s value", fn.Type())
	}
	if r.handler == nil {
		r.handler = r.L.NewFunction(func(L *lua.LState) int {
			L.Push(L.Get(1))
			return 1
		})
	}
	if err := r.L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true, Handler: r.handler}, args...); err != nil {
		return lua.LNil, err
	}
	v := r.L.Get(-1)
	r.L.Pop(1)
	if r.meter != nil && r.meter.tripped != nil {
		// The module caught the limit's error with pcall and went on: the
		// run is judged by the limit all the same.
		return lua.LNil, r.meter.tripped
	}
	if r.bctx.Err() != nil {
		return lua.LNil, errSafetyNet
	}
	return v, nil
}

// fail classifies an error raised in phase. It returns a non-nil error only
// when the caller's context ended.
func (r *runner) fail(phase Phase, err error) error {
	res := r.res
	defer r.probe()
	if r.ctx.Err() != nil {
		return fmt.Errorf("luacompat: run stopped: %w", r.ctx.Err())
	}
	if m := r.meter; m != nil && m.tripped != nil {
		switch {
		case m.timedOut:
			res.Outcome, res.Phase = OutcomeHang, phase
			res.Message = fmt.Sprintf("still running when the %v wall-clock safety net ran out (%d steps counted)", r.budget, m.steps)
			res.Err = &LuaError{Phase: phase, Message: "wall-clock safety net ran out", cause: errSafetyNet}
		case m.tripped == ErrMemoryLimit:
			res.Outcome, res.Phase = OutcomeError, phase
			res.Message = fmt.Sprintf("memory limit reached in %s (%d bytes of strings and table slots)", phase, m.memMax)
			res.Err = ErrMemoryLimit
		default:
			res.Outcome, res.Phase = OutcomeHang, phase
			res.Message = "step limit reached in " + string(phase)
			res.Err = ErrStepLimit
		}
		return nil
	}
	if r.bctx.Err() != nil {
		// The budget's context stopped the VM (it checks it before every
		// instruction), or a built-in outlasted it.
		res.Outcome, res.Phase = OutcomeHang, phase
		res.Message = fmt.Sprintf("still running when the %v wall-clock safety net ran out", r.budget)
		if r.meter != nil {
			res.Message = fmt.Sprintf("still running when the %v wall-clock safety net ran out (%d steps counted)", r.budget, r.meter.steps)
		}
		res.Err = &LuaError{Phase: phase, Message: "wall-clock safety net ran out", cause: errSafetyNet}
		return nil
	}
	msg := err.Error()
	var api *lua.ApiError
	if errors.As(err, &api) {
		switch api.Object.Type() {
		case lua.LTString, lua.LTNumber:
			msg = api.Object.String()
		default:
			// As lua.c says it; no __tostring of the module's is called.
			msg = "(error object is a " + api.Object.Type().String() + " value)"
		}
	}
	if strings.HasPrefix(msg, stepLimitMsg) {
		res.Outcome, res.Phase = OutcomeHang, phase
		res.Message = msg[len("safewrr: "):]
		res.Err = ErrStepLimit
		return nil
	}
	msg = boundMessage(msg)
	res.Outcome, res.Phase, res.Message = OutcomeError, phase, msg
	res.Err = &LuaError{Phase: phase, Message: msg, cause: err}
	return nil
}

// probe reads a built-in model's instrumentation into the result.
func (r *runner) probe() {
	if r.mod == nil || r.meter != nil {
		return
	}
	L := r.L
	fn := L.GetField(r.mod, "probe")
	if fn.Type() != lua.LTFunction {
		return
	}
	if L.Context() != nil {
		L.RemoveContext() // read it even after the budget ran out
	}
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 5, Protect: true, Handler: r.handler}); err != nil {
		return
	}
	steps, order, traced, ta, tb := L.Get(-5), L.Get(-4), L.Get(-3), L.Get(-2), L.Get(-1)
	L.Pop(5)
	if n, ok := steps.(lua.LNumber); ok {
		r.res.Steps = int(n)
	}
	if t, ok := order.(*lua.LTable); ok {
		r.res.Order = r.res.Order[:0]
		for i := 1; i <= t.Len(); i++ {
			r.res.Order = append(r.res.Order, luaKeyString(t.RawGetInt(i)))
		}
	}
	n, _ := traced.(lua.LNumber)
	a, aok := ta.(*lua.LTable)
	b, bok := tb.(*lua.LTable)
	if aok && bok {
		for i := 1; i <= int(n); i++ {
			ra, _ := FromLua(a.RawGetInt(i))
			rb, _ := FromLua(b.RawGetInt(i))
			r.res.Trace = append(r.res.Trace, Call{A: ra, B: rb})
		}
	}
}

// tableKeys lists a table's keys in next() order, at most limit of them,
// each cut to MaxIDLength bytes. (LTable.ForEach walks Go maps, in an order
// of its own; Next is what Lua's next() uses.)
func tableKeys(t *lua.LTable, limit int) []string {
	var keys []string
	for k, _ := t.Next(lua.LNil); k != lua.LNil && len(keys) < limit; k, _ = t.Next(k) {
		id := luaKeyString(k)
		if len(id) > MaxIDLength {
			id = id[:MaxIDLength]
		}
		keys = append(keys, id)
	}
	return keys
}

// maxOrder is how many ids Result.Order may hold.
func maxOrder(cfg Config) int { return 2*len(cfg.Nodes) + 64 }

// checkPick refuses a pick of n bytes that brings the picks to total bytes.
func checkPick(n, total int) error {
	if n > MaxIDLength {
		return fmt.Errorf("find() returned an id of %d bytes, more than the %d an id may have", n, MaxIDLength)
	}
	if total > MaxPickBytes {
		return fmt.Errorf("find() returned more than %d bytes of ids in all", MaxPickBytes)
	}
	return nil
}

// boundMessage cuts a message to MaxMessageLength bytes, on a UTF-8
// boundary, and says how long it was.
func boundMessage(msg string) string {
	if len(msg) <= MaxMessageLength {
		return msg
	}
	cut := MaxMessageLength
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + fmt.Sprintf("… (%d bytes in all)", len(msg))
}
