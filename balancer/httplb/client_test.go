package httplb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// rawStatus writes payload to addr on a fresh connection and returns the
// answer's status (0 when the connection closed without one).
func rawStatus(t *testing.T, addr, payload string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, payload)
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound for a broken proxy, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClientFaultsChargeNoNode: through a proxy from NewTransport, a
// request whose trailer cannot be forwarded or whose body cannot be read
// is answered 400 and charges no node, however many times it comes.
func TestClientFaultsChargeNoNode(t *testing.T) {
	var nodes []weights.Node
	for _, n := range []string{"a", "b", "c"} {
		nodes = append(nodes, weights.Node{ID: startLoopback(t, n).addr(), Weight: 1})
	}
	b, err := balancer.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithEjection(1, time.Minute, time.Minute))
	rp := tr.Proxy()
	// A handler that reads the body first (as a buffering server does), so
	// the trailer is known before the request goes out.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			data = nil
		}
		r.Body = io.NopCloser(strings.NewReader(string(data)))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil }
		r.ContentLength = int64(len(data))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	streamed := httptest.NewServer(rp)
	t.Cleanup(streamed.Close)
	for _, tc := range []struct {
		name, addr, payload string
	}{
		{"trailer-content-length", front.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 1\r\n\r\n"},
		{"trailer-trailer", front.Listener.Addr().String(), "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n\r\n"},
		{"bad-chunk", streamed.Listener.Addr().String(), "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
		{"fragment-in-path", streamed.Listener.Addr().String(), "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"fragment-in-query", streamed.Listener.Addr().String(), "GET /a?q=1#frag HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"bad-trailer-line", streamed.Listener.Addr().String(), "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nnot a field\r\n\r\n"},
	} {
		for range 3 {
			if code := rawStatus(t, tc.addr, tc.payload); code != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tc.name, code)
			}
		}
		if tr.Failures() != 0 || tr.Ejections() != 0 {
			t.Fatalf("%s: %d failures and %d ejections charged to nodes", tc.name, tr.Failures(), tr.Ejections())
		}
	}
	if got := tr.ClientErrors(); got != 18 {
		t.Errorf("ClientErrors() = %d, want 18", got)
	}
	for range 6 {
		if code := rawStatus(t, streamed.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); code != 200 {
			t.Fatalf("a normal GET got %d", code)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestRequestErrorStatus(t *testing.T) {
	timeout := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&http.MaxBytesError{Limit: 1}, http.StatusRequestEntityTooLarge},
		{timeout, http.StatusRequestTimeout},
		{os.ErrDeadlineExceeded, http.StatusRequestTimeout},
		{context.Canceled, StatusClientClosedRequest},
		{io.ErrUnexpectedEOF, http.StatusBadRequest},
		{errors.New("invalid byte in chunk length"), http.StatusBadRequest},
	} {
		if got := requestError(tc.err).Status; got != tc.want {
			t.Errorf("requestError(%v).Status = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestBodyReadErrorIsTheClients: whatever the base RoundTripper returns
// after the request body failed to read, the attempt is the client's fault:
// no node charged, no retry.
func TestBodyReadErrorIsTheClients(t *testing.T) {
	f := newFixture(t, []uint32{1, 1, 1}, nil, WithEjection(1, time.Minute, time.Minute))
	// As http.Transport: a body that fails to read fails the attempt with
	// an error of the connection's.
	f.t.cfg.base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		f.net.RoundTrip(r)
		if _, err := io.ReadAll(r.Body); err != nil {
			return nil, &net.OpError{Op: "write", Err: errors.New("broken pipe")}
		}
		return nil, errors.New("the body read without error")
	})
	req, _ := http.NewRequest(http.MethodPut, "http://service/", io.NopCloser(errReader{&http.MaxBytesError{Limit: 8}}))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(errReader{errors.New("again")}), nil }
	_, err := f.t.RoundTrip(req)
	var rerr *RequestError
	if !errors.As(err, &rerr) || rerr.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("RoundTrip error %v, want a RequestError with 413", err)
	}
	if got := f.net.take(); len(got) != 1 {
		t.Fatalf("attempts %v, want one", got)
	}
	if f.t.Failures() != 0 || f.t.Ejections() != 0 {
		t.Fatalf("failures %d ejections %d", f.t.Failures(), f.t.Ejections())
	}
}

// TestBodyClosedByTheTransportIsNotTheClients: a read error after the base
// RoundTripper closed the body (the backend failed first) stays the node's.
func TestBodyClosedByTheTransportIsNotTheClients(t *testing.T) {
	b := &clientBody{rc: io.NopCloser(errReader{errors.New("read after close")})}
	b.Close()
	b.Read(make([]byte, 1))
	if err := b.failure(); err != nil {
		t.Fatalf("failure() = %v after Close, want nil", err)
	}
	b = &clientBody{rc: io.NopCloser(errReader{io.ErrUnexpectedEOF})}
	b.Read(make([]byte, 1))
	if err := b.failure(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("failure() = %v, want the read error", err)
	}
}

func TestCheckTrailer(t *testing.T) {
	for _, tc := range []struct {
		trailer http.Header
		ok      bool
	}{
		{nil, true},
		{http.Header{"X-Checksum": {"abc"}}, true},
		{http.Header{"Content-Length": {"1"}}, false},
		{http.Header{"transfer-encoding": {"chunked"}}, false},
		{http.Header{"Host": {"evil"}}, false},
		{http.Header{"Bad Name": {"x"}}, false},
		{http.Header{"X-A": {"a\r\nb"}}, false},
	} {
		err := checkTrailer(&http.Request{Trailer: tc.trailer})
		if (err == nil) != tc.ok {
			t.Errorf("checkTrailer(%v) = %v, want ok %v", tc.trailer, err, tc.ok)
		}
	}
}

func TestValidFieldName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"X-Checksum", true},
		{"x_y.z~1", true},
		{"!#$%&'*+-.^_`|~09azAZ", true},
		{"", false},
		{"Bad Name", false},
		{"a:b", false},
		{"a\x00", false},
		{"é", false},
		{"a(b)", false},
	} {
		if got := validFieldName(tc.name); got != tc.ok {
			t.Errorf("validFieldName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// TestConnectAndTraceAre405: CONNECT and TRACE from a raw socket are
// answered 405 without an Allow header, with a body that says why; no
// backend sees them, no node is charged, each counts as a client error.
func TestConnectAndTraceAre405(t *testing.T) {
	be := startLoopback(t, "a")
	b, err := balancer.New([]weights.Node{{ID: be.addr(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithEjection(1, time.Minute, time.Minute))
	front := httptest.NewServer(tr.Proxy())
	t.Cleanup(front.Close)
	payloads := []string{
		"CONNECT " + be.addr() + " HTTP/1.1\r\nHost: " + be.addr() + "\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"TRACE / HTTP/1.1\r\nHost: x\r\nCookie: secret\r\n\r\n",
		"trace / HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, p := range payloads {
		c, err := net.Dial("tcp", front.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, p)
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound for a broken proxy, not a measure
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("%q: %v", p, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%q: status %d, want 405", p, resp.StatusCode)
		}
		if resp.Header.Get("Allow") != "" {
			t.Errorf("%q: an Allow header %q", p, resp.Header.Get("Allow"))
		}
		if !strings.Contains(string(body), "is not forwarded") {
			t.Errorf("%q: the body does not say why: %q", p, body)
		}
	}
	if be.count() != 0 || tr.Failures() != 0 || tr.Ejections() != 0 {
		t.Fatalf("backend hits %d, failures %d, ejections %d: want none", be.count(), tr.Failures(), tr.Ejections())
	}
	if got := tr.ClientErrors(); got != int64(len(payloads)) {
		t.Errorf("ClientErrors() = %d, want %d", got, len(payloads))
	}
	if code := rawStatus(t, front.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); code != 200 || be.count() != 1 {
		t.Fatalf("a normal GET after them: %d, backend hits %d", code, be.count())
	}
}

// TestMaxStreamed: with the cap on streamed bodies reached, a request with
// a body is answered 503 saying why (Retry-After, no node charged, no
// backend reached) while a body-less request still goes through; the slot
// comes back when the streamed body is done, and a request with a body is
// forwarded again.
func TestMaxStreamed(t *testing.T) {
	inBody := make(chan struct{}, 4)
	var hits sync.Mutex
	n := 0
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Lock()
		n++
		hits.Unlock()
		if r.ContentLength != 0 {
			inBody <- struct{}{}
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d", len(b))
	}))
	t.Cleanup(be.Close)
	b, err := balancer.New([]weights.Node{{ID: be.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTransport(b, WithMaxStreamed(-1)); err == nil {
		t.Fatal("WithMaxStreamed(-1) accepted")
	}
	tr := mustTransport(t, b, WithBodyBuffer(0), WithMaxStreamed(1), WithEjection(1, time.Minute, time.Minute))
	front := httptest.NewServer(tr.Proxy())
	t.Cleanup(front.Close)
	addr := front.Listener.Addr().String()

	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.SetDeadline(time.Now().Add(30 * time.Second)) // a bound for a broken proxy, not a measure
	io.WriteString(held, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
	<-inBody // the held body is streaming: it has the one slot
	if tr.Streaming() != 1 {
		t.Fatalf("Streaming() = %d with one body held", tr.Streaming())
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxy")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many request bodies") {
		t.Fatalf("past the cap: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if tr.StreamRefused() != 1 || tr.Failures() != 0 || tr.Ejections() != 0 {
		t.Fatalf("Refused %d, Failures %d, Ejections %d: want 1, 0, 0", tr.StreamRefused(), tr.Failures(), tr.Ejections())
	}
	if code := rawStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); code != 200 {
		t.Fatalf("a GET while the cap is reached: %d", code)
	}

	io.WriteString(held, "cd")
	resp, err = http.ReadResponse(bufio.NewReader(held), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "4" {
		t.Fatalf("the held request: %d %q", resp.StatusCode, body)
	}
	// The transport closes the body when it is done with it, perhaps just
	// after the response: wait for that, within a bound.
	deadline := time.After(20 * time.Second)
	for tr.Streaming() != 0 {
		select {
		case <-deadline:
			t.Fatalf("Streaming() = %d after the body was sent", tr.Streaming())
		default:
			runtime.Gosched()
		}
	}
	if code := rawStatus(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"); code != 200 {
		t.Fatalf("a body after the slot came back: %d", code)
	}
	hits.Lock()
	defer hits.Unlock()
	if n != 3 {
		t.Fatalf("the backend saw %d requests, want 3 (the refused one never reached it)", n)
	}
}
