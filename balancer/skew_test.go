package balancer

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// hold holds off b's background builds, so the schedule in use stays the
// one built before, until the returned function runs (which lets the
// builds run and waits for them).
func hold(t *testing.T, b *Balancer) (release func()) {
	t.Helper()
	built := b.cur.Load()
	b.buildMu.Lock()
	return func() {
		t.Helper()
		if b.cur.Load() != built {
			t.Error("a schedule was swapped in while builds were held")
		}
		b.buildMu.Unlock()
		b.builds.Wait()
	}
}

// pickIDs returns the ids of n picks by Next, or by NextExcluding with a
// fresh Tried per pick when excluding.
func pickIDs(t *testing.T, b *Balancer, n int, excluding bool) []string {
	t.Helper()
	seq := make([]string, n)
	for k := range seq {
		next := b.Next
		if excluding {
			next = func() (weights.Node, error) { return b.NextExcluding(new(Tried)) }
		}
		nd, err := next()
		if err != nil {
			t.Fatalf("pick #%d (excluding=%v): %v", k, excluding, err)
		}
		seq[k] = nd.ID
	}
	return seq
}

func ejectAll(t *testing.T, b *Balancer, ids []string) {
	t.Helper()
	until := b.cfg.now().Add(time.Hour)
	for _, id := range ids {
		if err := b.Eject(id, until); err != nil {
			t.Fatalf("Eject(%s): %v", id, err)
		}
	}
}

// heldPicks ejects ids from b with its background builds held off and
// returns the ids of n picks made then (see pickIDs); the builds run
// again before it returns.
func heldPicks(t *testing.T, b *Balancer, eject []string, n int, excluding bool) []string {
	t.Helper()
	release := hold(t, b)
	defer release()
	ejectAll(t, b, eject)
	return pickIDs(t, b, n, excluding)
}

// wantShares returns, for the nodes of spec that serve once ids are
// ejected, their share of n picks by weight.
func wantShares(spec string, ejected []string, n int) map[string]float64 {
	var total float64
	nodes := nodesOf(spec)
	for _, nd := range nodes {
		if !slices.Contains(ejected, nd.ID) {
			total += float64(nd.Weight)
		}
	}
	want := map[string]float64{}
	for _, nd := range nodes {
		if !slices.Contains(ejected, nd.ID) && nd.Weight > 0 {
			want[nd.ID] = float64(n) * float64(nd.Weight) / total
		}
	}
	return want
}

// checkShares fails unless seq picks exactly the nodes of want, each within
// tol (a fraction) of its wanted count.
func checkShares(t *testing.T, seq []string, want map[string]float64, tol float64) {
	t.Helper()
	got := map[string]int{}
	for _, id := range seq {
		got[id]++
	}
	for id, c := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s picked %d times, want never (counts %v)", id, c, got)
		}
	}
	for id, w := range want {
		if math.Abs(float64(got[id])-w) > tol*w {
			t.Errorf("%s picked %d times of %d, want %.1f ±%.0f%% (counts %v)", id, got[id], len(seq), w, 100*tol, got)
		}
	}
}

// TestEjectedShareSpread: until the build that leaves them out, the picks
// of ejected nodes go to the other serving nodes in proportion to their
// weights (within 5% over a few hundred picks), not to the node after them
// in the schedule; drained nodes get none. Issue: four equal nodes with one
// ejected used to give 150/75/75.
func TestEjectedShareSpread(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		eject []string
		picks int
	}{
		{"four equal, one ejected", "a=1 b=1 c=1 d=1", []string{"a"}, 300},
		{"four equal, last ejected", "a=1 b=1 c=1 d=1", []string{"d"}, 300},
		{"5/3/2, heaviest ejected", "a=5 b=3 c=2", []string{"a"}, 300},
		{"5/3/2, middle ejected", "a=5 b=3 c=2", []string{"b"}, 280},
		{"5/3/2, lightest ejected", "a=5 b=3 c=2", []string{"c"}, 320},
		{"six equal, two ejected", "a=1 b=1 c=1 d=1 e=1 f=1", []string{"a", "c"}, 300},
		{"six equal, two neighbours ejected", "a=1 b=1 c=1 d=1 e=1 f=1", []string{"b", "c"}, 300},
		{"drained members", "a=1 b=0 c=1 d=0 e=1 f=1", []string{"a"}, 300},
		{"uneven with gcd", "a=40 b=10 c=30 d=20", []string{"c", "d"}, 300},
		{"many nodes", "a=7 b=1 c=3 d=9 e=2 f=5 g=4 h=6 i=8 j=5", []string{"d", "i", "a"}, 900},
	}
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, excluding := range []bool{false, true} {
			for _, tt := range tests {
				name := fmt.Sprintf("%v/excluding=%v/%s", algo, excluding, tt.name)
				t.Run(name, func(t *testing.T) {
					b, err := New(nodesOf(tt.spec), WithAlgorithm(algo), WithClock(clocktest.New().Now))
					if err != nil {
						t.Fatal(err)
					}
					seq := heldPicks(t, b, tt.eject, tt.picks, excluding)
					checkShares(t, seq, wantShares(tt.spec, tt.eject, tt.picks), 0.05)
				})
			}
		}
	}
}

