package caddywrr

import (
	"testing"
)

// TestRetryAvoidsTried: Select on the same request again (Caddy's retry)
// returns an upstream not tried yet for that request while one is left,
// and one of the tried ones after that.
func TestRetryAvoidsTried(t *testing.T) {
	pool, ws := benchPool(4)
	p := selectors(t, ws)["safewrr"]
	for round := 0; round < 20; round++ {
		r := requestWithVars()
		seen := map[string]bool{}
		for attempt := 0; attempt < len(pool); attempt++ {
			u := p.Select(pool, r, nil)
			if u == nil {
				t.Fatalf("round %d attempt %d: no upstream", round, attempt)
			}
			if seen[u.Dial] {
				t.Fatalf("round %d attempt %d: %s again while %d were untried", round, attempt, u.Dial, len(pool)-len(seen))
			}
			seen[u.Dial] = true
		}
		if u := p.Select(pool, r, nil); u == nil || !seen[u.Dial] {
			t.Fatalf("round %d: after every upstream was tried, Select = %v; want one of them", round, u)
		}
	}
	// A new request starts afresh: the shares over whole cycles are exact.
	counts := map[string]int{}
	for range 10 * 10 { // weights 1+2+3+4 = 10 per cycle
		counts[p.Select(pool, requestWithVars(), nil).Dial]++
	}
	for i, u := range pool {
		if counts[u.Dial] != 10*ws[i] {
			t.Errorf("%s: %d picks, want %d", u.Dial, counts[u.Dial], 10*ws[i])
		}
	}
}
