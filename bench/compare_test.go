package bench

import (
	"context"
	"fmt"
	randv1 "math/rand"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-kratos/kratos/v2/registry"
	"github.com/go-kratos/kratos/v2/selector"
	"github.com/go-kratos/kratos/v2/selector/node/direct"
	"github.com/go-kratos/kratos/v2/selector/wrr"
	"github.com/mroth/weightedrand/v2"
	"github.com/smallnest/weighted"

	"github.com/safewrr/safewrr/weights"
)

// picker is what every library is reduced to: the id of the next node.
type picker interface {
	Next() string
}

// lib is one library under comparison.
type lib struct {
	name string
	// sizes the library is benchmarked at; a size left out is one where the
	// library takes unreasonable time or memory.
	sizes []int
	// concurrent says whether the library's picker may be shared between
	// goroutines as is. When false the parallel benchmark wraps it in a
	// sync.Mutex added here.
	concurrent bool
	// smooth says whether the library claims nginx's smooth weighted round
	// robin sequence (checked by TestSequenceMatchesNginx).
	smooth bool
	// build makes a picker over nodes, in order.
	build func(nodes []weights.Node) (picker, error)
	// seeded, when set, builds a deterministic picker for the sanity test
	// (random libraries only).
	seeded func(nodes []weights.Node, seed int64) (picker, error)
	// floor marks the reference row that is not a balancer (no sanity test).
	floor bool
}

var allSizes = []int{10, 1000, 100000}

// libs lists the libraries in table order; safewrr is put first by
// safewrr_test.go.
var libs = []lib{
	{
		name:       "smallnest-weighted",
		sizes:      allSizes,
		concurrent: false, // SW keeps per-item current weights and no lock
		smooth:     true,
		build:      newSmallnest,
	},
	{
		name:       "mroth-weightedrand",
		sizes:      allSizes,
		concurrent: true, // Pick uses math/rand's global source
		smooth:     false,
		build:      newMroth,
		seeded:     newMrothSeeded,
	},
	{
		name:       "kratos-wrr",
		sizes:      allSizes,
		concurrent: true, // Balancer.Pick takes its own sync.Mutex
		smooth:     true,
		build:      newKratos,
	},
	{
		name:       "floor",
		sizes:      allSizes,
		concurrent: true,
		floor:      true,
		build:      newFloor,
	},
}

// makeNodes returns n nodes with ids "10.x.y.z:80" and weights 1..100 drawn
// from a fixed seed: the same sets as the balancer package's own benchmarks.
func makeNodes(n int) []weights.Node {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	nodes := make([]weights.Node, n)
	for i := range nodes {
		nodes[i] = weights.Node{
			ID:     fmt.Sprintf("10.%d.%d.%d:80", i>>16, (i>>8)&255, i&255),
			Weight: uint32(1 + r.IntN(100)),
		}
	}
	return nodes
}

// smallnest-weighted: the SW (smooth weighted) type.

type smallnestPicker struct{ sw *weighted.SW }

func newSmallnest(nodes []weights.Node) (picker, error) {
	sw := &weighted.SW{}
	for _, n := range nodes {
		sw.Add(n.ID, int(n.Weight))
	}
	return smallnestPicker{sw}, nil
}

func (p smallnestPicker) Next() string { return p.sw.Next().(string) }

// mroth-weightedrand: weighted random choice by binary search over a prefix
// sum. Not round robin: proportions hold on average, not per cycle.

type mrothPicker struct {
	c *weightedrand.Chooser[string, uint32]
}

func mrothChoices(nodes []weights.Node) []weightedrand.Choice[string, uint32] {
	cs := make([]weightedrand.Choice[string, uint32], len(nodes)) // NewChooser sorts its argument
	for i, n := range nodes {
		cs[i] = weightedrand.NewChoice(n.ID, n.Weight)
	}
	return cs
}

func newMroth(nodes []weights.Node) (picker, error) {
	c, err := weightedrand.NewChooser(mrothChoices(nodes)...)
	if err != nil {
		return nil, err
	}
	return mrothPicker{c}, nil
}

func (p mrothPicker) Next() string { return p.c.Pick() }

