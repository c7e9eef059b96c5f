//go:build e2e

package luacompat

import (
	"syscall"
	"testing"
)

// childrenPeakRSS is the peak resident set of the largest child this
// process has waited for, in bytes: every co-process is stopped (and
// waited for) before it is read.
func childrenPeakRSS() int64 {
	StopLuaJIT()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10
}

// TestHostileCatalogLuaJIT runs the hostile-module catalog under LuaJIT,
// each case in a fresh co-process whose peak RSS is read once it ended.
func TestHostileCatalogLuaJIT(t *testing.T) {
	t.Cleanup(StopLuaJIT)
	runCatalog(t, EngineLuaJIT, childrenPeakRSS)
}
