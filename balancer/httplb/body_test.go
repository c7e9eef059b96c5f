package httplb

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// startMidBodyDeath starts a backend that announces 100,000 bytes, sends
// 1,000 and closes the connection.
func startMidBodyDeath(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBodyFailuresEject: a backend that dies mid-body is ejected like one
// that refuses connections; the client of such a response sees it cut short
// (or, when the proxy had not flushed the headers yet, the connection closed
// with no response).
func TestBodyFailuresEject(t *testing.T) {
	good := startLoopback(t, "good")
	bad := startMidBodyDeath(t)
	clock := clocktest.New()
	b, err := balancer.New([]weights.Node{
		{ID: good.srv.Listener.Addr().String(), Weight: 1},
		{ID: bad.Listener.Addr().String(), Weight: 1},
	}, balancer.WithClock(clock.Now), balancer.WithMaxEjectedPercent(50))
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithClock(clock.Now), WithEjection(3, time.Minute, time.Hour))
	front := httptest.NewServer(tr.Proxy())
	defer front.Close()
	// A client that never retries by itself (a fresh connection each time).
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	cut := 0
	for i := 0; i < 40; i++ {
		resp, err := client.Get(front.URL + "/x")
		if err != nil {
			// The proxy had sent nothing yet when it aborted the response.
			cut++
			continue
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case rerr != nil:
			if !errors.Is(rerr, io.ErrUnexpectedEOF) || len(body) >= 100000 {
				t.Fatalf("request %d: cut short with %v after %d bytes", i, rerr, len(body))
			}
			cut++
		case string(body) != "good":
			t.Fatalf("request %d: %q", i, body)
		}
	}
	if cut != 3 || tr.Ejections() != 1 || tr.BodyFailures() != 3 {
		t.Fatalf("%d responses cut short, %d ejections, %d body failures; want 3, 1, 3 (ejected after the third)", cut, tr.Ejections(), tr.BodyFailures())
	}
	if st := b.States(); st[1].State != balancer.Ejected {
		t.Fatalf("the mid-body node is %v, want ejected", st[1].State)
	}
}

// TestBodyReadToTheEndIsSuccess: an ejected node's first complete response
// restores it; one whose body is only closed early does not count.
func TestBodyReadToTheEndIsSuccess(t *testing.T) {
	a := startLoopback(t, "a")
	clock := clocktest.New()
	b, err := balancer.New([]weights.Node{{ID: a.srv.Listener.Addr().String(), Weight: 1}, {ID: "127.0.0.1:1", Weight: 1}},
		balancer.WithClock(clock.Now), balancer.WithMaxEjectedPercent(100))
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithClock(clock.Now), WithEjection(1, time.Minute, time.Hour))
	id := a.srv.Listener.Addr().String()
	tr.failed(id, errors.New("planted"), nil)
	if st := b.States(); st[0].State != balancer.Ejected {
		t.Fatalf("state %v", st[0].State)
	}
	req, _ := http.NewRequest("GET", "http://"+id+"/", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp = tr.watchBody(req, resp, id)
	resp.Body.Close() // closed unread: no news
	if st := b.States(); st[0].State != balancer.Ejected {
		t.Fatalf("after a body closed unread: %v, want still ejected", st[0].State)
	}
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp = tr.watchBody(req, resp, id)
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if st := b.States(); st[0].State == balancer.Ejected {
		t.Fatal("after a body read to the end: still ejected")
	}
}

// TestUnsentRequestsAreRetried: a POST whose attempt could not connect
// never reached a backend, so it goes to the next node; a POST that reached
// a backend which then failed is not sent again.
func TestUnsentRequestsAreRetried(t *testing.T) {
	good := startLoopback(t, "good")
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	b, err := balancer.New([]weights.Node{{ID: deadAddr, Weight: 1}, {ID: good.srv.Listener.Addr().String(), Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithEjection(0, time.Minute, time.Minute))
	for i := 0; i < 4; i++ {
		// NewRequest gives a strings.Reader body a GetBody: it can be replayed.
		req, _ := http.NewRequest(http.MethodPost, "http://ignored/", strings.NewReader("payload"))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "good" {
			t.Fatalf("POST %d: %s %q, want the good node's answer", i, resp.Status, body)
		}
	}
	if !notSent(&net.OpError{Op: "dial", Err: errors.New("refused")}) || notSent(errors.New("EOF")) {
		t.Fatal("notSent")
	}
}
