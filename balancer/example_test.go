package balancer_test

import (
	"errors"
	"fmt"
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

func ExampleBalancer_Eject() {
	now := time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b, _ := balancer.New([]weights.Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}}, balancer.WithClock(clock))
	if err := b.Eject("a", now.Add(30*time.Second)); err != nil {
		panic(err)
	}
	n1, _ := b.Next()
	n2, _ := b.Next()
	fmt.Println(n1.ID, n2.ID, b.States()[0].State)
	// A second ejection would leave more than half of the nodes out.
	fmt.Println(b.Eject("b", now.Add(time.Minute)))
	now = now.Add(31 * time.Second) // the ejection ends by itself
	fmt.Println(b.States()[0].State)
	// Output:
	// b b ejected
	// balancer: maximum ejected percentage reached: ejecting "b" would make 2 of 2 nodes ejected, above 50%
	// serving
}
