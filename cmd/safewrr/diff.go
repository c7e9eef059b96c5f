package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func init() {
	register(command{
		name:    "diff",
		summary: "run a Lua balancer and safewrr on the same nodes and compare the pick sequences",
		usage:   diffUsage,
		run:     runDiff,
	})
}

const diffUsage = `Usage:
  safewrr diff --nodes SPEC [--lua-path DIR [--module NAME] | --model NAME]
               [--picks N] [--algo auto|resty|smooth]
               [--steps N] [--seed S] [--engine gopher-lua|luajit] [--json]
               [validate's decode flags: --policy strict|lenient, --format F, ...]

Runs a Lua balancer (a built-in model, resty-roundrobin-2021 by default, or
the module --module from --lua-path DIR, laid out like lua-resty-balancer's
lib/) and safewrr (the weights policy, then the balancer) on the same node
set, and compares the sequences. safewrr gets its accepted nodes in the order
Lua iterated them and, for resty, starts after the node Lua's first find()
started after. --algo auto uses smooth for nginx-swrr and modules named
*swrr*, resty otherwise.

Verdicts:
  same      safewrr accepted every node; both returned the same picks
  differ    safewrr accepted every node; the picks differ (a bug)
  stricter  Lua served; safewrr rejected nodes (each with a reason) or
            refused to pick (every node drained)
  safe      Lua hung or raised an error; safewrr rejected the bad nodes and
            served the rest, or answered at once that nothing can be served

SPEC is a Lua table literal ({a=10, b="0", c=0/0}), a JSON object or array,
a registry's response, or @file. JSON is read as validate reads a payload,
with the same decode flags (--format auto detects a registry's response;
see "safewrr validate -h"). For a registry's response both sides get the
instances safewrr accepted (the id in canonical form, the weight it read,
0 for a drained one) and the ones it rejected with their weight as sent.

Exit codes: 0 when the Lua served and the verdict is same or stricter; 1
when the Lua hung or raised an error (whatever safewrr did: the checked Lua
is what fails, a syntax error or an error in the module's top level
included) or the verdict is differ; 2 usage or I/O error (a module whose
file cannot be found or read included).

Example:
  safewrr diff --nodes '{a=5, b=1, c=1}' --picks 14
  safewrr diff --nodes '{a=10, b="0"}' --model resty-roundrobin-2020
  safewrr diff --lua-path ./lua-resty-balancer/lib --module resty.swrr --nodes '{a=5, b=1, c=1}'
`

