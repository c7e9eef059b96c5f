package balancer

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// unfriendlyNodes returns n nodes with valid but unfriendly weights: drawn
// from 1..260 (about 260 distinct values, about 130 per node), so the gcd
// is 1 and the cycle is as long as the total weight. For 1,000 nodes the
// cycle (about 130,000 picks) still fits an exact table, the costliest
// schedule to build (Smooth: O(cycle * distinct weights)).
func unfriendlyNodes(n int) []weights.Node {
	r := rand.New(rand.NewPCG(uint64(n), 260))
	nodes := make([]weights.Node, n)
	for i := range nodes {
		nodes[i] = weights.Node{ID: fmt.Sprintf("10.%d.%d.%d:80", i>>16, (i>>8)&255, i&255), Weight: uint32(1 + r.IntN(260))}
	}
	return nodes
}

// quantile returns the q-quantile of the sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(q*float64(len(sorted))), len(sorted)-1)]
}

// BenchmarkChurn: the calls a proxy makes while a node is ejected and comes
// back, on the clock of clocktest (moved by hand, so the machine's load
// does not decide what is due). Each op ejects one node for 10s (timing
// Eject), then moves the clock to the end of the ejection and to each of
// the 10 slow-start steps after it, timing the one pick that meets each
// change (it finds the schedule's deadline passed and starts a build).
// Between two timed calls the build is waited for, untimed. The metrics
// are quantiles over all ops: due-pick-p50-ns, due-pick-p90-ns,
// due-pick-max-ns, eject-p50-ns, eject-max-ns.
func BenchmarkChurn(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, algo := range []Algorithm{Smooth, Resty} {
			b.Run(fmt.Sprintf("nodes=%d/algo=%v", n, algo), func(b *testing.B) {
				nodes := unfriendlyNodes(n)
				clk := clocktest.New()
				const ejectFor, window = 10 * time.Second, 10 * time.Second
				bl, err := New(nodes, WithAlgorithm(algo), WithClock(clk.Now), WithSlowStart(window))
				if err != nil {
					b.Fatal(err)
				}
				settle := func() {
					bl.Sync()
					bl.builds.Wait()
				}
				var picks, ejects []time.Duration
				k := 0
				for b.Loop() {
					id := nodes[k*7919%n].ID
					k++
					t0 := time.Now()
					err := bl.Eject(id, clk.Now().Add(ejectFor))
					ejects = append(ejects, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					settle()
					clk.Advance(ejectFor)
					for step := range rampSteps + 1 {
						if step > 0 {
							clk.Advance(window / rampSteps)
						}
						t0 := time.Now()
						_, err := bl.Next()
						picks = append(picks, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						settle()
					}
					if st, _ := bl.State(id); st.State != Serving {
						b.Fatalf("%s is %v after its ramp", id, st.State)
					}
				}
				slices.Sort(picks)
				slices.Sort(ejects)
				b.ReportMetric(float64(quantile(picks, 0.5)), "due-pick-p50-ns")
				b.ReportMetric(float64(quantile(picks, 0.9)), "due-pick-p90-ns")
				b.ReportMetric(float64(picks[len(picks)-1]), "due-pick-max-ns")
				b.ReportMetric(float64(quantile(ejects, 0.5)), "eject-p50-ns")
				b.ReportMetric(float64(ejects[len(ejects)-1]), "eject-max-ns")
			})
		}
	}
}

// latencies is a histogram of durations with buckets about 3% wide.
type latencies struct {
	counts [64 * 32]uint64
	max    time.Duration
	total  uint64
}

func bucket(ns uint64) int {
	if ns < 32 {
		return int(ns)
	}
	l := bits.Len64(ns) // >= 6
	return (l-5)*32 + int(ns>>(l-6)&31)
}

// lower returns the smallest duration of bucket k.
func lower(k int) time.Duration {
	if k < 32 {
		return time.Duration(k)
	}
	l := k/32 + 5
	return time.Duration((32 | uint64(k%32)) << (l - 6))
}

func (h *latencies) add(d time.Duration) {
	h.counts[bucket(uint64(max(d, 0)))]++
	h.total++
	h.max = max(h.max, d)
}

func (h *latencies) merge(o *latencies) {
	for k, c := range o.counts {
		h.counts[k] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

func (h *latencies) quantile(q float64) time.Duration {
	want := uint64(q * float64(h.total))
	var acc uint64
	for k, c := range h.counts {
		acc += c
		if acc > want {
			return lower(k)
		}
	}
	return h.max
}

// BenchmarkPickLatencyChurn: two goroutines pick as fast as they can on
// the real clock and time every pick, while (churn=on) a third ejects a
// node every 20ms for 100ms (slow start 200ms, so nodes also come back
// and ramp): the picks that meet a due change or a pending ejection run
// during background builds. churn=off is the same run without the third
// goroutine: the machine's own noise. Each op is one pick; the metrics are
// quantiles over all picks of the run (p50-ns, p99.99-ns, max-ns), read
// from a histogram with buckets about 3% wide.
func BenchmarkPickLatencyChurn(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, churn := range []bool{false, true} {
			b.Run(fmt.Sprintf("nodes=%d/churn=%v", n, map[bool]string{false: "off", true: "on"}[churn]), func(b *testing.B) {
				nodes := unfriendlyNodes(n)
				bl, err := New(nodes, WithSlowStart(200*time.Millisecond))
				if err != nil {
					b.Fatal(err)
				}
				const pickers = 2
				var stop atomic.Bool
				var wg sync.WaitGroup
				var ejections int
				if churn {
					wg.Add(1)
					go func() {
						defer wg.Done()
						tick := time.NewTicker(20 * time.Millisecond)
						defer tick.Stop()
						for k := 0; !stop.Load(); k++ {
							<-tick.C
							if bl.Eject(nodes[k*7919%n].ID, time.Now().Add(100*time.Millisecond)) == nil {
								ejections++
							}
						}
					}()
				}
				hists := make([]latencies, pickers)
				per := b.N/pickers + 1
				b.ResetTimer()
				var pw sync.WaitGroup
				for p := range pickers {
					pw.Add(1)
					go func() {
						defer pw.Done()
						h := &hists[p]
						for range per {
							t0 := time.Now()
							if _, err := bl.Next(); err != nil {
								panic(err)
							}
							h.add(time.Since(t0))
						}
					}()
				}
				pw.Wait()
				b.StopTimer()
				stop.Store(true)
				wg.Wait()
				bl.builds.Wait()
				var all latencies
				for p := range hists {
					all.merge(&hists[p])
				}
				b.ReportMetric(float64(all.quantile(0.5)), "p50-ns")
				b.ReportMetric(float64(all.quantile(0.9999)), "p99.99-ns")
				b.ReportMetric(float64(all.max), "max-ns")
				b.ReportMetric(float64(ejections), "ejections")
			})
		}
	}
}

func TestLatencyBuckets(t *testing.T) {
	for _, ns := range []uint64{0, 1, 31, 32, 33, 63, 64, 100, 1000, 12345, 1 << 40} {
		k := bucket(ns)
		lo := uint64(lower(k))
		if lo > ns || (k+1 < 64*32 && uint64(lower(k+1)) <= ns) {
			t.Errorf("bucket(%d) = %d with lower %d, next lower %d", ns, k, lo, lower(k+1))
		}
	}
}
