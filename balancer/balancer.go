package balancer

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// rampSteps is how many times a slow-start ramp changes the effective
// weight (and rebuilds the schedule) over its window.
const rampSteps = 10

// never marks "no time": no ejection, no ramp, no deadline.
const never = math.MinInt64

// Balancer picks nodes by weighted round robin. Create one with New. It is
// safe for concurrent use: Next and NextExcluding take no lock and allocate
// nothing; Update, Eject and Restore serialize among themselves and swap in
// a new immutable schedule.
type Balancer struct {
	cur atomic.Pointer[schedule]

	mu    sync.Mutex // guards everything below
	cfg   config
	base  time.Time // times below are nanoseconds since base
	m     *members
	nodes []weights.Node // m.nodes
	until times          // ejected nodes: until when
	ramp  times          // ramping nodes: since when
}

// times maps node positions to a time; absent means never. Only ejected
// or ramping nodes have entries, so it costs nothing per node otherwise.
type times map[int]int64

func (t times) get(i int) int64 {
	if v, ok := t[i]; ok {
		return v
	}
	return never
}

func (t times) set(i int, v int64) {
	if v == never {
		delete(t, i)
	} else {
		t[i] = v
	}
}

// New returns a balancer over nodes, in their order. Ids must be non-empty
// and distinct. An empty set or one where every weight is 0 is accepted:
// picks then fail with ErrNoBackends or ErrAllDrained until an Update brings
// serving nodes. Options are applied in order; an invalid one makes New fail
// with an error that starts with "balancer:".
func New(nodes []weights.Node, opts ...Option) (*Balancer, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	m, bad, why := newMembers(nodes)
	if why != "" {
		return nil, fmt.Errorf("%w: node #%d %q: %s", ErrInvalidNode, bad, nodes[bad].ID, why)
	}
	if cfg.start >= 0 && cfg.start >= len(nodes) {
		return nil, fmt.Errorf("balancer: start index %d out of range for %d nodes", cfg.start, len(nodes))
	}
	b := &Balancer{
		cfg:   cfg,
		base:  cfg.now(),
		m:     m,
		nodes: m.nodes,
		until: times{},
		ramp:  times{},
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rebuild(0, nil)
	return b, nil
}

// now returns the clock as nanoseconds since b.base.
func (b *Balancer) now() int64 { return int64(b.cfg.now().Sub(b.base)) }

func (b *Balancer) abs(t int64) time.Time { return b.base.Add(time.Duration(t)) }

// Next returns the next node of the schedule. It fails at once with
// ErrNoBackends, ErrAllDrained or ErrAllEjected when no node serves.
func (b *Balancer) Next() (weights.Node, error) {
	s := b.cur.Load()
	if s.deadline != never {
		s = b.due(s)
	}
	if s.err != nil {
		return weights.Node{}, s.err
	}
	p := s.mod(s.ctr.Add(1) - 1)
	switch s.kind {
	case kindTable8:
		return s.nodes[s.t8[p]], nil
	case kindTable16:
		return s.nodes[s.t16[p]], nil
	case kindRows:
		return s.rowNodes[s.rowRank(p)], nil
	}
	return *s.node(p), nil
}

// NextExcluding is Next for retries: it returns a serving node that is not
// in tried and records it there. It takes the next node of the schedule and,
// when that one was tried, the next eligible node in schedule order within a
// small bounded window, then a weighted choice among the untried nodes, so
// its work is bounded by the size of tried, never by weights. It fails at
// once with ErrAllExcluded when every serving node was tried (and with the
// errors of Next when none serves). A nil tried is an empty set that records
// nothing.
func (b *Balancer) NextExcluding(tried *Tried) (weights.Node, error) {
	nd, err := b.load().nextExcluding(tried)
	if err != nil {
		return weights.Node{}, err
	}
	if tried != nil {
		tried.Add(nd.ID)
	}
	return *nd, nil
}

// load returns the current schedule, first applying the clock-driven
// changes (ejection expiry, slow-start steps) when one is due.
func (b *Balancer) load() *schedule {
	s := b.cur.Load()
	if s.deadline != never {
		s = b.due(s)
	}
	return s
}

// due applies the clock-driven changes if s's deadline has passed and
// returns the schedule to pick from. Whoever gets the lock rebuilds; picks
// that find it taken use the current schedule meanwhile.
func (b *Balancer) due(s *schedule) *schedule {
	if b.now() < s.deadline {
		return s
	}
	if b.mu.TryLock() {
		if s == b.cur.Load() {
			b.rebuild(b.now(), s)
		}
		b.mu.Unlock()
	}
	return b.cur.Load()
}

// expire applies the clock to the per-node state: ejections that ended
// become (with slow start) ramps, ramps that ended become plain serving.
func (b *Balancer) expire(now int64) {
	for i, end := range b.until {
		if now >= end {
			if b.cfg.slowStart > 0 && b.nodes[i].Weight > 0 {
				b.ramp[i] = end
			}
			delete(b.until, i)
		}
	}
	for i, start := range b.ramp {
		if now-start >= int64(b.cfg.slowStart) {
			delete(b.ramp, i)
		}
	}
}

// effective returns node i's weight for picking at now, its state and the
// time its effective weight next changes (never if it does not).
func (b *Balancer) effective(i int, now int64) (uint32, State, int64) {
	w := b.nodes[i].Weight
	if w == 0 {
		return 0, Drained, never
	}
	if end := b.until.get(i); end != never && now < end {
		return 0, Ejected, end
	}
	if start := b.ramp.get(i); start != never && b.cfg.slowStart > 0 {
		d := int64(b.cfg.slowStart)
		e := now - start
		if e < 0 {
			e = 0
		}
		if e < d {
			step := int64(float64(e) / float64(d) * rampSteps)
			if step >= rampSteps {
				step = rampSteps - 1
			}
			eff := uint64(w) * uint64(step+1) / (rampSteps + 1)
			if eff < 1 {
				eff = 1
			}
			next := start + int64(float64(d)*float64(step+1)/rampSteps)
			if next <= now {
				next = now + 1
			}
			return uint32(eff), Ramping, next
		}
	}
	return w, Serving, never
}

// rebuild computes the effective weights at now and swaps in a new
// schedule; prev (may be nil) is the schedule being replaced, whose position
// carries over where the algorithm allows. b.mu must be held.
func (b *Balancer) rebuild(now int64, prev *schedule) {
	b.expire(now)
	eff := make([]uint32, len(b.nodes))
	deadline := int64(never)
	var nonDrained, serving int
	for i := range b.nodes {
		w, st, next := b.effective(i, now)
		if plantEjectedPicked && st == Ejected {
			w = b.nodes[i].Weight
		}
		eff[i] = w
		if st != Drained {
			nonDrained++
		}
		if w > 0 {
			serving++
		}
		if next != never && (deadline == never || next < deadline) {
			deadline = next
		}
	}
	var err error
	switch {
	case len(b.nodes) == 0:
		err = ErrNoBackends
	case nonDrained == 0:
		err = ErrAllDrained
	case serving == 0:
		err = ErrAllEjected
	}
	s := newSchedule(b.m, eff, &b.cfg, prev)
	s.err = err
	s.deadline = deadline
	b.cur.Store(s)
}

// Update replaces the node set atomically for readers. Nodes are matched to
// the current ones by id: ejections and slow-start ramps carry over, a node
// that is new or goes from weight 0 to a positive weight starts slow start
// (when enabled). The position in the cycle carries over as described in
// the package comment.
//
// The update is refused with an *UpdateError, and the current state keeps
// serving, when a node has an empty or duplicate id (ErrInvalidNode), when
// the set is empty (ErrNoBackends) or has no node with a positive weight
// (ErrAllDrained), or when WithMaxWeightDrop is set and the total weight
// drops by more than the allowed share (ErrWeightDrop).
func (b *Balancer) Update(nodes []weights.Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	oldTotal := totalWeight(b.nodes)
	newTotal := totalWeight(nodes)
	refuse := func(cause error, detail string) error {
		return &UpdateError{Cause: cause, Detail: detail, OldTotal: oldTotal, NewTotal: newTotal}
	}
	m, bad, why := newMembers(nodes)
	if why != "" {
		return refuse(ErrInvalidNode, fmt.Sprintf("node #%d %q: %s", bad, nodes[bad].ID, why))
	}
	if len(nodes) == 0 {
		return refuse(ErrNoBackends, "the new set is empty")
	}
	if newTotal == 0 {
		if plantRefusedApplied {
			b.m, b.nodes = m, m.nodes
		}
		return refuse(ErrAllDrained, fmt.Sprintf("all %d nodes of the new set have weight 0", len(nodes)))
	}
	if b.cfg.maxDrop > 0 && oldTotal > 0 && float64(newTotal) < float64(oldTotal)*(1-b.cfg.maxDrop) {
		return refuse(ErrWeightDrop, fmt.Sprintf("total weight would fall from %d to %d, more than %.4g of it", oldTotal, newTotal, b.cfg.maxDrop))
	}
	now := b.now()
	b.expire(now)
	until, ramp := times{}, times{}
	for i, n := range nodes {
		j := b.m.lookup(n.ID)
		ok := j >= 0
		switch {
		case ok && n.Weight > 0 && b.nodes[j].Weight > 0:
			until.set(i, b.until.get(j))
			ramp.set(i, b.ramp.get(j))
		case ok:
			// Drained before or after: an ejection carries over; a node
			// that starts serving ramps (from the end of its ejection, if
			// it has one).
			until.set(i, b.until.get(j))
			if n.Weight > 0 && b.cfg.slowStart > 0 && until.get(i) == never {
				ramp.set(i, now)
			}
		case n.Weight > 0 && b.cfg.slowStart > 0:
			ramp.set(i, now)
		}
	}
	b.m, b.nodes = m, m.nodes
	b.until = until
	b.ramp = ramp
	b.capEjections(now)
	b.rebuild(now, b.cur.Load())
	return nil
}

func totalWeight(nodes []weights.Node) uint64 {
	var t uint64
	for _, n := range nodes {
		t += uint64(n.Weight)
	}
	return t
}

// maxEjected returns how many nodes may be ejected at once, how many are,
// and how many nodes are not drained.
func (b *Balancer) maxEjected() (limit, ejected, nonDrained int) {
	for _, n := range b.nodes {
		if n.Weight > 0 {
			nonDrained++
		}
	}
	for i := range b.until {
		if b.nodes[i].Weight > 0 {
			ejected++
		}
	}
	return nonDrained * b.cfg.maxEjectPct / 100, ejected, nonDrained
}

// capEjections lifts the ejections that end soonest until the ejected share
// is within the limit (an update can shrink the set under its ejections).
func (b *Balancer) capEjections(now int64) {
	limit, ejected, _ := b.maxEjected()
	if ejected <= limit {
		return
	}
	var idx []int
	for i := range b.until {
		if b.nodes[i].Weight > 0 {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(x, y int) bool {
		if a, c := b.until[idx[x]], b.until[idx[y]]; a != c {
			return a < c
		}
		return idx[x] < idx[y]
	})
	for _, i := range idx[:ejected-limit] {
		delete(b.until, i)
		if b.cfg.slowStart > 0 {
			b.ramp[i] = now
		}
	}
}

// Eject takes node id out of the rotation until the given time (by the
// balancer's clock); after it the node comes back by itself (with slow
// start when enabled). Ejecting an ejected node keeps the later of the two
// times. A time not after the clock's now does nothing. Eject fails with
// ErrUnknownNode for an id that is not a member, and with ErrEjectLimit when
// the share of ejected nodes (drained nodes not counted) would exceed the
// maximum set by WithMaxEjectedPercent.
func (b *Balancer) Eject(id string, until time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.m.lookup(id)
	if i < 0 {
		return fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	now := b.now()
	b.expire(now)
	end := int64(until.Sub(b.base))
	if end <= now {
		return nil
	}
	if cur := b.until.get(i); cur != never {
		if end > cur {
			b.until[i] = end
			b.rebuild(now, b.cur.Load())
		}
		return nil
	}
	if b.nodes[i].Weight > 0 {
		limit, ejected, nonDrained := b.maxEjected()
		if ejected+1 > limit {
			return fmt.Errorf("%w: ejecting %q would make %d of %d nodes ejected, above %d%%",
				ErrEjectLimit, id, ejected+1, nonDrained, b.cfg.maxEjectPct)
		}
	}
	b.until[i] = end
	delete(b.ramp, i)
	b.rebuild(now, b.cur.Load())
	return nil
}

// Restore ends node id's ejection now (starting slow start when enabled).
// Restoring a node that is not ejected does nothing. It fails with
// ErrUnknownNode for an id that is not a member.
func (b *Balancer) Restore(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.m.lookup(id)
	if i < 0 {
		return fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	now := b.now()
	b.expire(now)
	if b.until.get(i) == never {
		return nil
	}
	delete(b.until, i)
	if b.cfg.slowStart > 0 && b.nodes[i].Weight > 0 {
		b.ramp[i] = now
	}
	b.rebuild(now, b.cur.Load())
	return nil
}

// States returns every member in order with its configured and effective
// weight and its state, as of the balancer's clock now.
func (b *Balancer) States() []NodeState {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if s := b.cur.Load(); s.deadline != never && now >= s.deadline {
		b.rebuild(now, s)
	}
	out := make([]NodeState, len(b.nodes))
	for i, n := range b.nodes {
		w, st, _ := b.effective(i, now)
		ns := NodeState{ID: n.ID, Weight: n.Weight, Effective: w, State: st}
		if st == Ejected {
			ns.EjectedUntil = b.abs(b.until[i])
		}
		if st == Ramping {
			ns.RampEnd = b.abs(b.ramp[i] + int64(b.cfg.slowStart))
		}
		out[i] = ns
	}
	return out
}

// Len returns the number of members (serving or not).
func (b *Balancer) Len() int { return len(b.cur.Load().nodes) }