func runDiff(args []string, stdout, stderr io.Writer) int {
	c := commands["diff"]
	fs := newFlagSet(c, stdout, stderr)
	lf := addLuaFlags(fs, luacompat.Resty2021)
	dec := addDecodeFlags(fs)
	algo := fs.String("algo", "auto", "safewrr's algorithm: auto, resty or smooth")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "safewrr diff: "+format+"\n", a...)
		fmt.Fprintln(stderr, `Run "safewrr diff -h" for usage.`)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *lf.spec == "":
		return usageErr("--nodes SPEC is required")
	case *lf.luaPath != "" && *lf.model != "":
		return usageErr("--lua-path and --model cannot be used together")
	case *lf.model != "" && !luacompat.IsModel(*lf.model):
		return usageErr("unknown model %q (have %s)", *lf.model, strings.Join(luacompat.Models(), ", "))
	case *lf.picks < 1 || *lf.picks > 100_000:
		return usageErr("--picks must be between 1 and 100000, got %d", *lf.picks)
	case *lf.budget <= 0 || *lf.steps < 1:
		return usageErr("--budget and --steps must be positive")
	case *lf.engine != luacompat.EngineGopherLua && *lf.engine != luacompat.EngineLuaJIT:
		return usageErr("--engine must be gopher-lua or luajit, got %q", *lf.engine)
	}
	if *lf.luaPath == "" && *lf.model == "" {
		*lf.model = luacompat.Resty2021
	}
	ns, err := dec.readSpec(*lf.spec)
	if err != nil {
		return usageErr("%v", err)
	}
	entries, pol := ns.entries, ns.policy
	cfg := luacompat.DiffConfig{
		Lua: luacompat.Config{
			Model: *lf.model, LuaPath: *lf.luaPath, Module: *lf.module, Nodes: entries,
			Picks: *lf.picks, Budget: *lf.budget, StepLimit: *lf.steps, Seed: *lf.seed, Trace: reproTrace, Engine: *lf.engine,
		},
		Policy: pol,
	}
	if *algo != "auto" {
		a, err := balancer.ParseAlgorithm(*algo)
		if err != nil {
			return usageErr("--algo must be auto, resty or smooth, got %q", *algo)
		}
		cfg.Algorithm, cfg.FixedAlgorithm = a, true
	}
	res, err := luacompat.Diff(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr diff: %v\n", err)
		return exitUsage
	}
	code := exitOK
	switch {
	case moduleUnreadable(res.Lua, cfg.Lua):
		fmt.Fprintf(stderr, "safewrr diff: cannot load %s: %s\n", res.Lua.Target, res.Lua.Message)
		if hint := luaPathHint(cfg.Lua.LuaPath, cfg.Lua.Module); hint != "" {
			fmt.Fprintf(stderr, "safewrr diff: %s\n", hint)
		}
		if !*lf.asJSON {
			return exitUsage
		}
		code = exitUsage
	case res.Verdict == luacompat.VerdictDiffer, res.Lua.Outcome != luacompat.OutcomeOK:
		code = exitRejected
	}
	if *lf.asJSON {
		if c := reproWriteJSON(stdout, stderr, diffJSON(res, entries, dec.policyName())); c != exitOK {
			return c
		}
		return code
	}
	w := stdout
	if ns.format != registry.FormatMap {
		fmt.Fprintf(w, "format:  %s\n", ns.format)
		for _, n := range ns.rep.Notes {
			fmt.Fprintf(w, "note:    %s\n", n)
		}
	}
	fmt.Fprintf(w, "nodes:   %s\n\n", luacompat.FormatSpec(entries))
	fmt.Fprintf(w, "Lua (%s, %s)\n", res.Lua.Target, res.Lua.Engine)
	reproPrintRun(w, "  ", res.Lua, cfg.Lua)
	fmt.Fprintf(w, "\nsafewrr (%s policy, %s algorithm)\n", dec.policyName(), res.Go.Algorithm)
	for _, r := range res.Go.Report.Rejected {
		fmt.Fprintf(w, "  rejected: %s\n", r.Error())
	}
	fmt.Fprintf(w, "  nodes:   %s\n", diffNodes(res.Go.Nodes))
	if res.Go.Start >= 0 {
		fmt.Fprintf(w, "  start:   after %s (index %d), as Lua's first find()\n", res.Go.Nodes[res.Go.Start].ID, res.Go.Start)
	}
	if len(res.Go.Picks) > 0 {
		fmt.Fprintf(w, "  picks:   %s\n", reproRuns(res.Go.Picks))
	}
	if res.Go.Err != nil {
		fmt.Fprintf(w, "  answer:  %v\n", res.Go.Err)
	}
	fmt.Fprintf(w, "\nverdict: %s. %s\n", res.Verdict, res.Explanation)
	if res.Verdict == luacompat.VerdictDiffer {
		i := res.FirstDifference
		fmt.Fprintf(w, "  pick %d: Lua %s, safewrr %s\n", i+1, diffAt(res.Lua.Picks, i), diffAt(res.Go.Picks, i))
	}
	return code
}

func diffNodes(nodes []weights.Node) string {
	if len(nodes) == 0 {
		return "(none)"
	}
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%s=%d", n.ID, n.Weight)
	}
	return strings.Join(parts, ", ")
}

func diffAt(picks []string, i int) string {
	if i < len(picks) {
		return picks[i]
	}
	return "(nothing)"
}

type diffGo struct {
	Policy    string         `json:"policy"`
	Algorithm string         `json:"algorithm"`
	Nodes     []diffNode     `json:"nodes"`
	Start     int            `json:"start"`
	Rejected  []reproRejects `json:"rejected"`
	Picks     []string       `json:"picks"`
	Error     string         `json:"error,omitempty"`
}

type diffNode struct {
	ID     string `json:"id"`
	Weight uint32 `json:"weight"`
}

type diffOut struct {
	Nodes           string      `json:"nodes"`
	Verdict         string      `json:"verdict"`
	Explanation     string      `json:"explanation"`
	FirstDifference int         `json:"first_difference"`
	Lua             reproResult `json:"lua"`
	Safewrr         diffGo      `json:"safewrr"`
}

func diffJSON(res luacompat.DiffResult, entries []weights.Entry, policy string) diffOut {
	g := diffGo{Policy: policy, Algorithm: res.Go.Algorithm.String(), Start: res.Go.Start,
		Nodes: []diffNode{}, Rejected: []reproRejects{}, Picks: res.Go.Picks}
	if g.Picks == nil {
		g.Picks = []string{}
	}
	for _, n := range res.Go.Nodes {
		g.Nodes = append(g.Nodes, diffNode{ID: n.ID, Weight: n.Weight})
	}
	for _, r := range res.Go.Report.Rejected {
		g.Rejected = append(g.Rejected, reproRejects{ID: r.ID, Reason: string(r.Reason), Raw: r.Raw.String(), Message: r.Error()})
	}
	if res.Go.Err != nil {
		g.Error = res.Go.Err.Error()
	}
	return diffOut{
		Nodes: luacompat.FormatSpec(entries), Verdict: string(res.Verdict), Explanation: res.Explanation,
		FirstDifference: res.FirstDifference, Lua: reproJSON(res.Lua, nil), Safewrr: g,
	}
}
