package grpcwrr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// payloadSource is a registry payload the test changes, counting fetches.
type payloadSource struct {
	mu      sync.Mutex
	payload []byte
	fetches int
	fetched chan struct{}
}

func newPayloadSource(p string) *payloadSource {
	return &payloadSource{payload: []byte(p), fetched: make(chan struct{})}
}

func (s *payloadSource) fetch(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	close(s.fetched)
	s.fetched = make(chan struct{})
	return s.payload, nil
}

// set changes the payload and waits until a poll that read it has completed
// (the fetch after the one that read it has begun).
func (s *payloadSource) set(t *testing.T, p string) {
	t.Helper()
	s.mu.Lock()
	s.payload = []byte(p)
	want := s.fetches + 2
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		n, ch := s.fetches, s.fetched
		s.mu.Unlock()
		if n >= want {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("waiting for the feed to read %s", p)
		}
	}
}

func dialTarget(t *testing.T, target, policy string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, policy)))
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatalf("NewClient(%s): %v", target, err)
	}
	t.Cleanup(func() { cc.Close() })
	cc.Connect()
	return cc
}

func TestResolverKeepsLastGoodSet(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b, c, names := startTrio(t)
	payload := func(wa, wb, wc string) string {
		return fmt.Sprintf(`{%q: %s, %q: %s, %q: %s}`, a.addr, wa, b.addr, wb, c.addr, wc)
	}
	src := newPayloadSource(payload("2", "1", "1"))
	var refusals atomic.Int64 // the caller's own OnChange still runs
	onChange := feed.WithOnChange(func(st feed.Status) {
		if st.LastPoll == feed.Refused {
			refusals.Add(1)
		}
	})
	rb := NewResolverBuilder("flap", feed.Func("flap", src.fetch), feed.WithInterval(5*time.Millisecond), feed.WithJitter(0), onChange)
	cc := dialTarget(t, "flap:///svc", name, grpc.WithResolvers(rb))
	all := map[string]uint32{a.addr: 2, b.addr: 1, c.addr: 1}
	w.waitFor(t, "all serving", allServing(all))
	wantShares(t, cc, names, all, 3)

	bg := startRPCs(t, cc)
	for _, bad := range []string{
		payload(`"0"`, `"0"`, `"0"`),
		payload("NaN", "NaN", "NaN"),
		payload("-1", "1e400", "0.5"),
		payload("0", "0", "0"),
		`{"garbage`,
		`{}`,
		``,
	} {
		src.set(t, bad)
		// Refused: the channel still has the three endpoints at their weights.
		if m := w.states(); !allServing(all)(m) {
			t.Fatalf("after the payload %s the states are %+v", bad, m)
		}
		calls(t, cc, 8)
	}
	bg.finish(t)
	// One RPC at a time from here, so that no RPC picked before an update
	// is counted after it.
	without := map[string]uint32{a.addr: 2, c.addr: 1}
	src.set(t, payload("2", `"0"`, "1"))
	w.waitFor(t, "b left out", allServing(without))
	before := b.Calls()
	calls(t, cc, 30)
	if n := b.Calls() - before; n != 0 {
		t.Fatalf("b answered %d RPCs with the weight \"0\"", n)
	}
	src.set(t, payload("2", "1", "1"))
	w.waitFor(t, "b back", allServing(all))
	wantShares(t, cc, names, all, 3)
	if refusals.Load() == 0 {
		t.Fatalf("the caller's WithOnChange saw no refused poll")
	}
}

