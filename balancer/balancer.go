package balancer

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// rampSteps is how many times a slow-start ramp changes the effective
// weight over its window.
const rampSteps = 10

// never marks "no time": no ejection, no ramp, no deadline.
const never = math.MinInt64

// Balancer picks nodes by weighted round robin. Create one with New. It is
// safe for concurrent use: Next and NextExcluding take no lock and allocate
// nothing; Eject and Restore record the change and return, a schedule that
// reflects it is built off the request path (see the package comment);
// Update builds the new schedule in its caller.
type Balancer struct {
	cur atomic.Pointer[schedule]

	building atomic.Bool    // a background build goroutine runs
	builds   sync.WaitGroup // background build goroutines, for tests
	buildMu  sync.Mutex     // one build at a time

	mu  sync.Mutex // guards everything below; held for bookkeeping only, never for a build
	cfg config
	// base: times below are nanoseconds since base.
	base time.Time
	m    *members
	// gen counts the changes a schedule must reflect; a schedule records
	// the gen it was built for. Written under mu; picks read it only when
	// their schedule serves nothing.
	gen atomic.Uint64
	// until: ejected ids, members or not, until when. ramp: ids in slow
	// start, since when. Both are keyed by id, so that a node removed and
	// added again finds its state; entries go once their time is over.
	until, ramp map[string]int64
	// nextExpiry: no entry of until or ramp ends before it.
	nextExpiry int64
	// ejected: members with a positive weight that are in until.
	ejected int
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
		cfg:        cfg,
		base:       cfg.now(),
		m:          m,
		until:      map[string]int64{},
		ramp:       map[string]int64{},
		nextExpiry: math.MaxInt64,
	}
	b.Sync()
	return b, nil
}

// now returns the clock as nanoseconds since b.base.
func (b *Balancer) now() int64 { return int64(b.cfg.now().Sub(b.base)) }

func (b *Balancer) abs(t int64) time.Time { return b.base.Add(time.Duration(t)) }

// Next returns the next node of the schedule. It fails at once with
// ErrNoBackends, ErrAllDrained or ErrAllEjected when no node serves.
func (b *Balancer) Next() (weights.Node, error) {
	s := b.cur.Load()
	if s.deadline != never && !s.kicked.Load() {
		b.due(s)
	}
	if s.err != nil {
		return b.failed(s, s.ctr.Add(1)-1, nil, s.err)
	}
	c := s.ctr.Add(1) - 1
	if pd := s.pend.Load(); pd != nil {
		nd, err := s.pick(c, pd, nil)
		if err != nil {
			return b.failed(s, c, nil, err)
		}
		return *nd, nil
	}
	p := s.mod(c)
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
// in tried and records it there. It takes the next node of the schedule
// and, when that one was tried, makes the same choice as for a node ejected
// since the last build (see the package comment): the next point of the
// golden-ratio sequence over the untried serving nodes' weights. A failing
// node's retries are thus spread over the untried nodes in proportion to
// their weights, evenly over short windows too (as nginx re-runs its choice
// over the peers a request has not tried), not handed to the node after it
// in the cycle. The choice depends only on the pick counts; its work is
// bounded by the size of tried and the logarithm of the node count, never
// by weights.
// It fails at once with ErrAllExcluded when every serving node was tried
// (and with the errors of Next when none serves). A nil tried is an empty
// set that records nothing.
func (b *Balancer) NextExcluding(tried *Tried) (weights.Node, error) {
	s := b.cur.Load()
	if s.deadline != never && !s.kicked.Load() {
		b.due(s)
	}
	c := s.ctr.Add(1) - 1
	if s.err != nil {
		return b.failed(s, c, tried, s.err)
	}
	nd, err := s.pick(c, s.pend.Load(), tried)
	if err != nil {
		return b.failed(s, c, tried, err)
	}
	if tried != nil {
		tried.Add(nd.ID)
	}
	return *nd, nil
}

// failed answers a pick that found no node in schedule s (err). Nodes that
// s left out as ejected and that came back since it was built (restored,
// or their ejection ended) are not in s yet: rather than fail a request
// they could serve, the pick chooses among them, in proportion to their
// configured weights (slow start does not apply to these few picks), while
// the build that brings them in runs. The work is bounded by the number of
// nodes s left out; with none back, err is returned at once.
func (b *Balancer) failed(s *schedule, c uint64, tried *Tried, err error) (weights.Node, error) {
	if err != ErrAllEjected && err != ErrAllExcluded {
		return weights.Node{}, err
	}
	if out := s.out.Load(); out != nil {
		now := b.now()
		back := func(o outNode) uint64 {
			if o.end > now || tried.Has(s.nodes[o.pos].ID) {
				return 0
			}
			return uint64(s.nodes[o.pos].Weight)
		}
		var total uint64
		for _, o := range *out {
			total += back(o)
		}
		if total > 0 {
			b.kick()
			q := c % total
			for _, o := range *out {
				w := back(o)
				if q < w {
					nd := s.nodes[o.pos]
					if tried != nil {
						tried.Add(nd.ID)
					}
					return nd, nil
				}
				q -= w
			}
		}
	}
	if err == ErrAllEjected && tried.Len() > 0 && b.triedServing(tried) {
		return weights.Node{}, ErrAllExcluded
	}
	return weights.Node{}, err
}

// triedServing reports whether a node in t serves by the balancer's own
// record (a member with weight above 0 whose ejection, if any, has ended).
// A pick whose schedule still counts such a node as ejected then failed
// because the node was tried, not because it is ejected. Called only by a
// failing pick; the work is O(len(t) log n).
func (b *Balancer) triedServing(t *Tried) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for k := 0; k < t.Len(); k++ {
		id := t.at(k)
		i := b.m.lookup(id)
		if i < 0 || b.m.nodes[i].Weight == 0 {
			continue
		}
		if end, ejected := b.until[id]; !ejected || end <= now {
			return true
		}
	}
	return false
}

// due starts a background build when s's deadline has passed: one clock
// read, and for the first pick that finds it passed one goroutine start.
func (b *Balancer) due(s *schedule) {
	if b.now() >= s.deadline && s.kicked.CompareAndSwap(false, true) {
		b.kick()
	}
}

// Len returns the number of members (serving or not).
func (b *Balancer) Len() int { return len(b.cur.Load().nodes) }
