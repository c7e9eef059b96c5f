package balancer

import (
	"fmt"
	"time"
)

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

// UnmarshalText reads a name that MarshalText writes, so that a status page
// decodes back into a NodeState. Any other text is an error.
func (s *State) UnmarshalText(text []byte) error {
	for k, name := range stateNames {
		if string(text) == name {
			*s = State(k)
			return nil
		}
	}
	return fmt.Errorf("balancer: unknown node state %q (want serving, drained, ejected or ramping)", text)
}

// NodeState describes one member of a Balancer, as returned by States. Its
// JSON form uses snake_case names, the state as its name, and leaves out
// the times that are zero:
//
//	{"id":"10.0.0.1:80","weight":10,"effective":0,"state":"ejected","ejected_until":"2021-07-13T22:52:30Z"}
type NodeState struct {
	ID           string    `json:"id"`
	Weight       uint32    `json:"weight"`                 // configured weight
	Effective    uint32    `json:"effective"`              // weight used for picking now: 0 when drained or ejected, below Weight while ramping
	State        State     `json:"state"`                  // serving, drained, ejected or ramping
	EjectedUntil time.Time `json:"ejected_until,omitzero"` // when an ejected node comes back; zero otherwise
	RampEnd      time.Time `json:"ramp_end,omitzero"`      // when a ramping node reaches its full weight; zero otherwise
}
