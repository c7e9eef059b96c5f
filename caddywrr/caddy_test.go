package caddywrr

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/standard"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	_ "github.com/caddyserver/caddy/v2/modules/logging"

	"github.com/safewrr/safewrr/feed"
)

// backend is an HTTP server on a loopback port that answers its name.
type backend struct {
	name string
	addr string
	hits atomic.Int64
	srv  *http.Server
	done chan struct{}
}

func startBackend(t testing.TB, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	b.serve(ln)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) serve(ln net.Listener) {
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		io.WriteString(w, b.name)
	}), ReadHeaderTimeout: 10 * time.Second}
	b.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(ln)
	}(b.srv, b.done)
}

// stop closes the backend: its port refuses connections.
func (b *backend) stop() {
	if b.srv != nil {
		b.srv.Close()
		<-b.done
		b.srv = nil
	}
}

// restart listens again on the backend's address.
func (b *backend) restart(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatalf("relisten on %s: %v", b.addr, err)
	}
	b.serve(ln)
}

// rig is a running Caddy with its HTTP server and admin API on unix
// sockets, a registry file and a log file.
type rig struct {
	dir      string
	registry string
	log      string
	client   *http.Client
	admin    *http.Client
}

func newRig(t testing.TB) *rig {
	t.Helper()
	dir, err := os.MkdirTemp("", "cw") // short: a unix socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	unixClient := func(sock string) *http.Client {
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}}
	}
	r := &rig{dir: dir, registry: filepath.Join(dir, "registry.json"), log: filepath.Join(dir, "caddy.log")}
	r.client = unixClient(filepath.Join(dir, "http.sock"))
	r.admin = unixClient(filepath.Join(dir, "admin.sock"))
	return r
}

// vars fills a config template: {SOCK}, {ADMIN}, {LOG}, {REGISTRY}.
func (r *rig) vars(s string) string {
	return strings.NewReplacer("{SOCK}", filepath.Join(r.dir, "http.sock"), "{ADMIN}", filepath.Join(r.dir, "admin.sock"),
		"{LOG}", r.log, "{REGISTRY}", r.registry, "{DIR}", r.dir).Replace(s)
}

