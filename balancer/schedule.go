package balancer

import (
	"math/big"
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/safewrr/safewrr/weights"
)

// maxTableBytes bounds the exact-cycle table of a schedule.
const maxTableBytes = 256 << 10

// tableBytes is maxTableBytes; tests lower it to exercise the long-cycle
// representation on small sets.
var tableBytes uint64 = maxTableBytes

// kind is how a schedule maps a cycle position to a node.
type kind uint8

const (
	kindTable8  kind = iota // exact cycle, one byte per entry (up to 256 nodes)
	kindTable16             // exact cycle, two bytes per entry (up to 65,536 nodes)
	kindTable32             // exact cycle, four bytes per entry
	kindRows                // long cycle: rows of nodes by weight, rows in a spread order
	kindSpread              // long cycle, huge weight range: permuted position, prefix-sum lookup
)

// maxRows bounds the number of rows (the largest weight / gcd) of a kindRows
// schedule, so that its row tables stay within maxTableBytes.
const maxRows = 1<<14 - 1

// rowLimit is maxRows; tests lower it to exercise kindSpread.
var rowLimit uint64 = maxRows

// schedule is an immutable description of one cycle of picks over a node
// set with its effective weights, plus the counter that walks it. Picking is
// one atomic add on the counter and an O(1) lookup.
type schedule struct {
	_   [64]byte // keep the counters' cache line to themselves
	ctr atomic.Uint64
	// spread counts the picks that landed on a node ejected since the
	// build (see pick): each takes the next point of a golden-ratio
	// sequence over the other nodes' weights.
	spread atomic.Uint64
	_      [48]byte

	kind   kind
	length uint64 // picks per cycle: total effective weight / gcd
	magic  uint64 // ^uint64(0) / length, for mod without division
	t8     []uint8
	t16    []uint16
	t32    []uint32

	// kindRows: position p is in row k (rowStart[k] <= p < rowStart[k+1],
	// found through bucket: the first candidate row per 1<<shift
	// positions), at rank p-rowStart[k] of rowNodes, a copy of the serving
	// nodes so that the picks of a row read memory in order.
	rowStart []uint64
	rowNodes []weights.Node // serving nodes, heaviest first, ties in order

	// kindSpread: position p goes to (p*mult) mod length, whose node is
	// found through bucket (the first candidate node per 1<<shift
	// positions) and prefix.
	mult      uint64
	multMagic bool // length < 2^32: p*mult fits in 64 bits
	shift     uint
	bucket    []uint32

	prefix []uint64 // prefix[i] = sum of reduced weights of nodes before i; len n+1
	m      *members
	nodes  []weights.Node
	algo   Algorithm
	gcd    uint64 // of the effective weights
	top    uint64 // largest reduced weight

	err      error // set when no node serves
	deadline int64 // when the clock-driven state changes next; never = no change
	gen      uint64
	kicked   atomic.Bool               // a pick found the deadline passed and started a build
	pend     atomic.Pointer[pending]   // ejected since the build; nil: none
	out      atomic.Pointer[[]outNode] // left out as ejected by the build; nil: none

	// Resty tables: the find() state the counter started from (see
	// restyIn) and the levels of the reduced weights.
	rin       restyIn
	levelVals []uint64
	levelCnt  []int
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mod returns c mod s.length without a division instruction: q below is
// floor(c/length) or one less, so one conditional subtraction finishes.
func (s *schedule) mod(c uint64) uint64 {
	q, _ := bits.Mul64(c, s.magic)
	r := c - q*s.length
	if r >= s.length {
		r -= s.length
	}
	return r
}

// at returns the position in s.nodes of the node at cycle position p
// (0 <= p < length) of a table schedule.
func (s *schedule) at(p uint64) int {
	switch s.kind {
	case kindTable8:
		return int(s.t8[p])
	case kindTable16:
		return int(s.t16[p])
	}
	return int(s.t32[p])
}

// node returns the node at cycle position p (0 <= p < length).
func (s *schedule) node(p uint64) *weights.Node {
	switch s.kind {
	case kindTable8:
		return &s.nodes[s.t8[p]]
	case kindTable16:
		return &s.nodes[s.t16[p]]
	case kindTable32:
		return &s.nodes[s.t32[p]]
	case kindRows:
		return &s.rowNodes[s.rowRank(p)]
	}
	return &s.nodes[s.spreadAt(p)]
}

// rowRank returns the place in rowNodes of cycle position p.
func (s *schedule) rowRank(p uint64) uint64 {
	b := p >> s.shift
	lo, hi := int(s.bucket[b]), int(s.bucket[b+1])
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if s.rowStart[mid] <= p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return p - s.rowStart[lo]
}

func (s *schedule) spreadAt(p uint64) int {
	if s.multMagic {
		p = s.mod(p * s.mult)
	} else {
		hi, lo := bits.Mul64(p, s.mult)
		p = bits.Rem64(hi, lo, s.length)
	}
	b := p >> s.shift
	lo, hi := int(s.bucket[b]), int(s.bucket[b+1])
	// The largest i in [lo, hi] with prefix[i] <= p holds position p.
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if s.prefix[mid] <= p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// pos returns the position in s.nodes of the node at cycle position p.
func (s *schedule) pos(p uint64) int {
	switch s.kind {
	case kindTable8:
		return int(s.t8[p])
	case kindTable16:
		return int(s.t16[p])
	case kindTable32:
		return int(s.t32[p])
	case kindRows:
		// rowNodes holds copies (for the memory order of ordinary
		// picks); only picks that must skip a node need the position.
		return s.m.lookup(s.rowNodes[s.rowRank(p)].ID)
	}
	return s.spreadAt(p)
}

// newSchedule builds the schedule for members m with effective weights eff
// (0 = not picked; nil: the configured weights). Its counter is set by place.
func newSchedule(m *members, eff []uint32, cfg *config) *schedule {
	n := len(m.nodes)
	s := &schedule{m: m, nodes: m.nodes, algo: cfg.algo, prefix: make([]uint64, n+1), deadline: never}
	for i := range n {
		if s.gcd = gcd(s.gcd, uint64(effectiveAt(m, eff, i))); s.gcd == 1 {
			break // gcd(1, w) = 1
		}
	}
	if s.gcd == 0 {
		return s // no node serves: an empty cycle
	}
	sum := func(i int) {
		r := uint64(effectiveAt(m, eff, i)) / s.gcd
		s.prefix[i+1] = s.prefix[i] + r
		s.top = max(s.top, r)
	}
	i := 0
	for ; i+4 <= n; i += 4 { // four a step, as in prefixSums
		sum(i)
		sum(i + 1)
		sum(i + 2)
		sum(i + 3)
	}
	for ; i < n; i++ {
		sum(i)
	}
	s.length = s.prefix[n]
	s.magic = ^uint64(0) / s.length
	width := uint64(4)
	switch {
	case n <= 1<<8:
		width = 1
	case n <= 1<<16:
		width = 2
	}
	if s.length <= tableBytes/width {
		var seq []int32
		if s.algo == Resty {
			s.levelVals, s.levelCnt = levels(s.prefix)
			seq = restyCycle(s.prefix, s.length, s.levelVals)
		} else {
			seq = smoothCycle(s.prefix, s.length)
		}
		if plantCycleCount && len(seq) > 1 {
			seq[len(seq)-1] = seq[0]
		}
		if plantHeaviestShort && len(seq) > 1 {
			seq = heaviestShort(s, seq)
		}
		switch width {
		case 1:
			s.kind, s.t8 = kindTable8, narrow[uint8](seq)
		case 2:
			s.kind, s.t16 = kindTable16, narrow[uint16](seq)
		default:
			s.kind, s.t32 = kindTable32, narrow[uint32](seq)
		}
	} else if s.top <= rowLimit {
		s.buildRows()
	} else {
		s.buildSpread()
	}
	return s
}

func narrow[T uint8 | uint16 | uint32](seq []int32) []T {
	t := make([]T, len(seq))
	for i, v := range seq {
		t[i] = T(v)
	}
	return t
}

// weight returns node i's reduced weight (effective weight / gcd).
func (s *schedule) weight(i int) uint64 { return s.prefix[i+1] - s.prefix[i] }

// smoothCycle returns one cycle of nginx's smooth weighted round robin for
// the reduced weights given by prefix, starting from all-zero current
// weights. Nodes of equal weight take turns in order (their current weights
// differ by multiples of the total, so the one picked least, first in order,
// leads), which lets the simulation track one candidate per distinct weight:
// O(length * distinct weights).
func smoothCycle(prefix []uint64, length uint64) []int32 {
	n := len(prefix) - 1
	byWeight := map[uint64]int{}
	var ws []uint64
	var members [][]int32
	for i := range n {
		w := prefix[i+1] - prefix[i]
		if w == 0 {
			continue
		}
		g, ok := byWeight[w]
		if !ok {
			g = len(ws)
			byWeight[w] = g
			ws = append(ws, w)
			members = append(members, nil)
		}
		members[g] = append(members[g], int32(i))
	}
	// Each group's candidate is one word: (current weight + total) in the
	// high half (it stays in (0, 2*total]), and ^position in the low half so
	// that on equal current weights the first node in order is larger. The
	// groups are padded to a multiple of four with candidates that never
	// lead (0, adding 0), so that a pick takes whole steps of four: under a
	// fuzzing build every comparison, a loop's included, calls a tracing
	// hook, and most sets have fewer than four distinct weights.
	m := len(ws)
	m4 := (m + 3) &^ 3
	total := uint64(length)
	key := make([]uint64, m4)
	step := make([]uint64, m4)
	for g := range m {
		step[g] = ws[g] << 32
		key[g] = total<<32 | uint64(^uint32(members[g][0]))
	}
	// For the node that leads its group: the group, the node that leads
	// it next (the next member in order, the first after the last) and
	// what its candidate loses beyond the total it is picked at (another
	// total when the turn goes back to the first member).
	group := make([]int32, n)
	after := make([]int32, n)
	wrap := make([]uint64, n)
	for g, ms := range members {
		for k, i := range ms {
			group[i], after[i] = int32(g), ms[(k+1)%len(ms)]
		}
		wrap[ms[len(ms)-1]] = total << 32
	}
	// Keys are distinct (their low halves name distinct nodes), so the
	// maximum alone identifies the winner; four running maxima keep the
	// loop free of a long dependency chain.
	seq := make([]int32, length)
	lead := func(t int, m0, m1, m2, m3 uint64) {
		bestKey := max(m0, m1, m2, m3)
		idx := int32(^uint32(bestKey))
		seq[t] = idx
		key[group[idx]] = (bestKey>>32<<32 - wrap[idx]) | uint64(^uint32(after[idx]))
	}
	if m4 == 4 {
		// Up to four distinct weights, as most sets have: one step a pick.
		for t := range seq {
			k0, k1, k2, k3 := key[0]+step[0], key[1]+step[1], key[2]+step[2], key[3]+step[3]
			key[0], key[1], key[2], key[3] = k0, k1, k2, k3
			lead(t, k0, k1, k2, k3)
		}
		return seq
	}
	for t := range seq {
		var m0, m1, m2, m3 uint64
		for g := 0; g < m4; g += 4 {
			k0, k1, k2, k3 := key[g]+step[g], key[g+1]+step[g+1], key[g+2]+step[g+2], key[g+3]+step[g+3]
			key[g], key[g+1], key[g+2], key[g+3] = k0, k1, k2, k3
			m0, m1, m2, m3 = max(m0, k0), max(m1, k1), max(m2, k2), max(m3, k3)
		}
		lead(t, m0, m1, m2, m3)
	}
	return seq
}

// levels returns the distinct positive reduced weights, largest first, and
// for each how many nodes weigh at least that much.
func levels(prefix []uint64) (vals []uint64, counts []int) {
	n := len(prefix) - 1
	var ws []uint64
	for i := range n {
		if w := prefix[i+1] - prefix[i]; w > 0 {
			ws = append(ws, w)
		}
	}
	slices.Sort(ws)
	for k := len(ws) - 1; k >= 0; k-- {
		if len(vals) > 0 && vals[len(vals)-1] == ws[k] {
			counts[len(counts)-1]++
			continue
		}
		c := 1
		if len(counts) > 0 {
			c = counts[len(counts)-1] + 1
		}
		vals = append(vals, ws[k])
		counts = append(counts, c)
	}
	return vals, counts
}

// spreadSteps remembers the last coprimeNear results: a node set that
// comes back (a node ejected and restored, a ramp that ends where it began)
// has the same cycle length, and its search, a few microseconds, is not
// repeated. One entry per slot (the top bits of m times 2^64/phi, so that
// lengths with the same low bits, such as powers of two, spread over the
// slots), replaced on a miss; an entry is immutable, so a reader sees a
// whole pair or none. 1,024 slots (8 KiB) keep the lengths of a process
// with many balancers, each with a few nodes ejected and back, apart.
var spreadSteps [1 << 10]atomic.Pointer[[2]uint64]

// spreadSlot is the slot of spreadSteps for length m.
func spreadSlot(m uint64) int { return int(m * 0x9e3779b97f4a7c15 >> 54) }

// spreadStep is coprimeNear(m), from spreadSteps when it holds m.
func spreadStep(m uint64) uint64 {
	slot := &spreadSteps[spreadSlot(m)]
	if e := slot.Load(); e != nil && e[0] == m {
		return e[1]
	}
	c := coprimeNear(m)
	slot.Store(&[2]uint64{m, c})
	return c
}

// coprimeNear returns a step c in [1, m) coprime with m for walking the
// residues modulo m, chosen so that the first r points of the walk
// 0, c, 2c, ... (mod m) are spread evenly for every r. That holds when the
// continued fraction of c/m has only small partial quotients, as 1/phi's
// (all 1s) has: c is searched among a bounded number of candidates around
// m/phi for the smallest largest partial quotient (the first found on a
// tie). A candidate's expansion stops as soon as a quotient reaches the best
// score so far, and the search stops at score 2, which no candidate can
// beat: the last partial quotient of c/m (0 < c < m) is at least 2.
func coprimeNear(m uint64) uint64 {
	if m <= 2 {
		return 1
	}
	a := uint64(float64(m) * 0.6180339887498949)
	best, bestScore := uint64(1), ^uint64(0)
	for d := uint64(0); d <= 64 && bestScore > 2; d++ {
		for _, c := range [2]uint64{a + d, a - d} {
			if c == 0 || c >= m {
				continue
			}
			if score, ok := quotientBelow(c, m, bestScore); ok {
				best, bestScore = c, score
			}
		}
	}
	return best
}

// quotientBelow returns the largest partial quotient of the continued
// fraction of c/m (0 < c < m), and whether c and m are coprime and that
// quotient is below limit. It stops early once a quotient reaches limit.
func quotientBelow(c, m, limit uint64) (uint64, bool) {
	var q uint64
	for c != 0 {
		// c < m here. A quotient of 1, the most common, needs no
		// division; the others take one. (A loop of subtractions was
		// no faster natively, BenchmarkCoprimeNear, and under a fuzzing
		// build each of its comparisons calls a tracing hook, for every
		// new cycle length of a spread schedule.)
		k, r := uint64(1), m-c
		if r >= c {
			k, r = m/c, m%c
		}
		if k >= limit {
			return 0, false
		}
		q = max(q, k)
		m, c = c, r
	}
	return q, m == 1 // m is gcd(c, m)
}

// buildRows sets up the long-cycle representation for moderate weight
// ranges. The cycle is made of top rows, one per threshold t = 1..top
// (reduced weights); the row for t holds every node whose reduced weight is
// at least t, heaviest first, so a node appears in exactly weight/gcd rows.
// The row for threshold t comes at place (t-1)*c mod top, with c coprime
// with top and close to top/phi, so the rows of a node of weight r are the
// first r points of a golden-ratio walk: spread evenly over the cycle. In a
// row, consecutive picks walk memory in order.
func (s *schedule) buildRows() {
	s.kind = kindRows
	top := s.top
	n := len(s.nodes)
	// A counting sort by weight, heaviest first: a node of reduced weight
	// r counts at index top-r+1 of at (top+1 for the ones not serving), so
	// that after the prefix sums at[top-r] is where weight r starts in
	// rowNodes; placing the nodes moves each start to the next weight's, so
	// that at[top-t] then counts the nodes weighing at least t: the length
	// of row t. The passes over the nodes, the weights and the rows take
	// four a step (see prefixSums).
	at := make([]uint32, top+2)
	count := func(i int) { at[top-s.weight(i)+1]++ }
	i := 0
	for ; i+4 <= n; i += 4 { // four a step, as in prefixSums
		count(i)
		count(i + 1)
		count(i + 2)
		count(i + 3)
	}
	for ; i < n; i++ {
		count(i)
	}
	prefixSums(at)
	rowNodes := make([]weights.Node, n)
	place := func(i int) {
		j := top - s.weight(i)
		rowNodes[at[j]] = s.nodes[i]
		at[j]++
	}
	for i = 0; i+4 <= n; i += 4 {
		place(i)
		place(i + 1)
		place(i + 2)
		place(i + 3)
	}
	for ; i < n; i++ {
		place(i)
	}
	s.rowNodes = rowNodes[:at[top-1]]
	// Place k holds the row of threshold t with (t-1)*c = k (mod top):
	// t-1 = k*inv, inv the inverse of c. One pass over the places sums
	// the row lengths into rowStart; bucket b holds the row of position
	// b<<shift, which is the number of rows that end at or before it: the
	// pass counts each row's end at the first bucket at or past it, and a
	// pass over the buckets sums the counts (a loop per row filling its
	// buckets would make a comparison more per row, and under a fuzzing
	// build each calls a tracing hook).
	inv := inverseMod(spreadStep(top), top)
	L := s.length
	for (L-1)>>s.shift+1 > 2*top {
		s.shift++
	}
	nb := int((L-1)>>s.shift + 1)
	mask := uint64(1)<<s.shift - 1
	s.bucket = make([]uint32, nb+1)
	s.rowStart = make([]uint64, top+1)
	var end uint64
	row := func(k uint64) {
		end += uint64(at[top-1-k*inv%top])
		s.rowStart[k+1] = end
		s.bucket[(end+mask)>>s.shift]++
	}
	k := uint64(0)
	for ; k+4 <= top; k += 4 { // four a step, as in prefixSums
		row(k)
		row(k + 1)
		row(k + 2)
		row(k + 3)
	}
	for ; k < top; k++ {
		row(k)
	}
	prefixSums(s.bucket[:nb])
	s.bucket[nb] = uint32(top - 1)
}

// prefixSums replaces each element of t by the sum of the elements up to
// it. A build's passes over every node or every row are most of its work
// under a fuzzing build, where each comparison (a loop's included) calls a
// tracing hook: written out four a step they cost a quarter of that, and
// these sums, over up to twice as many buckets as rows, eight a step.
func prefixSums(t []uint32) {
	var sum uint32
	for ; len(t) >= 8; t = t[8:] {
		t[0] += sum
		t[1] += t[0]
		t[2] += t[1]
		t[3] += t[2]
		t[4] += t[3]
		t[5] += t[4]
		t[6] += t[5]
		t[7] += t[6]
		sum = t[7]
	}
	for i := range t {
		sum += t[i]
		t[i] = sum
	}
}

// inverseMod returns the inverse of c modulo m (c and m coprime,
// 1 <= m < 2^32, so that q*x1 below cannot overflow): x in [0, m) with
// c*x = 1 (mod m); 0 for m = 1.
func inverseMod(c, m uint64) uint64 {
	// Extended Euclid on (m, c), tracking the coefficients of c modulo m
	// as values in [0, m): r0 = m ≡ 0*c, r1 = c ≡ 1*c.
	r0, r1 := m, c%m
	x0, x1 := uint64(0), uint64(1)%m
	for r1 != 0 {
		q := r0 / r1
		r0, r1 = r1, r0-q*r1
		// x0 - q*x1 (mod m), without going negative.
		x0, x1 = x1, (x0+m-q*x1%m)%m
	}
	return x0
}

// buildSpread sets up the long-cycle representation for huge weight
// ranges: cycle position p maps to the point (p*mult) mod length of the
// nodes' consecutive weight ranges. mult is coprime with length, so each
// node still gets exactly its reduced weight per cycle, and its inverse is
// close to length/phi, so every node's picks spread evenly over the cycle.
func (s *schedule) buildSpread() {
	s.kind = kindSpread
	L := s.length
	s.multMagic = L < 1<<32
	// The picks that land in a node's range [x, y) are the positions
	// x*c, (x+1)*c, ... mod L, c = mult's inverse: a golden-ratio walk.
	c := spreadStep(L)
	s.mult = new(big.Int).ModInverse(new(big.Int).SetUint64(c), new(big.Int).SetUint64(L)).Uint64()
	n := len(s.nodes)
	for (L-1)>>s.shift+1 > uint64(max(n, 1)) {
		s.shift++
	}
	nb := int((L-1)>>s.shift + 1)
	s.bucket = make([]uint32, nb+1)
	i := 0
	for b := range nb {
		p := uint64(b) << s.shift
		for s.prefix[i+1] <= p {
			i++
		}
		s.bucket[b] = uint32(i)
	}
	last := n - 1
	for s.weight(last) == 0 {
		last--
	}
	s.bucket[nb] = uint32(last)
}
