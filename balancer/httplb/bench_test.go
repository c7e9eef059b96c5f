package httplb

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
}

// loopbackBalancer starts n loopback backends and a balancer over them with
// weights 1..n.
func loopbackBalancer(b *testing.B, n int) *balancer.Balancer {
	b.Helper()
	var nodes []weights.Node
	for i := 0; i < n; i++ {
		srv := httptest.NewServer(okHandler())
		b.Cleanup(srv.Close)
		nodes = append(nodes, weights.Node{ID: srv.Listener.Addr().String(), Weight: uint32(i + 1)})
	}
	lb, err := balancer.New(nodes)
	if err != nil {
		b.Fatal(err)
	}
	return lb
}

func keepAliveClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func get(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkRequest compares a GET sent straight to a loopback backend with
// the same GET through the balancing proxy, in the same run and over
// keep-alive connections: the difference is the proxy's cost per request.
func BenchmarkRequest(b *testing.B) {
	backend := httptest.NewServer(okHandler())
	defer backend.Close()
	front := httptest.NewServer(mustProxy(b, loopbackBalancer(b, 3), WithBase(&http.Transport{MaxIdleConnsPerHost: 64})))
	defer front.Close()
	client := keepAliveClient()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get(b, client, backend.URL)
		}
	})
	b.Run("proxy/nodes=3", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get(b, client, front.URL)
		}
	})
}

// BenchmarkProxyParallel sends requests from 8 concurrent clients straight
// to a backend and through the proxy, and reports requests per second
// (through the proxy each request is one pick).
func BenchmarkProxyParallel(b *testing.B) {
	b.Run("clients=8/direct", func(b *testing.B) {
		backend := httptest.NewServer(okHandler())
		defer backend.Close()
		client := keepAliveClient()
		b.ReportAllocs()
		parallel(b, 8, "req/s", func() { get(b, client, backend.URL) })
	})
	b.Run("clients=8/nodes=3", func(b *testing.B) {
		front := httptest.NewServer(mustProxy(b, loopbackBalancer(b, 3), WithBase(&http.Transport{MaxIdleConnsPerHost: 64})))
		defer front.Close()
		client := keepAliveClient()
		b.ReportAllocs()
		parallel(b, 8, "req/s", func() { get(b, client, front.URL) })
	})
}

// nullNet answers every request at once without a network.
type nullNet struct{}

func (nullNet) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
}

// BenchmarkRoundTripParallel measures the adapter alone (pick, request copy,
// health bookkeeping) from 8 concurrent callers, with a base RoundTripper
// that answers without a network: picks per second of the Transport.
func BenchmarkRoundTripParallel(b *testing.B) {
	for _, n := range []int{3, 1000} {
		b.Run(fmt.Sprintf("clients=8/nodes=%d", n), func(b *testing.B) {
			nodes := make([]weights.Node, n)
			for i := range nodes {
				nodes[i] = weights.Node{ID: fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), Weight: uint32(i%7 + 1)}
			}
			lb, err := balancer.New(nodes)
			if err != nil {
				b.Fatal(err)
			}
			tr := mustTransport(b, lb, WithBase(nullNet{}))
			req, _ := http.NewRequest(http.MethodGet, "http://service/", nil)
			b.ReportAllocs()
			parallel(b, 8, "picks/s", func() {
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			})
		})
	}
}

// parallel runs op b.N times in all from about clients goroutines (a
// multiple of GOMAXPROCS, exactly 8 on 1, 2, 4 or 8 procs) and
// reports the rate of op in unit.
func parallel(b *testing.B, clients int, unit string, op func()) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism(max(1, (clients+procs-1)/procs))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}
