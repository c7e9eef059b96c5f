package balancer

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// TestStateFollowsID: a node removed and added again while its ejection
// or its ramp runs comes back in that state; once the time is over it
// comes back fresh.
func TestStateFollowsID(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=10 b=10 c=10"), WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	until := clk.Now().Add(time.Minute)
	if err := b.Eject("a", until); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("b=10 c=10 d=10")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second)
	if err := b.Update(nodesOf("a=10 b=10 c=10")); err != nil { // d leaves while it ramps
		t.Fatal(err)
	}
	if st, _ := b.State("a"); st.State != Ejected || !st.EjectedUntil.Equal(until) {
		t.Fatalf("a after a flap: %+v, want ejected until %v", st, until)
	}
	for range 30 {
		if n, _ := b.Next(); n.ID == "a" {
			t.Fatal("picked a, ejected before the flap")
		}
	}
	clk.Advance(2 * time.Second)
	if err := b.Update(nodesOf("a=10 b=10 c=10 d=10")); err != nil {
		t.Fatal(err)
	}
	// d ramps from when it first joined (5s of 10s), not from now.
	if st, _ := b.State("d"); st.State != Ramping || st.Effective != 5 || !st.RampEnd.Equal(clocktest.Start.Add(10*time.Second)) {
		t.Fatalf("d after a flap: %+v, want ramping at 5 until start+10s", st)
	}
	clk.Advance(time.Hour)
	if err := b.Update(nodesOf("b=10 c=10")); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("a=10 b=10 c=10")); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.State("a"); st.State != Ramping || st.Effective != 1 {
		t.Fatalf("a back after its ejection ended and it left: %+v, want a new ramp", st)
	}
	if len(b.until) != 0 {
		t.Fatalf("ejections kept after their end: %v", b.until)
	}
}

// TestEjectedNeverPickedBeforeBuild: from the moment Eject returns, no pick
// returns the node, although no schedule was built since (the background
// build is held off here by holding the build lock).
func TestEjectedNeverPickedBeforeBuild(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []weights.Node
	}{
		{"table", benchNodes(50)},
		{"rows", benchNodes(20000)},
	} {
		for _, algo := range []Algorithm{Smooth, Resty} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, algo), func(t *testing.T) {
				clk := clocktest.New()
				b, err := New(tc.nodes, WithAlgorithm(algo), WithClock(clk.Now), WithMaxEjectedPercent(100))
				if err != nil {
					t.Fatal(err)
				}
				built := b.cur.Load()
				b.buildMu.Lock() // no build can swap in a schedule
				out := map[string]bool{}
				for k, n := range tc.nodes[:min(len(tc.nodes), 30)] {
					if k%3 == 0 {
						continue
					}
					if err := b.Eject(n.ID, clk.Now().Add(time.Minute)); err != nil {
						t.Fatal(err)
					}
					out[n.ID] = true
					for range 200 {
						got, err := b.Next()
						if err != nil {
							t.Fatal(err)
						}
						if out[got.ID] {
							t.Fatalf("picked %s after it was ejected", got.ID)
						}
						var tried Tried
						tried.Add(tc.nodes[0].ID)
						got, err = b.NextExcluding(&tried)
						if err != nil {
							t.Fatal(err)
						}
						if out[got.ID] || got.ID == tc.nodes[0].ID {
							t.Fatalf("NextExcluding picked %s (ejected or tried)", got.ID)
						}
					}
				}
				if b.cur.Load() != built {
					t.Fatal("a schedule was swapped in while builds were held")
				}
				b.buildMu.Unlock()
				b.Sync()
				if b.cur.Load().pend.Load() != nil {
					t.Fatal("the built schedule still lists pending ejections")
				}
				b.builds.Wait()
			})
		}
	}
}

