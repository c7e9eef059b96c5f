package httplb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts are a proxy's time limits, towards the backends (Dial,
// TLSHandshake, ResponseHeader, IdleConn: NewBackendTransport) and towards
// the clients (ReadHeader, Read, Write, Idle, Request: NewServer). Every
// one must be positive, except Request, which 0 turns off.
type Timeouts struct {
	Dial           time.Duration // connecting to a backend
	TLSHandshake   time.Duration // a TLS handshake with a backend
	ResponseHeader time.Duration // a backend's response headers, per attempt (then a safe request moves on)
	IdleConn       time.Duration // an idle keep-alive connection to a backend
	Request        time.Duration // one request: every attempt and the response body (0: none)
	ReadHeader     time.Duration // a client's request headers
	Read           time.Duration // a client's whole request, body included
	Write          time.Duration // between two writes of a response to a client (nginx's send_timeout)
	Idle           time.Duration // an idle keep-alive connection from a client
}

// DefaultTimeouts are the timeouts of `safewrr proxy`, set against nginx's
// and Envoy's defaults.
var DefaultTimeouts = Timeouts{
	Dial:           5 * time.Second,
	TLSHandshake:   10 * time.Second,
	ResponseHeader: 15 * time.Second,
	IdleConn:       60 * time.Second,
	Request:        60 * time.Second,
	ReadHeader:     10 * time.Second,
	Read:           60 * time.Second,
	Write:          60 * time.Second,
	Idle:           75 * time.Second,
}

// Check returns an error naming the first timeout out of range.
func (t Timeouts) Check() error {
	for _, d := range []struct {
		name   string
		v      time.Duration
		zeroOK bool
	}{
		{"Dial", t.Dial, false}, {"TLSHandshake", t.TLSHandshake, false},
		{"ResponseHeader", t.ResponseHeader, false}, {"IdleConn", t.IdleConn, false},
		{"Request", t.Request, true}, {"ReadHeader", t.ReadHeader, false},
		{"Read", t.Read, false}, {"Write", t.Write, false}, {"Idle", t.Idle, false},
	} {
		if d.v < 0 || d.v == 0 && !d.zeroOK {
			return fmt.Errorf("httplb: Timeouts.%s %v must be positive", d.name, d.v)
		}
	}
	return nil
}

// DefaultMaxHeaderBytes is the largest request header NewServer's server
// reads (http.Server.MaxHeaderBytes; Go adds 4 KiB of slack): 32 KiB, as
// nginx's large_client_header_buffers (4 buffers of 8 KiB). A longer one
// is answered 431. The default of net/http is 1 MiB, which lets a few
// hundred connections with unfinished headers hold hundreds of megabytes.
const DefaultMaxHeaderBytes = 32 << 10

// BackendDialer returns the dialer NewBackendTransport connects with by
// default: within t.Dial, with TCP keep-alives every 30 s.
func BackendDialer(t Timeouts) *net.Dialer {
	return &net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}
}

// NewBackendTransport returns the http.Transport a proxy sends its attempts
// with (give it to WithBase): it connects with d (BackendDialer(t) when d
// is nil), bounds the TLS handshake, the wait for response headers and
// idle connections by t, never goes through an environment proxy, and
// keeps up to 64 idle connections per backend.
func NewBackendTransport(t Timeouts, d *net.Dialer) (*http.Transport, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if d == nil {
		d = BackendDialer(t)
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		IdleConnTimeout:       t.IdleConn,
		MaxIdleConnsPerHost:   64,
		ExpectContinueTimeout: time.Second,
	}, nil
}

// ErrRequestTimeout is the cause (context.Cause) of a request's context
// that NewServer's Timeouts.Request ended. The proxy answers such a request
// 504 when it had no response yet; a response already under way is cut
// short.
var ErrRequestTimeout = errors.New("httplb: the request timeout passed")

type requestTimeoutError struct{ d time.Duration }

func (e *requestTimeoutError) Error() string {
	return "httplb: the request timeout (" + e.d.String() + ") passed"
}

func (e *requestTimeoutError) Is(target error) bool { return target == ErrRequestTimeout }

// NewServer returns an http.Server that serves h with the client-side
// limits of t: ReadHeaderTimeout, ReadTimeout (a request body that does not
// arrive in time is answered 408 by the proxy), IdleTimeout, a write
// deadline renewed before every write of a response (t.Write between two
// writes, as nginx's send_timeout, rather than one deadline for the whole
// response), each request's context ended after t.Request with
// ErrRequestTimeout as its cause, and MaxHeaderBytes DefaultMaxHeaderBytes.
// Set Addr, ErrorLog, BaseContext or a larger MaxHeaderBytes on the result
// as needed, and serve it on a listener bounded by LimitListener.
func NewServer(h http.Handler, t Timeouts) (*http.Server, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	return &http.Server{
		Handler:           timeoutHandler{h: h, t: t},
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}, nil
}