// TestEjectedShareShortWindows: the spread is even at every length, not
// only in total: after every prefix of 10,000 picks, each serving node's
// count is within four picks of its share (the golden-ratio sequence's
// distance grows like the logarithm of the count; handing the ejected
// node's picks to one neighbour made it grow with the count itself).
func TestEjectedShareShortWindows(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		eject []string
	}{
		{"a=1 b=1 c=1 d=1", []string{"a"}},
		{"a=5 b=3 c=2", []string{"a"}},
		{"a=1 b=1 c=1 d=1 e=1 f=1", []string{"b", "e"}},
		{"a=2 b=7 c=1 d=4 e=3", []string{"b"}},
	} {
		for _, algo := range []Algorithm{Smooth, Resty} {
			t.Run(fmt.Sprintf("%v/%s", algo, tc.spec), func(t *testing.T) {
				b, err := New(nodesOf(tc.spec), WithAlgorithm(algo))
				if err != nil {
					t.Fatal(err)
				}
				seq := heldPicks(t, b, tc.eject, 10000, false)
				share := wantShares(tc.spec, tc.eject, 1)
				got := map[string]int{}
				worst := 0.0
				for k, id := range seq {
					got[id]++
					for nd, s := range share {
						d := float64(got[nd]) - s*float64(k+1)
						worst = max(worst, math.Abs(d))
						if math.Abs(d) > 4 {
							t.Fatalf("after %d picks %s has %d, want %.1f ±4 (%s...)", k+1, nd, got[nd], s*float64(k+1), strings.Join(seq[:min(k+1, 40)], " "))
						}
					}
				}
				t.Logf("largest distance from the share: %.2f picks", worst)
			})
		}
	}
}

// TestEjectedShareNginx mirrors the "failures" cases of nginx-tests'
// stream_upstream.t and stream_udp_upstream.t: with one of two servers
// failed every request goes to the other; with one of three failed, 30
// (and 10) requests split evenly between the two others at once.
func TestEjectedShareNginx(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		t.Run(algo.String(), func(t *testing.T) {
			b, err := New(nodesOf("a=1 b=1"), WithAlgorithm(algo))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(heldPicks(t, b, []string{"a"}, 10, false), " "); got != strings.TrimSpace(strings.Repeat("b ", 10)) {
				t.Errorf("two servers, a failed: %s", got)
			}
			for _, n := range []int{30, 10} {
				b, err := New(nodesOf("a=1 b=1 c=1"), WithAlgorithm(algo))
				if err != nil {
					t.Fatal(err)
				}
				checkShares(t, heldPicks(t, b, []string{"a"}, n, false), map[string]float64{"b": float64(n) / 2, "c": float64(n) / 2}, 0)
			}
		})
	}
}

// TestEjectedShareSlowStart: a ramping node takes a share of an ejected
// node's picks in proportion to its effective (ramped) weight.
func TestEjectedShareSlowStart(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=10 b=10 c=10"), WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("a=10 b=10 c=10 d=10")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Second) // d at 5/11 of its weight: 4
	b.Sync()
	if st, _ := b.State("d"); st.State != Ramping || st.Effective != 4 {
		t.Fatalf("d: %+v, want ramping at 4", st)
	}
	seq := heldPicks(t, b, []string{"a"}, 24*25, false)
	checkShares(t, seq, map[string]float64{"b": 250, "c": 250, "d": 100}, 0.05)
}

