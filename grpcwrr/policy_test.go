package grpcwrr

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	wrr "github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// watcher receives the balancer's node states after every picker.
type watcher struct {
	mu      sync.Mutex
	b       *wrr.Balancer
	last    []wrr.NodeState
	conn    map[string]connectivity.State
	rejects []*weights.NodeError
	changed chan struct{}
}

func (w *watcher) reject(ne *weights.NodeError) {
	w.mu.Lock()
	w.rejects = append(w.rejects, ne)
	w.mu.Unlock()
}

func (w *watcher) set(b *wrr.Balancer, conn map[string]connectivity.State) {
	w.mu.Lock()
	w.b, w.last, w.conn = b, b.States(), conn
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// sync brings the balancer's schedule up to date with the clock (ramp steps
// are built in the background) and refreshes the states.
func (w *watcher) sync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Sync()
	w.last = w.b.States()
}

// states returns the last states by id.
func (w *watcher) states() map[string]wrr.NodeState {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]wrr.NodeState{}
	for _, s := range w.last {
		m[s.ID] = s
	}
	return m
}

// connectivity returns the last connectivity state of endpoint id.
func (w *watcher) connectivity(id string) connectivity.State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn[id]
}

// waitFor waits until the states satisfy ok. It gives up (failing the test)
// only after a generous bound, as a guard against a hang, not as a check.
func (w *watcher) waitFor(t *testing.T, what string, ok func(map[string]wrr.NodeState) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		w.mu.Lock()
		ch := w.changed
		w.mu.Unlock()
		m := w.states()
		if ok(m) {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: last states %+v", what, m)
		}
	}
}

var policySeq atomic.Int64

// testPolicy registers a builder under a name of its own, with a states
// watcher and the given clock.
func testPolicy(now func() time.Time) (string, *watcher) {
	w := &watcher{changed: make(chan struct{})}
	name := fmt.Sprintf("safewrr_test_%d", policySeq.Add(1))
	balancer.Register(&builder{name: name, now: now, onState: w.set, onReject: w.reject})
	return name, w
}

func endpoint(addr string, raw weights.Raw) resolver.Endpoint {
	return SetWeight(resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}}, raw)
}

