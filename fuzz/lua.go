package fuzz

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
)

// Environment variables read by LuaModule.
const (
	// EnvLuaPath names a directory laid out like a lua-resty-balancer
	// checkout's lib/ (DIR/resty/roundrobin.lua); LuaModule then fuzzes that
	// module instead of the built-in 2020 model.
	EnvLuaPath = "SAFEWRR_LUA_PATH"
	// EnvLuaModule names the module to require from EnvLuaPath
	// (default resty.roundrobin).
	EnvLuaModule = "SAFEWRR_LUA_MODULE"
	// EnvLuaFindings lists the verdicts LuaModule reports as findings:
	// "hang", "hang,error", or "none". Unset, it is "hang" for a module
	// under EnvLuaPath and "none" for the built-in 2020 model, which is
	// known to hang: fuzzing it without the variable exercises the harness
	// (and keeps CI green), a campaign sets SAFEWRR_LUA_FINDINGS=hang.
	EnvLuaFindings = "SAFEWRR_LUA_FINDINGS"
	// EnvLuaIgnore lists weight kinds (see WeightKind) whose findings a
	// campaign is not looking for: a hang or error on a node set holding
	// any of them is not reported. A campaign that found one class sets it
	// to look for the next; SAFEWRR_LUA_IGNORE=nan,inf,-inf,negative makes
	// the search for the string-"0" hang ignore the others.
	EnvLuaIgnore = "SAFEWRR_LUA_IGNORE"
	// EnvLuaEngine selects the engine LuaModule runs the Lua side in:
	// "gopher-lua" (the default) or "luajit", the luajit binary as a
	// long-lived co-process (luacompat.EngineLuaJIT).
	EnvLuaEngine = "SAFEWRR_LUA_ENGINE"
)

// Run limits for the Lua targets: short, so that a hang costs milliseconds.
const (
	luaPicks     = 12
	luaStepLimit = 5_000           // steps before a hang (Run raises it for larger node sets)
	luaSafetyNet = 2 * time.Second // modules from a directory: wall-clock safety net
)

// LuaFinding is a hang (or, when asked for, an error) of a Lua balancer
// module on a node set: in nginx, every worker spinning at 100% CPU (or a
// failed request).
type LuaFinding struct {
	Target  string            // the built-in model's name, or DIR:module
	Outcome luacompat.Outcome // hang or error
	Phase   luacompat.Phase   // load, build (new: copy and gcd) or pick (find)
	Nodes   string            // the node set as a Lua table literal
	Message string            // what stopped the run
	Class   string            // the kind of input, see Class
}

// Error reads like: lua: resty-roundrobin-2020: hang in build on
// {["n1"]=10, ["n2"]="0"}: step limit reached in build.
func (f *LuaFinding) Error() string {
	return fmt.Sprintf("lua: %s: %s in %s on %s: %s [class %s]", f.Target, f.Outcome, f.Phase, f.Nodes, f.Message, f.Class)
}

type findingMode struct{ hang, err bool }

// luaFindings reads EnvLuaFindings.
func luaFindings(custom bool) (findingMode, error) {
	v, set := os.LookupEnv(EnvLuaFindings)
	if !set || v == "" {
		return findingMode{hang: custom}, nil
	}
	var m findingMode
	for _, w := range strings.Split(v, ",") {
		switch strings.TrimSpace(w) {
		case "hang":
			m.hang = true
		case "error":
			m.err = true
		case "none":
		default:
			return m, fmt.Errorf("%s=%q: want hang, hang,error or none", EnvLuaFindings, v)
		}
	}
	return m, nil
}

// ignored reports whether the node set holds a weight kind listed in
// EnvLuaIgnore.
func ignored(entries []weights.Entry) bool {
	list := os.Getenv(EnvLuaIgnore)
	if list == "" {
		return false
	}
	for _, e := range entries {
		for _, k := range strings.Split(list, ",") {
			if strings.TrimSpace(k) == WeightKind(e.Weight) {
				return true
			}
		}
	}
	return false
}

