package balancer

import (
	"math"
	"slices"
	"strings"

	"github.com/safewrr/safewrr/weights"
)

// members is a node set in registry order with an index by id. It is
// immutable and shared by every schedule built for the same set.
type members struct {
	nodes   []weights.Node
	sorted  []int32 // node positions ordered by id
	serving int     // nodes with a positive weight
}

// newMembers copies nodes and indexes them. For an empty or duplicate id it
// returns nil, the node's position and what is wrong with it.
//
// Its pass over the nodes carries no comparison but its loop's (min and
// max instead of tests), four nodes a step: under a fuzzing build every
// integer comparison in safewrr's code calls a tracing hook, and a balancer
// campaign builds sets of a few hundred nodes again and again.
func newMembers(nodes []weights.Node) (m *members, bad int, why string) {
	n := len(nodes)
	m = &members{nodes: slices.Clone(nodes), sorted: make([]int32, n)}
	// A set sent in the order of its ids (as many registries list their
	// instances) needs no sort, and strictly increasing ids are distinct:
	// order stays -1 while each id sorts after the one before.
	shortest, order := math.MaxInt, -1
	prev := ""
	read := func(i int) {
		node := &m.nodes[i]
		m.sorted[i] = int32(i)
		m.serving += int(min(node.Weight, 1))
		shortest = min(shortest, len(node.ID))
		order = max(order, strings.Compare(prev, node.ID))
		prev = node.ID
	}
	i := 0
	for ; i+4 <= n; i += 4 { // four a step (see prefixSums)
		read(i)
		read(i + 1)
		read(i + 2)
		read(i + 3)
	}
	for ; i < n; i++ {
		read(i)
	}
	if shortest == 0 {
		return nil, slices.IndexFunc(m.nodes, func(n weights.Node) bool { return n.ID == "" }), "empty id"
	}
	if order < 0 {
		return m, 0, ""
	}
	// A sort compares every two nodes that end next to each other, so
	// two nodes of one id meet in the comparison: the pass that finds
	// them runs only when one did.
	same := false
	slices.SortFunc(m.sorted, func(a, b int32) int {
		if c := strings.Compare(m.nodes[a].ID, m.nodes[b].ID); c != 0 {
			return c
		}
		same = true
		return int(a - b)
	})
	for k := 1; same && k < len(m.sorted); k++ {
		a, b := m.sorted[k-1], m.sorted[k]
		if m.nodes[a].ID == m.nodes[b].ID {
			return nil, int(b), "same id as node #" + itoa(int(a))
		}
	}
	return m, 0, ""
}

// lookup returns the position of the node with the given id, or -1. The
// search halves the range without a branch on the comparison (the step
// is taken unless the middle id sorts after id), and compares ids three-way
// (strings.Compare): under a libFuzzer build each comparison of integers
// calls a tracing hook and each unequal string comparison with == copies
// both strings for another, and picks that skip ejected nodes search.
func (m *members) lookup(id string) int {
	n := len(m.sorted)
	if n == 0 {
		return -1
	}
	base := 0 // the last place whose id sorts at or before id, if any
	for n > 1 {
		half := n >> 1
		c := strings.Compare(m.nodes[m.sorted[base+half]].ID, id)
		base += half * (1 - max(c, 0))
		n -= half
	}
	if i := int(m.sorted[base]); strings.Compare(m.nodes[i].ID, id) == 0 {
		return i
	}
	return -1
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	k := len(b)
	for i > 0 {
		k--
		b[k] = byte('0' + i%10)
		i /= 10
	}
	return string(b[k:])
}
