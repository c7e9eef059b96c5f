//go:build fuzzpower

package weights

import "github.com/safewrr/safewrr/internal/plant"

// Planted bugs, one chosen at link time (see internal/plant).
var (
	plantStringZero  = plant.On("string-zero")
	plantNaN         = plant.On("nan")
	plantNegative    = plant.On("negative")
	plantFraction    = plant.On("fraction")
	plantDuplicateID = plant.On("duplicate-id")
	plantOrder       = plant.On("order")
	plantCRLFID      = plant.On("crlf-id")

	plantTrailingNewline = plant.On("trailing-newline-id")
	plantSpacedZero      = plant.On("spaced-zero")
	plantMaxPlusOne      = plant.On("max-plus-one")
)
