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

	plantHeaviestShort    = plant.On("heaviest-short")
	plantRestoreNeighbour = plant.On("restore-neighbour")
)

// heaviestShort drops the last pick of the heaviest node from an exact
// cycle: the cycle is one pick short (the heaviest-short bug).
func heaviestShort(s *schedule, seq []int32) []int32 {
	heavy := 0
	for i := range len(s.nodes) {
		if s.weight(i) > s.weight(heavy) {
			heavy = i
		}
	}
	for k := len(seq) - 1; k >= 0; k-- {
		if int(seq[k]) == heavy {
			seq = append(seq[:k], seq[k+1:]...)
			break
		}
	}
	s.length = uint64(len(seq))
	s.magic = ^uint64(0) / s.length
	return seq
}
