package balancer

import "errors"

// Errors returned by picks. They are returned at once: a pick never waits or
// loops looking for a node.
var (
	// ErrNoBackends: the balancer has no nodes at all.
	ErrNoBackends = errors.New("balancer: no backends")
	// ErrAllDrained: every node has weight 0.
	ErrAllDrained = errors.New("balancer: all backends are drained (weight 0)")
	// ErrAllEjected: no node serves because the nodes that are not drained
	// are all ejected.
	ErrAllEjected = errors.New("balancer: all backends are ejected")
	// ErrAllExcluded: every serving node is already in the Tried set.
	ErrAllExcluded = errors.New("balancer: all serving backends were already tried")
)

// Errors returned by Eject, Restore and Update.
var (
	// ErrUnknownNode: Eject or Restore named an id that is not a member.
	ErrUnknownNode = errors.New("balancer: unknown node")
	// ErrEjectLimit: the ejection would take the share of ejected nodes above
	// the maximum set by WithMaxEjectedPercent.
	ErrEjectLimit = errors.New("balancer: maximum ejected percentage reached")
	// ErrUpdateRefused is wrapped by every *UpdateError.
	ErrUpdateRefused = errors.New("balancer: update refused")
	// ErrWeightDrop: the update would drop more of the total weight than
	// WithMaxWeightDrop allows.
	ErrWeightDrop = errors.New("balancer: update drops too much weight")
	// ErrInvalidNode: a node has an empty or duplicate id.
	ErrInvalidNode = errors.New("balancer: invalid node")
)

// UpdateError says why Update refused a node set. The balancer keeps serving
// its previous state. errors.Is matches both ErrUpdateRefused and the cause
// (ErrNoBackends, ErrAllDrained, ErrWeightDrop or ErrInvalidNode).
type UpdateError struct {
	Cause    error  // ErrNoBackends, ErrAllDrained, ErrWeightDrop or ErrInvalidNode
	Detail   string // what was wrong, for people
	OldTotal uint64 // total configured weight before the update
	NewTotal uint64 // total configured weight the update asked for
}

// Error reads like: balancer: update refused: all backends are drained ...
func (e *UpdateError) Error() string {
	msg := "balancer: update refused: " + trimPrefix(e.Cause.Error())
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns ErrUpdateRefused and the cause.
func (e *UpdateError) Unwrap() []error { return []error{ErrUpdateRefused, e.Cause} }

func trimPrefix(s string) string {
	const p = "balancer: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
