package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
)

func init() {
	register(command{
		name:    "repro",
		summary: "replay the 2021 Bilibili outage: the old resty.roundrobin hangs on the weight \"0\", the fix and safewrr do not",
		usage:   reproUsage,
		run:     runRepro,
	})
}

const reproUsage = `Usage:
  safewrr repro
  safewrr repro --lua-path DIR --nodes SPEC [--module NAME] [--steps N] [--engine gopher-lua|luajit [--runs N]] [--json]
  safewrr repro --model NAME --nodes SPEC [--steps N] [--engine gopher-lua|luajit [--runs N]] [--json]

With no arguments, replays the 2021-07-13 Bilibili outage in gopher-lua: one
node with weight 10 and one whose weight the registry sent as the JSON string
"0", run through
  1. resty-roundrobin-2020, a model of lua-resty-balancer's resty.roundrobin
     before the fix: it hangs inside its gcd, and the trace shows why;
  2. resty-roundrobin-2021, the same after the fix (tonumber on every
     weight): it serves;
  3. safewrr (weights' strict policy, then the balancer): it rejects "0"
     with the reason string-zero and serves the other node.
It explains each line in plain words and exits 0 when all three behaved so,
1 otherwise.

With --lua-path DIR it loads a Lua balancer module from DIR, laid out like a
lua-resty-balancer checkout's lib/ (DIR/resty/roundrobin.lua and what it
requires; --module resty.swrr also works), builds it with the nodes of SPEC
(inserted in the order written), calls find() --picks times and prints the
verdict: ok with the picks, hang (--steps ran out while loading the module,
building the balancer or picking) or error with Lua's message. The module is compiled from a
rewritten syntax tree that counts steps (every function entry, loop
iteration and goto label; built-in functions charge for the bytes they scan
or build, pattern matching for every match attempt), so the verdict never
depends on the machine's load; --budget is only a far-off wall-clock safety
net. Strings and table slots count against a memory limit of 64 MiB; past it
the run is an error (memory limit). A module file must be a regular file of
at most 1 MiB. --model NAME does the same with a built-in model
(resty-roundrobin-2020, resty-roundrobin-2021, nginx-swrr), which counts its
own steps. The order in which Lua iterated the nodes is always reported.
These forms exit 0 when the Lua served (ok), 1 when it hung or raised an
error (with --runs, when any process did), so a CI step can gate on the
exit code alone, and 2 on a usage or I/O error. A module whose file cannot
be found or read (missing, outside DIR, not a regular file, too large,
bytecode) is an I/O error, exit 2; once it is read, whatever goes wrong is
the checked Lua's own failure, exit 1: a syntax error, an error raised by
its top level, new() or find(), or a limit reached in any phase.

The module is treated as hostile, under either engine: it loads only from
DIR (regular files of at most 1 MiB, source, never bytecode); loadstring and
load compile source only and are counted like the module; os, io, debug,
jit, ffi, dofile, loadfile and string.dump are out of reach; nothing it
prints is read as the verdict; a pcall around the limit does not stop it;
an id longer than 4096 bytes is an error. Under luajit the module runs in
an environment built from an allowlist, the driver answers on a file
descriptor of its own with a per-run nonce, and the co-process runs with
resource limits (no file writes, address space, CPU time) in a process
group killed at --budget.

The rewrite gives loaded code LuaJIT's arithmetic: a % b is
a - floor(a/b)*b (LuaJIT: 1 % 1.56e-317 is -inf, 10 % math.huge is nan),
strings in arithmetic and numeric for loops are read as LuaJIT reads them
("017" is 17, "1e2" is 100, "0b101" is 5, "1_0" is not a number), and numbers
in .. and tostring are written as LuaJIT writes them (%.14g, inf, nan).
Differences that remain under gopher-lua: the order pairs() and next() walk
a table (insertion order here, hash order in LuaJIT, seeded per process);
the border # picks in a table with holes; error message texts; the math
library's handling of nan (math.max, math.min) and of strings passed to it;
string.format details; LuaJIT-only libraries (ffi, table.new, bit, jit) are
absent.

--engine luajit runs the same module (or --model file) in the real luajit
binary (Debian: apt-get install luajit2), in a co-process, with the same
verdicts: the JIT compiler is off and a count hook stops the run after
--steps x 250 VM instructions, or once the Lua heap has grown by more than
the memory limit. The bounds on built-in functions are gopher-lua's: a
pattern that backtracks for hours in C is stopped by --budget, a hang in the
phase it was in. LuaJIT walks a table in hash order, seeded anew
in every process (every nginx worker): the order line says which order this
process met, and another run may meet another (the incident's nodes hang
in one order and fail the request in the other). --runs N runs N fresh
luajit processes and lists each distinct order with its verdict.

SPEC is a Lua table literal ({a=10, b="0", c=0/0}), a JSON object, or @file.

--json prints one object with outcome (ok, hang or error), where (load,
build or pick), message, picks, order, start, steps, trace, elapsed_ms,
target and engine; with --runs also runs (each distinct order with its
outcome, where and count); with no arguments it also holds reproduced and
the three cases.

Example:
  safewrr repro
  safewrr repro --model resty-roundrobin-2020 --nodes '{a=10, b="0"}' --json
  safewrr repro --lua-path ./lua-resty-balancer/lib --nodes '{["10.0.0.1:80"]=10, ["10.0.0.2:80"]="0"}'
`

