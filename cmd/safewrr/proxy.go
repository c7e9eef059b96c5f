package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func init() {
	register(command{
		name:    "proxy",
		summary: "a reverse proxy that polls a registry, rejects bad weights with reasons and keeps the last good nodes",
		usage:   proxyUsage,
		run:     runProxy,
	})
}

const proxyUsage = `Usage:
  safewrr proxy --listen 127.0.0.1:PORT --registry FILE|URL [--format F] [--poll 1s]
                [--policy strict|lenient] [--attempts 3] [--eject-after 3]
                [--eject-for 10s] [--max-ejected 50] [--slow-start 10s]
                [--max-drop SHARE] [--fetch-timeout 5s] [--max-bytes N] [--log text|json]

A reverse proxy whose backends come from a registry. Every --poll it reads the
registry (a file, or an http:// or https:// URL fetched with a GET), decodes
it with the given format (auto detects it) and checks every weight with the
policy. Each rejected node is logged with its reason and left out; an update
the policy refuses, that does not parse, that would leave no node to serve
(empty, all drained) or that drops more than --max-drop of the total weight is
logged and refused, and the last good nodes keep serving. Node ids are the
backends' host:port. A payload identical to the previous one is not decoded
again. SIGHUP polls at once.

Requests go to the nodes by smooth weighted round robin. A failed attempt of
a request that is safe to repeat (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or
an Idempotency-Key header, without a body or with one that can be replayed)
is retried on another node, --attempts in all; --eject-after consecutive
failures eject a node for --eject-for (doubling while it keeps failing, at
most 5m), never more than --max-ejected percent of the nodes at once; a node
that comes back or joins ramps up over --slow-start.

GET /-/safewrr returns the state as JSON: the nodes (id, weight, effective
weight, state serving|drained|ejected|ramping), the rejects of the latest
payload (index, id, reason, raw, message), the last refused update, the
number of polls and applied updates (generation) and their times. With
?after=N it first waits (up to ?wait=, default 10s, at most 60s) until more
than N polls have completed.

The bound address is logged at start ("listening" addr=...), so --listen
127.0.0.1:0 picks a free port. SIGINT and SIGTERM stop the proxy cleanly.

Exit codes: 0 stopped by a signal; 2 usage error or the address cannot be
bound.

Example:
  safewrr proxy --listen 127.0.0.1:8080 --registry nodes.json --poll 1s
  safewrr proxy --listen 127.0.0.1:0 --registry http://127.0.0.1:7171/discovery/fetch?appid=demo --format discovery
`

// Bounds of the proxy.
const (
	proxyDefaultMaxBytes = 8 << 20          // --max-bytes default
	proxyDefaultWait     = 10 * time.Second // /-/safewrr?after= default wait
	proxyMaxWait         = 60 * time.Second // and its maximum
	proxyShutdownTimeout = 10 * time.Second // http.Server.Shutdown budget
	proxyStatusPath      = "/-/safewrr"
)

// proxyConfig is the proxy's parsed command line.
type proxyConfig struct {
	listen       string
	registry     string
	format       registry.Format
	policyName   string
	policy       weights.Policy
	poll         time.Duration
	fetchTimeout time.Duration
	maxBytes     int64
	attempts     int
	ejectAfter   int
	ejectFor     time.Duration
	maxEjected   int
	slowStart    time.Duration
	maxDrop      float64
	logFormat    string
}

// proxyHooks are what tests inject into proxyMain: a clock, a channel that
// asks for a poll now, and a callback with the bound address.
type proxyHooks struct {
	now   func() time.Time
	poll  <-chan struct{}
	ready func(addr string)
}

func runProxy(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	poll := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case poll <- struct{}{}:
				default:
				}
			}
		}
	}()
	return proxyMain(ctx, args, stdout, stderr, proxyHooks{poll: poll})
}

