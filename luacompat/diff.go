package luacompat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// Verdict is the outcome of a differential run.
type Verdict string

// Verdicts of Diff.
const (
	// VerdictSame: safewrr accepted every node and both sides returned the
	// same sequence.
	VerdictSame Verdict = "same"
	// VerdictDiffer: safewrr accepted every node, both sides served, and the
	// sequences differ. This is a bug in one of them.
	VerdictDiffer Verdict = "differ"
	// VerdictStricter: Lua served, but safewrr rejected some nodes (with a
	// reason each) or refused to pick from the set (every node drained).
	VerdictStricter Verdict = "stricter"
	// VerdictSafe: Lua hung or raised an error; safewrr rejected the bad
	// nodes with a reason each and served the rest, or answered at once that
	// nothing could be served. It never hangs.
	VerdictSafe Verdict = "safe"
)

// DiffConfig configures Diff.
type DiffConfig struct {
	// Lua is the Lua side: a built-in model or a module under LuaPath.
	Lua Config
	// Policy validates the nodes for safewrr; the zero Policy is strict.
	Policy weights.Policy
	// Algorithm is safewrr's algorithm when FixedAlgorithm is set. Otherwise
	// Diff follows the Lua side (see AlgorithmFor).
	Algorithm balancer.Algorithm
	// FixedAlgorithm makes Diff use Algorithm as given.
	FixedAlgorithm bool
}

// GoSide is safewrr's side of a differential run.
type GoSide struct {
	// Algorithm used.
	Algorithm balancer.Algorithm
	// Nodes are the accepted nodes, in the order given to the balancer
	// (Lua's iteration order).
	Nodes []weights.Node
	// Start is the Resty start index passed with balancer.WithStart, -1 for
	// the balancer's default.
	Start int
	// Report is the validation report: rejected nodes with their reasons.
	Report weights.Report
	// Skipped is the number of picks dropped from the front of safewrr's
	// sequence to line it up with a loaded smooth module that advances its
	// sequence by a random number of picks when built (resty.swrr does, by
	// 1 to n picks). Always 0 for the built-in models.
	Skipped int
	// Picks are the ids the balancer returned.
	Picks []string
	// Err is the error that stopped the picks (balancer.ErrAllDrained,
	// balancer.ErrNoBackends, ...), nil when all picks were served.
	Err error
}

// DiffResult is the outcome of Diff.
type DiffResult struct {
	Lua     Result
	Go      GoSide
	Verdict Verdict
	// FirstDifference is the index of the first pick where the sequences
	// differ, -1 when they agree over the shorter one.
	FirstDifference int
	// Explanation says in words why the verdict was reached.
	Explanation string
}

// Diff runs the Lua side and safewrr on the same nodes and compares them.
// safewrr gets the nodes that survive validation, in the order Lua iterated
// them, and for Resty the node Lua's first find() started after. It returns
// an error only when the Lua side could not run (see Run).
func Diff(ctx context.Context, cfg DiffConfig) (DiffResult, error) {
	lr, err := Run(ctx, cfg.Lua)
	if err != nil {
		return DiffResult{}, err
	}
	algo := cfg.Algorithm
	if !cfg.FixedAlgorithm {
		algo = AlgorithmFor(cfg.Lua)
	}
	picks := cfg.Lua.Picks
	if picks <= 0 {
		picks = DefaultPicks
	}
	g := RunGo(cfg.Lua.Nodes, cfg.Policy, algo, lr.Order, lr.Start, picks)
	if algo == balancer.Smooth && cfg.Lua.LuaPath != "" && lr.Outcome == OutcomeOK && g.Err == nil && !slices.Equal(g.Picks, lr.Picks) {
		// Line up with a random start of up to n picks.
		n := len(g.Nodes)
		long := RunGo(cfg.Lua.Nodes, cfg.Policy, algo, lr.Order, lr.Start, picks+n)
		for k := 1; k <= n && long.Err == nil && k+picks <= len(long.Picks); k++ {
			if slices.Equal(long.Picks[k:k+picks], lr.Picks) {
				g.Picks, g.Skipped = long.Picks[k:k+picks], k
				break
			}
		}
	}
	res := DiffResult{Lua: lr, Go: g, FirstDifference: -1}
	res.judge()
	return res, nil
}

// AlgorithmFor returns the safewrr algorithm that matches a Lua side:
// Smooth for nginx-swrr and for modules whose name contains "swrr", Resty
// otherwise.
func AlgorithmFor(c Config) balancer.Algorithm {
	if c.LuaPath == "" && c.Model == NginxSWRR || c.LuaPath != "" && strings.Contains(c.Module, "swrr") {
		return balancer.Smooth
	}
	return balancer.Resty
}

