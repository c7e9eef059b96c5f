package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every count that simulate's text output shows (picks, nodes by state,
// rejects, the cycle, the sequence's hidden part, the table, the largest
// deviation, the histogram's bars and legend, the "not shown" lines) is
// checked here against the data it summarises: the --json output of the same
// run, whose counts are in turn checked against its own sequence.

var (
	simHeaderRe = regexp.MustCompile(`^simulate: algo (\w+), (\d+)(?: of (\d+))? picks?; (\d+) serving, (\d+) drained, (\d+) rejected(?:; one cycle is (\d+) picks?)?$`)
	simHiddenRe = regexp.MustCompile(`^  \.\.\. (\d+) picks? not shown \.\.\.$`)
	simRowRe    = regexp.MustCompile(`^(\S+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\S+)\s+(\S+)$`)
	simMoreRe   = regexp.MustCompile(`^\.\.\. (\d+) more nodes? not shown`)
	simWorstRe  = regexp.MustCompile(`^largest deviation from the ideal: (\S+), ([-+][\d.]+) picks`)
	simLegendRe = regexp.MustCompile(`^histogram \(# = ([\d.]+) picks?\):$`)
	simBarRe    = regexp.MustCompile(`^(\S+) +(#*) (\d+)( \(drained\))?$`)
)

// checkSimTextCounts runs simulate with args as text and as JSON and fails
// for any count in the text that the data does not support.
func checkSimTextCounts(t *testing.T, args ...string) {
	t.Helper()
	j := simulateJSON(t, 0, args...)
	code, text, errOut := runCLI(t, append([]string{"simulate"}, args...)...)
	if code != 0 {
		t.Fatalf("simulate %v: exit %d; stderr:\n%s", args, code, errOut)
	}
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("simulate %v: %s\n%s", args, fmt.Sprintf(format, a...), text)
	}

	// The JSON's own counts against its sequence.
	total, serving, drained := 0, 0, 0
	for _, n := range j.Nodes {
		total += n.Picks
		if n.Weight == 0 {
			drained++
		} else {
			serving++
		}
	}
	if total != j.Picks {
		fail("JSON node picks add up to %d, want %d", total, j.Picks)
	}
	if !j.SequenceTruncated {
		if len(j.Sequence) != j.Picks {
			fail("JSON sequence has %d ids for %d picks", len(j.Sequence), j.Picks)
		}
		seen := map[string]int{}
		for _, id := range j.Sequence {
			seen[id]++
		}
		for _, n := range j.Nodes {
			if seen[n.ID] != n.Picks {
				fail("JSON says %s was picked %d times; the sequence has it %d times", n.ID, n.Picks, seen[n.ID])
			}
		}
	}

	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	i := 0
	next := func() (string, bool) {
		if i >= len(lines) {
			return "", false
		}
		i++
		return lines[i-1], true
	}

	// Header.
	h := simHeaderRe.FindStringSubmatch(lines[0])
	if h == nil {
		fail("header %q does not read as documented", lines[0])
	}
	i = 1
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			fail("%q is not a count: %v", s, err)
		}
		return n
	}
	if h[1] != j.Algo || atoi(h[2]) != j.Picks {
		fail("header says algo %s, %s picks; the run made %d with %s", h[1], h[2], j.Picks, j.Algo)
	}
	if h[3] != "" && atoi(h[3]) != j.Requested {
		fail("header says %s picks requested, want %d", h[3], j.Requested)
	}
	if h[3] == "" && j.Picks != j.Requested {
		fail("header hides that %d of %d picks were made", j.Picks, j.Requested)
	}
	if atoi(h[4]) != serving || atoi(h[5]) != drained || atoi(h[6]) != len(j.Rejected) {
		fail("header says %s serving, %s drained, %s rejected; the data has %d, %d, %d", h[4], h[5], h[6], serving, drained, len(j.Rejected))
	}
	if h[7] != "" && uint64(atoi(h[7])) != j.Cycle {
		fail("header says a cycle is %s picks, want %d", h[7], j.Cycle)
	}

	// Rejected nodes: one line each.
	if len(j.Rejected) > 0 {
		for l, _ := next(); l != "rejected (never picked):"; l, _ = next() {
			if i >= len(lines) {
				fail("no rejected section")
			}
		}
		n := 0
		for l, ok := next(); ok && strings.HasPrefix(l, "  "); l, ok = next() {
			n++
		}
		if n != len(j.Rejected) {
			fail("%d rejected lines for %d rejects", n, len(j.Rejected))
		}
	}

	// Sequence: the ids shown plus the hidden count make every pick.
	for l, _ := next(); l != "sequence:"; l, _ = next() {
		if i >= len(lines) {
			fail("no sequence section")
		}
	}
	var shown []string
	hidden := 0
	for l, ok := next(); ok && l != ""; l, ok = next() {
		if m := simHiddenRe.FindStringSubmatch(l); m != nil {
			hidden += atoi(m[1])
			continue
		}
		shown = append(shown, strings.Fields(l)...)
	}
	if len(shown)+hidden != j.Picks {
		fail("sequence shows %d ids and hides %d, want %d picks", len(shown), hidden, j.Picks)
	}
	if hidden == 0 && !j.SequenceTruncated && strings.Join(shown, " ") != strings.Join(j.Sequence, " ") {
		fail("text sequence differs from the JSON sequence")
	}

	// Counts table: one row per node in the data's order, the rest counted.
	if l, _ := next(); !strings.HasPrefix(l, "node ") {
		fail("counts table header missing, got %q", l)
	}
	rows := 0
	for l, ok := next(); ok && l != ""; l, ok = next() {
		if m := simMoreRe.FindStringSubmatch(l); m != nil {
			if atoi(m[1]) != len(j.Nodes)-rows {
				fail("table says %s more nodes not shown; %d are", m[1], len(j.Nodes)-rows)
			}
			continue
		}
		if m := simWorstRe.FindStringSubmatch(l); m != nil {
			d, _ := strconv.ParseFloat(m[2], 64)
			worst := 0.0
			for _, n := range j.Nodes {
				if n.Weight > 0 {
					worst = math.Max(worst, math.Abs(float64(n.Picks)-n.Ideal))
				}
			}
			if math.Abs(math.Abs(d)-worst) > 0.011 {
				fail("largest deviation shown as %s, the data's is %.2f", m[2], worst)
			}
			continue
		}
		m := simRowRe.FindStringSubmatch(l)
		if m == nil || rows >= len(j.Nodes) {
			fail("table row %q does not read as a node", l)
		}
		n := j.Nodes[rows]
		if m[1] != n.ID || atoi(m[2]) != int(n.Weight) || atoi(m[3]) != n.Picks {
			fail("table row %q, the data has %s weight %d picked %d times", l, n.ID, n.Weight, n.Picks)
		}
		rows++
	}

	// Histogram: one # per legend unit, the count printed after the bar.
	l, _ := next()
	lm := simLegendRe.FindStringSubmatch(l)
	if lm == nil {
		fail("histogram legend %q does not read as documented", l)
	}
	unit, _ := strconv.ParseFloat(lm[1], 64)
	bars := 0
	for l, ok := next(); ok && l != ""; l, ok = next() {
		if m := simMoreRe.FindStringSubmatch(l); m != nil {
			if atoi(m[1]) != len(j.Nodes)-bars {
				fail("histogram says %s more nodes not shown; %d are", m[1], len(j.Nodes)-bars)
			}
			continue
		}
		m := simBarRe.FindStringSubmatch(l)
		if m == nil || bars >= len(j.Nodes) {
			fail("histogram row %q does not read as a node", l)
		}
		n := j.Nodes[bars]
		got, count := len(m[2]), atoi(m[3])
		if m[1] != n.ID || count != n.Picks {
			fail("histogram row %q, the data has %s picked %d times", l, n.ID, n.Picks)
		}
		// The legend's unit is rounded to one decimal, so allow that much
		// per #, besides half a unit for rounding the bar itself.
		if count == 0 && got != 0 || count > 0 && got == 0 {
			fail("histogram row %q: %d # for %d picks", l, got, count)
		}
		if got > 1 && math.Abs(float64(got)*unit-float64(count)) > unit/2+0.05*float64(got) {
			fail("histogram row %q: %d # at %v picks each is not %d picks", l, got, unit, count)
		}
		if got > simHistogramWidth {
			fail("histogram row %q is wider than %d", l, simHistogramWidth)
		}
		bars++
	}
}

