package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights/registry"
)

// registryProxy is the running proxy: a feed (the registry-fed balancer),
// the HTTP adapter over its balancer, and the admin endpoints.
type registryProxy struct {
	cfg proxyConfig
	log *slog.Logger
	now func() time.Time
	src feed.Source

	// Set by start and never again.
	feed  *feed.Feed
	lb    *balancer.Balancer
	tr    *httplb.Transport
	front http.Handler

	waiters atomic.Int32 // long-polls being held
}

// newRegistryProxy checks the registry's name and returns a proxy that
// start makes ready to serve. now nil means time.Now.
func newRegistryProxy(cfg proxyConfig, logger *slog.Logger, now func() time.Time) (*registryProxy, error) {
	if now == nil {
		now = time.Now
	}
	p := &registryProxy{cfg: cfg, log: logger, now: now}
	if strings.HasPrefix(cfg.registry, "http://") || strings.HasPrefix(cfg.registry, "https://") {
		src, err := feed.URL(cfg.registry, feed.URLOptions{Timeout: cfg.fetchTimeout, AllowOtherHosts: cfg.anyRedirect})
		if err != nil {
			return nil, err
		}
		p.src = src
	} else {
		p.src = feed.File(cfg.registry)
	}
	return p, nil
}

// start polls the registry once and builds the balancer over the first good
// nodes, or empty (answering 503 with the reason) until a good update
// comes. Call it once, before serving.
func (p *registryProxy) start(ctx context.Context) {
	bopts := []balancer.Option{
		balancer.WithSlowStart(p.cfg.slowStart),
		balancer.WithMaxEjectedPercent(p.cfg.maxEjected),
	}
	if p.cfg.maxDrop > 0 {
		bopts = append(bopts, balancer.WithMaxWeightDrop(p.cfg.maxDrop))
	}
	f, err := feed.New(ctx, p.src,
		feed.WithFormat(p.cfg.format),
		feed.WithDecode(p.registryOptions()),
		feed.WithMaxBytes(p.cfg.maxBytes),
		feed.WithBalancer(bopts...),
		feed.WithClock(p.now),
		feed.WithLogger(p.log),
		feed.WithInterval(p.cfg.poll),
		feed.WithJitter(p.cfg.pollJitter),
		feed.WithMaxBackoff(p.cfg.maxBackoff),
	)
	if err != nil {
		// The flags were checked; an error here is a bug.
		panic(err)
	}
	p.feed, p.lb = f, f.Balancer()
	t := p.cfg.timeouts
	p.tr, err = httplb.NewTransport(p.lb,
		httplb.WithClock(p.now),
		httplb.WithLogger(p.log),
		httplb.WithMaxAttempts(p.cfg.attempts),
		httplb.WithEjection(p.cfg.ejectAfter, p.cfg.ejectFor, max(httplb.DefaultMaxEjectFor, p.cfg.ejectFor)),
		httplb.WithBase(backendTransport(backendDialer(t), t)),
	)
	if err != nil {
		// The flags were checked; an error here is a bug.
		panic(err)
	}
	rp := p.tr.Proxy()
	rp.ErrorLog = slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)
	fallback := rp.ErrorHandler
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		var rerr *httplb.RequestError
		switch {
		case errors.As(err, &rerr):
			p.log.Info("the client's request failed; no backend charged", "method", r.Method, "path", r.URL.Path, "status", rerr.Status, "error", rerr.Err.Error())
			w.Header().Set("Connection", "close")
			http.Error(w, "safewrr: the request could not be forwarded: "+rerr.Err.Error(), rerr.Status)
		case errors.Is(err, httplb.ErrNoNode):
			p.noBackend(w, r, err)
		case r.Context().Err() != nil && errors.Is(context.Cause(r.Context()), errRequestTimeout):
			p.log.Warn("request timed out", "method", r.Method, "path", r.URL.Path, "timeout", p.cfg.timeouts.request.String())
			http.Error(w, fmt.Sprintf("safewrr: no complete answer within --request-timeout %v", p.cfg.timeouts.request), http.StatusGatewayTimeout)
		default:
			fallback(w, r, err)
		}
	}
	p.front = rp
}