// reproTrace is how many _gcd calls the text shows.
const reproTrace = 5

func runRepro(args []string, stdout, stderr io.Writer) int {
	c := commands["repro"]
	fs := newFlagSet(c, stdout, stderr)
	lf := addLuaFlags(fs, "")
	runs := fs.Int("runs", 1, "with --engine luajit: run N times, each in a new luajit process (a new hash order), and list the distinct orders and verdicts")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "safewrr repro: "+format+"\n", a...)
		fmt.Fprintln(stderr, `Run "safewrr repro -h" for usage.`)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *lf.luaPath != "" && *lf.model != "":
		return usageErr("--lua-path and --model cannot be used together")
	case *lf.model != "" && !luacompat.IsModel(*lf.model):
		return usageErr("unknown model %q (have %s)", *lf.model, strings.Join(luacompat.Models(), ", "))
	case *lf.picks < 1 || *lf.picks > 100_000:
		return usageErr("--picks must be between 1 and 100000, got %d", *lf.picks)
	case *lf.budget <= 0:
		return usageErr("--budget must be positive, got %v", *lf.budget)
	case *lf.steps < 1:
		return usageErr("--steps must be positive, got %d", *lf.steps)
	case *lf.engine != luacompat.EngineGopherLua && *lf.engine != luacompat.EngineLuaJIT:
		return usageErr("--engine must be gopher-lua or luajit, got %q", *lf.engine)
	case *runs < 1 || *runs > 100:
		return usageErr("--runs must be between 1 and 100, got %d", *runs)
	case *runs > 1 && *lf.engine != luacompat.EngineLuaJIT:
		return usageErr("--runs needs --engine luajit (gopher-lua always walks the nodes in the order written)")
	}
	single := *lf.luaPath != "" || *lf.model != "" || *lf.spec != ""
	if !single {
		for name := range set {
			if name != "json" && name != "seed" && name != "picks" && name != "steps" {
				return usageErr("--%s needs --lua-path, --model or --nodes", name)
			}
		}
		return reproIncident(stdout, stderr, *lf.asJSON, *lf.seed, *lf.picks, *lf.steps)
	}

	entries := luacompat.IncidentNodes()
	if *lf.spec != "" {
		var err error
		if entries, err = luacompat.ParseSpec(*lf.spec); err != nil {
			fmt.Fprintf(stderr, "safewrr repro: --nodes: %v\n", err)
			return exitUsage
		}
	}
	cfg := luacompat.Config{
		Model: *lf.model, LuaPath: *lf.luaPath, Module: *lf.module, Nodes: entries,
		Picks: *lf.picks, Budget: *lf.budget, StepLimit: *lf.steps, Seed: *lf.seed, Trace: reproTrace, Engine: *lf.engine,
	}
	res, err := luacompat.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr repro: %v\n", err)
		return exitUsage
	}
	var others []reproProcess
	if *runs > 1 {
		if others, err = reproProcesses(cfg, res, *runs); err != nil {
			fmt.Fprintf(stderr, "safewrr repro: %v\n", err)
			return exitUsage
		}
	}
	code := reproExit(res, others)
	if moduleUnreadable(res, cfg) {
		// Nothing about the nodes was learned and no Lua of the module ran:
		// it could not be found or read. Said once, on stderr, with a hint
		// when DIR is a checkout's root.
		fmt.Fprintf(stderr, "safewrr repro: cannot load %s: %s\n", res.Target, res.Message)
		if hint := luaPathHint(cfg.LuaPath, cfg.Module); hint != "" {
			fmt.Fprintf(stderr, "safewrr repro: %s\n", hint)
		}
		if !*lf.asJSON {
			return exitUsage
		}
		code = exitUsage
	}
	if *lf.asJSON {
		out := struct {
			reproResult
			Runs []reproProcess `json:"runs,omitempty"`
		}{reproJSON(res, entries), others}
		if c := reproWriteJSON(stdout, stderr, out); c != exitOK {
			return c
		}
		return code
	}
	fmt.Fprintf(stdout, "target:  %s\n", res.Target)
	fmt.Fprintf(stdout, "nodes:   %s\n", luacompat.FormatSpec(entries))
	reproPrintRun(stdout, "", res, cfg)
	if len(others) > 0 {
		fmt.Fprintf(stdout, "runs:    %d luajit processes, each with its own hash order:\n", *runs)
		for _, p := range others {
			verdict := strings.ToUpper(p.Outcome)
			if p.Where != "" {
				verdict += " (" + p.Where + ")"
			}
			fmt.Fprintf(stdout, "  ×%-3d order %s: %s\n", p.Count, reproList(p.Order), verdict)
		}
	}
	return code
}

