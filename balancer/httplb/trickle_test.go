package httplb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// manualDeadline is a context whose deadline the test reaches by calling
// end: no clock is involved. It also ends, with its parent's error, when
// its parent does.
type manualDeadline struct {
	context.Context
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	err  error
}

func newManualDeadline(parent context.Context) *manualDeadline {
	c := &manualDeadline{Context: parent, done: make(chan struct{})}
	context.AfterFunc(parent, func() { c.end(parent.Err()) })
	return c
}

func (c *manualDeadline) Done() <-chan struct{} { return c.done }

func (c *manualDeadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// end ends the context with err (context.DeadlineExceeded: its deadline
// passed).
func (c *manualDeadline) end(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

// trickleHead is what the trickling backend sends before it stalls.
const trickleHead = "first"

// startTrickle starts a backend that answers 200, sends trickleHead and
// then sends nothing more until its client goes away or the test ends.
func startTrickle(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, trickleHead)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv
}

// waitSignal is a RoundTripper whose response bodies say on waiting when a
// read starts after trickleHead was read: a read that can only wait for the
// backend. It sits under the Transport's own body accounting, so when the
// signal arrives that accounting has already seen the read begin.
type waitSignal struct {
	base    http.RoundTripper
	waiting chan struct{}
}

func (s *waitSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err == nil {
		resp.Body = &signalBody{rc: resp.Body, waiting: s.waiting}
	}
	return resp, err
}

type signalBody struct {
	rc      io.ReadCloser
	waiting chan struct{}
	read    atomic.Int64
}

func (b *signalBody) Read(p []byte) (int, error) {
	if b.read.Load() >= int64(len(trickleHead)) {
		select {
		case b.waiting <- struct{}{}:
		default:
		}
	}
	n, err := b.rc.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *signalBody) Close() error { return b.rc.Close() }

// newTrickleTransport returns a Transport over the one trickling node,
// ejecting it after ejectAfter failures, and the channel its bodies signal
// waiting reads on.
func newTrickleTransport(t *testing.T, srv *httptest.Server, ejectAfter int) (*Transport, chan struct{}) {
	t.Helper()
	clock := clocktest.New()
	b, err := balancer.New([]weights.Node{{ID: srv.Listener.Addr().String(), Weight: 1}},
		balancer.WithClock(clock.Now), balancer.WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	waiting := make(chan struct{}, 1)
	tr := mustTransport(t, b, WithClock(clock.Now), WithEjection(ejectAfter, time.Minute, time.Hour),
		WithBase(&waitSignal{base: base, waiting: waiting}))
	return tr, waiting
}

// TestTrickledBodyCutByDeadlineCounts: a body that is still unfinished
// when the request's deadline passes while a read waits for the backend is
// the node's failure, toward ejection; a cancellation by the caller is not,
// nor is a deadline that had passed before the read began (the time was
// spent elsewhere, for example writing to a slow client). The deadline is
// reached by the test, not by a clock.
func TestTrickledBodyCutByDeadlineCounts(t *testing.T) {
	srv := startTrickle(t)
	tr, waiting := newTrickleTransport(t, srv, 2)
	id := srv.Listener.Addr().String()
	for i, c := range []struct {
		name       string
		end        error // how the request's context ends
		whileWait  bool  // while a read waits for the backend, or before it starts
		failures   int64 // BodyFailures afterwards
		wantEjectd bool
	}{
		{"caller cancels while waiting", context.Canceled, true, 0, false},
		{"deadline passed before the read", context.DeadlineExceeded, false, 0, false},
		{"deadline while waiting", context.DeadlineExceeded, true, 1, false},
		{"deadline while waiting again", context.DeadlineExceeded, true, 2, true},
	} {
		ctx := newManualDeadline(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ignored/slow", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		head := make([]byte, len(trickleHead))
		if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != trickleHead {
			t.Fatalf("%s: head %q, %v", c.name, head, err)
		}
		if !c.whileWait {
			ctx.end(c.end)
		}
		read := make(chan error, 1)
		go func() {
			_, err := resp.Body.Read(make([]byte, 64))
			read <- err
		}()
		if c.whileWait {
			<-waiting
			ctx.end(c.end)
		}
		if err := <-read; err == nil {
			t.Fatalf("%s: the read after the context ended did not fail", c.name)
		}
		resp.Body.Close()
		// A request ended before its read began never signals; drop any
		// signal so the next request starts clean.
		select {
		case <-waiting:
		default:
		}
		st, _ := tr.Balancer().State(id)
		if got := tr.BodyFailures(); got != c.failures || (st.State == balancer.Ejected) != c.wantEjectd {
			t.Fatalf("request %d (%s): %d body failures, node %v; want %d, ejected %v",
				i, c.name, got, st.State, c.failures, c.wantEjectd)
		}
	}
	if tr.Ejections() != 1 {
		t.Fatalf("%d ejections, want 1", tr.Ejections())
	}
}

// TestProxyTrickledBody: through the proxy, the client of a trickling
// backend gets the status and what was sent, then the connection is cut
// when the deadline passes (counted against the node); a client that goes
// away is not counted.
func TestProxyTrickledBody(t *testing.T) {
	srv := startTrickle(t)
	tr, waiting := newTrickleTransport(t, srv, 3)
	ctxs := make(chan *manualDeadline, 1)
	served := make(chan struct{}, 1)
	proxy := tr.Proxy()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { served <- struct{}{} }()
		ctx := newManualDeadline(r.Context())
		ctxs <- ctx
		proxy.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	get := func() (*http.Response, *manualDeadline) {
		resp, err := client.Get(front.URL + "/slow")
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, len(trickleHead))
		if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != trickleHead || resp.StatusCode != 200 {
			t.Fatalf("%s, head %q, %v", resp.Status, head, err)
		}
		ctx := <-ctxs
		<-waiting // the proxy waits on the backend for more
		return resp, ctx
	}

	// The client goes away: its connection closes, the request is canceled.
	resp, _ := get()
	resp.Body.Close()
	<-served
	if n := tr.BodyFailures(); n != 0 {
		t.Fatalf("after a client went away: %d body failures, want 0", n)
	}

	// The deadline passes while the proxy waits for the backend.
	resp, ctx := get()
	ctx.end(context.DeadlineExceeded)
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	<-served
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(rest) != 0 {
		t.Fatalf("the client read %q more, then %v; want the body cut short (unexpected EOF)", rest, err)
	}
	if n := tr.BodyFailures(); n != 1 {
		t.Fatalf("after a deadline passed while the backend trickled: %d body failures, want 1", n)
	}
}