// RunGo validates entries with the policy, orders the accepted nodes as
// order lists them (nodes missing from order keep their relative place after
// the listed ones), starts a Resty balancer after the node named start (when
// it was accepted) and takes picks picks.
func RunGo(entries []weights.Entry, p weights.Policy, algo balancer.Algorithm, order []string, start string, picks int) GoSide {
	snap, rep := p.Build(entries)
	g := GoSide{Algorithm: algo, Report: rep, Start: -1}
	nodes := inOrder(snap.Nodes, order, func(n weights.Node) string { return n.ID })
	g.Nodes = nodes
	opts := []balancer.Option{balancer.WithAlgorithm(algo)}
	if algo == balancer.Resty && start != "" {
		if i := slices.IndexFunc(nodes, func(n weights.Node) bool { return n.ID == start }); i >= 0 {
			g.Start = i
			opts = append(opts, balancer.WithStart(i))
		}
	}
	if rep.Refused != nil {
		g.Err = rep.Refused
		return g
	}
	b, err := balancer.New(nodes, opts...)
	if err != nil {
		g.Err = err
		return g
	}
	g.Picks = make([]string, 0, picks)
	for i := 0; i < picks; i++ {
		n, err := b.Next()
		if err != nil {
			g.Err = err
			break
		}
		g.Picks = append(g.Picks, n.ID)
	}
	return g
}

func (r *DiffResult) judge() {
	lua, g := r.Lua, r.Go
	for i := 0; i < len(lua.Picks) && i < len(g.Picks); i++ {
		if lua.Picks[i] != g.Picks[i] {
			r.FirstDifference = i
			break
		}
	}
	if r.FirstDifference < 0 && len(lua.Picks) != len(g.Picks) && lua.Outcome == OutcomeOK && g.Err == nil {
		r.FirstDifference = min(len(lua.Picks), len(g.Picks))
	}
	rejected := len(g.Report.Rejected)
	switch {
	case lua.Outcome != OutcomeOK:
		r.Verdict = VerdictSafe
		var what string
		switch {
		case g.Err == nil && rejected > 0:
			what = fmt.Sprintf("safewrr rejected %s and served the other %d node(s)", rejectList(g.Report), len(g.Nodes))
		case g.Err == nil:
			what = "safewrr accepted every node and served them"
		case rejected > 0:
			what = fmt.Sprintf("safewrr rejected %s and answered at once: %v", rejectList(g.Report), g.Err)
		default:
			what = fmt.Sprintf("safewrr answered at once: %v", g.Err)
		}
		r.Explanation = fmt.Sprintf("Lua: %s in %s; %s.", lua.Outcome, lua.Phase, what)
	case rejected > 0 || g.Err != nil:
		r.Verdict = VerdictStricter
		switch {
		case rejected > 0 && g.Err == nil:
			r.Explanation = fmt.Sprintf("Lua served; safewrr rejected %s and served the other %d node(s).", rejectList(g.Report), len(g.Nodes))
		case rejected > 0:
			r.Explanation = fmt.Sprintf("Lua served; safewrr rejected %s and answered at once: %v.", rejectList(g.Report), g.Err)
		case errors.Is(g.Err, balancer.ErrAllDrained):
			r.Explanation = "Lua served nodes of weight 0; safewrr drains every weight-0 node and answered at once that all are drained."
		default:
			r.Explanation = fmt.Sprintf("Lua served; safewrr answered: %v.", g.Err)
		}
	case r.FirstDifference >= 0:
		r.Verdict = VerdictDiffer
		r.Explanation = fmt.Sprintf("The sequences differ at pick %d.", r.FirstDifference+1)
	default:
		r.Verdict = VerdictSame
		r.Explanation = fmt.Sprintf("Both served the same %d picks.", len(lua.Picks))
		if g.Skipped > 0 {
			r.Explanation = fmt.Sprintf("Both served the same %d picks, once safewrr's sequence skips its first %d (the module advanced its own by a random start).", len(lua.Picks), g.Skipped)
		}
	}
}

func rejectList(rep weights.Report) string {
	parts := make([]string, 0, len(rep.Rejected))
	for _, e := range rep.Rejected {
		parts = append(parts, fmt.Sprintf("%q (%s)", e.ID, e.Reason))
	}
	return strings.Join(parts, ", ")
}

// inOrder returns a copy of items sorted as order lists their ids (the first
// place of an id counts); items whose id is not listed keep their relative
// places after the listed ones.
func inOrder[T any](items []T, order []string, id func(T) string) []T {
	pos := make(map[string]int, len(order))
	for i, o := range order {
		if _, dup := pos[o]; !dup {
			pos[o] = i
		}
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int {
		pa, oka := pos[id(a)]
		pb, okb := pos[id(b)]
		switch {
		case oka && okb:
			return pa - pb
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return out
}