// reproExit is the exit code of a single run: 1 when the Lua hung or raised
// an error in any process, 0 when it served.
func reproExit(res luacompat.Result, others []reproProcess) int {
	if res.Outcome != luacompat.OutcomeOK {
		return exitRejected
	}
	for _, p := range others {
		if p.Outcome != string(luacompat.OutcomeOK) {
			return exitRejected
		}
	}
	return exitOK
}

// reproProcess is one distinct order and verdict met across --runs.
type reproProcess struct {
	Order   []string `json:"order"`
	Outcome string   `json:"outcome"`
	Where   string   `json:"where"`
	Count   int      `json:"count"`
}

// reproProcesses runs cfg n times in all, first as first (already run),
// then each time in a new luajit process, and counts the distinct orders and
// verdicts, in the order first met.
func reproProcesses(cfg luacompat.Config, first luacompat.Result, n int) ([]reproProcess, error) {
	var out []reproProcess
	add := func(r luacompat.Result) {
		for i := range out {
			if slices.Equal(out[i].Order, r.Order) && out[i].Outcome == string(r.Outcome) && out[i].Where == string(r.Phase) {
				out[i].Count++
				return
			}
		}
		out = append(out, reproProcess{Order: r.Order, Outcome: string(r.Outcome), Where: string(r.Phase), Count: 1})
	}
	add(first)
	for i := 1; i < n; i++ {
		luacompat.StopLuaJIT() // a new process: a new hash seed
		r, err := luacompat.Run(context.Background(), cfg)
		if err != nil {
			return nil, err
		}
		add(r)
	}
	luacompat.StopLuaJIT()
	return out, nil
}

