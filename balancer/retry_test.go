package balancer

import (
	"fmt"
	"strings"
	"testing"
)

// retried serves n requests from b, each retried (up to attempts picks by
// NextExcluding with one Tried) while it lands on a node in failing, and
// returns the node that served each request ("" when every attempt failed)
// and the ids of the retries in order.
func retried(t *testing.T, b *Balancer, failing map[string]bool, n, attempts int) (served, retries []string) {
	t.Helper()
	for k := range n {
		var tried Tried
		id := ""
		for a := range attempts {
			nd, err := b.NextExcluding(&tried)
			if err != nil {
				t.Fatalf("request %d attempt %d: %v", k, a, err)
			}
			if tried.Len() != a+1 || !tried.Has(nd.ID) {
				t.Fatalf("request %d attempt %d: %s not added to the tried set", k, a, nd.ID)
			}
			if a > 0 {
				retries = append(retries, nd.ID)
			}
			if !failing[nd.ID] {
				id = nd.ID
				break
			}
		}
		served = append(served, id)
	}
	return served, retries
}

// TestRetrySpread: the retries of a failing node that is not ejected are
// spread over the untried nodes by weight, not handed to the node after
// it in the cycle; every served count within ±5% of its share.
func TestRetrySpread(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		failing []string
		n       int
	}{
		{"n0=5 n1=1 n2=1 n3=1", []string{"n0"}, 1600}, // was 800/400/400
		{"n0=1 n1=1 n2=1 n3=1", []string{"n0"}, 1200},
		{"n0=1 n1=5 n2=1 n3=1", []string{"n1"}, 1600},
		{"a=5 b=3 c=2", []string{"a"}, 1000},
		{"a=5 b=3 c=2", []string{"b"}, 1000},
		{"a=5 b=3 c=2", []string{"c"}, 1000},
		{"a=3 b=3 c=2 d=1 e=1", []string{"a", "b"}, 2000},
		{"a=2 b=0 c=1 d=1 e=4", []string{"e"}, 800},
		{"a=6 b=6 c=6", []string{"a"}, 600},
	} {
		for _, algo := range []Algorithm{Smooth, Resty} {
			t.Run(fmt.Sprintf("%v/%s/%v", algo, tc.spec, tc.failing), func(t *testing.T) {
				b, err := New(nodesOf(tc.spec), WithAlgorithm(algo))
				if err != nil {
					t.Fatal(err)
				}
				failing := map[string]bool{}
				for _, id := range tc.failing {
					failing[id] = true
				}
				served, _ := retried(t, b, failing, tc.n, 1+len(tc.failing))
				checkShares(t, served, wantShares(tc.spec, tc.failing, tc.n), 0.05)
			})
		}
	}
}

// TestRetryFixedExclusion: picks that all exclude one node (four equal
// nodes, b always in the tried set) share its picks evenly among the
// others (the walk gave 75/0/150/75 in 300).
func TestRetryFixedExclusion(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		b, err := New(nodesOf("a=1 b=1 c=1 d=1"), WithAlgorithm(algo))
		if err != nil {
			t.Fatal(err)
		}
		seq := make([]string, 300)
		for k := range seq {
			var tried Tried
			tried.Add("b")
			nd, err := b.NextExcluding(&tried)
			if err != nil {
				t.Fatal(err)
			}
			seq[k] = nd.ID
		}
		checkShares(t, seq, map[string]float64{"a": 100, "c": 100, "d": 100}, 0.05)
	}
}

