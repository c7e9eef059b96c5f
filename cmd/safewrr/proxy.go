package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
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
  safewrr proxy --listen 127.0.0.1:PORT --admin 127.0.0.1:PORT --registry FILE|URL
                [validate's decode flags: --format F --policy strict|lenient --scale N
                 --refuse-partial --convention registry|sdk|policy --health drain|reject|ignore
                 --service NAME --merge-services --scheme S --port NAME]
                [--poll 1s] [--poll-jitter 0.1]
                [--max-backoff 30s] [--fetch-timeout 5s] [--max-bytes N]
                [--registry-redirects same-host|any]
                [--attempts 3] [--eject-after 3] [--eject-for 10s] [--max-ejected 50]
                [--slow-start 10s] [--max-drop SHARE]
                [--dial-timeout 5s] [--tls-handshake-timeout 10s]
                [--response-header-timeout 15s] [--idle-conn-timeout 60s]
                [--request-timeout 60s] [--read-header-timeout 10s]
                [--read-timeout 60s] [--write-timeout 60s] [--keepalive-timeout 75s]
                [--max-buffered-body 1MiB] [--max-body SIZE] [--log text|json]

A reverse proxy whose backends come from a registry. Every --poll (spread by
--poll-jitter, so a fleet does not poll in step; doubled after each failed
fetch up to --max-backoff) it reads the registry (a file, or an http:// or
https:// URL fetched with a GET; a redirect must keep the scheme, host and
port unless --registry-redirects any), decodes it as validate does with the same flags
(--format auto detects the format; see "safewrr validate -h"), and checks
every weight with the policy. The decoder's notes are logged and shown.
Rejected nodes are left out and logged once per change of the payload, with
the totals per reason; an update the policy refuses, that does not parse,
that would leave no node to serve (empty, all drained) or that drops more
than --max-drop of the total weight is logged and refused, and the last good
nodes keep serving. Node ids are the backends' host:port, in every format
(so --require-addresses changes nothing here). A payload
identical to the previous one is not decoded again. SIGHUP polls at once.
The registry URL's user info, query and fragment are never printed.

Every request on --listen goes to the backends, its path and query exactly
as sent (no cleaning, no redirect), by smooth weighted round robin. A failed
attempt of a request that is safe to repeat (GET, HEAD, OPTIONS, TRACE, PUT,
DELETE, or an Idempotency-Key header, without a body or with one that was
buffered) is retried on another node, --attempts in all, and so is any
request whose attempt could not connect (it reached no backend); an attempt
fails on a connection error, after --response-header-timeout without
response headers, or when the backend's body breaks off or is still coming
when --request-timeout passes while the proxy waits for it (the client then
sees its response cut short; a client that goes away counts against no
node). --eject-after consecutive failures eject a node for
--eject-for (doubling while it keeps failing, at most 5m), never more than
--max-ejected percent of the nodes at once; a node that comes back or joins
ramps up over --slow-start. Request bodies up to --max-buffered-body are read
whole before a backend is chosen, so a slow client holds no backend
connection. A request body larger than --max-body is answered 413.

Only a backend's own failure counts against it: a refused or broken
connection, a timeout, a bad response. A request that fails because of the
client (a body that cannot be read: bad chunking, a malformed or forbidden
trailer, a body cut short or too slow; a body over --max-body; a client
that goes away) is answered 400, 413 or 408, charges no node and is not
retried. With no node to serve the proxy answers 503 and says why.

--admin serves, apart from the traffic, GET /-/safewrr: the state as JSON
(the nodes with id, weight, effective weight and state; the latest payload's
rejects, totals per reason and the first 100; the decoder's notes; the last
error and the last refused update, kept until a good update is applied; polls
and applied updates with their times). With ?after=N it first waits (up to
?wait=, default 10s, at most 30s) until more than N polls have completed.
GET /-/health answers 200 when the proxy has nodes to serve and 503 with the
reason when not. --admin off turns the admin listener off.

The bound addresses are logged at start ("listening" addr=... admin=...),
so port 0 picks a free port. SIGINT and SIGTERM stop the proxy cleanly.

Exit codes: 0 stopped by a signal; 2 usage error or an address cannot be
bound.

Example:
  safewrr proxy --listen 127.0.0.1:8080 --registry nodes.json --poll 1s
  safewrr proxy --listen 127.0.0.1:0 --admin 127.0.0.1:0 --registry http://127.0.0.1:7171/discovery/fetch?appid=demo --format discovery
