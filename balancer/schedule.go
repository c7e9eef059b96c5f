package balancer

import (
	"sync"

	"github.com/safewrr/safewrr/weights"
)

// schedule is an immutable view of the node set with its effective weights.
type schedule struct {
	nodes    []weights.Node
	eff      []uint32
	algo     Algorithm
	err      error // set when no node serves
	deadline int64 // when the clock-driven state changes next; never = no change

	mu   sync.Mutex
	cw   []int64 // smooth current weights
	last int     // resty last picked index
	rcw  uint64  // resty current weight
	max  uint64
	gcd  uint64
	tot  int64
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newSchedule(nodes []weights.Node, eff []uint32, cfg *config, prev *schedule) *schedule {
	s := &schedule{nodes: nodes, eff: eff, algo: cfg.algo, cw: make([]int64, len(nodes))}
	for _, w := range eff {
		if w > 0 {
			s.gcd = gcd(s.gcd, uint64(w))
			s.max = max(s.max, uint64(w))
			s.tot += int64(w)
		}
	}
	s.rcw = s.max
	s.last = len(nodes) - 1
	if cfg.start >= 0 && cfg.start < len(nodes) {
		s.last = cfg.start
	}
	return s
}

func (s *schedule) next() (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pick(nil), nil
}

func (s *schedule) nextExcluding(t *Tried) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	ok := false
	for i, w := range s.eff {
		if w > 0 && !t.Has(s.nodes[i].ID) {
			ok = true
			break
		}
	}
	if !ok {
		return 0, ErrAllExcluded
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pick(t), nil
}

// pick runs one step of the algorithm, skipping nodes in t (bounded: the
// caller checked that an untried serving node exists).
func (s *schedule) pick(t *Tried) int {
	if s.algo == Resty {
		n := len(s.nodes)
		for {
			for i := s.last + 1; i < n; i++ {
				if uint64(s.eff[i]) >= s.rcw && !t.Has(s.nodes[i].ID) {
					s.last = i
					return i
				}
			}
			s.last = -1
			if s.rcw <= s.gcd {
				s.rcw = s.max
			} else {
				s.rcw -= s.gcd
			}
		}
	}
	best := -1
	for i, w := range s.eff {
		if w == 0 {
			continue
		}
		s.cw[i] += int64(w)
		if t.Has(s.nodes[i].ID) {
			continue
		}
		if best < 0 || s.cw[i] > s.cw[best] {
			best = i
		}
	}
	s.cw[best] -= s.tot
	return best
}
