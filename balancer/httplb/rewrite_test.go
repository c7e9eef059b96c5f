package httplb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// TestRewriteKeepsPathAndQueryAsSent: the backend gets the request URI the
// client sent, query parameters that do not parse included.
func TestRewriteKeepsPathAndQueryAsSent(t *testing.T) {
	got := make(chan string, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.RequestURI
	}))
	defer backend.Close()
	b, err := balancer.New([]weights.Node{{ID: backend.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(mustProxy(t, b))
	defer front.Close()
	for _, uri := range []string{"/a//b/../c?x=1;y=2&z=%zz", "/p%2Fq?a%20b", "/?&&"} {
		c, err := net.Dial("tcp", front.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", uri)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", uri, resp.Status)
		}
		if seen := <-got; seen != uri {
			t.Errorf("GET %s: the backend saw %s", uri, seen)
		}
	}
}

// TestRewritePicksNothing: Rewrite only sets headers and the scheme; the
// schedule moves once per attempt, in RoundTrip.
func TestRewritePicksNothing(t *testing.T) {
	f := newFixture(t, []uint32{1, 1, 1}, nil, WithScheme("HTTPS"))
	in := httptest.NewRequest(http.MethodGet, "http://front/x?q=1", nil)
	pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
	for range 5 {
		f.t.Rewrite(pr)
	}
	if pr.Out.URL.Scheme != "https" || pr.Out.Header.Get("X-Forwarded-For") == "" {
		t.Fatalf("Rewrite: scheme %q, X-Forwarded-For %q", pr.Out.URL.Scheme, pr.Out.Header.Get("X-Forwarded-For"))
	}
	if n, err := f.b.Next(); err != nil || n.ID != "a:1" {
		t.Fatalf("after 5 Rewrites Next() = %v, %v; want a:1, the schedule untouched", n.ID, err)
	}
	// One pick per attempt: b fails, the retry goes to c, then a is next.
	f.net.set("b:1", true)
	if _, err := f.t.RoundTrip(pr.Out); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.net.take()); got != "[b:1 c:1]" {
		t.Fatalf("attempts %s, want [b:1 c:1]", got)
	}
	if n, _ := f.b.Next(); n.ID != "a:1" {
		t.Fatalf("Next() after the request = %s, want a:1", n.ID)
	}
}
