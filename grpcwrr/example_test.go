package grpcwrr_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/grpcwrr" // registers the "safewrr" policy and resolver
	"github.com/safewrr/safewrr/grpcwrr/internal/namesrv"
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

func start(name string) *namesrv.Server {
	s, err := namesrv.Start(name, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return s
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

func hello(conn *grpc.ClientConn) string {
	name, err := namesrv.Call(context.Background(), conn)
	if err != nil {
		log.Fatal(err)
	}
	return name
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
