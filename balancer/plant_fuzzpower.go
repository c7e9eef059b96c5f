//go:build fuzzpower

package balancer

import "github.com/safewrr/safewrr/internal/plant"

// Planted bugs, one chosen at link time (see internal/plant).
var (
	plantCycleCount     = plant.On("cycle-count")
	plantEjectedPicked  = plant.On("ejected-picked")
	plantTriedReturned  = plant.On("tried-returned")
	plantRefusedApplied = plant.On("refused-applied")
	plantExcludedSpin   = plant.On("excluded-spin")
)
