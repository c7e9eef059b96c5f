package weights

// StringMode says what a policy does with a weight sent as a string.
type StringMode uint8

// String modes. The string "0" is rejected (ReasonStringZero) in every mode.
const (
	// StringsReject rejects every string weight (ReasonStringWeight). Default.
	StringsReject StringMode = iota
	// StringsDecimal accepts a plain decimal integer string such as "10" and
	// rejects anything else ("+10", " 10", "0x10", "1e2", "10.0", "NaN", "").
	StringsDecimal
)

// ZeroMode says what a policy does with the number 0.
type ZeroMode uint8

// Zero modes.
const (
	// ZeroDrain keeps the node as a member that is never picked. Default.
	ZeroDrain ZeroMode = iota
	// ZeroDefault gives the node the policy's default weight.
	ZeroDefault
	// ZeroReject rejects the node (ReasonZero).
	ZeroReject
)

// PartialMode says what happens to a snapshot in which some nodes were rejected.
type PartialMode uint8

// Partial modes.
const (
	// DropRejected applies the snapshot without its rejected nodes. Default.
	DropRejected PartialMode = iota
	// RefuseWhole refuses the whole snapshot when any node is rejected.
	RefuseWhole
)

// Policy decides which raw weights are accepted and what they mean. The zero
// Policy is the strict default: only JSON numbers are weights, 0 drains, a
// missing weight is 1, the maximum is 1,000,000, fractions are rejected, and
// rejected nodes are left out of an otherwise applied snapshot.
type Policy struct {
	Strings StringMode
	Zero    ZeroMode
	Partial PartialMode
	// Scale multiplies every numeric weight before the integer check, for
	// registries with float weights (Nacos: 0.5 with Scale 100 is 50).
	// 0 means 1.
	Scale uint32
	// DefaultWeight is used for a missing weight (and for 0 with ZeroDefault).
	// 0 means 1.
	DefaultWeight uint32
	// MissingRejected rejects a missing weight (ReasonMissing) instead of
	// using DefaultWeight.
	MissingRejected bool
	// MaxWeight is the largest accepted weight, after scaling; above it is
	// ReasonOverflow. 0 means 1,000,000.
	MaxWeight uint32
	// IDs says what a node id must look like: IDsFree (default) or
	// IDsAddress. Whatever the mode, an id with control characters (C0, DEL,
	// C1), invalid UTF-8 or leading or trailing white space is rejected
	// (ReasonBadID).
	IDs IDMode
	// Limits bounds the size of what is decoded.
	Limits Limits
}

// Limits bounds a payload. Zero fields take the documented defaults.
type Limits struct {
	MaxBytes int // default 8 MiB
	MaxNodes int // default 100,000
	MaxIDLen int // default 255 bytes
	MaxDepth int // default 64
	// MaxValues bounds the values ParseJSON builds (every string, number,
	// array, object, ... counts one), so that a small payload cannot expand
	// into a huge tree. Default 1,000,000.
	MaxValues int
}
