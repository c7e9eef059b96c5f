package grpcwrr

import (
	"strconv"

	"google.golang.org/grpc/resolver"

	"github.com/safewrr/safewrr/weights"
)

// entryKey is the attributes key of the registry entry attached to an
// endpoint.
type entryKey struct{}

// entryAttr holds a weights.Entry in resolver attributes. weights.Raw holds
// slices, so it is compared field by field, the weight by kind and text.
type entryAttr struct{ e weights.Entry }

// Equal reports whether o holds the same entry, for attributes.Equal.
func (a entryAttr) Equal(o any) bool {
	b, ok := o.(entryAttr)
	return ok && a.e.ID == b.e.ID && a.e.Drained == b.e.Drained &&
		a.e.Reject == b.e.Reject && a.e.Detail == b.e.Detail &&
		a.e.Weight.Kind == b.e.Weight.Kind && a.e.Weight.String() == b.e.Weight.String()
}

// SetWeight returns ep with its weight attached exactly as the registry sent
// it (a JSON number keeps its text, a string stays a string). The policy
// decides later whether the value is a usable weight. The endpoint's id is
// its first address.
func SetWeight(ep resolver.Endpoint, raw weights.Raw) resolver.Endpoint {
	return SetEntry(ep, weights.Entry{Weight: raw})
}

// SetEntry returns ep with a whole registry entry attached: the weight as
// sent, and optionally the node id (empty means the endpoint's first
// address), a drain mark or a reject of the source's own. Entries are
// judged by the policy in the endpoints' order, as weights.Policy.Build
// does.
func SetEntry(ep resolver.Endpoint, e weights.Entry) resolver.Endpoint {
	ep.Attributes = ep.Attributes.WithValue(entryKey{}, entryAttr{e})
	return ep
}

// EntryOf returns the entry attached to ep by SetWeight or SetEntry, with
// its id filled in from the first address when it had none. Without an
// attached entry it returns an entry with an absent weight (which the policy
// turns into its default weight) and ok false.
func EntryOf(ep resolver.Endpoint) (e weights.Entry, ok bool) {
	if a, found := ep.Attributes.Value(entryKey{}).(entryAttr); found {
		e, ok = a.e, true
	}
	if e.ID == "" && len(ep.Addresses) > 0 {
		e.ID = ep.Addresses[0].Addr
	}
	return e, ok
}

// idKey is the attributes key of the node id the policy gave an accepted
// endpoint, read back from the child states.
type idKey struct{}

func withID(ep resolver.Endpoint, id string) resolver.Endpoint {
	ep.Attributes = ep.Attributes.WithValue(idKey{}, id)
	return ep
}

func idOf(ep resolver.Endpoint) string {
	id, _ := ep.Attributes.Value(idKey{}).(string)
	return id
}

// String describes the entry for logs: "id=ID weight=RAW".
func (a entryAttr) String() string {
	s := "weight=" + a.e.Weight.String()
	if a.e.ID != "" {
		s = "id=" + a.e.ID + " " + s
	}
	if a.e.Drained {
		s += " drained"
	}
	if a.e.Reject != "" {
		s += " reject=" + string(a.e.Reject)
	}
	return s
}

// nodeKey is the attributes key of a node that the package's resolver took
// from a feed: validated already, so the policy takes it as it is. Only
// this package can attach one.
type nodeKey struct{}

// nodeAttr holds a weights.Node in resolver attributes (compared with ==).
type nodeAttr struct{ n weights.Node }

// String describes the node for logs: "id=ID weight=W".
func (a nodeAttr) String() string {
	return "id=" + a.n.ID + " weight=" + strconv.FormatUint(uint64(a.n.Weight), 10)
}

// nodeEndpoint returns the endpoint of a validated node: its address is the
// node's id.
func nodeEndpoint(n weights.Node) resolver.Endpoint {
	ep := resolver.Endpoint{Addresses: []resolver.Address{{Addr: n.ID}}}
	ep.Attributes = ep.Attributes.WithValue(nodeKey{}, nodeAttr{n})
	return ep
}

// fedNodes returns the nodes of eps when every endpoint is one that
// nodeEndpoint made, and ok false otherwise.
func fedNodes(eps []resolver.Endpoint) (nodes []weights.Node, ok bool) {
	nodes = make([]weights.Node, len(eps))
	for i, ep := range eps {
		a, found := ep.Attributes.Value(nodeKey{}).(nodeAttr)
		if !found || len(ep.Addresses) != 1 || ep.Addresses[0].Addr != a.n.ID {
			return nil, false
		}
		nodes[i] = a.n
	}
	return nodes, true
}
