package weights

import (
	"errors"
	"fmt"
)

// Node is one validated backend: an id (normally "host:port") and an integer
// weight. Weight 0 means drained: the node stays a member but is never picked.
type Node struct {
	ID     string
	Weight uint32
}

// Drained reports whether the node is kept as a member but must not be picked.
func (n Node) Drained() bool { return n.Weight == 0 }

// Snapshot is an ordered set of validated nodes, in the order the registry
// sent them. Every weight in it is a finite integer within the policy's range.
type Snapshot struct {
	Nodes []Node
}

// Entry is one node as a source delivered it, before validation: its id and
// the weight exactly as sent.
type Entry struct {
	ID     string
	Weight Raw
	// Drained marks a node the source says is not serving (unhealthy,
	// disabled, terminating): its weight is still validated, then set to 0.
	Drained bool
	// Reject, when set, rejects the node with this reason before anything
	// else is checked; for sources that find a problem of their own (an
	// unusable address, a malformed instance). Detail explains it.
	Reject Reason
	Detail string
}

// Reason is a stable, machine-readable code for why a node was rejected.
type Reason string

// Reject reasons. The text of each is part of the project's contract (it
// appears in `safewrr validate --json` output and in logs).
const (
	ReasonStringZero     Reason = "string-zero"       // the weight is the string "0"
	ReasonStringWeight   Reason = "string-weight"     // a string where a number is required
	ReasonBadString      Reason = "bad-string"        // a string that is not a plain decimal integer (lenient policy)
	ReasonNaN            Reason = "nan"               // NaN
	ReasonInfinite       Reason = "infinite"          // +Inf or -Inf
	ReasonNegative       Reason = "negative"          // below zero
	ReasonFraction       Reason = "fraction"          // not an integer (after scaling)
	ReasonOverflow       Reason = "overflow"          // above the policy's maximum, or beyond any representable value
	ReasonNotNumberType  Reason = "not-a-number-type" // bool, null, array or object
	ReasonMissing        Reason = "missing"           // no weight and the policy has no default
	ReasonZero           Reason = "zero"              // the number 0 where the policy rejects it
	ReasonDuplicateID    Reason = "duplicate-id"      // an id sent more than once: a later copy, or every copy when they disagree
	ReasonEmptyID        Reason = "empty-id"          // an empty id
	ReasonBadID          Reason = "bad-id"            // an id that is too long, not a string, not valid UTF-8, with control characters or surrounding space
	ReasonNotAddress     Reason = "not-an-address"    // an id that must be host:port and is not (IDsAddress)
	ReasonNotServing     Reason = "not-serving"       // the registry marks the instance unusable and the policy drops such nodes
	ReasonBadNumber      Reason = "bad-number"        // number text that cannot be parsed
	ReasonMalformedEntry Reason = "malformed-entry"   // an entry of the wrong shape (not an object, no id field, ...)
)

// Sentinel errors, one per reason, for errors.Is on a *NodeError.
var (
	ErrStringZero     = errors.New("weights: weight is the string \"0\"")
	ErrStringWeight   = errors.New("weights: weight is a string")
	ErrBadString      = errors.New("weights: weight string is not a plain decimal integer")
	ErrNaN            = errors.New("weights: weight is NaN")
	ErrInfinite       = errors.New("weights: weight is infinite")
	ErrNegative       = errors.New("weights: weight is negative")
	ErrFraction       = errors.New("weights: weight is not an integer")
	ErrOverflow       = errors.New("weights: weight is above the maximum")
	ErrNotNumberType  = errors.New("weights: weight is not a number")
	ErrMissing        = errors.New("weights: weight is missing")
	ErrZero           = errors.New("weights: weight is zero")
	ErrDuplicateID    = errors.New("weights: duplicate node id")
	ErrEmptyID        = errors.New("weights: empty node id")
	ErrBadID          = errors.New("weights: invalid node id")
	ErrNotAddress     = errors.New("weights: node id is not host:port")
	ErrNotServing     = errors.New("weights: instance is not serving")
	ErrBadNumber      = errors.New("weights: malformed number")
	ErrMalformedEntry = errors.New("weights: malformed entry")
)

