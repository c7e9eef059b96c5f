package balancer_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func Example() {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}}
	b, err := balancer.New(nodes)
	if err != nil {
		panic(err)
	}
	for range 7 {
		n, _ := b.Next()
		fmt.Print(n.ID, " ")
	}
	fmt.Println()
	// Output: a a b a c a a
}

// Example_embedding is the whole path in a proxy: registry bytes validated by
// package weights, a balancer built from what was accepted, picks with
// retries, ejection, and an update that is refused because it would leave
// nothing to serve.
func Example_embedding() {
	payload := []byte(`{"10.0.0.1:80": 5, "10.0.0.2:80": "0", "10.0.0.3:80": 1, "10.0.0.4:80": 0}`)
	snap, report, err := weights.Decode(payload, weights.Policy{})
	if err != nil || report.Refused != nil {
		panic(fmt.Sprint(err, report.Refused))
	}
	for _, r := range report.Rejected {
		fmt.Println("rejected:", r.ID, r.Reason)
	}
	b, err := balancer.New(snap.Nodes)
	if err != nil {
		panic(err)
	}
	var seq []string
	for range 6 {
		n, _ := b.Next()
		seq = append(seq, n.ID)
	}
	fmt.Println(strings.Join(seq, " "))

	// One request: retry on another node, never the same one twice.
	var tried balancer.Tried
	first, _ := b.NextExcluding(&tried)
	second, _ := b.NextExcluding(&tried)
	_, err = b.NextExcluding(&tried)
	fmt.Println(first.ID, "then", second.ID, "then", err)

	// The registry empties: the update is refused, the last good set serves.
	empty, _, _ := weights.Decode([]byte(`{}`), weights.Policy{})
	err = b.Update(empty.Nodes)
	fmt.Println(errors.Is(err, balancer.ErrUpdateRefused), err)
	n, _ := b.Next()
	fmt.Println("still serving", n.ID)
	// Output:
	// rejected: 10.0.0.2:80 string-zero
	// 10.0.0.1:80 10.0.0.1:80 10.0.0.1:80 10.0.0.3:80 10.0.0.1:80 10.0.0.1:80
	// 10.0.0.1:80 then 10.0.0.3:80 then balancer: all serving backends were already tried
	// true balancer: update refused: no backends: the new set is empty
	// still serving 10.0.0.3:80
}

func ExampleWithAlgorithm() {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}}
	b, err := balancer.New(nodes, balancer.WithAlgorithm(balancer.Resty), balancer.WithStart(2))
	if err != nil {
		panic(err)
	}
	for range 7 {
		n, _ := b.Next()
		fmt.Print(n.ID, " ")
	}
	fmt.Println()
	// Output: a a a a b c a
}

func ExampleBalancer_NextExcluding() {
	b, _ := balancer.New([]weights.Node{{ID: "a", Weight: 3}, {ID: "b", Weight: 2}, {ID: "c", Weight: 0}})
	down := map[string]bool{"a": true, "b": true}
	var tried balancer.Tried // one per request; the zero value is ready
	for attempt := 1; attempt <= 5; attempt++ {
		n, err := b.NextExcluding(&tried)
		if errors.Is(err, balancer.ErrAllExcluded) {
			fmt.Println("giving up:", err)
			break
		}
		fmt.Println("attempt", attempt, "->", n.ID)
		if !down[n.ID] {
			break
		}
	}
	// Output:
	// attempt 1 -> a
	// attempt 2 -> b
	// giving up: balancer: all serving backends were already tried
}

// manualClock is a clock moved by hand, safe for concurrent use: the
// balancer reads its clock from background builds too.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func ExampleBalancer_Eject() {
	clock := &manualClock{now: time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)}
	b, _ := balancer.New([]weights.Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}}, balancer.WithClock(clock.Now))
	if err := b.Eject("a", clock.Now().Add(30*time.Second)); err != nil {
		panic(err)
	}
	// No pick returns a once Eject has returned.
	n1, _ := b.Next()
	n2, _ := b.Next()
	fmt.Println(n1.ID, n2.ID, b.States()[0].State)
	// A second ejection would leave more than half of the nodes out.
	fmt.Println(b.Eject("b", clock.Now().Add(time.Minute)))
	clock.Advance(31 * time.Second) // the ejection ends by itself
	fmt.Println(b.States()[0].State)
	// Output:
	// b b ejected
	// balancer: maximum ejected percentage reached: ejecting "b" would make 2 of 2 nodes ejected, above 50%
	// serving
}

// From the moment Eject returns, an ejected node's picks go to the other
// serving nodes in proportion to their weights, not to the node after it
// in the cycle; the background build that leaves it out changes nothing
// in that.
func ExampleBalancer_Eject_spread() {
	nodes := []weights.Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}, {ID: "d", Weight: 1}}
	b, _ := balancer.New(nodes)
	if err := b.Eject("a", time.Now().Add(time.Minute)); err != nil {
		panic(err)
	}
	counts := map[string]int{}
	for range 300 {
		n, _ := b.Next()
		counts[n.ID]++
	}
	// Each count is within a few picks of 100, whether the build came in
	// during the loop or not; printed to the nearest ten.
	for _, n := range nodes {
		fmt.Printf("%s=%d ", n.ID, (counts[n.ID]+5)/10*10)
	}
	fmt.Println()
	// Output: a=0 b=100 c=100 d=100
}

func ExampleWithSlowStart() {
	clock := &manualClock{now: time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)}
	b, _ := balancer.New([]weights.Node{{ID: "a", Weight: 100}},
		balancer.WithClock(clock.Now),
		balancer.WithSlowStart(10*time.Second))
	// A node scaled out joins at about a tenth of its weight and ramps up.
	if err := b.Update([]weights.Node{{ID: "a", Weight: 100}, {ID: "b", Weight: 100}}); err != nil {
		panic(err)
	}
	for range 3 {
		s := b.States()[1]
		fmt.Println(s.ID, s.State, s.Effective)
		clock.Advance(5 * time.Second)
	}
	// Output:
	// b ramping 9
	// b ramping 54
	// b serving 100
}

func ExampleBalancer_Sync() {
	clock := &manualClock{now: time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)}
	b, _ := balancer.New([]weights.Node{{ID: "a", Weight: 2}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}},
		balancer.WithClock(clock.Now))
	if err := b.Eject("a", clock.Now().Add(time.Minute)); err != nil {
		panic(err)
	}
	// The schedule without a is built in the background; Sync builds it
	// here, so the order of the next picks is the new schedule's.
	b.Sync()
	for range 4 {
		n, _ := b.Next()
		fmt.Print(n.ID, " ")
	}
	fmt.Println()
	// Output: b c b c
}
