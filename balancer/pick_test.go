package balancer

import (
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
)

// TestStartOutOfRangeEmpty: WithStart(0) names a node, so an empty set
// rejects it.
func TestStartOutOfRangeEmpty(t *testing.T) {
	if _, err := New(nil, WithStart(0)); err == nil || err.Error() != "balancer: start index 0 out of range for 0 nodes" {
		t.Fatalf("New(nil, WithStart(0)) error = %v", err)
	}
}

// TestNextExcludingFirstPicks: a fresh Tried per call follows the cycle
// from its first position, as Next does.
func TestNextExcludingFirstPicks(t *testing.T) {
	b, err := New(nodesOf("a=1 b=1 c=1 d=1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pickIDs(t, b, 8, true), " "); got != "a b c d a b c d" {
		t.Fatalf("NextExcluding with a fresh Tried: %s", got)
	}
}

// TestNextExcludingStartsDueBuild: a NextExcluding that finds the
// schedule's deadline passed starts the build, as Next does.
func TestNextExcludingStartsDueBuild(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1 c=1 d=1"), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ejectAll(t, b, []string{"a"})
	b.Sync()
	b.builds.Wait()
	before := b.cur.Load()
	clk.Advance(2 * time.Hour) // a's ejection (one hour) is over
	if _, err := b.NextExcluding(new(Tried)); err != nil {
		t.Fatal(err)
	}
	b.builds.Wait()
	if b.cur.Load() == before || !b.upToDate() {
		t.Fatal("NextExcluding after the deadline started no build")
	}
	checkShares(t, pickIDs(t, b, 8, true), wantShares("a=1 b=1 c=1 d=1", nil, 8), 0)
}

// TestFallbackToNodesBack: when the schedule serves nothing (all ejected
// when it was built) and nodes it left out came back, picks choose among
// those by configured weight, position c of their total; a retry whose
// schedule nodes are all tried does the same.
func TestFallbackToNodesBack(t *testing.T) {
	b, err := New(nodesOf("a=1 b=2 c=1"), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	ejectAll(t, b, []string{"a", "b", "c"})
	b.Sync()
	release := hold(t, b)
	for _, id := range []string{"a", "b"} {
		if err := b.Restore(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(pickIDs(t, b, 6, false), " "); got != "a b b a b b" {
		t.Errorf("Next with a and b back, the schedule built with none: %s", got)
	}
	release()

	b, err = New(nodesOf("a=1 b=1 c=1 d=1"))
	if err != nil {
		t.Fatal(err)
	}
	ejectAll(t, b, []string{"a"})
	b.Sync()
	release = hold(t, b)
	defer release()
	if err := b.Restore("a"); err != nil {
		t.Fatal(err)
	}
	var tried Tried
	for _, id := range []string{"b", "c", "d"} {
		tried.Add(id)
	}
	if n, err := b.NextExcluding(&tried); err != nil || n.ID != "a" {
		t.Fatalf("retry with b, c, d tried and a restored before the build: %v, %v; want a", n.ID, err)
	}
}

// TestAllEjectedManyTried: a retry that tried many ids, none of them
// serving, while every node is ejected, gets ErrAllEjected (the check of
// the tried ids covers all of them, past the eight held inline).
func TestAllEjectedManyTried(t *testing.T) {
	b, err := New(nodesOf("a=1 b=1"), WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	ejectAll(t, b, []string{"a", "b"})
	b.Sync()
	var tried Tried
	for k := range 9 {
		tried.Add("gone-" + itoa(k))
	}
	tried.Add("a")
	if _, err := b.NextExcluding(&tried); err != ErrAllEjected {
		t.Fatalf("NextExcluding with every node ejected and 10 ids tried: %v, want %v", err, ErrAllEjected)
	}
}

// TestBuildDueAtDeadline: a pick at the very time an ejection ends starts
// the build that brings the node back.
func TestBuildDueAtDeadline(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1"), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Eject("a", clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	b.Sync()
	b.builds.Wait()
	clk.Advance(time.Second)
	b.Next()
	b.builds.Wait()
	if !b.upToDate() || b.cur.Load().weight(0) == 0 {
		t.Fatal("a pick at the end of a's ejection started no build")
	}
}
