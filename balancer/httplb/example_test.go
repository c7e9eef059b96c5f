package httplb_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

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
	rp, err := httplb.NewProxy(lb, httplb.WithMaxAttempts(2))
	if err != nil {
		panic(err)
	}
	proxy := httptest.NewServer(rp)
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

// A Transport also works as an http.Client's transport: the URL's host is
// only a name, each attempt goes to a node of the balancer.
func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()
	lb, err := balancer.New([]weights.Node{{ID: srv.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		panic(err)
	}
	tr, err := httplb.NewTransport(lb)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://inventory.service/items/42")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 GET /items/42
}

func ExampleRetryable() {
	get, _ := http.NewRequest(http.MethodGet, "http://svc/", nil)
	post, _ := http.NewRequest(http.MethodPost, "http://svc/", strings.NewReader("order"))
	keyed, _ := http.NewRequest(http.MethodPost, "http://svc/", strings.NewReader("order"))
	keyed.Header.Set("Idempotency-Key", "7f3a")
	fmt.Println(httplb.Retryable(get), httplb.Retryable(post), httplb.Retryable(keyed))
	// Output: true false true
}