// TestEjectRestoreRepeated: nodes ejected and restored one after another,
// each time before a build; every window is spread over the others, a
// restored node is picked again at once (the schedule in use still has it),
// and after each build the cycle gives exact shares again.
func TestEjectRestoreRepeated(t *testing.T) {
	spec := "a=3 b=1 c=2 d=2 e=4"
	ids := []string{"a", "b", "c", "d", "e"}
	for _, algo := range []Algorithm{Smooth, Resty} {
		t.Run(algo.String(), func(t *testing.T) {
			clk := clocktest.New()
			b, err := New(nodesOf(spec), WithAlgorithm(algo), WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			for round := range 15 {
				out := []string{ids[round%5]}
				if o := ids[(round*3+1)%5]; round >= 5 && o != out[0] {
					out = append(out, o)
				}
				release := hold(t, b)
				ejectAll(t, b, out)
				seq := pickIDs(t, b, 240, round%2 == 1)
				checkShares(t, seq, wantShares(spec, out, 240), 0.05)
				for _, id := range out {
					if err := b.Restore(id); err != nil {
						t.Fatal(err)
					}
				}
				// The schedule in use still has every node: a restored
				// node is picked again at once, at its full share.
				checkShares(t, pickIDs(t, b, 240, round%2 == 0), wantShares(spec, nil, 240), 0)
				release()
				b.Sync()
				checkShares(t, pickIDs(t, b, 240, false), wantShares(spec, nil, 240), 0)
			}
		})
	}
}

// TestEjectedShareThenBuild: once the build that leaves the node out is
// in, every cycle gives the others exactly their weight again, and the
// pending picks did not move the cycle's counter.
func TestEjectedShareThenBuild(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		t.Run(algo.String(), func(t *testing.T) {
			b, err := New(nodesOf("a=5 b=3 c=2 d=1"), WithAlgorithm(algo))
			if err != nil {
				t.Fatal(err)
			}
			before := b.cur.Load()
			c0 := before.ctr.Load()
			heldPicks(t, b, []string{"b"}, 77, false)
			if got := before.ctr.Load() - c0; got != 77 {
				t.Fatalf("the counter moved by %d in 77 picks", got)
			}
			// 77 picks are 7 cycles of 11: b's 3 a cycle were spread.
			if got := before.spread.Load(); got != 21 {
				t.Fatalf("%d of 77 picks were spread, want b's 21", got)
			}
			b.Sync()
			if b.cur.Load() == before || b.cur.Load().pend.Load() != nil {
				t.Fatal("the build did not replace the schedule with one without pending ejections")
			}
			for range 3 {
				checkShares(t, strings.Fields(picks(t, b, 8)), map[string]float64{"a": 5, "c": 2, "d": 1}, 0)
			}
		})
	}
}

// TestEjectedShareDeterministic: two balancers given the same calls make
// the same picks, pending spread included.
func TestEjectedShareDeterministic(t *testing.T) {
	run := func() []string {
		b, err := New(nodesOf("a=4 b=3 c=2 d=1 e=5"), WithClock(clocktest.New().Now), WithMaxEjectedPercent(100))
		if err != nil {
			t.Fatal(err)
		}
		seq := heldPicks(t, b, []string{"e", "b"}, 200, false)
		return append(seq, heldPicks(t, b, []string{"a"}, 100, true)...)
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatalf("two runs differ:\n%v\n%v", a, b)
	}
}

// TestEjectedShareLongCycles: the row and permuted forms spread an ejected
// node's picks the same way.
func TestEjectedShareLongCycles(t *testing.T) {
	spec := "a=7 b=1 c=3 d=9 e=2 f=5 g=4 h=6 i=8 j=5"
	for _, mode := range []struct {
		name string
		row  uint64
		want kind
	}{{"rows", maxRows, kindRows}, {"spread", 1, kindSpread}} {
		t.Run(mode.name, func(t *testing.T) {
			oldT, oldR := tableBytes, rowLimit
			tableBytes, rowLimit = 16, mode.row
			b, err := New(nodesOf(spec))
			tableBytes, rowLimit = oldT, oldR
			if err != nil {
				t.Fatal(err)
			}
			if k := b.cur.Load().kind; k != mode.want {
				t.Fatalf("kind %d, want %d", k, mode.want)
			}
			eject := []string{"d", "h"}
			checkShares(t, heldPicks(t, b, eject, 900, false), wantShares(spec, eject, 900), 0.05)
		})
	}
}

// TestEjectedShareAcrossBuild: wherever the build lands in a run of picks
// (after k of 300, for every k), the run stays even: the pending picks and
// the new schedule's share the work without a jump.
func TestEjectedShareAcrossBuild(t *testing.T) {
	spec := "a=1 b=1 c=1 d=1"
	for _, algo := range []Algorithm{Smooth, Resty} {
		worst := 0.0
		for k := 0; k <= 300; k++ {
			b, err := New(nodesOf(spec), WithAlgorithm(algo))
			if err != nil {
				t.Fatal(err)
			}
			seq := heldPicks(t, b, []string{"a"}, k, false)
			b.Sync()
			seq = append(seq, pickIDs(t, b, 300-k, false)...)
			checkShares(t, seq, wantShares(spec, []string{"a"}, 300), 0.04)
			got := map[string]int{}
			for _, id := range seq {
				got[id]++
			}
			for _, id := range []string{"b", "c", "d"} {
				worst = max(worst, math.Abs(float64(got[id])-100))
			}
		}
		t.Logf("%v: largest distance from 100 over the 301 build points: %.0f picks", algo, worst)
	}
}

