package httplb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// fakeNet is a RoundTripper standing in for the network: each host either
// answers with a status or fails with an error, and every attempt is logged.
type fakeNet struct {
	mu       sync.Mutex
	down     map[string]bool // host -> connection refused
	status   map[string]int  // host -> status to answer (200 if unset)
	attempts []string        // hosts in attempt order
	bodies   []string        // request bodies in attempt order
}

var errRefused = errors.New("connect: connection refused")

func newNet() *fakeNet { return &fakeNet{down: map[string]bool{}, status: map[string]int{}} }

func (f *fakeNet) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	var berr error
	if r.Body != nil {
		body, berr = io.ReadAll(r.Body)
		r.Body.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, r.URL.Host)
	f.bodies = append(f.bodies, string(body))
	if berr != nil {
		// As http.Transport: the attempt fails when its body does.
		return nil, fmt.Errorf("writing the body to %s: %w", r.URL.Host, berr)
	}
	if f.down[r.URL.Host] {
		return nil, fmt.Errorf("dial tcp %s: %w", r.URL.Host, errRefused)
	}
	code := f.status[r.URL.Host]
	if code == 0 {
		code = http.StatusOK
	}
	return &http.Response{
		StatusCode: code,
		Header:     http.Header{},
		Body:       io.NopCloser(strings.NewReader(r.URL.Host)),
		Request:    r,
	}, nil
}

func (f *fakeNet) set(host string, down bool) {
	f.mu.Lock()
	f.down[host] = down
	f.mu.Unlock()
}

func (f *fakeNet) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.attempts
	f.attempts = nil
	return out
}

type fixture struct {
	b     *balancer.Balancer
	t     *Transport
	net   *fakeNet
	clock *clocktest.Clock
}

// newFixture builds a balancer over nodes "a:1", "b:1", ... with the given
// weights and a transport whose base is a fakeNet.
func newFixture(t *testing.T, weightsInOrder []uint32, bopts []balancer.Option, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{net: newNet(), clock: clocktest.New()}
	var nodes []weights.Node
	for i, w := range weightsInOrder {
		nodes = append(nodes, weights.Node{ID: fmt.Sprintf("%c:1", 'a'+i), Weight: w})
	}
	b, err := balancer.New(nodes, append([]balancer.Option{balancer.WithClock(f.clock.Now)}, bopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.b = b
	f.t = mustTransport(t, b, append([]Option{WithBase(f.net), WithClock(f.clock.Now)}, opts...)...)
	return f
}

func (f *fixture) do(t *testing.T, method, body string, hdr ...string) (*http.Response, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://service/path", rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.t.RoundTrip(req)
	if resp != nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func (f *fixture) states() map[string]balancer.State {
	m := map[string]balancer.State{}
	for _, s := range f.b.States() {
		m[s.ID] = s.State
	}
	return m
}

func TestRetrySkipsFailedNodes(t *testing.T) {
	// Smooth over a=1, b=1, c=1 picks a, b, c, a, ... Node a is down.
	f := newFixture(t, []uint32{1, 1, 1}, nil, WithEjection(0, 0, 0))
	f.net.set("a:1", true)
	resp, err := f.do(t, http.MethodGet, "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET = %v, %v; want 200", resp, err)
	}
	got := f.net.take()
	if len(got) != 2 || got[0] != "a:1" || got[1] == "a:1" {
		t.Fatalf("attempts = %v, want a:1 then another node", got)
	}
	// Over many requests, no request tries a node twice.
	for i := 0; i < 30; i++ {
		if _, err := f.do(t, http.MethodGet, ""); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		att := f.net.take()
		seen := map[string]bool{}
		for _, h := range att {
			if seen[h] {
				t.Fatalf("request %d tried %s twice: %v", i, h, att)
			}
			seen[h] = true
		}
		if last := att[len(att)-1]; last == "a:1" {
			t.Fatalf("request %d ended on the dead node: %v", i, att)
		}
	}
}

func TestAttemptsNeverExceedMax(t *testing.T) {
	for _, max := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("max=%d", max), func(t *testing.T) {
			f := newFixture(t, []uint32{1, 1, 1, 1, 1, 1}, nil, WithMaxAttempts(max), WithEjection(0, 0, 0))
			for _, h := range []string{"a:1", "b:1", "c:1", "d:1", "e:1", "f:1"} {
				f.net.set(h, true)
			}
			for i := 0; i < 10; i++ {
				_, err := f.do(t, http.MethodGet, "")
				if !errors.Is(err, errRefused) {
					t.Fatalf("err = %v, want the last attempt's connection error", err)
				}
				if got := f.net.take(); len(got) != max {
					t.Fatalf("request %d made %d attempts %v, want %d", i, len(got), got, max)
				}
			}
		})
	}
}