// load runs Caddy with a JSON config; Caddy is stopped at the test's end.
func (r *rig) load(t testing.TB, cfg string) {
	t.Helper()
	if err := caddy.Load([]byte(r.vars(cfg)), true); err != nil {
		t.Fatalf("caddy.Load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
}

// adapt turns a Caddyfile into JSON.
func adapt(caddyfile string) ([]byte, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	cfg, warn, err := adapter.Adapt([]byte(caddyfile), nil)
	_ = warn // formatting hints only
	return cfg, err
}

func (r *rig) loadCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	cfg, err := adapt(r.vars(caddyfile))
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	r.load(t, string(cfg))
}

func (r *rig) write(t testing.TB, payload string) {
	t.Helper()
	tmp := r.registry + ".tmp"
	if err := os.WriteFile(tmp, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, r.registry); err != nil {
		t.Fatal(err)
	}
}

// get sends one request through Caddy and returns the status and body.
func (r *rig) get(t *testing.T) (int, string) {
	t.Helper()
	resp, err := r.client.Get("http://localhost/")
	if err != nil {
		t.Fatalf("GET through caddy: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// counts sends n requests; every one must succeed.
func (r *rig) counts(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		code, body := r.get(t)
		if code != http.StatusOK {
			t.Fatalf("request %d: status %d %q", i, code, body)
		}
		got[body]++
	}
	return got
}

// source returns the provisioned safewrr source with this name.
func source(t *testing.T, name string) *shared {
	t.Helper()
	sources.Lock()
	defer sources.Unlock()
	u := sources.byName[name]
	if u == nil {
		t.Fatalf("no safewrr source named %q", name)
	}
	return u
}

// settle makes sure the feed has polled since the registry was last
// written: two polls that each complete after the call starts, the second
// of which started after the first completed.
func settle(t *testing.T, f *feed.Feed) feed.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var st feed.Status
	for range 2 {
		p := f.Status().Polls
		f.Trigger()
		st = f.Wait(ctx, p)
		if st.Polls <= p {
			t.Fatalf("no poll within 30s (polls %d)", st.Polls)
		}
	}
	return st
}

func registryMap(bs []*backend, ws ...string) string {
	var parts []string
	for i, b := range bs {
		parts = append(parts, fmt.Sprintf("%q: %s", b.addr, ws[i]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

const jsonConfig = `{
  "admin": {"listen": "unix/{ADMIN}", "config": {"persist": false}},
  "storage": {"module": "file_system", "root": "{DIR}"},
  "logging": {"logs": {"default": {"writer": {"output": "file", "filename": "{LOG}"}, "encoder": {"format": "json"}}}},
  "apps": {"http": {"servers": {"s": {
    "listen": ["unix/{SOCK}"],
    "automatic_https": {"disable": true},
    "routes": [{"handle": [{
      "handler": "reverse_proxy",
      "dynamic_upstreams": {"source": "safewrr", "registry": "{REGISTRY}", "poll": -1, "name": "shop"},
      "load_balancing": {"selection_policy": {"policy": "safewrr"}, "retries": 2, "try_interval": "1ms"}
    }]}]
  }}}}
}`

func startThree(t *testing.T) []*backend {
	return []*backend{startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")}
}

func wantCounts(t *testing.T, step string, got map[string]int, a, b, c int) {
	t.Helper()
	if got["a"] != a || got["b"] != b || got["c"] != c || len(got) > 3 {
		t.Errorf("%s: counts %v, want a=%d b=%d c=%d", step, got, a, b, c)
	}
}

// TestJSONConfigSharesAndFlaps runs Caddy from a JSON config over a
// registry file: exact shares, then the flap catalog of hostile payloads,
// each of which fails no request and leaves the last good set serving.
func TestJSONConfigSharesAndFlaps(t *testing.T) {
	bs := startThree(t)
	r := newRig(t)
	r.write(t, registryMap(bs, "5", "3", "2"))
	r.load(t, jsonConfig)
	f := source(t, "shop").feed

	// Smooth order of {5, 3, 2}: the first cycle exactly.
	var order []string
	for range 10 {
		_, body := r.get(t)
		order = append(order, body)
	}
	if got := strings.Join(order, ""); got != "abcaabacba" {
		t.Errorf("first cycle %s, want nginx's smooth order abcaabacba", got)
	}
	wantCounts(t, "valid", r.counts(t, 100), 50, 30, 20)

	a, b, c := bs[0].addr, bs[1].addr, bs[2].addr
	steps := []struct {
		name, payload string
		outcome       feed.Outcome
		stage         string
		n             int
		a, b, c       int
		log           string
	}{
		{`c is "0"`, registryMap(bs, "5", "3", `"0"`), feed.Applied, "", 80, 50, 30, 0, `"reason":"string-zero"`},
		{"b is NaN", registryMap(bs, "5", "NaN", "2"), feed.Applied, "", 70, 50, 0, 20, `"reason":"nan"`},
		{"placeholder id", fmt.Sprintf(`{%q: 5, "{http.request.host}:80": 3, %q: 2}`, a, c), feed.Applied, "", 70, 50, 0, 20, `"reason":"not-an-address"`},
		{"garbage", fmt.Sprintf(`{%q: 5, %q: 0x1F, %q: 2}`, a, b, c), feed.Refused, "decode", 70, 50, 0, 20, `"stage":"decode"`},
		{"b is -1", registryMap(bs, "5", "-1", "2"), feed.Applied, "", 70, 50, 0, 20, `"reason":"negative"`},
		{"all zero", registryMap(bs, "0", "0", "0"), feed.Refused, "balancer", 70, 50, 0, 20, `"stage":"balancer"`},
		{"truncated", fmt.Sprintf(`{%q: 5, %q: 3, %q:`, a, b, c), feed.Refused, "decode", 70, 50, 0, 20, `"stage":"decode"`},
		{"empty payload", ``, feed.Refused, "decode", 70, 50, 0, 20, `"stage":"decode"`},
		{"empty set", `{}`, feed.Refused, "balancer", 70, 50, 0, 20, `"stage":"balancer"`},
		{"back", registryMap(bs, "5", "3", "2"), feed.Applied, "", 100, 50, 30, 20, `"msg":"registry: update applied"`},
	}
	for _, s := range steps {
		before := logLines(t, r.log)
		gen := f.Status().Generation
		r.write(t, s.payload)
		st := settle(t, f)
		switch s.outcome {
		case feed.Applied:
			if st.Generation != gen+1 {
				t.Errorf("%s: generation %d, want %d applied (%s)", s.name, st.Generation, gen+1, st.LastError)
			}
		case feed.Refused:
			if st.Generation != gen || st.Refused == nil || st.Refused.Stage != s.stage {
				t.Errorf("%s: generation %d (was %d), refused %+v; want refused at %s", s.name, st.Generation, gen, st.Refused, s.stage)
			}
		}
		wantCounts(t, s.name, r.counts(t, s.n), s.a, s.b, s.c)
		logs := strings.Join(logLines(t, r.log)[len(before):], "\n")
		if s.log != "" && !strings.Contains(logs, s.log) {
			t.Errorf("%s: the log has no %s:\n%s", s.name, s.log, logs)
		}
		// Polling the same payload again logs nothing new.
		mid := logLines(t, r.log)
		settle(t, f)
		if extra := logLines(t, r.log)[len(mid):]; len(extra) > 0 {
			t.Errorf("%s: a repeated payload logged again:\n%s", s.name, strings.Join(extra, "\n"))
		}
	}

	// The admin API's status page.
	resp, err := r.admin.Get("http://localhost/safewrr/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Sources []struct {
			Name    string
			Serving []NodeWeight
			Status  struct {
				Generation int64  `json:"generation"`
				LastPoll   string `json:"last_poll"`
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status page: %d %v", resp.StatusCode, err)
	}
	if len(page.Sources) != 1 || page.Sources[0].Name != "shop" || len(page.Sources[0].Serving) != 3 ||
		page.Sources[0].Serving[0] != (NodeWeight{ID: a, Weight: 5}) {
		t.Errorf("status page %+v", page)
	}
	// One source's page, from the policy's balancer.
	resp, err = r.admin.Get("http://localhost/safewrr/source?name=shop")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var one struct {
		Nodes []struct {
			ID     string `json:"id"`
			Weight uint32 `json:"weight"`
			State  string `json:"state"`
		} `json:"nodes"`
		Generation int64 `json:"generation"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&one); err != nil || resp.StatusCode != 200 {
		t.Fatalf("source page: %d %v", resp.StatusCode, err)
	}
	if len(one.Nodes) != 3 || one.Nodes[1].ID != b || one.Nodes[1].State != "serving" || one.Generation != f.Status().Generation {
		t.Errorf("source page %+v", one)
	}
	resp, err = r.admin.Get("http://localhost/safewrr/health?name=nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("health of an unknown source: %d, want 404", resp.StatusCode)
	}
}

func logLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "registry:") {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

const caddyfileConfig = `{
	admin unix/{ADMIN}
	persist_config off
	auto_https off
	storage file_system {DIR}
	log {
		output file {LOG}
		format json
	}
}

http:// {
	bind unix/{SOCK}
	reverse_proxy {
		dynamic safewrr {REGISTRY} {
			poll 200ms
		}
		lb_policy safewrr {
			recheck 50ms
		}
		lb_retries 2
		lb_try_interval 1ms
		fail_duration 1s
		max_fails 1
	}
}
`

// TestCaddyfileHealth runs the Caddyfile form; a backend killed mid-run is
// skipped without failing a request and comes back once it listens again.
func TestCaddyfileHealth(t *testing.T) {
	bs := startThree(t)
	r := newRig(t)
	r.write(t, registryMap(bs, "5", "3", "2"))
	r.loadCaddyfile(t, caddyfileConfig)
	wantCounts(t, "valid", r.counts(t, 100), 50, 30, 20)

	bs[1].stop()
	got := r.counts(t, 100) // retries move b's requests on; none fails
	if got["b"] != 0 {
		t.Errorf("a stopped backend answered %d requests", got["b"])
	}
	// With b unhealthy, a and c keep their shares between them (5:2).
	// (Within one or two picks: b's recheck rebuilds the schedule.)
	if got := r.counts(t, 70); got["b"] != 0 || got["a"] < 48 || got["a"] > 52 || got["a"]+got["c"] != 70 {
		t.Errorf("b down: counts %v, want a=50 c=20 within 2", got)
	}

	bs[1].restart(t)
	before := bs[1].hits.Load()
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; bs[1].hits.Load() == before; n++ {
		if time.Now().After(deadline) || n > 100000 {
			t.Fatalf("b did not come back within 30s (%d requests)", n)
		}
		if code, body := r.get(t); code != 200 {
			t.Fatalf("status %d %q while b comes back", code, body)
		}
	}
	// Back at full weight once its passive failure expired and its
	// ejection ended: within a few cycles the shares are exact again.
	for attempt := 0; ; attempt++ {
		got := r.counts(t, 100)
		if got["a"] == 50 && got["b"] == 30 && got["c"] == 20 {
			break
		}
		if attempt == 20 {
			t.Fatalf("shares after b came back: %v", got)
		}
	}
}

// staticSite is a Caddyfile with the admin endpoint off, Caddy's storage in
// the rig's directory, and one site on the rig's socket whose reverse_proxy
// has the upstreams and the block's lines.
func staticSite(upstreams, block string) string {
	return "{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n\tstorage file_system {DIR}\n}\n\n" +
		"http:// {\n\tbind unix/{SOCK}\n\treverse_proxy " + upstreams + " {\n" + block + "\t}\n}\n"
}

// TestStaticWeightsAndRetries uses static upstreams with weights as
// arguments; a retry never goes back to the upstream it just tried while
// another is available.
func TestStaticWeightsAndRetries(t *testing.T) {
	bs := startThree(t)
	r := newRig(t)
	r.loadCaddyfile(t, staticSite(bs[0].addr+" "+bs[1].addr+" "+bs[2].addr,
		"\t\tlb_policy safewrr 3 2 1\n\t\tlb_retries 1\n\t\tlb_try_interval 1ms\n"))
	wantCounts(t, "static", r.counts(t, 60), 30, 20, 10)

	// a refuses connections and stays "healthy" (no health checks): every
	// request that picks a is retried once, and must reach b or c.
	bs[0].stop()
	got := r.counts(t, 60)
	if got["a"] != 0 || got["b"]+got["c"] != 60 {
		t.Errorf("with a down and one retry: %v", got)
	}
}

// TestLoadErrors: a bad subdirective or value fails at load, naming it.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	site := func(inner string) string {
		return "{\n\tadmin off\n\tstorage file_system " + dir + "\n}\nhttp://:0 {\n\treverse_proxy {\n" + inner + "\n\t}\n}\n"
	}
	for _, c := range []struct{ name, caddyfile, want string }{
		{"unknown option", site("dynamic safewrr /r.json {\n\tpol 1s\n}"), `unrecognized dynamic safewrr option "pol"`},
		{"bad poll", site("dynamic safewrr /r.json {\n\tpoll soon\n}"), `poll: "soon" is not a duration`},
		{"bad format", site("dynamic safewrr /r.json {\n\tformat xml\n}"), `format:`},
		{"bad convention", site("dynamic safewrr /r.json {\n\tconvention mine\n}"), `convention: must be registry, sdk or policy, got "mine"`},
		{"no registry", site("dynamic safewrr"), `registry file or http(s) URL is required`},
		{"bad jitter", site("dynamic safewrr /r.json {\n\tpoll_jitter 2\n}"), `poll_jitter 2 must be between 0 and 1`},
		{"string zero weight", site("to 127.0.0.1:1 127.0.0.1:2\nlb_policy safewrr 1 \"0\""), `weight #2 "0"`},
		{"negative weight", site("to 127.0.0.1:1 127.0.0.1:2\nlb_policy safewrr 1 -1"), `weight #2 -1: rejected (negative)`},
		{"word weight", site("to 127.0.0.1:1\nlb_policy safewrr ten"), `weight #1 "ten"`},
		{"unknown policy option", site("to 127.0.0.1:1\nlb_policy safewrr {\n\talgo resty\n}"), `unrecognized lb_policy option "algo"`},
		{"bad algorithm", site("to 127.0.0.1:1\nlb_policy safewrr {\n\talgorithm random\n}"), `algorithm: must be smooth or resty, got "random"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := adapt(c.caddyfile)
			if err == nil {
				// Some values are checked when the config loads.
				var full caddy.Config
				if jerr := json.Unmarshal(cfg, &full); jerr != nil {
					t.Fatal(jerr)
				}
				err = caddy.Validate(&full)
			}
			if err == nil {
				t.Fatalf("no error for\n%s", c.caddyfile)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s", err, c.want)
			}
		})
	}
	// JSON: an unknown field and a bad value fail at load, named.
	for _, c := range []struct{ name, upstreams, want string }{
		{"unknown field", `{"source": "safewrr", "registry": "/r.json", "pol": "1s"}`, `pol`},
		{"bad health", `{"source": "safewrr", "registry": "/r.json", "health": "maybe"}`, `health: must be drain, reject or ignore, got "maybe"`},
		{"bad policy", `{"source": "safewrr", "registry": "/r.json", "policy": "loose"}`, `caddywrr: policy: must be strict or lenient, got "loose"`},
		{"bad format", `{"source": "safewrr", "registry": "/r.json", "format": "xml"}`, `caddywrr: format: registry: unknown payload format "xml"`},
	} {
		t.Run("json "+c.name, func(t *testing.T) {
			cfg := fmt.Sprintf(`{"admin": {"disabled": true}, "storage": {"module": "file_system", "root": %q}, "apps": {"http": {"servers": {"s": {"listen": [":0"],
				"routes": [{"handle": [{"handler": "reverse_proxy", "dynamic_upstreams": %s}]}]}}}}}`, dir, c.upstreams)
			var full caddy.Config
			if err := json.Unmarshal([]byte(cfg), &full); err != nil {
				t.Fatal(err)
			}
			err := caddy.Validate(&full)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v does not name %s", err, c.want)
			}
		})
	}
}

// TestMaxDrop: an update that drops more of the total weight than max_drop
// allows is refused by the source's sink; the last good set serves on.
func TestMaxDrop(t *testing.T) {
	bs := startThree(t)
	r := newRig(t)
	r.write(t, registryMap(bs, "5", "3", "2"))
	r.load(t, strings.Replace(jsonConfig, `"name": "shop"`, `"name": "shop", "max_drop": 0.5`, 1))
	f := source(t, "shop").feed
	wantCounts(t, "valid", r.counts(t, 20), 10, 6, 4)

	r.write(t, fmt.Sprintf(`{%q: 2, %q: 1}`, bs[0].addr, bs[2].addr)) // 10 → 3
	st := settle(t, f)
	if st.Generation != 1 || st.Refused == nil || st.Refused.Stage != "balancer" || !strings.Contains(st.Refused.Error, "weight") {
		t.Errorf("a drop from 10 to 3: generation %d, refused %+v; want refused at balancer", st.Generation, st.Refused)
	}
	wantCounts(t, "after the drop", r.counts(t, 20), 10, 6, 4)

	r.write(t, registryMap(bs, "4", "3", "2")) // 10 → 9
	if st := settle(t, f); st.Generation != 2 {
		t.Errorf("a drop from 10 to 9: generation %d (%s), want 2", st.Generation, st.LastError)
	}
	wantCounts(t, "small drop", r.counts(t, 18), 8, 6, 4)
}

// TestRequestLimit: an upstream at Caddy's request limit
// (unhealthy_request_count) is passed over for that pick; the request goes
// to another upstream instead of failing.
func TestRequestLimit(t *testing.T) {
	a := startBackend(t, "a")
	entered, release := make(chan struct{}, 1), make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	blocking := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "b")
	}), ReadHeaderTimeout: 10 * time.Second}
	go blocking.Serve(ln)
	defer blocking.Close()
	var once bool
	releaseB := func() {
		if !once {
			once = true
			close(release)
		}
	}
	defer releaseB()

	r := newRig(t)
	r.loadCaddyfile(t, staticSite(a.addr+" "+ln.Addr().String(),
		"\t\tlb_policy safewrr 1 1\n\t\tunhealthy_request_count 1\n"))
	if code, body := r.get(t); code != 200 || body != "a" {
		t.Fatalf("first request: %d %q, want a", code, body)
	}
	held := make(chan string, 1)
	go func() { // the second pick is b, which holds the request
		resp, err := r.client.Get("http://localhost/")
		if err != nil {
			held <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		held <- fmt.Sprint(resp.StatusCode, " ", string(body))
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("b did not get the second request within 30s")
	}
	// b is at its limit: every pick that falls on b goes to a.
	if got := r.counts(t, 10); got["a"] != 10 {
		t.Errorf("with b at its request limit: %v, want a=10", got)
	}
	releaseB()
	if got := <-held; got != "200 b" {
		t.Errorf("the held request: %s, want 200 b", got)
	}
}

// TestReloadKeepsLastGoodSet: a config reload that keeps the source's
// configuration keeps its feed, so a registry that is bad at that moment
// does not take the site down.
func TestReloadKeepsLastGoodSet(t *testing.T) {
	bs := startThree(t)
	r := newRig(t)
	r.write(t, registryMap(bs, "5", "3", "2"))
	r.load(t, jsonConfig)
	sh := source(t, "shop")
	wantCounts(t, "before", r.counts(t, 10), 5, 3, 2)
	r.write(t, `{}`)
	if st := settle(t, sh.feed); st.Refused == nil || st.Generation != 1 {
		t.Fatalf("{}: generation %d refused %+v, want refused", st.Generation, st.Refused)
	}

	r.load(t, jsonConfig) // caddy reload, the registry still says {}
	if got := source(t, "shop"); got != sh {
		t.Fatalf("the reload started a new feed")
	}
	wantCounts(t, "after the reload", r.counts(t, 10), 5, 3, 2)
	r.write(t, registryMap(bs, "1", "1", "0"))
	if st := settle(t, sh.feed); st.Generation != 2 {
		t.Fatalf("a good update after the reload: generation %d (%s)", st.Generation, st.LastError)
	}
	wantCounts(t, "updated", r.counts(t, 10), 5, 5, 0)
}