// TestPickAvoidingMatchesScan: the weighted choice among the nodes that
// are neither pending nor tried is the node a plain scan finds, for every
// point of their weight, with and without tried nodes (two searches), and
// its errors are the scan's.
func TestPickAvoidingMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 300 {
		n := 1 + r.IntN(12)
		ws := make([]uint32, n)
		for i := range ws {
			if r.IntN(4) > 0 {
				ws[i] = uint32(1 + r.IntN(9))
			}
		}
		ws[r.IntN(n)] = uint32(1 + r.IntN(9))
		b, err := New(mkNodes(ws))
		if err != nil {
			t.Fatal(err)
		}
		s := b.cur.Load()
		var pd *pending
		var tried Tried
		out := map[int]bool{}
		for i := range n {
			switch r.IntN(5) {
			case 0:
				if s.weight(i) > 0 {
					pd = pd.with(s, i)
					out[i] = true
				}
			case 1:
				tried.Add(s.nodes[i].ID)
				out[i] = true
			}
		}
		if r.IntN(3) == 0 {
			tried.Add("not-a-member")
		}
		var rest uint64
		for i := range n {
			if !out[i] {
				rest += s.weight(i)
			}
		}
		scan := func(q uint64) int {
			for i := range n {
				if w := s.weight(i); !out[i] && w > 0 {
					if q < w {
						return i
					}
					q -= w
				}
			}
			return -1
		}
		if rest == 0 {
			_, err := s.pickAvoiding(0, pd, &tried, -1)
			want := ErrAllExcluded
			if pd.total() == s.length {
				want = ErrAllEjected
			}
			if err != want {
				t.Fatalf("round %d: weights %v, pending %v, tried %v: error %v, want %v", round, ws, pd, tried, err, want)
			}
			continue
		}
		for q := range rest + 3 {
			spreadQ, _ := bits.Mul64(q*golden, rest)
			got, err := s.pickAvoiding(q, pd, &tried, -1)
			if want := scan(spreadQ); err != nil || got != want {
				t.Fatalf("round %d: weights %v, out %v: count %d (point %d of %d): node %d, %v; want %d", round, ws, out, q, spreadQ, rest, got, err, want)
			}
			// The same with a tried node's index given (not looked up).
			for j := range n {
				if !tried.Has(s.nodes[j].ID) {
					continue
				}
				if got, err := s.pickAvoiding(q, pd, &tried, j); err != nil || got != scan(spreadQ) {
					t.Fatalf("round %d: weights %v, out %v, tried node %d given: count %d: node %d, %v; want %d", round, ws, out, j, q, got, err, scan(spreadQ))
				}
			}
		}
	}
}

// TestEjectedSharePicks pins the picks themselves: the k-th pick that
// lands on an ejected node takes point k/phi mod 1 of the others' weight,
// from k = 0 for each schedule (four equal nodes, a ejected: its slots,
// every fourth pick from the first, go to b, c, b, d, b, ...).
func TestEjectedSharePicks(t *testing.T) {
	for _, tc := range []struct {
		algo  Algorithm
		spec  string
		eject []string
		want  string
	}{
		{Smooth, "a=1 b=1 c=1 d=1", []string{"a"}, "b b c d c b c d b b c d d b c d c b c d"},
		{Resty, "a=1 b=1 c=1 d=1", []string{"a"}, "b b c d c b c d b b c d d b c d c b c d"},
		{Smooth, "a=5 b=3 c=2", []string{"a"}, "b b c c b b c c b b b b c c b b c c b b"},
		{Resty, "a=5 b=3 c=2", []string{"a"}, "b c b b b c c b c b b c b b b c c b c b"},
		{Smooth, "a=1 b=1 c=1 d=1 e=1 f=1", []string{"b", "e"}, "a a c d d f a a c d f f a c c d a f a d"},
	} {
		b, err := New(nodesOf(tc.spec), WithAlgorithm(tc.algo))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(heldPicks(t, b, tc.eject, 20, false), " "); got != tc.want {
			t.Errorf("%v %s, %v ejected: picks %s, want %s", tc.algo, tc.spec, tc.eject, got, tc.want)
		}
	}
}

