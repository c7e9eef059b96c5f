package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "--request-timeout 200ms") {
		t.Fatalf("GET: %s %q, want 504 naming --request-timeout", resp.Status, body)
	}
	if len(hits) != 1 {
		t.Fatalf("the backend got %d requests", len(hits))
	}
}
