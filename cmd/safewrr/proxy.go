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
                [validate's decode flags] [flags below]

A reverse proxy (package httplb) whose backends come from a registry: a
regular file or an http(s) URL, read every --poll (with jitter and backoff;
SIGHUP polls at once), decoded and checked as validate does with the same
flags. An update that does not parse, that the policy refuses, that leaves
nothing to serve or drops more than --max-drop of the weight is refused and
the last good nodes keep serving. Node ids must be host:port.

Requests go to the backends as sent, by smooth weighted round robin. Bodies
up to --max-buffered-body are read first (--max-buffered-total at once), so
safe requests, and any request that could not connect, are retried on
another node; longer bodies stream (--max-streamed at once, 503 past it).
Failing nodes are ejected and ramp back over --slow-start. A client's fault
(an unreadable, too large or too slow body, a bad trailer, a '#' in the
target) gets 400, 413 or 408, CONNECT and TRACE get 405, and none charges a
node. With no node to serve the answer is 503 with the reason.

--admin serves GET /-/safewrr (JSON state; ?after=N&wait=D long-polls) and
GET /-/health, from the start, before the first poll ends ("off": none).
The addresses are logged ("accepting connections", and "listening" after
the first poll). SIGINT and SIGTERM stop the proxy. More: docs/proxy.md.

Exit codes: 0 stopped by a signal; 2 usage error or an address cannot be
bound.

Example:
  safewrr proxy --listen 127.0.0.1:8080 --registry nodes.json --poll 1s
`

// Bounds and defaults of the proxy.
const (
	proxyDefaultAdmin    = "127.0.0.1:9901"
	proxyDefaultMaxBytes = 8 << 20          // --max-bytes default
	proxyShutdownTimeout = 10 * time.Second // http.Server.Shutdown budget
	proxyDefaultBudget   = 64 << 20         // --max-buffered-total default
	proxyDefaultMaxConns = 4096             // --max-conns default
)

// proxyConfig is the proxy's parsed command line.
type proxyConfig struct {
	listen, admin, registry, policyName, logFormat string
	format                                         registry.Format
	decode                                         registry.Options
	poll, maxBackoff, fetchTimeout                 time.Duration
	ejectFor, slowStart                            time.Duration
	pollJitter, maxDrop                            float64
	maxBytes, maxBufferBody, maxBody, bufferBudget int64
	maxHeaderBytes, maxStreamed                    int64
	attempts, ejectAfter, maxEjected, maxConns     int
	anyRedirect                                    bool
	timeouts                                       httplb.Timeouts
}

// proxyHooks are what tests inject into proxyMain.
type proxyHooks struct {
	now       func() time.Time
	poll      <-chan os.Signal         // SIGHUP: poll now
	accepting func(addr, admin string) // the listeners answer
	ready     func(addr, admin string) // the first poll has completed
}

func runProxy(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return proxyMain(ctx, args, stdout, stderr, proxyHooks{poll: hup})
}

// proxyParse parses the command line; ok is false with the exit code when
// the command should stop.
func proxyParse(args []string, stdout, stderr io.Writer) (proxyConfig, int, bool) {
	fs := newFlagSet(commands["proxy"], stdout, stderr)
	cfg := proxyConfig{maxBufferBody: httplb.DefaultBodyBuffer, bufferBudget: proxyDefaultBudget, maxBackoff: feed.DefaultMaxBackoff, maxHeaderBytes: httplb.DefaultMaxHeaderBytes,
		maxStreamed: httplb.DefaultMaxStreamed,
		poll:        time.Second, fetchTimeout: feed.DefaultFetchTimeout, ejectFor: httplb.DefaultEjectFor, slowStart: 10 * time.Second}
	var redirects string
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "`address` to serve traffic on (port 0 picks a free port)")
	fs.StringVar(&cfg.admin, "admin", proxyDefaultAdmin, "`address` of the status and health endpoints (off: none)")
	fs.StringVar(&cfg.registry, "registry", "", "registry `FILE` or http(s) URL (required)")
	dec := addDecodeFlags(fs)
	fs.Float64Var(&cfg.pollJitter, "poll-jitter", feed.DefaultJitter, "spread each poll interval by this `share` (0-1) either way")
	fs.Int64Var(&cfg.maxBytes, "max-bytes", proxyDefaultMaxBytes, "largest registry payload in `bytes`")
	fs.StringVar(&redirects, "registry-redirects", "same-host", "registry redirects to follow: same-host or any")
	fs.IntVar(&cfg.attempts, "attempts", httplb.DefaultMaxAttempts, "most attempts per request, the first included")
	fs.IntVar(&cfg.ejectAfter, "eject-after", httplb.DefaultEjectAfter, "consecutive failures that eject a node (0: never)")
	fs.IntVar(&cfg.maxEjected, "max-ejected", balancer.DefaultMaxEjectedPercent, "most `percent` of the nodes ejected at once")
	fs.Float64Var(&cfg.maxDrop, "max-drop", 0, "refuse an update that drops more than this `share` (0-1] of the total weight (0: no limit)")
	cfg.timeouts = httplb.DefaultTimeouts
	durations := []struct {
		v           *time.Duration
		name, usage string
		zeroOK      bool
	}{
		{&cfg.timeouts.Dial, "dial-timeout", "time limit of connecting to a backend", false},
		{&cfg.timeouts.TLSHandshake, "tls-handshake-timeout", "time limit of a TLS handshake with a backend", false},
		{&cfg.timeouts.ResponseHeader, "response-header-timeout", "time limit of a backend's response headers, per attempt (then a safe request moves on)", false},
		{&cfg.timeouts.IdleConn, "idle-conn-timeout", "how long an idle connection to a backend is kept", false},
		{&cfg.timeouts.Request, "request-timeout", "time limit of one request through the proxy, attempts and body included (0: none)", true},
		{&cfg.timeouts.ReadHeader, "read-header-timeout", "time limit of a client's request headers", false},
		{&cfg.timeouts.Read, "read-timeout", "time limit of a client's whole request, body included", false},
		{&cfg.timeouts.Write, "write-timeout", "time limit between two writes of a response to a client", false},
		{&cfg.timeouts.Idle, "keepalive-timeout", "how long an idle client connection is kept", false},
		{&cfg.maxBackoff, "max-backoff", "longest poll interval after failed fetches (it doubles per failure)", true},
		{&cfg.poll, "poll", "poll `interval` (0: only at start and on SIGHUP)", true},
		{&cfg.fetchTimeout, "fetch-timeout", "time limit of one registry fetch over HTTP", false},
		{&cfg.ejectFor, "eject-for", "first ejection's `duration`", false},
		{&cfg.slowStart, "slow-start", "ramp-up `window` of a node that joins or comes back (0: off)", true},
	}
	for _, d := range durations {
		fs.DurationVar(d.v, d.name, *d.v, d.usage)
	}
	fs.Var((*byteSize)(&cfg.maxBufferBody), "max-buffered-body", "request bodies up to this `size` are read whole before a backend is chosen (0: none)")
	fs.Var((*byteSize)(&cfg.maxBody), "max-body", "answer 413 to a request body larger than this `size` (0: no limit)")
	fs.Var((*byteSize)(&cfg.bufferBudget), "max-buffered-total", "most bytes of request bodies buffered at once, all connections together; past it a body streams without retry (0: no limit)")
	fs.Var((*byteSize)(&cfg.maxHeaderBytes), "max-header-bytes", "largest request header `size` (then 431)")
	fs.Int64Var(&cfg.maxStreamed, "max-streamed", cfg.maxStreamed, "most request bodies streamed to backends at once (not buffered: over --max-buffered-body or past --max-buffered-total); past it 503 (0: no limit)")
	fs.IntVar(&cfg.maxConns, "max-conns", proxyDefaultMaxConns, "most client connections open at once; past it idle keep-alive connections are closed, oldest first, to make room (0: no limit)")
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
	cfg.format, cfg.decode, cfg.policyName = f, o, dec.policyName()
	cfg.anyRedirect = redirects == "any"
	for _, d := range durations {
		if *d.v < 0 {
			return fail("--%s %v must not be negative", d.name, *d.v)
		}
		if *d.v == 0 && !d.zeroOK {
			return fail("--%s %v must be positive", d.name, *d.v)
		}
	}
	switch {
	case redirects != "same-host" && redirects != "any":
		return fail("--registry-redirects %q: want same-host or any", redirects)
	case math.IsNaN(cfg.pollJitter) || cfg.pollJitter < 0 || cfg.pollJitter > 1:
		return fail("--poll-jitter %v must be between 0 and 1", cfg.pollJitter)
	case cfg.maxBytes <= 0:
		return fail("--max-bytes %d must be positive", cfg.maxBytes)
	case cfg.maxHeaderBytes < 1<<10 || cfg.maxHeaderBytes > 1<<30:
		return fail("--max-header-bytes %d must be between 1KiB and 1GiB", cfg.maxHeaderBytes)
	case cfg.maxStreamed < 0:
		return fail("--max-streamed %d must not be negative", cfg.maxStreamed)
	case cfg.maxConns < 0:
		return fail("--max-conns %d must not be negative", cfg.maxConns)
	case cfg.attempts < 1:
		return fail("--attempts %d must be at least 1", cfg.attempts)
	case cfg.ejectAfter < 0:
		return fail("--eject-after %d must not be negative", cfg.ejectAfter)
	case cfg.maxEjected < 0 || cfg.maxEjected > 100:
		return fail("--max-ejected %d must be between 0 and 100", cfg.maxEjected)
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
	fail := func(what string, err error) int {
		fmt.Fprintf(stderr, "safewrr proxy: %s%v\n", what, err)
		return exitUsage
	}
	p, err := newRegistryProxy(cfg, logger, hooks.now)
	if err != nil {
		return fail("", err)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail("", err)
	}
	var adminLn net.Listener
	if cfg.admin != "off" {
		if adminLn, err = net.Listen("tcp", cfg.admin); err != nil {
			ln.Close()
			return fail("--admin: ", err)
		}
	}
	addr, admin := ln.Addr().String(), "off"
	args2 := []any{"addr", addr}
	if adminLn != nil {
		admin = adminLn.Addr().String()
		args2 = append(args2, "admin", admin, "status", "http://"+admin+httplb.StatusPath)
		if ap, ok := adminLn.Addr().(*net.TCPAddr); ok && !ap.IP.IsLoopback() {
			logger.Warn("the admin listener is not on a loopback address: anyone who reaches it reads the backends and the registry's name", "admin", admin)
		}
	}
	args2 = append(args2, "registry", p.src.String())
	// The listeners answer from now on; "listening" follows the first poll.
	logger.Info("accepting connections", args2...)
	if hooks.accepting != nil {
		hooks.accepting(addr, admin)
	}
	return p.serve(ctx, ln, adminLn, hooks.poll, func() {
		logger.Info("listening", args2...)
		if hooks.ready != nil {
			hooks.ready(addr, admin)
		}
	})
}