// dial connects through a manual resolver holding eps, with the policy
// registered as name and its config cfg.
func dial(t *testing.T, name, cfg string, eps []resolver.Endpoint) (*grpc.ClientConn, *manual.Resolver) {
	t.Helper()
	r := manual.NewBuilderWithScheme(fmt.Sprintf("test%d", policySeq.Add(1)))
	r.InitialState(resolver.State{Endpoints: eps})
	cc, err := grpc.NewClient(r.Scheme()+":///backends",
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%q:%s}]}`, name, cfg)),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.2, MaxDelay: 100 * time.Millisecond},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	cc.Connect()
	return cc, r
}

func allServing(want map[string]uint32) func(map[string]wrr.NodeState) bool {
	return func(m map[string]wrr.NodeState) bool {
		if len(m) != len(want) {
			return false
		}
		for id, w := range want {
			s, ok := m[id]
			if !ok || s.State != wrr.Serving || s.Effective != w {
				return false
			}
		}
		return true
	}
}

// wantShares makes cycles full cycles of RPCs and checks that every server
// answered exactly its weight's share of each cycle.
func wantShares(t *testing.T, cc *grpc.ClientConn, names map[string]string, w map[string]uint32, cycles int) {
	t.Helper()
	total := 0
	for _, x := range w {
		total += int(x)
	}
	got := calls(t, cc, total*cycles)
	for addr, x := range w {
		if got[names[addr]] != int(x)*cycles {
			t.Fatalf("over %d cycles of %d RPCs got %v, want %s to answer %d", cycles, total, got, names[addr], int(x)*cycles)
		}
	}
	if len(got) != len(w) {
		t.Fatalf("got answers from %v, want only %d servers", got, len(w))
	}
}

func TestRejectedEndpointsReportedNeverPicked(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b := startBackend(t, "a", "127.0.0.1:0"), startBackend(t, "b", "127.0.0.1:0")
	cc, _ := dial(t, name, `{}`, []resolver.Endpoint{
		endpoint(a.addr, weights.Int(1)),
		endpoint(b.addr, weights.String("0")),
		SetEntry(resolver.Endpoint{Addresses: []resolver.Address{{Addr: b.addr}}}, weights.Entry{ID: "b-nan", Weight: weights.Float(math.NaN())}),
		SetEntry(resolver.Endpoint{Addresses: []resolver.Address{{Addr: a.addr}}}, weights.Entry{ID: "a-again", Weight: weights.Int(5)}),
		SetWeight(resolver.Endpoint{}, weights.Int(1)),
		SetEntry(resolver.Endpoint{Addresses: []resolver.Address{{Addr: b.addr}}}, weights.Entry{ID: "b-by-id", Weight: weights.Number("-3")}),
	})
	w.waitFor(t, "a serving", allServing(map[string]uint32{a.addr: 1}))
	if got := calls(t, cc, 20); got["a"] != 20 || b.Calls() != 0 {
		t.Fatalf("got %v and %d RPCs on b, want all 20 on a", got, b.Calls())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	want := []struct {
		index  int
		id     string
		reason weights.Reason
	}{
		{1, b.addr, weights.ReasonStringZero},
		{2, "b-nan", weights.ReasonNaN},
		{3, "a-again", weights.ReasonDuplicateID}, // the same address as endpoint 0
		{4, "", weights.ReasonMalformedEntry},
		{5, "b-by-id", weights.ReasonNegative},
	}
	if len(w.rejects) != len(want) {
		t.Fatalf("rejects %v, want %d", w.rejects, len(want))
	}
	for i, r := range want {
		got := w.rejects[i]
		if got.Index != r.index || got.ID != r.id || got.Reason != r.reason {
			t.Errorf("reject %d = %v, want endpoint %d %q %s", i, got, r.index, r.id, r.reason)
		}
	}
}

func TestSharesMatchWeights(t *testing.T) {
	for _, algo := range []string{"smooth", "resty"} {
		t.Run(algo, func(t *testing.T) {
			name, w := testPolicy(time.Now)
			a, b, c, names := startTrio(t)
			cc, _ := dial(t, name, fmt.Sprintf(`{"algorithm":%q}`, algo), []resolver.Endpoint{
				endpoint(a.addr, weights.Number("5")),
				endpoint(b.addr, weights.Number("3.0")), // an integer written as a float is 3
				endpoint(c.addr, weights.Number("1e0")),
			})
			want := map[string]uint32{a.addr: 5, b.addr: 3, c.addr: 1}
			w.waitFor(t, "all three serving", allServing(want))
			wantShares(t, cc, names, want, 5)
		})
	}
}

// flapper makes RPCs in the background until stopped, counting failures.
type flapper struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail atomic.Int64
	firstErr atomic.Value
}

func startRPCs(t *testing.T, cc *grpc.ClientConn) *flapper {
	f := &flapper{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for i := 0; i < 1_000_000; i++ {
			select {
			case <-f.stop:
				return
			default:
			}
			if _, err := call(t.Context(), cc); err != nil {
				f.fail.Add(1)
				f.firstErr.CompareAndSwap(nil, err.Error())
			} else {
				f.ok.Add(1)
			}
		}
	}()
	return f
}

func (f *flapper) finish(t *testing.T) {
	t.Helper()
	close(f.stop)
	<-f.done
	if n := f.fail.Load(); n > 0 {
		t.Fatalf("%d of %d background RPCs failed, first: %v", n, n+f.ok.Load(), f.firstErr.Load())
	}
	if f.ok.Load() == 0 {
		t.Fatalf("no background RPC ran")
	}
}

func TestRegistryFlapFailsNoRPC(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, names := startTrio(t)
	good := []resolver.Endpoint{endpoint(a.addr, weights.Int(2)), endpoint(b.addr, weights.Int(1)), endpoint(c.addr, weights.Int(1))}
	all := map[string]uint32{a.addr: 2, b.addr: 1, c.addr: 1}
	cc, r := dial(t, name, `{}`, good)
	w.waitFor(t, "all serving", allServing(all))

	// Updates in which every endpoint is bad, and the empty update, are
	// refused whole: the last good set keeps serving, shares unchanged.
	everyWeight := func(raw weights.Raw) []resolver.Endpoint {
		return []resolver.Endpoint{endpoint(a.addr, raw), endpoint(b.addr, raw), endpoint(c.addr, raw)}
	}
	refused := [][]resolver.Endpoint{
		everyWeight(weights.String("0")),
		everyWeight(weights.Float(math.NaN())),
		everyWeight(weights.Object(weights.Member{Key: "x", Value: weights.Bool(true)})),
		everyWeight(weights.Number("-1")),
		everyWeight(weights.Int(0)), // all drained: nothing would serve
		nil,                         // empty
	}
	// An update in which only b is bad applies without b: b is never picked.
	partial := []struct {
		name string
		raw  weights.Raw
	}{
		{`string "0"`, weights.String("0")},
		{"NaN", weights.Float(math.NaN())},
		{"garbage", weights.String("ten")},
		{"infinite", weights.Float(math.Inf(1))},
	}
	without := map[string]uint32{a.addr: 2, c.addr: 1}

	// Round 1, one RPC at a time: exact shares after every update.
	for _, eps := range refused {
		r.UpdateState(resolver.State{Endpoints: eps})
		wantShares(t, cc, names, all, 3)
	}
	for _, tc := range partial {
		r.UpdateState(resolver.State{Endpoints: []resolver.Endpoint{good[0], endpoint(b.addr, tc.raw), good[2]}})
		w.waitFor(t, "b left out for "+tc.name, allServing(without))
		before := b.Calls()
		wantShares(t, cc, names, without, 3)
		if n := b.Calls() - before; n != 0 {
			t.Fatalf("weight %s: b answered %d RPCs", tc.name, n)
		}
	}
	r.UpdateState(resolver.State{Endpoints: good})
	w.waitFor(t, "b back", allServing(all))
	wantShares(t, cc, names, all, 3)

	// Round 2, the same flap while RPCs run without pause: none fails.
	bg := startRPCs(t, cc)
	for range 3 {
		for _, eps := range refused {
			r.UpdateState(resolver.State{Endpoints: eps})
			calls(t, cc, 4)
		}
		for _, tc := range partial {
			r.UpdateState(resolver.State{Endpoints: []resolver.Endpoint{good[0], endpoint(b.addr, tc.raw), good[2]}})
			calls(t, cc, 4)
		}
		r.UpdateState(resolver.State{Endpoints: good})
		w.waitFor(t, "b back", allServing(all))
		calls(t, cc, 4)
	}
	bg.finish(t)
}

func TestStoppedServerEjectedAndBackThroughSlowStart(t *testing.T) {
	clock := clocktest.New()
	name, w := testPolicy(clock.Now)
	a, b, c, names := startTrio(t)
	all := map[string]uint32{a.addr: 3, b.addr: 2, c.addr: 1}
	cc, r := dial(t, name, `{"slowStart":"10s","maxEjectedPercent":50}`, []resolver.Endpoint{
		endpoint(a.addr, weights.Int(3)), endpoint(b.addr, weights.Int(2)), endpoint(c.addr, weights.Int(1)),
	})
	// The channel's first endpoints start at full weight, the clock unmoved.
	w.waitFor(t, "all serving", allServing(all))
	wantShares(t, cc, names, all, 2)

	bg := startRPCs(t, cc)
	b.stop()
	w.waitFor(t, "b ejected", func(m map[string]wrr.NodeState) bool { return m[b.addr].State == wrr.Ejected })
	bg.finish(t)
	wantShares(t, cc, names, map[string]uint32{a.addr: 3, c.addr: 1}, 3)

	// Back on the same address: restored, ramping, then full weight.
	b2 := startBackend(t, "b", b.addr)
	w.waitFor(t, "b ramping", func(m map[string]wrr.NodeState) bool { return m[b.addr].State == wrr.Ramping })
	clock.Advance(11 * time.Second)
	w.sync() // the ramp's end reaches the schedule
	if m := w.states(); m[b.addr].State != wrr.Serving {
		t.Fatalf("after the window b is %+v", m[b.addr])
	}
	wantShares(t, cc, names, all, 2)
	if b2.Calls() == 0 {
		t.Fatalf("the restarted b answered no RPC")
	}

	// An endpoint added by a later update joins through slow start.
	d := startBackend(t, "d", "127.0.0.1:0")
	names[d.addr] = "d"
	r.UpdateState(resolver.State{Endpoints: []resolver.Endpoint{
		endpoint(a.addr, weights.Int(3)), endpoint(b.addr, weights.Int(2)), endpoint(c.addr, weights.Int(1)), endpoint(d.addr, weights.Int(4)),
	}})
	w.waitFor(t, "d ramping", func(m map[string]wrr.NodeState) bool { return m[d.addr].State == wrr.Ramping })
	if m := w.states(); m[d.addr].Effective >= 4 || m[a.addr].State != wrr.Serving {
		t.Fatalf("d should ramp below its weight 4 while the others serve: %+v", m)
	}
	clock.Advance(11 * time.Second)
	w.sync()
	all[d.addr] = 4
	wantShares(t, cc, names, all, 2)
}

func TestKilledServerEjected(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, names := startTrio(t)
	cc, _ := dial(t, name, `{}`, []resolver.Endpoint{
		endpoint(a.addr, weights.Int(1)), endpoint(b.addr, weights.Int(4)), endpoint(c.addr, weights.Int(2)),
	})
	w.waitFor(t, "all serving", allServing(map[string]uint32{a.addr: 1, b.addr: 4, c.addr: 2}))
	// Only the RPCs in flight on b when it dies can fail; the next ones go on.
	b.kill()
	w.waitFor(t, "b ejected", func(m map[string]wrr.NodeState) bool { return m[b.addr].State == wrr.Ejected })
	wantShares(t, cc, names, map[string]uint32{a.addr: 1, c.addr: 2}, 5)
}

func TestEjectionCapPassesOverFailedEndpoints(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, _ := startTrio(t)
	cc, _ := dial(t, name, `{"maxEjectedPercent":34}`, []resolver.Endpoint{
		endpoint(a.addr, weights.Int(1)), endpoint(b.addr, weights.Int(1)), endpoint(c.addr, weights.Int(1)),
	})
	w.waitFor(t, "all serving", allServing(map[string]uint32{a.addr: 1, b.addr: 1, c.addr: 1}))
	bg := startRPCs(t, cc)
	b.stop()
	w.waitFor(t, "b ejected", func(m map[string]wrr.NodeState) bool { return m[b.addr].State == wrr.Ejected })
	c.stop()
	w.waitFor(t, "c in TRANSIENT_FAILURE", func(map[string]wrr.NodeState) bool {
		return w.connectivity(c.addr) == connectivity.TransientFailure
	})
	bg.finish(t)
	// 34% of 3 allows one ejection: c stays in the schedule, passed over.
	got := calls(t, cc, 20)
	if got["a"] != 20 {
		t.Fatalf("with b ejected and c down got %v, want all 20 RPCs on a", got)
	}
	if m := w.states(); m[c.addr].State != wrr.Serving || m[b.addr].State != wrr.Ejected {
		t.Fatalf("want b ejected and c (beyond the cap) still serving in the schedule: %+v", m)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{`{"algorithm":"random"}`, `algorithm must be "smooth" or "resty", got "random"`},
		{`{"algorithm":1}`, `algorithm must be "smooth" or "resty", got 1`},
		{`{"slowStart":"soon"}`, `slowStart must be a duration such as "30s", got "soon"`},
		{`{"slowStart":30}`, `slowStart must be a duration such as "30s", got 30`},
		{`{"slowStart":"-1s"}`, `slowStart must not be negative, got "-1s"`},
		{`{"maxEjectedPercent":101}`, `maxEjectedPercent must be an integer from 0 to 100, got 101`},
		{`{"maxEjectedPercent":-1}`, `maxEjectedPercent must be an integer from 0 to 100, got -1`},
		{`{"maxEjectedPercent":50.5}`, `maxEjectedPercent must be an integer from 0 to 100, got 50.5`},
		{`{"maxEjectedPercent":"50"}`, `maxEjectedPercent must be an integer from 0 to 100, got "50"`},
		{`{"weightPolicy":"loose"}`, `weightPolicy must be "strict" or "lenient", got "loose"`},
		{`{"randomStart":"yes"}`, `randomStart must be true or false, got "yes"`},
		{`{"slowstart":"1s"}`, `unknown config field "slowstart" (known: algorithm, slowStart, maxEjectedPercent, weightPolicy, randomStart)`},
		{`{"algorithm":"smooth","algorithm":"resty"}`, `config field "algorithm" given twice`},
		{`[]`, `config must be a JSON object, got []`},
		{`null`, `config must be a JSON object, got null`},
		{`{"algorithm":"smooth"} {}`, `config has data after the object`},
	} {
		t.Run(tc.cfg, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.cfg))
			if err == nil || err.Error() != "grpcwrr: "+tc.want {
				t.Fatalf("ParseConfig(%s) = %v, want error %q", tc.cfg, err, "grpcwrr: "+tc.want)
			}
		})
	}
}

func TestConfigDefaultsAndValues(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Algorithm != wrr.Smooth || cfg.SlowStart != 0 || cfg.MaxEjectedPercent != 50 || cfg.WeightPolicyName != "strict" || cfg.RandomStart {
		t.Fatalf("defaults = %+v", cfg)
	}
	cfg, err = ParseConfig([]byte(`{"algorithm":"resty","slowStart":"1m30s","maxEjectedPercent":0,"weightPolicy":"lenient","randomStart":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Algorithm != wrr.Resty || cfg.SlowStart != 90*time.Second || cfg.MaxEjectedPercent != 0 || cfg.WeightPolicyName != "lenient" || !cfg.RandomStart {
		t.Fatalf("parsed = %+v", cfg)
	}
	if w, reason := cfg.WeightPolicy.Weight(weights.String("10")); w != 10 || reason != "" {
		t.Fatalf("lenient policy: Weight(\"10\") = %d, %q", w, reason)
	}
}

