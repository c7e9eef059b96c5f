package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func init() {
	register(command{
		name:    "simulate",
		summary: "run N picks on a node set: sequence, counts against the ideal share, histogram, SVG chart",
		usage:   simulateUsage,
		run:     runSimulate,
	})
}

// Bounds of a simulation.
const (
	simMaxPicks           = 10_000_000 // --picks
	simDefaultMaxSequence = 100_000    // --max-sequence default
	simTextFull           = 200        // sequences up to this length are printed whole
	simTextHead           = 100        // picks printed at the start of a longer sequence
	simTextTail           = 20         // picks printed at its end
	simHistogramWidth     = 50         // characters of the longest histogram bar
	simTextMaxNodes       = 40         // nodes listed in the text tables
)

const simulateUsage = `Usage:
  safewrr simulate --nodes SPEC --picks N [--algo smooth|resty] [--start I] [--seed S]
                   [--json] [--max-sequence M] [--svg FILE] [validate's decode flags]

Runs N picks of the safewrr balancer on a node set and prints the sequence
(whole up to 200 picks, otherwise the first 100 and the last 20), the picks
per node against the ideal share (weight / total serving weight × N) with the
deviation, and a text histogram (the text lists the first 40 nodes; --json
lists all). Drained nodes (weight 0) are listed with 0 picks; rejected nodes
are listed with their reason and are never picked.

SPEC is a JSON object {"id": weight, ...} or array [{"id": .., "weight": ..}],
a registry's response, a Lua table literal {a=10, b="0", c=0/0}, or @file
holding one of them. JSON is read as validate reads a payload, with the same
decode flags (--format auto detects a registry's response, --policy,
--convention, --health, --service, ...; see "safewrr validate -h"), so a
Nacos or Consul answer is decoded as that registry's. A Lua table literal is
a plain snapshot. By default only numbers are weights, 0 drains, the string
"0" is rejected (string-zero).

--algo smooth is nginx's smooth weighted round robin (the default); resty is
lua-resty-balancer's resty.roundrobin order. --start I makes resty begin after
node I (0-based, counting the accepted nodes in spec order), as
resty.roundrobin's random start does; by default it begins after the last.
--seed S starts the balancer at a point of its cycle chosen from S, as a fleet
of proxies would with random start. A set whose cycle is too long for the
balancer's exact table (many nodes with unrelated weights) keeps exact
proportions per cycle but not the nginx or resty order, and ignores --start.

Bounds: --picks is 1 to 10,000,000. With --json the sequence holds at most
--max-sequence picks (default 100,000; at most 10,000,000); a longer run
reports "sequence_truncated": true and its full counts. The SVG draws every
node's bar (up to 64 nodes) and the first 1,000 picks.

--json prints one object on one line: format (the payload's, map for a plain
snapshot), algo, picks (run), requested, cycle
(picks per full cycle), nodes (id, weight, state, picks, ideal, deviation),
sequence (node ids in pick order), sequence_truncated, counts (id -> picks),
ideal (id -> ideal picks), rejected (index, id, reason, raw, message), and
error when no node could be picked.

Exit codes: 0 the picks ran (even if some nodes were rejected); 1 no node can
be picked (every node rejected or drained, or the set is empty); 2 usage,
spec or I/O error.

Example:
  safewrr simulate --nodes '{a=5, b=1, c=1}' --picks 7
  safewrr simulate --nodes '{"a":5,"b":"0","c":0,"d":2}' --picks 1000 --json --svg sim.svg
`

// simOutcome is everything a simulation reports.
type simOutcome struct {
	format    string          // the payload's format
	notes     []registry.Note // what a registry decoder decided
	algo      string
	requested int // picks asked for
	picks     int // picks run
	cycle     uint64
	nodes     []simNode
	seq       []int // node indexes of the first picks
	tail      []int // node indexes of the last picks (text output), oldest first
	rejected  []*weights.NodeError
	failure   error // why no node could be picked
	truncated bool  // seq holds fewer than picks entries
}

