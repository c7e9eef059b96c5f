package grpcwrr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
)

// The resolver's nodes reach the policy as the feed validated them: judge
// takes them as they are, even under a weight policy that would refuse
// them, and judges every endpoint once any of them is not the resolver's.
func TestFedNodesAreNotJudgedAgain(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WeightPolicy = weights.Policy{MaxWeight: 5, MissingRejected: true}
	fed := []resolver.Endpoint{nodeEndpoint(weights.Node{ID: "10.0.0.1:80", Weight: 10}), nodeEndpoint(weights.Node{ID: "10.0.0.2:80", Weight: 0})}
	snap, rep := judge(cfg, fed)
	if len(rep.Rejected) != 0 || len(snap.Nodes) != 2 || snap.Nodes[0].Weight != 10 || snap.Nodes[1].Weight != 0 {
		t.Fatalf("fed nodes: %v, rejected %v", snap.Nodes, rep.Rejected)
	}
	mixed := append(fed, endpoint("10.0.0.3:80", weights.Int(3)))
	snap, rep = judge(cfg, mixed)
	if len(rep.Rejected) != 2 || len(snap.Nodes) != 1 || snap.Nodes[0].ID != "10.0.0.3:80" {
		t.Fatalf("mixed endpoints: %v, rejected %v", snap.Nodes, rep.Rejected)
	}
	// An endpoint that carries a node but was given another address is not
	// taken as fed.
	moved := nodeEndpoint(weights.Node{ID: "10.0.0.1:80", Weight: 1})
	moved.Addresses = []resolver.Address{{Addr: "unix:80"}}
	if _, ok := fedNodes([]resolver.Endpoint{moved}); ok {
		t.Fatal("an endpoint whose address is not its node's id was taken as fed")
	}
}

// recordCC is a resolver.ClientConn that records the states it is given.
type recordCC struct {
	resolver.ClientConn
	states []resolver.State
	errs   []error
}

func (c *recordCC) UpdateState(s resolver.State) error {
	c.states = append(c.states, s)
	return nil
}

func (c *recordCC) ReportError(err error) { c.errs = append(c.errs, err) }

// The resolver is its feed's sink: it builds no balancer, and a feed option
// for one is an error rather than a guard that silently does nothing.
func TestResolverIsTheSink(t *testing.T) {
	payload := `{"10.0.0.1:80": 2, "10.0.0.2:80": "0", "10.0.0.3:80": 1}`
	src := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(payload), nil })
	cc := &recordCC{}
	r, err := NewResolverBuilder("sinktest", src, feed.WithInterval(0)).Build(resolver.Target{}, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	fr := r.(*feedResolver)
	if fr.f.Balancer() != nil {
		t.Fatal("the resolver's feed built a balancer")
	}
	if len(cc.states) != 1 || len(cc.errs) != 0 {
		t.Fatalf("states %v errors %v", cc.states, cc.errs)
	}
	nodes, ok := fedNodes(cc.states[0].Endpoints)
	if !ok || len(nodes) != 2 || nodes[0] != (weights.Node{ID: "10.0.0.1:80", Weight: 2}) || nodes[1] != (weights.Node{ID: "10.0.0.3:80", Weight: 1}) {
		t.Fatalf("endpoints %v", cc.states[0].Endpoints)
	}

	_, err = NewResolverBuilder("sinktest", src, feed.WithBalancer(balancer.WithMaxWeightDrop(0.5))).Build(resolver.Target{}, &recordCC{}, resolver.BuildOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "grpcwrr: feed: WithBalancer configures the balancer the feed builds") {
		t.Fatalf("Build with WithBalancer: %v", err)
	}
}

// nopSink takes every set.
type nopSink struct{}

func (nopSink) Update([]weights.Node) error { return nil }

// The warning for rejected nodes names the first one once (its message
// already says which node it is).
func TestRejectWarningNamesTheNodeOnce(t *testing.T) {
	src := feed.Func("inline", func(context.Context) ([]byte, error) {
		return []byte(`{"10.0.0.1:80": 1, "10.0.0.2:80": "0", "10.0.0.3:80": -1}`), nil
	})
	f, err := feed.New(context.Background(), src, feed.WithSink(nopSink{}))
	if err != nil {
		t.Fatal(err)
	}
	got := rejectWarning(f.Status())
	want := `safewrr: inline: 2 of 3 nodes rejected and left out (map[negative:1 string-zero:1]), first: node "10.0.0.2:80" (#1): weight is the string "0", which registries read as drain or as default; refusing to guess (string-zero)`
	if got != want {
		t.Fatalf("warning\n got %s\nwant %s", got, want)
	}
}

// feed.WithMaxWeightDrop guards the channel: an update that drops too much
// weight never reaches it.
func TestResolverMaxWeightDrop(t *testing.T) {
	var mu sync.Mutex
	payload := `{"10.0.0.1:80": 5, "10.0.0.2:80": 1}`
	src := feed.Func("inline", func(context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return []byte(payload), nil
	})
	cc := &recordCC{}
	r, err := NewResolverBuilder("droptest", src, feed.WithInterval(0), feed.WithMaxWeightDrop(0.5)).Build(resolver.Target{}, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mu.Lock()
	payload = `{"10.0.0.2:80": 1}`
	mu.Unlock()
	r.ResolveNow(resolver.ResolveNowOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st := r.(*feedResolver).f.Wait(ctx, 1)
	if st.LastPoll != feed.Refused || !strings.Contains(st.LastError, "total weight would fall from 6 to 1") {
		t.Fatalf("status %+v", st)
	}
	if len(cc.states) != 1 {
		t.Fatalf("the channel got %d states, want the first only", len(cc.states))
	}
}

// Endpoints of a resolver of one's own that spell one backend two ways are
// one: the later ones are rejected as duplicates.
func TestDuplicateAddressesComparedCanonically(t *testing.T) {
	eps := []resolver.Endpoint{
		endpoint("10.0.0.1:80", weights.Int(1)),
		endpoint("[::ffff:10.0.0.1]:80", weights.Int(1)),
		endpoint("Web-1.Example:80", weights.Int(1)),
		endpoint("web-1.example.:80", weights.Int(1)),
		endpoint("[::1]:80", weights.Int(1)),
		endpoint("[0:0::1]:80", weights.Int(1)),
	}
	snap, rep := judge(DefaultConfig(), eps)
	var got []int
	for _, ne := range rep.Rejected {
		if ne.Reason != weights.ReasonDuplicateID {
			t.Errorf("reject %v", ne)
		}
		got = append(got, ne.Index)
	}
	if fmt.Sprint(got) != "[1 3 5]" || len(snap.Nodes) != 3 {
		t.Fatalf("rejected %v, nodes %v", got, snap.Nodes)
	}
}