// proxyParse parses the command line; ok is false with the exit code when
// the command should stop.
func proxyParse(args []string, stdout, stderr io.Writer) (proxyConfig, int, bool) {
	c := commands["proxy"]
	fs := newFlagSet(c, stdout, stderr)
	var cfg proxyConfig
	var format string
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "`address` to serve on (port 0 picks a free port)")
	fs.StringVar(&cfg.registry, "registry", "", "registry `FILE` or http(s) URL (required)")
	fs.StringVar(&format, "format", "auto", "payload `format`: auto, "+proxyFormats())
	fs.StringVar(&cfg.policyName, "policy", "strict", "weight `policy`: strict (only numbers) or lenient (also decimal strings)")
	fs.DurationVar(&cfg.poll, "poll", time.Second, "poll `interval` (0: only at start and on SIGHUP)")
	fs.DurationVar(&cfg.fetchTimeout, "fetch-timeout", 5*time.Second, "time limit of one registry fetch over HTTP")
	fs.Int64Var(&cfg.maxBytes, "max-bytes", proxyDefaultMaxBytes, "largest registry payload in `bytes`")
	fs.IntVar(&cfg.attempts, "attempts", httplb.DefaultMaxAttempts, "most attempts per request, the first included")
	fs.IntVar(&cfg.ejectAfter, "eject-after", httplb.DefaultEjectAfter, "consecutive failures that eject a node (0: never)")
	fs.DurationVar(&cfg.ejectFor, "eject-for", httplb.DefaultEjectFor, "first ejection's `duration`")
	fs.IntVar(&cfg.maxEjected, "max-ejected", balancer.DefaultMaxEjectedPercent, "most `percent` of the nodes ejected at once")
	fs.DurationVar(&cfg.slowStart, "slow-start", 10*time.Second, "ramp-up `window` of a node that joins or comes back (0: off)")
	fs.Float64Var(&cfg.maxDrop, "max-drop", 0, "refuse an update that drops more than this `share` (0-1] of the total weight (0: no limit)")
	fs.StringVar(&cfg.logFormat, "log", "text", "log `format`: text or json")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return cfg, code, false
	}
	fail := func(format string, a ...any) (proxyConfig, int, bool) {
		fmt.Fprintf(stderr, "safewrr proxy: "+format+"\n", a...)
		return cfg, exitUsage, false
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if cfg.registry == "" {
		return fail("--registry FILE|URL is required")
	}
	f, err := registry.ParseFormat(format)
	if err != nil {
		return fail("--format: %v", err)
	}
	cfg.format = f
	switch cfg.policyName {
	case "strict":
		cfg.policy = weights.Strict()
	case "lenient":
		cfg.policy = weights.Lenient()
	default:
		return fail("--policy %q: want strict or lenient", cfg.policyName)
	}
	switch {
	case cfg.poll < 0:
		return fail("--poll %v must not be negative", cfg.poll)
	case cfg.fetchTimeout <= 0:
		return fail("--fetch-timeout %v must be positive", cfg.fetchTimeout)
	case cfg.maxBytes <= 0:
		return fail("--max-bytes %d must be positive", cfg.maxBytes)
	case cfg.attempts < 1:
		return fail("--attempts %d must be at least 1", cfg.attempts)
	case cfg.ejectAfter < 0:
		return fail("--eject-after %d must not be negative", cfg.ejectAfter)
	case cfg.ejectFor <= 0:
		return fail("--eject-for %v must be positive", cfg.ejectFor)
	case cfg.maxEjected < 0 || cfg.maxEjected > 100:
		return fail("--max-ejected %d must be between 0 and 100", cfg.maxEjected)
	case cfg.slowStart < 0:
		return fail("--slow-start %v must not be negative", cfg.slowStart)
	case math.IsNaN(cfg.maxDrop) || cfg.maxDrop < 0 || cfg.maxDrop > 1:
		return fail("--max-drop %v must be between 0 and 1", cfg.maxDrop)
	case cfg.logFormat != "text" && cfg.logFormat != "json":
		return fail("--log %q: want text or json", cfg.logFormat)
	}
	cfg.policy.Limits.MaxBytes = int(min(cfg.maxBytes, 1<<31-1))
	return cfg, 0, true
}