// backendDialer is how the proxy connects to backends: within --dial-timeout.
func backendDialer(t proxyTimeouts) *net.Dialer {
	return &net.Dialer{Timeout: t.dial, KeepAlive: 30 * time.Second}
}

// backendTransport sends the attempts to the backends, connecting with d,
// with the TLS handshake, response header and idle connection limits of the
// flags.
func backendTransport(d *net.Dialer, t proxyTimeouts) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // never through an environment proxy
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   t.tlsHandshake,
		ResponseHeaderTimeout: t.responseHeader,
		IdleConnTimeout:       t.idleConn,
		MaxIdleConnsPerHost:   64,
		ExpectContinueTimeout: time.Second,
	}
}

// registryOptions are the decode options of the flags.
func (p *registryProxy) registryOptions() registry.Options {
	return p.cfg.decode
}

// noBackend answers 503 saying why no node could take the request: no
// registry data yet (and why), or every node drained or ejected.
func (p *registryProxy) noBackend(w http.ResponseWriter, r *http.Request, err error) {
	st := p.feed.Status()
	var msg string
	if why := st.NoBackendsReason(); why != "" {
		msg = "safewrr: no backends yet: " + why
	} else {
		var cause error = err
		for _, e := range []error{balancer.ErrAllDrained, balancer.ErrAllEjected, balancer.ErrAllExcluded, balancer.ErrNoBackends} {
			if errors.Is(err, e) {
				cause = e
				break
			}
		}
		msg = "safewrr: no backend can take the request now: " + strings.TrimPrefix(cause.Error(), "balancer: ")
	}
	if r.Context().Err() == nil {
		p.log.Warn("request answered 503", "method", r.Method, "path", r.URL.Path, "why", msg)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, msg+"\n")
}

// pollOnce polls the registry now (tests call it directly).
func (p *registryProxy) pollOnce(ctx context.Context) feed.Status { return p.feed.Poll(ctx) }

// errRequestTimeout is the cause of a request's context when
// --request-timeout ends it.
var errRequestTimeout = errors.New("safewrr: --request-timeout")

// handler is what the traffic listener serves: every request, whatever its
// path, goes to the backends exactly as sent (no ServeMux: it would clean
// paths and answer some with redirects).
func (p *registryProxy) handler() http.Handler {
	t := p.cfg.timeouts
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.write > 0 {
			dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: t.write}
			dw.extend()
			w = dw
		}
		if t.request > 0 {
			ctx, cancel := context.WithTimeoutCause(r.Context(), t.request, errRequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if p.cfg.maxBody > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, p.cfg.maxBody)
		}
		if !p.bufferBody(w, r) {
			return
		}
		p.front.ServeHTTP(w, r)
	})
}

// bufferBody reads a request body of at most --max-buffered-body whole
// before any backend is chosen, so a slow client holds no backend connection
// and a safe request can be sent again. A longer body is streamed. It
// reports false when it has answered the request itself.
func (p *registryProxy) bufferBody(w http.ResponseWriter, r *http.Request) bool {
	limit := p.cfg.maxBufferBody
	if limit <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength > limit {
		return true
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		code, what := http.StatusBadRequest, "the request body could not be read"
		var ne net.Error
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			code, what = http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than --max-body %d", p.cfg.maxBody)
		case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
			code, what = http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive within --read-timeout %v", p.cfg.timeouts.read)
		}
		p.log.Warn("request body not read", "method", r.Method, "path", r.URL.Path, "status", code, "error", err.Error())
		w.Header().Set("Connection", "close")
		http.Error(w, "safewrr: "+what, code)
		return false
	}
	if int64(len(data)) > limit {
		// Longer than announced (chunked): stream the rest.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength = int64(len(data))
	if len(data) == 0 {
		r.Body = http.NoBody
	}
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// deadlineWriter gives each write of a response --write-timeout, as
// nginx's send_timeout does (between two writes, not for the whole
// response).
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) extend() { w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *deadlineWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// adminHandler serves the status page and the health endpoint.
func (p *registryProxy) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(proxyStatusPath, p.status)
	mux.HandleFunc(proxyHealthPath, p.health)
	return mux
}

