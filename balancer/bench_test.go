package balancer

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

var benchSizes = []int{10, 1000, 100000}

// benchNodes returns n nodes with weights 1..100 drawn from a fixed seed.
func benchNodes(n int) []weights.Node {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	nodes := make([]weights.Node, n)
	for i := range nodes {
		nodes[i] = weights.Node{ID: fmt.Sprintf("10.%d.%d.%d:80", i>>16, (i>>8)&255, i&255), Weight: uint32(1 + r.IntN(100))}
	}
	return nodes
}

var sinkNode weights.Node

func BenchmarkNext(b *testing.B) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("algo=%v/nodes=%d", algo, n), func(b *testing.B) {
				bl, err := New(benchNodes(n), WithAlgorithm(algo))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					sinkNode, _ = bl.Next()
				}
			})
		}
	}
}

func BenchmarkNextParallel(b *testing.B) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("algo=%v/nodes=%d", algo, n), func(b *testing.B) {
				bl, err := New(benchNodes(n), WithAlgorithm(algo))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var local weights.Node
					for pb.Next() {
						local, _ = bl.Next()
					}
					_ = local
				})
			})
		}
	}
}

// BenchmarkNextExcluding: a retry whose first choice was tried.
func BenchmarkNextExcluding(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			bl, err := New(benchNodes(n))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var tried Tried
				first, _ := bl.NextExcluding(&tried)
				sinkNode, _ = bl.NextExcluding(&tried)
				_ = first
			}
		})
	}
}

// BenchmarkNextExcludingTried is a retry after its first node failed, when
// that node holds three quarters of the weight: most picks land on it and
// take the choice among the untried nodes.
func BenchmarkNextExcludingTried(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := benchNodes(n)
			var rest uint32
			for _, nd := range nodes[1:] {
				rest += nd.Weight
			}
			nodes[0].Weight = 3 * rest
			bl, err := New(nodes)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var tried Tried
				tried.Add(nodes[0].ID)
				sinkNode, _ = bl.NextExcluding(&tried)
			}
		})
	}
}

// floorCtr is the floor's counter, on a cache line of its own like a
// schedule's.
var floorCtr struct {
	_ [64]byte
	atomic.Uint64
	_ [56]byte
}

// BenchmarkFloor is the floor the pick benchmarks are held against: one
// atomic add and one load from a slice of nodes. nodes=N reads a table of at
// least N nodes (the next power of two, so the index is a mask), so the floor
// pays the same cache misses as a pick over N nodes; "serial" and "parallel"
// use 1,024 nodes.
func BenchmarkFloor(b *testing.B) {
	run := func(b *testing.B, n int, parallel bool) {
		size := 1
		for size < n {
			size <<= 1
		}
		table := make([]weights.Node, size)
		copy(table, benchNodes(n))
		mask := uint64(size - 1)
		b.ReportAllocs()
		if !parallel {
			for b.Loop() {
				sinkNode = table[floorCtr.Add(1)&mask]
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			var local weights.Node
			for pb.Next() {
				local = table[floorCtr.Add(1)&mask]
			}
			_ = local
		})
	}
	b.Run("serial", func(b *testing.B) { run(b, 1024, false) })
	b.Run("parallel", func(b *testing.B) { run(b, 1024, true) })
	for _, n := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprintf("serial/nodes=%d", n), func(b *testing.B) { run(b, n, false) })
		b.Run(fmt.Sprintf("parallel/nodes=%d", n), func(b *testing.B) { run(b, n, true) })
	}
}

// BenchmarkNaiveSmooth is the O(n)-per-pick smooth WRR, for contrast.
func BenchmarkNaiveSmooth(b *testing.B) {
	n := 1000
	nodes := benchNodes(n)
	ws := make([]uint32, n)
	for i, nd := range nodes {
		ws[i] = nd.Weight
	}
	b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
		r := newRefSmooth(ws)
		b.ReportAllocs()
		for b.Loop() {
			sinkNode = nodes[r.next()]
		}
	})
}

// BenchmarkBuild measures New: indexing the ids and building the schedule.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		nodes := benchNodes(n)
		for _, algo := range []Algorithm{Smooth, Resty} {
			b.Run(fmt.Sprintf("nodes=%d/algo=%v", n, algo), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := New(nodes, WithAlgorithm(algo)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEjectRestore measures one Eject and one Restore per op. Neither
// builds a schedule: each starts (or finds running) a background build,
// which here runs all the time on the other core.
func BenchmarkEjectRestore(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		nodes := benchNodes(n)
		for _, algo := range []Algorithm{Smooth, Resty} {
			b.Run(fmt.Sprintf("nodes=%d/algo=%v", n, algo), func(b *testing.B) {
				bl, err := New(nodes, WithAlgorithm(algo))
				if err != nil {
					b.Fatal(err)
				}
				until := time.Now().Add(time.Hour)
				b.ReportAllocs()
				for b.Loop() {
					if err := bl.Eject(nodes[0].ID, until); err != nil {
						b.Fatal(err)
					}
					if err := bl.Restore(nodes[0].ID); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				bl.builds.Wait()
			})
		}
	}
}

// BenchmarkNextPending: Next between an ejection and the build that leaves
// the node out (the build is held off): one node in ten is ejected, so about
// a tenth of the picks land on a listed node and take the pending path.
func BenchmarkNextPending(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := benchNodes(n)
			bl, err := New(nodes)
			if err != nil {
				b.Fatal(err)
			}
			bl.buildMu.Lock() // no build swaps in a schedule without the ejected nodes
			until := time.Now().Add(time.Hour)
			for i := 0; i < n; i += 10 {
				if err := bl.Eject(nodes[i].ID, until); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				sinkNode, _ = bl.Next()
			}
			b.StopTimer()
			bl.buildMu.Unlock()
			bl.builds.Wait()
		})
	}
}
