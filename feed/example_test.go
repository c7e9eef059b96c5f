package feed_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
)

// A reverse proxy whose backends come from a registry: the feed polls the
// source and keeps the balancer's nodes in step with it; httplb sends each
// request to the balancer's pick, retrying safe requests on another node.
func Example() {
	// Two backends that answer with their name, and a registry that lists
	// them (a file or an HTTP URL in real life: feed.File, feed.URL).
	a := backend("a")
	defer a.Close()
	b := backend("b")
	defer b.Close()
	registry := feed.Func("inline", func(context.Context) ([]byte, error) {
		return fmt.Appendf(nil, `{%q: 2, %q: 1, "10.0.0.9:80": "0"}`, a.Listener.Addr(), b.Listener.Addr()), nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := feed.New(ctx, registry)
	if err != nil {
		panic(err)
	}
	go f.Run(ctx) // polls every second from now on
	rp, err := httplb.NewProxy(f.Balancer())
	if err != nil {
		panic(err)
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()

	for range 3 {
		resp, err := http.Get(proxy.URL + "/hello")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Status, string(body))
	}
	st := f.Status()
	fmt.Println("serving", len(st.Nodes), "nodes; rejected:", st.Reasons)
	// Output:
	// 200 OK a
	// 200 OK b
	// 200 OK a
	// serving 2 nodes; rejected: map[string-zero:1]
}

func backend(name string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
}
