package balancer

import (
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
	oldTotal := totalWeight(b.m.nodes)
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
			b.m = m
		}
		return refuse(ErrAllDrained, fmt.Sprintf("all %d nodes of the new set have weight 0", len(nodes)))
	}
	if b.cfg.maxDrop > 0 && oldTotal > 0 && float64(newTotal) < float64(oldTotal)*(1-b.cfg.maxDrop) {
		return refuse(ErrWeightDrop, fmt.Sprintf("total weight would fall from %d to %d, more than %.4g of it", oldTotal, newTotal, b.cfg.maxDrop))
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

func totalWeight(nodes []weights.Node) uint64 {
	var t uint64
	for _, n := range nodes {
		t += uint64(n.Weight)
	}
	return t
}