func TestAttemptsStopWhenEveryNodeWasTried(t *testing.T) {
	f := newFixture(t, []uint32{3, 1}, nil, WithMaxAttempts(10), WithEjection(0, 0, 0))
	f.net.set("a:1", true)
	f.net.set("b:1", true)
	_, err := f.do(t, http.MethodGet, "")
	if !errors.Is(err, errRefused) {
		t.Fatalf("err = %v", err)
	}
	if got := f.net.take(); len(got) != 2 {
		t.Fatalf("attempts = %v, want each of the 2 nodes once", got)
	}
}

func TestOnlySafeRequestsAreRetried(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		body     string
		hdr      []string
		attempts int
	}{
		{"GET", http.MethodGet, "", nil, 2},
		{"HEAD", http.MethodHead, "", nil, 2},
		{"DELETE", http.MethodDelete, "", nil, 2},
		{"PUT with replayable body", http.MethodPut, "payload", nil, 2},
		{"POST", http.MethodPost, "payload", nil, 1},
		{"POST without body", http.MethodPost, "", nil, 1},
		{"PATCH", http.MethodPatch, "payload", nil, 1},
		{"POST with Idempotency-Key", http.MethodPost, "payload", []string{"Idempotency-Key", "k1"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []uint32{1, 1}, nil, WithEjection(0, 0, 0))
			f.net.set("a:1", true)
			_, _ = f.do(t, tt.method, tt.body, tt.hdr...)
			got := f.net.take()
			if len(got) != tt.attempts {
				t.Fatalf("%s made attempts %v, want %d", tt.name, got, tt.attempts)
			}
			if tt.body != "" {
				for i, b := range f.net.bodies {
					if b != tt.body {
						t.Errorf("attempt %d sent body %q, want %q", i+1, b, tt.body)
					}
				}
			}
		})
	}
}

func TestBodyWithoutGetBodyIsNotRetried(t *testing.T) {
	f := newFixture(t, []uint32{1, 1}, nil, WithEjection(0, 0, 0), WithBodyBuffer(0))
	f.net.set("a:1", true)
	req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader("stream")))
	if Retryable(req) {
		t.Fatal("Retryable(PUT with a one-shot body) = true")
	}
	_, err := f.t.RoundTrip(req)
	if err == nil {
		t.Fatal("want the failed attempt's error")
	}
	if got := f.net.take(); len(got) != 1 {
		t.Fatalf("attempts = %v, want 1", got)
	}
}

// TestBufferedBodyIsReplayed: by default a one-shot body is read whole
// first, so it is sent again, byte for byte, to the next node; a body
// longer than the buffer streams and is not.
func TestBufferedBodyIsReplayed(t *testing.T) {
	f := newFixture(t, []uint32{1, 1}, nil, WithEjection(0, 0, 0), WithBodyBuffer(6))
	f.net.set("a:1", true)
	for _, tc := range []struct {
		body     string
		attempts string
	}{
		{"stream", "[a:1 b:1]"}, // 6 bytes: buffered
		{"", "[a:1 b:1]"},       // empty
		{"streams", "[a:1]"},    // 7 bytes: streamed
	} {
		req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader(tc.body)))
		req.ContentLength = -1
		f.t.RoundTrip(req)
		if got := fmt.Sprint(f.net.take()); got != tc.attempts {
			t.Errorf("body %q: attempts %s, want %s", tc.body, got, tc.attempts)
		}
		f.net.mu.Lock()
		bodies := f.net.bodies
		f.net.bodies = nil
		f.net.mu.Unlock()
		for _, b := range bodies {
			if b != tc.body {
				t.Errorf("body %q: an attempt sent %q", tc.body, b)
			}
		}
	}
}