func TestBadServiceConfigFailsNewClient(t *testing.T) {
	_, err := grpc.NewClient("passthrough:///127.0.0.1:1",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"safewrr":{"maxEjectedPercent":200}}]}`))
	if err == nil || !strings.Contains(err.Error(), "grpcwrr: maxEjectedPercent must be an integer from 0 to 100, got 200") {
		t.Fatalf("NewClient with a bad safewrr config: %v", err)
	}
}

func TestConfigChangeRebuildsTheBalancer(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, _ := startTrio(t)
	eps := []resolver.Endpoint{endpoint(a.addr, weights.Int(5)), endpoint(b.addr, weights.Int(1)), endpoint(c.addr, weights.Int(1))}
	cc, r := dial(t, name, `{}`, eps)
	w.waitFor(t, "all serving", allServing(map[string]uint32{a.addr: 5, b.addr: 1, c.addr: 1}))
	calls(t, cc, 3)

	// The resolver's service config switches to resty: a new balancer, whose
	// sequence starts as resty.roundrobin's does.
	sc := r.CC().ParseServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%q:{"algorithm":"resty"}}]}`, name))
	if sc.Err != nil {
		t.Fatal(sc.Err)
	}
	r.UpdateState(resolver.State{Endpoints: eps, ServiceConfig: sc})
	var seq []string
	for range 14 {
		name, err := call(t.Context(), cc)
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, name)
	}
	if got, want := strings.Join(seq, " "), "a a a a b c a a a a a b c a"; got != want {
		t.Fatalf("after switching to resty the sequence is %s, want %s", got, want)
	}
}

