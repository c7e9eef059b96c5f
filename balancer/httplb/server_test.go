package httplb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func TestTimeoutsCheck(t *testing.T) {
	if err := DefaultTimeouts.Check(); err != nil {
		t.Fatal(err)
	}
	off := DefaultTimeouts
	off.Request = 0
	if err := off.Check(); err != nil {
		t.Fatalf("Request 0 (off): %v", err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Timeouts)
	}{
		{"Dial", func(t *Timeouts) { t.Dial = 0 }},
		{"TLSHandshake", func(t *Timeouts) { t.TLSHandshake = -1 }},
		{"ResponseHeader", func(t *Timeouts) { t.ResponseHeader = 0 }},
		{"IdleConn", func(t *Timeouts) { t.IdleConn = 0 }},
		{"Request", func(t *Timeouts) { t.Request = -time.Second }},
		{"ReadHeader", func(t *Timeouts) { t.ReadHeader = 0 }},
		{"Read", func(t *Timeouts) { t.Read = 0 }},
		{"Write", func(t *Timeouts) { t.Write = 0 }},
		{"Idle", func(t *Timeouts) { t.Idle = 0 }},
	} {
		to := DefaultTimeouts
		tc.set(&to)
		err := to.Check()
		if err == nil || !strings.Contains(err.Error(), "Timeouts."+tc.name+" ") {
			t.Errorf("%s: Check() = %v", tc.name, err)
		}
		if _, err := NewServer(http.NotFoundHandler(), to); err == nil {
			t.Errorf("%s: NewServer accepted it", tc.name)
		}
		if _, err := NewBackendTransport(to, nil); err == nil {
			t.Errorf("%s: NewBackendTransport accepted it", tc.name)
		}
	}
}

func TestNewServerAndTransportCarryTheTimeouts(t *testing.T) {
	to := Timeouts{Dial: 1, TLSHandshake: 2, ResponseHeader: 3, IdleConn: 4, Request: 5, ReadHeader: 6, Read: 7, Write: 8, Idle: 9}
	s, err := NewServer(http.NotFoundHandler(), to)
	if err != nil {
		t.Fatal(err)
	}
	if s.ReadHeaderTimeout != 6 || s.ReadTimeout != 7 || s.IdleTimeout != 9 || s.WriteTimeout != 0 || s.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Fatalf("server %+v", s)
	}
	tr, err := NewBackendTransport(to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.TLSHandshakeTimeout != 2 || tr.ResponseHeaderTimeout != 3 || tr.IdleConnTimeout != 4 || tr.Proxy != nil {
		t.Fatalf("transport %+v", tr)
	}
	if d := BackendDialer(to); d.Timeout != 1 {
		t.Fatalf("dialer timeout %v", d.Timeout)
	}
}

// TestRequestTimeoutIs504: a request that no backend answers within
// Timeouts.Request gets 504 naming the timeout, and the backend is not
// charged.
func TestRequestTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	b, err := balancer.New(nodesAt(hung.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithEjection(1, time.Minute, time.Minute))
	to := DefaultTimeouts
	to.Request = 50 * time.Millisecond
	srv, err := NewServer(tr.Proxy(), to)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(srv.Handler)
	front.Config = srv
	front.Start()
	defer front.Close()
	resp, err := http.Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "request timeout (50ms)") {
		t.Fatalf("%s %q, want 504 naming the request timeout", resp.Status, body)
	}
	if tr.Failures() != 0 {
		t.Fatalf("the backend was charged %d failures", tr.Failures())
	}
}

// TestRequestTimeoutZeroIsOff: Timeouts.Request 0 sets no deadline.
func TestRequestTimeoutZeroIsOff(t *testing.T) {
	to := DefaultTimeouts
	to.Request = 0
	srv, err := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); ok || r.Context().Err() != nil {
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}), to)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 {
		t.Fatalf("Request 0: the handler saw a deadline (%d)", rec.Code)
	}
}

// Test503SaysWhy: with no node, the 503 carries WithNoNodeReason's reason,
// or the balancer's.
func Test503SaysWhy(t *testing.T) {
	b, err := balancer.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		why, want string
	}{
		{"fetch: open registry.json: no such file", "safewrr: no backends yet: fetch: open registry.json: no such file\n"},
		{"", "safewrr: no backend can take the request now: no backends\n"},
	} {
		rp := mustProxy(t, b, WithNoNodeReason(func() string { return tc.why }))
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != 503 || rec.Body.String() != tc.want || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("why %q: %d %q", tc.why, rec.Code, rec.Body.String())
		}
	}
}

