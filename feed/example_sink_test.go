package feed_test

import (
	"context"
	"fmt"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
)

// pool is a sink of one's own: an upstream pool that takes the feed's node
// sets (a gRPC client's endpoints or a proxy's upstreams in real life).
type pool struct{}

func (pool) Update(nodes []weights.Node) error {
	fmt.Println("pool:", nodes)
	return nil
}

// The feed hands each good node set to a sink and builds nothing itself. A
// payload it refuses never reaches the sink; a node the policy rejects is
// left out of the set.
func ExampleSink() {
	payloads := []string{
		`{"10.0.0.1:80": 5, "10.0.0.2:80": "5"}`,   // the string "5" is rejected: one node
		`{"10.0.0.1:80": "0", "10.0.0.2:80": "0"}`, // the incident's "0" everywhere: refused
		`{"10.0.0.1:80": 5, "10.0.0.2:80": 5, "10.0.0.3:80": 0}`,
	}
	next := 0
	registry := feed.Func("inline", func(context.Context) ([]byte, error) {
		p := payloads[next]
		next = min(next+1, len(payloads)-1)
		return []byte(p), nil
	})
	f, err := feed.New(context.Background(), registry, feed.WithSink(pool{}))
	if err != nil {
		panic(err)
	}
	st := f.Poll(context.Background())
	fmt.Println("poll 2:", st.LastPoll, "-", st.LastError)
	f.Poll(context.Background())
	// Output:
	// pool: [{10.0.0.1:80 5}]
	// poll 2: refused - update refused (policy): weights: snapshot refused: all 2 nodes rejected
	// pool: [{10.0.0.1:80 5} {10.0.0.2:80 5} {10.0.0.3:80 0}]
}

// A balancer you build is a sink: you choose its options and picks come
// from it. Its first nodes serve at full weight; a node added later ramps
// up over the slow-start window.
func ExampleWithSink() {
	start := time.Now()
	stopped := func() time.Time { return start } // a clock that stands still, for exact output
	lb, err := balancer.New(nil, balancer.WithSlowStart(time.Minute), balancer.WithClock(stopped))
	if err != nil {
		panic(err)
	}
	payload := `{"10.0.0.1:80": 10, "10.0.0.2:80": 10}`
	registry := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(payload), nil })
	f, err := feed.New(context.Background(), registry, feed.WithSink(lb))
	if err != nil {
		panic(err)
	}
	payload = `{"10.0.0.1:80": 10, "10.0.0.2:80": 10, "10.0.0.3:80": 10}`
	f.Poll(context.Background())
	for _, s := range lb.States() {
		fmt.Println(s.ID, s.State, s.Effective, "of", s.Weight)
	}
	// Output:
	// 10.0.0.1:80 serving 10 of 10
	// 10.0.0.2:80 serving 10 of 10
	// 10.0.0.3:80 ramping 1 of 10
}
