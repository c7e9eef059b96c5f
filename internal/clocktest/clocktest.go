// Package clocktest is a clock that tests move by hand, for code that takes
// its time from an injected func() time.Time; tests never sleep.
package clocktest

import (
	"sync"
	"time"
)

// Start is where a new Clock begins: 2021-07-13 22:52 UTC, when the incident
// this project is named for began.
var Start = time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)

// Clock is a manual clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock at Start.
func New() *Clock { return &Clock{t: Start} }

// Now returns the clock's time; pass c.Now where a func() time.Time is taken.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