// TestBufferBudget: a body that would take the held bytes past the budget
// streams (no retry) and is counted; the budget is given back afterwards.
func TestBufferBudget(t *testing.T) {
	f := newFixture(t, []uint32{1, 1}, nil, WithEjection(0, 0, 0), WithBufferBudget(10))
	f.net.set("a:1", true)
	f.net.set("b:1", true)
	f.t.budget.held.Store(5) // another request holds 5 bytes
	req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader("123456")))
	f.t.RoundTrip(req)
	if got := f.net.take(); len(got) != 1 || f.t.Unbuffered() != 1 {
		t.Fatalf("over the budget: attempts %v, unbuffered %d; want one attempt, streamed", got, f.t.Unbuffered())
	}
	f.t.budget.held.Store(0)
	req, _ = http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader("123456")))
	req.ContentLength = 6
	f.t.RoundTrip(req)
	if got := f.net.take(); len(got) != 2 || f.t.budget.held.Load() != 0 {
		t.Fatalf("within the budget: attempts %v, held %d; want a retry and the budget back", got, f.t.budget.held.Load())
	}
}

func TestLimitListener(t *testing.T) {
	if ln := LimitListener(nil, 0); ln != nil {
		t.Fatal("LimitListener(ln, 0) is not ln")
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 1).(*limitListener)
	defer ln.Close()
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if len(ln.slots) != cap(ln.slots) {
		t.Fatal("one connection open and a free slot: the limit does not hold")
	}
	second := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		second <- c
	}()
	first.Close()
	first.Close() // a second Close gives back nothing more
	c := <-second
	if c == nil {
		t.Fatal("no second connection after the first closed")
	}
	c.Close()
	ln.Close()
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
}

func nodesAt(addr string) []weights.Node { return []weights.Node{{ID: addr, Weight: 1}} }

// TestBufferSizes: a body of exactly the buffer's size, announced or not,
// is buffered and sent again on a retry; a client request's length 0 with a
// body means unknown, never empty; a known length reserves exactly its
// bytes of the budget.
func TestBufferSizes(t *testing.T) {
	for _, tc := range []struct {
		body       string
		length     int64
		budget     int64
		attempts   int
		unbuffered int64
	}{
		{"123456", 6, 0, 2, 0},
		{"1234567", 7, 0, 1, 0}, // over the buffer: streamed
		{"123", 0, 0, 2, 0},     // length 0 with a body: unknown
		{"123456", 6, 6, 2, 0},  // the budget holds it exactly
		{"123456", 6, 5, 1, 1},  // one byte short: streamed
	} {
		opts := []Option{WithBodyBuffer(6), WithEjection(0, 0, 0)}
		if tc.budget > 0 {
			opts = append(opts, WithBufferBudget(tc.budget))
		}
		f := newFixture(t, []uint32{1, 1}, nil, opts...)
		f.net.set("a:1", true)
		f.net.set("b:1", true)
		req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader(tc.body)))
		req.ContentLength = tc.length
		f.t.RoundTrip(req)
		got := f.net.take()
		f.net.mu.Lock()
		bodies := f.net.bodies
		f.net.mu.Unlock()
		if len(got) != tc.attempts || f.t.Unbuffered() != tc.unbuffered || bodies[0] != tc.body {
			t.Errorf("body %q length %d budget %d: attempts %v, unbuffered %d, first body %q; want %d attempts, %d unbuffered",
				tc.body, tc.length, tc.budget, got, f.t.Unbuffered(), bodies[0], tc.attempts, tc.unbuffered)
		}
	}
}

func TestBudgetTakeAndGive(t *testing.T) {
	b := &budget{limit: 10}
	for i, step := range []struct {
		take, give int64
		ok         bool
		held       int64
	}{
		{take: 10, ok: true, held: 10}, // up to the limit exactly
		{take: 1, ok: false, held: 10}, // one past: refused, nothing kept
		{give: 4, held: 6},
		{take: 4, ok: true, held: 10},
		{give: 10, held: 0},
	} {
		if step.take > 0 {
			if ok := b.take(step.take); ok != step.ok {
				t.Errorf("step %d: take(%d) = %v, want %v", i, step.take, ok, step.ok)
			}
		} else {
			b.give(step.give)
		}
		if got := b.held.Load(); got != step.held {
			t.Errorf("step %d: held %d, want %d", i, got, step.held)
		}
	}
	free := &budget{}
	if !free.take(1<<40) || free.held.Load() != 0 {
		t.Fatalf("no limit: take refused or counted (held %d)", free.held.Load())
	}
	free.give(1 << 40)
	if free.held.Load() != 0 {
		t.Fatalf("no limit: give counted (held %d)", free.held.Load())
	}
}

