//go:build e2e

package e2e

import (
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMeasure prints the figures quoted in bench/README.md, measured on this
// machine with the built safewrr binary: requests per second from 8
// concurrent clients straight to a backend and through safewrr proxy (same
// run), and the time from a bad registry write to its reject showing at
// /-/safewrr, with the poll loop (written just after a poll: the worst case)
// and with SIGHUP. It asserts only that the
// work was done, never how fast.
//
//	go test -tags e2e -count 1 -run Measure -v ./e2e
func TestMeasure(t *testing.T) {
	bs, _ := startBackends(t, "A", "B", "C")
	reg := filepath.Join(tempDir(t), "registry.json")
	good := registryMap(bs, "5", "3", "2")
	writeFile(t, reg, good)
	p := startSafewrrProxy(t, reg, "--poll", "100ms", "--slow-start", "0")

	t.Run("throughput", func(t *testing.T) {
		const n, clients = 8000, 8
		rate := func(url string) (float64, time.Duration) {
			c := client(10*time.Second, true)
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for w := 0; w < clients; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= n {
						if code, _, err := get(c, url); err != nil || code != 200 {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			if f := failed.Load(); f != 0 {
				t.Fatalf("%d of %d requests to %s failed", f, n, url)
			}
			return n / el.Seconds(), el / n * clients
		}
		// Warm both paths up, then measure each twice, alternating.
		rate(bs[0].srv.URL)
		rate(p.url("/"))
		var direct, proxied []float64
		var dLat, pLat []time.Duration
		for i := 0; i < 2; i++ {
			r, l := rate(bs[0].srv.URL)
			direct, dLat = append(direct, r), append(dLat, l)
			r, l = rate(p.url("/"))
			proxied, pLat = append(proxied, r), append(pLat, l)
		}
		d, pr := slices.Max(direct), slices.Max(proxied)
		t.Logf("8 clients, keep-alive, %d requests per run (best of 2):", n)
		t.Logf("  direct to a backend: %8.0f req/s (%v per request per client)", d, slices.Min(dLat).Round(time.Microsecond))
		t.Logf("  through safewrr proxy: %6.0f req/s = picks/s (%v per request per client)", pr, slices.Min(pLat).Round(time.Microsecond))
		t.Logf("  proxy overhead: %v per request per client", (slices.Min(pLat) - slices.Min(dLat)).Round(time.Microsecond))
	})

	t.Run("reject latency", func(t *testing.T) {
		const trials = 10
		bad := registryMap(bs, "5", "3", `"0"`)
		measure := func(hup bool) []time.Duration {
			var out []time.Duration
			for i := 0; i < trials; i++ {
				writeFile(t, reg, good)
				p.pollNow(t)
				st := p.status(t, -1)
				start := time.Now()
				writeFile(t, reg, bad)
				if hup {
					st = p.pollNow(t)
				}
				// Wait poll by poll (long-polling /-/safewrr, at most 50).
				for j := 0; j < 50 && len(st.Rejects) == 0; j++ {
					st = p.status(t, st.Polls)
				}
				if len(st.Rejects) == 0 || st.Rejects[0].Reason != "string-zero" {
					t.Fatalf("trial %d: reject not visible: %+v", i, st.Rejects)
				}
				out = append(out, time.Since(start))
			}
			slices.Sort(out)
			return out
		}
		show := func(name string, d []time.Duration) {
			t.Logf("  %-22s min %v, median %v, max %v (%d trials)", name, d[0].Round(10*time.Microsecond),
				d[len(d)/2].Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond), len(d))
		}
		t.Log("time from writing a registry with \"0\" to its reject at /-/safewrr:")
		// Each trial writes just after a poll, so this is the worst case:
		// one poll interval plus the time to read, decode and apply.
		show("--poll 100ms (worst):", measure(false))
		show("SIGHUP (poll at once):", measure(true))
	})
	p.stop(t)
}
