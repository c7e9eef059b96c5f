package balancer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

func nodesOf(spec string) []weights.Node {
	var nodes []weights.Node
	for _, f := range strings.Fields(spec) {
		var id string
		var w uint32
		i := strings.IndexByte(f, '=')
		id = f[:i]
		fmt.Sscan(f[i+1:], &w)
		nodes = append(nodes, weights.Node{ID: id, Weight: w})
	}
	return nodes
}

func picks(t *testing.T, b *Balancer, n int) string {
	t.Helper()
	var sb strings.Builder
	for k := range n {
		nd, err := b.Next()
		if err != nil {
			t.Fatalf("Next #%d: %v", k, err)
		}
		if k > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(nd.ID)
	}
	return sb.String()
}

func TestOptionsValidated(t *testing.T) {
	nodes := nodesOf("a=1 b=2")
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"bad algorithm", []Option{WithAlgorithm(Algorithm(7))}, "balancer: unknown algorithm 7"},
		{"negative start", []Option{WithStart(-1)}, "balancer: start index -1 must be non-negative"},
		{"start out of range", []Option{WithStart(2)}, "balancer: start index 2 out of range for 2 nodes"},
		{"nil clock", []Option{WithClock(nil)}, "balancer: clock must not be nil"},
		{"negative slow start", []Option{WithSlowStart(-time.Second)}, "balancer: slow start window -1s must be non-negative"},
		{"eject percent above 100", []Option{WithMaxEjectedPercent(101)}, "balancer: max ejected percent 101 must be between 0 and 100"},
		{"eject percent negative", []Option{WithMaxEjectedPercent(-1)}, "balancer: max ejected percent -1 must be between 0 and 100"},
		{"weight drop zero", []Option{WithMaxWeightDrop(0)}, "balancer: max weight drop 0 must be in (0, 1]"},
		{"weight drop above one", []Option{WithMaxWeightDrop(1.5)}, "balancer: max weight drop 1.5 must be in (0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(nodes, tt.opts...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New(...) error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewRejectsBadIDs(t *testing.T) {
	for _, tt := range []struct {
		spec []weights.Node
		want string
	}{
		{[]weights.Node{{ID: "", Weight: 1}}, `balancer: invalid node: node #0 "": empty id`},
		{nodesOf("a=1 b=1 a=2"), `balancer: invalid node: node #2 "a": same id as node #0`},
	} {
		_, err := New(tt.spec)
		if !errors.Is(err, ErrInvalidNode) || err.Error() != tt.want {
			t.Errorf("New(%v) = %v, want %q", tt.spec, err, tt.want)
		}
	}
}

func TestNoServingErrors(t *testing.T) {
	clk := clocktest.New()
	tests := []struct {
		name  string
		nodes []weights.Node
		eject []string
		want  error
	}{
		{"empty", nil, nil, ErrNoBackends},
		{"all drained", nodesOf("a=0 b=0"), nil, ErrAllDrained},
		{"all ejected", nodesOf("a=1 b=2 c=0"), []string{"a", "b"}, ErrAllEjected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.nodes, WithClock(clk.Now), WithMaxEjectedPercent(100))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.eject {
				if err := b.Eject(id, clk.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Next(); err != tt.want {
				t.Errorf("Next() error = %v, want %v", err, tt.want)
			}
			var tried Tried
			if _, err := b.NextExcluding(&tried); err != tt.want {
				t.Errorf("NextExcluding() error = %v, want %v", err, tt.want)
			}
			if tried.Len() != 0 {
				t.Errorf("a failed NextExcluding recorded %d ids", tried.Len())
			}
		})
	}
}

func TestDrainedNeverPicked(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		b, err := New(nodesOf("a=0 b=3 c=0 d=1 e=0"), WithAlgorithm(algo))
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			n, err := b.Next()
			if err != nil || (n.ID != "b" && n.ID != "d") {
				t.Fatalf("%v: Next() = %v, %v", algo, n, err)
			}
		}
	}
}