`

// Bounds and defaults of the proxy.
const (
	proxyDefaultAdmin    = "127.0.0.1:9901"
	proxyDefaultMaxBytes = 8 << 20          // --max-bytes default
	proxyDefaultWait     = 10 * time.Second // /-/safewrr?after= default wait
	proxyMaxWait         = 30 * time.Second // and its maximum
	proxyMaxWaiters      = 64               // long-polls held at once; more answer at once
	proxyMaxNodesListed  = 1000             // nodes listed on the status page
	proxyShutdownTimeout = 10 * time.Second // http.Server.Shutdown budget
	proxyStatusPath      = "/-/safewrr"
	proxyHealthPath      = "/-/health"
)

// proxyConfig is the proxy's parsed command line.
type proxyConfig struct {
	listen        string
	admin         string
	registry      string
	format        registry.Format
	policyName    string
	decode        registry.Options
	poll          time.Duration
	pollJitter    float64
	maxBackoff    time.Duration
	fetchTimeout  time.Duration
	maxBytes      int64
	anyRedirect   bool
	attempts      int
	ejectAfter    int
	ejectFor      time.Duration
	maxEjected    int
	slowStart     time.Duration
	maxDrop       float64
	logFormat     string
	timeouts      proxyTimeouts
	maxBufferBody int64
	maxBody       int64
}

// proxyTimeouts are the proxy's time limits, towards the backends and
// towards the clients.
type proxyTimeouts struct {
	dial           time.Duration // connecting to a backend
	tlsHandshake   time.Duration // TLS handshake with a backend
	responseHeader time.Duration // a backend's response headers, per attempt
	idleConn       time.Duration // an idle keep-alive connection to a backend
	request        time.Duration // one request, all attempts and the body (0: none)
	readHeader     time.Duration // a client's request headers
	read           time.Duration // a client's whole request, body included
	write          time.Duration // between two writes of the response to a client
	keepalive      time.Duration // an idle keep-alive connection from a client
}

// proxyHooks are what tests inject into proxyMain: a clock, a channel that
// asks for a poll now, and a callback with the bound addresses.
type proxyHooks struct {
	now   func() time.Time
	poll  <-chan struct{}
	ready func(addr, admin string)
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

// byteSize is a flag value of bytes with an optional KiB/MiB/GiB suffix.
type byteSize int64

func (b *byteSize) String() string { return fmt.Sprint(int64(*b)) }

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("want a number of bytes such as 1048576 or 1MiB")
	}
	*b = byteSize(n * mult)
	return nil
}

// proxyParse parses the command line; ok is false with the exit code when
// the command should stop.
func proxyParse(args []string, stdout, stderr io.Writer) (proxyConfig, int, bool) {
	c := commands["proxy"]
	fs := newFlagSet(c, stdout, stderr)
	var cfg proxyConfig
	var redirects string
	bufferBody := byteSize(1 << 20)
	var maxBody byteSize
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "`address` to serve traffic on (port 0 picks a free port)")
	fs.StringVar(&cfg.admin, "admin", proxyDefaultAdmin, "`address` of the status and health endpoints (off: none)")
	fs.StringVar(&cfg.registry, "registry", "", "registry `FILE` or http(s) URL (required)")
	dec := addDecodeFlags(fs)
	fs.DurationVar(&cfg.poll, "poll", time.Second, "poll `interval` (0: only at start and on SIGHUP)")
	fs.Float64Var(&cfg.pollJitter, "poll-jitter", feed.DefaultJitter, "spread each poll interval by this `share` (0-1) either way")
	fs.DurationVar(&cfg.maxBackoff, "max-backoff", feed.DefaultMaxBackoff, "longest poll interval after failed fetches (it doubles per failure)")
	fs.DurationVar(&cfg.fetchTimeout, "fetch-timeout", feed.DefaultFetchTimeout, "time limit of one registry fetch over HTTP")
	fs.Int64Var(&cfg.maxBytes, "max-bytes", proxyDefaultMaxBytes, "largest registry payload in `bytes`")
	fs.StringVar(&redirects, "registry-redirects", "same-host", "registry redirects to follow: same-host or any")
	fs.IntVar(&cfg.attempts, "attempts", httplb.DefaultMaxAttempts, "most attempts per request, the first included")
	fs.IntVar(&cfg.ejectAfter, "eject-after", httplb.DefaultEjectAfter, "consecutive failures that eject a node (0: never)")
	fs.DurationVar(&cfg.ejectFor, "eject-for", httplb.DefaultEjectFor, "first ejection's `duration`")
	fs.IntVar(&cfg.maxEjected, "max-ejected", balancer.DefaultMaxEjectedPercent, "most `percent` of the nodes ejected at once")
	fs.DurationVar(&cfg.slowStart, "slow-start", 10*time.Second, "ramp-up `window` of a node that joins or comes back (0: off)")
	fs.Float64Var(&cfg.maxDrop, "max-drop", 0, "refuse an update that drops more than this `share` (0-1] of the total weight (0: no limit)")
	fs.DurationVar(&cfg.timeouts.dial, "dial-timeout", 5*time.Second, "time limit of connecting to a backend")
	fs.DurationVar(&cfg.timeouts.tlsHandshake, "tls-handshake-timeout", 10*time.Second, "time limit of a TLS handshake with a backend")
	fs.DurationVar(&cfg.timeouts.responseHeader, "response-header-timeout", 15*time.Second, "time limit of a backend's response headers, per attempt (then a safe request moves on)")
	fs.DurationVar(&cfg.timeouts.idleConn, "idle-conn-timeout", 60*time.Second, "how long an idle connection to a backend is kept")
	fs.DurationVar(&cfg.timeouts.request, "request-timeout", 60*time.Second, "time limit of one request through the proxy, attempts and body included (0: none)")
	fs.DurationVar(&cfg.timeouts.readHeader, "read-header-timeout", 10*time.Second, "time limit of a client's request headers")
	fs.DurationVar(&cfg.timeouts.read, "read-timeout", 60*time.Second, "time limit of a client's whole request, body included")
	fs.DurationVar(&cfg.timeouts.write, "write-timeout", 60*time.Second, "time limit between two writes of a response to a client")
	fs.DurationVar(&cfg.timeouts.keepalive, "keepalive-timeout", 75*time.Second, "how long an idle client connection is kept")
	fs.Var(&bufferBody, "max-buffered-body", "request bodies up to this `size` are read whole before a backend is chosen (0: none)")
	fs.Var(&maxBody, "max-body", "answer 413 to a request body larger than this `size` (0: no limit)")
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
	f, o, err := dec.options()
	if err != nil {
		return fail("%v", err)
	}
	o.Policy.IDs = weights.IDsAddress // the proxy dials every id
	cfg.format, cfg.decode, cfg.policyName = f, o, dec.Policy
	switch redirects {
	case "same-host":
	case "any":
		cfg.anyRedirect = true
	default:
		return fail("--registry-redirects %q: want same-host or any", redirects)
	}
	cfg.maxBufferBody = int64(bufferBody)
	cfg.maxBody = int64(maxBody)
	for _, d := range []struct {
		name     string
		v        time.Duration
		zeroOK   bool
		zeroMean string
	}{
		{"--dial-timeout", cfg.timeouts.dial, false, ""},
		{"--tls-handshake-timeout", cfg.timeouts.tlsHandshake, false, ""},
		{"--response-header-timeout", cfg.timeouts.responseHeader, false, ""},
		{"--idle-conn-timeout", cfg.timeouts.idleConn, false, ""},
		{"--request-timeout", cfg.timeouts.request, true, ""},
		{"--read-header-timeout", cfg.timeouts.readHeader, false, ""},
		{"--read-timeout", cfg.timeouts.read, false, ""},
		{"--write-timeout", cfg.timeouts.write, false, ""},
		{"--keepalive-timeout", cfg.timeouts.keepalive, false, ""},
		{"--max-backoff", cfg.maxBackoff, true, ""},
	} {
		if d.v < 0 || (d.v == 0 && !d.zeroOK) {
			return fail("%s %v must be positive", d.name, d.v)
		}
	}
	switch {
	case cfg.poll < 0:
		return fail("--poll %v must not be negative", cfg.poll)
	case math.IsNaN(cfg.pollJitter) || cfg.pollJitter < 0 || cfg.pollJitter > 1:
		return fail("--poll-jitter %v must be between 0 and 1", cfg.pollJitter)
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
	cfg.decode.Policy.Limits.MaxBytes = int(min(cfg.maxBytes, 1<<31-1))
	return cfg, 0, true
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
	p, err := newRegistryProxy(cfg, logger, hooks.now)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr proxy: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr proxy: %v\n", err)
		return exitUsage
	}
	var adminLn net.Listener
	if cfg.admin != "off" {
		if adminLn, err = net.Listen("tcp", cfg.admin); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "safewrr proxy: --admin: %v\n", err)
			return exitUsage
		}
	}
	p.start(ctx)
	addr, admin := ln.Addr().String(), "off"
	args2 := []any{"addr", addr}
	if adminLn != nil {
		admin = adminLn.Addr().String()
		args2 = append(args2, "admin", admin, "status", "http://"+admin+proxyStatusPath)
		if ap, ok := adminLn.Addr().(*net.TCPAddr); ok && !ap.IP.IsLoopback() {
			logger.Warn("the admin listener is not on a loopback address: anyone who reaches it reads the backends and the registry's name", "admin", admin)
		}
	}
	args2 = append(args2, "registry", p.feed.Source().String())
	logger.Info("listening", args2...)
	if st := p.feed.Status(); !st.Serving() {
		logger.Error("no backends yet: requests are answered 503 until the registry names a node that can serve", "why", st.NoBackendsReason())
	}
	if hooks.ready != nil {
		hooks.ready(addr, admin)
	}
	return p.serve(ctx, ln, adminLn, hooks.poll)
}