func runSimulate(args []string, stdout, stderr io.Writer) int {
	c := commands["simulate"]
	fs := newFlagSet(c, stdout, stderr)
	spec := fs.String("nodes", "", "the node set: a JSON snapshot or registry response, a Lua table literal, or @file (required)")
	picks := fs.Int("picks", 0, "number of picks to run, 1 to 10,000,000 (required)")
	algo := fs.String("algo", "smooth", "algorithm: smooth (nginx) or resty (resty.roundrobin)")
	start := fs.Int("start", 0, "resty: index of the node the first pass starts after (0-based)")
	seed := fs.Int64("seed", 0, "start at a point of the cycle chosen from this seed")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	maxSeq := fs.Int("max-sequence", simDefaultMaxSequence, "longest sequence printed with --json")
	svgPath := fs.String("svg", "", "write an SVG chart of the distribution and the sequence to `FILE`")
	dec := addDecodeFlags(fs)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "safewrr simulate: "+format+"\n", a...)
		fmt.Fprintln(stderr, `Run "safewrr simulate -h" for usage.`)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *spec == "":
		return usageErr("--nodes SPEC is required")
	case !set["picks"]:
		return usageErr("--picks N is required")
	case *picks < 1 || *picks > simMaxPicks:
		return usageErr("--picks must be between 1 and %d, got %d", simMaxPicks, *picks)
	case *maxSeq < 0 || *maxSeq > simMaxPicks:
		return usageErr("--max-sequence must be between 0 and %d, got %d", simMaxPicks, *maxSeq)
	case *algo != "smooth" && *algo != "resty":
		return usageErr("--algo must be smooth or resty, got %q", *algo)
	case set["start"] && *algo != "resty":
		return usageErr("--start applies to --algo resty only")
	case set["start"] && set["seed"]:
		return usageErr("--start and --seed cannot be used together (--seed picks the start)")
	case set["start"] && *start < 0:
		return usageErr("--start must be 0 or more, got %d", *start)
	}

	ns, err := dec.readSpec(*spec)
	if err != nil {
		return usageErr("%v", err)
	}
	snap, rep := ns.snap, ns.rep.Report

	var opts []balancer.Option
	if *algo == "resty" {
		opts = append(opts, balancer.WithAlgorithm(balancer.Resty))
	} else {
		opts = append(opts, balancer.WithAlgorithm(balancer.Smooth))
	}
	if set["start"] && len(snap.Nodes) > 0 { // with no node, the run reports why
		if *start >= len(snap.Nodes) {
			return usageErr("--start %d is past the last of %d accepted nodes", *start, len(snap.Nodes))
		}
		opts = append(opts, balancer.WithStart(*start))
	}
	if set["seed"] {
		opts = append(opts, balancer.WithRandomStart(*seed))
	}

	keep := 0
	switch {
	case *asJSON:
		keep = min(*picks, *maxSeq)
	case *picks <= simTextFull:
		keep = *picks
	default:
		keep = simTextHead
	}
	if *svgPath != "" {
		keep = max(keep, min(*picks, svgMaxPicks))
	}
	out := simulate(snap, rep, *algo, *picks, keep, opts)
	out.format, out.notes = string(ns.format), ns.rep.Notes
	if out.failure != nil && !isNoNodeError(out.failure) {
		// Not about the input's nodes: an option the balancer refused.
		return usageErr("%v", out.failure)
	}
	out.truncated = len(out.seq) < out.picks

	if *svgPath != "" {
		if err := writeSVGFile(*svgPath, out); err != nil {
			fmt.Fprintf(stderr, "safewrr simulate: --svg: %v\n", err)
			return exitUsage
		}
	}
	if *asJSON {
		if err := printSimJSON(stdout, out); err != nil {
			fmt.Fprintf(stderr, "safewrr simulate: %v\n", err)
			return exitUsage
		}
	} else {
		printSimText(stdout, out)
	}
	if out.failure != nil {
		if *asJSON {
			fmt.Fprintf(stderr, "safewrr simulate: %v\n", out.failure)
		}
		return exitRejected
	}
	return exitOK
}

// isNoNodeError reports whether err says that no node can be picked.
func isNoNodeError(err error) bool {
	var refused *snapshotRefused
	return errors.Is(err, balancer.ErrNoBackends) || errors.Is(err, balancer.ErrAllDrained) || errors.As(err, &refused)
}

// snapshotRefused wraps weights' refusal of a whole snapshot.
type snapshotRefused struct{ err error }