func TestCanceledRequestIsNotRetriedNorCounted(t *testing.T) {
	f := newFixture(t, []uint32{1, 1}, nil, WithEjection(1, time.Minute, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://service/", nil)
	f.net.set("a:1", true)
	_, _ = f.t.RoundTrip(req)
	if got := f.net.take(); len(got) != 1 {
		t.Fatalf("attempts = %v, want 1", got)
	}
	if st := f.states()["a:1"]; st != balancer.Serving {
		t.Fatalf("a:1 is %v after a canceled request, want serving", st)
	}
}

func TestRetryStatus(t *testing.T) {
	f := newFixture(t, []uint32{1, 1}, nil, WithRetryStatus(503), WithEjection(0, 0, 0))
	f.net.status["a:1"] = 503
	resp, err := f.do(t, http.MethodGet, "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET = %v %v, want 200 from b", resp, err)
	}
	f.net.status["b:1"] = 503
	f.net.take()
	resp, err = f.do(t, http.MethodGet, "")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("GET with both 503 = %v %v, want the last 503 response", resp, err)
	}
	if got := f.net.take(); len(got) != 2 {
		t.Fatalf("attempts = %v, want 2", got)
	}
}

func TestEjectionAfterConsecutiveFailures(t *testing.T) {
	const k = 3
	f := newFixture(t, []uint32{1, 1, 1, 1}, []balancer.Option{balancer.WithSlowStart(10 * time.Second)},
		WithEjection(k, time.Minute, 10*time.Minute))
	f.net.set("a:1", true)
	// a fails once per request that picks it first (every fourth request).
	var failures int
	for i := 0; failures < k && i < 100; i++ {
		if f.states()["a:1"] != balancer.Serving {
			t.Fatalf("a:1 is %v after %d failures, want serving until %d", f.states()["a:1"], failures, k)
		}
		if _, err := f.do(t, http.MethodGet, ""); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for _, h := range f.net.take() {
			if h == "a:1" {
				failures++
			}
		}
	}
	if failures != k {
		t.Fatalf("a:1 failed %d times, want %d", failures, k)
	}
	if st := f.states()["a:1"]; st != balancer.Ejected {
		t.Fatalf("a:1 is %v after %d consecutive failures, want ejected", st, k)
	}
	if f.t.Ejections() != 1 {
		t.Fatalf("Ejections() = %d, want 1", f.t.Ejections())
	}
	for i := 0; i < 20; i++ {
		f.do(t, http.MethodGet, "")
		for _, h := range f.net.take() {
			if h == "a:1" {
				t.Fatalf("request %d went to ejected a:1", i)
			}
		}
	}

	// The ejection ends after a minute; the node comes back ramping.
	f.clock.Advance(time.Minute)
	f.b.Sync() // the schedule that has a:1 again is built off the request path: wait for it
	if st := f.states()["a:1"]; st != balancer.Ramping {
		t.Fatalf("a:1 is %v after its ejection ended, want ramping", st)
	}
	// Still down: the next k failures eject it for twice as long.
	failures = 0
	for i := 0; failures < k && i < 500; i++ {
		f.do(t, http.MethodGet, "")
		for _, h := range f.net.take() {
			if h == "a:1" {
				failures++
			}
		}
	}
	var until time.Time
	for _, s := range f.b.States() {
		if s.ID == "a:1" {
			until = s.EjectedUntil
		}
	}
	if want := f.clock.Now().Add(2 * time.Minute); !until.Equal(want) {
		t.Fatalf("second ejection until %v, want %v (doubled)", until, want)
	}

	// It recovers: after the ejection it serves again and a success clears
	// its record, so the next ejection is back to one minute.
	f.net.set("a:1", false)
	f.clock.Advance(2 * time.Minute)
	f.b.Sync()
	served := false
	for i := 0; !served && i < 100; i++ {
		f.do(t, http.MethodGet, "")
		for _, h := range f.net.take() {
			served = served || h == "a:1"
		}
	}
	if !served {
		t.Fatal("a:1 got no request after its ejection ended")
	}
	f.net.set("a:1", true)
	failures = 0
	for i := 0; failures < k && i < 500; i++ {
		f.do(t, http.MethodGet, "")
		for _, h := range f.net.take() {
			if h == "a:1" {
				failures++
			}
		}
	}
	for _, s := range f.b.States() {
		if s.ID == "a:1" {
			until = s.EjectedUntil
		}
	}
	if want := f.clock.Now().Add(time.Minute); !until.Equal(want) {
		t.Fatalf("ejection after recovery until %v, want %v", until, want)
	}
}

