//go:build race

package balancer

// raceEnabled shrinks the heaviest property tests under the race detector,
// which slows the plain loops they run by an order of magnitude.
const raceEnabled = true