type timeoutHandler struct {
	h http.Handler
	t Timeouts
}

func (s timeoutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: s.t.Write}
	dw.extend()
	if s.t.Request > 0 {
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.t.Request, &requestTimeoutError{s.t.Request})
		defer cancel()
		r = r.WithContext(ctx)
	}
	s.h.ServeHTTP(dw, r)
}

// deadlineWriter gives each write of a response its own deadline.
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

// LimitListener returns a listener that keeps at most n of ln's connections
// open at once: Accept waits while n are open, so further clients wait in
// the kernel's backlog instead of each costing the proxy a goroutine and
// buffers. n 0 returns ln itself (no limit). A client that holds n idle
// keep-alive connections keeps every other client out until they close;
// LimitConns does not.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return newLimitListener(ln, n)
}

// LimitConns returns a listener for srv that keeps at most n of ln's
// connections open at once and, as nginx does when its connections run
// out, makes room for a new connection by closing srv's idle keep-alive
// connections, the longest idle first: when n are open and another one
// arrives, Accept takes it and closes one idle connection (or, while none
// is idle, waits for the first that becomes idle or closes). A connection
// in the middle of a request is never closed for this; an idle one is
// closed by the same rule as http.Server.Shutdown's. At most one accepted
// connection waits this way, beyond n. LimitConns sets srv.ConnState (a
// hook already set is still called); serve srv on the result only. n 0
// returns ln itself (no limit).
func LimitConns(srv *http.Server, ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	l := newLimitListener(ln, n)
	l.idle = make(map[net.Conn]uint64)
	l.idleReady = make(chan struct{}, 1)
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		l.track(c, st)
		if prev != nil {
			prev(c, st)
		}
	}
	return l
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// LimitConns only: the idle connections, each with the order it went idle in.
	mu        sync.Mutex
	idle      map[net.Conn]uint64
	seq       uint64
	idleReady chan struct{} // a connection went idle (or closed)
}

func (l *limitListener) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle {
		l.seq++
		l.idle[c] = l.seq
	} else {
		delete(l.idle, c)
	}
	if st == http.StateIdle || st == http.StateClosed {
		select {
		case l.idleReady <- struct{}{}:
		default:
		}
	}
}

// closeOldestIdle closes the connection idle the longest, if any.
func (l *limitListener) closeOldestIdle() {
	l.mu.Lock()
	var oldest net.Conn
	var at uint64
	for c, s := range l.idle {
		if oldest == nil || s < at {
			oldest, at = c, s
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest != nil {
		oldest.Close()
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	if l.idle != nil {
		return l.acceptReclaiming()
	}
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, l: l}, nil
}

// acceptReclaiming accepts first, then finds the new connection a slot,
// closing idle connections while every slot is taken.
func (l *limitListener) acceptReclaiming() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
		return &limitConn{Conn: c, l: l}, nil
	default:
	}
	for {
		l.closeOldestIdle()
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, l: l}, nil
		case <-l.idleReady:
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}

// NewAdminServer returns an http.Server for an Admin (or any admin
// handler) with the client-side limits of t; its write timeout leaves
// room for the longest long-poll (MaxStatusWait).
func NewAdminServer(h http.Handler, t Timeouts) (*http.Server, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      MaxStatusWait + t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}, nil
}

// ServeUntil serves servers[i] on listeners[i] until ctx is done, then
// shuts them all down, closing whatever is still open after grace. It
// returns nil after such a stop; when a server stops by itself (its
// listener failed) it closes the others and returns that server's error.
func ServeUntil(ctx context.Context, grace time.Duration, servers []*http.Server, listeners []net.Listener) error {
	if len(servers) != len(listeners) {
		return errors.New("httplb: ServeUntil needs one listener per server")
	}
	served := make(chan error, len(servers))
	for i, s := range servers {
		go func() { served <- s.Serve(listeners[i]) }()
	}
	select {
	case err := <-served:
		for _, s := range servers {
			s.Close()
		}
		for range len(servers) - 1 {
			<-served
		}
		return fmt.Errorf("httplb: a server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	for _, s := range servers {
		if s.Shutdown(sctx) != nil {
			s.Close()
		}
	}
	for range servers {
		<-served
	}
	return nil
}
