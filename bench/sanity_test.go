package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// nginxSmooth is a plain reference of nginx's smooth weighted round robin:
// every current weight grows by its weight, the largest wins (ties to the
// first), the winner loses the total.
func nginxSmooth(nodes []weights.Node, picks int) []string {
	cur := make([]int64, len(nodes))
	var total int64
	for _, n := range nodes {
		total += int64(n.Weight)
	}
	seq := make([]string, 0, picks)
	for range picks {
		best := -1
		for i, n := range nodes {
			cur[i] += int64(n.Weight)
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		seq = append(seq, nodes[best].ID)
	}
	return seq
}

func totalWeight(nodes []weights.Node) int {
	t := 0
	for _, n := range nodes {
		t += int(n.Weight)
	}
	return t
}

// cycle returns the gcd of the weights and the length of one cycle.
func cycle(nodes []weights.Node) (g, picks int) {
	for _, n := range nodes {
		a, b := g, int(n.Weight)
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g, totalWeight(nodes) / g
}

// sanitySizes are small enough for a full cycle of the O(n) libraries.
var sanitySizes = []int{10, 100}

// TestCycleProportions checks that every library's picks are in proportion
// to the weights: exactly weight/gcd picks per cycle for the round-robin
// libraries, and within six standard deviations over many cycles for the
// random one.
func TestCycleProportions(t *testing.T) {
	for _, l := range libs {
		if l.floor {
			continue
		}
		for _, n := range sanitySizes {
			t.Run(fmt.Sprintf("lib=%s/nodes=%d", l.name, n), func(t *testing.T) {
				nodes := makeNodes(n)
				g, total := cycle(nodes)
				var p picker
				var err error
				cycles := 1
				if l.seeded != nil {
					p, err = l.seeded(nodes, 1)
					cycles = 200
				} else {
					p, err = l.build(nodes)
				}
				if err != nil {
					t.Fatal(err)
				}
				counts := map[string]int{}
				for range cycles * total {
					counts[p.Next()]++
				}
				for _, nd := range nodes {
					want := float64(cycles) * float64(int(nd.Weight)/g)
					got := float64(counts[nd.ID])
					tol := 0.0
					if l.seeded != nil {
						tol = 6 * math.Sqrt(want)
					}
					if math.Abs(got-want) > tol {
						t.Errorf("node %s weight %d: %v picks in %d cycles, want %v ± %.0f", nd.ID, nd.Weight, got, cycles, want, tol)
					}
				}
				if len(counts) != len(nodes) {
					t.Errorf("picked %d distinct ids, want %d", len(counts), len(nodes))
				}
			})
		}
	}
}

// TestSequenceMatchesNginx checks that the libraries that claim smooth
// weighted round robin produce nginx's exact sequence, so their benchmarks
// measure the same schedule.
func TestSequenceMatchesNginx(t *testing.T) {
	for _, l := range libs {
		if !l.smooth {
			continue
		}
		for _, n := range sanitySizes {
			t.Run(fmt.Sprintf("lib=%s/nodes=%d", l.name, n), func(t *testing.T) {
				nodes := makeNodes(n)
				p, err := l.build(nodes)
				if err != nil {
					t.Fatal(err)
				}
				_, c := cycle(nodes)
				want := nginxSmooth(nodes, 2*c)
				for i, w := range want {
					if got := p.Next(); got != w {
						t.Fatalf("pick %d = %s want %s", i, got, w)
					}
				}
			})
		}
	}
}

// TestSmallCaseByHand pins the reference itself to nginx's documented
// example: weights a=5, b=1, c=1 give a a b a c a a.
func TestSmallCaseByHand(t *testing.T) {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}}
	got := fmt.Sprint(nginxSmooth(nodes, 7))
	if want := "[a a b a c a a]"; got != want {
		t.Fatalf("nginxSmooth(5,1,1) = %s want %s", got, want)
	}
}
