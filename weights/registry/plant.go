//go:build !fuzzpower

package registry

// Planted bugs (see internal/plant): every switch is off in a build without
// the fuzzpower tag, and the compiler drops the lines they guard.
const (
	plantServicesMerged = false
	plantDownServed     = false

	plantEurekaOutOfService = false
	plantNacosDoubleScale   = false
)
