//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// safewrrProxy is a `safewrr proxy` process started by a test.
type safewrrProxy struct {
	proc  *proc
	addr  string // traffic
	admin string // status and health
	http  *http.Client
}

// status is the part of GET /-/safewrr the tests read.
type status struct {
	Polls      int64  `json:"polls"`
	Generation int64  `json:"generation"`
	LastPoll   string `json:"last_poll"`
	LastError  string `json:"last_error"`
	Nodes      []struct {
		ID     string `json:"id"`
		Weight uint32 `json:"weight"`
		State  string `json:"state"`
	} `json:"nodes"`
	Rejects []struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		Raw    string `json:"raw"`
	} `json:"rejects"`
	Ejections    int64 `json:"ejections"`
	BodyFailures int64 `json:"body_failures"`
	Refused      *struct {
		Stage string `json:"stage"`
		Error string `json:"error"`
	} `json:"last_refused"`
}

var listeningRe = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+) admin=(127\.0\.0\.1:\d+)`)

// startSafewrrProxy runs the safewrr binary as a proxy on a free loopback
// port and waits (bounded) for the address it logs.
func startSafewrrProxy(t *testing.T, registry string, args ...string) *safewrrProxy {
	t.Helper()
	args = append([]string{"proxy", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry", registry}, args...)
	p := &safewrrProxy{proc: startProc(t, safewrrBin, args...), http: client(10*time.Second, true)}
	waitFor(t, "safewrr proxy to log its address", 10*time.Second, 10*time.Millisecond, func() bool {
		select {
		case <-p.proc.done:
			t.Fatalf("safewrr proxy exited:\n%s", p.proc.output.String())
		default:
		}
		m := listeningRe.FindStringSubmatch(p.proc.output.String())
		if m != nil {
			p.addr, p.admin = m[1], m[2]
		}
		return m != nil
	})
	return p
}

func (p *safewrrProxy) url(path string) string { return "http://" + p.addr + path }

func (p *safewrrProxy) adminURL(path string) string { return "http://" + p.admin + path }

// status reads /-/safewrr; with after >= 0 it first waits (up to 10s, in
// the proxy) until more than after polls have completed.
func (p *safewrrProxy) status(t *testing.T, after int64) status {
	t.Helper()
	st, err := p.statusErr(after)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (p *safewrrProxy) statusErr(after int64) (status, error) {
	q := ""
	if after >= 0 {
		q = fmt.Sprintf("?after=%d&wait=10s", after)
	}
	var st status
	resp, err := p.http.Get(p.adminURL("/-/safewrr" + q))
	if err != nil {
		return st, fmt.Errorf("GET /-/safewrr: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("GET /-/safewrr: %v", err)
	}
	return st, nil
}

// pollNow sends SIGHUP (poll at once) and returns the status after that poll.
func (p *safewrrProxy) pollNow(t *testing.T) status {
	t.Helper()
	st, err := p.pollNowErr()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// pollNowErr is pollNow for goroutines other than the test's.
func (p *safewrrProxy) pollNowErr() (status, error) {
	st, err := p.statusErr(-1)
	if err != nil {
		return st, err
	}
	before := st.Polls
	if err := p.proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return st, fmt.Errorf("SIGHUP: %v", err)
	}
	if st, err = p.statusErr(before); err != nil {
		return st, err
	}
	if st.Polls <= before {
		return st, fmt.Errorf("no poll within 10s of SIGHUP (polls %d)", st.Polls)
	}
	return st, nil
}

// stop sends SIGTERM and waits (bounded) for a clean exit.
func (p *safewrrProxy) stop(t *testing.T) {
	t.Helper()
	if err := p.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.proc.done:
	case <-time.After(15 * time.Second):
		t.Fatal("safewrr proxy did not stop within 15s of SIGTERM")
	}
	if code := p.proc.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("safewrr proxy exit %d after SIGTERM:\n%s", code, p.proc.output.String())
	}
}
