//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// outcomes counts, for one class of requests, how many succeeded and why
// the others failed.
type outcomes struct {
	mu     sync.Mutex
	ok     int
	failed map[string]int
}

func (o *outcomes) add(why string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if why == "" {
		o.ok++
		return
	}
	if o.failed == nil {
		o.failed = map[string]int{}
	}
	o.failed[why]++
}

func (o *outcomes) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.ok
	var whys []string
	for w, c := range o.failed {
		n += c
		whys = append(whys, fmt.Sprintf("%d %s", c, w))
	}
	sort.Strings(whys)
	if len(whys) == 0 {
		return fmt.Sprintf("%d requests, all answered by a backend", n)
	}
	return fmt.Sprintf("%d requests, %d answered, failed: %s", n, o.ok, strings.Join(whys, "; "))
}

// classify turns a request's result into "" (a backend's whole answer) or
// why it failed.
func classify(code int, body string, err error) string {
	switch {
	case err == nil && code == 200 && len(body) == 1:
		return ""
	case err != nil && (errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF")):
		return "response already started, cut short (mid-body death)"
	case err != nil:
		return "client error: " + err.Error()
	case code == http.StatusBadGateway:
		return "502 (sent to a node that then failed; not safe to repeat)"
	default:
		return fmt.Sprintf("status %d %q", code, body)
	}
}

// TestProxyFailureClasses runs safewrr proxy in front of two good
// backends, one that is killed halfway, one that hangs and one that dies
// mid-body, under a bounded load of GETs and POSTs from 8 clients, 50 clients
// that send their bodies at 10 bytes per second, and registry flaps. Only
// requests that could not be retried may fail: non-idempotent ones sent to a
// node that failed while holding them, and responses already under way; the
// slow clients get 408 and no backend sees their requests.
func TestProxyFailureClasses(t *testing.T) {
	const (
		gets      = 3000
		posts     = 600
		slow      = 50
		getters   = 6
		posters   = 2
		slowBytes = 100
	)
	good, _ := startBackends(t, "A", "B")
	killed, _ := startBackends(t, "K")
	release := make(chan struct{})
	var hungHits, midHits atomic.Int64
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hungHits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	mid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		midHits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	}))
	t.Cleanup(func() {
		close(release)
		hung.Close()
		mid.Close()
	})
	a, b, k := good[0].addr(), good[1].addr(), killed[0].addr()
	h, m := hung.Listener.Addr().String(), mid.Listener.Addr().String()
	full := fmt.Sprintf(`{%q: 3, %q: 3, %q: 2, %q: 1, %q: 1}`, a, b, k, h, m)
	flaps := []string{
		fmt.Sprintf(`{%q: 3, %q: 3, %q: "0", %q: 1, %q: 1}`, a, b, k, h, m),
		fmt.Sprintf(`{%q: 3, %q: NaN, %q: 2, %q: 1, %q: 1}`, a, b, k, h, m),
		`{"not json`,
		`{}`,
		full,
	}
	reg := filepath.Join(tempDir(t), "registry.json")
	writeFile(t, reg, full)
	p := startSafewrrProxy(t, reg, "--poll", "1h", "--slow-start", "0",
		"--response-header-timeout", "300ms", "--read-timeout", "2s",
		"--eject-after", "2", "--eject-for", "1m", "--max-ejected", "60")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var getRes, postRes, slowRes outcomes
	var sent atomic.Int64
	var wg sync.WaitGroup
	c := client(30*time.Second, true)
	var getN, postN atomic.Int64
	for range getters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && getN.Add(1) <= gets {
				sent.Add(1)
				code, body, err := get(c, p.url("/load"))
				getRes.add(classify(code, body, err))
			}
		}()
	}
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && postN.Add(1) <= posts {
				sent.Add(1)
				resp, err := c.Post(p.url("/order"), "text/plain", strings.NewReader("one order"))
				code, body := 0, ""
				if err == nil {
					var bs []byte
					bs, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					code, body = resp.StatusCode, string(bs)
				}
				postRes.add(classify(code, body, err))
			}
		}()
	}
	// 50 clients that announce 100 bytes and send 1 every 100ms.
	var slowWG sync.WaitGroup
	for range slow {
		slowWG.Add(1)
		go func() {
			defer slowWG.Done()
			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				slowRes.add("dial: " + err.Error())
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", slowBytes)
			got := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					got <- "no response: " + err.Error()
					return
				}
				resp.Body.Close()
				got <- fmt.Sprint(resp.StatusCode)
			}()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < slowBytes; i++ {
				select {
				case s := <-got:
					if s == "408" {
						s = "408 (body not in within --read-timeout; no backend held)"
					}
					slowRes.add(s)
					return
				case <-tick.C:
					conn.Write([]byte{'x'})
				}
			}
			slowRes.add("sent its whole body without an answer")
		}()
	}

	// The registry flaps and K is killed halfway, while the load runs.
	step := int64(gets+posts) / int64(len(flaps)+2)
	for i := 0; i <= len(flaps); i++ {
		waitRequests(ctx, &sent, step*int64(i+1))
		if i == len(flaps)/2 {
			killed[0].srv.CloseClientConnections()
			killed[0].srv.Close()
			t.Logf("killed K after %d requests", sent.Load())
		}
		if i < len(flaps) {
			if err := writeFileErr(reg, flaps[i]); err != nil {
				t.Fatal(err)
			}
			st, err := p.pollNowErr()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("flap %d after %d requests: generation %d, last poll %s %s", i, sent.Load(), st.Generation, st.LastPoll, st.LastError)
		}
	}
	wg.Wait()
	slowWG.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish within its time limit")
	}
	st := p.status(t, -1)
	t.Logf("GET (idempotent):      %s", &getRes)
	t.Logf("POST (not idempotent): %s", &postRes)
	t.Logf("slow-body clients:     %s", &slowRes)
	t.Logf("hung backend got %d attempts, mid-body backend %d; ejections %d, body failures %d",
		hungHits.Load(), midHits.Load(), st.Ejections, st.BodyFailures)

	for why := range getRes.failed {
		if !strings.HasPrefix(why, "response already started") {
			t.Errorf("a GET failed that could have been retried: %s", why)
		}
	}
	for why := range postRes.failed {
		if !strings.HasPrefix(why, "response already started") && !strings.HasPrefix(why, "502") {
			t.Errorf("a POST failed for a reason other than a node failing while holding it: %s", why)
		}
	}
	if slowRes.ok != 0 || slowRes.failed["408 (body not in within --read-timeout; no backend held)"] != slow {
		t.Errorf("slow clients: %s; want every one answered 408", &slowRes)
	}
	if st.Ejections < 2 || st.BodyFailures < 2 {
		t.Errorf("ejections %d, body failures %d: the hung and mid-body nodes should have been ejected", st.Ejections, st.BodyFailures)
	}
	p.stop(t)
}

// waitRequests returns once n requests were sent or ctx is done, checking
// every 10ms.
func waitRequests(ctx context.Context, sent *atomic.Int64, n int64) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for sent.Load() < n {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