// TestPickMatchesReference: a pick on a schedule with pending ejections
// and tried nodes is what the rules say, written out plainly: the node at
// the counter's position; for a pending node, point k/phi mod 1 (k counts
// those picks) of the weight of the nodes neither pending nor tried; for
// a tried node the same, k counting both kinds of picks.
func TestPickMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for round := range 200 {
		n := 2 + r.IntN(10)
		ws := make([]uint32, n)
		for i := range ws {
			if r.IntN(5) > 0 {
				ws[i] = uint32(1 + r.IntN([]int{3, 40}[r.IntN(2)]))
			}
		}
		ws[0] = max(ws[0], 1)
		algo := []Algorithm{Smooth, Resty}[r.IntN(2)]
		b, err := New(mkNodes(ws), WithAlgorithm(algo))
		if err != nil {
			t.Fatal(err)
		}
		s := b.cur.Load()
		var pd *pending
		var tried Tried
		out := map[int]bool{}
		for i := range n {
			switch r.IntN(6) {
			case 0:
				if s.weight(i) > 0 {
					pd = pd.with(s, i)
					out[i] = true
				}
			case 1, 2:
				tried.Add(s.nodes[i].ID)
				out[i] = true
			}
		}
		var rest uint64
		for i := range n {
			if !out[i] {
				rest += s.weight(i)
			}
		}
		if rest == 0 {
			continue
		}
		scan := func(q uint64) int {
			for i := range n {
				if w := s.weight(i); !out[i] && w > 0 {
					if q < w {
						return i
					}
					q -= w
				}
			}
			return -1
		}
		want := func(c uint64) int {
			p := c % s.length
			i := s.pos(p)
			if pd.has(i) || tried.Has(s.nodes[i].ID) {
				q, _ := bits.Mul64(s.spread.Load()*golden, rest)
				return scan(q)
			}
			return i
		}
		for c := range 3 * s.length {
			w := want(c)
			got, err := s.pick(c, pd, &tried)
			if err != nil || &s.nodes[w] != got {
				t.Fatalf("round %d: %v weights %v, pending %v, tried %v: pick(%d) = %v, %v; want %s",
					round, algo, ws, pd, tried.small[:tried.Len()], c, got, err, s.nodes[w].ID)
			}
		}
	}
}

// TestRetryChoiceAllocatesNothing: a retry that falls back to the weighted
// choice among untried nodes, while an ejection is pending, allocates
// nothing either.
func TestRetryChoiceAllocatesNothing(t *testing.T) {
	b, err := New(nodesOf("a=1000 b=1 c=1 d=1 e=1"), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	release := hold(t, b)
	defer release()
	ejectAll(t, b, []string{"e"})
	if a := testing.AllocsPerRun(200, func() {
		var tried Tried
		tried.Add("a")
		tried.Add("b")
		sinkNode, _ = b.NextExcluding(&tried)
	}); a != 0 {
		t.Errorf("NextExcluding with a pending ejection and two tried nodes allocates %v times", a)
	}
}

// TestLeftOutRestored: a node that the build left out and that is restored
// is the only one picks fall back to when the schedule's nodes are all
// ejected; another node left out and still ejected is not.
func TestLeftOutRestored(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1 c=1 d=1"), WithClock(clk.Now), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	ejectAll(t, b, []string{"a", "b"})
	b.Sync()
	release := hold(t, b)
	defer release()
	if err := b.Restore("b"); err != nil {
		t.Fatal(err)
	}
	if pd := b.cur.Load().pend.Load(); pd != nil {
		t.Fatalf("pending list %v with no ejection since the build", pd.pos)
	}
	ejectAll(t, b, []string{"c", "d"})
	for _, excluding := range []bool{false, true} {
		for k, id := range pickIDs(t, b, 12, excluding) {
			if id != "b" {
				t.Fatalf("pick %d (excluding=%v): %s, want b (the only node back)", k, excluding, id)
			}
		}
	}
	if err := b.Restore("c"); err != nil {
		t.Fatal(err)
	}
	// c serves again at once (the schedule in use has it); d stays out.
	checkShares(t, pickIDs(t, b, 12, false), map[string]float64{"c": 12}, 0)
	if err := b.Restore("d"); err != nil {
		t.Fatal(err)
	}
	if pd := b.cur.Load().pend.Load(); pd != nil {
		t.Fatalf("pending list %v after every ejection since the build was restored", pd.pos)
	}
}
