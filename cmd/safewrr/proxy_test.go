package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/internal/clocktest"
)

// proxyLogBuffer collects the proxy's log lines.
type proxyLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *proxyLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *proxyLogBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// proxyStatus is the status page the admin listener serves.
type proxyStatus = httplb.AdminStatus

// The admin endpoints' paths.
const (
	proxyStatusPath = httplb.StatusPath
	proxyHealthPath = httplb.HealthPath
)

// proxyBackend is a loopback backend that answers with its name.
type proxyBackend struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
}

func startProxyBackends(t *testing.T, names ...string) []*proxyBackend {
	t.Helper()
	var out []*proxyBackend
	for _, n := range names {
		b := &proxyBackend{name: n}
		b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.mu.Lock()
			b.hits++
			b.mu.Unlock()
			io.WriteString(w, b.name)
		}))
		t.Cleanup(b.srv.Close)
		out = append(out, b)
	}
	return out
}

func (b *proxyBackend) addr() string { return b.srv.Listener.Addr().String() }

func (b *proxyBackend) take() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.hits
	b.hits = 0
	return n
}

// proxyFixture is a registryProxy over a registry file, with a fake clock,
// its log, and an httptest server in front of its handler.
type proxyFixture struct {
	p     *registryProxy
	file  string
	clock *clocktest.Clock
	logs  *proxyLogBuffer
	front *httptest.Server // the traffic handler
	admin *httptest.Server // the admin handler
}

