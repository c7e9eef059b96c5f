package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer/httplb"
)

// uriBackend records the request URI of every request it gets.
type uriBackend struct {
	srv  *httptest.Server
	mu   sync.Mutex
	uris []string
}

func startURIBackend(t *testing.T) *uriBackend {
	t.Helper()
	b := &uriBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.uris = append(b.uris, r.RequestURI)
		b.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "backend saw %s", r.RequestURI)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *uriBackend) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.uris
	b.uris = nil
	return u
}

// rawGet sends "GET uri HTTP/1.1" over a fresh connection, so that no
// client library touches the path, and returns the status line and body.
func rawGet(t *testing.T, addr, uri string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", uri, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.Status, string(body)
}

func TestProxyForwardsPathsAsSent(t *testing.T) {
	b := startURIBackend(t)
	f := newProxyFixture(t, fmt.Sprintf(`{%q: 1}`, b.srv.Listener.Addr().String()))
	addr := f.front.Listener.Addr().String()
	for _, uri := range []string{
		"/api//v1/items",
		"/a/../b",
		"/a/./b/",
		"//double",
		"/x%2Fy%2e%2e",
		"/%7Euser?q=a%20b&&c=%zz&d",
		"/-/safewrr",
		"/-/safewrr?after=1&wait=60s",
		"/-/health",
		"/?",
	} {
		status, body := rawGet(t, addr, uri)
		if status != "200 OK" || body != "backend saw "+uri {
			t.Errorf("GET %s: %s %q, want 200 and the backend to see it unchanged", uri, status, body)
		}
		if got := b.take(); len(got) != 1 || got[0] != uri {
			t.Errorf("GET %s: the backend got %q", uri, got)
		}
	}
	// A fragment is no part of a request-target (RFC 9112): 400, and the
	// backend sees nothing. Its escaped form is a path like any other.
	for _, uri := range []string{"/a#frag", "/a?x=1#frag", "/#", "/a%23b#"} {
		if status, body := rawGet(t, addr, uri); status != "400 Bad Request" || !strings.Contains(body, "'#'") {
			t.Errorf("GET %s: %s %q, want 400 naming the '#'", uri, status, body)
		}
		if got := b.take(); len(got) != 0 {
			t.Errorf("GET %s: the backend got %q", uri, got)
		}
	}
	if status, _ := rawGet(t, addr, "/a%23b"); status != "200 OK" || fmt.Sprint(b.take()) != "[/a%23b]" {
		t.Errorf("GET /a%%23b: %s, want it forwarded as sent", status)
	}
}

