package caddywrr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

var benchSizes = []int{4, 32, 1000}

// benchPool is n provisioned-looking upstreams (each with its Host) and
// their weights 1..10 in turn.
func benchPool(n int) (reverseproxy.UpstreamPool, []int) {
	pool := make(reverseproxy.UpstreamPool, n)
	ws := make([]int, n)
	for i := range pool {
		pool[i] = &reverseproxy.Upstream{Host: new(reverseproxy.Host), Dial: fmt.Sprintf("10.0.%d.%d:80", i/250, i%250+1)}
		ws[i] = i%10 + 1
	}
	return pool, ws
}

func provision(b testing.TB, m caddy.Module) {
	b.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	if p, ok := m.(caddy.Provisioner); ok {
		if err := p.Provision(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// selectors are the policies compared: safewrr and Caddy's own weighted
// and plain round robin, over the same pool and weights.
func selectors(b testing.TB, ws []int) map[string]reverseproxy.Selector {
	raws := make([]json.RawMessage, len(ws))
	for i, w := range ws {
		raws[i] = json.RawMessage(strconv.Itoa(w))
	}
	s := &Policy{Weights: raws}
	wrr := &reverseproxy.WeightedRoundRobinSelection{Weights: ws}
	rr := &reverseproxy.RoundRobinSelection{}
	for _, m := range []caddy.Module{s, wrr, rr} {
		provision(b, m)
	}
	return map[string]reverseproxy.Selector{"safewrr": s, "weighted_round_robin": wrr, "round_robin": rr}
}

// requestWithVars is a request as Caddy hands it to a policy: with the
// variable table in its context.
func requestWithVars() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://localhost/", nil)
	ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{})
	return r.WithContext(ctx)
}

// BenchmarkSelect is one pick of each policy over n upstreams with
// weights 1..10, on a fresh request each time (as Caddy calls it: one
// Select per request without retries).
func BenchmarkSelect(b *testing.B) {
	for _, n := range benchSizes {
		pool, ws := benchPool(n)
		sel := selectors(b, ws)
		for _, name := range []string{"safewrr", "weighted_round_robin", "round_robin"} {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				s := sel[name]
				r := requestWithVars()
				vars := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
				s.Select(pool, r, nil) // safewrr builds its schedule on the first pick of a pool
				b.ReportAllocs()
				for b.Loop() {
					clear(vars)
					if s.Select(pool, r, nil) == nil {
						b.Fatal("no upstream")
					}
				}
			})
		}
	}
}

// TestSelectAllocatesNothing holds the policy's pick to zero allocations,
// for static upstreams and for a safewrr source's snapshot.
func TestSelectAllocatesNothing(t *testing.T) {
	pool, ws := benchPool(32)
	p := selectors(t, ws)["safewrr"]
	r := requestWithVars()
	vars := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	if n := testing.AllocsPerRun(1000, func() {
		clear(vars)
		p.Select(pool, r, nil)
	}); n != 0 {
		t.Errorf("Select over static upstreams: %v allocations per pick, want 0", n)
	}
}

// BenchmarkProxy is requests per second through a running Caddy (HTTP/1.1
// over a unix socket, keep-alive, GOMAXPROCS clients) to four loopback
// backends with weights 4 3 2 1, per policy; safewrr-registry reads the
// upstreams and weights from a registry file through the safewrr source.
func BenchmarkProxy(b *testing.B) {
	for _, c := range []struct{ name, upstreams, policy string }{
		{"safewrr", "%s", "safewrr 4 3 2 1"},
		{"safewrr-registry", "{\n\t\tdynamic safewrr {REGISTRY} {\n\t\t\tpoll -1s\n\t\t}\n", "safewrr"},
		{"weighted_round_robin", "%s", "weighted_round_robin 4 3 2 1"},
		{"round_robin", "%s", "round_robin"},
	} {
		b.Run(c.name, func(b *testing.B) {
			bs := make([]*backend, 4)
			addrs := make([]string, 4)
			for i := range bs {
				bs[i] = startBackend(b, string(rune('a'+i)))
				addrs[i] = bs[i].addr
			}
			r := newRig(b)
			r.write(b, fmt.Sprintf(`{%q: 4, %q: 3, %q: 2, %q: 1}`, addrs[0], addrs[1], addrs[2], addrs[3]))
			block := "reverse_proxy " + strings.Join(addrs, " ") + " {\n"
			if c.name == "safewrr-registry" {
				block = "reverse_proxy " + c.upstreams
			}
			r.loadCaddyfile(b, `{
	admin off
	persist_config off
	auto_https off
	storage file_system {DIR}
	log {
		output discard
	}
}

http:// {
	bind unix/{SOCK}
	log_skip
	`+block+`		lb_policy `+c.policy+`
	}
}
`)
			var failed atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 16)
				for pb.Next() {
					resp, err := r.client.Get("http://localhost/")
					if err != nil {
						failed.Add(1)
						continue
					}
					for {
						if _, err := resp.Body.Read(buf); err != nil {
							break
						}
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d requests failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
