package httplb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	front := httptest.NewServer(NewProxy(b))
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
