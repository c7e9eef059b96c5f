package balancer

import (
	"math/bits"
	"math/rand/v2"
	"slices"
)

// restyIn is a resty.roundrobin find() state: the node the scan goes on
// after (a position in the schedule's nodes, -1 when resty's last_id is
// nil and the scan starts at the first node) and the current weight, as
// resty keeps it (not rounded to the gcd). A Resty table schedule records
// the state its counter started from, at counter value start: a set of one
// node never moves resty's state (find() returns the only node at once),
// and a current weight that is not a multiple of the gcd stays so until
// the scan wraps to the maximum.
type restyIn struct {
	start uint64
	last  int
	cw    uint64
	// wrapped: the scan from the state runs past the last node at once,
	// so every pick is made after the wrap to the maximum.
	wrapped bool
}

// restyCycle returns one cycle of resty.roundrobin's find() for the reduced
// weights given by prefix, whose distinct values are vals (levels),
// starting at the current weight = the maximum weight, scan at the first
// node: for each current weight from the maximum down to 1 (in gcd steps,
// here 1 after reduction), the nodes whose weight is at least the current
// weight, in order. O(length + distinct weights * n).
func restyCycle(prefix []uint64, length uint64, vals []uint64) []int32 {
	n := len(prefix) - 1
	seq := make([]int32, 0, length)
	var list []int32
	for j, v := range vals {
		below := uint64(0)
		if j+1 < len(vals) {
			below = vals[j+1]
		}
		list = list[:0]
		for i := range n {
			if prefix[i+1]-prefix[i] >= v {
				list = append(list, int32(i))
			}
		}
		for range v - below {
			seq = append(seq, list...)
		}
	}
	return seq
}

// restyOffset returns the cycle position of the resty state (last, v): the
// scan continues after node last (-1: at the first node) at current weight
// v (reduced, 1..top).
func (s *schedule) restyOffset(last int, v uint64) uint64 {
	off, _ := s.restyOffsetWrap(last, v)
	return off
}

// restyOffsetWrap is restyOffset that also tells whether the scan from the
// state wraps before it picks.
func (s *schedule) restyOffsetWrap(last int, v uint64) (uint64, bool) {
	var off uint64
	for i := range len(s.nodes) {
		r := s.weight(i)
		if r > v {
			off += r - v
		}
		if i <= last && r >= v {
			off++
		}
	}
	if off >= s.length {
		return off - s.length, true
	}
	return off, false
}

// restyState returns the resty state right after the pick at cycle
// position p of a Resty table schedule: the node picked and the reduced
// current weight it was picked at.
func (s *schedule) restyState(p uint64) (last int, v uint64) {
	node := s.at(p)
	for j, u := range s.levelVals {
		below := uint64(0)
		if j+1 < len(s.levelVals) {
			below = s.levelVals[j+1]
		}
		run := (u - below) * uint64(s.levelCnt[j])
		if p < run {
			return node, u - p/uint64(s.levelCnt[j])
		}
		p -= run
	}
	return node, 1
}

// restyNow returns resty's state once the counter has reached c: the start
// state if no pick moved it, else the state after the pick at c-1, its
// current weight lowered as the start's was while the scan has not wrapped.
func (s *schedule) restyNow(c uint64) (last int, cw uint64) {
	if s.length == 1 || c == s.rin.start {
		return s.rin.last, s.rin.cw
	}
	x := c - 1
	last, v := s.restyState(s.mod(x))
	cw = v * s.gcd
	if x < s.length && !s.rin.wrapped {
		// Not wrapped since the start (which is below length): the
		// current weight is still off the gcd grid as the start's was.
		cw -= (s.rin.cw+s.gcd-1)/s.gcd*s.gcd - s.rin.cw
	}
	return last, cw
}

