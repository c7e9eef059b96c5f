//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// safewrrBin is the safewrr binary built once for the whole run by TestMain.
var safewrrBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "safewrr-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	safewrrBin = filepath.Join(dir, "safewrr")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", safewrrBin, "github.com/safewrr/safewrr/cmd/safewrr")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building safewrr:", err)
		return 2
	}
	return m.Run()
}

// backend is a loopback HTTP server that answers with its name and counts
// the requests it served, in order.
type backend struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
	log  *hitLog
}

// hitLog records which backend served each request, in arrival order, for
// tests that compare the order of picks.
type hitLog struct {
	mu    sync.Mutex
	names []string
}

func (l *hitLog) add(name string) {
	l.mu.Lock()
	l.names = append(l.names, name)
	l.mu.Unlock()
}

func (l *hitLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.names
	l.names = nil
	return out
}

// addr is the backend's host:port, the node id used in registries.
func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func (b *backend) port() int { return b.srv.Listener.Addr().(*net.TCPAddr).Port }

// startBackends starts one loopback backend per name, all sharing one hit log.
func startBackends(t *testing.T, names ...string) ([]*backend, *hitLog) {
	t.Helper()
	log := &hitLog{}
	var out []*backend
	for _, name := range names {
		b := &backend{name: name, log: log}
		b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			b.log.add(b.name)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Backend", b.name)
			io.WriteString(w, b.name)
		}))
		t.Cleanup(b.srv.Close)
		out = append(out, b)
	}
	return out, log
}

// counts returns each backend's hit count since the last call, by name.
func counts(bs []*backend) map[string]int64 {
	m := make(map[string]int64, len(bs))
	for _, b := range bs {
		m[b.name] = b.hits.Swap(0)
	}
	return m
}

// tempDir returns a new directory removed when the test ends. Unlike
// t.TempDir it is world-readable, because nginx started as root runs its
// workers as an unprivileged user that must read the files in it.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "safewrr-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// programs (nginx) whose configuration needs the port in advance.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is an io.Writer safe for a process's output and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// proc is a process started by a test, in its own process group so that it
// and all its children (nginx workers) can be killed at once.
type proc struct {
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
}

// startProc starts a program in a new process group. The test's cleanup
// kills the whole group with SIGKILL and waits (bounded) for the process, so
// nothing outlives the test even if a child spins and ignores SIGTERM.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), output: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, tail(p.output.String(), 4000))
		}
	})
	return p
}

// kill sends SIGKILL to the process group and waits up to 10s for the leader.
func (p *proc) kill(t *testing.T) {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("process %d did not exit 10s after SIGKILL", pid)
	}
	// Children that were re-parented keep the group id; kill the group again.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// waitFor polls cond every interval until it is true or timeout passes. It is
// for waiting on other processes (a port to open), never on the test's own
// code.
func waitFor(t *testing.T, what string, timeout, interval time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// dialable reports whether something accepts TCP connections on addr.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// cpuTicks returns a process's user+system CPU time from /proc/PID/stat, in
// clock ticks (USER_HZ, 100 per second on Linux), and its state letter.
func cpuTicks(pid int) (ticks uint64, state string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, "", fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	return ut + st, f[0], nil
}

// schedStat returns the time a process (its main thread) has spent on a CPU
// and waiting on a run queue, in nanoseconds, from /proc/PID/schedstat.
// Their sum grows as fast as the wall clock while the process is always
// runnable, however busy the machine is.
func schedStat(pid int) (run, wait uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("/proc/%d/schedstat: %q", pid, data)
	}
	run, err1 := strconv.ParseUint(f[0], 10, 64)
	wait, err2 := strconv.ParseUint(f[1], 10, 64)
	return run, wait, errors.Join(err1, err2)
}

// userHZ is the unit of utime and stime in /proc/PID/stat.
const userHZ = 100

// childPIDs returns the pids whose parent is ppid, from /proc.
func childPIDs(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// client returns an HTTP client with a hard per-request timeout and no
// connection reuse unless keepAlive is set.
func client(timeout time.Duration, keepAlive bool) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 16,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// get does one GET and returns the status and body; err for transport
// errors and timeouts.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// writeFile writes data to path atomically (temp file + rename), the way a
// registry agent should, so readers never see a half-written file.
func writeFile(t *testing.T, path string, data string) {
	t.Helper()
	if err := writeFileErr(path, data); err != nil {
		t.Fatal(err)
	}
}

// writeFileErr is writeFile for goroutines other than the test's.
func writeFileErr(path string, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func itoa(i int) string { return strconv.Itoa(i) }