func proxyFormats() string {
	var s []string
	for _, f := range registry.Formats() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// proxyMain runs the proxy until ctx is done. It is the whole command
// without the process's signals, so tests run it in-process.
func proxyMain(ctx context.Context, args []string, stdout, stderr io.Writer, hooks proxyHooks) int {
	cfg, code, ok := proxyParse(args, stdout, stderr)
	if !ok {
		return code
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(h)
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr proxy: %v\n", err)
		return exitUsage
	}
	p := newRegistryProxy(cfg, logger, hooks.now)
	p.start(ctx)
	addr := ln.Addr().String()
	logger.Info("listening", "addr", addr, "registry", cfg.registry, "status", "http://"+addr+proxyStatusPath)
	if hooks.ready != nil {
		hooks.ready(addr)
	}
	return p.serve(ctx, ln, hooks.poll)
}

// registryProxy is the running proxy: a balancer fed by the registry, the
// HTTP adapter over it, and what the status page reports.
type registryProxy struct {
	cfg   proxyConfig
	log   *slog.Logger
	now   func() time.Time
	fetch func(ctx context.Context) ([]byte, error)

	// Set by start (or the first good poll before it) and never again.
	lb    *balancer.Balancer
	tr    *httplb.Transport
	front http.Handler

	mu      sync.Mutex
	st      proxyState
	last    []byte        // the payload of the last decoded poll
	changed chan struct{} // closed and replaced after every poll
}

// proxyState is what GET /-/safewrr reports, apart from the live nodes.
type proxyState struct {
	Polls      int64         `json:"polls"`
	Generation int64         `json:"generation"`
	PolledAt   *time.Time    `json:"polled_at"`
	AppliedAt  *time.Time    `json:"applied_at"`
	LastPoll   string        `json:"last_poll"`
	LastError  string        `json:"last_error,omitempty"`
	Format     string        `json:"format,omitempty"`
	Rejects    []proxyReject `json:"rejects"`
	RejectsAt  *time.Time    `json:"rejects_at"`
	Refused    *proxyRefusal `json:"last_refused"`
}

// proxyReject is one rejected node of the latest decoded payload.
type proxyReject struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

// proxyRefusal is an update that was not applied.
type proxyRefusal struct {
	At    time.Time `json:"at"`
	Stage string    `json:"stage"` // decode, policy or balancer
	Error string    `json:"error"`
}

// Outcomes of a poll, in proxyState.LastPoll.
const (
	pollApplied    = "applied"
	pollUnchanged  = "unchanged"
	pollRefused    = "refused"
	pollFetchError = "fetch-error"
)

// newRegistryProxy returns a proxy that has no balancer yet; start makes
// it ready to serve. now nil means time.Now.
func newRegistryProxy(cfg proxyConfig, logger *slog.Logger, now func() time.Time) *registryProxy {
	if now == nil {
		now = time.Now
	}
	p := &registryProxy{cfg: cfg, log: logger, now: now, changed: make(chan struct{})}
	p.st.Rejects = []proxyReject{}
	p.fetch = p.fetcher()
	return p
}

// start polls the registry once and builds the balancer: over the first
// good nodes at full weight, or empty (answering 503) until a good update
// comes. Call it once, before serving.
func (p *registryProxy) start(ctx context.Context) {
	p.pollOnce(ctx)
	if p.lb == nil {
		p.build(nil)
	}
}

// build creates the balancer over nodes and the HTTP adapter over it.
func (p *registryProxy) build(nodes []weights.Node) error {
	opts := []balancer.Option{
		balancer.WithClock(p.now),
		balancer.WithSlowStart(p.cfg.slowStart),
		balancer.WithMaxEjectedPercent(p.cfg.maxEjected),
	}
	if p.cfg.maxDrop > 0 {
		opts = append(opts, balancer.WithMaxWeightDrop(p.cfg.maxDrop))
	}
	lb, err := balancer.New(nodes, opts...)
	if err != nil {
		return err
	}
	tr := httplb.NewTransport(lb,
		httplb.WithClock(p.now),
		httplb.WithLogger(p.log),
		httplb.WithMaxAttempts(p.cfg.attempts),
		httplb.WithEjection(p.cfg.ejectAfter, p.cfg.ejectFor, max(httplb.DefaultMaxEjectFor, p.cfg.ejectFor)),
		httplb.WithBase(&http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		}),
	)
	p.lb, p.tr, p.front = lb, tr, tr.Proxy()
	return nil
}

