//go:build unix && !linux

package luacompat

import (
	"os"
	"syscall"
)

// Outside Linux the co-process gets its own process group, killed on the
// budget, but no resource limits: the wall clock is its only bound.

func luajitProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }

func limitLuaJITStart(pid int, l *ljLimits) error { return nil }

func limitLuaJITRun(pid int, l *ljLimits, cfg Config) error { return nil }

func killedByCPULimit(ps *os.ProcessState) bool { return false }
