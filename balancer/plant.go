//go:build !fuzzpower

package balancer

// Planted bugs (see internal/plant): every switch is off in a build without
// the fuzzpower tag, and the compiler drops the lines they guard.
const (
	plantCycleCount     = false
	plantEjectedPicked  = false
	plantTriedReturned  = false
	plantRefusedApplied = false
	plantExcludedSpin   = false

	plantHeaviestShort    = false
	plantRestoreNeighbour = false
)

func heaviestShort(s *schedule, seq []int32) []int32 { return seq }
