package feed_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights/registry"
)

// fakeRegistry is a source whose payload or error tests set.
type fakeRegistry struct {
	mu    sync.Mutex
	data  string
	err   error
	calls int
}

func (r *fakeRegistry) set(data string) {
	r.mu.Lock()
	r.data, r.err = data, nil
	r.mu.Unlock()
}

func (r *fakeRegistry) fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *fakeRegistry) source() feed.Source {
	return feed.Func("test registry", func(context.Context) ([]byte, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if r.err != nil {
			return nil, r.err
		}
		return []byte(r.data), nil
	})
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

func newFeed(t *testing.T, r *fakeRegistry, opts ...feed.Option) (*feed.Feed, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	clock := clocktest.New()
	opts = append([]feed.Option{
		feed.WithClock(clock.Now),
		feed.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, opts...)
	f, err := feed.New(context.Background(), r.source(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f, logs
}

func nodes(b *balancer.Balancer) string {
	var s []string
	for _, n := range b.States() {
		s = append(s, fmt.Sprintf("%s=%d", n.ID, n.Weight))
	}
	return strings.Join(s, " ")
}

func TestGuardsKeepTheLastGoodNodes(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 5, "b:1": 1}`}
	f, _ := newFeed(t, r, feed.WithBalancer(balancer.WithMaxWeightDrop(0.5)))
	lb := f.Balancer()
	if got, want := nodes(lb), "a:1=5 b:1=1"; got != want {
		t.Fatalf("after New: nodes %q want %q", got, want)
	}
	for _, c := range []struct {
		name, payload string
		fetchErr      error
		stage         string
		outcome       feed.Outcome
	}{
		{"string zero everywhere", `{"a:1": "0", "b:1": "0"}`, nil, "policy", feed.Refused},
		{"not JSON", `{"a:1": `, nil, "decode", feed.Refused},
		{"empty", `{}`, nil, "balancer", feed.Refused},
		{"all drained", `{"a:1": 0, "b:1": 0}`, nil, "balancer", feed.Refused},
		{"too large a drop", `{"b:1": 1}`, nil, "balancer", feed.Refused},
		{"fetch error", ``, errors.New("connection refused"), "", feed.FetchError},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.fetchErr != nil {
				r.fail(c.fetchErr)
			} else {
				r.set(c.payload)
			}
			st := f.Poll(context.Background())
			if st.LastPoll != c.outcome {
				t.Fatalf("LastPoll = %q want %q (error %q)", st.LastPoll, c.outcome, st.LastError)
			}
			if c.stage != "" && (st.Refused == nil || st.Refused.Stage != c.stage) {
				t.Fatalf("Refused = %+v want stage %q", st.Refused, c.stage)
			}
			if st.LastError == "" {
				t.Fatal("LastError is empty after a refused poll")
			}
			if got, want := nodes(lb), "a:1=5 b:1=1"; got != want {
				t.Fatalf("nodes %q want the last good %q", got, want)
			}
			if st.Generation != 1 {
				t.Fatalf("Generation %d want 1", st.Generation)
			}
			// Polling the same bad payload again: still visible.
			st = f.Poll(context.Background())
			if st.LastError == "" || (c.stage != "" && st.Refused == nil) {
				t.Fatalf("second poll of the same payload hides the problem: %+v", st)
			}
			if c.fetchErr == nil && st.LastPoll != feed.Unchanged {
				t.Fatalf("second poll: LastPoll %q want unchanged", st.LastPoll)
			}
		})
	}
	r.set(`{"a:1": 5, "b:1": 2, "c:1": "NaN"}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.Applied || st.Generation != 2 || st.LastError != "" || st.Refused != nil {
		t.Fatalf("good update: %+v", st)
	}
	if got, want := nodes(lb), "a:1=5 b:1=2"; got != want {
		t.Fatalf("nodes %q want %q", got, want)
	}
	if st.Rejected != 1 || st.Reasons["string-weight"] != 1 || len(st.Rejects) != 1 || st.Rejects[0].ID != "c:1" {
		t.Fatalf("rejects: %d %v %+v", st.Rejected, st.Reasons, st.Rejects)
	}
}

func TestFetchErrorClearsWhenTheServingPayloadComesBack(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	f, _ := newFeed(t, r)
	r.fail(errors.New("timeout"))
	if st := f.Poll(context.Background()); st.LastError == "" || st.FetchFailures != 1 {
		t.Fatalf("after a fetch error: %+v", st)
	}
	r.set(`{"a:1": 1}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.Unchanged || st.LastError != "" || st.FetchFailures != 0 {
		t.Fatalf("the serving payload again: %+v", st)
	}
}

func TestStartsEmptyAndSaysWhy(t *testing.T) {
	r := &fakeRegistry{}
	r.fail(errors.New("open registry.json: no such file or directory"))
	f, logs := newFeed(t, r)
	st := f.Status()
	if st.Serving() || f.Balancer().Len() != 0 {
		t.Fatalf("serving after a failed first fetch: %+v", st)
	}
	if got := st.NoBackendsReason(); !strings.Contains(got, "no such file") {
		t.Fatalf("NoBackendsReason() = %q, want the fetch error", got)
	}
	if l := logs.take(); !strings.Contains(l, "no backends to serve yet") || strings.Contains(l, "keeping the last good") {
		t.Fatalf("log after a failed first fetch:\n%s", l)
	}
	if _, err := f.Balancer().Next(); !errors.Is(err, balancer.ErrNoBackends) {
		t.Fatalf("Next() error %v want ErrNoBackends", err)
	}

	r.set(`{"a:1": "0"}`)
	st = f.Poll(context.Background())
	if got := st.NoBackendsReason(); !strings.Contains(got, "string-zero") && !strings.Contains(got, "refused") {
		t.Fatalf("NoBackendsReason() = %q after every node was rejected", got)
	}
	if l := logs.take(); !strings.Contains(l, "no backends to serve yet") {
		t.Fatalf("log after every node was rejected:\n%s", l)
	}

	// The first good set serves at full weight (no ramp) even with slow start.
	r.set(`{"a:1": 3}`)
	st = f.Poll(context.Background())
	if !st.Serving() || st.NoBackendsReason() != "" {
		t.Fatalf("after a good update: %+v", st)
	}
	if s := f.Balancer().States(); len(s) != 1 || s[0].Effective != 3 {
		t.Fatalf("states %+v", s)
	}
}

func TestRejectsAreLoggedOncePerChange(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"ok:1": 1`)
	for i := range 5000 {
		fmt.Fprintf(&b, `, "n%d:1": "0"`, i)
	}
	b.WriteString(`}`)
	big := b.String()
	r := &fakeRegistry{data: big}
	f, logs := newFeed(t, r, feed.WithMaxListed(100), feed.WithMaxLogged(10))
	first := logs.take()
	if n := strings.Count(first, "msg=\"registry: node rejected\""); n != 10 {
		t.Fatalf("first payload: %d reject lines, want 10:\n%s", n, first)
	}
	if !strings.Contains(first, "rejected=5000") || !strings.Contains(first, `reasons="string-zero=5000"`) || !strings.Contains(first, "not_logged=4990") {
		t.Fatalf("summary missing:\n%s", first)
	}
	st := f.Status()
	if st.Rejected != 5000 || len(st.Rejects) != 100 || st.Reasons["string-zero"] != 5000 {
		t.Fatalf("status: rejected %d, listed %d, reasons %v", st.Rejected, len(st.Rejects), st.Reasons)
	}
	// The same payload, polled again: not decoded, not logged.
	for range 3 {
		f.Poll(context.Background())
	}
	if l := logs.take(); strings.Contains(l, "rejected") {
		t.Fatalf("unchanged payload logged rejects again:\n%s", l)
	}
	// A different payload with the same rejects: the update is logged, the
	// rejects are not.
	r.set(strings.Replace(big, `"ok:1": 1`, `"ok:1": 2`, 1))
	f.Poll(context.Background())
	if l := logs.take(); strings.Contains(l, "node rejected") || !strings.Contains(l, "update applied") {
		t.Fatalf("same rejects in a new payload:\n%s", l)
	}
	// One new reject: one summary and one line.
	r.set(strings.Replace(big, `"ok:1": 1`, `"ok:1": 1, "x:1": -1`, 1))
	f.Poll(context.Background())
	l := logs.take()
	if n := strings.Count(l, "msg=\"registry: node rejected\""); n != 1 || !strings.Contains(l, "new=1") || !strings.Contains(l, "x:1") {
		t.Fatalf("one new reject: %d lines:\n%s", n, l)
	}
}

func TestFetchErrorsAreLoggedWhenTheyChange(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	f, logs := newFeed(t, r)
	logs.take()
	r.fail(errors.New("connection refused"))
	for range 5 {
		f.Poll(context.Background())
	}
	l := logs.take()
	if n := strings.Count(l, "level=WARN"); n != 1 {
		t.Fatalf("5 identical fetch errors: %d warnings:\n%s", n, l)
	}
	if st := f.Status(); st.FetchFailures != 5 {
		t.Fatalf("FetchFailures %d want 5", st.FetchFailures)
	}
}

func TestDecodeOptionsAndNotes(t *testing.T) {
	payload := `{"code":0,"data":{"instances":{"sh001":[
	  {"appid":"demo","hostname":"h1","addrs":["http://10.0.0.1:80"],"metadata":{"weight":"10"},"status":1},
	  {"appid":"demo","hostname":"h2","addrs":["http://10.0.0.2:80"],"metadata":{},"status":1}]}}}`
	r := &fakeRegistry{data: payload}
	var changes []feed.Status
	f, logs := newFeed(t, r, feed.WithFormat(registry.FormatDiscovery),
		feed.WithOnChange(func(s feed.Status) { changes = append(changes, s) }))
	st := f.Status()
	if st.Format != "discovery" || !st.Serving() {
		t.Fatalf("status %+v", st)
	}
	if st.Noted == 0 || len(st.Notes) == 0 {
		t.Fatalf("no decoder notes in the status: %+v", st)
	}
	if l := logs.take(); !strings.Contains(l, "registry: note") {
		t.Fatalf("decoder notes not logged:\n%s", l)
	}
	if len(changes) != 1 || changes[0].Generation != 1 {
		t.Fatalf("OnChange calls %+v", changes)
	}
	f.Poll(context.Background())
	if len(changes) != 1 {
		t.Fatalf("an unchanged poll called OnChange")
	}
}

func TestWaitAndTrigger(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	f, _ := newFeed(t, r, feed.WithInterval(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for want := int64(2); want <= 4; want++ {
		ch := f.Changed()
		f.Trigger()
		<-ch
		if st := f.Wait(context.Background(), want-1); st.Polls != want {
			t.Fatalf("Polls %d want %d", st.Polls, want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	// Wait gives up when its context is done.
	wctx, wcancel := context.WithCancel(context.Background())
	wcancel()
	if st := f.Wait(wctx, 100); st.Polls != 4 {
		t.Fatalf("Wait with a done context: Polls %d", st.Polls)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	src := feed.Func("x", func(context.Context) ([]byte, error) { return []byte(`{}`), nil })
	for _, c := range []struct {
		name string
		opt  feed.Option
		want string
	}{
		{"format", feed.WithFormat("yaml"), "feed:"},
		{"max bytes", feed.WithMaxBytes(0), "max bytes"},
		{"interval", feed.WithInterval(-1), "interval"},
		{"jitter", feed.WithJitter(2), "jitter"},
		{"balancer option", feed.WithBalancer(balancer.WithMaxWeightDrop(7)), "feed: balancer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := feed.New(context.Background(), src, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := feed.New(context.Background(), nil); err == nil {
		t.Fatal("New with a nil source did not fail")
	}
}

func TestTooLargePayloadIsAFetchError(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	f, _ := newFeed(t, r, feed.WithMaxBytes(16))
	r.set(`{"a:1": 1, "b:1": 1, "c:1": 1}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, "larger than 16 bytes") {
		t.Fatalf("oversized payload: %+v", st)
	}
}

func newTextLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestRunPollsByItself(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	f, _ := newFeed(t, r, feed.WithInterval(time.Millisecond), feed.WithJitter(0.5))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	// A bound for a broken Run, not a measure.
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if st := f.Wait(wctx, 3); st.Polls <= 3 {
		t.Fatalf("Run polled %d times", st.Polls)
	}
	cancel()
	<-done
}

func TestPayloadOfExactlyMaxBytesIsRead(t *testing.T) {
	payload := `{"a:1": 1}`
	r := &fakeRegistry{data: payload}
	f, _ := newFeed(t, r, feed.WithMaxBytes(int64(len(payload))))
	if st := f.Status(); st.LastPoll != feed.Applied {
		t.Fatalf("a payload of exactly the limit: %+v", st)
	}
	r.set(payload + " ")
	if st := f.Poll(context.Background()); st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, "larger than 10 bytes") {
		t.Fatalf("one byte over the limit: %+v", st)
	}
}

// Long raw values are clipped in the status without splitting a UTF-8
// sequence.
func TestRejectRawClippedOnARuneBoundary(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1, "b:1": "` + strings.Repeat("é", 200) + `"}`}
	f, _ := newFeed(t, r)
	st := f.Status()
	if len(st.Rejects) != 1 {
		t.Fatalf("rejects %+v", st.Rejects)
	}
	raw := st.Rejects[0].Raw
	if !utf8.ValidString(raw) || !strings.HasSuffix(raw, "é…") || len(raw) > 256+len("…") || len(raw) < 250 {
		t.Fatalf("clipped raw (%d bytes) %q", len(raw), raw)
	}
}
