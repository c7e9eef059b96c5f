package feed

import (
	"fmt"

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
	case c.sink != nil && len(c.balancer) > 0:
		return fmt.Errorf("feed: WithBalancer configures the balancer the feed builds; with WithSink, configure the sink")
	}
	return nil
}

// servable refuses a set that leaves nothing to serve, whatever the sink:
// the same refusals, in the same words, as balancer.Balancer.Update's.
func servable(nodes []weights.Node) error {
	if len(nodes) == 0 {
		return &balancer.UpdateError{Cause: balancer.ErrNoBackends, Detail: "the new set is empty"}
	}
	var total uint64
	for _, n := range nodes {
		total += uint64(n.Weight)
	}
	if total == 0 {
		return &balancer.UpdateError{Cause: balancer.ErrAllDrained, Detail: fmt.Sprintf("all %d nodes of the new set have weight 0", len(nodes))}
	}
	return nil
}