// luaTarget is the Lua side LuaModule runs: the built-in 2020 model, or the
// module under EnvLuaPath.
func luaTarget() (cfg luacompat.Config, custom bool) {
	engine := os.Getenv(EnvLuaEngine)
	if dir := os.Getenv(EnvLuaPath); dir != "" {
		return luacompat.Config{LuaPath: dir, Module: os.Getenv(EnvLuaModule), StepLimit: luaStepLimit, Budget: luaSafetyNet, Engine: engine}, true
	}
	return luacompat.Config{Model: luacompat.Resty2020, StepLimit: luaStepLimit, Budget: luaSafetyNet, Engine: engine}, false
}

// NodeSet turns fuzzer input into a node set: a Lua table literal or JSON
// snapshot (input starting with '{' or '[') through luacompat.ParseSpec,
// anything else through DecodeNodeSet. ok is false for text that is not a
// readable node set, or one with more than MaxNodeSet nodes.
func NodeSet(data []byte) (entries []weights.Entry, ok bool) {
	if !isTextSpec(data) {
		return DecodeNodeSet(data), true
	}
	if bytesTrimmedHasPrefix(data, '@') {
		return nil, false // never read files named by fuzzer input
	}
	entries, err := luacompat.ParseSpec(string(data))
	if err != nil || len(entries) > MaxNodeSet {
		return nil, false
	}
	return entries, true
}

func bytesTrimmedHasPrefix(data []byte, c byte) bool {
	s := strings.TrimSpace(string(data))
	return strings.HasPrefix(s, string(c))
}

// LuaModule runs the node set read from data (see NodeSet) through a Lua
// balancer module: new(nodes), then find() 12 times, with a step limit (a
// module loaded from SAFEWRR_LUA_PATH counts the steps of its rewritten code,
// with a far-off wall-clock safety net). A hang is a finding, a *LuaFinding with the node set
// as a Lua table literal and the phase; an error is one only when
// SAFEWRR_LUA_FINDINGS includes error. Under the default of "none" for the
// built-in model, LuaModule still checks the harness: every run is
// classified, an ok run returns 12 picks among the node ids, and the node
// set's Lua literal reads back to the same values. The input is interesting
// when the module hung or raised an error.
func LuaModule(data []byte) (interesting bool, err error) {
	cfg, custom := luaTarget()
	if custom {
		if err := moduleLoads(cfg); err != nil {
			return false, err
		}
	} else if m := os.Getenv(EnvLuaModule); m != "" {
		return false, &LuaLoadError{Module: m, Message: EnvLuaModule + " is set but " + EnvLuaPath + " is not: there is no directory to load it from"}
	}
	entries, ok := NodeSet(data)
	if !ok {
		return false, nil
	}
	mode, err := luaFindings(custom)
	if err != nil {
		return false, err
	}
	cfg.Nodes, cfg.Picks = entries, luaPicks
	res, err := luacompat.Run(context.Background(), cfg)
	if err != nil {
		if custom {
			return false, fmt.Errorf("lua: %s cannot run: %w", EnvLuaPath, err)
		}
		return false, fmt.Errorf("lua: harness could not run %s: %w", luacompat.FormatSpec(entries), err)
	}
	if err := checkResult(cfg, entries, res); err != nil {
		return true, err
	}
	if custom && res.Phase == luacompat.PhaseLoad {
		// It loaded for moduleLoads: loading again must not fail.
		return true, newLoadError(cfg, res)
	}
	if res.Outcome == luacompat.OutcomeOK {
		return false, nil
	}
	if err := checkLiteral(entries); err != nil {
		return true, err
	}
	if res.Outcome == luacompat.OutcomeHang && mode.hang || res.Outcome == luacompat.OutcomeError && mode.err {
		if ignored(entries) {
			return true, nil
		}
		return true, newFinding(res, entries)
	}
	return true, nil
}