// restyCarry returns the find() state after resty's own operations turn
// prev's node set into s's, from prev's state (last, a position in
// prev.nodes or -1, and cw). Effective weights are compared by id: a node
// that stops serving is resty's delete (in prev's order), one whose weight
// changes or that starts serving is resty's set (in s's order: incr or
// decr). delete clears the last node when it is the one deleted; delete
// and decr cap the current weight at the new largest weight; incr changes
// neither. When no node serves in both, the set is all new: resty's reinit.
// ok is false then.
func (s *schedule) restyCarry(prev *schedule, last int, cw uint64) (in restyIn, ok bool) {
	same := s.m == prev.m
	toNew := func(i int) int {
		if same {
			return i
		}
		return s.m.lookup(prev.nodes[i].ID)
	}
	newW := func(j int) uint64 { return s.weight(j) * s.gcd }
	var keptMax uint64
	deleted := false
	for i := range prev.nodes {
		wo := prev.weight(i) * prev.gcd
		if wo == 0 {
			continue
		}
		if j := toNew(i); j >= 0 && newW(j) > 0 {
			keptMax = max(keptMax, wo)
			continue
		}
		deleted = true
		if i == last {
			last = -1
		}
	}
	if keptMax == 0 {
		return restyIn{}, false
	}
	if deleted {
		cw = min(cw, keptMax)
	}
	n := len(s.nodes)
	old := make([]uint64, n) // weight before the sets, of nodes serving in both
	for j := range n {
		if newW(j) == 0 {
			continue
		}
		i := j
		if !same {
			i = prev.m.lookup(s.nodes[j].ID)
		}
		if i >= 0 {
			old[j] = prev.weight(i) * prev.gcd
		}
	}
	suffix := make([]uint64, n+1) // largest old weight from j on
	for j := n - 1; j >= 0; j-- {
		suffix[j] = max(suffix[j+1], old[j])
	}
	var done uint64 // largest new weight up to j
	for j := range n {
		w := newW(j)
		if w == 0 {
			continue
		}
		done = max(done, w)
		if w < old[j] {
			cw = min(cw, max(done, suffix[j+1]))
		}
	}
	if last >= 0 {
		last = toNew(last)
	}
	return restyIn{last: last, cw: cw}, true
}

// place sets where s's counter starts. For a new balancer (prev nil) or
// after a state where nothing served: the start the options ask for. Else
// the position carries over from prev: for Resty tables as resty's own
// operations would carry its find() state (restyCarry), otherwise the same
// place for the same nodes and weights, and the same fraction of the cycle
// for a different set.
func (s *schedule) place(cfg *config, prev *schedule) {
	if s.length == 0 {
		return
	}
	restyTable := s.algo == Resty && s.kind <= kindTable32
	if prev == nil || prev.length == 0 {
		s.setStart(s.fresh(cfg, prev == nil))
		return
	}
	c := prev.ctr.Load()
	if restyTable && prev.kind <= kindTable32 {
		last, cw := prev.restyNow(c)
		in, ok := s.restyCarry(prev, last, cw)
		if !ok {
			in = s.fresh(cfg, false)
		}
		s.setStart(in)
		return
	}
	p := prev.mod(c)
	if s.m == prev.m && slices.Equal(s.prefix, prev.prefix) {
		s.ctr.Store(p) // same nodes, same weights: same place
		return
	}
	hi, lo := bits.Mul64(p, s.length)
	q, _ := bits.Div64(hi, lo, prev.length)
	s.ctr.Store(q)
}

// fresh returns the start for a new balancer (first) or a set that shares
// no serving node with the previous one, as a resty state for Resty tables
// (last -2 marks a counter position in start for the other forms).
func (s *schedule) fresh(cfg *config, first bool) restyIn {
	restyTable := s.algo == Resty && s.kind <= kindTable32
	if cfg.randomStart {
		r := rand.New(rand.NewPCG(uint64(cfg.seed), 0x5afe))
		o := r.Uint64N(s.length)
		if !restyTable {
			return restyIn{start: o, last: -2}
		}
		last, v := s.restyState((o + s.length - 1) % s.length)
		return restyIn{last: last, cw: v * s.gcd}
	}
	if !restyTable {
		return restyIn{start: 0, last: -2}
	}
	last := len(s.nodes) - 1
	if first && cfg.start >= 0 && cfg.start < len(s.nodes) {
		last = cfg.start
	}
	return restyIn{last: last, cw: s.top * s.gcd}
}

// setStart stores the counter for start state in.
func (s *schedule) setStart(in restyIn) {
	if in.last == -2 {
		s.ctr.Store(in.start)
		return
	}
	v := min(max((in.cw+s.gcd-1)/s.gcd, 1), s.top)
	in.start, in.wrapped = s.restyOffsetWrap(in.last, v)
	s.rin = in
	s.ctr.Store(in.start)
}