func TestNextExcluding(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		tried []string
		want  map[string]bool // acceptable answers
	}{
		{"skips the heavy node", "a=1000000 b=1", []string{"a"}, map[string]bool{"b": true}},
		{"skips drained and tried", "a=5 b=0 c=5 d=1", []string{"a", "c"}, map[string]bool{"d": true}},
		{"unknown tried ids are ignored", "a=1 b=1", []string{"zz"}, map[string]bool{"a": true, "b": true}},
		{"many tried", "a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, map[string]bool{"k": true}},
	}
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, tt := range tests {
			t.Run(algo.String()+"/"+tt.name, func(t *testing.T) {
				b, err := New(nodesOf(tt.spec), WithAlgorithm(algo))
				if err != nil {
					t.Fatal(err)
				}
				for round := range 50 {
					var tried Tried
					for _, id := range tt.tried {
						tried.Add(id)
					}
					n, err := b.NextExcluding(&tried)
					if err != nil || !tt.want[n.ID] {
						t.Fatalf("round %d: NextExcluding = %v, %v; want one of %v", round, n.ID, err, tt.want)
					}
					if !tried.Has(n.ID) {
						t.Fatalf("NextExcluding did not record %q", n.ID)
					}
				}
			})
		}
	}
}

// TestRetryLoopTerminates: a retry loop that only uses NextExcluding visits
// every serving node once and then gets ErrAllExcluded.
func TestRetryLoopTerminates(t *testing.T) {
	b, err := New(nodesOf("a=100 b=1 c=0 d=7 e=1"))
	if err != nil {
		t.Fatal(err)
	}
	var tried Tried
	seen := map[string]bool{}
	for attempt := range 10 {
		n, err := b.NextExcluding(&tried)
		if errors.Is(err, ErrAllExcluded) {
			if attempt != 4 || len(seen) != 4 {
				t.Fatalf("ErrAllExcluded after %d attempts, seen %v", attempt, seen)
			}
			return
		}
		if err != nil || seen[n.ID] || n.ID == "c" {
			t.Fatalf("attempt %d: %v, %v (seen %v)", attempt, n.ID, err, seen)
		}
		seen[n.ID] = true
	}
	t.Fatal("no ErrAllExcluded after 10 attempts over 4 serving nodes")
}

// TestExcludedWeighted: the picks that land on the tried node go to the
// untried nodes by their weights.
func TestExcludedWeighted(t *testing.T) {
	ws := []uint32{1000, 3, 1, 2}
	b, err := New(mkNodes(ws))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for range 6000 {
		var tried Tried
		tried.Add("n0")
		n, err := b.NextExcluding(&tried)
		if err != nil {
			t.Fatal(err)
		}
		counts[n.ID]++
	}
	// 6000 retries over untried weights 3:1:2, each exactly once per 1006 picks
	// of the counter; allow a small slack for the spread's short windows.
	for id, want := range map[string]int{"n1": 3000, "n2": 1000, "n3": 2000} {
		if d := counts[id] - want; d < -60 || d > 60 {
			t.Errorf("%s picked %d times, want about %d (%v)", id, counts[id], want, counts)
		}
	}
}

func TestTried(t *testing.T) {
	var tr Tried
	for i := range 20 {
		tr.Add(fmt.Sprint(i))
		tr.Add(fmt.Sprint(i))
	}
	if tr.Len() != 20 {
		t.Fatalf("Len = %d, want 20", tr.Len())
	}
	for i := range 20 {
		if !tr.Has(fmt.Sprint(i)) {
			t.Fatalf("Has(%d) = false", i)
		}
	}
	if tr.Has("20") {
		t.Fatal("Has(20) = true")
	}
	tr.Reset()
	if tr.Len() != 0 || tr.Has("3") {
		t.Fatal("Reset left ids behind")
	}
	var nilT *Tried
	if nilT.Has("a") || nilT.Len() != 0 {
		t.Fatal("nil Tried is not empty")
	}
}

