package balancer

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/safewrr/safewrr/weights"
)

// pending lists the nodes a schedule still picks although they were
// ejected after it was built. Picks skip them until the schedule that
// leaves them out is in. It is immutable: Eject and Restore replace it
// whole, in work proportional to its length (the ejections that came since
// the last build), never to the node count or the weights.
type pending struct {
	pos []int32  // positions in the schedule's nodes, ascending
	cum []uint64 // cum[k]: reduced weight of pos[0..k]
}

// newPending returns the pending list of s for node positions pos (any
// order, no duplicates).
func newPending(s *schedule, pos []int32) *pending {
	slices.Sort(pos)
	pd := &pending{pos: pos, cum: make([]uint64, len(pos))}
	var acc uint64
	for k, i := range pos {
		acc += s.weight(int(i))
		pd.cum[k] = acc
	}
	return pd
}

// with returns pd (which may be nil) with node i added.
func (pd *pending) with(s *schedule, i int) *pending {
	var pos []int32
	if pd != nil {
		if pd.has(i) {
			return pd
		}
		pos = slices.Clone(pd.pos)
	}
	return newPending(s, append(pos, int32(i)))
}

// without returns pd with node i removed, nil when it becomes empty.
func (pd *pending) without(s *schedule, i int) *pending {
	if pd == nil || !pd.has(i) {
		return pd
	}
	pos := slices.DeleteFunc(slices.Clone(pd.pos), func(p int32) bool { return int(p) == i })
	if len(pos) == 0 {
		return nil
	}
	return newPending(s, pos)
}

