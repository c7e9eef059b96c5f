package grpcwrr

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/roundrobin"
	"google.golang.org/grpc/balancer/weightedroundrobin"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/serviceconfig"

	"github.com/safewrr/safewrr/weights"
)

// captured keeps the last picker a policy gave its channel.
type captured struct {
	mu     sync.Mutex
	picker balancer.Picker
}

func (c *captured) get() balancer.Picker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.picker
}

type captureCC struct {
	balancer.ClientConn
	c *captured
}

func (cc captureCC) UpdateState(s balancer.State) {
	cc.c.mu.Lock()
	cc.c.picker = s.Picker
	cc.c.mu.Unlock()
	cc.ClientConn.UpdateState(s)
}

// captureBuilder builds the policy registered as inner, with its pickers
// captured.
type captureBuilder struct {
	name, inner string
	c           *captured
}

func (b captureBuilder) Name() string { return b.name }

func (b captureBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return balancer.Get(b.inner).Build(captureCC{ClientConn: cc, c: b.c}, opts)
}

func (b captureBuilder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	if p, ok := balancer.Get(b.inner).(balancer.ConfigParser); ok {
		return p.ParseConfig(js)
	}
	return nil, nil
}

// readyPicker dials n local servers with the named policy and returns its
// picker once every server has answered an RPC.
func readyPicker(b *testing.B, policy string, n int) balancer.Picker {
	c := &captured{}
	name := fmt.Sprintf("capture_%s_%d", policy, policySeq.Add(1))
	balancer.Register(captureBuilder{name: name, inner: policy, c: c})
	eps := make([]resolver.Endpoint, n)
	for i := range n {
		be := startBackend(b, fmt.Sprint(i), "127.0.0.1:0")
		eps[i] = endpoint(be.addr, weights.Int(int64(i%7+1)))
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("bench%d", policySeq.Add(1)))
	r.InitialState(resolver.State{Endpoints: eps})
	cc, err := grpc.NewClient(r.Scheme()+":///backends", grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, name)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	seen := map[string]bool{}
	for i := 0; len(seen) < n; i++ {
		if i > 100*n {
			b.Fatalf("after %d RPCs only %d of %d servers answered", i, len(seen), n)
		}
		got, err := call(b.Context(), cc)
		if err != nil {
			b.Fatal(err)
		}
		seen[got] = true
	}
	return c.get()
}

// BenchmarkPick compares the cost of one pick by this policy's picker with
// grpc-go's round_robin and weighted_round_robin pickers, each over n READY
// connections to local servers (weighted_round_robin without load reports
// picks with equal weights).
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{4, 32} {
		for _, policy := range []string{Name, roundrobin.Name, weightedroundrobin.Name} {
			b.Run(fmt.Sprintf("policy=%s/n=%d", policy, n), func(b *testing.B) {
				p := readyPicker(b, policy, n)
				info := balancer.PickInfo{FullMethodName: nameMethod, Ctx: b.Context()}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := p.Pick(info); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