func newProxyFixture(t *testing.T, initial string, args ...string) *proxyFixture {
	t.Helper()
	f := &proxyFixture{
		file:  filepath.Join(t.TempDir(), "registry.json"),
		clock: clocktest.New(),
		logs:  &proxyLogBuffer{},
	}
	f.write(t, initial)
	var stdout, stderr bytes.Buffer
	cfg, code, ok := proxyParse(append([]string{"--registry", f.file, "--slow-start", "0"}, args...), &stdout, &stderr)
	if !ok {
		t.Fatalf("proxyParse: exit %d: %s", code, stderr.String())
	}
	p, err := newRegistryProxy(cfg, slog.New(slog.NewTextHandler(f.logs, nil)), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	f.p.start(context.Background())
	f.front = httptest.NewServer(f.p.handler())
	t.Cleanup(f.front.Close)
	f.admin = httptest.NewServer(&f.p.admin)
	t.Cleanup(f.admin.Close)
	return f
}

func (f *proxyFixture) write(t *testing.T, data string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flip writes the registry and polls once, as the poll loop would.
func (f *proxyFixture) flip(t *testing.T, data string) proxyStatus {
	t.Helper()
	f.write(t, data)
	f.p.pollOnce(context.Background())
	return f.status(t)
}

func (f *proxyFixture) status(t *testing.T) proxyStatus {
	t.Helper()
	resp, err := http.Get(f.admin.URL + proxyStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %s %q", proxyStatusPath, resp.Status, resp.Header.Get("Content-Type"))
	}
	var st proxyStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// get sends n GETs through the proxy and fails on anything but 200.
func (f *proxyFixture) get(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		resp, err := http.Get(f.front.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
}

func nodeStates(st proxyStatus) string {
	var s []string
	for _, n := range st.Nodes {
		s = append(s, fmt.Sprintf("%s=%d/%s", n.ID, n.Weight, n.State))
	}
	return strings.Join(s, " ")
}

func registryJSON(bs []*proxyBackend, weights ...string) string {
	var parts []string
	for i, b := range bs {
		parts = append(parts, fmt.Sprintf("%q: %s", b.addr(), weights[i]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func TestProxyRegistryFlips(t *testing.T) {
	bs := startProxyBackends(t, "a", "b", "c")
	f := newProxyFixture(t, registryJSON(bs, "5", "3", "2"))
	a, b, c := bs[0].addr(), bs[1].addr(), bs[2].addr()
	counts := func() [3]int { return [3]int{bs[0].take(), bs[1].take(), bs[2].take()} }

	st := f.status(t)
	if st.Generation != 1 || st.LastPoll != feed.Applied || nodeStates(st) != fmt.Sprintf("%s=5/serving %s=3/serving %s=2/serving", a, b, c) {
		t.Fatalf("initial status: generation %d, last poll %q, nodes %s", st.Generation, st.LastPoll, nodeStates(st))
	}
	f.get(t, 100)
	if got := counts(); got != [3]int{50, 30, 20} {
		t.Fatalf("counts %v, want [50 30 20]", got)
	}

	steps := []struct {
		name       string
		payload    string
		generation int64
		lastPoll   feed.Outcome
		nodes      string // after the poll
		rejects    string // reason of each reject
		refused    string // stage of the last refusal (cleared by a good update)
		n          int    // requests sent after the poll (whole cycles)
		counts     [3]int // how many each backend served
		log        string // must appear in the log
	}{
		{"string zero", registryJSON(bs, "5", "3", `"0"`), 2, feed.Applied,
			fmt.Sprintf("%s=5/serving %s=3/serving", a, b), "string-zero", "", 80, [3]int{50, 30, 0},
			`msg="registry: node rejected" index=2 id=` + c + ` reason=string-zero raw="\"0\""`},
		{"NaN", registryJSON(bs, "5", "NaN", "2"), 3, feed.Applied,
			fmt.Sprintf("%s=5/serving %s=2/serving", a, c), "nan", "", 70, [3]int{50, 0, 20},
			`reason=nan raw=NaN`},
		{"garbage", fmt.Sprintf(`{%q: 5, %q: 0x1F, %q: 2}`, a, b, c), 3, feed.Refused,
			fmt.Sprintf("%s=5/serving %s=2/serving", a, c), "", "decode", 70, [3]int{50, 0, 20},
			`msg="registry: update refused, keeping the last good nodes" stage=decode`},
		{"empty", `{}`, 3, feed.Refused,
			fmt.Sprintf("%s=5/serving %s=2/serving", a, c), "", "balancer", 70, [3]int{50, 0, 20},
			`stage=balancer error="balancer: update refused: no backends`},
		{"all rejected", registryJSON(bs, `"5"`, `"0"`, "-1"), 3, feed.Refused,
			fmt.Sprintf("%s=5/serving %s=2/serving", a, c), "string-weight string-zero negative", "policy", 70, [3]int{50, 0, 20},
			`stage=policy`},
		{"back", registryJSON(bs, "5", "3", "2"), 4, feed.Applied,
			fmt.Sprintf("%s=5/serving %s=3/serving %s=2/serving", a, b, c), "", "", 80, [3]int{40, 24, 16},
			`msg="registry: update applied" generation=4 nodes=3 rejected=0`},
		{"drain", registryJSON(bs, "5", "0", "3"), 5, feed.Applied,
			fmt.Sprintf("%s=5/serving %s=0/drained %s=3/serving", a, b, c), "", "", 80, [3]int{50, 0, 30},
			`generation=5`},
	}
	for _, s := range steps {
		f.logs.take()
		st := f.flip(t, s.payload)
		logs := f.logs.take()
		if st.Generation != s.generation || st.LastPoll != s.lastPoll {
			t.Errorf("%s: generation %d last poll %q (%s), want %d %q", s.name, st.Generation, st.LastPoll, st.LastError, s.generation, s.lastPoll)
		}
		if got := nodeStates(st); got != s.nodes {
			t.Errorf("%s: nodes %s\nwant %s", s.name, got, s.nodes)
		}
		var reasons []string
		for _, r := range st.Rejects {
			reasons = append(reasons, r.Reason)
			if r.Raw == "" || r.Message == "" || r.ID == "" {
				t.Errorf("%s: reject without raw, message or id: %+v", s.name, r)
			}
		}
		if got := strings.Join(reasons, " "); got != s.rejects {
			t.Errorf("%s: rejects %q, want %q", s.name, got, s.rejects)
		}
		gotRefused := ""
		if st.Refused != nil {
			gotRefused = st.Refused.Stage
		}
		if gotRefused != s.refused {
			t.Errorf("%s: last refused stage %q, want %q", s.name, gotRefused, s.refused)
		}
		if !strings.Contains(logs, s.log) {
			t.Errorf("%s: log lacks %q:\n%s", s.name, s.log, logs)
		}
		f.get(t, s.n)
		if got := counts(); got != s.counts {
			t.Errorf("%s: counts %v, want %v", s.name, got, s.counts)
		}
	}
}

func TestProxyUnchangedPayloadIsNotDecodedAgain(t *testing.T) {
	bs := startProxyBackends(t, "a", "b")
	payload := registryJSON(bs, "1", `"0"`)
	f := newProxyFixture(t, payload)
	f.logs.take()
	f.clock.Advance(time.Second)
	st := f.flip(t, payload)
	if st.LastPoll != feed.Unchanged || st.Polls != 2 || st.Generation != 1 {
		t.Fatalf("polls %d generation %d last %q, want 2 1 unchanged", st.Polls, st.Generation, st.LastPoll)
	}
	if len(st.Rejects) != 1 || st.RejectsAt.IsZero() || !st.RejectsAt.Before(st.PolledAt) {
		t.Fatalf("rejects %+v at %v (polled %v): want the first poll's reject kept", st.Rejects, st.RejectsAt, st.PolledAt)
	}
	if logs := f.logs.take(); strings.Contains(logs, "rejected") {
		t.Fatalf("an unchanged payload was logged again:\n%s", logs)
	}
}

func TestProxyStartsEmptyAndServes503(t *testing.T) {
	f := newProxyFixture(t, `not json`)
	resp, err := http.Get(f.front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d with no good registry yet, want 503", resp.StatusCode)
	}
	bs := startProxyBackends(t, "a")
	st := f.flip(t, registryJSON(bs, "1"))
	if st.Generation != 1 || len(st.Nodes) != 1 {
		t.Fatalf("after a good payload: generation %d nodes %s", st.Generation, nodeStates(st))
	}
	f.get(t, 3)
}

func TestProxyEjectionShowsInStatus(t *testing.T) {
	bs := startProxyBackends(t, "a")
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	f := newProxyFixture(t, fmt.Sprintf(`{%q: 1, %q: 1, %q: 1}`, bs[0].addr(), deadAddr, startProxyBackends(t, "c")[0].addr()),
		"--eject-after", "2", "--eject-for", "30s")
	f.get(t, 12) // every request answered; the dead node fails twice and is ejected
	st := f.status(t)
	if st.Nodes[1].State != "ejected" || st.Nodes[1].EjectedUntil == nil || st.Ejections != 1 {
		t.Fatalf("nodes %s, ejections %d: want %s ejected once", nodeStates(st), st.Ejections, deadAddr)
	}
	f.clock.Advance(30 * time.Second)
	if st := f.status(t); st.Nodes[1].State != "serving" {
		t.Fatalf("after the ejection: %s, want serving again (slow start off)", nodeStates(st))
	}
}

func TestProxyHTTPRegistry(t *testing.T) {
	bs := startProxyBackends(t, "a", "b")
	var mu sync.Mutex
	code, body := 200, registryJSON(bs, "2", "1")
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	defer reg.Close()
	set := func(c int, b string) {
		mu.Lock()
		code, body = c, b
		mu.Unlock()
	}
	var stderr bytes.Buffer
	cfg, _, ok := proxyParse([]string{"--registry", reg.URL, "--max-bytes", "200"}, io.Discard, &stderr)
	if !ok {
		t.Fatal(stderr.String())
	}
	p, err := newRegistryProxy(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.start(context.Background())
	poll := func() feed.Status { return p.pollOnce(context.Background()) }
	if st := p.feed.Status(); st.Generation != 1 || p.feed.Balancer().Len() != 2 {
		t.Fatalf("initial generation %d, %d nodes", st.Generation, p.feed.Balancer().Len())
	}
	set(500, "oops")
	if st := poll(); st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, "500") {
		t.Fatalf("registry 500: last poll %q error %q", st.LastPoll, st.LastError)
	}
	set(200, `{"`+strings.Repeat("x", 300)+`": 1}`)
	if st := poll(); st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, "larger than 200 bytes") {
		t.Fatalf("oversized payload: last poll %q error %q", st.LastPoll, st.LastError)
	}
	if st := p.feed.Status(); p.feed.Balancer().Len() != 2 || st.Generation != 1 {
		t.Fatalf("after failed fetches: %d nodes, generation %d; want the last good 2, 1", p.feed.Balancer().Len(), st.Generation)
	}
}

func TestProxyMainServesAndStops(t *testing.T) {
	bs := startProxyBackends(t, "a", "b")
	file := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(file, []byte(registryJSON(bs, "1", "1")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan [2]string, 1)
	poll := make(chan os.Signal)
	logs := &proxyLogBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- proxyMain(ctx, []string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry", file, "--poll", "0"},
			io.Discard, logs, proxyHooks{poll: poll, ready: func(addr, admin string) { ready <- [2]string{addr, admin} }})
	}()
	var addr, admin string
	select {
	case a := <-ready:
		addr, admin = a[0], a[1]
	case code := <-exit:
		t.Fatalf("proxyMain exited %d before listening:\n%s", code, logs.take())
	}
	if l := logs.take(); !strings.Contains(l, "msg=listening addr="+addr+" admin="+admin) {
		t.Fatalf("the bound addresses are not logged:\n%s", l)
	}
	base := "http://" + addr
	for i := 0; i < 4; i++ {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}

	// A poll asked for through the hook; the status page waits for it.
	if err := os.WriteFile(file, []byte(registryJSON(bs, "1", `"0"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	poll <- syscall.SIGHUP
	resp, err := http.Get("http://" + admin + proxyStatusPath + "?after=1&wait=30s")
	if err != nil {
		t.Fatal(err)
	}
	var st proxyStatus
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Polls != 2 || len(st.Rejects) != 1 || st.Rejects[0].Reason != "string-zero" || st.Rejects[0].Raw != `"0"` {
		t.Fatalf("after the poll: polls %d rejects %+v", st.Polls, st.Rejects)
	}

	cancel()
	if code := <-exit; code != exitOK {
		t.Fatalf("proxyMain exit %d after cancel, want %d", code, exitOK)
	}
	if l := logs.take(); !strings.Contains(l, "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", l)
	}
}

func TestProxyStatusWaitIsBounded(t *testing.T) {
	bs := startProxyBackends(t, "a")
	f := newProxyFixture(t, registryJSON(bs, "1"))
	// No poll will come: a zero wait returns at once with the current state.
	resp, err := http.Get(f.admin.URL + proxyStatusPath + "?after=5&wait=0s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
	for _, q := range []string{"?after=x", "?after=1&wait=-1s", "?after=1&wait=soon"} {
		resp, err := http.Get(f.admin.URL + proxyStatusPath + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
	resp, err = http.Post(f.admin.URL+proxyStatusPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status page: %d, want 405", resp.StatusCode)
	}
}

func TestProxyUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "--registry FILE|URL is required"},
		{[]string{"--registry", "x", "--policy", "loose"}, `--policy must be strict or lenient, got "loose"`},
		{[]string{"--registry", "x", "--format", "yaml"}, "--format"},
		{[]string{"--registry", "x", "--attempts", "0"}, "--attempts 0"},
		{[]string{"--registry", "x", "--max-ejected", "101"}, "--max-ejected 101"},
		{[]string{"--registry", "x", "--max-drop", "1.5"}, "--max-drop 1.5"},
		{[]string{"--registry", "x", "--poll", "-1s"}, "--poll -1s"},
		{[]string{"--registry", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"--registry", "x", "--health", "maybe"}, "--health must be drain, reject or ignore"},
		{[]string{"--registry", "x", "--registry-redirects", "all"}, "--registry-redirects"},
		{[]string{"--registry", "x", "--response-header-timeout", "0s"}, "--response-header-timeout 0s must be positive"},
		{[]string{"--registry", "x", "--max-buffered-body", "1MB"}, "max-buffered-body"},
		{[]string{"--registry", "x", "--poll-jitter", "2"}, "--poll-jitter 2"},
		{[]string{"--registry", "http://u:s3cr3t@/x?token=t0p"}, "REDACTED"},
		{[]string{"--registry", "x", "--listen", "127.0.0.1:-1"}, "safewrr proxy:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"proxy"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// TestProxyRequiresAddresses: whatever the format, the proxy serves only
// ids that are host:port; names, userinfo, paths and schemes are rejected
// (not-an-address) instead of being applied and failing every request.
func TestProxyRequiresAddresses(t *testing.T) {
	bs := startProxyBackends(t, "a")
	a := bs[0].addr()
	f := newProxyFixture(t, fmt.Sprintf(`{"web-1": 5, "user@%s": 5, "%s/admin": 5, "http://%s": 5, " %s": 5, %q: 1}`, a, a, a, a, a))
	st := f.status(t)
	if got := nodeStates(st); got != a+"=1/serving" {
		t.Fatalf("nodes %s, want only %s", got, a)
	}
	var reasons []string
	for _, r := range st.Rejects {
		reasons = append(reasons, r.Reason)
	}
	if got := strings.Join(reasons, " "); got != "not-an-address not-an-address not-an-address not-an-address bad-id" {
		t.Errorf("reject reasons %q", got)
	}
	f.get(t, 10)
	if n := bs[0].take(); n != 10 {
		t.Errorf("backend served %d of 10", n)
	}
}