// LuaLoadError is what LuaModule returns, for every input, when the module
// under EnvLuaPath cannot be loaded: the directory does not exist, the
// module is not there, it fails or hangs while loading (for example because
// it requires what only OpenResty provides, such as ngx, bit or ffi), or it
// does not return a table with new(). A campaign against a module that
// never ran would find nothing and pass, so this is reported at once.
type LuaLoadError struct {
	Dir     string // EnvLuaPath
	Module  string // the module required
	Message string // why it did not load
}

func (e *LuaLoadError) Error() string {
	return fmt.Sprintf("lua: module %s from %s=%q cannot be loaded: %s", e.Module, EnvLuaPath, e.Dir, e.Message)
}

func newLoadError(cfg luacompat.Config, res luacompat.Result) *LuaLoadError {
	mod := cfg.Module
	if mod == "" {
		mod = "resty.roundrobin"
	}
	msg := res.Message
	if res.Outcome == luacompat.OutcomeHang {
		msg = "hangs while loading: " + msg
	}
	return &LuaLoadError{Dir: cfg.LuaPath, Module: mod, Message: msg}
}

// loadChecks caches, per directory, module and engine, whether the module
// loads (nil) or why not: the check runs once per process, not per input.
var loadChecks sync.Map // string -> *loadCheck

type loadCheck struct {
	once sync.Once
	err  error
}

// moduleLoads loads the module cfg names, once per process, and returns a
// *LuaLoadError when it does not load (or the directory does not exist).
func moduleLoads(cfg luacompat.Config) error {
	key := cfg.LuaPath + "\x00" + cfg.Module + "\x00" + cfg.Engine
	v, _ := loadChecks.LoadOrStore(key, &loadCheck{})
	c := v.(*loadCheck)
	c.once.Do(func() {
		mod := cfg.Module
		if mod == "" {
			mod = "resty.roundrobin"
		}
		if st, err := os.Stat(cfg.LuaPath); err != nil || !st.IsDir() {
			msg := "not a directory"
			if err != nil {
				msg = err.Error()
			}
			c.err = &LuaLoadError{Dir: cfg.LuaPath, Module: mod, Message: msg}
			return
		}
		probe := cfg
		probe.Nodes = []weights.Entry{{ID: "a", Weight: weights.Int(1)}}
		probe.Picks = 1
		res, err := luacompat.Run(context.Background(), probe)
		switch {
		case err != nil:
			c.err = &LuaLoadError{Dir: cfg.LuaPath, Module: mod, Message: err.Error()}
		case res.Phase == luacompat.PhaseLoad:
			c.err = newLoadError(cfg, res)
		}
	})
	return c.err
}

func newFinding(res luacompat.Result, entries []weights.Entry) *LuaFinding {
	return &LuaFinding{
		Target:  res.Target,
		Outcome: res.Outcome,
		Phase:   res.Phase,
		Nodes:   luacompat.FormatSpec(entries),
		Message: res.Message,
		Class:   Class(res, entries),
	}
}

// checkResult checks that the harness classified the run consistently.
func checkResult(cfg luacompat.Config, entries []weights.Entry, res luacompat.Result) error {
	lit := luacompat.FormatSpec(entries)
	switch res.Outcome {
	case luacompat.OutcomeOK:
		if res.Phase != "" || len(res.Picks) != cfg.Picks {
			return fmt.Errorf("lua: ok run on %s has phase %q and %d picks, want none and %d", lit, res.Phase, len(res.Picks), cfg.Picks)
		}
		for _, p := range res.Picks {
			if !slices.ContainsFunc(entries, func(e weights.Entry) bool { return e.ID == p }) {
				return fmt.Errorf("lua: ok run on %s picked %q, not a node id", lit, p)
			}
		}
	case luacompat.OutcomeHang, luacompat.OutcomeError:
		switch res.Phase {
		case luacompat.PhaseLoad, luacompat.PhaseBuild, luacompat.PhasePick:
		default:
			return fmt.Errorf("lua: %s on %s in unknown phase %q", res.Outcome, lit, res.Phase)
		}
		if res.Err == nil || res.Message == "" {
			return fmt.Errorf("lua: %s on %s without an error or message", res.Outcome, lit)
		}
	default:
		return fmt.Errorf("lua: run on %s has unknown outcome %q", lit, res.Outcome)
	}
	return nil
}