type mrothSeededPicker struct {
	c   *weightedrand.Chooser[string, uint32]
	rng *randv1.Rand // PickSource takes a math/rand source
}

func newMrothSeeded(nodes []weights.Node, seed int64) (picker, error) {
	c, err := weightedrand.NewChooser(mrothChoices(nodes)...)
	if err != nil {
		return nil, err
	}
	return mrothSeededPicker{c, randv1.New(randv1.NewSource(seed))}, nil
}

// Next uses PickSource, deprecated upstream in favour of Pick, because a
// seeded source keeps the sanity test deterministic.
func (p mrothSeededPicker) Next() string { return p.c.PickSource(p.rng) }

// kratos-wrr: go-kratos selector/wrr, which picks among the
// selector.WeightedNode values a kratos selector hands it. The nodes are
// kratos' own "direct" weighted nodes, as a kratos client builds them, with
// the weight in the instance metadata.

type kratosPicker struct {
	bal   selector.Balancer
	nodes []selector.WeightedNode
}

func newKratos(nodes []weights.Node) (picker, error) {
	var nb direct.Builder
	wn := make([]selector.WeightedNode, len(nodes))
	for i, n := range nodes {
		ins := &registry.ServiceInstance{
			ID:       n.ID,
			Name:     "bench",
			Metadata: map[string]string{"weight": strconv.FormatUint(uint64(n.Weight), 10)},
		}
		wn[i] = nb.Build(selector.NewNode("http", n.ID, ins))
	}
	var bb wrr.Builder
	return kratosPicker{bal: bb.Build(), nodes: wn}, nil
}

func (p kratosPicker) Next() string {
	n, _, err := p.bal.Pick(context.Background(), p.nodes)
	if err != nil {
		panic(err)
	}
	return n.Address()
}

// floor is not a balancer: one atomic add and one slice load, ignoring the
// weights. It is the cost below which no shared round-robin picker can go,
// measured in the same run as the libraries.

type floorPicker struct {
	ctr *atomic.Uint64
	ids []string
}

func newFloor(nodes []weights.Node) (picker, error) {
	size := 1
	for size < len(nodes) {
		size *= 2
	}
	ids := make([]string, size) // a power of two, so a mask replaces the modulo
	for i := range ids {
		ids[i] = nodes[i%len(nodes)].ID
	}
	return floorPicker{new(atomic.Uint64), ids}, nil
}

func (p floorPicker) Next() string { return p.ids[p.ctr.Add(1)&uint64(len(p.ids)-1)] }

// lockedPicker serialises a picker that is not safe for concurrent use.
type lockedPicker struct {
	mu sync.Mutex
	p  picker
}

func (l *lockedPicker) Next() string {
	l.mu.Lock()
	id := l.p.Next()
	l.mu.Unlock()
	return id
}

var sink string

// BenchmarkNext measures one pick from one goroutine.
func BenchmarkNext(b *testing.B) {
	for _, l := range libs {
		for _, n := range l.sizes {
			nodes := makeNodes(n)
			b.Run(fmt.Sprintf("lib=%s/nodes=%d", l.name, n), func(b *testing.B) {
				p, err := l.build(nodes)
				if err != nil {
					b.Fatal(err)
				}
				p.Next() // warm up: kratos fills its map of current weights on the first pick
				b.ReportAllocs()
				var id string
				for b.Loop() {
					id = p.Next()
				}
				sink = id
			})
		}
	}
}

// BenchmarkNextParallel measures picks from GOMAXPROCS goroutines sharing one
// picker. Libraries that are not safe for concurrent use are wrapped in a
// mutex (lib name suffix "+mutex").
func BenchmarkNextParallel(b *testing.B) {
	for _, l := range libs {
		name := l.name
		if !l.concurrent {
			name += "+mutex"
		}
		for _, n := range l.sizes {
			nodes := makeNodes(n)
			b.Run(fmt.Sprintf("lib=%s/nodes=%d", name, n), func(b *testing.B) {
				p, err := l.build(nodes)
				if err != nil {
					b.Fatal(err)
				}
				if !l.concurrent {
					p = &lockedPicker{p: p}
				}
				p.Next()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var id string
					for pb.Next() {
						id = p.Next()
					}
					_ = id
				})
			})
		}
	}
}
