package feed

import (
	"fmt"
	"math"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// A Sink takes the node sets a Feed applies: whoever balances over them (a
// *balancer.Balancer, a gRPC client's endpoints, a proxy's upstream pool).
// The feed never builds what is behind a sink; it decides what reaches it.
//
// Update gets each good set, in the registry's order, after the feed's
// guards: the payload was read and decoded, the weights policy accepted it,
// rejected nodes are left out, at least one node has a positive weight, and
// it differs from the payload applied last. Ids are distinct and non-empty;
// weights are validated integers (0 drains a node). The slice is the
// feed's and is not changed afterwards; the sink must not modify it.
//
// An error refuses the set: the feed records it as a refused update (stage
// "balancer"), keeps its last good state, and hands the next payload that
// differs to Update again. Update is called by one poll at a time, never
// concurrently, and must not call back into the feed's Poll (Status, Wait
// and Trigger are fine).
type Sink interface {
	Update(nodes []weights.Node) error
}

// The balancer the feed builds without WithSink is a Sink.
var _ Sink = (*balancer.Balancer)(nil)

// WithSink makes the feed hand every good node set to s instead of to a
// balancer of its own; Balancer then returns s when s is a
// *balancer.Balancer and nil otherwise. Configure a balancer you pass here
// yourself: WithBalancer, which configures the balancer the feed builds,
// is an error together with WithSink.
//
// Pass a *balancer.Balancer built with balancer.New(nil, ...) to own its
// options and lifetime; its first nodes serve at full weight (an update
// from an empty set skips slow start) and later additions ramp.
func WithSink(s Sink) Option {
	return optionFunc(func(c *config) { c.sink, c.sinkSet = s, true })
}

// sinkCheck reports a bad combination of WithSink and other options.
func (c *config) sinkCheck() error {
	switch {
	case c.sinkSet && (c.sink == nil || c.sink == Sink((*balancer.Balancer)(nil))):
		return fmt.Errorf("feed: nil Sink")
	case math.IsNaN(c.maxDrop) || c.maxDrop < 0 || c.maxDrop > 1 || c.maxDropSet && c.maxDrop == 0:
		return fmt.Errorf("feed: max weight drop %v must be in (0, 1]", c.maxDrop)
	case c.sink != nil && len(c.balancer) > 0:
		return fmt.Errorf("feed: WithBalancer configures the balancer the feed builds; with WithSink, configure the sink")
	}
	return nil
}

// WithMaxWeightDrop refuses an update whose total weight is lower than the
// last applied one's by more than share of it, share in (0, 1], whatever
// the sink: the rule of balancer.WithMaxWeightDrop (0.5 refuses an update
// that would halve the total weight or worse), applied by the feed. The
// default is no such guard.
func WithMaxWeightDrop(share float64) Option {
	return optionFunc(func(c *config) { c.maxDrop, c.maxDropSet = share, true })
}