func TestResolverFileTarget(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b := startBackend(t, "a", "127.0.0.1:0"), startBackend(t, "b", "127.0.0.1:0")
	names := map[string]string{a.addr: "a", b.addr: "b"}
	// A discovery payload with two services; the target selects one.
	ha, pa, _ := strings.Cut(a.addr, ":")
	_, pb, _ := strings.Cut(b.addr, ":")
	file := filepath.Join(t.TempDir(), "registry.json")
	payload := fmt.Sprintf(`{"code":0,"data":{
		"main.api":{"instances":{"sh001":[
			{"hostname":"a","appid":"main.api","addrs":["http://%[1]s:8000","grpc://%[1]s:%[2]s"],"metadata":{"weight":"3"},"status":1},
			{"hostname":"b","appid":"main.api","addrs":["grpc://%[1]s:%[3]s"],"metadata":{"weight":"1"},"status":1}]}},
		"other.svc":{"instances":{"sh001":[
			{"hostname":"x","appid":"other.svc","addrs":["grpc://%[1]s:1"],"metadata":{"weight":"9"},"status":1}]}}}}`, ha, pa, pb)
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "safewrr://" + (&url.URL{Path: file, RawQuery: "format=discovery&service=main.api&scheme=grpc&interval=0"}).String()
	cc := dialTarget(t, target, name)
	want := map[string]uint32{a.addr: 3, b.addr: 1}
	w.waitFor(t, "a and b serving", allServing(want))
	wantShares(t, cc, names, want, 4)
}

func TestResolverURLTarget(t *testing.T) {
	name, w := testPolicy(time.Now)
	a, b := startBackend(t, "a", "127.0.0.1:0"), startBackend(t, "b", "127.0.0.1:0")
	names := map[string]string{a.addr: "a", b.addr: "b"}
	reg := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/health/service/api" || req.URL.Query().Get("passing") != "1" {
			http.NotFound(rw, req)
			return
		}
		ha, pa, _ := strings.Cut(a.addr, ":")
		hb, pb, _ := strings.Cut(b.addr, ":")
		fmt.Fprintf(rw, `[{"Service":{"ID":"a","Service":"api","Address":%q,"Port":%s,"Weights":{"Passing":2,"Warning":1}},"Checks":[]},
			{"Service":{"ID":"b","Service":"api","Address":%q,"Port":%s,"Weights":{"Passing":3,"Warning":1}},"Checks":[]}]`, ha, pa, hb, pb)
	}))
	t.Cleanup(reg.Close)
	q := url.Values{"url": {reg.URL + "/v1/health/service/api?passing=1"}, "format": {"consul"}, "interval": {"0"}}
	cc := dialTarget(t, "safewrr:///?"+q.Encode(), name)
	want := map[string]uint32{a.addr: 2, b.addr: 3}
	w.waitFor(t, "a and b serving", allServing(want))
	wantShares(t, cc, names, want, 4)
}

func TestParseTargetErrors(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"safewrr:///", "grpcwrr: target names no registry: want safewrr:///PATH or safewrr:///?url=URL"},
		{"safewrr:///r.json?url=http://x/", "grpcwrr: target has both a file path and url=; give one"},
		{"safewrr:///r.json?format=zookeeper", "grpcwrr: format: "},
		{"safewrr:///r.json?policy=loose", `grpcwrr: policy must be strict or lenient, got "loose"`},
		{"safewrr:///r.json?health=maybe", `grpcwrr: health must be drain, reject or ignore, got "maybe"`},
		{"safewrr:///r.json?interval=-1s", `grpcwrr: interval must be a duration such as "5s" (0 for none), got "-1s"`},
		{"safewrr:///r.json?scale=-2", `grpcwrr: scale must be an integer from 0 to 4294967295, got "-2"`},
		{"safewrr:///r.json?refuse-partial=1", `grpcwrr: refuse-partial must be true or false, got "1"`},
		{"safewrr:///r.json?servcie=x", `grpcwrr: unknown target parameter "servcie"`},
		{"safewrr:///r.json?convention=mine", `grpcwrr: convention must be registry, sdk or policy, got "mine"`},
		{"safewrr:///r.json?merge-services=true", `grpcwrr: unknown target parameter "merge-services"`},
		{"safewrr:///r.json?max-drop=0", `grpcwrr: max-drop must be a share in (0, 1], got "0"`},
		{"safewrr:///r.json?max-drop=1.5", `grpcwrr: max-drop must be a share in (0, 1], got "1.5"`},
		{"safewrr:///r.json?max-drop=NaN", `grpcwrr: max-drop must be a share in (0, 1], got "NaN"`},
		{"safewrr:///?url=ftp://x/r.json", "grpcwrr: url: "},
	} {
		u, err := url.Parse(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ParseTarget(*u)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseTarget(%s) = %v, want an error starting %q", tc.target, err, tc.want)
		}
	}
	u, _ := url.Parse("safewrr:///etc/registry.json?format=nacos&service=x&policy=lenient&interval=2s&refuse-partial=true&scale=100&max-drop=0.5&convention=sdk&health=ignore&scheme=grpc&port=p")
	if src, opts, err := ParseTarget(*u); err != nil || src.String() == "" || len(opts) != 4 {
		t.Fatalf("ParseTarget(%s) = %v, %d options, %v", u, src, len(opts), err)
	}
}