// apply hands nodes to the balancer, which refuses a set that would leave
// nothing to serve. The first good set builds the balancer, so its nodes
// start at full weight rather than ramping up.
func (p *registryProxy) apply(nodes []weights.Node) error {
	if p.lb != nil {
		return p.lb.Update(nodes)
	}
	// The same checks as Update, on a scratch balancer.
	scratch, err := balancer.New(nil)
	if err != nil {
		return err
	}
	if err := scratch.Update(nodes); err != nil {
		return err
	}
	return p.build(nodes)
}

// fetcher returns the function that reads the registry once, bounded in
// size (and, over HTTP, in time).
func (p *registryProxy) fetcher() func(ctx context.Context) ([]byte, error) {
	limit := p.cfg.maxBytes
	read := func(r io.Reader) ([]byte, error) {
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("registry payload is larger than %d bytes", limit)
		}
		return data, nil
	}
	src := p.cfg.registry
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return func(context.Context) ([]byte, error) {
			f, err := os.Open(src)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return read(f)
		}
	}
	client := &http.Client{Timeout: p.cfg.fetchTimeout}
	return func(ctx context.Context) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			return nil, fmt.Errorf("registry answered %s", resp.Status)
		}
		return read(resp.Body)
	}
}

// pollOnce reads the registry, decodes and checks it, and applies it unless
// it is refused. It never leaves the balancer worse than it was: every
// refusal keeps the last good nodes. Tests call it directly.
func (p *registryProxy) pollOnce(ctx context.Context) {
	data, ferr := p.fetch(ctx)
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.notify()
	p.st.Polls++
	p.st.PolledAt = &now
	p.st.LastError = ""
	if ferr != nil {
		p.st.LastPoll = pollFetchError
		p.st.LastError = ferr.Error()
		p.log.Warn("registry: fetch failed, keeping the last good nodes", "registry", p.cfg.registry, "error", ferr.Error())
		return
	}
	if p.last != nil && bytes.Equal(data, p.last) {
		p.st.LastPoll = pollUnchanged
		return
	}
	p.last = data

	snap, rep, err := registry.DecodeFormat(p.cfg.format, data, p.cfg.policy)
	p.st.Format = rep.Format
	p.st.Rejects = make([]proxyReject, 0, len(rep.Rejected))
	p.st.RejectsAt = &now
	for _, e := range rep.Rejected {
		p.st.Rejects = append(p.st.Rejects, proxyReject{
			Index: e.Index, ID: e.ID, Reason: string(e.Reason), Raw: e.Raw.String(), Message: e.Error(),
		})
		p.log.Warn("registry: node rejected", "index", e.Index, "id", e.ID, "reason", string(e.Reason), "raw", e.Raw.String(), "error", e.Error())
	}
	refuse := func(stage string, err error) {
		p.st.LastPoll = pollRefused
		p.st.LastError = err.Error()
		p.st.Refused = &proxyRefusal{At: now, Stage: stage, Error: err.Error()}
		p.log.Error("registry: update refused, keeping the last good nodes", "stage", stage, "error", err.Error(), "generation", p.st.Generation)
	}
	switch {
	case err != nil:
		refuse("decode", err)
		return
	case rep.Refused != nil:
		refuse("policy", rep.Refused)
		return
	}
	if uerr := p.apply(snap.Nodes); uerr != nil {
		refuse("balancer", uerr)
		return
	}
	p.st.Generation++
	p.st.AppliedAt = &now
	p.st.LastPoll = pollApplied
	p.log.Info("registry: update applied", "generation", p.st.Generation, "nodes", len(snap.Nodes),
		"rejected", len(rep.Rejected), "format", rep.Format)
}

