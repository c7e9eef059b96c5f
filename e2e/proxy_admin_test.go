//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxyAdminApartAndNoSecrets runs the built binary against a registry
// URL with credentials in its user info and query: the status page is on
// the admin listener only (the traffic listener forwards /-/safewrr to a
// backend), and no credential appears in the log, the status page, the
// health endpoint or a 503 body.
func TestProxyAdminApartAndNoSecrets(t *testing.T) {
	bs, _ := startBackends(t, "A")
	var fail atomic.Bool
	fail.Store(true)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, registryMap(bs, "1"))
	}))
	defer reg.Close()
	url := "http://registry-user:s3cr3t-pass@" + reg.Listener.Addr().String() + "/v1/nodes?token=t0p-t0ken#frag"
	p := startSafewrrProxy(t, url, "--poll", "1h")
	c := client(10*time.Second, false)
	var seen strings.Builder
	read := func(u string) (int, string) {
		code, body, err := get(c, u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		seen.WriteString(body)
		return code, body
	}
	if code, body := read(p.url("/")); code != 503 || !strings.Contains(body, "no backends yet") {
		t.Fatalf("before a good payload: %d %q", code, body)
	}
	read(p.adminURL("/-/safewrr"))
	read(p.adminURL("/-/health"))
	fail.Store(false)
	if st := p.pollNow(t); st.Generation != 1 {
		t.Fatalf("after a good payload: %+v", st)
	}
	if code, body := read(p.url("/-/safewrr")); code != 200 || body != "A" {
		t.Fatalf("GET /-/safewrr on the traffic listener: %d %q, want the backend's answer", code, body)
	}
	if code, body := read(p.adminURL("/-/health")); code != 200 || !strings.HasPrefix(body, "ok: 1 of 1") {
		t.Fatalf("health: %d %q", code, body)
	}
	read(p.adminURL("/-/safewrr"))
	p.stop(t)
	out := seen.String() + p.proc.output.String()
	for _, secret := range []string{"registry-user", "s3cr3t", "t0p-t0ken", "frag"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%q was printed:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("the registry is never named:\n%s", out)
	}
}
