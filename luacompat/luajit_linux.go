package luacompat

import (
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// luajitProcAttr puts the co-process in a process group of its own, so a
// run stopped on its budget kills everything in it, and has the kernel kill
// it if this process dies first.
func luajitProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }

func prlimit(pid, resource int, set, old *syscall.Rlimit) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// limitLuaJITStart sets the limits that hold for the co-process's whole
// life, before it reads its first request: no file of any size may be
// written (RLIMIT_FSIZE 0; its channels are pipes), no core dump, a handful
// of file descriptors. It reads the hard limits of address space and CPU
// time, under which limitLuaJITRun sets the soft ones.
func limitLuaJITStart(pid int, l *ljLimits) error {
	for _, r := range []struct {
		res int
		lim syscall.Rlimit
	}{
		{syscall.RLIMIT_FSIZE, syscall.Rlimit{}},
		{syscall.RLIMIT_CORE, syscall.Rlimit{}},
		{syscall.RLIMIT_NOFILE, syscall.Rlimit{Cur: 16, Max: 16}},
	} {
		if err := prlimit(pid, r.res, &r.lim, nil); err != nil {
			return err
		}
	}
	var as, cpu syscall.Rlimit
	if err := prlimit(pid, syscall.RLIMIT_AS, nil, &as); err != nil {
		return err
	}
	if err := prlimit(pid, syscall.RLIMIT_CPU, nil, &cpu); err != nil {
		return err
	}
	l.asMax, l.cpuMax, l.known = as.Max, cpu.Max, true
	return nil
}

// limitLuaJITRun sets, before a run, the co-process's address space to four
// times the run's memory limit plus luajitAddressSpace, and its CPU time to
// what it has used so far plus the run's budget and a second: a run the
// wall clock does not stop (this process stopped, or killed) still ends.
func limitLuaJITRun(pid int, l *ljLimits, cfg Config) error {
	as := uint64(luajitAddressSpace) + 4*uint64(cfg.MemoryLimit)
	if as > l.asMax {
		as = l.asMax
	}
	used, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	cpu := used + uint64(math.Ceil(cfg.Budget.Seconds())) + 1
	if cpu > l.cpuMax {
		cpu = l.cpuMax
	}
	if !l.applied || as != l.as {
		if err := prlimit(pid, syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: l.asMax}, nil); err != nil {
			return err
		}
		l.as = as
	}
	if !l.applied || cpu != l.cpu {
		if err := prlimit(pid, syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cpu, Max: l.cpuMax}, nil); err != nil {
			return err
		}
		l.cpu = cpu
	}
	l.applied = true
	return nil
}

// cpuSeconds is the CPU time a process has used, in whole seconds rounded
// up, from /proc/PID/stat (utime and stime, in the kernel's USER_HZ of 100
// ticks a second).
func cpuSeconds(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, os.ErrInvalid
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, os.ErrInvalid
	}
	// After the command: state is field 3 of stat, utime 14, stime 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, os.ErrInvalid
	}
	return (ut + st + 99) / 100, nil
}

// killedByCPULimit reports whether the co-process ended on SIGXCPU.
func killedByCPULimit(ps *os.ProcessState) bool {
	if ps == nil {
		return false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGXCPU
}
