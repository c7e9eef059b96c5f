package balancer

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// TestLookup: every member is found at its place, in sets of every size
// up to 40 in id order and shuffled, and ids between, before and after the
// members' are not.
func TestLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 41 {
		for _, shuffle := range []bool{false, true} {
			nodes := make([]weights.Node, n)
			for i := range nodes {
				nodes[i] = weights.Node{ID: "id" + strconv.Itoa(100+2*i), Weight: 1}
			}
			if shuffle {
				r.Shuffle(n, func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
			}
			m, _, why := newMembers(nodes)
			if why != "" {
				t.Fatalf("newMembers(%v): %s", nodes, why)
			}
			for i, nd := range nodes {
				if got := m.lookup(nd.ID); got != i {
					t.Fatalf("n=%d shuffled=%v: lookup(%q) = %d, want %d", n, shuffle, nd.ID, got, i)
				}
			}
			for i := range n + 1 {
				for _, id := range []string{"id" + strconv.Itoa(101+2*i), "id" + strconv.Itoa(100+2*i) + "x", "", "a", "zz"} {
					if got := m.lookup(id); got != -1 {
						t.Fatalf("n=%d shuffled=%v: lookup(%q) = %d, want -1", n, shuffle, id, got)
					}
				}
			}
		}
	}
}
