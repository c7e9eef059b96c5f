package feed

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// Defaults of a Feed's options.
const (
	DefaultInterval   = time.Second
	DefaultJitter     = 0.1
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMaxListed is how many rejects and notes a Status lists one by
	// one; the totals per reason count them all.
	DefaultMaxListed = 100
	// DefaultMaxLogged is how many new rejects (and notes) of one change
	// are logged one by one after the summary line.
	DefaultMaxLogged = 10
)

// An Option configures a Feed in New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	format     registry.Format
	decode     registry.Options
	maxBytes   int64
	balancer   []balancer.Option
	now        func() time.Time
	log        *slog.Logger
	interval   time.Duration
	jitter     float64
	maxBackoff time.Duration
	maxListed  int
	maxLogged  int
	onChange   func(Status)
	rand       func() float64
	idRules    idRules
	sink       Sink
	sinkSet    bool
	maxDrop    float64
	maxDropSet bool
	addressIDs bool
}

func defaultConfig() config {
	return config{
		format:     registry.FormatAuto,
		maxBytes:   weights.DefaultMaxBytes,
		now:        time.Now,
		log:        slog.New(slog.DiscardHandler),
		interval:   DefaultInterval,
		jitter:     DefaultJitter,
		maxBackoff: DefaultMaxBackoff,
		maxListed:  DefaultMaxListed,
		maxLogged:  DefaultMaxLogged,
	}
}

func (c *config) check() error {
	if c.addressIDs {
		c.decode.Policy.IDs = weights.IDsAddress
	}
	if _, err := registry.ParseFormat(string(c.format)); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if err := c.decode.Policy.Check(); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	switch {
	case c.maxBytes <= 0:
		return fmt.Errorf("feed: max bytes %d must be positive", c.maxBytes)
	case c.interval < 0:
		return fmt.Errorf("feed: interval %v must not be negative", c.interval)
	case math.IsNaN(c.jitter) || c.jitter < 0 || c.jitter > 1:
		return fmt.Errorf("feed: jitter %v must be between 0 and 1", c.jitter)
	case c.maxBackoff < 0:
		return fmt.Errorf("feed: max backoff %v must not be negative", c.maxBackoff)
	case c.maxListed < 0:
		return fmt.Errorf("feed: max listed %d must not be negative", c.maxListed)
	case c.maxLogged < 0:
		return fmt.Errorf("feed: max logged %d must not be negative", c.maxLogged)
	case c.now == nil:
		return fmt.Errorf("feed: nil clock")
	}
	return c.sinkCheck()
}

// WithFormat sets the payload's format (see registry.Formats). The default,
// registry.FormatAuto, detects it from the payload's shape.
func WithFormat(f registry.Format) Option {
	return optionFunc(func(c *config) { c.format = f })
}

// WithDecode sets how a registry payload is read: the weight policy, whose
// conventions apply, health, service, scheme and port (see
// registry.Options). The default is the zero value: the registry's
// conventions under the strict policy. The policy's Limits.MaxBytes is set
// from WithMaxBytes.
func WithDecode(o registry.Options) Option {
	return optionFunc(func(c *config) { c.decode = o })
}

// WithAddressIDs makes every node id a TCP address, host:port, whatever
// the policy of WithDecode says (weights.IDsAddress, applied after every
// other option): ids are read in canonical form, so one backend spelled
// two ways is one id (copies whose weights disagree are all rejected as
// duplicates), and an id that is not an address is rejected with reason
// not-an-address. Use it when the ids are dialed, as the proxy and
// package grpcwrr do.
func WithAddressIDs() Option {
	return optionFunc(func(c *config) { c.addressIDs = true })
}

// WithMaxBytes sets the largest payload accepted; a larger one is a fetch
// error. The default is weights.DefaultMaxBytes (8 MiB).
func WithMaxBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxBytes = n })
}

// WithBalancer adds options for the balancer the feed builds (algorithm,
// slow start, ejection cap, balancer.WithMaxWeightDrop for refusing updates
// that drop too much weight at once). They apply after the feed's clock. A
// feed with WithSink builds no balancer, and refuses WithBalancer.
func WithBalancer(opts ...balancer.Option) Option {
	return optionFunc(func(c *config) { c.balancer = append(c.balancer, opts...) })
}

// WithClock sets the clock of the status times and of the balancer the
// feed builds (tests pass a manual clock). The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithLogger sets where polls, rejects, refusals and fetch errors are
// logged. The default discards them.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.log = l
		}
	})
}

// WithInterval sets how often Run polls. 0 polls only when Trigger asks.
// The default is DefaultInterval (1s).
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval = d })
}

// WithJitter spreads each wait of Run uniformly over interval*(1±share),
// share in [0, 1]. The default is DefaultJitter (0.1).
func WithJitter(share float64) Option {
	return optionFunc(func(c *config) { c.jitter = share })
}

// WithMaxBackoff caps the wait after failed fetches: it doubles from the
// interval with each consecutive failure, up to d (never below the
// interval). The default is DefaultMaxBackoff (30s).
func WithMaxBackoff(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxBackoff = d })
}

// WithMaxListed sets how many rejects and notes a Status lists one by one
// (the totals count them all). The default is DefaultMaxListed (100).
func WithMaxListed(n int) Option {
	return optionFunc(func(c *config) { c.maxListed = n })
}

// WithMaxLogged sets how many new rejects, and how many notes, of one
// change are logged one by one after the summary line. The default is
// DefaultMaxLogged (10).
func WithMaxLogged(n int) Option {
	return optionFunc(func(c *config) { c.maxLogged = n })
}

// WithOnChange calls fn with the new Status after every poll that changed
// something: an update applied, an update refused, a fetch error that
// differs from the previous poll's outcome. fn runs on the polling goroutine
// after the feed's lock is released; it must not block for long.
func WithOnChange(fn func(Status)) Option {
	return optionFunc(func(c *config) { c.onChange = fn })
}
