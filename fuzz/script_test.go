package fuzz

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestFields checks that fields splits a line as strings.Fields does, up to
// the capacity it is given.
func TestFields(t *testing.T) {
	lines := []string{
		"", " ", "nodes a=1 b=2", "  next\t7  ", "a\vb\fc\rd", "x\u00a0y\u0085z\u2003w",
		"\xff\xfe a", "é=3 ü", "a\x00b c", strings.Repeat("n ", 40),
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{" ", "\t", "a", "=", "1", "\xc2", "\xa0", "\x85", "\u2003", "é", "\xff"}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		lines = append(lines, b.String())
	}
	for _, line := range lines {
		for _, c := range []int{0, 1, 3, 1 + maxScriptNodes} {
			want := strings.Fields(line)
			want = want[:min(len(want), c)]
			if got := fields(make([]string, 0, c), line); !slices.Equal(got, want) {
				t.Fatalf("fields(%q) with room for %d = %q, want %q", line, c, got, want)
			}
		}
	}
}

// TestParseScriptCaps checks the limits a script is cut to.
func TestParseScriptCaps(t *testing.T) {
	long := "nodes" + strings.Repeat(" n=1", 2*maxScriptNodes) + "\n" +
		"next-excluding" + strings.Repeat(" n", 2*maxScriptNodes) + "\n" +
		"next 100000\n" + strings.Repeat("advance 1\n", 2*maxScriptOps)
	ops := parseScript([]byte(long))
	if len(ops) != maxScriptOps {
		t.Fatalf("%d ops, want %d", len(ops), maxScriptOps)
	}
	if len(ops[0].nodes) != maxScriptNodes || len(ops[1].ids) != maxScriptNodes {
		t.Fatalf("nodes %d, ids %d, want %d each", len(ops[0].nodes), len(ops[1].ids), maxScriptNodes)
	}
	if ops[2].n != maxScriptPicks {
		t.Fatalf("next 100000 read as next %d, want %d", ops[2].n, maxScriptPicks)
	}
}
