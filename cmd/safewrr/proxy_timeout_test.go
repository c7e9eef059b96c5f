package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer/httplb"
)

// startHungBackend starts a backend that reads the request and never
// answers until the test ends.
func startHungBackend(t *testing.T) (addr string, hits chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	hits = make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.Listener.Addr().String(), hits
}

// TestProxyHungBackendIsPassedByAfterResponseHeaderTimeout: a safe request
// first sent to a backend that never answers is retried on the next node
// once --response-header-timeout passes; an unsafe one gets 502.
func TestProxyHungBackendIsPassedByAfterResponseHeaderTimeout(t *testing.T) {
	hung, hits := startHungBackend(t)
	good := startURIBackend(t)
	file := filepath.Join(t.TempDir(), "registry.json")
	// The hung node first: smooth WRR with equal weights picks it first.
	reg := fmt.Sprintf(`{%q: 1, %q: 1}`, hung, good.srv.Listener.Addr().String())
	if err := os.WriteFile(file, []byte(reg), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startProxyMain(t, "--registry", file, "--poll", "0", "--response-header-timeout", "200ms", "--eject-after", "0")
	resp, err := http.Get("http://" + run.addr + "/first")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "backend saw /first" {
		t.Fatalf("GET: %s %q, want the good backend's answer", resp.Status, body)
	}
	if len(hits) != 1 {
		t.Fatalf("the hung backend got %d requests, want 1 (the first attempt)", len(hits))
	}
	<-hits
	// Next pick goes to the good node; the one after to the hung node again.
	resp, err = http.Get("http://" + run.addr + "/second")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post("http://"+run.addr+"/unsafe", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST to the hung node: %s %q, want 502 (not retried)", resp.Status, body)
	}
	if l := run.logs.take(); !strings.Contains(l, "timeout awaiting response headers") {
		t.Fatalf("the log does not say why:\n%s", l)
	}
}

// TestProxyRequestTimeout: --request-timeout ends a request that no
// backend answers in time with 504 and says so.
func TestProxyRequestTimeout(t *testing.T) {
	hung, hits := startHungBackend(t)
	file := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`{%q: 1}`, hung)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startProxyMain(t, "--registry", file, "--poll", "0", "--response-header-timeout", "1h", "--request-timeout", "200ms")
	resp, err := http.Get("http://" + run.addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "request timeout (200ms)") {
		t.Fatalf("GET: %s %q, want 504 naming the request timeout", resp.Status, body)
	}
	if len(hits) != 1 {
		t.Fatalf("the backend got %d requests", len(hits))
	}
}

// TestProxyTimeoutFlagsReachTheTransport: --dial-timeout,
// --tls-handshake-timeout, --response-header-timeout and
// --idle-conn-timeout are the limits of the transport that sends the
// attempts, and a dial through that transport runs under --dial-timeout.
func TestProxyTimeoutFlagsReachTheTransport(t *testing.T) {
	cfg, code, ok := proxyParse([]string{"--registry", "r.json",
		"--dial-timeout", "123ms", "--tls-handshake-timeout", "4567ms",
		"--response-header-timeout", "8901ms", "--idle-conn-timeout", "2345ms"}, io.Discard, io.Discard)
	if !ok {
		t.Fatalf("parse: exit %d", code)
	}
	d := httplb.BackendDialer(cfg.timeouts)
	tr, err := httplb.NewBackendTransport(cfg.timeouts, d)
	if err != nil {
		t.Fatal(err)
	}
	if d.Timeout != 123*time.Millisecond || tr.TLSHandshakeTimeout != 4567*time.Millisecond ||
		tr.ResponseHeaderTimeout != 8901*time.Millisecond || tr.IdleConnTimeout != 2345*time.Millisecond {
		t.Fatalf("dial %v, TLS handshake %v, response header %v, idle %v",
			d.Timeout, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.IdleConnTimeout)
	}
	// The transport dials with d: the dial's context carries the deadline
	// --dial-timeout sets (its value is checked against the clock readings
	// around the dial, not against how long anything took).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var deadline time.Time
	var hasDeadline bool
	d.ControlContext = func(ctx context.Context, _, _ string, _ syscall.RawConn) error {
		deadline, hasDeadline = ctx.Deadline()
		return nil
	}
	before := time.Now()
	c, err := tr.DialContext(context.Background(), "tcp", ln.Addr().String())
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !hasDeadline {
		t.Fatal("the dial through the transport has no deadline, want --dial-timeout")
	}
	if deadline.Before(before.Add(123*time.Millisecond)) || deadline.After(after.Add(123*time.Millisecond)) {
		t.Fatalf("the dial's deadline is %v after it began, want --dial-timeout (123ms)", deadline.Sub(before))
	}
}

// TestProxyWriteTimeoutDropsAClientThatStopsReading: a client that sends
// a request and never reads the answer is dropped once a write has waited
// --write-timeout; the backend's response is abandoned (its connection
// closed) and not counted against it.
func TestProxyWriteTimeoutDropsAClientThatStopsReading(t *testing.T) {
	const chunk, chunks = 32 << 10, 8 << 10 // at most 256 MiB, far above any socket buffers
	gaveUp, finished := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(chunk*chunks))
		buf := make([]byte, chunk)
		for range chunks {
			if _, err := w.Write(buf); err != nil {
				close(gaveUp)
				return
			}
		}
		close(finished)
	}))
	defer backend.Close()
	file := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`{%q: 1}`, backend.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	// Only --write-timeout can end this request.
	run := startProxyMain(t, "--registry", file, "--poll", "0", "--write-timeout", "300ms", "--request-timeout", "0")
	c, err := net.Dial("tcp", run.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	// The client reads nothing until the proxy has given up.
	select {
	case <-gaveUp:
	case <-finished:
		t.Fatal("the whole body went out to a client that reads nothing")
	case <-time.After(time.Minute): // a bound for a broken proxy, not a measure
		t.Fatal("the proxy still writes to a client that stopped reading")
	}
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a bound, not a measure
	got, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || got >= chunk*chunks {
		t.Fatalf("the client read %d bytes, then %v; want its connection closed before the end", got, err)
	}
	st := adminStatus(t, run)
	if st.BodyFailures != 0 {
		t.Fatalf("%d body failures: a slow client was counted against the backend", st.BodyFailures)
	}
}

// TestProxyReadHeaderTimeoutClosesUnfinishedHeaders: a client that never
// finishes its request headers is disconnected after --read-header-timeout
// (the whole-request --read-timeout is an hour here); no backend sees it.
func TestProxyReadHeaderTimeoutClosesUnfinishedHeaders(t *testing.T) {
	b := startURIBackend(t)
	file := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`{%q: 1}`, b.srv.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startProxyMain(t, "--registry", file, "--poll", "0", "--read-header-timeout", "300ms", "--read-timeout", "1h")
	c, err := net.Dial("tcp", run.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /never HTTP/1.1\r\nHost: x\r\nX-Unfinished: ")
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a bound for a broken proxy, not a measure
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 0 {
		t.Fatalf("the client read %q, then %v; want the connection closed with no answer", got, err)
	}
	if uris := b.take(); len(uris) != 0 {
		t.Fatalf("the backend saw %q", uris)
	}
}

// adminStatus reads the status page of a proxy started by startProxyMain.
func adminStatus(t *testing.T, run *proxyRun) proxyStatus {
	t.Helper()
	resp, err := http.Get("http://" + run.admin + proxyStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st proxyStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