// TestRetryNginx: nginx-tests' cases of a failed peer tried before the
// others (upstream.t, stream_upstream.t "failures", with the peer not yet
// marked down): its requests go to the next untried peers, so the
// others take equal shares at once.
func TestRetryNginx(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, tc := range []struct {
			spec string
			n    int
			want map[string]int
		}{
			{"a=1 b=1", 10, map[string]int{"b": 10}},
			{"a=1 b=1 c=1", 30, map[string]int{"b": 15, "c": 15}},
			{"a=1 b=1 c=1", 10, map[string]int{"b": 5, "c": 5}},
			{"a=1 b=2 c=2", 30, map[string]int{"b": 15, "c": 15}},
		} {
			b, err := New(nodesOf(tc.spec), WithAlgorithm(algo))
			if err != nil {
				t.Fatal(err)
			}
			served, _ := retried(t, b, map[string]bool{"a": true}, tc.n, 2)
			got := map[string]int{}
			for _, id := range served {
				got[id]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%v %s, a failing, %d requests: served %v, want %v", algo, tc.spec, tc.n, got, tc.want)
			}
		}
	}
	// Every peer failing: each request tries each peer once, then fails.
	b, err := New(nodesOf("a=1 b=1 c=1"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range 6 {
		var tried Tried
		for range 3 {
			if _, err := b.NextExcluding(&tried); err != nil {
				t.Fatal(err)
			}
		}
		if nd, err := b.NextExcluding(&tried); err != ErrAllExcluded {
			t.Fatalf("request %d: fourth attempt got %v, %v; want ErrAllExcluded", k, nd.ID, err)
		}
	}
}

// TestRetryShortWindows: the retries are even at every length: after every
// prefix of the retries of a failing n0 (weights 5/1/1/1), each other node
// is within 4 retries of a third (the golden-ratio sequence's bound, as for
// an ejected node's share).
func TestRetryShortWindows(t *testing.T) {
	b, err := New(nodesOf("n0=5 n1=1 n2=1 n3=1"))
	if err != nil {
		t.Fatal(err)
	}
	_, retries := retried(t, b, map[string]bool{"n0": true}, 1600, 2)
	if len(retries) < 900 {
		t.Fatalf("%d retries of 1600 requests, want n0's share (each retry moves the counter too)", len(retries))
	}
	got := map[string]int{}
	for k, id := range retries {
		got[id]++
		for _, o := range []string{"n1", "n2", "n3"} {
			if d := float64(got[o]) - float64(k+1)/3; d > 4 || d < -4 {
				t.Fatalf("after %d retries %s has %d (counts %v), want within 4 of %.1f", k+1, o, got[o], got, float64(k+1)/3)
			}
		}
	}
}

// TestRetryPicks pins the retries: the k-th pick that lands on a tried
// node takes point k/phi mod 1 of the untried nodes' weight, the same
// count as an ejected node's picks (deterministic, no clock, no chance).
func TestRetryPicks(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string
	}{
		{"n0=5 n1=1 n2=1 n3=1", "n1 n2 n3 n2 n1 n2 n3 n1 n1 n2 n3 n3 n1 n2 n3 n2 n1 n2 n3 n1"},
		{"a=5 b=3 c=2", "b b c c b c c b c b c c b c c b b c c b"},
	} {
		var first string
		for range 2 {
			b, err := New(nodesOf(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			failing := map[string]bool{nodesOf(tc.spec)[0].ID: true}
			var retries []string
			for len(retries) < 20 {
				_, r := retried(t, b, failing, 1, 2)
				retries = append(retries, r...)
			}
			got := strings.Join(retries[:20], " ")
			if first == "" {
				first = got
			} else if got != first {
				t.Fatalf("%s: retries differ between two balancers: %s, then %s", tc.spec, first, got)
			}
		}
		if first != tc.want {
			t.Errorf("%s: retries %s, want %s", tc.spec, first, tc.want)
		}
	}
}

// TestRetryAllocatesNothing: a retry's weighted choice, no ejection
// pending, allocates nothing.
func TestRetryAllocatesNothing(t *testing.T) {
	b, err := New(nodesOf("a=5 b=1 c=1 d=1"))
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(400, func() {
		var tried Tried
		tried.Add("a")
		sinkNode, _ = b.NextExcluding(&tried)
	}); a != 0 {
		t.Errorf("NextExcluding with a tried node allocates %v times", a)
	}
}
