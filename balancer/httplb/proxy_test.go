package httplb

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// loopback starts a backend on 127.0.0.1 that answers with its name and
// records the headers it saw.
type loopback struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
	last http.Header
	host string
}

func startLoopback(t *testing.T, name string) *loopback {
	t.Helper()
	l := &loopback{name: name}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.hits++
		l.last = r.Header.Clone()
		l.host = r.Host
		l.mu.Unlock()
		io.WriteString(w, name)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *loopback) addr() string { return l.srv.Listener.Addr().String() }

func (l *loopback) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hits
}

// deadAddr returns a loopback address where connections are refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(nil)
	addr := s.Listener.Addr().String()
	s.Close()
	return addr
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProxyServesAroundADeadBackend(t *testing.T) {
	clock := clocktest.New()
	a, c := startLoopback(t, "a"), startLoopback(t, "c")
	dead := deadAddr(t)
	b, err := balancer.New([]weights.Node{{ID: a.addr(), Weight: 1}, {ID: dead, Weight: 1}, {ID: c.addr(), Weight: 1}},
		balancer.WithClock(clock.Now), balancer.WithSlowStart(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, b, WithClock(clock.Now), WithEjection(2, time.Minute, time.Hour))
	front := httptest.NewServer(tr.Proxy())
	defer front.Close()
	for i := 0; i < 30; i++ {
		code, body := getBody(t, front.URL+"/x")
		if code != 200 || (body != "a" && body != "c") {
			t.Fatalf("request %d = %d %q", i, code, body)
		}
	}
	if a.count()+c.count() != 30 {
		t.Fatalf("backends served %d+%d, want 30", a.count(), c.count())
	}
	states := map[string]balancer.State{}
	for _, s := range b.States() {
		states[s.ID] = s.State
	}
	if states[dead] != balancer.Ejected || states[a.addr()] != balancer.Serving {
		t.Fatalf("states = %v, want the dead node ejected", states)
	}
	// After the ejection the node comes back ramping (slow start).
	clock.Advance(time.Minute)
	if st := b.States()[1].State; st != balancer.Ramping {
		t.Fatalf("dead node after its ejection: %v, want ramping", st)
	}
}

func TestProxyHeaders(t *testing.T) {
	a := startLoopback(t, "a")
	b, _ := balancer.New([]weights.Node{{ID: a.addr(), Weight: 1}})
	front := httptest.NewServer(mustProxy(t, b))
	defer front.Close()
	if code, body := getBody(t, front.URL+"/p?q=1"); code != 200 || body != "a" {
		t.Fatalf("GET = %d %q", code, body)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if got := a.last.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want 127.0.0.1", got)
	}
	if got, want := a.last.Get("X-Forwarded-Host"), strings.TrimPrefix(front.URL, "http://"); got != want {
		t.Errorf("X-Forwarded-Host = %q, want %q", got, want)
	}
	if a.host != a.addr() {
		t.Errorf("Host = %q, want the backend's address %q", a.host, a.addr())
	}
}

func TestProxyErrorStatuses(t *testing.T) {
	tests := []struct {
		name  string
		nodes func(t *testing.T) []weights.Node
		want  int
	}{
		{"all drained", func(t *testing.T) []weights.Node {
			return []weights.Node{{ID: startLoopback(t, "a").addr(), Weight: 0}}
		}, http.StatusServiceUnavailable},
		{"no backends", func(t *testing.T) []weights.Node { return nil }, http.StatusServiceUnavailable},
		{"all down", func(t *testing.T) []weights.Node {
			return []weights.Node{{ID: deadAddr(t), Weight: 1}, {ID: deadAddr(t), Weight: 1}}
		}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := balancer.New(tt.nodes(t))
			if err != nil {
				t.Fatal(err)
			}
			front := httptest.NewServer(mustProxy(t, b))
			defer front.Close()
			if code, _ := getBody(t, front.URL); code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
		})
	}
}
