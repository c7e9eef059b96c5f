package core

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
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

// TestBinaryScript: the compact form decodes to the operations its text
// form names, and text input still reads as text.
func TestBinaryScript(t *testing.T) {
	// op bytes: opKind-1 (modulo 15); nodes: count, then id and weight bytes.
	compact := []byte{
		byte(opAlgo - 1), 1, // algo resty
		byte(opNodes - 1), 3, 0, 5, 7, 0, 194, 7, // nodes n00=5 n01=0 =7 (ids by place below 192; 194 % 13 = 12, the empty id)
		byte(opNodes - 1), 2, 0, 3, 1, 249, // nodes n00=3 n01=64
		byte(opEject - 1), 0, 1, 30, // eject n01 30 (one id: 0 % 4 + 1)
		byte(opNextExcluding - 1), 2, 0, 246, // next-excluding n00 n12 (below 240 ids wrap at the last set's size + 1; 246 % 13 = 12, the empty id)
		byte(opCycle - 1),
		byte(opNext - 1), // next 1 (argument cut short reads as 0)
	}
	want := []op{
		{kind: opAlgo, word: "resty"},
		{kind: opNodes, nodes: []weights.Node{{ID: "n00", Weight: 5}, {ID: "n01", Weight: 0}, {ID: "", Weight: 7}}},
		{kind: opNodes, nodes: []weights.Node{{ID: "n00", Weight: 3}, {ID: "n01", Weight: 64}}},
		{kind: opEject, ids: []string{"n01"}, n: 30},
		{kind: opNextExcluding, ids: []string{"n00", ""}},
		{kind: opCycle},
		{kind: opNext, n: 1},
	}
	if got := decodeScript(compact); !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeScript(%v) =\n%+v\nwant\n%+v", compact, got, want)
	}
	if got := decodeScript([]byte("nodes a=1\ncycle")); len(got) != 2 || got[0].kind != opNodes || got[1].kind != opCycle {
		t.Fatalf("a text script read as %+v", got)
	}
}

// tableLimit is the longest cycle the balancer walks into an exact table
// (its tableBytes with one byte per entry).
const tableLimit = 256 << 10

// TestBoundWeightKeepsBuildsCheap: after boundWeight, a node set with a
// short weight and a huge one has a cycle too long for a table, and every
// pair of the compact form's weights makes either a cycle short enough for
// the cycle operation or one too long for a table: no build walks a long
// exact cycle.
func TestBoundWeightKeepsBuildsCheap(t *testing.T) {
	cycle := func(ws ...uint32) uint64 {
		var g, sum uint64
		for _, w := range ws {
			g = gcd64(g, uint64(w))
			sum += uint64(w)
		}
		return sum / g
	}
	for _, w := range []uint32{65, 1000, 1 << 20, hugeWeight - 1} {
		if b := boundWeight(w); b < hugeWeight {
			t.Fatalf("boundWeight(%d) = %d, want at least %d", w, b, hugeWeight)
		}
	}
	for _, w := range []uint32{0, 1, maxShortWeight, hugeWeight, 1<<32 - 1} {
		if b := boundWeight(w); b != w {
			t.Fatalf("boundWeight(%d) = %d, want it unchanged", w, b)
		}
	}
	if n := cycle(slices.Repeat([]uint32{maxShortWeight - 1}, maxScriptNodes)...); n > 2048 {
		t.Fatalf("short weights make a cycle of %d", n)
	}
	for short := uint32(1); short <= maxShortWeight; short++ {
		for _, huge := range []uint32{hugeWeight, boundWeight(hugeWeight - 64), 3 << 24, 1<<32 - 64} {
			if n := cycle(short, huge); n <= tableLimit {
				t.Fatalf("weights %d and %d: a cycle of %d fits a table", short, huge, n)
			}
		}
	}
	var ws []uint32
	for b := 0; b < 256; b++ {
		w := binaryWeight(b)
		if boundWeight(w) != w {
			t.Fatalf("byte %d: compact weight %d is neither short nor huge", b, w)
		}
		ws = append(ws, w)
	}
	for _, a := range ws {
		for _, b := range ws {
			if a == 0 || b == 0 {
				continue
			}
			if n := cycle(a, b); n > maxCycle && n <= tableLimit {
				t.Fatalf("compact weights %d and %d: an exact cycle of %d", a, b, n)
			}
		}
	}
}

// rowsTop is the largest reduced weight of the balancer's rows schedule
// (balancer's maxRows).
const rowsTop = 1<<14 - 1

