package httplb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// An Option configures a Transport (NewTransport) or a proxy (NewProxy).
// Every option checks its value: a constructor given an option out of range
// returns an error that names it.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

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
	bodyBuffer  int64
	maxBody     int64
	bufferTotal int64
	maxStreamed int64
	noNodeWhy   func() string
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
		bodyBuffer:  DefaultBodyBuffer,
		maxStreamed: DefaultMaxStreamed,
	}
}

// WithBase sets the RoundTripper that sends each attempt. The default is
// http.DefaultTransport; NewServerTransport returns one with the proxy's
// timeouts. rt must not be nil.
func WithBase(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) error {
		if rt == nil {
			return errors.New("httplb: WithBase(nil)")
		}
		c.base = rt
		return nil
	})
}

// WithScheme sets the scheme of the backends' URLs: "http" (the default) or
// "https", in any case.
func WithScheme(scheme string) Option {
	return optionFunc(func(c *config) error {
		s := strings.ToLower(scheme)
		if s != "http" && s != "https" {
			return fmt.Errorf("httplb: WithScheme(%q): want http or https", scheme)
		}
		c.scheme = s
		return nil
	})
}

// WithMaxAttempts sets the most attempts one request gets, the first one
// included: at least 1 (1: no retries). The default is DefaultMaxAttempts
// (3).
func WithMaxAttempts(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("httplb: WithMaxAttempts(%d): want at least 1", n)
		}
		c.maxAttempts = n
		return nil
	})
}

// WithEjection ejects a node after failures consecutive failed attempts, for
// d the first time and twice as long on each further ejection before the
// node succeeds again, never longer than maxD. failures 0 turns ejection
// off; otherwise d must be positive and maxD at least d. The defaults are
// DefaultEjectAfter, DefaultEjectFor and DefaultMaxEjectFor. The balancer's
// WithMaxEjectedPercent caps how many nodes are out at once.
func WithEjection(failures int, d, maxD time.Duration) Option {
	return optionFunc(func(c *config) error {
		switch {
		case failures < 0:
			return fmt.Errorf("httplb: WithEjection: failures %d must not be negative", failures)
		case failures == 0:
			c.ejectAfter = 0
			return nil
		case d <= 0:
			return fmt.Errorf("httplb: WithEjection: duration %v must be positive", d)
		case maxD < d:
			return fmt.Errorf("httplb: WithEjection: longest duration %v must be at least the first, %v", maxD, d)
		}
		c.ejectAfter, c.ejectFor, c.maxEjectFor = failures, d, maxD
		return nil
	})
}

// WithRetryStatus makes responses with these status codes count as failed
// attempts (for example 502, 503 and 504 from backends that are themselves
// proxies): they are retried like transport errors, and the last attempt's
// response is returned as it is. By default only transport errors fail.
// Each code must be within 100-599.
func WithRetryStatus(codes ...int) Option {
	return optionFunc(func(c *config) error {
		c.retryStatus = make(map[int]bool, len(codes))
		for _, code := range codes {
			if code < 100 || code > 599 {
				return fmt.Errorf("httplb: WithRetryStatus: %d is not an HTTP status", code)
			}
			c.retryStatus[code] = true
		}
		return nil
	})
}

// WithClock sets the clock that ejection deadlines are computed from; give it
// the balancer's clock (balancer.WithClock). The default is time.Now; now
// must not be nil.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return errors.New("httplb: WithClock(nil)")
		}
		c.now = now
		return nil
	})
}

// WithLogger sets where ejections, recoveries, retries (at debug level) and
// proxy errors are logged. The default discards them; l must not be nil.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return errors.New("httplb: WithLogger(nil)")
		}
		c.logger = l
		return nil
	})
}

// WithBodyBuffer sets the largest request body read whole before a node is
// picked (the default is DefaultBodyBuffer, 1 MiB; 0 turns buffering off).
// A buffered body costs no backend connection while a slow client sends
// it, and is sent again on a retry, so every request whose attempt could
// not connect (a POST too) and every safe request with a body is retried.
// A longer body, or one that finds WithBufferBudget spent, streams to the
// backend as it comes and is retried only when its request has GetBody.
// The buffered body goes out with a Content-Length; its trailer is not
// forwarded. n must not be negative.
func WithBodyBuffer(n int64) Option {
	return byteLimit("WithBodyBuffer", n, func(c *config) *int64 { return &c.bodyBuffer })
}

// WithMaxBody answers a request whose body is longer than n bytes with 413
// Content Too Large (a RequestError), at once when its Content-Length says
// so, or when the body is read past n, buffered or streamed. The default,
// 0, sets no limit. n must not be negative.
func WithMaxBody(n int64) Option {
	return byteLimit("WithMaxBody", n, func(c *config) *int64 { return &c.maxBody })
}

// WithBufferBudget caps the bytes of request bodies held in buffers at once
// across all requests (each body reserves its Content-Length, or the
// WithBodyBuffer limit when its length is unknown, until its last attempt
// returns). A request that would go past the cap is not refused: its body
// streams to the backend, without a retry (see Transport.Unbuffered). The
// default, 0, sets no cap. n must not be negative.
func WithBufferBudget(n int64) Option {
	return byteLimit("WithBufferBudget", n, func(c *config) *int64 { return &c.bufferTotal })
}

// DefaultMaxStreamed is the most request bodies a Transport streams to
// backends at once (WithMaxStreamed).
const DefaultMaxStreamed = 256

// WithMaxStreamed caps the request bodies streamed to backends at once
// (rather than buffered: longer than WithBodyBuffer, or past
// WithBufferBudget). Each one holds a backend connection and its buffers
// for as long as its client takes to send it, so a slow client's held body
// costs far more than an idle connection. A request that would go past the
// cap is answered 503 Service Unavailable (with Retry-After: 1) saying why,
// before any node is picked: a RequestError that charges no node (see
// Transport.StreamRefused). A body stops counting when the backend's
// connection has finished with it. The default is DefaultMaxStreamed; 0
// sets no cap. n must not be negative.
func WithMaxStreamed(n int64) Option {
	return byteLimit("WithMaxStreamed", n, func(c *config) *int64 { return &c.maxStreamed })
}

// WithNoNodeReason sets a function whose answer, when not "", is why the
// balancer has no node: it replaces the balancer's own reason in the 503
// the proxy answers (a feed's Status().NoBackendsReason() is one: it says
// why no registry update was applied yet). why must not be nil.
func WithNoNodeReason(why func() string) Option {
	return optionFunc(func(c *config) error {
		if why == nil {
			return errors.New("httplb: WithNoNodeReason(nil)")
		}
		c.noNodeWhy = why
		return nil
	})
}

// byteLimit is an option that sets a size in bytes, 0 or more.
func byteLimit(name string, n int64, field func(*config) *int64) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			return fmt.Errorf("httplb: %s(%d): must not be negative", name, n)
		}
		*field(c) = n
		return nil
	})
}
