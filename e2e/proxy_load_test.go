//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// registryMap renders a registry payload {"addr": weight, ...} from
// backends and raw JSON weight texts, in order.
func registryMap(bs []*backend, raw ...string) string {
	var parts []string
	for i, b := range bs {
		parts = append(parts, fmt.Sprintf("%q: %s", b.addr(), raw[i]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// TestProxyUnderRegistryFlips runs safewrr proxy in front of three loopback
// backends under a bounded load (20,000 requests from 8 clients) while the
// registry file flips one weight to "0", then to NaN, then to text that is
// not JSON, then to an empty set, then back. No request may fail; between
// flips each backend's share matches the weights in force, and a backend
// that is out gets nothing.
func TestProxyUnderRegistryFlips(t *testing.T) {
	const (
		total   = 20_000
		clients = 8
	)
	bs, _ := startBackends(t, "A", "B", "C")
	reg := filepath.Join(tempDir(t), "registry.json")
	writeFile(t, reg, registryMap(bs, "5", "3", "2"))
	p := startSafewrrProxy(t, reg, "--poll", "1h", "--slow-start", "0")

	type phase struct {
		name    string
		payload string
		weights [3]int // in force after the flip
		check   func(t *testing.T, st status)
	}
	rejected := func(reason string) func(t *testing.T, st status) {
		return func(t *testing.T, st status) {
			if st.LastPoll != "applied" || len(st.Rejects) != 1 || st.Rejects[0].Reason != reason {
				t.Errorf("status after the flip: last poll %q, rejects %+v; want applied with one %s", st.LastPoll, st.Rejects, reason)
			}
		}
	}
	refused := func(stage string) func(t *testing.T, st status) {
		return func(t *testing.T, st status) {
			if st.LastPoll != "refused" || st.Refused == nil || st.Refused.Stage != stage {
				t.Errorf("status after the flip: last poll %q, refused %+v; want refused at %s", st.LastPoll, st.Refused, stage)
			}
		}
	}
	phases := []phase{
		{"valid", "", [3]int{5, 3, 2}, nil},
		{`C is "0"`, registryMap(bs, "5", "3", `"0"`), [3]int{5, 3, 0}, rejected("string-zero")},
		{"B is NaN", registryMap(bs, "5", "NaN", "2"), [3]int{5, 0, 2}, rejected("nan")},
		{"not JSON", fmt.Sprintf(`{%q: 5, %q: NaN, %q: 2,`, bs[0].addr(), bs[1].addr(), bs[2].addr()), [3]int{5, 0, 2}, refused("decode")},
		{"empty", `{}`, [3]int{5, 0, 2}, refused("balancer")},
		{"back", registryMap(bs, "5", "3", "2"), [3]int{5, 3, 2}, func(t *testing.T, st status) {
			if st.LastPoll != "applied" || len(st.Nodes) != 3 || len(st.Rejects) != 0 {
				t.Errorf("status after the flip: last poll %q, %d nodes, rejects %+v", st.LastPoll, len(st.Nodes), st.Rejects)
			}
		}},
	}
	per := total / len(phases)

	// One record per request: which backend answered and when the request
	// was sent and answered, so that each can be placed between flips.
	type record struct {
		backend    string
		sent, done time.Time
	}
	records := make([]record, total+1)
	flipped := make([][2]time.Time, len(phases)) // [started, confirmed]
	flipped[0] = [2]time.Time{time.Now(), time.Now()}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var next, failed atomic.Int64
	var firstErr sync.Once
	c := client(10*time.Second, true)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > total {
					return
				}
				if k := int(i-1) / per; k > 0 && k < len(phases) && int(i-1)%per == 0 {
					// This client flips the registry while the others keep
					// sending; the flip counts as done once /-/safewrr shows
					// the poll that read it.
					start := time.Now()
					if err := writeFileErr(reg, phases[k].payload); err != nil {
						t.Errorf("flip %d: %v", k, err)
						cancel()
						return
					}
					st, err := p.pollNowErr()
					if err != nil {
						t.Errorf("flip %d: %v", k, err)
						cancel()
						return
					}
					flipped[k] = [2]time.Time{start, time.Now()}
					t.Logf("flip %d (%s) at request %d: generation %d, last poll %s %s", k, phases[k].name, i, st.Generation, st.LastPoll, st.LastError)
					phases[k].check(t, st)
				}
				sent := time.Now()
				code, body, err := get(c, p.url("/load"))
				records[i] = record{backend: body, sent: sent, done: time.Now()}
				if err != nil || code != 200 {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("request %d: status %d, body %q, error %v", i, code, body, err) })
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("load did not finish within its time limit: %v", ctx.Err())
	}
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed", n, total)
	}

	// Requests sent after a flip was confirmed and answered before the next
	// flip started were picked under that phase's weights.
	names := map[string]int{"A": 0, "B": 1, "C": 2}
	for k, ph := range phases {
		from := flipped[k][1]
		to := time.Now().Add(time.Hour)
		if k+1 < len(phases) {
			to = flipped[k+1][0]
		}
		var got [3]int
		n := 0
		for _, r := range records[1:] {
			if r.sent.After(from) && r.done.Before(to) {
				got[names[r.backend]]++
				n++
			}
		}
		sum := ph.weights[0] + ph.weights[1] + ph.weights[2]
		var ideal [3]float64
		for j := range ideal {
			ideal[j] = float64(n) * float64(ph.weights[j]) / float64(sum)
		}
		t.Logf("phase %d %-10s %5d requests: A=%d B=%d C=%d (ideal %.0f %.0f %.0f)", k, ph.name, n, got[0], got[1], got[2], ideal[0], ideal[1], ideal[2])
		if n < per/2 {
			t.Errorf("phase %d: only %d requests fell between flips", k, n)
		}
		for j := range got {
			// Smooth WRR keeps every window within a few picks of the
			// ideal; the requests in flight across the flips (at most 8 at
			// each end) add to that.
			if ph.weights[j] == 0 && got[j] != 0 {
				t.Errorf("phase %d (%s): backend %d got %d requests, want none", k, ph.name, j, got[j])
			}
			if d := float64(got[j]) - ideal[j]; d > 2*clients+3 || d < -(2*clients+3) {
				t.Errorf("phase %d (%s): backend %d got %d requests, ideal %.1f", k, ph.name, j, got[j], ideal[j])
			}
		}
	}
	p.stop(t)
}