// checkLiteral checks that the Lua literal a finding is reported with reads
// back to the same node set.
func checkLiteral(entries []weights.Entry) error {
	lit := luacompat.FormatSpec(entries)
	back, err := luacompat.ParseSpec(lit)
	if err != nil {
		return fmt.Errorf("lua: the literal %s does not parse: %v", lit, err)
	}
	if len(back) != len(entries) {
		return fmt.Errorf("lua: the literal %s reads back as %d nodes, want %d", lit, len(back), len(entries))
	}
	for i := range back {
		if back[i].ID != entries[i].ID || !sameLuaValue(back[i].Weight, entries[i].Weight) {
			return fmt.Errorf("lua: the literal %s reads back node %d as %q=%s, want %q=%s",
				lit, i, back[i].ID, back[i].Weight, entries[i].ID, entries[i].Weight)
		}
	}
	return nil
}

// sameLuaValue reports whether two raw values are the same Lua value:
// numbers by float64 value (NaN equal to NaN, -0 distinct from 0).
func sameLuaValue(a, b weights.Raw) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case weights.KindNumber:
		fa, oka := a.Float64()
		fb, okb := b.Float64()
		if !oka || !okb {
			return a.Text == b.Text
		}
		return fa == fb && math.Signbit(fa) == math.Signbit(fb) || math.IsNaN(fa) && math.IsNaN(fb)
	case weights.KindString:
		return a.Text == b.Text
	case weights.KindBool:
		return a.Bool == b.Bool
	}
	return true
}

// Class names the kind of input behind a hang or an error: the run's
// outcome, phase and message, and the distinct kinds of weight in the node
// set, sorted, for example "hang/build: step limit: integer, string-zero" or
// "error/build: attempt to compare string with number: integer,
// numeric-string". Findings of one class share a cause; go-fuzz keeps one
// crasher per class.
func Class(res luacompat.Result, entries []weights.Entry) string {
	msg := "step limit"
	if res.Outcome == luacompat.OutcomeError {
		msg = normalizeMessage(res.Message)
	}
	kinds := make([]string, 0, len(entries))
	for _, e := range entries {
		kinds = append(kinds, WeightKind(e.Weight))
	}
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	return fmt.Sprintf("%s/%s: %s: %s", res.Outcome, res.Phase, msg, strings.Join(kinds, ", "))
}

// normalizeMessage keeps the part of a Lua error message that does not name
// a node or a source position.
func normalizeMessage(m string) string {
	if i := strings.LastIndex(m, ": "); i >= 0 && strings.Contains(m[:i], ":") {
		m = m[i+2:]
	}
	if i := strings.IndexAny(m, "\"'"); i >= 0 {
		m = strings.TrimSpace(m[:i])
	}
	return m
}