// TestMaxBody: a body of exactly the limit goes through, buffered or
// streamed; one byte more is a 413 RequestError, before any attempt when
// its length is announced.
func TestMaxBody(t *testing.T) {
	for _, buffer := range []int64{DefaultBodyBuffer, 0} {
		f := newFixture(t, []uint32{1}, nil, WithMaxBody(6), WithBodyBuffer(buffer))
		for _, tc := range []struct {
			body     string
			length   int64
			status   int // 0: delivered
			attempts int
		}{
			{"123456", 6, 0, 1},
			{"1234567", 7, http.StatusRequestEntityTooLarge, 0},
			{"123456", -1, 0, 1},
			{"1234567", -1, http.StatusRequestEntityTooLarge, 1 - min(int(buffer), 1)},
		} {
			req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(strings.NewReader(tc.body)))
			req.ContentLength = tc.length
			resp, err := f.t.RoundTrip(req)
			var rerr *RequestError
			switch {
			case tc.status == 0 && (err != nil || resp.StatusCode != 200):
				t.Errorf("buffer %d, body %q (length %d): %v, want it delivered", buffer, tc.body, tc.length, err)
			case tc.status != 0 && (!errors.As(err, &rerr) || rerr.Status != tc.status):
				t.Errorf("buffer %d, body %q (length %d): %v, want a RequestError %d", buffer, tc.body, tc.length, err, tc.status)
			}
			if got := f.net.take(); len(got) != tc.attempts {
				t.Errorf("buffer %d, body %q (length %d): attempts %v, want %d", buffer, tc.body, tc.length, got, tc.attempts)
			}
		}
	}
}

// isReset reports whether err is a connection reset by the peer.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// rawGet sends a keep-alive GET on c and reads its whole response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader) string {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLimitConnsReclaimsIdle: with the limit held by one client's idle
// keep-alive connections, a new client is answered (an idle connection is
// closed for it, the oldest first) without waiting for the idle timeout;
// a connection in the middle of a request is not cut, and a newcomer
// is answered once one goes idle.
//
// A client can read its response before the server has marked the
// connection idle, so the test waits for the server's own StateIdle
// before it counts a connection as idle.
func TestLimitConnsReclaimsIdle(t *testing.T) {
	if ln := LimitConns(&http.Server{}, nil, 0); ln != nil {
		t.Fatal("LimitConns(srv, ln, 0) is not ln")
	}
	inBody := make(chan struct{}, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			inBody <- struct{}{}
		}
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, fmt.Sprintf("%s %d", r.Method, len(b)))
	})
	tm := DefaultTimeouts
	tm.Idle, tm.Read, tm.Request = time.Hour, time.Hour, 0 // only a reclaim frees a slot
	srv, err := NewServer(h, tm)
	if err != nil {
		t.Fatal(err)
	}
	type connState struct {
		client string // the client's end: the server's RemoteAddr
		st     http.ConnState
	}
	states := make(chan connState, 256)
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		states <- connState{c.RemoteAddr().String(), st}
	}
	var first []http.ConnState
	idleNow := map[string]bool{}
	waitIdle := func(c net.Conn) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for !idleNow[c.LocalAddr().String()] {
			select {
			case s := <-states:
				if len(first) == 0 {
					first = append(first, s.st)
				}
				idleNow[s.client] = s.st == http.StateIdle
			case <-timeout:
				t.Fatalf("the server never marked %v idle", c.LocalAddr())
			}
		}
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	go srv.Serve(LimitConns(srv, inner, n))
	defer srv.Close()
	deadline := time.Now().Add(30 * time.Second)
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(deadline)
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	// One client holds every slot with idle keep-alive connections.
	idle := make([]net.Conn, n)
	idleR := make([]*bufio.Reader, n)
	for i := range idle {
		idle[i], idleR[i] = dial()
		if got := rawGet(t, idle[i], idleR[i]); got != "GET 0" {
			t.Fatalf("idle conn %d: %q", i, got)
		}
		waitIdle(idle[i])
	}
	// The previous hook still runs.
	if first[0] != http.StateNew {
		t.Fatalf("the hook set before LimitConns saw %v first", first[0])
	}
	for i := range n {
		newcomer, br := dial()
		if got := rawGet(t, newcomer, br); got != "GET 0" {
			t.Fatalf("newcomer: %q", got)
		}
		waitIdle(newcomer)
		// The connection idle the longest went for it: idle[i], at once.
		idle[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := idleR[i].ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("newcomer %d: idle conn %d was not closed for it: %v", i, i, err)
		}
	}

	// A connection mid-request holds its slot: the newcomer is answered
	// only once it finishes (and goes idle), and it is not cut.
	busy := make([]net.Conn, 0, n)
	busyR := make([]*bufio.Reader, 0, n)
	for range n { // every slot now mid-request: the previous conns are reclaimed for these
		c, br := dial()
		if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"); err != nil {
			t.Fatal(err)
		}
		<-inBody
		busy, busyR = append(busy, c), append(busyR, br)
	}
	late, lateR := dial()
	lateDone := make(chan string, 1)
	go func() {
		io.WriteString(late, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(lateR, nil)
		if err != nil {
			lateDone <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		lateDone <- string(b)
	}()
	for i, c := range busy {
		if _, err := io.WriteString(c, "cd"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(busyR[i], nil)
		if err != nil {
			t.Fatalf("busy conn %d cut: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "POST 4" {
			t.Fatalf("busy conn %d: %q", i, b)
		}
	}
	if got := <-lateDone; got != "GET 0" {
		t.Fatalf("the newcomer after the busy ones: %q", got)
	}
}