// serve answers traffic on ln and the admin endpoints on adminLn (when not
// nil) and polls the registry (every cfg.poll and on each receive from
// poll) until ctx is done; then it shuts the servers down.
func (p *registryProxy) serve(ctx context.Context, ln, adminLn net.Listener, poll <-chan struct{}) int {
	t := p.cfg.timeouts
	errLog := slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)
	base := func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	servers := []*http.Server{{
		Handler:           p.handler(),
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		IdleTimeout:       t.keepalive,
		ErrorLog:          errLog,
		BaseContext:       base,
	}}
	listeners := []net.Listener{ln}
	if adminLn != nil {
		servers = append(servers, &http.Server{
			Handler:           p.adminHandler(),
			ReadHeaderTimeout: t.readHeader,
			ReadTimeout:       t.read,
			WriteTimeout:      proxyMaxWait + t.write,
			IdleTimeout:       t.keepalive,
			ErrorLog:          errLog,
			BaseContext:       base,
		})
		listeners = append(listeners, adminLn)
	}
	served := make(chan error, len(servers))
	for i, s := range servers {
		go func() { served <- s.Serve(listeners[i]) }()
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		p.feed.Run(runCtx)
	}()
	defer func() {
		stopRun()
		<-ran
	}()
	for {
		select {
		case <-ctx.Done():
			p.log.Info("stopping", "reason", context.Cause(ctx).Error())
			sctx, cancel := context.WithTimeout(context.Background(), proxyShutdownTimeout)
			defer cancel()
			for _, s := range servers {
				if err := s.Shutdown(sctx); err != nil {
					p.log.Warn("shutdown", "error", err.Error())
					s.Close()
				}
			}
			for range servers {
				<-served
			}
			p.log.Info("stopped")
			return exitOK
		case err := <-served:
			p.log.Error("server stopped", "error", err.Error())
			for _, s := range servers {
				s.Close()
			}
			return exitUsage
		case <-poll:
			p.feed.Trigger()
		}
	}
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

// proxyStatus is the status page: the feed's status, the live nodes (the
// first proxyMaxNodesListed) and the transport's ejections.
type proxyStatus struct {
	Policy     string      `json:"policy"`
	Now        time.Time   `json:"now"`
	Nodes      []proxyNode `json:"nodes"`
	NodesTotal int         `json:"nodes_total"`
	Ejections  int64       `json:"ejections"`
	// BodyFailures counts responses whose body broke off mid-way or was
	// cut off by --request-timeout while the proxy waited for the backend
	// (each also a failure of its node).
	BodyFailures int64 `json:"body_failures"`
	// Failures counts the failed attempts charged to nodes; ClientErrors
	// the requests that failed because of the client's request (a body
	// that could not be read or was too large, a bad trailer, a client
	// that went away), which charge no node.
	Failures     int64 `json:"failures"`
	ClientErrors int64 `json:"client_errors"`
	feed.Status
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
		if p.waiters.Add(1) <= proxyMaxWaiters && wait > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), wait)
			p.feed.Wait(ctx, after)
			cancel()
		}
		p.waiters.Add(-1)
	}
	out := proxyStatus{Policy: p.cfg.policyName, Now: p.now(), Status: p.feed.Status(), Ejections: p.tr.Ejections(), BodyFailures: p.tr.BodyFailures(), Failures: p.tr.Failures(), ClientErrors: p.tr.ClientErrors(), Nodes: []proxyNode{}}
	states := p.lb.States()
	out.NodesTotal = len(states)
	for _, s := range states[:min(len(states), proxyMaxNodesListed)] {
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// health answers 200 when the proxy has nodes to serve, 503 with the reason
// when it has none (no good registry data yet, or every node drained or
// ejected).
func (p *registryProxy) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	st := p.feed.Status()
	if why := st.NoBackendsReason(); why != "" {
		http.Error(w, "no backends yet: "+why, http.StatusServiceUnavailable)
		return
	}
	serving := 0
	for _, s := range p.lb.States() {
		if s.Effective > 0 {
			serving++
		}
	}
	if serving == 0 {
		http.Error(w, "no backend can serve now: every node is drained or ejected", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ok: %d of %d nodes serving, generation %d\n", serving, p.lb.Len(), st.Generation)
}