func (e *snapshotRefused) Error() string { return "the node set was refused: " + e.err.Error() }
func (e *snapshotRefused) Unwrap() error { return e.err }

// simulate runs the picks. It keeps the first keep picks and, for text
// output, the last few.
func simulate(snap weights.Snapshot, rep weights.Report, algo string, picks, keep int, opts []balancer.Option) simOutcome {
	out := simOutcome{algo: algo, requested: picks, picks: picks, rejected: rep.Rejected}
	index := make(map[string]int, len(snap.Nodes))
	var total float64
	var g uint64
	for i, n := range snap.Nodes {
		out.nodes = append(out.nodes, simNode{ID: n.ID, Weight: n.Weight})
		index[n.ID] = i
		total += float64(n.Weight)
		g = gcd(g, uint64(n.Weight))
	}
	if rep.Refused != nil {
		out.failure = &snapshotRefused{rep.Refused}
		out.picks = 0
		return out
	}
	if g > 0 {
		out.cycle = uint64(total) / g
	}
	for i := range out.nodes {
		if total > 0 {
			out.nodes[i].Ideal = float64(out.nodes[i].Weight) / total * float64(picks)
		}
	}
	b, err := balancer.New(snap.Nodes, opts...)
	if err != nil {
		out.failure = err
		out.picks = 0
		return out
	}
	out.seq = make([]int, 0, keep)
	ring := make([]int, simTextTail)
	for p := range picks {
		n, err := b.Next()
		if err != nil {
			out.failure = err
			out.picks = p
			return out
		}
		i, ok := index[n.ID]
		if !ok {
			out.failure = fmt.Errorf("the balancer returned %q, which is not in the node set", n.ID)
			return out
		}
		out.nodes[i].Count++
		if p < keep {
			out.seq = append(out.seq, i)
		}
		ring[p%simTextTail] = i
	}
	for p := max(picks-simTextTail, 0); p < picks; p++ {
		out.tail = append(out.tail, ring[p%simTextTail])
	}
	return out
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func nodeState(n simNode) string {
	if n.Weight == 0 {
		return "drained"
	}
	return "serving"
}

func printSimText(w io.Writer, out simOutcome) {
	serving, drained := 0, 0
	for _, n := range out.nodes {
		if n.Weight == 0 {
			drained++
		} else {
			serving++
		}
	}
	ran := plural(out.picks, "pick")
	if out.picks != out.requested {
		ran = fmt.Sprintf("%d of %s", out.picks, plural(out.requested, "pick"))
	}
	if out.format != "" && out.format != string(registry.FormatMap) {
		fmt.Fprintf(w, "format: %s\n", out.format)
	}
	fmt.Fprintf(w, "simulate: algo %s, %s; %d serving, %d drained, %d rejected", out.algo, ran, serving, drained, len(out.rejected))
	if out.cycle > 0 {
		fmt.Fprintf(w, "; one cycle is %s", plural(int(out.cycle), "pick"))
	}
	fmt.Fprintln(w)
	if len(out.notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range out.notes[:min(len(out.notes), simTextMaxNodes)] {
			fmt.Fprintf(w, "  %s\n", n)
		}
		if len(out.notes) > simTextMaxNodes {
			fmt.Fprintf(w, "  ... %d more\n", len(out.notes)-simTextMaxNodes)
		}
	}

	if len(out.rejected) > 0 {
		fmt.Fprintln(w, "\nrejected (never picked):")
		for _, e := range out.rejected {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
	}
	if out.failure != nil {
		fmt.Fprintf(w, "\nno picks: %v\n", out.failure)
		if len(out.nodes) > 0 {
			fmt.Fprintln(w)
			printCounts(w, out)
		}
		return
	}

	fmt.Fprintln(w, "\nsequence:")
	ids := func(idx []int) []string {
		s := make([]string, len(idx))
		for i, x := range idx {
			s[i] = textID(out.nodes[x].ID)
		}
		return s
	}
	if len(out.seq) >= out.picks {
		writeWrapped(w, ids(out.seq))
	} else {
		writeWrapped(w, ids(out.seq[:min(len(out.seq), simTextHead)]))
		fmt.Fprintf(w, "  ... %d picks not shown ...\n", out.picks-min(len(out.seq), simTextHead)-len(out.tail))
		writeWrapped(w, ids(out.tail))
	}
	fmt.Fprintln(w)
	printCounts(w, out)
	fmt.Fprintln(w)
	printHistogram(w, out)
}

// writeWrapped prints ids separated by spaces, indented, in lines of about
// 78 columns.
func writeWrapped(w io.Writer, ids []string) {
	line := "  "
	for _, id := range ids {
		if len(line) > 2 && len(line)+1+len(id) > 78 {
			fmt.Fprintln(w, line)
			line = "  "
		}
		if len(line) > 2 {
			line += " "
		}
		line += id
	}
	if len(line) > 2 {
		fmt.Fprintln(w, line)
	}
}

// shownNodes returns the nodes the text tables list and how many are left out.
func shownNodes(out simOutcome) ([]simNode, int) {
	if len(out.nodes) <= simTextMaxNodes {
		return out.nodes, 0
	}
	return out.nodes[:simTextMaxNodes], len(out.nodes) - simTextMaxNodes
}

func printCounts(w io.Writer, out simOutcome) {
	nodes, hidden := shownNodes(out)
	idW := len("node")
	for _, n := range nodes {
		idW = max(idW, utf8.RuneCountInString(textID(n.ID)))
	}
	fmt.Fprintf(w, "%-*s  %10s  %10s  %12s  %10s  %8s\n", idW, "node", "weight", "picks", "ideal", "deviation", "")
	for _, n := range nodes {
		dev, pct := "-", ""
		if n.Weight == 0 {
			pct = "drained"
		} else if out.failure == nil {
			d := float64(n.Count) - n.Ideal
			dev = fmt.Sprintf("%+.2f", d)
			pct = fmt.Sprintf("%+.2f%%", 100*d/n.Ideal)
		}
		fmt.Fprintf(w, "%-*s  %10d  %10d  %12.2f  %10s  %8s\n", idW, textID(n.ID), n.Weight, n.Count, n.Ideal, dev, pct)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "... %s not shown (--json lists every node)\n", plural(hidden, "more node"))
	}
	if out.failure != nil {
		return
	}
	// The largest deviation over every serving node, shown or not.
	worst := -1
	for i, n := range out.nodes {
		if n.Weight > 0 && (worst < 0 || math.Abs(float64(n.Count)-n.Ideal) > math.Abs(float64(out.nodes[worst].Count)-out.nodes[worst].Ideal)) {
			worst = i
		}
	}
	if worst >= 0 {
		n := out.nodes[worst]
		d := float64(n.Count) - n.Ideal
		fmt.Fprintf(w, "largest deviation from the ideal: %s, %+.2f picks (%+.2f%%)\n", textID(n.ID), d, 100*d/n.Ideal)
	}
}

func printHistogram(w io.Writer, out simOutcome) {
	nodes, hidden := shownNodes(out)
	idW, most := 0, 0
	for _, n := range nodes {
		idW = max(idW, utf8.RuneCountInString(textID(n.ID)))
	}
	for _, n := range out.nodes {
		most = max(most, n.Count)
	}
	if most == 0 {
		return
	}
	unit := histogramUnit(most)
	fmt.Fprintf(w, "histogram (%s):\n", histogramLegend(unit))
	for _, n := range nodes {
		bar := int(math.Round(float64(n.Count) / unit))
		if bar == 0 && n.Count > 0 {
			bar = 1
		}
		note := ""
		if n.Weight == 0 {
			note = " (drained)"
		}
		fmt.Fprintf(w, "%-*s  %s %d%s\n", idW, textID(n.ID), strings.Repeat("#", bar), n.Count, note)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "... %s not shown\n", plural(hidden, "more node"))
	}
}

