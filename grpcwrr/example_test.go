package grpcwrr_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/grpcwrr" // registers the "safewrr" policy and resolver
	"github.com/safewrr/safewrr/weights"
)

// A client reads its backends and their weights from a registry payload
// (here a file holding {"host:port": weight, ...}; any supported registry
// format works, see format= and service=) and balances by those weights.
func Example() {
	a, b := start("a"), start("b")
	defer a.Stop()
	defer b.Stop()
	registry := writeRegistry(fmt.Sprintf(`{%q: 2, %q: 1}`, a.Addr, b.Addr))
	defer os.RemoveAll(filepath.Dir(registry))

	conn, err := grpc.NewClient("safewrr://"+registry+"?format=map",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"safewrr":{}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	// Backends join as they connect; count once both have answered.
	for seen := map[string]bool{}; len(seen) < 2; {
		seen[hello(conn)] = true
	}
	counts := map[string]int{}
	for range 30 {
		counts[hello(conn)]++
	}
	fmt.Println(counts)
	// Output: map[a:20 b:10]
}

// A resolver of your own attaches each endpoint's weight exactly as the
// registry sent it; the policy judges it. Here b's weight is the string "0"
// (the value behind the 2021 Bilibili outage): b is rejected, logged, never
// connected and never picked.
func ExampleSetWeight() {
	a, b := start("a"), start("b")
	defer a.Stop()
	defer b.Stop()

	r := manual.NewBuilderWithScheme("example")
	r.InitialState(resolver.State{Endpoints: []resolver.Endpoint{
		grpcwrr.SetWeight(resolver.Endpoint{Addresses: []resolver.Address{{Addr: a.Addr}}}, weights.Number("3")),
		grpcwrr.SetWeight(resolver.Endpoint{Addresses: []resolver.Address{{Addr: b.Addr}}}, weights.String("0")),
	}})
	conn, err := grpc.NewClient("example:///backends", grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"safewrr":{}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	counts := map[string]int{}
	for range 10 {
		counts[hello(conn)]++
	}
	fmt.Println(counts, b.Calls())
	// Output: map[a:10] 0
}

// A registry client of your own feeds the channel through feed.Func: every
// payload it returns goes through the same decoding and guards as a file or
// a URL (a payload the feed refuses never reaches the channel).
func ExampleNewResolverBuilder() {
	a, b := start("a"), start("b")
	defer a.Stop()
	defer b.Stop()

	payload := fmt.Sprintf(`{%q: 1, %q: 1}`, a.Addr, b.Addr)
	fetch := func(context.Context) ([]byte, error) { return []byte(payload), nil }
	rb := grpcwrr.NewResolverBuilder("myregistry", feed.Func("my registry client", fetch))
	conn, err := grpc.NewClient("myregistry:///main.api", grpc.WithResolvers(rb),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"safewrr":{}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	for seen := map[string]bool{}; len(seen) < 2; {
		seen[hello(conn)] = true
	}
	counts := map[string]int{}
	for range 10 {
		counts[hello(conn)]++
	}
	fmt.Println(counts)
	// Output: map[a:5 b:5]
}

// backend is a gRPC server on a loopback port that serves grpc-go's own
// health service and counts the RPCs it answers.
type backend struct {
	Addr  string
	srv   *grpc.Server
	calls atomic.Int64
}

// names maps a backend's address to its name, for hello.
var names sync.Map

func start(name string) *backend {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	b := &backend{Addr: lis.Addr().String()}
	b.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		b.calls.Add(1)
		return handler(ctx, req)
	}))
	healthpb.RegisterHealthServer(b.srv, health.NewServer())
	names.Store(b.Addr, name)
	go b.srv.Serve(lis)
	return b
}

func (b *backend) Stop()        { b.srv.Stop() }
func (b *backend) Calls() int64 { return b.calls.Load() }

// hello makes one health check and returns the name of the backend that
// answered it (grpc.Peer tells its address).
func hello(conn *grpc.ClientConn) string {
	var p peer.Peer
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Peer(&p)); err != nil {
		log.Fatal(err)
	}
	name, _ := names.Load(p.Addr.String())
	return name.(string)
}

func writeRegistry(payload string) string {
	dir, err := os.MkdirTemp("", "grpcwrr-example")
	if err != nil {
		log.Fatal(err)
	}
	file := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		log.Fatal(err)
	}
	return file
}
