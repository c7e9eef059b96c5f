//go:build unix

package grpcwrr

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/internal/regfile/regfiletest"
)

// closeBounded closes cc and fails the test if Close has not returned within
// a generous bound (a guard against a Close that waits on a read for good).
func closeBounded(t *testing.T, cc *grpc.ClientConn) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cc.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("conn.Close() blocked")
	}
}

// A safewrr:/// target whose path is not a regular file: RPCs fail with
// Unavailable and the reason, and Close returns.
func TestResolverTargetNotARegularFile(t *testing.T) {
	for _, c := range regfiletest.Specials(t) {
		t.Run(c.Name, func(t *testing.T) {
			name, _ := testPolicy(time.Now)
			target := "safewrr://" + (&url.URL{Path: c.Path}).String()
			cc := dialTarget(t, target, name)
			_, err := call(t.Context(), cc)
			if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), c.Want) {
				t.Fatalf("RPC = %v, want Unavailable with %q", err, c.Want)
			}
			closeBounded(t, cc)
		})
	}
}

// The registry file swapped for a FIFO (then /dev/zero) while the channel
// serves: every poll is a fetch error, the last good endpoints keep
// answering, and Close returns.
func TestResolverFileSwappedForAFIFO(t *testing.T) {
	name, w := testPolicy(time.Now)
	a := startBackend(t, "a", "127.0.0.1:0")
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(path, fmt.Appendf(nil, `{%q: 1}`, a.addr), 0o600); err != nil {
		t.Fatal(err)
	}
	fetchErrs := make(chan string, 100)
	onChange := feed.WithOnChange(func(st feed.Status) {
		if st.LastPoll == feed.FetchError {
			select {
			case fetchErrs <- st.LastError:
			default:
			}
		}
	})
	rb := NewResolverBuilder("swapped", feed.File(path), feed.WithInterval(5*time.Millisecond), feed.WithJitter(0), onChange)
	cc := dialTarget(t, "swapped:///svc", name, grpc.WithResolvers(rb))
	w.waitFor(t, "a serving", allServing(map[string]uint32{a.addr: 1}))

	waitFetchError := func(want string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case msg := <-fetchErrs:
				if strings.Contains(msg, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no fetch error containing %q", want)
			}
		}
	}
	fifo := filepath.Join(dir, "fifo")
	regfiletest.Mkfifo(t, fifo)
	if err := os.Rename(fifo, path); err != nil {
		t.Fatal(err)
	}
	waitFetchError("a named pipe (FIFO)")
	if got := calls(t, cc, 5); got["a"] != 5 {
		t.Fatalf("after the FIFO: %v", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
	waitFetchError("a character device")
	if got := calls(t, cc, 5); got["a"] != 5 {
		t.Fatalf("after /dev/zero: %v", got)
	}
	closeBounded(t, cc)
}