func TestEjectionCapApplies(t *testing.T) {
	// Two nodes, at most 50% ejected: only one of them can go.
	f := newFixture(t, []uint32{1, 1}, nil, WithEjection(1, time.Minute, time.Minute), WithMaxAttempts(1))
	f.net.set("a:1", true)
	f.net.set("b:1", true)
	for i := 0; i < 4; i++ {
		f.do(t, http.MethodGet, "")
	}
	st := f.states()
	ejected := 0
	for _, s := range st {
		if s == balancer.Ejected {
			ejected++
		}
	}
	if ejected != 1 {
		t.Fatalf("states %v: %d ejected, want 1 (cap 50%%)", st, ejected)
	}
	if f.t.Ejections() != 1 {
		t.Fatalf("Ejections() = %d, want 1", f.t.Ejections())
	}
}

func TestNoNodeError(t *testing.T) {
	f := newFixture(t, []uint32{0, 0}, nil)
	_, err := f.do(t, http.MethodGet, "")
	if !errors.Is(err, ErrNoNode) || !errors.Is(err, balancer.ErrAllDrained) {
		t.Fatalf("err = %v, want ErrNoNode wrapping ErrAllDrained", err)
	}
	if got := f.net.take(); len(got) != 0 {
		t.Fatalf("attempts = %v, want none", got)
	}
}

func TestRetryableBodies(t *testing.T) {
	get, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	put, _ := http.NewRequest(http.MethodPut, "http://x/", bytes.NewReader([]byte("x")))
	post, _ := http.NewRequest(http.MethodPost, "http://x/", bytes.NewReader([]byte("x")))
	emptyPost, _ := http.NewRequest(http.MethodPost, "http://x/", http.NoBody)
	keyed, _ := http.NewRequest(http.MethodPost, "http://x/", bytes.NewReader([]byte("x")))
	keyed.Header.Set("X-Idempotency-Key", "1")
	for _, tt := range []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"GET", get, true}, {"PUT bytes", put, true}, {"POST bytes", post, false},
		{"POST empty", emptyPost, false}, {"POST X-Idempotency-Key", keyed, true},
	} {
		if got := Retryable(tt.req); got != tt.want {
			t.Errorf("Retryable(%s) = %v want %v", tt.name, got, tt.want)
		}
	}
}

func TestLateSuccessRestoresAnEjectedNode(t *testing.T) {
	f := newFixture(t, []uint32{1, 1, 1}, []balancer.Option{balancer.WithSlowStart(time.Minute)},
		WithEjection(1, time.Hour, time.Hour), WithMaxAttempts(1))
	f.net.set("a:1", true)
	f.do(t, http.MethodGet, "") // a fails once: ejected for an hour
	if st := f.states()["a:1"]; st != balancer.Ejected {
		t.Fatalf("a:1 is %v, want ejected", st)
	}
	// A request sent to a before its ejection fails late: nothing changes.
	f.t.failed("a:1", errRefused, nil)
	if f.t.Ejections() != 1 {
		t.Fatalf("Ejections() = %d after a late failure, want 1", f.t.Ejections())
	}
	// Another one succeeds late: a has recovered and ramps back up.
	f.t.succeeded("a:1")
	if st := f.states()["a:1"]; st != balancer.Ramping {
		t.Fatalf("a:1 is %v after a success, want ramping (restored with slow start)", st)
	}
}