// WeightKind names the kind of one weight as a Lua balancer sees it:
// integer, zero, negative, fraction, huge (2^53 or more), nan, inf, -inf,
// minus-zero; string-zero (a string tonumber reads as 0), numeric-string,
// nonfinite-string ("inf", "nan", "1e400"), non-numeric-string; bool; nil.
func WeightKind(r weights.Raw) string {
	switch r.Kind {
	case weights.KindAbsent, weights.KindNull:
		return "nil"
	case weights.KindBool:
		return "bool"
	case weights.KindString:
		f, ok := luaToNumber(r.Text)
		switch {
		case !ok:
			return "non-numeric-string"
		case f == 0:
			return "string-zero"
		case math.IsNaN(f) || math.IsInf(f, 0):
			return "nonfinite-string"
		}
		return "numeric-string"
	case weights.KindNumber:
		f, ok := r.Float64()
		switch {
		case !ok:
			return "bad-number"
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case f == 0 && math.Signbit(f):
			return "minus-zero"
		case f == 0:
			return "zero"
		case f < 0:
			return "negative"
		case f != math.Trunc(f):
			return "fraction"
		case f >= 1<<53:
			return "huge"
		}
		return "integer"
	}
	return r.Kind.String()
}

// luaToNumber is tonumber on a string as the built-in models see it under
// gopher-lua: a hexadecimal integer, or what Go's ParseFloat reads after
// trimming white space, "inf" and "nan" included.
func luaToNumber(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		u, err := strconv.ParseUint(t[2:], 16, 64)
		return float64(u), err == nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// Shrink removes nodes from a node set, one at a time, as long as run still
// gives the same outcome and phase, and returns the smallest set found. It
// is for reports and measurements, not for the fuzz targets' hot path.
func Shrink(entries []weights.Entry, run func([]weights.Entry) luacompat.Result) []weights.Entry {
	want := run(entries)
	cur := slices.Clone(entries)
	for changed := true; changed && len(cur) > 1; {
		changed = false
		for i := 0; i < len(cur) && len(cur) > 1; i++ {
			try := slices.Delete(slices.Clone(cur), i, i+1)
			got := run(try)
			if got.Outcome == want.Outcome && got.Phase == want.Phase && normalizeMessage(got.Message) == normalizeMessage(want.Message) {
				cur, changed = try, true
				i--
			}
		}
	}
	return cur
}

// usableID reports whether id follows the rules weights holds every id to:
// valid UTF-8, no control character (C0, DEL, C1), no white space at either
// end. Lua takes any string as a key, so only such ids can give the same
// sequence on both sides.
func usableID(id string) bool {
	if !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return false
		}
	}
	first, _ := utf8.DecodeRuneInString(id)
	last, _ := utf8.DecodeLastRuneInString(id)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// Differential runs the node set read from data through safewrr and the
// built-in Lua models. On a set of valid integer weights (0 to 1,000,000,
// not all zero) whose cycle safewrr schedules exactly (exactOrder),
// safewrr's Resty algorithm must give the same picks as the fixed
// resty.roundrobin model and its Smooth algorithm the same as nginx-swrr,
// in the order Lua iterated the nodes. On any set the 2020 model
// hangs on or fails with, safewrr must reject at least one node with a
// reason (or refuse to pick) and answer at once. The input is interesting
// when the 2020 model hung or failed.
func Differential(data []byte) (interesting bool, err error) {
	entries, ok := NodeSet(data)
	if !ok {
		return false, nil
	}
	ctx := context.Background()
	lit := luacompat.FormatSpec(entries)
	if validIntegers(entries) && exactOrder(entries) {
		for _, model := range []string{luacompat.Resty2021, luacompat.NginxSWRR} {
			d, err := luacompat.Diff(ctx, luacompat.DiffConfig{Lua: luacompat.Config{
				Model: model, Nodes: entries, Picks: luaPicks, StepLimit: luaStepLimit}})
			if err != nil {
				return false, fmt.Errorf("differential: %s on %s: %w", model, lit, err)
			}
			if d.Verdict != luacompat.VerdictSame {
				return true, fmt.Errorf("differential: %s on %s: %s: %s (Lua %v %s, safewrr %v %v)",
					model, lit, d.Verdict, d.Explanation, d.Lua.Picks, d.Lua.Outcome, d.Go.Picks, d.Go.Err)
			}
		}
	}
	d, err := luacompat.Diff(ctx, luacompat.DiffConfig{Lua: luacompat.Config{
		Model: luacompat.Resty2020, Nodes: entries, Picks: luaPicks, StepLimit: luaStepLimit}})
	if err != nil {
		return false, fmt.Errorf("differential: %s on %s: %w", luacompat.Resty2020, lit, err)
	}
	if d.Lua.Outcome == luacompat.OutcomeOK {
		return false, nil
	}
	g := d.Go
	switch {
	case d.Verdict != luacompat.VerdictSafe:
		return true, fmt.Errorf("differential: 2020 model %s on %s but the verdict is %s", d.Lua.Outcome, lit, d.Verdict)
	case len(g.Report.Rejected) == 0 && g.Err == nil:
		return true, fmt.Errorf("differential: 2020 model %s in %s on %s, and safewrr accepted every node and served %v",
			d.Lua.Outcome, d.Lua.Phase, lit, g.Picks)
	case g.Err != nil && !errors.Is(g.Err, weights.ErrRefused) && !isAny(g.Err, pickErrs):
		return true, fmt.Errorf("differential: on %s safewrr failed with %v, not a rejection or a typed pick error", lit, g.Err)
	}
	for _, ne := range g.Report.Rejected {
		if ne.Reason.Err() == nil {
			return true, fmt.Errorf("differential: on %s safewrr rejected %q without a known reason (%q)", lit, ne.ID, ne.Reason)
		}
	}
	return true, nil
}

