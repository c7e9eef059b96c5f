package feed

import (
	"fmt"
	"slices"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// WithIDRule adds a rule that the id of every node the decoder accepted must
// also pass: check returns "" for an id it accepts and otherwise says why
// not. A node it refuses is rejected with reason, as a node the weights
// policy rejects is: left out of the update, listed in the Status and
// logged, and under weights.RefuseWhole the whole update is refused (so is
// an update whose every node is rejected). The reject's Raw is the weight
// the node was accepted with. Package grpcwrr uses it to keep out ids that
// grpc-go would dial as something other than a TCP address. Rules add up:
// a node must pass every one, and the first it breaks is its reason.
func WithIDRule(reason weights.Reason, check func(id string) string) Option {
	return optionFunc(func(c *config) {
		if check != nil {
			c.idRules = append(c.idRules, idRule{reason, check})
		}
	})
}

type idRule struct {
	reason weights.Reason
	check  func(id string) string
}

// idRules are the rules of WithIDRule, in the order given.
type idRules []idRule

// broken returns the first rule id breaks and why.
func (rs idRules) broken(id string) (weights.Reason, string) {
	for _, r := range rs {
		if why := r.check(id); why != "" {
			return r.reason, why
		}
	}
	return "", ""
}

// apply rejects the nodes of snap whose id breaks a rule, in rep. It changes
// nothing for a report that is already refused.
func (rs idRules) apply(snap weights.Snapshot, rep registry.Report, partial weights.PartialMode) (weights.Snapshot, registry.Report) {
	if len(rs) == 0 || rep.Refused != nil {
		return snap, rep
	}
	rejected := make(map[int]bool, len(rep.Rejected))
	for _, e := range rep.Rejected {
		rejected[e.Index] = true
	}
	var kept []weights.Node
	index := 0 // the payload position of node k: the k-th one not rejected
	for k, n := range snap.Nodes {
		for rejected[index] {
			index++
		}
		if reason, why := rs.broken(n.ID); why != "" {
			if kept == nil {
				kept = slices.Clone(snap.Nodes[:k])
			}
			rep.Rejected = append(rep.Rejected, &weights.NodeError{Index: index, ID: n.ID, Raw: weights.Int(int64(n.Weight)), Reason: reason, Detail: why})
		} else if kept != nil {
			kept = append(kept, n)
		}
		index++
	}
	if kept == nil {
		return snap, rep
	}
	slices.SortStableFunc(rep.Rejected, func(a, b *weights.NodeError) int { return a.Index - b.Index })
	switch {
	case partial == weights.RefuseWhole:
		rep.Refused = fmt.Errorf("%w: %d of %d nodes rejected and the policy refuses partial snapshots", weights.ErrRefused, len(rep.Rejected), rep.Entries)
		kept = nil
	case len(kept) == 0:
		rep.Refused = fmt.Errorf("%w: all %d nodes rejected", weights.ErrRefused, rep.Entries)
	}
	snap.Nodes = kept
	return snap, rep
}