func TestEjectRestore(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1 c=1 d=1 e=0"), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		want error
	}{
		{func() error { return b.Eject("zz", clk.Now().Add(time.Second)) }, ErrUnknownNode},
		{func() error { return b.Restore("zz") }, ErrUnknownNode},
		{func() error { return b.Eject("a", clk.Now().Add(10*time.Second)) }, nil},
		{func() error { return b.Eject("b", clk.Now().Add(20*time.Second)) }, nil},
		// 2 of 4 non-drained ejected is the 50% limit.
		{func() error { return b.Eject("c", clk.Now().Add(time.Second)) }, ErrEjectLimit},
		// Drained nodes do not count and can be ejected.
		{func() error { return b.Eject("e", clk.Now().Add(time.Second)) }, nil},
		// Re-ejecting extends without counting again.
		{func() error { return b.Eject("a", clk.Now().Add(15*time.Second)) }, nil},
		// A time in the past does nothing.
		{func() error { return b.Eject("c", clk.Now().Add(-time.Second)) }, nil},
	}
	for i, s := range steps {
		if err := s.do(); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("step %d: error %v, want %v", i, err, s.want)
		}
	}
	state := func() string {
		var sb strings.Builder
		for _, s := range b.States() {
			fmt.Fprintf(&sb, "%s:%s:%d ", s.ID, s.State, s.Effective)
		}
		return strings.TrimSpace(sb.String())
	}
	if got, want := state(), "a:ejected:0 b:ejected:0 c:serving:1 d:serving:1 e:drained:0"; got != want {
		t.Fatalf("states %q, want %q", got, want)
	}
	b.Sync() // the order of picks follows the schedule that leaves a and b out
	if got, want := picks(t, b, 4), "c d c d"; got != want {
		t.Fatalf("picks %q, want %q", got, want)
	}
	if s := b.States()[0]; !s.EjectedUntil.Equal(clk.Now().Add(15 * time.Second)) {
		t.Fatalf("a ejected until %v", s.EjectedUntil)
	}
	clk.Advance(15 * time.Second) // a comes back by itself
	b.Sync()
	seen := map[string]int{}
	for range 30 {
		n, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen[n.ID]++
	}
	if seen["a"] != 10 || seen["b"] != 0 {
		t.Fatalf("after a's ejection ended: %v", seen)
	}
	if err := b.Restore("b"); err != nil {
		t.Fatal(err)
	}
	if got, want := state(), "a:serving:1 b:serving:1 c:serving:1 d:serving:1 e:drained:0"; got != want {
		t.Fatalf("states %q, want %q", got, want)
	}
	if err := b.Restore("b"); err != nil {
		t.Fatalf("restoring a serving node: %v", err)
	}
}

func TestZeroEjectPercent(t *testing.T) {
	b, _ := New(nodesOf("a=1 b=1"), WithMaxEjectedPercent(0))
	if err := b.Eject("a", time.Now().Add(time.Hour)); !errors.Is(err, ErrEjectLimit) {
		t.Fatalf("Eject with 0%% = %v", err)
	}
}

func TestSlowStart(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=100 b=100"), WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s := b.States(); s[0].State != Serving || s[0].Effective != 100 {
		t.Fatalf("initial nodes ramp: %+v", s[0])
	}
	if err := b.Update(nodesOf("a=100 b=100 c=100")); err != nil {
		t.Fatal(err)
	}
	want := []uint32{9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 100}
	for step, w := range want {
		s := b.States()[2]
		if s.Effective != w {
			t.Fatalf("after %ds: c effective %d (%v), want %d", step, s.Effective, s.State, w)
		}
		if wantState := Ramping; w == 100 {
			if s.State != Serving {
				t.Fatalf("after %ds: c %v, want serving", step, s.State)
			}
		} else if s.State != wantState || !s.RampEnd.Equal(clk.Now().Add(time.Duration(10-step)*time.Second)) {
			t.Fatalf("after %ds: c %v until %v", step, s.State, s.RampEnd)
		}
		// Picks follow the effective weights: c gets w of each 200+w.
		b.Sync()
		cycle := (200 + int(w)) / int(gcd(uint64(w), 100))
		count := 0
		for range cycle {
			n, err := b.Next()
			if err != nil {
				t.Fatal(err)
			}
			if n.ID == "c" {
				count++
			}
		}
		if wantC := int(w) / int(gcd(uint64(w), 100)); count != wantC {
			t.Fatalf("after %ds: c picked %d of %d, want %d", step, count, cycle, wantC)
		}
		clk.Advance(time.Second)
	}
	// An ejection that ends starts a ramp at its end time.
	if err := b.Eject("a", clk.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5*time.Second + 2*time.Second)
	if s := b.States()[0]; s.State != Ramping || s.Effective != 27 {
		t.Fatalf("2s after the ejection ended: %+v", s)
	}
}

