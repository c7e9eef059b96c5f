//go:build unix

package grpcwrr

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
)

// unixTrap listens on a Unix socket and counts the connections it accepts
// (it answers none of them).
type unixTrap struct {
	l        net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

func listenUnix(t *testing.T, path string) *unixTrap {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	u := &unixTrap{l: l, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-u.done })
	return u
}

// dialLog is a context dialer that records every address it is asked for
// and dials it over TCP.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialLog) dial(ctx context.Context, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", addr)
}

func (d *dialLog) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(d.addrs)))
}

// A registry that names "unix:80": grpc-go would dial the Unix socket "80"
// in the working directory. The resolver rejects the id with its reason and
// never passes it on: the socket there accepts nothing, and only the TCP
// backend is an endpoint.
func TestResolverRejectsUnixIDsAndNeverDialsThem(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	trap := listenUnix(t, "80")
	abs := listenUnix(t, filepath.Join(dir, "abs.sock"))
	name, w := testPolicy(time.Now)
	a := startBackend(t, "a", "127.0.0.1:0")
	file := filepath.Join(dir, "registry.json")
	payload := fmt.Sprintf(`{"unix:80": 5, %q: 1, "unix:%s": 5, "unix-abstract:80": 5, "vsock:80": 5, "dns:80": 5}`, a.addr, filepath.Join(dir, "abs.sock"))
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	statuses := make(chan feed.Status, 10)
	onChange := feed.WithOnChange(func(st feed.Status) {
		select {
		case statuses <- st:
		default:
		}
	})
	rb := NewResolverBuilder("unixids", feed.File(file), feed.WithInterval(0), onChange)
	cc := dialTarget(t, "unixids:///svc", name, grpc.WithResolvers(rb))
	w.waitFor(t, "only a serving", allServing(map[string]uint32{a.addr: 1}))
	if got := calls(t, cc, 6); got["a"] != 6 {
		t.Fatalf("RPCs: %v", got)
	}
	var st feed.Status
	select {
	case st = <-statuses:
	default:
		t.Fatal("no status from the first poll")
	}
	if st.Rejected != 5 || st.Reasons["not-an-address"] != 5 || len(st.Nodes) != 1 {
		t.Fatalf("rejects %d %v, nodes %v", st.Rejected, st.Reasons, st.Nodes)
	}
	for _, rj := range st.Rejects {
		if rj.Reason != "not-an-address" || rj.Message == "" {
			t.Errorf("reject %+v", rj)
		}
	}
	if got := st.Rejects[0].Message; got != `node "unix:80" (#0): id is not an address (not-an-address): the address starts with "unix:", which gRPC reads as a scheme, not as a TCP host:port` {
		t.Errorf("message %q", got)
	}
	w.mu.Lock()
	rejects := len(w.rejects)
	w.mu.Unlock()
	if rejects != 0 {
		t.Errorf("the policy saw %d rejects: the resolver passed a non-TCP id on", rejects)
	}
	cc.Close()
	if n, m := trap.accepted.Load(), abs.accepted.Load(); n != 0 || m != 0 {
		t.Fatalf("the Unix sockets accepted %d and %d connections", n, m)
	}
}

// Endpoints from a resolver of one's own are held to the same rule: a
// non-TCP address is rejected by the policy, and the dialer is never asked
// for it.
func TestPolicyRejectsNonTCPAddressesAndNeverDialsThem(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	trap := listenUnix(t, "80")
	name, w := testPolicy(time.Now)
	a := startBackend(t, "a", "127.0.0.1:0")
	dl := &dialLog{}
	eps := []resolver.Endpoint{
		endpoint("unix:80", weights.Int(5)),
		endpoint("unix://"+filepath.Join(dir, "80"), weights.Int(5)),
		endpoint(a.addr, weights.Int(1)),
		{Addresses: []resolver.Address{{Addr: "127.0.0.1:1"}, {Addr: "unix:80"}}},
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("test%d", policySeq.Add(1)))
	r.InitialState(resolver.State{Endpoints: eps})
	cc := dialTarget(t, r.Scheme()+":///x", name, grpc.WithResolvers(r), grpc.WithContextDialer(dl.dial))
	w.waitFor(t, "only a serving", allServing(map[string]uint32{a.addr: 1}))
	if got := calls(t, cc, 4); got["a"] != 4 {
		t.Fatalf("RPCs: %v", got)
	}
	w.mu.Lock()
	var got []string
	for _, ne := range w.rejects {
		got = append(got, fmt.Sprintf("#%d %s", ne.Index, ne.Reason))
	}
	w.mu.Unlock()
	if want := []string{"#0 not-an-address", "#1 not-an-address", "#3 not-an-address"}; !slices.Equal(got, want) {
		t.Fatalf("rejects %v want %v", got, want)
	}
	if seen := dl.seen(); !slices.Equal(seen, []string{a.addr}) {
		t.Fatalf("the dialer was asked for %v, want only %s", seen, a.addr)
	}
	cc.Close()
	if n := trap.accepted.Load(); n != 0 {
		t.Fatalf("the Unix socket accepted %d connections", n)
	}
}
