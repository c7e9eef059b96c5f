package balancer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
)

// TestNodeStateJSON: States encode with snake_case names like feed.Status,
// the state as its name, no zero times, and decode back to the same
// values.
func TestNodeStateJSON(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=10 b=0 c=10 d=10"), WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(nodesOf("a=10 b=0 c=10 d=10 e=10")); err != nil {
		t.Fatal(err)
	}
	if err := b.Eject("c", clk.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	states := b.States()
	got, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"id":"a","weight":10,"effective":10,"state":"serving"},` +
		`{"id":"b","weight":0,"effective":0,"state":"drained"},` +
		`{"id":"c","weight":10,"effective":0,"state":"ejected","ejected_until":"2021-07-13T22:52:30Z"},` +
		`{"id":"d","weight":10,"effective":10,"state":"serving"},` +
		`{"id":"e","weight":10,"effective":1,"state":"ramping","ramp_end":"2021-07-13T22:52:10Z"}` +
		`]`
	if string(got) != want {
		t.Fatalf("json.Marshal(States()) =\n%s\nwant\n%s", got, want)
	}
	var back []NodeState
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, states) {
		t.Fatalf("decoded %+v\nwant %+v", back, states)
	}
	for _, bad := range []string{`"Serving"`, `"unknown"`, `""`, `1`} {
		var s State
		err := json.Unmarshal([]byte(bad), &s)
		if err == nil || (bad != `1` && !strings.Contains(err.Error(), "balancer: unknown node state")) {
			t.Errorf("json.Unmarshal(%s) into a State: %v, want an error naming the state", bad, err)
		}
	}
	for _, st := range []State{-1, 4, 100} {
		if got, err := st.MarshalText(); err != nil || string(got) != "unknown" {
			t.Errorf("State(%d).MarshalText() = %q, %v; want unknown", int(st), got, err)
		}
	}
	for _, st := range []State{Serving, Drained, Ejected, Ramping} {
		var s State
		if err := s.UnmarshalText([]byte(st.String())); err != nil || s != st {
			t.Errorf("UnmarshalText(%q) = %v, %v", st, s, err)
		}
	}
}

// TestStatesAgreeWithState: States (which takes a short cut when nothing
// is ejected or ramping) reports every member as State does, before and
// after an ejection, a restore with slow start and the ramp's end.
func TestStatesAgreeWithState(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=10 b=0 c=3 d=7"), WithClock(clk.Now), WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want ...State) {
		t.Helper()
		states := b.States()
		for i, st := range states {
			one, ok := b.State(st.ID)
			if !ok || one != st {
				t.Fatalf("%s: States()[%d] = %+v, State(%q) = %+v, %v", when, i, st, st.ID, one, ok)
			}
			if st.State != want[i] {
				t.Fatalf("%s: %s is %v, want %v", when, st.ID, st.State, want[i])
			}
			if st.State == Serving && st.Effective != st.Weight || st.State == Drained && st.Effective != 0 {
				t.Fatalf("%s: %+v", when, st)
			}
		}
	}
	check("new", Serving, Drained, Serving, Serving)
	if err := b.Eject("c", clk.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	check("c ejected", Serving, Drained, Ejected, Serving)
	if err := b.Restore("c"); err != nil {
		t.Fatal(err)
	}
	check("c restored", Serving, Drained, Ramping, Serving)
	clk.Advance(10 * time.Second)
	check("ramp over", Serving, Drained, Serving, Serving)
}