// A target's payload is held to the proxy's id rules in every format: ids in
// canonical form, so one backend spelled two ways is one id.
func TestParseTargetIDsAreAddresses(t *testing.T) {
	u, _ := url.Parse("safewrr:///r.json?format=map&interval=0")
	_, opts, err := ParseTarget(*u)
	if err != nil {
		t.Fatal(err)
	}
	src := feed.Func("inline", func(context.Context) ([]byte, error) {
		return []byte(`{"Web-1.Example:80": 2, "10.0.0.1:80": 1, "10.0.0.2:80": 1, "web-1.example.:80": 1}`), nil
	})
	f, err := feed.New(t.Context(), src, append(opts, feed.WithSink(nopSink{}))...)
	if err != nil {
		t.Fatal(err)
	}
	st := f.Status()
	if fmt.Sprint(st.Nodes) != "[{10.0.0.1:80 1} {10.0.0.2:80 1}]" || st.Reasons["duplicate-id"] != 2 {
		t.Fatalf("nodes %v, rejects %v", st.Nodes, st.Reasons)
	}
}

// A resolver built with the caller's own feed options holds ids to the
// proxy's rules too: one backend spelled two ways with different weights is
// ambiguous, so both copies are rejected and only the other backend serves.
func TestResolverBuilderIDsAreAddresses(t *testing.T) {
	a, b := startBackend(t, "a", "127.0.0.1:0"), startBackend(t, "b", "127.0.0.1:0")
	_, port, _ := strings.Cut(a.addr, ":")
	payload := fmt.Sprintf(`{%q: 5, "[::ffff:127.0.0.1]:%s": 3, %q: 1}`, a.addr, port, b.addr)
	src := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(payload), nil })
	statuses := make(chan feed.Status, 1)
	onChange := feed.WithOnChange(func(st feed.Status) {
		select {
		case statuses <- st:
		default:
		}
	})
	// Free ids in the caller's decode options: the resolver overrides them.
	free := feed.WithDecode(registry.Options{Policy: weights.Strict()})
	rb := NewResolverBuilder("spelled", src, feed.WithFormat(registry.FormatMap), free, feed.WithInterval(0), onChange)
	cc := dialTarget(t, "spelled:///svc", Name, grpc.WithResolvers(rb))
	var st feed.Status
	select {
	case st = <-statuses:
	case <-time.After(30 * time.Second):
		t.Fatal("the resolver's feed never polled")
	}
	if fmt.Sprint(st.Nodes) != fmt.Sprintf("[{%s 1}]", b.addr) || st.Reasons["duplicate-id"] != 2 {
		t.Fatalf("nodes %v, rejects %v", st.Nodes, st.Reasons)
	}
	got := calls(t, cc, 6)
	if got["a"] != 0 || got["b"] != 6 {
		t.Fatalf("calls %v, want all 6 on b", got)
	}
}