// TestFleetSchedules: every fleet holds more than 256 nodes (two bytes per
// table entry) with distinct ids, the first ones named as the compact form
// names them, in the order of their ids but for a few, so that New's sort
// finds the set sorted; every fleet of pattern 0 is an exact cycle of one
// pick per node, short enough for the cycle operation, and every other
// fleet has a gcd of 1, a cycle too long for a two-byte table and no reduced
// weight above the rows schedule's limit, with or without the named nodes,
// so that the compact form reaches the rows schedule with two bytes.
func TestFleetSchedules(t *testing.T) {
	for count := 0; count < 256; count++ {
		for _, pattern := range []int{0, 1, 2, 77, 128, 255, 256} {
			nodes := fleetNodes(count, pattern)
			if invalidIDs(nodes) != "" {
				t.Fatalf("fleet %d %d: %s", count, pattern, invalidIDs(nodes))
			}
			if len(nodes) <= 256 {
				t.Fatalf("fleet %d %d: %d nodes, want more than 256", count, pattern, len(nodes))
			}
			unsorted := 0
			for i, n := range nodes {
				if i < len(binaryIDs)-1 && n.ID != binaryIDs[i] {
					t.Fatalf("fleet %d %d: node %d is %q, want %q", count, pattern, i, n.ID, binaryIDs[i])
				}
				if i > 0 && n.ID < nodes[i-1].ID {
					unsorted++
				}
				if n.Weight == 0 {
					t.Fatalf("fleet %d %d: node %d is drained", count, pattern, i)
				}
			}
			if unsorted > 2 {
				t.Fatalf("fleet %d %d: %d ids below the one before", count, pattern, unsorted)
			}
			var g, sum, top uint64
			for _, n := range nodes {
				g = gcd64(g, uint64(n.Weight))
				sum += uint64(n.Weight)
				top = max(top, uint64(n.Weight))
			}
			if pattern%256 == 0 {
				if g != 1 || top != 1 || sum > maxCycle {
					t.Fatalf("fleet %d %d: %d nodes, weights up to %d, gcd %d; want more than 256 nodes of weight 1, a cycle the cycle operation walks",
						count, pattern, len(nodes), top, g)
				}
				continue
			}
			if g != 1 || sum <= tableLimit/2 || top > rowsTop {
				t.Fatalf("fleet %d %d: gcd %d, cycle %d, top %d: not the rows schedule", count, pattern, g, sum, top)
			}
			// Without the nodes the compact form names (ejected, drained).
			g, sum = 0, 0
			for _, n := range nodes[len(binaryIDs)-1:] {
				g = gcd64(g, uint64(n.Weight))
				sum += uint64(n.Weight)
			}
			if sum/g <= tableLimit/2 {
				t.Fatalf("fleet %d %d: without n0 to n11 a cycle of %d fits a two-byte table", count, pattern, sum/g)
			}
		}
	}
	if got := decodeScript([]byte("fleet 1 2")); len(got) != 1 || got[0].kind != opFleet || len(got[0].nodes) != fleetBase+1 {
		t.Fatalf("fleet 1 2 read as %+v", got)
	}
	if got := decodeScript([]byte{byte(opFleet - 1), 240, 0, 3}); len(got) != 1 || got[0].kind != opFleet || got[0].nodes[1].Weight != 1+5 {
		t.Fatalf("the compact fleet 0 3 read as %+v", got)
	}
	if got := decodeScript([]byte{byte(opFleet - 1), 239, 0, 3}); len(got) == 0 || got[0].kind != opFleet || got[0].nodes != nil {
		t.Fatalf("a compact fleet below 240 read as %+v, want no nodes", got)
	}
}

// BenchmarkScript compares one compact script on a rows fleet with the same
// operations on a small set: what a fleet input costs a campaign.
func BenchmarkScript(b *testing.B) {
	ops := []byte{byte(opEject - 1), 3, 0, 30, byte(opNext - 1), 5, byte(opRestore - 1), 0, 1, byte(opNext - 1), 9}
	for _, bm := range []struct {
		name  string
		build []byte
	}{
		{"fleet", []byte{byte(opFleet - 1), 250, 3, 7}},
		{"small", []byte{byte(opNodes - 1), 4, 0, 3, 1, 5, 2, 7, 3, 2}},
	} {
		data := append(bm.build, ops...)
		b.Run(bm.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Balancer(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSmoothReference: the oracle's nginx smooth WRR gives nginx's own
// example sequence for weights 5, 1, 1 (a a b a c a a), skips a drained
// member, divides by the gcd and starts where asked.
func TestSmoothReference(t *testing.T) {
	states := []balancer.NodeState{
		{ID: "a", Weight: 10, Effective: 10},
		{ID: "z", Weight: 0, Effective: 0, State: balancer.Drained},
		{ID: "b", Weight: 2, Effective: 2},
		{ID: "c", Weight: 2, Effective: 2},
	}
	want := []int32{0, 0, 2, 0, 3, 0, 0, 0, 0, 2, 0}
	if got := smoothReference(states, 2, 0, 11); !slices.Equal(got, want) {
		t.Fatalf("smoothReference from 0 = %v, want %v", got, want)
	}
	if got := smoothReference(states, 2, 3, 4); !slices.Equal(got, want[3:7]) {
		t.Fatalf("smoothReference from 3 = %v, want %v", got, want[3:7])
	}
	if got := smoothReference(states[1:2], 1, 0, 3); len(got) != 0 {
		t.Fatalf("smoothReference with nothing serving = %v, want none", got)
	}
}

// TestInFours: inFours calls f once for each index, in order, for every
// count around its step of four.
func TestInFours(t *testing.T) {
	for n := range 11 {
		var got []int
		inFours(n, func(i int) { got = append(got, i) })
		if len(got) != n {
			t.Fatalf("inFours(%d) made %d calls: %v", n, len(got), got)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("inFours(%d) calls %v, want 0 ... %d in order", n, got, n-1)
			}
		}
	}
}

// TestIsTextScript: a script is text when it is empty or starts with a
// letter, '#' or white space, and compact from any other byte.
func TestIsTextScript(t *testing.T) {
	if !isTextScript(nil) {
		t.Fatal("an empty script is not read as text")
	}
	for c := range 256 {
		want := c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if got := isTextScript([]byte{byte(c), 'x'}); got != want {
			t.Fatalf("isTextScript starting with %q = %v, want %v", byte(c), got, want)
		}
	}
}
