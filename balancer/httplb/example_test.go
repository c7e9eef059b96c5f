package httplb_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
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

// The whole proxy: an empty balancer, the proxy over it with the backend
// timeouts, a server with the client-side timeouts and limits, the admin
// endpoints on a listener of their own, and a feed that hands the
// registry's nodes to the balancer. Both listeners answer from the start.
func Example_server() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	}))
	defer backend.Close()

	lb, err := balancer.New(nil)
	if err != nil {
		panic(err)
	}
	base, err := httplb.NewBackendTransport(httplb.DefaultTimeouts, nil)
	if err != nil {
		panic(err)
	}
	var loaded atomic.Pointer[feed.Feed] // set below; the 503 says why until then
	tr, err := httplb.NewTransport(lb, httplb.WithBase(base), httplb.WithNoNodeReason(func() string {
		if f := loaded.Load(); f != nil {
			return f.Status().NoBackendsReason()
		}
		return httplb.NotLoaded
	}))
	if err != nil {
		panic(err)
	}
	srv, err := httplb.NewServer(tr.Proxy(), httplb.DefaultTimeouts)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(httplb.LimitConns(srv, ln, 1024))
	defer srv.Close()
	admin := &httplb.Admin{}
	adminSrv := httptest.NewServer(admin)
	defer adminSrv.Close()

	get := func(url string) {
		resp, err := http.Get(url)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	get(adminSrv.URL + httplb.HealthPath) // before the first poll

	registry := feed.Func("inline", func(context.Context) ([]byte, error) {
		return fmt.Appendf(nil, `{%q: 1}`, backend.Listener.Addr()), nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := feed.New(ctx, registry, feed.WithSink(lb))
	if err != nil {
		panic(err)
	}
	loaded.Store(f)
	admin.Attach(f, lb, tr)
	go f.Run(ctx)

	resp, err := http.Post("http://"+ln.Addr().String()+"/orders", "text/plain", strings.NewReader("one"))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	get(adminSrv.URL + httplb.HealthPath)
	// Output:
	// 503 no backends yet: the first registry poll has not completed yet
	// 200 POST /orders one
	// 200 ok: 1 of 1 nodes serving, generation 1
}

// The README's proxy: a registry file, the proxy with its timeouts. It is
// compiled, not run (it serves until the process ends).
func Example_readme() {
	ctx := context.Background()
	f, err := feed.New(ctx, feed.File("registry.json"))
	if err != nil {
		panic(err)
	}
	go f.Run(ctx) // polls every second from now on
	base, err := httplb.NewBackendTransport(httplb.DefaultTimeouts, nil)
	if err != nil {
		panic(err)
	}
	proxy, err := httplb.NewProxy(f.Balancer(), httplb.WithBase(base))
	if err != nil {
		panic(err)
	}
	srv, err := httplb.NewServer(proxy, httplb.DefaultTimeouts)
	if err != nil {
		panic(err)
	}
	srv.Addr = "127.0.0.1:8080"
	panic(srv.ListenAndServe())
}