func TestLenientWeightPolicy(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, names := startTrio(t)
	cc, _ := dial(t, name, `{"weightPolicy":"lenient"}`, []resolver.Endpoint{
		endpoint(a.addr, weights.String("3")), // a decimal string is a weight under lenient
		endpoint(b.addr, weights.Int(1)),
		endpoint(c.addr, weights.String("0")), // the string "0" never is
	})
	want := map[string]uint32{a.addr: 3, b.addr: 1}
	w.waitFor(t, "a and b serving", allServing(want))
	wantShares(t, cc, names, want, 3)
	if c.Calls() != 0 {
		t.Fatalf("c, weighted \"0\", answered %d RPCs", c.Calls())
	}
}

func TestFirstUpdateRefusedFailsRPCsWithTheReason(t *testing.T) {
	name, _ := testPolicy(time.Now)
	a := startBackend(t, "a", "127.0.0.1:0")
	cc, _ := dial(t, name, `{}`, []resolver.Endpoint{endpoint(a.addr, weights.String("0"))})
	_, err := call(t.Context(), cc)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "safewrr: resolver update refused") {
		t.Fatalf("RPC with every endpoint rejected = %v, want Unavailable with the refusal", err)
	}
	if a.Calls() != 0 {
		t.Fatalf("a answered %d RPCs", a.Calls())
	}
}

func TestEjectedEndpointDroppedAndSentAgain(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, names := startTrio(t)
	eps := []resolver.Endpoint{endpoint(a.addr, weights.Int(2)), endpoint(b.addr, weights.Int(1)), endpoint(c.addr, weights.Int(1))}
	all := map[string]uint32{a.addr: 2, b.addr: 1, c.addr: 1}
	cc, r := dial(t, name, `{}`, eps)
	w.waitFor(t, "all serving", allServing(all))

	b.stop()
	w.waitFor(t, "b ejected", func(m map[string]wrr.NodeState) bool { return m[b.addr].State == wrr.Ejected })
	r.UpdateState(resolver.State{Endpoints: []resolver.Endpoint{eps[0], eps[2]}})
	w.waitFor(t, "b dropped", allServing(map[string]uint32{a.addr: 2, c.addr: 1}))

	// The balancer remembers b's ejection by id; b READY again ends it.
	startBackend(t, "b", b.addr)
	r.UpdateState(resolver.State{Endpoints: eps})
	w.waitFor(t, "b back", allServing(all))
	wantShares(t, cc, names, all, 3)
}