var pickErrs = []error{balancer.ErrNoBackends, balancer.ErrAllDrained, balancer.ErrAllEjected}

// validIntegers reports whether every weight is a number written as a plain
// decimal integer from 0 to the strict policy's maximum, not all of them zero, and every id distinct
// and valid for safewrr (non-empty UTF-8 of at most 255 bytes).
func validIntegers(entries []weights.Entry) bool {
	if len(entries) == 0 {
		return false
	}
	var total float64
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.ID == "" || seen[e.ID] || len(e.ID) > weights.DefaultMaxIDLen || !usableID(e.ID) {
			return false
		}
		seen[e.ID] = true
		if e.Weight.Kind != weights.KindNumber {
			return false
		}
		// Number text as a registry sends it: Lua spellings of the same
		// value (01, 0x10, 1e1, 10.0) are safewrr's bad-number or fraction.
		if !plainDecimal(e.Weight.Text) {
			return false
		}
		f, ok := e.Weight.Float64()
		if !ok || f > weights.DefaultMaxWeight {
			return false
		}
		total += f
	}
	return total > 0
}

// exactOrder reports whether safewrr picks a valid integer set in its
// algorithm's order. Package balancer documents when ("Schedules"): its
// schedule is the exact cycle when the cycle, total weight / gcd picks,
// fits in 256 KiB at one byte an entry up to 256 nodes, two up to 65,536
// and four beyond; a longer cycle keeps each node's share of every cycle,
// not nginx's or resty's order, so the first picks are not compared
// ({a=4, b=277777, c=6}, found by this target: a cycle of 277,787 picks).
func exactOrder(entries []weights.Entry) bool {
	var g, total uint64
	for _, e := range entries {
		w, err := strconv.ParseUint(e.Weight.Text, 10, 64) // validIntegers: a plain decimal
		if err != nil {
			return false
		}
		g, total = gcd(g, w), total+w
	}
	width := uint64(4)
	switch {
	case len(entries) <= 1<<8:
		width = 1
	case len(entries) <= 1<<16:
		width = 2
	}
	return g != 0 && total/g <= exactTableBytes/width
}

// exactTableBytes is the size of the exact-cycle table in package balancer
// ("Schedules").
const exactTableBytes = 256 << 10

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// plainDecimal reports whether s is a decimal integer written without sign,
// leading zeros, fraction or exponent.
func plainDecimal(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