// TestAllPendingEjected: when every serving node is ejected before a build,
// picks fail with ErrAllEjected; when the schedule's nodes are all ejected
// but others came back since it was built, picks return those.
func TestAllPendingEjected(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=2 c=0"), WithClock(clk.Now), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := b.Eject(id, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Next(); !errors.Is(err, ErrAllEjected) {
		t.Fatalf("Next with every node ejected: %v", err)
	}
	if _, err := b.NextExcluding(nil); !errors.Is(err, ErrAllEjected) {
		t.Fatalf("NextExcluding with every node ejected: %v", err)
	}
	if err := b.Restore("b"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Next(); err != nil || n.ID != "b" {
		t.Fatalf("after restoring b: %v, %v", n, err)
	}
	b.builds.Wait()

	// a and b are out in the schedule; their ejections end, and c and d,
	// all the schedule has, are ejected before a build.
	b, err = New(nodesOf("a=1 b=1 c=1 d=1"), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := b.Eject(id, clk.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	b.Sync()
	clk.Advance(2 * time.Second)
	b.buildMu.Lock() // no build: a and b are back only through the fallback
	for _, id := range []string{"c", "d"} {
		if err := b.Eject(id, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		n, err := b.Next()
		if err != nil || (n.ID != "a" && n.ID != "b") {
			t.Fatalf("Next with a and b back, c and d ejected: %v, %v", n, err)
		}
		var tried Tried
		if n, err = b.NextExcluding(&tried); err != nil || (n.ID != "a" && n.ID != "b") {
			t.Fatalf("NextExcluding with a and b back, c and d ejected: %v, %v", n, err)
		}
	}
	if err := b.Eject("a", clk.Now().Add(time.Hour)); !errors.Is(err, ErrEjectLimit) {
		t.Fatalf("Eject(a) with c and d out: %v, want ErrEjectLimit", err)
	}
	b.buildMu.Unlock()
	b.builds.Wait()

	// A node the build left out, restored and ejected again is out again.
	b, err = New(nodesOf("a=1 b=1 c=1 d=1"), WithClock(clk.Now), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := b.Eject(id, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	b.Sync()
	b.buildMu.Lock()
	for _, step := range []func() error{
		func() error { return b.Restore("a") },
		func() error { return b.Eject("a", clk.Now().Add(time.Hour)) },
		func() error { return b.Eject("c", clk.Now().Add(time.Hour)) },
		func() error { return b.Eject("d", clk.Now().Add(time.Hour)) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := b.Next(); !errors.Is(err, ErrAllEjected) {
		t.Fatalf("Next with every node ejected again: %v, %v", n, err)
	}
	b.buildMu.Unlock()
	b.builds.Wait()
}

// builders returns how many goroutines run a background build, waiting
// (a bounded number of yields) for those of other tests to end.
func builders() int {
	buf := make([]byte, 1<<20)
	n := 0
	for range 1000 {
		k := runtime.Stack(buf, true)
		n = strings.Count(string(buf[:k]), "balancer.(*Balancer).background")
		if n == 0 {
			break
		}
		runtime.Gosched()
	}
	return n
}

// TestBuildGoroutinesEnd: background builds run only while there is work;
// once the schedule is current no build goroutine is left.
func TestBuildGoroutinesEnd(t *testing.T) {
	clk := clocktest.New()
	nodes := benchNodes(300)
	b, err := New(nodes, WithClock(clk.Now), WithSlowStart(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	started := 0
	for k := range 50 {
		id := nodes[k*7%len(nodes)].ID
		if err := b.Eject(id, clk.Now().Add(time.Duration(k%5)*time.Second)); err != nil && !errors.Is(err, ErrEjectLimit) {
			t.Fatal(err)
		}
		if b.building.Load() {
			started++
		}
		clk.Advance(300 * time.Millisecond)
		for range 20 {
			b.Next()
		}
		if k%7 == 0 {
			b.Restore(id)
		}
	}
	if started == 0 {
		t.Fatal("no background build ran")
	}
	b.builds.Wait()
	if b.building.Load() {
		t.Fatal("building still set with no goroutine")
	}
	if n := builders(); n != 0 {
		t.Fatalf("%d build goroutines left", n)
	}
	// A build that is due starts again on the next pick and ends too.
	clk.Advance(time.Hour)
	b.Next()
	b.builds.Wait()
	if !b.upToDate() {
		t.Fatal("schedule not current after the build a pick started")
	}
	if n := builders(); n != 0 {
		t.Fatalf("%d build goroutines left after the second build", n)
	}
}
