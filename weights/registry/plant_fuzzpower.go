//go:build fuzzpower

package registry

import "github.com/safewrr/safewrr/internal/plant"

// Planted bugs, one chosen at link time (see internal/plant).
var (
	plantServicesMerged = plant.On("services-merged")
	plantDownServed     = plant.On("down-served")

	plantEurekaOutOfService = plant.On("eureka-out-of-service")
	plantNacosDoubleScale   = plant.On("nacos-double-scale")
)