// upTo returns how many listed positions are <= i.
func (pd *pending) upTo(i int) int {
	lo, hi := 0, len(pd.pos)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int(pd.pos[mid]) <= i {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (pd *pending) has(i int) bool {
	if pd == nil {
		return false
	}
	k := pd.upTo(i)
	return k > 0 && int(pd.pos[k-1]) == i
}

// weightUpTo returns the reduced weight of the listed nodes at positions <= i.
func (pd *pending) weightUpTo(i int) uint64 {
	if pd == nil {
		return 0
	}
	if k := pd.upTo(i); k > 0 {
		return pd.cum[k-1]
	}
	return 0
}

func (pd *pending) total() uint64 {
	if pd == nil || len(pd.cum) == 0 {
		return 0
	}
	return pd.cum[len(pd.cum)-1]
}

// outNode is a node a schedule left out because it was ejected: its
// position and the end of its ejection (0 once restored). Like pending,
// the list is immutable and replaced whole.
type outNode struct {
	pos int32
	end int64
}

// setOut replaces the end of node i in s's out list, if it is there.
func (s *schedule) setOut(i int, end int64) {
	out := s.out.Load()
	if out == nil {
		return
	}
	for k, o := range *out {
		if int(o.pos) == i {
			next := slices.Clone(*out)
			next[k].end = end
			s.out.Store(&next)
			return
		}
	}
}

// pick returns the node for counter value c, skipping the nodes in pd
// (may be nil) and in t (may be nil).
//
// A position that holds a node of pd (ejected since the build) is that
// node's share: it goes to a weighted choice among the nodes in neither pd
// nor t, the next point of a golden-ratio sequence (counted by s.spread)
// over their weights, so an ejected node's picks are spread over the others
// in proportion to their weights, evenly over short windows too, rather
// than handed to the node after it.
//
// A position that holds a node of t (tried by this request, and not in pd)
// is a retry's share of that node: it goes to the same weighted choice
// among the nodes in neither pd nor t, so a failing node's retries are
// spread over the untried nodes in proportion to their weights rather than
// handed to the node after it in the cycle.
//
// Work is O(len(t)*log n + log len(pd)*log n), bounded whatever the
// weights; with t empty, O(log len(pd) + log n) and only when pd lists the
// position's node.
func (s *schedule) pick(c uint64, pd *pending, t *Tried) (*weights.Node, error) {
	p := s.mod(c)
	i := s.pos(p)
	if pd.has(i) {
		return s.spreadPick(pd, t, -1)
	}
	nd := &s.nodes[i]
	if t.Len() == 0 || !t.Has(nd.ID) {
		return nd, nil
	}
	if plantTriedReturned && t.Len() >= 2 {
		return nd, nil
	}
	return s.spreadPick(pd, t, i)
}

// spreadPick is the weighted choice for a pick whose position holds a node
// of pd or t (node at, when it is in t): the next point of the golden-ratio
// sequence counted by s.spread, over the nodes in neither.
func (s *schedule) spreadPick(pd *pending, t *Tried, at int) (*weights.Node, error) {
	i, err := s.pickAvoiding(s.spread.Add(1)-1, pd, t, at)
	if err != nil {
		return nil, err
	}
	return &s.nodes[i], nil
}

// golden is 2^64 divided by the golden ratio: k*golden (mod 2^64) is the
// fractional part of k/phi in 64-bit fixed point, a sequence whose first
// points are spread evenly over [0, 1) for every count k.
const golden = 0x9e3779b97f4a7c15

// pickAvoiding chooses among the serving nodes that are neither in pd nor
// in t in proportion to their weights: k is a count and the choice is
// point k of the golden-ratio sequence scaled to their total weight, so
// consecutive counts give an even mix at every length. Node at (-1 for
// none) is known to be in t, so its id is not looked up.
func (s *schedule) pickAvoiding(k uint64, pd *pending, t *Tried, at int) (int, error) {
	var buf [2 * triedInline]int32
	idx := buf[:0]
	var excl uint64
	for x := 0; x < t.Len(); x++ {
		i := at
		if id := t.at(x); at < 0 || strings.Compare(id, s.nodes[at].ID) != 0 {
			i = s.m.lookup(id)
		}
		if i < 0 || pd.has(i) {
			continue
		}
		if w := s.weight(i); w > 0 {
			idx = append(idx, int32(i))
			excl += w
		}
	}
	pw := pd.total()
	for plantExcludedSpin && excl+pw >= s.length {
		k = s.mod(k + 1)
	}
	if pw >= s.length {
		return 0, ErrAllEjected
	}
	if excl+pw >= s.length {
		return 0, ErrAllExcluded
	}
	rest := s.length - excl - pw
	q, _ := bits.Mul64(k*golden, rest)
	if len(idx) == 0 {
		return s.skipSearch(q, pd), nil
	}
	if pd == nil && len(idx) <= triedInline {
		// The tried nodes alone are left out: lay them out as a pending
		// list on the stack and take the same two searches.
		var cum [triedInline]uint64
		slices.Sort(idx)
		var acc uint64
		for x, j := range idx {
			acc += s.weight(int(j))
			cum[x] = acc
		}
		return s.skipSearch(q, &pending{pos: idx, cum: cum[:len(idx)]}), nil
	}
	// The first i whose remaining prefix sum through i exceeds q.
	f := func(i int) uint64 {
		v := s.prefix[i+1] - pd.weightUpTo(i)
		for _, j := range idx {
			if int(j) <= i {
				v -= s.weight(int(j))
			}
		}
		return v
	}
	lo, hi := 0, len(s.nodes)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if f(mid) > q {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// skipSearch returns the node that holds point q (below the serving weight
// without pd's nodes, pd may be nil) when the serving nodes other than pd's
// are laid end to end in order, each as long as its reduced weight. Between
// two nodes of pd every node is shifted back by the weight of the pd nodes
// before it, so a binary search over pd finds the stretch that holds q and
// one over prefix the node: O(log len(pd) + log n).
func (s *schedule) skipSearch(q uint64, pd *pending) int {
	var pos []int32
	var cum []uint64
	if pd != nil {
		pos, cum = pd.pos, pd.cum
	}
	// before(k): the weight of pd's nodes before its k-th.
	before := func(k int) uint64 {
		if k == 0 {
			return 0
		}
		return cum[k-1]
	}
	// The first pd node whose start, shifted back, is past q.
	lo, hi := 0, len(pos)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if q < s.prefix[pos[mid]]-before(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	// Unshifted, q is then target; the first node whose range ends past it.
	target := q + before(lo)
	lo, hi = 0, len(s.nodes)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.prefix[mid+1] > target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
