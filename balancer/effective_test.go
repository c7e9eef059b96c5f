package balancer

import (
	"errors"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
)

// TestEffective pins effective's answers at the edges of an ejection and of
// each slow-start step, from the documented behaviour: an ejection holds
// until its end (exclusive); a ramp over window W rises in ten steps, step
// k (k = 0..9, from k*W/10 into the window) at weight*(k+1)/11, at least 1,
// until the next step's start, then the full weight.
func TestEffective(t *testing.T) {
	const start, slow = 1_000, 10_000
	for _, tc := range []struct {
		name       string
		w          uint32
		end, start int64
		ramping    bool
		now, slow  int64
		eff        uint32
		state      State
		next       int64
	}{
		{"drained, even when ejected", 0, 5_000, never, false, 0, 0, 0, Drained, never},
		{"serving", 7, never, never, false, 0, 0, 7, Serving, never},
		{"ejected until its end", 7, 5_000, never, false, 4_999, 0, 0, Ejected, 5_000},
		{"back at its end", 7, 5_000, never, false, 5_000, 0, 7, Serving, never},
		{"ejected, then ramping: the ejection first", 7, 5_000, start, true, 4_999, slow, 0, Ejected, 5_000},
		{"ramp before its start", 110, never, start, true, start - 5, slow, 10, Ramping, start + 1_000},
		{"ramp, step 0", 110, never, start, true, start, slow, 10, Ramping, start + 1_000},
		{"ramp, end of step 0", 110, never, start, true, start + 999, slow, 10, Ramping, start + 1_000},
		{"ramp, step 1", 110, never, start, true, start + 1_000, slow, 20, Ramping, start + 2_000},
		{"ramp, step 5", 110, never, start, true, start + 5_500, slow, 60, Ramping, start + 6_000},
		{"ramp, last step", 110, never, start, true, start + 9_999, slow, 100, Ramping, start + 10_000},
		{"ramp over", 110, never, start, true, start + 10_000, slow, 110, Serving, never},
		{"ramp without a window", 110, never, start, true, start, 0, 110, Serving, never},
		{"not ramping", 110, never, start, false, start, slow, 110, Serving, never},
		{"light node ramps from 1", 1, never, start, true, start, slow, 1, Ramping, start + 1_000},
		// A window too short for ten distinct steps: the next change is
		// never now or earlier.
		{"short window", 110, never, start, true, start, 3, 10, Ramping, start + 1},
		// A window so long that the time just before its end reads as the
		// end in float64: still the last step, not the full weight.
		{"long window, last instant", 110, never, start, true, start + 1<<60 - 1, 1 << 60, 100, Ramping, start + 1<<60},
	} {
		eff, st, next := effective(tc.w, tc.end, tc.start, tc.ramping, tc.now, tc.slow)
		if eff != tc.eff || st != tc.state || next != tc.next {
			t.Errorf("%s: effective = %d, %v, %d; want %d, %v, %d", tc.name, eff, st, next, tc.eff, tc.state, tc.next)
		}
	}
}

// TestEjectionEndsAtItsInstant: an ejection until T is over at T itself,
// not one tick later: at T the node serves and no longer counts against
// the ejection limit, so another node may be ejected at once.
func TestEjectionEndsAtItsInstant(t *testing.T) {
	clk := clocktest.New()
	b, err := New(nodesOf("a=1 b=1"), WithClock(clk.Now), WithMaxEjectedPercent(50))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Eject("a", clk.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10*time.Second - 1)
	if err := b.Eject("b", clk.Now().Add(time.Second)); !errors.Is(err, ErrEjectLimit) {
		t.Fatalf("a tick before a's ejection ends, ejecting b: %v, want ErrEjectLimit", err)
	}
	clk.Advance(1)
	if st, _ := b.State("a"); st.State != Serving {
		t.Fatalf("a at the end of its ejection: %v, want serving", st.State)
	}
	if err := b.Eject("b", clk.Now().Add(time.Second)); err != nil {
		t.Fatalf("at the end of a's ejection, ejecting b: %v", err)
	}
}
