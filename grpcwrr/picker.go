package grpcwrr

import (
	"google.golang.org/grpc/balancer"

	wrr "github.com/safewrr/safewrr/balancer"
)

// picker picks with the safewrr balancer and hands the RPC to the chosen
// endpoint's pick_first child. It is immutable; the balancer inside it is
// safe for concurrent use and swaps its schedule atomically.
type picker struct {
	b       *wrr.Balancer
	ready   map[string]balancer.Picker // READY endpoints by id
	members int
}

func newPicker(b *wrr.Balancer, ready map[string]balancer.Picker, members int) *picker {
	return &picker{b: b, ready: ready, members: members}
}

// Pick takes the balancer's next node; when that endpoint is not READY
// (a failed endpoint beyond the ejection cap, or one reconnecting) it takes
// the next untried node, at most once per member.
func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	n, err := p.b.Next()
	if err == nil {
		if cp, ok := p.ready[n.ID]; ok {
			return cp.Pick(info)
		}
		return p.passOver(info, n.ID)
	}
	// Nothing serves (every node ejected or drained): the state changed
	// under this picker, and the policy is installing the next one.
	return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
}

func (p *picker) passOver(info balancer.PickInfo, first string) (balancer.PickResult, error) {
	var tried wrr.Tried
	tried.Add(first)
	for range p.members {
		n, err := p.b.NextExcluding(&tried)
		if err != nil {
			break
		}
		if cp, ok := p.ready[n.ID]; ok {
			return cp.Pick(info)
		}
	}
	// The policy installs this picker only while a READY endpoint serves, and
	// installs a new one after every change to the balancer: one is on its
	// way.
	return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
}

// queuePicker holds RPCs until a picker with a READY endpoint comes.
type queuePicker struct{}

func (queuePicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
}
