//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var acceptingRe = regexp.MustCompile(`msg="accepting connections" addr=(127\.0\.0\.1:\d+) admin=(127\.0\.0\.1:\d+)`)

// startSafewrrProxyEarly starts the proxy and returns as soon as it logs
// that its listeners answer, before its first registry poll has ended.
func startSafewrrProxyEarly(t *testing.T, registry string, args ...string) *safewrrProxy {
	t.Helper()
	args = append([]string{"proxy", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry", registry}, args...)
	p := &safewrrProxy{proc: startProc(t, safewrrBin, args...), http: client(10*time.Second, true)}
	waitFor(t, "safewrr proxy to accept connections", 10*time.Second, 10*time.Millisecond, func() bool {
		select {
		case <-p.proc.done:
			t.Fatalf("safewrr proxy exited:\n%s", p.proc.output.String())
		default:
		}
		m := acceptingRe.FindStringSubmatch(p.proc.output.String())
		if m != nil {
			p.addr, p.admin = m[1], m[2]
		}
		return m != nil
	})
	return p
}

// health returns the status and body of GET /-/health.
func (p *safewrrProxy) health(t *testing.T) (int, string) {
	t.Helper()
	resp, err := p.http.Get(p.adminURL("/-/health"))
	if err != nil {
		t.Fatalf("the admin listener does not answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// specialFiles put something that is not a regular file at path.
var specialFiles = []struct {
	name string
	make func(path string) error
}{
	{"fifo", func(path string) error { return syscall.Mkfifo(path, 0o644) }},
	{"dev-zero", func(path string) error { return os.Symlink("/dev/zero", path) }},
	{"directory", func(path string) error { return os.Mkdir(path, 0o755) }},
	{"dangling-link", func(path string) error { return os.Symlink(path+".missing", path) }},
}

// TestProxySpecialFileAtTheRegistryPath: whatever sits at the registry path
// (a FIFO with no writer, /dev/zero, a directory, a dangling link), at
// startup or swapped in mid-run, the admin listener answers, SIGHUP polls,
// the last good nodes keep serving, and SIGTERM ends the process within
// 10 s.
func TestProxySpecialFileAtTheRegistryPath(t *testing.T) {
	bs, _ := startBackends(t, "a")
	good := fmt.Sprintf(`{%q: 1}`, bs[0].addr())
	for _, sf := range specialFiles {
		t.Run(sf.name, func(t *testing.T) {
			dir := tempDir(t)
			reg := filepath.Join(dir, "registry.json")
			if err := sf.make(reg); err != nil {
				t.Fatal(err)
			}
			p := startSafewrrProxyEarly(t, reg, "--poll", "0")
			if code, body := p.health(t); code != 503 || !strings.Contains(body, "no backends yet") {
				t.Fatalf("health with a %s at startup: %d %q, want 503 saying why", sf.name, code, body)
			}
			st := p.pollNow(t) // SIGHUP polls, and the poll ends
			if st.Generation != 0 || !strings.Contains(st.LastError, "fetch") {
				t.Fatalf("after SIGHUP: generation %d, last error %q; want a fetch error", st.Generation, st.LastError)
			}
			// A good file in its place: SIGHUP applies it.
			os.Remove(reg)
			writeFile(t, reg, good)
			if st := p.pollNow(t); st.Generation != 1 {
				t.Fatalf("after the good file: generation %d (%s)", st.Generation, st.LastError)
			}
			if code, _, err := get(p.http, p.url("/")); err != nil || code != 200 {
				t.Fatalf("GET with the good file: %d %v", code, err)
			}
			// Swapped in mid-run: the poll fails, the last good node serves.
			if err := os.Remove(reg); err != nil {
				t.Fatal(err)
			}
			if err := sf.make(reg); err != nil {
				t.Fatal(err)
			}
			if st := p.pollNow(t); st.Generation != 1 || st.LastError == "" {
				t.Fatalf("after the swap: generation %d, last error %q", st.Generation, st.LastError)
			}
			if code, body := p.health(t); code != 200 {
				t.Fatalf("health after the swap: %d %q", code, body)
			}
			if code, _, err := get(p.http, p.url("/")); err != nil || code != 200 {
				t.Fatalf("GET after the swap: %d %v", code, err)
			}
			if err := p.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.proc.done:
			case <-time.After(10 * time.Second):
				t.Fatal("SIGTERM did not end the proxy within 10s")
			}
			if code := p.proc.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit %d after SIGTERM", code)
			}
		})
	}
}

// TestProxyRegistryThatNeverAnswers: a registry URL that accepts the
// request and never answers holds the first poll (--fetch-timeout 1h), yet
// the admin listener and the traffic answer 503 saying nothing is loaded
// yet, and SIGTERM ends the process within 10 s.
func TestProxyRegistryThatNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer reg.Close()
	defer close(release)
	p := startSafewrrProxyEarly(t, reg.URL+"/registry", "--poll", "0", "--fetch-timeout", "1h")
	if code, body := p.health(t); code != 503 || !strings.Contains(body, "has not completed") {
		t.Fatalf("health while the first poll hangs: %d %q", code, body)
	}
	if code, body, err := get(p.http, p.url("/")); err != nil || code != 503 || !strings.Contains(body, "has not completed") {
		t.Fatalf("GET while the first poll hangs: %d %q %v", code, body, err)
	}
	if err := p.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.proc.done:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the proxy within 10s while the first poll hung")
	}
	if code := p.proc.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}