var reasonErrs = map[Reason]error{
	ReasonStringZero:     ErrStringZero,
	ReasonStringWeight:   ErrStringWeight,
	ReasonBadString:      ErrBadString,
	ReasonNaN:            ErrNaN,
	ReasonInfinite:       ErrInfinite,
	ReasonNegative:       ErrNegative,
	ReasonFraction:       ErrFraction,
	ReasonOverflow:       ErrOverflow,
	ReasonNotNumberType:  ErrNotNumberType,
	ReasonMissing:        ErrMissing,
	ReasonZero:           ErrZero,
	ReasonDuplicateID:    ErrDuplicateID,
	ReasonEmptyID:        ErrEmptyID,
	ReasonBadID:          ErrBadID,
	ReasonNotAddress:     ErrNotAddress,
	ReasonNotServing:     ErrNotServing,
	ReasonBadNumber:      ErrBadNumber,
	ReasonMalformedEntry: ErrMalformedEntry,
}

// Err returns the sentinel error for the reason, or nil for an unknown reason.
func (r Reason) Err() error { return reasonErrs[r] }

// NodeError explains why one node was rejected. Unwrap returns the reason's
// sentinel (ErrStringZero, ErrNaN, ...), so errors.Is works.
type NodeError struct {
	Index  int    // position of the node in the payload, from 0
	ID     string // the node's id as sent ("" when it had none)
	Raw    Raw    // the weight exactly as sent
	Reason Reason
	Detail string // optional extra words for people
}

// Error reads like: node "10.0.0.2:80" (#1): weight is the string "0", ... (string-zero)
func (e *NodeError) Error() string {
	return fmt.Sprintf("node %q (#%d): %s", e.ID, e.Index, e.Explain())
}

// Explain is the message without the node: what is wrong, the reason code
// in parentheses, and the detail if there is one.
func (e *NodeError) Explain() string {
	msg := describe(e.Reason, e.Raw) + " (" + string(e.Reason) + ")"
	if len(e.Detail) != 0 {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel error for the reason.
func (e *NodeError) Unwrap() error { return e.Reason.Err() }

func describe(r Reason, raw Raw) string {
	switch r {
	case ReasonStringZero:
		if raw.Kind == KindString && raw.Text != "0" {
			return "weight is the string " + raw.String() + `, a string of zeros, which registries read as drain or as default; refusing to guess`
		}
		return `weight is the string "0", which registries read as drain or as default; refusing to guess`
	case ReasonStringWeight:
		return "weight is the string " + raw.String() + ", only JSON numbers are weights under this policy"
	case ReasonBadString:
		return "weight is the string " + raw.String() + ", which is not a plain decimal integer"
	case ReasonNaN:
		return "weight is NaN"
	case ReasonInfinite:
		return "weight " + raw.String() + " is infinite"
	case ReasonNegative:
		return "weight " + raw.String() + " is negative"
	case ReasonFraction:
		return "weight " + raw.String() + " is not an integer"
	case ReasonOverflow:
		return "weight " + raw.String() + " is above the maximum"
	case ReasonNotNumberType:
		if raw.Kind == KindArray || raw.Kind == KindObject {
			return "weight is " + raw.Kind.Article() + ", not a number"
		}
		return "weight is " + raw.Kind.Article() + " (" + raw.String() + "), not a number"
	case ReasonMissing:
		return "weight is missing"
	case ReasonZero:
		return "weight is 0 and this policy rejects zero"
	case ReasonDuplicateID:
		return "id is sent more than once"
	case ReasonEmptyID:
		return "id is empty"
	case ReasonBadID:
		return "id is not usable"
	case ReasonNotAddress:
		return "id is not an address"
	case ReasonNotServing:
		return "instance is not serving"
	case ReasonBadNumber:
		return "weight " + raw.String() + " is not a well-formed number"
	case ReasonMalformedEntry:
		return "entry is malformed"
	}
	return "rejected"
}
