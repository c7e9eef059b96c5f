package httplb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/feed"
)

func adminGet(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String()
}

// TestAdminAnswersBeforeTheFeed: an Admin without a feed answers at once,
// 503 saying that nothing is loaded yet; attached, it shows the feed.
func TestAdminAnswersBeforeTheFeed(t *testing.T) {
	var a Admin
	if code, body := adminGet(t, &a, HealthPath); code != 503 || !strings.Contains(body, NotLoaded) {
		t.Fatalf("health before Attach: %d %q", code, body)
	}
	code, body := adminGet(t, &a, StatusPath)
	var st AdminStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 503 || st.LastError != NotLoaded || st.Nodes == nil {
		t.Fatalf("status before Attach: %d %q (%v)", code, body, err)
	}
	// A long-poll before Attach answers at once too.
	if code, _ := adminGet(t, &a, StatusPath+"?after=5&wait=30s"); code != 503 {
		t.Fatalf("long-poll before Attach: %d", code)
	}

	src := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(`{"10.0.0.1:80": 2, "10.0.0.2:80": 0}`), nil })
	f, err := feed.New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, f.Balancer())
	a.Attach(f, f.Balancer(), tr)
	if code, body := adminGet(t, &a, HealthPath); code != 200 || body != "ok: 1 of 2 nodes serving, generation 1\n" {
		t.Fatalf("health: %d %q", code, body)
	}
	code, body = adminGet(t, &a, StatusPath)
	st = AdminStatus{}
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 || st.NodesTotal != 2 || st.Generation != 1 || st.Nodes[1].State != "drained" {
		t.Fatalf("status: %d %q (%v)", code, body, err)
	}
	for _, target := range []string{"/", "/-/safewrr/", "/-/healthz"} {
		if code, _ := adminGet(t, &a, target); code != 404 {
			t.Errorf("GET %s: %d, want 404", target, code)
		}
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, StatusPath, nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d", rec.Code)
	}
}

// TestAdminLongPollsAreCapped: beyond MaxStatusWaiters held long-polls, a
// further one is answered at once with the current state.
func TestAdminLongPollsAreCapped(t *testing.T) {
	src := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(`{"10.0.0.1:80": 1}`), nil })
	f, err := feed.New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	var a Admin
	a.Attach(f, f.Balancer(), nil)
	srv := httptest.NewServer(&a)
	defer srv.Close()
	a.waiters.Store(MaxStatusWaiters)
	c := &http.Client{Timeout: 20 * time.Second} // a bound for a broken cap, not a measure
	resp, err := c.Get(srv.URL + StatusPath + "?after=100&wait=30s")
	if err != nil {
		t.Fatalf("a long-poll beyond the cap was held: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || a.waiters.Load() != MaxStatusWaiters {
		t.Fatalf("status %s, waiters %d", resp.Status, a.waiters.Load())
	}
	for _, q := range []string{"?after=x", "?after=1&wait=-1s", "?after=1&wait=soon"} {
		if code, _ := adminGet(t, &a, StatusPath+q); code != 400 {
			t.Errorf("GET %s: %d, want 400", q, code)
		}
	}
}

// TestAdminListsAtMostMaxNodesListed: the status page lists the first
// MaxNodesListed nodes and counts them all.
func TestAdminListsAtMostMaxNodesListed(t *testing.T) {
	for _, n := range []int{MaxNodesListed, MaxNodesListed + 1} {
		var reg strings.Builder
		reg.WriteString("{")
		for i := range n {
			if i > 0 {
				reg.WriteString(",")
			}
			fmt.Fprintf(&reg, `"10.1.%d.%d:80": 1`, i/250, i%250+1)
		}
		reg.WriteString("}")
		src := feed.Func("inline", func(context.Context) ([]byte, error) { return []byte(reg.String()), nil })
		f, err := feed.New(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		var a Admin
		a.Attach(f, f.Balancer(), nil)
		_, body := adminGet(t, &a, StatusPath)
		var st AdminStatus
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		if st.NodesTotal != n || len(st.Nodes) != min(n, MaxNodesListed) {
			t.Errorf("%d nodes: nodes_total %d, %d listed", n, st.NodesTotal, len(st.Nodes))
		}
	}
}