func TestUpdateRefused(t *testing.T) {
	b, err := New(nodesOf("a=50 b=50"), WithMaxWeightDrop(0.5))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		nodes []weights.Node
		cause error
	}{
		{"empty", nil, ErrNoBackends},
		{"all drained", nodesOf("a=0 b=0"), ErrAllDrained},
		{"duplicate", nodesOf("a=1 a=2"), ErrInvalidNode},
		{"empty id", []weights.Node{{ID: "", Weight: 1}}, ErrInvalidNode},
		{"weight drop", nodesOf("a=49"), ErrWeightDrop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Update(tt.nodes)
			var ue *UpdateError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUpdateRefused) || !errors.Is(err, tt.cause) {
				t.Fatalf("Update = %v, want an *UpdateError for %v", err, tt.cause)
			}
			if ue.OldTotal != 100 {
				t.Errorf("OldTotal = %d", ue.OldTotal)
			}
			if got := picks(t, b, 4); got != "a b a b" {
				t.Errorf("after a refused update: %q", got)
			}
		})
	}
	if err := b.Update(nodesOf("a=50")); err != nil {
		t.Fatalf("halving is allowed with 0.5: %v", err)
	}
}

func TestUpdateCarriesState(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1 c=1 d=1"), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Eject("b", clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("d=1 c=1 b=1 x=1")); err != nil {
		t.Fatal(err)
	}
	if s := b.States(); s[2].ID != "b" || s[2].State != Ejected {
		t.Fatalf("ejection not carried: %+v", s)
	}
	// Shrinking the set under its ejections lifts the excess.
	if err := b.Eject("d", clk.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("b=1 d=1 c=1")); err != nil {
		t.Fatal(err)
	}
	var ejected []string
	for _, s := range b.States() {
		if s.State == Ejected {
			ejected = append(ejected, s.ID)
		}
	}
	if len(ejected) != 1 || ejected[0] != "d" {
		t.Fatalf("ejected after shrinking: %v, want [d] (the later one)", ejected)
	}
}

