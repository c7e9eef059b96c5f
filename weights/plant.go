//go:build !fuzzpower

package weights

// Planted bugs (see internal/plant): every switch is off in a build without
// the fuzzpower tag, and the compiler drops the lines they guard.
const (
	plantStringZero  = false
	plantNaN         = false
	plantNegative    = false
	plantFraction    = false
	plantDuplicateID = false
	plantOrder       = false
	plantCRLFID      = false

	plantTrailingNewline = false
	plantSpacedZero      = false
	plantMaxPlusOne      = false
)
