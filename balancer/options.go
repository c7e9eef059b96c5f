package balancer

import (
	"fmt"
	"math"
	"time"
)

// Algorithm selects the pick sequence. The zero value is Smooth.
type Algorithm int

const (
	// Smooth is nginx's smooth weighted round robin.
	Smooth Algorithm = iota
	// Resty is lua-resty-balancer's resty.roundrobin (gcd-stepped interleave).
	Resty
)

// String returns "smooth" or "resty".
func (a Algorithm) String() string {
	switch a {
	case Smooth:
		return "smooth"
	case Resty:
		return "resty"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// ParseAlgorithm turns "smooth" or "resty" into an Algorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "smooth":
		return Smooth, nil
	case "resty":
		return Resty, nil
	}
	return 0, fmt.Errorf("balancer: unknown algorithm %q (want smooth or resty)", s)
}

// DefaultMaxEjectedPercent is the share of non-drained nodes that may be
// ejected at the same time unless WithMaxEjectedPercent says otherwise.
const DefaultMaxEjectedPercent = 50

// An Option configures a Balancer in New.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	algo        Algorithm
	start       int // Resty: index of the node find() starts after; -1 = last node
	now         func() time.Time
	slowStart   time.Duration
	randomStart bool
	seed        int64
	maxEjectPct int
	maxDrop     float64 // 0 = no guard
}

func defaultConfig() config {
	return config{algo: Smooth, start: -1, now: time.Now, maxEjectPct: DefaultMaxEjectedPercent}
}

// WithAlgorithm selects Smooth (the default) or Resty.
func WithAlgorithm(a Algorithm) Option {
	return optionFunc(func(c *config) error {
		if a != Smooth && a != Resty {
			return fmt.Errorf("balancer: unknown algorithm %d", int(a))
		}
		c.algo = a
		return nil
	})
}

// WithStart sets, for Resty, the index of the node that find() starts after,
// like resty.roundrobin's random last_id: the first scan begins at node i+1
// with the current weight at the maximum weight. The default is the last node
// (see the package comment). The index is into the nodes given to New; it
// must be in range when New is called. Smooth ignores it, and so does a
// cycle too long for an exact table (see Schedules in the package comment).
func WithStart(i int) Option {
	return optionFunc(func(c *config) error {
		if i < 0 {
			return fmt.Errorf("balancer: start index %d must be non-negative", i)
		}
		c.start = i
		return nil
	})
}

// WithClock sets the clock used for ejection expiry and slow start. The
// default is time.Now. Tests pass a fake clock and never sleep.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return fmt.Errorf("balancer: clock must not be nil")
		}
		c.now = now
		return nil
	})
}

// WithSlowStart makes a node that joins through Update (or goes from weight
// 0 to a positive weight) or comes back from ejection ramp its effective
// weight from about a tenth of its weight to its full weight over window, in
// ten steps (each step reaches the picks through one background build; see
// the package comment). Nodes given to New, and the nodes of an Update
// from an empty set, start at full weight. A window of 0 turns slow start
// off (the default).
func WithSlowStart(window time.Duration) Option {
	return optionFunc(func(c *config) error {
		if window < 0 {
			return fmt.Errorf("balancer: slow start window %v must be non-negative", window)
		}
		c.slowStart = window
		return nil
	})
}

// WithRandomStart starts the balancer at a point of the cycle drawn from the
// seed, so that a fleet of proxies built from the same nodes does not send
// its first picks to the same node: give each process its own seed (from
// its host name, pid or start time). For Resty the starting point is any
// resty.roundrobin state (last node, current weight), not only the states
// with the current weight at the maximum. It overrides WithStart.
func WithRandomStart(seed int64) Option {
	return optionFunc(func(c *config) error {
		c.randomStart = true
		c.seed = seed
		return nil
	})
}

// WithMaxEjectedPercent sets the largest share (0 to 100) of the nodes that
// are not drained which may be ejected at the same time; an Eject beyond it
// fails with ErrEjectLimit. The default is DefaultMaxEjectedPercent (50).
// 0 forbids ejection; 100 allows ejecting every node.
func WithMaxEjectedPercent(p int) Option {
	return optionFunc(func(c *config) error {
		if p < 0 || p > 100 {
			return fmt.Errorf("balancer: max ejected percent %d must be between 0 and 100", p)
		}
		c.maxEjectPct = p
		return nil
	})
}

// WithMaxWeightDrop refuses (with an *UpdateError wrapping ErrWeightDrop) an
// update whose total weight is lower than the current total by more than
// share of it; share is in (0, 1]. For example 0.5 refuses an update whose
// total weight is less than half of the current total. Weights are the
// configured ones (ejection and slow start do not count). Without this
// option there is no such guard.
func WithMaxWeightDrop(share float64) Option {
	return optionFunc(func(c *config) error {
		if math.IsNaN(share) || share <= 0 || share > 1 {
			return fmt.Errorf("balancer: max weight drop %v must be in (0, 1]", share)
		}
		c.maxDrop = share
		return nil
	})
}