// TestUpdateKeepsPosition: an update with the same nodes does not restart
// the sequence; Resty continues from its last node and current weight.
func TestUpdateKeepsPosition(t *testing.T) {
	ws := []uint32{5, 3, 2, 4}
	for _, algo := range []Algorithm{Smooth, Resty} {
		b, err := New(mkNodes(ws), WithAlgorithm(algo))
		if err != nil {
			t.Fatal(err)
		}
		var ref interface{ next() int }
		if algo == Smooth {
			ref = newRefSmooth(ws)
		} else {
			ref = newRefResty(ws, len(ws)-1)
		}
		next := index(t, b)
		for k := range 37 {
			if k == 11 || k == 23 {
				if err := b.Update(mkNodes(ws)); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := next(), ref.next(); got != want {
				t.Fatalf("%v pick %d = %d want %d", algo, k, got, want)
			}
		}
	}
	// Resty with a changed weight: the scan goes on after the last node at
	// the same current weight.
	b, _ := New(mkNodes(ws), WithAlgorithm(Resty))
	ref := newRefResty(ws, len(ws)-1)
	next := index(t, b)
	for range 6 {
		next()
		ref.next()
	}
	ws2 := []uint32{5, 3, 2, 5}
	if err := b.Update(mkNodes(ws2)); err != nil {
		t.Fatal(err)
	}
	ref2 := newRefResty(ws2, ref.last)
	ref2.cw = ref.cw
	for k := range 40 {
		if got, want := next(), ref2.next(); got != want {
			t.Fatalf("after update, pick %d = %d want %d", k, got, want)
		}
	}
}

func TestRandomStart(t *testing.T) {
	nodes := mkNodes([]uint32{10, 20, 30, 40, 50})
	firsts := map[string]bool{}
	for seed := range int64(20) {
		b, err := New(nodes, WithRandomStart(seed))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := b.Next()
		firsts[n.ID] = true
		b2, _ := New(nodes, WithRandomStart(seed))
		if a, c := picks(t, b, 20), picks(t, b2, 21); c != n.ID+" "+a {
			t.Fatalf("seed %d is not reproducible", seed)
		}
	}
	if len(firsts) < 3 {
		t.Fatalf("20 seeds started at only %v", firsts)
	}
}

// testSizes are the set sizes of the allocation and footprint tests.
func testSizes() []int {
	if raceEnabled {
		return []int{10, 1000}
	}
	return []int{10, 1000, 100000}
}

func TestZeroAllocs(t *testing.T) {
	for _, n := range testSizes() {
		b, err := New(benchNodes(n))
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(1000, func() { sinkNode, _ = b.Next() }); a != 0 {
			t.Errorf("nodes=%d: Next allocates %v times", n, a)
		}
		s := b.cur.Load()
		first := s.node(s.mod(s.ctr.Load())).ID
		if a := testing.AllocsPerRun(1000, func() {
			var tried Tried
			tried.Add(first)
			for range 5 {
				sinkNode, _ = b.NextExcluding(&tried)
			}
		}); a != 0 {
			t.Errorf("nodes=%d: NextExcluding allocates %v times", n, a)
		}
	}
}

// TestFootprint: at most 64 bytes per node plus a 256 KiB table.
func TestFootprint(t *testing.T) {
	for _, n := range testSizes() {
		b, err := New(benchNodes(n))
		if err != nil {
			t.Fatal(err)
		}
		s := b.cur.Load()
		per := 24*cap(b.m.nodes) + 4*cap(b.m.sorted) + 8*cap(s.prefix) + 24*cap(s.rowNodes)
		table := cap(s.t8) + 2*cap(s.t16) + 4*cap(s.t32) + 8*cap(s.rowStart)
		if s.kind == kindSpread {
			per += 4 * cap(s.bucket)
		} else {
			table += 4 * cap(s.bucket)
		}
		t.Logf("nodes=%d kind=%d: %.1f bytes/node, table %d bytes", n, s.kind, float64(per)/float64(n), table)
		if per > 64*n+64 || table > maxTableBytes {
			t.Errorf("nodes=%d: %d bytes of per-node data (%.1f/node), table %d bytes", n, per, float64(per)/float64(n), table)
		}
	}
}

// TestHugeWeights: weights near the uint32 limit make cycles of billions of
// picks; picks stay O(1) and retries still find the light node at once.
func TestHugeWeights(t *testing.T) {
	tests := []struct {
		name string
		ws   []uint32
		want kind
	}{
		{"max and one", []uint32{4294967295, 1}, kindSpread},
		{"three large", []uint32{4000000000, 3000000000, 2000000001}, kindSpread},
		{"rows", []uint32{16000, 1, 7}, kindTable8},
		{"many rows", mkWeights(300, func(i int) uint32 { return uint32(1 + i*50) }), kindRows},
	}
	for _, tt := range tests {
		for _, algo := range []Algorithm{Smooth, Resty} {
			t.Run(tt.name+"/"+algo.String(), func(t *testing.T) {
				b, err := New(mkNodes(tt.ws), WithAlgorithm(algo))
				if err != nil {
					t.Fatal(err)
				}
				if k := b.cur.Load().kind; k != tt.want {
					t.Fatalf("kind %d, want %d", k, tt.want)
				}
				seen := map[string]int{}
				for range 1000 {
					n, err := b.Next()
					if err != nil {
						t.Fatal(err)
					}
					seen[n.ID]++
				}
				if seen["n0"] == 0 {
					t.Fatalf("heaviest node never picked: %v", seen)
				}
				for i := range tt.ws {
					var tried Tried
					for j := range tt.ws {
						if j != i {
							tried.Add(fmt.Sprintf("n%d", j))
						}
					}
					n, err := b.NextExcluding(&tried)
					if err != nil || n.ID != fmt.Sprintf("n%d", i) {
						t.Fatalf("only n%d untried: got %v, %v", i, n.ID, err)
					}
				}
			})
		}
	}
}

func mkWeights(n int, f func(int) uint32) []uint32 {
	ws := make([]uint32, n)
	for i := range ws {
		ws[i] = f(i)
	}
	return ws
}

// A node whose ejection has ended serves again, even while the schedule
// that brings it back is still to be built: a retry that already tried it
// fails with ErrAllExcluded, not ErrAllEjected (found by FuzzBalancer).
func TestExcludedAfterEjectionEnded(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("synced=%v", sync), func(t *testing.T) {
			clk := clocktest.New()
			b, err := New(nodesOf("a=5"), WithClock(clk.Now), WithMaxEjectedPercent(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Eject("a", clk.Now().Add(23*time.Second)); err != nil {
				t.Fatal(err)
			}
			if sync {
				b.Sync() // the schedule leaves a out
			}
			var none Tried
			if _, err := b.NextExcluding(&none); err != ErrAllEjected {
				t.Fatalf("while a is ejected: NextExcluding() error = %v, want %v", err, ErrAllEjected)
			}
			clk.Advance(23 * time.Second)
			var tried Tried
			tried.Add("a")
			if _, err := b.NextExcluding(&tried); err != ErrAllExcluded {
				t.Errorf("after a's ejection ended, with a tried: NextExcluding() error = %v, want %v", err, ErrAllExcluded)
			}
		})
	}
}

// An update from an empty set skips slow start: the first nodes serve at
// full weight whether given to New or to the first Update; later additions
// ramp.
func TestFirstUpdateSkipsSlowStart(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nil, WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("a=3 b=1 d=0")); err != nil {
		t.Fatal(err)
	}
	for _, s := range b.States() {
		if s.Effective != s.Weight || (s.Weight > 0 && s.State != Serving) {
			t.Fatalf("first update: %+v", s)
		}
	}
	if got := picks(t, b, 8); strings.Count(got, "a") != 6 || strings.Count(got, "b") != 2 {
		t.Fatalf("picks %q, want two 3:1 cycles at full weight", got)
	}
	// A refused update leaves the set as it was: not empty, so what follows ramps.
	if err := b.Update(nil); err == nil {
		t.Fatal("an empty update was applied")
	}
	if err := b.Update(nodesOf("a=3 b=1 c=10 d=10")); err != nil {
		t.Fatal(err)
	}
	s := b.States()
	if s[2].State != Ramping || s[2].Effective >= 10 || s[3].State != Ramping || s[3].Effective >= 10 {
		t.Fatalf("a node added later, one undrained later: %+v %+v", s[2], s[3])
	}
	if s[0].State != Serving || s[0].Effective != 3 {
		t.Fatalf("a first node after the second update: %+v", s[0])
	}
}

