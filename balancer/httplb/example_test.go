package httplb_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/weights"
)

// A reverse proxy over loopback backends a, b and c weighted 3, 2 and 1.
// Backend c is down: the requests that pick it are retried on another node,
// and every request is answered.
func Example() {
	say := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	a, b, c := httptest.NewServer(say("a")), httptest.NewServer(say("b")), httptest.NewServer(say("c"))
	defer a.Close()
	defer b.Close()
	c.Close() // down: connections are refused

	lb, err := balancer.New([]weights.Node{
		{ID: a.Listener.Addr().String(), Weight: 3},
		{ID: b.Listener.Addr().String(), Weight: 2},
		{ID: c.Listener.Addr().String(), Weight: 1},
	})
	if err != nil {
		panic(err)
	}
	proxy := httptest.NewServer(httplb.NewProxy(lb, httplb.WithMaxAttempts(2)))
	defer proxy.Close()

	for range 6 {
		resp, err := http.Get(proxy.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body), ", ")
	}
	fmt.Println()
	// Output: 200 a, 200 b, 200 a, 200 b, 200 a, 200 a,
}
