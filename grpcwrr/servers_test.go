package grpcwrr

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/safewrr/safewrr/grpcwrr/internal/namesrv"
)

const nameMethod = namesrv.Method

// backend is one test server on 127.0.0.1, stopped when the test ends.
type backend struct {
	*namesrv.Server
	name, addr string
	t          testing.TB
	stopped    bool
}

func startBackend(t testing.TB, name, addr string) *backend {
	t.Helper()
	s, err := namesrv.Start(name, addr)
	if err != nil {
		t.Fatalf("start %s on %s: %v", name, addr, err)
	}
	b := &backend{Server: s, name: name, addr: s.Addr, t: t}
	t.Cleanup(b.stop)
	return b
}

// startTrio starts backends a, b and c on loopback ports, and returns them
// with their names by address (what wantShares reports).
func startTrio(t testing.TB) (a, b, c *backend, names map[string]string) {
	t.Helper()
	a, b, c = startBackend(t, "a", "127.0.0.1:0"), startBackend(t, "b", "127.0.0.1:0"), startBackend(t, "c", "127.0.0.1:0")
	return a, b, c, map[string]string{a.addr: "a", b.addr: "b", c.addr: "c"}
}

// stop stops the server gracefully (in-flight RPCs finish).
func (b *backend) stop() {
	if b.stopped {
		return
	}
	b.stopped = true
	if err := b.Stop(); err != nil {
		b.t.Errorf("serve %s: %v", b.name, err)
	}
}

// kill stops the server at once (in-flight RPCs fail).
func (b *backend) kill() {
	b.stopped = true
	if err := b.Kill(); err != nil {
		b.t.Errorf("serve %s: %v", b.name, err)
	}
}

// call makes one RPC and returns the name of the server that answered.
func call(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return namesrv.Call(ctx, cc)
}

// calls makes n sequential RPCs and counts the answers by server name.
func calls(t testing.TB, cc *grpc.ClientConn, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		name, err := call(t.Context(), cc)
		if err != nil {
			t.Fatalf("RPC %d of %d failed: %v", i+1, n, err)
		}
		got[name]++
	}
	return got
}