// CheckUpdate is Update's refusal of what a set holds, without a balancer.
func TestCheckUpdate(t *testing.T) {
	old := nodesOf("a=5 b=1")
	for _, c := range []struct {
		nodes   string
		maxDrop float64
		want    error
		text    string
	}{
		{"", 0, ErrNoBackends, "balancer: update refused: no backends: the new set is empty"},
		{"a=0 b=0", 0, ErrAllDrained, "balancer: update refused: all backends are drained (weight 0): all 2 nodes of the new set have weight 0"},
		{"b=1 c=1", 0.5, ErrWeightDrop, "balancer: update refused: update drops too much weight: total weight would fall from 6 to 2, more than 0.5 of it"},
		{"a=2 b=1", 0.5, nil, ""},
		{"b=1", 0, nil, ""},
	} {
		err := CheckUpdate(old, nodesOf(c.nodes), c.maxDrop)
		var ue *UpdateError
		switch {
		case c.want == nil && err != nil, c.want != nil && (!errors.Is(err, c.want) || !errors.Is(err, ErrUpdateRefused) || !errors.As(err, &ue) || err.Error() != c.text):
			t.Errorf("CheckUpdate(%q, %v) = %v, want %v: %q", c.nodes, c.maxDrop, err, c.want, c.text)
		}
	}
	if err := CheckUpdate(nil, nodesOf("a=1"), 0.5); err != nil {
		t.Errorf("from an empty set: %v", err)
	}
}
