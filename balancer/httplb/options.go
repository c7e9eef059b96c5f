package httplb

import (
	"log/slog"
	"net/http"
	"time"
)

// An Option configures a Transport (NewTransport) or a proxy (NewProxy).
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	base        http.RoundTripper
	scheme      string
	maxAttempts int
	ejectAfter  int
	ejectFor    time.Duration
	maxEjectFor time.Duration
	retryStatus map[int]bool
	now         func() time.Time
	logger      *slog.Logger
}

func defaultConfig() config {
	return config{
		base:        http.DefaultTransport,
		scheme:      "http",
		maxAttempts: DefaultMaxAttempts,
		ejectAfter:  DefaultEjectAfter,
		ejectFor:    DefaultEjectFor,
		maxEjectFor: DefaultMaxEjectFor,
		now:         time.Now,
		logger:      slog.New(slog.DiscardHandler),
	}
}

// WithBase sets the RoundTripper that sends each attempt. The default is
// http.DefaultTransport. A nil rt keeps the default.
func WithBase(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) {
		if rt != nil {
			c.base = rt
		}
	})
}

// WithScheme sets the scheme of the backends' URLs: "http" (the default) or
// "https".
func WithScheme(scheme string) Option {
	return optionFunc(func(c *config) {
		if scheme == "http" || scheme == "https" {
			c.scheme = scheme
		}
	})
}

// WithMaxAttempts sets the most attempts one request gets, the first one
// included. The default is DefaultMaxAttempts (3); values below 1 mean 1 (no
// retries).
func WithMaxAttempts(n int) Option {
	return optionFunc(func(c *config) { c.maxAttempts = max(n, 1) })
}

// WithEjection ejects a node after failures consecutive failed attempts, for
// d the first time and twice as long on each further ejection before the
// node succeeds again, never longer than maxD. failures 0 turns ejection off.
// The defaults are DefaultEjectAfter, DefaultEjectFor and DefaultMaxEjectFor.
// The balancer's WithMaxEjectedPercent caps how many nodes are out at once.
func WithEjection(failures int, d, maxD time.Duration) Option {
	return optionFunc(func(c *config) {
		c.ejectAfter = max(failures, 0)
		if d > 0 {
			c.ejectFor = d
		}
		c.maxEjectFor = max(maxD, c.ejectFor)
	})
}

// WithRetryStatus makes responses with these status codes count as failed
// attempts (for example 502, 503 and 504 from backends that are themselves
// proxies): they are retried like transport errors, and the last attempt's
// response is returned as it is. By default only transport errors fail.
func WithRetryStatus(codes ...int) Option {
	return optionFunc(func(c *config) {
		c.retryStatus = make(map[int]bool, len(codes))
		for _, code := range codes {
			c.retryStatus[code] = true
		}
	})
}

// WithClock sets the clock that ejection deadlines are computed from; give it
// the balancer's clock (balancer.WithClock). The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithLogger sets where ejections, recoveries, retries (at debug level) and
// proxy errors are logged. The default discards them.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}
