//go:build unix

package feed_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/internal/regfile/regfiletest"
)

// bounded runs fn and fails the test if it has not returned within a
// generous bound (for a call that would block for good, not a measure).
func bounded[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s blocked", what)
		panic("unreachable")
	}
}

// A FIFO, a device, a directory, a dangling link or a loop of links at the
// registry path: New returns at once, nothing serves, and the status says
// why.
func TestFileSpecialAtStartup(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"a:1": 1, "b:1": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := append(regfiletest.Specials(t), regfiletest.Case{Name: "too large", Path: big, Want: "larger than 8 bytes"})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			f := bounded(t, "New", func() *feed.Feed {
				f, err := feed.New(context.Background(), feed.File(c.Path), feed.WithMaxBytes(8))
				if err != nil {
					t.Error(err)
				}
				return f
			})
			if f == nil {
				t.FailNow()
			}
			st := f.Status()
			if st.Serving() || st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, c.Want) ||
				!strings.HasPrefix(st.NoBackendsReason(), "fetch: ") || f.Balancer().Len() != 0 {
				t.Fatalf("status %+v, want a fetch error containing %q", st, c.Want)
			}
		})
	}
}

// The registry file replaced by a FIFO (or a device) between polls: the
// polls, Trigger and Run's end go on, the last good nodes keep serving, and
// the file coming back is applied.
func TestFileSwappedForAFIFOMidRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.json")
	write := func(payload string) {
		t.Helper()
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, []byte(payload), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"a:1": 2, "b:1": 1}`)
	f, err := feed.New(context.Background(), feed.File(path), feed.WithInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Status().Serving() {
		t.Fatalf("not serving: %+v", f.Status())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	poll := func() feed.Status {
		t.Helper()
		before := f.Status().Polls
		f.Trigger()
		return bounded(t, "a triggered poll", func() feed.Status { return f.Wait(context.Background(), before) })
	}

	for _, swap := range []struct {
		name, want string
		put        func()
	}{
		{"fifo", "a named pipe (FIFO)", func() {
			fifo := filepath.Join(dir, "fifo")
			regfiletest.Mkfifo(t, fifo)
			if err := os.Rename(fifo, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"link to /dev/zero", "a character device", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", "a directory", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(path) })
		}},
	} {
		swap.put()
		for i := range 2 {
			st := poll()
			if st.LastPoll != feed.FetchError || !strings.Contains(st.LastError, swap.want) || st.Generation != 1 || st.FetchFailures != i+1 {
				t.Fatalf("%s, poll %d: %+v", swap.name, i+1, st)
			}
			if got, want := nodes(f.Balancer()), "a:1=2 b:1=1"; got != want {
				t.Fatalf("%s: nodes %q want the last good %q", swap.name, got, want)
			}
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		write(`{"a:1": 2, "b:1": 1}`)
		if st := poll(); st.LastError != "" || st.FetchFailures != 0 {
			t.Fatalf("the file back after the %s: %+v", swap.name, st)
		}
	}
	write(`{"a:1": 1, "c:1": 1}`)
	if st := poll(); st.LastPoll != feed.Applied || st.Generation != 2 {
		t.Fatalf("a new payload after the swaps: %+v", st)
	}
	cancel()
	if err := bounded(t, "Run's end", func() error { return <-done }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// stuckSource blocks every Fetch until its current gate is closed, whatever
// the fetch's context says: a source that is still reading.
type stuckSource struct {
	mu      sync.Mutex
	gate    chan struct{}
	fetches int
	started chan struct{} // receives once per Fetch that began
}

func (s *stuckSource) source() feed.Source {
	return feed.Func("stuck", func(context.Context) ([]byte, error) {
		s.mu.Lock()
		s.fetches++
		gate := s.gate
		s.mu.Unlock()
		s.started <- struct{}{}
		<-gate
		return []byte(`{"a:1": 1}`), nil
	})
}

// setGate makes the next fetches wait for gate.
func (s *stuckSource) setGate(gate chan struct{}) {
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
}

// A poll still reading holds up neither Trigger nor Run's end; the Triggers
// made during it are served by one more poll once it returns.
func TestRunEndsWhileAPollIsStillReading(t *testing.T) {
	open := make(chan struct{})
	close(open)
	s := &stuckSource{gate: open, started: make(chan struct{}, 8)}
	f, err := feed.New(context.Background(), s.source(), feed.WithInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	<-s.started // New's own poll

	gate := make(chan struct{})
	s.setGate(gate)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	f.Trigger()
	bounded(t, "the first triggered fetch", func() struct{} { return <-s.started })
	for range 3 {
		bounded(t, "Trigger during a poll", func() struct{} { f.Trigger(); return struct{}{} })
	}
	if st := f.Status(); st.Polls != 1 {
		t.Fatalf("Polls %d while the second poll reads", st.Polls)
	}
	// The triggers made during the poll are one more poll once it is done.
	s.setGate(open)
	close(gate)
	bounded(t, "the poll after the triggers", func() struct{} { return <-s.started })
	if st := bounded(t, "Wait", func() feed.Status { return f.Wait(context.Background(), 2) }); st.Polls != 3 {
		t.Fatalf("Polls %d want 3", st.Polls)
	}

	// A poll that does not return does not hold Run up.
	blocked := make(chan struct{})
	s.setGate(blocked)
	f.Trigger()
	bounded(t, "the stuck fetch", func() struct{} { return <-s.started })
	cancel()
	if err := bounded(t, "Run's end", func() error { return <-done }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	close(blocked)
	if st := bounded(t, "the stuck poll's end", func() feed.Status { return f.Wait(context.Background(), 3) }); st.Polls != 4 {
		t.Fatalf("Polls %d want 4", st.Polls)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetches != 4 {
		t.Fatalf("%d fetches want 4", s.fetches)
	}
}