func TestSimulateTextCountsMatchData(t *testing.T) {
	cases := [][]string{
		{"--nodes", "{a=5, b=1, c=1}", "--picks", "7"}, // one # per pick below 50 picks
		{"--nodes", "{a=5, b=1, c=1}", "--picks", "1"},
		{"--nodes", "{a=50, b=1}", "--picks", "51"},
		{"--nodes", "{a=50, b=1}", "--picks", "50"},
		{"--nodes", "{a=5, b=1, c=0}", "--picks", "1000"},
		{"--nodes", `{"a":3,"b":"0","c":0,"d":"NaN"}`, "--picks", "333"},
		{"--nodes", "{a=7, b=3}", "--picks", "12345", "--algo", "resty"},
	}
	rnd := rand.New(rand.NewPCG(17, 6))
	for range 30 {
		n := 1 + rnd.IntN(60)
		parts := make([]string, n)
		for k := range parts {
			w := strconv.Itoa(rnd.IntN(21))
			if k == 0 {
				w = strconv.Itoa(1 + rnd.IntN(20)) // at least one node serves
			} else if rnd.IntN(15) == 0 {
				w = `"0"`
			}
			parts[k] = fmt.Sprintf(`"n%d":%s`, k, w)
		}
		args := []string{"--nodes", "{" + strings.Join(parts, ",") + "}", "--picks", strconv.Itoa(1 + rnd.IntN(5000))}
		if rnd.IntN(2) == 0 {
			args = append(args, "--algo", "resty")
		}
		cases = append(cases, args)
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			checkSimTextCounts(t, args...)
		})
	}
}
