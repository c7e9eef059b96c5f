package feed_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// recordingSink records the sets it is given and refuses them while refuse
// is set.
type recordingSink struct {
	mu     sync.Mutex
	sets   []string
	refuse error
}

func (s *recordingSink) Update(nodes []weights.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return s.refuse
	}
	var b strings.Builder
	for i, n := range nodes {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", n.ID, n.Weight)
	}
	s.sets = append(s.sets, b.String())
	return nil
}

func (s *recordingSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sets...)
}

func TestSinkGetsOnlyGoodSets(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 2, "b:1": "0", "c:1": 1}`}
	sink := &recordingSink{}
	f, _ := newFeed(t, r, feed.WithSink(sink))
	if f.Balancer() != nil {
		t.Fatalf("Balancer() = %v with a sink that is not a balancer", f.Balancer())
	}
	for _, bad := range []string{`{"a:1": "0"}`, `{}`, `{"a:1": 0, "b:1": 0}`, `{"a:1": `, `{"a:1": NaN}`} {
		r.set(bad)
		if st := f.Poll(context.Background()); st.LastPoll != feed.Refused || st.Generation != 1 {
			t.Fatalf("%s: %+v", bad, st)
		}
	}
	r.set(`{"a:1": 2, "c:1": 1, "d:1": 0}`)
	f.Poll(context.Background())
	f.Poll(context.Background()) // unchanged: not handed on again
	if got, want := strings.Join(sink.got(), " | "), "a:1=2 c:1=1 | a:1=2 c:1=1 d:1=0"; got != want {
		t.Fatalf("the sink got %q, want %q", got, want)
	}

	// A sink's refusal is a refused update; the next new payload is handed on.
	sink.mu.Lock()
	sink.refuse = errors.New("pool is closing")
	sink.mu.Unlock()
	r.set(`{"a:1": 1}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.Refused || st.Refused.Stage != "balancer" || !strings.Contains(st.LastError, "pool is closing") || st.Generation != 2 {
		t.Fatalf("a refusal of the sink: %+v", st)
	}
	if got, want := st.Nodes, []weights.Node{{ID: "a:1", Weight: 2}, {ID: "c:1", Weight: 1}, {ID: "d:1", Weight: 0}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Status.Nodes %v, want the last applied %v", got, want)
	}
	sink.mu.Lock()
	sink.refuse = nil
	sink.mu.Unlock()
	r.set(`{"a:1": 1, "e:1": 1}`)
	if st := f.Poll(context.Background()); st.LastPoll != feed.Applied || st.Generation != 3 {
		t.Fatalf("after the sink recovered: %+v", st)
	}
	if got := sink.got(); len(got) != 3 || got[2] != "a:1=1 e:1=1" {
		t.Fatalf("the sink got %q", got)
	}
}

// A balancer of one's own as the sink: the feed builds none, Balancer
// returns it, its first set serves at full weight and later additions ramp.
func TestBalancerAsSink(t *testing.T) {
	clock := clocktest.New()
	lb, err := balancer.New(nil, balancer.WithClock(clock.Now), balancer.WithSlowStart(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRegistry{data: `{"a:1": 10, "b:1": 10}`}
	f, _ := newFeed(t, r, feed.WithSink(lb))
	if f.Balancer() != lb {
		t.Fatal("Balancer() is not the sink")
	}
	for _, s := range lb.States() {
		if s.State != balancer.Serving || s.Effective != 10 {
			t.Fatalf("first set: %+v", s)
		}
	}
	r.set(`{"a:1": 10, "b:1": 10, "c:1": 10}`)
	f.Poll(context.Background())
	if s := lb.States()[2]; s.State != balancer.Ramping || s.Effective >= 10 {
		t.Fatalf("a later addition: %+v", s)
	}
}

func TestSinkOptionErrors(t *testing.T) {
	src := feed.Func("x", func(context.Context) ([]byte, error) { return []byte(`{"a:1": 1}`), nil })
	for _, c := range []struct {
		name string
		opts []feed.Option
		want string
	}{
		{"nil sink", []feed.Option{feed.WithSink(nil)}, "feed: nil Sink"},
		{"nil balancer", []feed.Option{feed.WithSink((*balancer.Balancer)(nil))}, "feed: nil Sink"},
		{"sink and balancer options", []feed.Option{feed.WithSink(&recordingSink{}), feed.WithBalancer(balancer.WithSlowStart(time.Second))}, "feed: WithBalancer configures the balancer the feed builds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := feed.New(context.Background(), src, c.opts...); err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("New error %v, want one starting %q", err, c.want)
			}
		})
	}
}

// The weight-drop guard is the feed's, whatever the sink.
func TestMaxWeightDropGuardsAnySink(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 5, "b:1": 1}`}
	sink := &recordingSink{}
	f, _ := newFeed(t, r, feed.WithSink(sink), feed.WithMaxWeightDrop(0.5))
	r.set(`{"b:1": 1, "c:1": 1}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.Refused || st.Refused.Stage != "balancer" || !strings.Contains(st.LastError, "total weight would fall from 6 to 2, more than 0.5 of it") {
		t.Fatalf("a drop from 6 to 2: %+v", st)
	}
	r.set(`{"a:1": 2, "b:1": 1}`) // 6 to 3: exactly half, allowed
	if st := f.Poll(context.Background()); st.LastPoll != feed.Applied {
		t.Fatalf("a drop from 6 to 3: %+v", st)
	}
	if got, want := strings.Join(sink.got(), " | "), "a:1=5 b:1=1 | a:1=2 b:1=1"; got != want {
		t.Fatalf("the sink got %q, want %q", got, want)
	}
	for _, bad := range []float64{0, -0.1, 1.5} {
		if _, err := feed.New(context.Background(), r.source(), feed.WithMaxWeightDrop(bad)); err == nil || !strings.Contains(err.Error(), "feed: max weight drop") {
			t.Errorf("WithMaxWeightDrop(%v): %v", bad, err)
		}
	}
}
