package httplb

import (
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func TestBadOptionsAreRejected(t *testing.T) {
	b, err := balancer.New([]weights.Node{{ID: "127.0.0.1:1", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  Option
		want string // in the error
	}{
		{"scheme ftp", WithScheme("ftp"), `WithScheme("ftp")`},
		{"scheme empty", WithScheme(""), "WithScheme"},
		{"scheme with colon", WithScheme("http:"), "WithScheme"},
		{"attempts 0", WithMaxAttempts(0), "WithMaxAttempts(0)"},
		{"attempts -1", WithMaxAttempts(-1), "WithMaxAttempts(-1)"},
		{"ejection failures -1", WithEjection(-1, time.Second, time.Second), "failures -1"},
		{"ejection zero duration", WithEjection(3, 0, time.Second), "duration 0s"},
		{"ejection negative duration", WithEjection(3, -time.Second, time.Second), "must be positive"},
		{"ejection max below first", WithEjection(3, time.Minute, time.Second), "at least the first"},
		{"retry status 0", WithRetryStatus(502, 0), "0 is not an HTTP status"},
		{"retry status 600", WithRetryStatus(600), "600"},
		{"nil base", WithBase(nil), "WithBase(nil)"},
		{"nil clock", WithClock(nil), "WithClock(nil)"},
		{"nil logger", WithLogger(nil), "WithLogger(nil)"},
		{"negative body buffer", WithBodyBuffer(-1), "WithBodyBuffer(-1)"},
		{"negative max body", WithMaxBody(-1), "WithMaxBody(-1)"},
		{"negative buffer budget", WithBufferBudget(-1), "WithBufferBudget(-1)"},
		{"nil reason", WithNoNodeReason(nil), "WithNoNodeReason(nil)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tr, err := NewTransport(b, tc.opt); err == nil || tr != nil {
				t.Fatalf("NewTransport = %v, %v; want an error", tr, err)
			} else if !strings.HasPrefix(err.Error(), "httplb: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewTransport error %q, want it to start with httplb: and name %q", err, tc.want)
			}
			if rp, err := NewProxy(b, WithMaxAttempts(2), tc.opt); err == nil || rp != nil {
				t.Fatalf("NewProxy = %v, %v; want an error", rp, err)
			}
		})
	}
	if _, err := NewTransport(nil); err == nil {
		t.Fatal("NewTransport(nil) succeeded")
	}
}

func TestGoodOptionsAreKept(t *testing.T) {
	b, err := balancer.New([]weights.Node{{ID: "127.0.0.1:1", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"http", "HTTP", "https", "HttpS"} {
		tr := mustTransport(t, b, WithScheme(s))
		if want := strings.ToLower(s); tr.cfg.scheme != want {
			t.Errorf("WithScheme(%q): scheme %q, want %q", s, tr.cfg.scheme, want)
		}
	}
	tr := mustTransport(t, b, WithMaxAttempts(1), WithEjection(0, 0, 0), WithRetryStatus(502, 503))
	if tr.cfg.maxAttempts != 1 || tr.cfg.ejectAfter != 0 || !tr.cfg.retryStatus[503] {
		t.Errorf("config %+v", tr.cfg)
	}
	tr = mustTransport(t, b, WithRetryStatus(100, 599))
	if !tr.cfg.retryStatus[100] || !tr.cfg.retryStatus[599] {
		t.Errorf("WithRetryStatus(100, 599): %v", tr.cfg.retryStatus)
	}
	if _, err := NewTransport(b, WithRetryStatus(99)); err == nil {
		t.Error("WithRetryStatus(99) accepted")
	}
	tr = mustTransport(t, b, WithEjection(2, time.Second, time.Second))
	if tr.cfg.ejectAfter != 2 || tr.cfg.ejectFor != time.Second || tr.cfg.maxEjectFor != time.Second {
		t.Errorf("WithEjection(2, 1s, 1s): config %+v", tr.cfg)
	}
}