// reproPrintRun prints one classified run, each line indented by ind.
func reproPrintRun(w io.Writer, ind string, res luacompat.Result, cfg luacompat.Config) {
	if res.Engine == luacompat.EngineLuaJIT {
		fmt.Fprintf(w, "%sorder:   %s (LuaJIT's hash order in this luajit process; another process may walk the nodes in another order)\n", ind, reproList(res.Order))
	} else {
		fmt.Fprintf(w, "%sorder:   %s (the order Lua's next() walked the balancer's nodes)\n", ind, reproList(res.Order))
	}
	if len(res.Dropped) > 0 {
		fmt.Fprintf(w, "%sleft out: %s (a nil weight cannot be stored in a Lua table)\n", ind, reproList(res.Dropped))
	}
	switch res.Outcome {
	case luacompat.OutcomeOK:
		fmt.Fprintf(w, "%soutcome: ok, %d picks\n", ind, len(res.Picks))
		fmt.Fprintf(w, "%spicks:   %s\n", ind, reproRuns(res.Picks))
	case luacompat.OutcomeHang:
		fmt.Fprintf(w, "%soutcome: HANG while %s (%s)\n", ind, reproPhase(res.Phase), res.Message)
	case luacompat.OutcomeError:
		fmt.Fprintf(w, "%soutcome: ERROR while %s: %s\n", ind, reproPhase(res.Phase), res.Message)
	}
	if len(res.Trace) > 0 {
		fmt.Fprintf(w, "%strace:   %s\n", ind, reproTraceText(res))
	}
	if res.Start != "" && res.Outcome == luacompat.OutcomeOK {
		fmt.Fprintf(w, "%sstart:   the first find() began after %s (math.random, seed %d)\n", ind, res.Start, cfg.Seed)
	}
	if res.StepLimit > 0 {
		what := "_gcd calls and nodes visited by find"
		switch {
		case res.Engine == luacompat.EngineLuaJIT:
			what = fmt.Sprintf("a step is %d LuaJIT VM instructions, counted 1,000 at a time, so a short run counts 0", luacompat.LuaJITInstructionsPerStep)
		case cfg.LuaPath != "":
			what = "function entries, loop iterations and built-in work"
		}
		if res.Outcome == luacompat.OutcomeHang && errors.Is(res.Err, luacompat.ErrStepLimit) {
			fmt.Fprintf(w, "%ssteps:   stopped at the limit of %d steps (%s)\n", ind, res.StepLimit, what)
		} else if res.Outcome == luacompat.OutcomeHang {
			fmt.Fprintf(w, "%ssteps:   %d (the limit is %d; the wall-clock safety net stopped the run)\n", ind, res.Steps, res.StepLimit)
		} else {
			fmt.Fprintf(w, "%ssteps:   %d (the limit is %d; %s)\n", ind, res.Steps, res.StepLimit, what)
		}
	}
	fmt.Fprintf(w, "%selapsed: %s\n", ind, reproDuration(res.Elapsed))
}

func reproPhase(p luacompat.Phase) string {
	switch p {
	case luacompat.PhaseBuild:
		return "building the balancer, inside new()"
	case luacompat.PhasePick:
		return "picking, inside find()"
	case luacompat.PhaseLoad:
		return "loading the module"
	}
	return string(p)
}

func reproTraceText(res luacompat.Result) string {
	parts := make([]string, 0, len(res.Trace)+1)
	for _, c := range res.Trace {
		parts = append(parts, c.String())
	}
	if res.Outcome == luacompat.OutcomeHang && res.Phase == luacompat.PhaseBuild {
		parts = append(parts, "…")
	}
	return strings.Join(parts, " → ")
}

func reproList(ids []string) string {
	if len(ids) == 0 {
		return "(none)"
	}
	return strings.Join(ids, ", ")
}

func reproDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

// reproResult is the JSON form of one run.
type reproResult struct {
	Name      string   `json:"name,omitempty"`
	Target    string   `json:"target"`
	Nodes     string   `json:"nodes,omitempty"`
	Outcome   string   `json:"outcome"`
	Where     string   `json:"where"`
	Message   string   `json:"message"`
	Picks     []string `json:"picks"`
	Order     []string `json:"order"`
	Start     string   `json:"start,omitempty"`
	Steps     int      `json:"steps,omitempty"`
	StepLimit int      `json:"step_limit,omitempty"`
	Trace     []string `json:"trace,omitempty"`
	Dropped   []string `json:"dropped,omitempty"`
	ElapsedMS float64  `json:"elapsed_ms"`
	Engine    string   `json:"engine"`
}

func reproJSON(res luacompat.Result, entries []weights.Entry) reproResult {
	out := reproResult{
		Target: res.Target, Outcome: string(res.Outcome), Where: string(res.Phase),
		Message: res.Message, Picks: res.Picks, Order: res.Order, Start: res.Start,
		Steps: res.Steps, StepLimit: res.StepLimit, Dropped: res.Dropped,
		ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000, Engine: res.Engine,
	}
	if entries != nil {
		out.Nodes = luacompat.FormatSpec(entries)
	}
	if out.Picks == nil {
		out.Picks = []string{}
	}
	if out.Order == nil {
		out.Order = []string{}
	}
	for _, c := range res.Trace {
		out.Trace = append(out.Trace, c.String())
	}
	return out
}

func reproWriteJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "safewrr repro: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// reproSafewrr is safewrr's line in JSON.
type reproSafewrr struct {
	Name     string         `json:"name"`
	Outcome  string         `json:"outcome"`
	Rejected []reproRejects `json:"rejected"`
	Serving  []string       `json:"serving"`
	Picks    []string       `json:"picks"`
	Error    string         `json:"error,omitempty"`
}