// textID is how the text output shows a node id: as is when it is printable
// and has no spaces, Go-quoted otherwise, so that one id reads as one word.
func textID(id string) string {
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' {
			return strconv.Quote(id)
		}
	}
	return id
}

// plural writes n and the word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// histogramUnit is how many picks one # stands for: one while the largest
// count fits in simHistogramWidth characters, else the largest count over
// the width, so that the longest bar is exactly that wide.
func histogramUnit(most int) float64 {
	if most <= simHistogramWidth {
		return 1
	}
	return float64(most) / simHistogramWidth
}

// histogramLegend says what one # stands for.
func histogramLegend(unit float64) string {
	switch {
	case unit == 1:
		return "# = 1 pick"
	case unit >= 100:
		return fmt.Sprintf("# = %.0f picks", unit)
	}
	return fmt.Sprintf("# = %.1f picks", unit)
}

// orderedObject marshals as a JSON object whose keys keep their order.
type orderedObject struct {
	keys []string
	vals []any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// seqIDs marshals a sequence of node indexes as a JSON array of node ids
// without building the strings first (a sequence may hold millions).
type seqIDs struct {
	seq   []int
	nodes []simNode
}

func (s seqIDs) MarshalJSON() ([]byte, error) {
	quoted := make([][]byte, len(s.nodes))
	for i, n := range s.nodes {
		q, err := json.Marshal(n.ID)
		if err != nil {
			return nil, err
		}
		quoted[i] = q
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range s.seq {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(quoted[x])
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

type simJSONNode struct {
	ID        string  `json:"id"`
	Weight    uint32  `json:"weight"`
	State     string  `json:"state"`
	Picks     int     `json:"picks"`
	Ideal     float64 `json:"ideal"`
	Deviation float64 `json:"deviation"`
}

type simJSONReject struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

type simJSON struct {
	Format            string          `json:"format"`
	Algo              string          `json:"algo"`
	Picks             int             `json:"picks"`
	Requested         int             `json:"requested"`
	Cycle             uint64          `json:"cycle"`
	Nodes             []simJSONNode   `json:"nodes"`
	Sequence          seqIDs          `json:"sequence"`
	SequenceTruncated bool            `json:"sequence_truncated"`
	Counts            orderedObject   `json:"counts"`
	Ideal             orderedObject   `json:"ideal"`
	Rejected          []simJSONReject `json:"rejected"`
	Error             string          `json:"error,omitempty"`
}

func printSimJSON(w io.Writer, out simOutcome) error {
	j := simJSON{
		Format:            out.format,
		Algo:              out.algo,
		Picks:             out.picks,
		Requested:         out.requested,
		Cycle:             out.cycle,
		Nodes:             []simJSONNode{},
		Sequence:          seqIDs{out.seq, out.nodes},
		SequenceTruncated: out.failure == nil && out.truncated,
		Rejected:          []simJSONReject{},
	}
	if out.failure != nil {
		j.Error = out.failure.Error()
	}
	for _, n := range out.nodes {
		dev := 0.0
		if out.failure == nil {
			dev = round2(float64(n.Count) - n.Ideal)
		}
		j.Nodes = append(j.Nodes, simJSONNode{ID: n.ID, Weight: n.Weight, State: nodeState(n), Picks: n.Count, Ideal: round2(n.Ideal), Deviation: dev})
		j.Counts.keys = append(j.Counts.keys, n.ID)
		j.Counts.vals = append(j.Counts.vals, n.Count)
		j.Ideal.keys = append(j.Ideal.keys, n.ID)
		j.Ideal.vals = append(j.Ideal.vals, round2(n.Ideal))
	}
	for _, e := range out.rejected {
		j.Rejected = append(j.Rejected, simJSONReject{Index: e.Index, ID: e.ID, Reason: string(e.Reason), Raw: e.Raw.String(), Message: e.Error()})
	}
	// One compact line: a sequence may hold millions of ids.
	return json.NewEncoder(w).Encode(j)
}

// round2 keeps two decimals, which is all a share of picks needs.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

func writeSVGFile(path string, out simOutcome) error {
	chart := svgChart{
		Title: fmt.Sprintf("safewrr simulate: %s, %d picks, %d nodes", out.algo, out.picks, len(out.nodes)),
		Nodes: out.nodes,
		Seq:   out.seq,
		Picks: out.picks,
	}
	if out.failure != nil {
		chart.Title += " (no picks: " + out.failure.Error() + ")"
	}
	for _, e := range out.rejected {
		chart.Rejected = append(chart.Rejected, fmt.Sprintf("%s: %s (raw %s)", e.ID, e.Reason, e.Raw.String()))
	}
	var buf bytes.Buffer
	if err := writeSVG(&buf, chart); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