func TestProxyAdminIsApartFromTraffic(t *testing.T) {
	b := startURIBackend(t)
	f := newProxyFixture(t, fmt.Sprintf(`{%q: 1}`, b.srv.Listener.Addr().String()))
	resp, err := http.Get(f.front.URL + proxyStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "backend saw "+proxyStatusPath || strings.Contains(string(body), "generation") {
		t.Fatalf("GET %s on the traffic listener answered %q, want the backend's answer", proxyStatusPath, body)
	}
	if st := f.status(t); st.Generation != 1 || st.NodesTotal != 1 {
		t.Fatalf("admin status: %+v", st)
	}
	resp, err = http.Get(f.admin.URL + proxyHealthPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "ok: 1 of 1 nodes serving") {
		t.Fatalf("health: %s %q", resp.Status, body)
	}
}

// TestProxySaysWhyThereAreNoBackends: with a missing registry file, or every
// node rejected, the log (at startup), the 503 body and the health endpoint
// say what is missing; the log never claims last good nodes it does not have.
func TestProxySaysWhyThereAreNoBackends(t *testing.T) {
	for _, c := range []struct {
		name     string
		registry string // "" for a missing file
		why      string
	}{
		{"missing file", "", "no such file or directory"},
		{"every node rejected", `{"10.0.0.1:80": "0", "10.0.0.2:80": NaN}`, "all 2 nodes rejected"},
		{"empty", `{}`, "empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "registry.json")
			if c.registry != "" {
				if err := os.WriteFile(file, []byte(c.registry), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			run := startProxyMain(t, "--registry", file, "--poll", "0")
			logs := run.logs.take()
			if strings.Contains(logs, "keeping the last good nodes") || !strings.Contains(logs, "no backends yet") || !strings.Contains(logs, c.why) {
				t.Fatalf("startup log does not say what is missing (%q):\n%s", c.why, logs)
			}
			resp, err := http.Get("http://" + run.addr + "/any")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || !strings.HasPrefix(string(body), "safewrr: no backends yet: ") || !strings.Contains(string(body), c.why) {
				t.Fatalf("503 body %q (status %d), want the reason (%q)", body, resp.StatusCode, c.why)
			}
			resp, err = http.Get("http://" + run.admin + proxyHealthPath)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || !strings.Contains(string(body), c.why) {
				t.Fatalf("health %d %q", resp.StatusCode, body)
			}
		})
	}
}

// proxyRun is proxyMain running in a goroutine.
type proxyRun struct {
	addr, admin string
	logs        *proxyLogBuffer
	poll        chan os.Signal
}

func startProxyMain(t *testing.T, args ...string) *proxyRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &proxyRun{logs: &proxyLogBuffer{}, poll: make(chan os.Signal)}
	ready := make(chan [2]string, 1)
	exit := make(chan int, 1)
	go func() {
		exit <- proxyMain(ctx, append([]string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, args...),
			io.Discard, r.logs, proxyHooks{poll: r.poll, ready: func(addr, admin string) { ready <- [2]string{addr, admin} }})
	}()
	select {
	case a := <-ready:
		r.addr, r.admin = a[0], a[1]
	case code := <-exit:
		cancel()
		t.Fatalf("proxyMain exited %d before listening:\n%s", code, r.logs.take())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != exitOK {
			t.Errorf("proxyMain exit %d", code)
		}
	})
	return r
}

