package grpcwrr

import (
	"testing"

	"google.golang.org/grpc/balancer"

	wrr "github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

type stubPicker struct{}

func (stubPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{}, nil
}

func TestPickAllocatesNothing(t *testing.T) {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 3}, {ID: "c", Weight: 1}}
	b, err := wrr.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	p := newPicker(b, map[string]balancer.Picker{"a": stubPicker{}, "b": stubPicker{}, "c": stubPicker{}}, len(nodes))
	info := balancer.PickInfo{FullMethodName: nameMethod, Ctx: t.Context()}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := p.Pick(info); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Pick allocates %v times per call, want 0", n)
	}
}

func TestPickPassesOverEndpointsNotReady(t *testing.T) {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 3}, {ID: "c", Weight: 1}}
	b, err := wrr.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	// Only c is READY: every pick must land on it.
	got := map[string]int{}
	p := newPicker(b, map[string]balancer.Picker{"c": namedPicker("c")}, len(nodes))
	for range 90 {
		r, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		got[r.Metadata.Get("id")[0]]++
	}
	if got["c"] != 90 {
		t.Fatalf("picks = %v, want all 90 on c", got)
	}
}

func TestPassOverAllocatesNothing(t *testing.T) {
	nodes := []weights.Node{{ID: "a", Weight: 5}, {ID: "b", Weight: 3}, {ID: "c", Weight: 1}}
	b, err := wrr.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	p := newPicker(b, map[string]balancer.Picker{"c": stubPicker{}}, len(nodes))
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := p.Pick(balancer.PickInfo{}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a pick that passes over endpoints allocates %v times, want 0", n)
	}
}

func TestPickQueuesWhenNothingServes(t *testing.T) {
	b, err := wrr.New([]weights.Node{{ID: "a", Weight: 0}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPicker(b, map[string]balancer.Picker{"a": stubPicker{}}, 1)
	if _, err := p.Pick(balancer.PickInfo{}); err != balancer.ErrNoSubConnAvailable {
		t.Fatalf("Pick with every node drained = %v, want ErrNoSubConnAvailable", err)
	}
}

type namedPicker string

func (p namedPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{Metadata: map[string][]string{"id": {string(p)}}}, nil
}
