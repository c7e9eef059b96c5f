package balancer

import (
	"errors"
	"fmt"

	"github.com/safewrr/safewrr/weights"
)

// Update replaces the node set atomically for readers: it builds the new
// schedule in the caller and returns once picks use it. Ejections and
// slow-start ramps are kept by id, so they follow their node; a node that
// leaves and comes back while its ejection or ramp runs comes back in that
// state. A node that is new (with no ejection or ramp on record) or goes
// from weight 0 to a positive weight starts slow start (when enabled),
// except in an update from an empty set: the first nodes a balancer gets
// serve at full weight at once, whether given to New or to the first
// Update, since there is nothing for them to ramp up beside. The position in
// the cycle carries over as described in the package comment.
//
// The update is refused with an *UpdateError, and the current state keeps
// serving, when a node has an empty or duplicate id (ErrInvalidNode), when
// the set is empty (ErrNoBackends) or has no node with a positive weight
// (ErrAllDrained), or when WithMaxWeightDrop is set and the total weight
// drops by more than the allowed share (ErrWeightDrop).
func (b *Balancer) Update(nodes []weights.Node) error {
	b.buildMu.Lock()
	defer b.buildMu.Unlock()
	if err := b.setNodes(nodes); err != nil {
		return err
	}
	b.build()
	return nil
}

// setNodes validates nodes and makes them the members. b.buildMu must be
// held.
func (b *Balancer) setNodes(nodes []weights.Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, bad, why := newMembers(nodes)
	if why != "" {
		return &UpdateError{Cause: ErrInvalidNode, Detail: fmt.Sprintf("node #%d %q: %s", bad, nodes[bad].ID, why),
			OldTotal: totalWeight(b.m.nodes), NewTotal: totalWeight(nodes)}
	}
	if err := CheckUpdate(b.m.nodes, nodes, b.cfg.maxDrop); err != nil {
		if plantRefusedApplied && errors.Is(err, ErrAllDrained) {
			b.m = m
		}
		return err
	}
	now := b.now()
	b.expire(now)
	if b.cfg.slowStart > 0 && len(b.m.nodes) > 0 {
		for _, n := range nodes {
			if n.Weight == 0 {
				continue
			}
			_, ejected := b.until[n.ID]
			_, ramping := b.ramp[n.ID]
			j := b.m.lookup(n.ID)
			if !ejected && !ramping && (j < 0 || b.m.nodes[j].Weight == 0) {
				b.ramp[n.ID] = now
				b.nextExpiry = min(b.nextExpiry, now+int64(b.cfg.slowStart))
			}
		}
	}
	b.m = m
	b.countEjected()
	b.capEjections(now)
	b.gen.Add(1)
	return nil
}

// CheckUpdate says whether Update would refuse to replace the node set old
// by nodes for what the sets hold, without a balancer: an empty set
// (ErrNoBackends), a set where every weight is 0 (ErrAllDrained), and, when
// maxDrop is above 0, a total weight lower than old's by more than maxDrop
// of it (ErrWeightDrop, as WithMaxWeightDrop). It returns the *UpdateError
// Update would (as an error), or nil. Ids are not checked. A source that hands node sets
// to something other than a Balancer (package feed's sinks) applies the
// same guards with it.
func CheckUpdate(old, nodes []weights.Node, maxDrop float64) error {
	oldTotal, newTotal := totalWeight(old), totalWeight(nodes)
	refuse := func(cause error, detail string) error {
		return &UpdateError{Cause: cause, Detail: detail, OldTotal: oldTotal, NewTotal: newTotal}
	}
	switch {
	case len(nodes) == 0:
		return refuse(ErrNoBackends, "the new set is empty")
	case newTotal == 0:
		return refuse(ErrAllDrained, fmt.Sprintf("all %d nodes of the new set have weight 0", len(nodes)))
	case maxDrop > 0 && oldTotal > 0 && float64(newTotal) < float64(oldTotal)*(1-maxDrop):
		return refuse(ErrWeightDrop, fmt.Sprintf("total weight would fall from %d to %d, more than %.4g of it", oldTotal, newTotal, maxDrop))
	}
	return nil
}

func totalWeight(nodes []weights.Node) uint64 {
	var t uint64
	for _, n := range nodes {
		t += uint64(n.Weight)
	}
	return t
}