// notify wakes the status requests waiting for a poll. p.mu must be held.
func (p *registryProxy) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// serve answers requests on ln and polls the registry every cfg.poll and on
// each receive from poll, until ctx is done; then it shuts the server down.
func (p *registryProxy) serve(ctx context.Context, ln net.Listener, poll <-chan struct{}) int {
	srv := &http.Server{
		Handler:           p.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var tick <-chan time.Time
	if p.cfg.poll > 0 {
		t := time.NewTicker(p.cfg.poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			p.log.Info("stopping", "reason", context.Cause(ctx).Error())
			sctx, cancel := context.WithTimeout(context.Background(), proxyShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				p.log.Warn("shutdown", "error", err.Error())
				srv.Close()
			}
			<-served
			p.log.Info("stopped")
			return exitOK
		case err := <-served:
			p.log.Error("server stopped", "error", err.Error())
			return exitUsage
		case <-tick:
			p.pollOnce(ctx)
		case <-poll:
			p.pollOnce(ctx)
		}
	}
}

// handler serves the status page at /-/safewrr and proxies everything else.
func (p *registryProxy) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(proxyStatusPath, p.status)
	mux.Handle("/", p.front)
	return mux
}

// proxyNode is one node on the status page.
type proxyNode struct {
	ID           string     `json:"id"`
	Weight       uint32     `json:"weight"`
	Effective    uint32     `json:"effective"`
	State        string     `json:"state"`
	EjectedUntil *time.Time `json:"ejected_until,omitempty"`
	RampEnd      *time.Time `json:"ramp_end,omitempty"`
}

// proxyStatus is the status page.
type proxyStatus struct {
	Registry  string      `json:"registry"`
	Policy    string      `json:"policy"`
	Now       time.Time   `json:"now"`
	Nodes     []proxyNode `json:"nodes"`
	Ejections int64       `json:"ejections"`
	proxyState
}

func (p *registryProxy) status(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if s := q.Get("after"); s != "" {
		after, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "after: want a number of polls", http.StatusBadRequest)
			return
		}
		wait := proxyDefaultWait
		if s := q.Get("wait"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				http.Error(w, "wait: want a duration such as 5s", http.StatusBadRequest)
				return
			}
			wait = min(d, proxyMaxWait)
		}
		p.waitPolls(r.Context(), after, wait)
	}
	p.mu.Lock()
	out := proxyStatus{Registry: p.cfg.registry, Policy: p.cfg.policyName, Now: p.now(), proxyState: p.st, Ejections: p.tr.Ejections()}
	p.mu.Unlock()
	for _, s := range p.lb.States() {
		n := proxyNode{ID: s.ID, Weight: s.Weight, Effective: s.Effective, State: s.State.String()}
		if !s.EjectedUntil.IsZero() {
			t := s.EjectedUntil
			n.EjectedUntil = &t
		}
		if !s.RampEnd.IsZero() {
			t := s.RampEnd
			n.RampEnd = &t
		}
		out.Nodes = append(out.Nodes, n)
	}
	if out.Nodes == nil {
		out.Nodes = []proxyNode{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// waitPolls returns once more than after polls have completed, the wait
// has passed, or ctx is done.
func (p *registryProxy) waitPolls(ctx context.Context, after int64, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		p.mu.Lock()
		done, ch := p.st.Polls > after, p.changed
		p.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