type reproRejects struct {
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

// reproIncident runs the incident through the three sides and explains them.
func reproIncident(stdout, stderr io.Writer, asJSON bool, seed uint64, picks, steps int) int {
	ctx := context.Background()
	nodes := luacompat.IncidentNodes()
	old, err := luacompat.Run(ctx, luacompat.Config{Model: luacompat.Resty2020, Nodes: nodes, Picks: picks, StepLimit: steps, Seed: seed, Trace: reproTrace})
	if err != nil {
		fmt.Fprintf(stderr, "safewrr repro: %v\n", err)
		return exitUsage
	}
	fixed, err := luacompat.Run(ctx, luacompat.Config{Model: luacompat.Resty2021, Nodes: nodes, Picks: picks, StepLimit: steps, Seed: seed})
	if err != nil {
		fmt.Fprintf(stderr, "safewrr repro: %v\n", err)
		return exitUsage
	}
	g := luacompat.RunGo(nodes, weights.Policy{}, balancer.Resty, fixed.Order, fixed.Start, picks)

	good, bad := luacompat.IncidentGoodID, luacompat.IncidentBadID
	oldOK := old.Outcome == luacompat.OutcomeHang && old.Phase == luacompat.PhaseBuild
	fixedOK := fixed.Outcome == luacompat.OutcomeOK && reproAll(fixed.Picks, good)
	goOK := g.Err == nil && len(g.Report.Rejected) == 1 && g.Report.Rejected[0].ID == bad &&
		g.Report.Rejected[0].Reason == weights.ReasonStringZero && reproAll(g.Picks, good)
	reproduced := oldOK && fixedOK && goOK

	if asJSON {
		out := struct {
			reproResult
			Reproduced bool  `json:"reproduced"`
			Cases      []any `json:"cases"`
		}{reproResult: reproJSON(old, nodes), Reproduced: reproduced}
		out.Name = luacompat.Resty2020
		fj := reproJSON(fixed, nil)
		fj.Name = luacompat.Resty2021
		sj := reproSafewrr{Name: "safewrr", Outcome: "ok", Picks: g.Picks, Rejected: []reproRejects{}}
		if sj.Picks == nil {
			sj.Picks = []string{}
		}
		if g.Err != nil {
			sj.Outcome, sj.Error = "refused", g.Err.Error()
		}
		for _, n := range g.Nodes {
			sj.Serving = append(sj.Serving, n.ID)
		}
		for _, r := range g.Report.Rejected {
			sj.Rejected = append(sj.Rejected, reproRejects{ID: r.ID, Reason: string(r.Reason), Raw: r.Raw.String(), Message: r.Error()})
		}
		oj := out.reproResult
		oj.Nodes = ""
		out.Cases = []any{oj, fj, sj}
		if code := reproWriteJSON(stdout, stderr, out); code != exitOK {
			return code
		}
		if !reproduced {
			return exitRejected
		}
		return exitOK
	}

	w := stdout
	fmt.Fprintf(w, "The 2021-07-13 Bilibili outage, replayed in gopher-lua.\n\n")
	fmt.Fprintf(w, "Input: %s\n", luacompat.IncidentSpec)
	fmt.Fprintf(w, "  %s has weight 10; the registry sent the weight of %s\n", good, bad)
	fmt.Fprintf(w, "  as the JSON string \"0\" during a rare release mode.\n\n")

	fmt.Fprintf(w, "1. %s (resty.roundrobin before the fix): %s\n", luacompat.Resty2020, reproVerdict(old))
	reproPrintRun(w, "   ", old, luacompat.Config{Seed: seed})
	if oldOK {
		fmt.Fprintf(w, "   Why: the balancer folds the weights into a gcd with _gcd(a, b), which stops\n")
		fmt.Fprintf(w, "   when b == 0. In Lua the string \"0\" is not equal to the number 0, so the\n")
		fmt.Fprintf(w, "   gcd does not stop at \"0\". The next step computes 10 %% \"0\": arithmetic turns\n")
		fmt.Fprintf(w, "   \"0\" into 0, and n %% 0 is nan. nan is never equal to 0 and nan %% nan is nan,\n")
		fmt.Fprintf(w, "   so _gcd(nan, nan) calls itself forever: it is a tail call, so the stack\n")
		fmt.Fprintf(w, "   never overflows and no error ever stops it. The harness stopped it after\n")
		fmt.Fprintf(w, "   %d calls (%s). In nginx nothing stops it: every worker that builds\n", old.StepLimit, reproDuration(old.Elapsed))
		fmt.Fprintf(w, "   this balancer spins at 100%% CPU and stops answering.\n")
		fmt.Fprintf(w, "   Lua walked %s first. In the other order the gcd ends at 10 and the\n", good)
		fmt.Fprintf(w, "   next comparison, 10 > \"0\", raises \"attempt to compare string with number\":\n")
		fmt.Fprintf(w, "   a failed request instead of a hang. gopher-lua walks a table in insertion\n")
		fmt.Fprintf(w, "   order; LuaJIT seeds its string hash at random in every nginx worker, so\n")
		fmt.Fprintf(w, "   there some workers hang and the others fail their requests.\n")
	} else {
		fmt.Fprintf(w, "   NOT AS DESCRIBED: expected a hang while building the balancer.\n")
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "2. %s (after the fix, tonumber on every weight): %s\n", luacompat.Resty2021, reproVerdict(fixed))
	reproPrintRun(w, "   ", fixed, luacompat.Config{Seed: seed})
	if fixedOK {
		fmt.Fprintf(w, "   Why: tonumber(\"0\") is the number 0, so _gcd(10, 0) returns 10 at once, and\n")
		fmt.Fprintf(w, "   a node of weight 0 never reaches the current weight, so every pick is\n")
		fmt.Fprintf(w, "   %s. The fix hides the problem, though: whether \"0\" meant \"drain\"\n", good)
		fmt.Fprintf(w, "   or \"use the default weight\" was never asked.\n")
	} else {
		fmt.Fprintf(w, "   NOT AS DESCRIBED: expected every pick to be %s.\n", good)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "3. safewrr (strict policy, then the balancer): ")
	switch {
	case g.Err != nil:
		fmt.Fprintf(w, "refused: %v\n", g.Err)
	default:
		fmt.Fprintf(w, "rejected %d node(s), serves %d\n", len(g.Report.Rejected), len(g.Nodes))
	}
	for _, r := range g.Report.Rejected {
		fmt.Fprintf(w, "   rejected: %s\n", r.Error())
	}
	fmt.Fprintf(w, "   serving: %s\n", reproList(reproIDs(g.Nodes)))
	if len(g.Picks) > 0 {
		fmt.Fprintf(w, "   picks:   %s\n", reproRuns(g.Picks))
	}
	if goOK {
		fmt.Fprintf(w, "   Why: safewrr validates every weight before any arithmetic. The string \"0\"\n")
		fmt.Fprintf(w, "   is rejected with the reason string-zero and reported; the valid node keeps\n")
		fmt.Fprintf(w, "   serving. Its picks are bounded work whatever the weights: no pick loops.\n")
	} else {
		fmt.Fprintf(w, "   NOT AS DESCRIBED: expected %s rejected (string-zero) and %s served.\n", bad, good)
	}
	fmt.Fprintln(w)
	if reproduced {
		fmt.Fprintf(w, "Reproduced: the 2020 balancer hung, the 2021 balancer served, safewrr rejected \"0\" and served %s.\n", good)
		return exitOK
	}
	fmt.Fprintf(w, "NOT reproduced: see the lines marked NOT AS DESCRIBED.\n")
	return exitRejected
}

func reproVerdict(r luacompat.Result) string {
	switch r.Outcome {
	case luacompat.OutcomeHang:
		return "HANG (" + string(r.Phase) + ")"
	case luacompat.OutcomeError:
		return "ERROR (" + string(r.Phase) + ")"
	}
	return "serves"
}

// reproRuns writes ids with runs folded: "a ×4, b, c, a ×5".
func reproRuns(ids []string) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i + 1
		for j < len(ids) && ids[j] == ids[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%s ×%d", ids[i], j-i))
		} else {
			parts = append(parts, ids[i])
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

func reproAll(ids []string, want string) bool {
	if len(ids) == 0 {
		return false
	}
	for _, id := range ids {
		if id != want {
			return false
		}
	}
	return true
}

func reproIDs(nodes []weights.Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}
