package httplb_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/weights"
)

// TestEmbedderDeliversEveryPOST is what an embedder gets from NewProxy with
// no options: with a dead node first in the schedule, every POST (not
// idempotent, its body a one-shot stream from the client) is delivered,
// because its body was buffered and its attempt at the dead node never
// connected. This is what `safewrr proxy` delivers.
func TestEmbedderDeliversEveryPOST(t *testing.T) {
	var mu sync.Mutex
	var got []string
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer live.Close()
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()

	lb, err := balancer.New([]weights.Node{{ID: deadAddr, Weight: 1}, {ID: live.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := httplb.NewProxy(lb)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(rp)
	defer front.Close()
	var codes []int
	for i := range 4 {
		resp, err := http.Post(front.URL+"/orders", "text/plain", strings.NewReader(fmt.Sprint("order ", i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 200 200]" {
		t.Fatalf("statuses %v, want every POST delivered", codes)
	}
	if fmt.Sprint(got) != "[order 0 order 1 order 2 order 3]" {
		t.Fatalf("the live backend got %q", got)
	}
	// Unbuffered, a POST that met the dead node cannot be sent again (a
	// fresh balancer: the first proxy ejected the dead node).
	lb, err = balancer.New([]weights.Node{{ID: deadAddr, Weight: 1}, {ID: live.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rp, err = httplb.NewProxy(lb, httplb.WithBodyBuffer(0), httplb.WithEjection(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	front2 := httptest.NewServer(rp)
	defer front2.Close()
	failed := 0
	for range 4 {
		resp, err := http.Post(front2.URL+"/orders", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadGateway {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("with WithBodyBuffer(0) no POST failed; the test does not exercise the dead node")
	}
}