func TestProxyNeverPrintsRegistryCredentials(t *testing.T) {
	b := startURIBackend(t)
	var mu sync.Mutex
	code := 500
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "http://user:s3cr3t@127.0.0.2:1/reg?token=t0p", http.StatusFound)
			return
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{%q: 1}`, b.srv.Listener.Addr().String())
	}))
	defer reg.Close()
	secret := func(s string) bool { return strings.Contains(s, "s3cr3t") || strings.Contains(s, "t0p") }
	regURL := "http://user:s3cr3t@" + reg.Listener.Addr().String() + "/reg?token=t0p#frag"
	run := startProxyMain(t, "--registry", regURL, "--poll", "0")
	var seen strings.Builder
	get := func(url string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.Write(body)
	}
	get("http://" + run.addr + "/")              // 503 with the reason
	get("http://" + run.admin + proxyStatusPath) // last_error
	get("http://" + run.admin + proxyHealthPath) // the reason again
	mu.Lock()
	code = 200
	mu.Unlock()
	run.poll <- syscall.SIGHUP
	get("http://" + run.admin + proxyStatusPath + "?after=1&wait=10s")
	seen.WriteString(run.logs.take())
	out := seen.String()
	if secret(out) {
		t.Fatalf("a credential was printed:\n%s", out)
	}
	if !strings.Contains(out, "REDACTED") || !strings.Contains(out, "500") || !strings.Contains(out, `"generation": 1`) {
		t.Fatalf("the output lacks what it should show:\n%s", out)
	}
	// A redirect to another host is refused, and said without the secret.
	run2 := startProxyMain(t, "--registry", "http://"+reg.Listener.Addr().String()+"/away?token=t0p", "--poll", "0")
	logs := run2.logs.take()
	if secret(logs) || !strings.Contains(logs, "another host") {
		t.Fatalf("redirect to another host:\n%s", logs)
	}
}

// TestProxySlowClientHoldsNoBackend: a request body that does not arrive
// within --read-timeout is answered 408 by the proxy; no backend sees it.
func TestProxySlowClientHoldsNoBackend(t *testing.T) {
	b := startURIBackend(t)
	file := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`{%q: 1}`, b.srv.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startProxyMain(t, "--registry", file, "--poll", "0", "--read-timeout", "300ms")
	c, err := net.Dial("tcp", run.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Announce 10 bytes, send 1, then nothing.
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx")
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound for a broken proxy, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "timeout") {
		t.Fatalf("slow body: %s %q, want 408", resp.Status, body)
	}
	if got := b.take(); len(got) != 0 {
		t.Fatalf("the backend saw %q", got)
	}
	// A whole body is buffered and forwarded.
	resp, err = http.Post("http://"+run.addr+"/upload", "text/plain", strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b.take()) != 1 {
		t.Fatalf("whole body: %s", resp.Status)
	}
}

// TestProxyStatusPageIsBounded: 20,000 rejected nodes make a page with the
// totals per reason and the first 100 rejects, not one entry per node.
func TestProxyStatusPageIsBounded(t *testing.T) {
	b := startURIBackend(t)
	var reg strings.Builder
	fmt.Fprintf(&reg, `{%q: 1`, b.srv.Listener.Addr().String())
	for i := range 20000 {
		fmt.Fprintf(&reg, `, "10.1.%d.%d:80": "0"`, i/250, i%250)
	}
	reg.WriteString("}")
	f := newProxyFixture(t, reg.String())
	resp, err := http.Get(f.admin.URL + proxyStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(page) > 64<<10 {
		t.Fatalf("status page of %d bytes", len(page))
	}
	st := f.status(t)
	if st.Rejected != 20000 || len(st.Rejects) != 100 || st.Reasons["string-zero"] != 20000 || st.Entries != 20001 {
		t.Fatalf("rejected %d, listed %d, reasons %v, entries %d", st.Rejected, len(st.Rejects), st.Reasons, st.Entries)
	}
	if n := strings.Count(f.logs.take(), "\n"); n > 20 {
		t.Fatalf("%d log lines for one payload", n)
	}
}

// TestProxy503WhenEveryNodeIsEjected names the state instead of "no
// backends yet" once the registry has named nodes.
func TestProxy503WhenEveryNodeIsEjected(t *testing.T) {
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	f := newProxyFixture(t, fmt.Sprintf(`{%q: 1}`, deadAddr), "--eject-after", "1", "--max-ejected", "100")
	resp, err := http.Get(f.front.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("first request: %s, want 502", resp.Status)
	}
	resp, err = http.Get(f.front.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(body) != "safewrr: no backend can take the request now: all backends are ejected\n" {
		t.Fatalf("second request: %s %q", resp.Status, body)
	}
}

// TestProxyAdminAnswersWhileTheFirstPollHangs: a registry that never
// answers holds the first poll, but the admin listener answers 503 saying
// nothing is loaded yet, so does the traffic listener, and the proxy stops
// when asked.
func TestProxyAdminAnswersWhileTheFirstPollHangs(t *testing.T) {
	release := make(chan struct{})
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer reg.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	accepting := make(chan [2]string, 1)
	exit := make(chan int, 1)
	logs := &proxyLogBuffer{}
	go func() {
		exit <- proxyMain(ctx, []string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry", reg.URL, "--fetch-timeout", "1h"},
			io.Discard, logs, proxyHooks{accepting: func(addr, admin string) { accepting <- [2]string{addr, admin} }})
	}()
	var addrs [2]string
	select {
	case addrs = <-accepting:
	case code := <-exit:
		t.Fatalf("proxyMain exited %d:\n%s", code, logs.take())
	}
	for _, u := range []string{"http://" + addrs[1] + proxyHealthPath, "http://" + addrs[1] + proxyStatusPath, "http://" + addrs[0] + "/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), httplb.NotLoaded) {
			t.Errorf("GET %s: %d %q, want 503 saying nothing is loaded yet", u, resp.StatusCode, body)
		}
	}
	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(20 * time.Second): // a bound for a broken stop, not a measure
		t.Fatal("the proxy did not stop while its first poll hung")
	}
}
