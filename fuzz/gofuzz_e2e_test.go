//go:build e2e

package fuzz_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gofuzzScript is fuzz/gofuzz.sh, run from the package directory.
const gofuzzScript = "./gofuzz.sh"

// process is a command started in its own process group, so that it can be
// stopped with every process it started (go-fuzz runs the target in child
// processes).
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs a command in its own process group; the test's cleanup stops
// the whole group.
func start(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts the process group, waits a few seconds for go-fuzz's own
// shutdown, then kills the group.
func (p *process) stop(t *testing.T) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		syscall.Kill(-pgid, syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
	// Children of the group (testee processes) may outlive the leader.
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// buildGofuzz installs go-fuzz (at the pinned version) and builds a target's
// binary through the script, as a user would.
func buildGofuzz(t *testing.T, target string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", gofuzzScript, "build", target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gofuzz.sh build %s: %v\n%s", target, err, out)
	}
}

var statusLine = regexp.MustCompile(`workers: (\d+), corpus: (\d+).*execs: (\d+) `)

// TestGofuzzDistributed runs one go-fuzz coordinator and two workers on
// this machine (127.0.0.1 only) for a bounded time and checks that the
// coordinator counts both workers and executions from them, then stops
// every process it started.
func TestGofuzzDistributed(t *testing.T) {
	buildGofuzz(t, "Weights")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	work := t.TempDir()
	env := []string{"GOFUZZ_WORKDIR=" + work}

	coord := start(t, env, "bash", gofuzzScript, "Weights", "-coordinator", addr)
	// The coordinator must listen before the workers dial it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("coordinator did not listen on %s: %v\n%s", addr, err, coord.output())
		}
		select {
		case <-coord.done:
			t.Fatalf("coordinator exited:\n%s", coord.output())
		case <-time.After(200 * time.Millisecond):
		}
	}
	w1 := start(t, nil, "bash", gofuzzScript, "Weights", "-worker", addr, "-procs", "1")
	w2 := start(t, nil, "bash", gofuzzScript, "Weights", "-worker", addr, "-procs", "1")

	// go-fuzz prints a status line every 3 s; wait for one that shows both
	// workers and executions, for at most 90 s.
	var workers, execs int
	deadline = time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && !(workers >= 2 && execs > 0) {
		select {
		case <-coord.done:
			t.Fatalf("coordinator exited:\n%s", coord.output())
		case <-w1.done:
			t.Fatalf("worker 1 exited:\n%s", w1.output())
		case <-w2.done:
			t.Fatalf("worker 2 exited:\n%s", w2.output())
		case <-time.After(time.Second):
		}
		sc := bufio.NewScanner(strings.NewReader(coord.output()))
		for sc.Scan() {
			if m := statusLine.FindStringSubmatch(sc.Text()); m != nil {
				workers, _ = strconv.Atoi(m[1])
				execs, _ = strconv.Atoi(m[3])
			}
		}
	}
	if workers < 2 || execs == 0 {
		t.Fatalf("coordinator reports %d workers and %d execs, want 2 workers and some execs\n%s", workers, execs, coord.output())
	}
	t.Logf("coordinator: %d workers, %d execs", workers, execs)
	if _, err := os.Stat(filepath.Join(work, "corpus")); err != nil {
		t.Fatalf("coordinator work directory: %v", err)
	}
}

// TestGofuzzImport turns a go-fuzz crasher of the Lua target into a readable
// seed file and checks that it reads back as the same node set.
func TestGofuzzImport(t *testing.T) {
	work, seedDir := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "crashers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(seedDir, "lua"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An existing seed: the empty node set, written by hand.
	if err := os.WriteFile(filepath.Join(seedDir, "lua", "empty.lua"), []byte("{ }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Binary form: a small integer 10, then the decimal string of 0.
	crasher := []byte{0, 10, 1, 0}
	for name, data := range map[string][]byte{
		"0123456789abcdef0123": crasher,
		// The empty input decodes to the empty node set: already a seed.
		"da39a3ee5e6b4b0d3255bfef95601890afd80709": nil,
		"0123456789abcdef0123.quoted":              []byte(strconv.Quote(string(crasher))),
		"0123456789abcdef0123.output":              []byte("panic: lua: ..."),
	} {
		if err := os.WriteFile(filepath.Join(work, "crashers", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", gofuzzScript, "import", "LuaModule")
	cmd.Env = append(os.Environ(), "GOFUZZ_WORKDIR="+work, "GOFUZZ_SEEDS="+seedDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gofuzz.sh import: %v\n%s", err, out)
	}
	ents, err := os.ReadDir(filepath.Join(seedDir, "lua"))
	if err != nil || len(ents) != 2 || ents[0].Name() != "empty.lua" {
		t.Fatalf("seeds: %v, %v; want empty.lua and one imported file", ents, err)
	}
	ents = ents[1:]
	got, err := os.ReadFile(filepath.Join(seedDir, "lua", ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{n1=10, n2="0"}` + "\n"; string(got) != want || ents[0].Name() != "found-0123456789ab.lua" {
		t.Fatalf("imported %s = %q, want found-0123456789ab.lua = %q", ents[0].Name(), got, want)
	}
}
