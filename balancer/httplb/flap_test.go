package httplb

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// deadBackend listens on 127.0.0.1 and closes every connection it accepts
// at once: a real backend whose requests fail (EOF, connection reset).
func deadBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

type flapRig struct {
	b      *balancer.Balancer
	tr     *Transport
	proxy  *httptest.Server
	client *http.Client
	dead   weights.Node
	good   weights.Node
}

// newFlapRig starts a good and a dead backend on 127.0.0.1 and a proxy in
// front of them with the default ejection settings and a manual clock.
func newFlapRig(t *testing.T) *flapRig {
	t.Helper()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	t.Cleanup(good.Close)
	r := &flapRig{
		dead: weights.Node{ID: deadBackend(t), Weight: 1},
		good: weights.Node{ID: strings.TrimPrefix(good.URL, "http://"), Weight: 1},
	}
	clk := clocktest.New()
	b, err := balancer.New([]weights.Node{r.dead, r.good}, balancer.WithClock(clk.Now), balancer.WithSlowStart(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	base := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(base.CloseIdleConnections)
	r.b = b
	r.tr = mustTransport(t, b, WithClock(clk.Now), WithBase(base))
	r.proxy = httptest.NewServer(r.tr.Proxy())
	t.Cleanup(r.proxy.Close)
	r.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return r
}

// post sends n POSTs (not retried: not idempotent) and returns how many
// failed.
func (r *flapRig) post(t *testing.T, n int) (failed int) {
	t.Helper()
	for range n {
		resp, err := r.client.Post(r.proxy.URL+"/order", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed++
		}
	}
	return failed
}

// TestFlapKeepsEjection: a dead backend is ejected; the registry drops it
// and sends it again (Update({good}), Update({dead, good})) while the
// ejection runs. It comes back ejected, the transport and the balancer agree
// on it, and the POST failure rate after the flap equals the rate before.
func TestFlapKeepsEjection(t *testing.T) {
	r := newFlapRig(t)
	// Until the dead node is ejected, about half the POSTs fail.
	sent, first := 0, 0
	for r.tr.Ejections() == 0 && sent < 50 {
		first += r.post(t, 1)
		sent++
	}
	if r.tr.Ejections() != 1 || first != DefaultEjectAfter {
		t.Fatalf("after %d POSTs: %d ejections, %d failures; want 1 ejection after %d failures", sent, r.tr.Ejections(), first, DefaultEjectAfter)
	}
	st, _ := r.b.State(r.dead.ID)
	if st.State != balancer.Ejected {
		t.Fatalf("dead backend %v after its ejection", st.State)
	}
	before := r.post(t, 100)

	if err := r.b.Update([]weights.Node{r.good}); err != nil {
		t.Fatal(err)
	}
	if err := r.b.Update([]weights.Node{r.dead, r.good}); err != nil {
		t.Fatal(err)
	}
	again, _ := r.b.State(r.dead.ID)
	if again.State != balancer.Ejected || !again.EjectedUntil.Equal(st.EjectedUntil) {
		t.Fatalf("after the flap the dead backend is %v until %v, want ejected until %v", again.State, again.EjectedUntil, st.EjectedUntil)
	}
	after := r.post(t, 100)
	if after != before {
		t.Fatalf("POST failures: %d of 100 before the flap, %d of 100 after", before, after)
	}
	if r.tr.Ejections() != 1 {
		t.Fatalf("%d ejections, want 1", r.tr.Ejections())
	}
}

// TestRepeatedFlaps: a registry that keeps dropping and re-adding a dead
// backend never brings it back into rotation while its ejection runs.
func TestRepeatedFlaps(t *testing.T) {
	r := newFlapRig(t)
	for r.tr.Ejections() == 0 {
		r.post(t, 1)
	}
	failed := 0
	for range 20 {
		if err := r.b.Update([]weights.Node{r.good}); err != nil {
			t.Fatal(err)
		}
		failed += r.post(t, 3)
		if err := r.b.Update([]weights.Node{r.dead, r.good}); err != nil {
			t.Fatal(err)
		}
		failed += r.post(t, 3)
	}
	if failed != 0 || r.tr.Ejections() != 1 {
		t.Fatalf("over 20 flaps: %d of 120 POSTs failed, %d ejections; want 0 and 1", failed, r.tr.Ejections())
	}
}
