package balancer

import "time"

// State is what a node is doing now.
type State int

const (
	// Serving: picked in proportion to its weight.
	Serving State = iota
	// Drained: weight 0, a member that is never picked.
	Drained
	// Ejected: taken out by Eject until a time.
	Ejected
	// Ramping: back or new, picked with a reduced weight during slow start.
	Ramping
)

var stateNames = [...]string{Serving: "serving", Drained: "drained", Ejected: "ejected", Ramping: "ramping"}

// String returns "serving", "drained", "ejected" or "ramping".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText encodes the state as its name, for JSON status pages.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// NodeState describes one member of a Balancer, as returned by States.
type NodeState struct {
	ID           string
	Weight       uint32    // configured weight
	Effective    uint32    // weight used for picking now: 0 when drained or ejected, below Weight while ramping
	State        State     // serving, drained, ejected or ramping
	EjectedUntil time.Time // when an ejected node comes back; zero otherwise
	RampEnd      time.Time // when a ramping node reaches its full weight; zero otherwise
}
