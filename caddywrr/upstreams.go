package caddywrr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func init() {
	caddy.RegisterModule(new(Upstreams))
}

// DefaultPoll is how often Upstreams polls the registry by default.
const DefaultPoll = time.Second

// Upstreams is the dynamic upstream source http.reverse_proxy.upstreams.safewrr.
// It reads a service registry's payload from a file or an http(s) URL
// through package feed, the guarded path of `safewrr proxy`: every payload
// is decoded and validated, rejected nodes are left out (and logged once per
// change), and an update that cannot be read, that the policy refuses, that
// would leave nothing to serve or that drops too much weight at once is
// refused, the last good set serving on. GetUpstreams returns the serving
// nodes of the last applied update (weight above 0) as upstreams; the
// safewrr selection policy picks among them with the registry's weights.
//
// The decode fields are the decode flags of `safewrr validate` and
// `safewrr proxy`. Node ids are always checked as host:port addresses: an
// upstream is dialled.
type Upstreams struct {
	// Source is the registry: a file path or an http:// or https:// URL
	// (JSON "registry"; "source" is Caddy's key for the module name).
	Source string `json:"registry,omitempty"`
	// Name names the source on the admin API's status page; default the
	// source (a URL redacted).
	Name string `json:"name,omitempty"`

	// Poll is the interval between polls; default DefaultPoll. A negative
	// value polls only at load.
	Poll caddy.Duration `json:"poll,omitempty"`
	// PollJitter spreads each interval by this share (0-1) either way;
	// default feed.DefaultJitter.
	PollJitter *float64 `json:"poll_jitter,omitempty"`
	// MaxBackoff is the longest interval after failed fetches; default
	// feed.DefaultMaxBackoff.
	MaxBackoff caddy.Duration `json:"max_backoff,omitempty"`
	// FetchTimeout bounds one fetch from a URL; default
	// feed.DefaultFetchTimeout.
	FetchTimeout caddy.Duration `json:"fetch_timeout,omitempty"`
	// RegistryRedirects is "same-host" (default) or "any".
	RegistryRedirects string `json:"registry_redirects,omitempty"`
	// MaxBytes is the largest payload accepted; default weights.DefaultMaxBytes.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// MaxDrop refuses an update that drops more than this share (0-1] of
	// the total weight; 0 is no limit.
	MaxDrop float64 `json:"max_drop,omitempty"`

	// Policy is the weight policy: "strict" (default) or "lenient".
	Policy string `json:"policy,omitempty"`
	// Format is the payload's format: "auto" (default), "map" or a
	// registry (see registry.Formats).
	Format string `json:"format,omitempty"`
	// Scale multiplies weights before the integer check (0: the format's
	// default).
	Scale uint32 `json:"scale,omitempty"`
	// RefusePartial refuses a whole update when any node is rejected.
	RefusePartial bool `json:"refuse_partial,omitempty"`
	// Convention is whose meaning of 0, missing and unparsable weights
	// applies: "registry" (default), "sdk" or "policy".
	Convention string `json:"convention,omitempty"`
	// Health is what happens to instances the registry marks not serving:
	// "drain" (default), "reject" or "ignore".
	Health string `json:"health,omitempty"`
	// Service keeps one service of a multi-service payload.
	Service string `json:"service,omitempty"`
	// Scheme picks among an instance's URLs (discovery, kratos).
	Scheme string `json:"scheme,omitempty"`
	// Port is the EndpointSlice port name.
	Port string `json:"port,omitempty"`
	// MergeServices serves every service of a multi-service payload as one
	// pool.
	MergeServices bool `json:"merge_services,omitempty"`
	// RequireAddresses is accepted for parity with the command line; ids are
	// always required to be host:port here.
	RequireAddresses bool `json:"require_addresses,omitempty"`

	key string  // the configuration above, as JSON: the key of the shared feed
	sh  *shared // the feed and what it publishes, shared across config reloads
}

// feeds holds the running feeds by their source's configuration: a config
// reload that keeps a source's configuration keeps its feed, and with it
// the last good set, even when the registry is bad at that moment.
var feeds = caddy.NewUsagePool()

// shared is a running feed with its sink's state: the snapshots it
// publishes and the policies bound to it.
type shared struct {
	feed   *feed.Feed
	guard  *balancer.Balancer // the sink's own checks (max_drop) and the admin page's nodes
	admin  *httplb.Admin
	log    *logSwitch
	cancel context.CancelFunc
	done   chan struct{}
	name   string

	mu   sync.Mutex // serializes publishing and subscribing
	subs map[*binding]func(*snapshot)
	gen  int64
	cur  atomic.Pointer[snapshot]
}

// Destruct stops the feed; the usage pool calls it when the last config
// using it is cleaned up.
func (sh *shared) Destruct() error {
	sh.cancel()
	<-sh.done
	unregister(sh.name, sh)
	return nil
}

// snapshot is an applied update as Caddy sees it: every node (for the
// balancer) and the serving ones (the pool, in registry order).
type snapshot struct {
	src   *shared
	gen   int64
	nodes []weights.Node
	ids   []string
	index map[string]int
}

// CaddyModule returns the Caddy module information.
func (*Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams.safewrr",
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// decodeOptions turns the decode fields into a format and registry
// options through registry.Settings (a field left empty or false takes the
// setting's default); errors name the field.
func (u *Upstreams) decodeOptions() (registry.Format, registry.Options, error) {
	var set registry.Settings
	for _, f := range []struct{ name, value string }{
		{"policy", u.Policy},
		{"format", u.Format},
		{"scale", strconv.FormatUint(uint64(u.Scale), 10)},
		{"refuse-partial", strconv.FormatBool(u.RefusePartial)},
		{"convention", u.Convention},
		{"health", u.Health},
		{"service", u.Service},
		{"scheme", u.Scheme},
		{"port", u.Port},
		{"merge-services", strconv.FormatBool(u.MergeServices)},
	} {
		if f.value == "" {
			continue
		}
		if err := set.Set(f.name, f.value); err != nil {
			field := strings.ReplaceAll(f.name, "-", "_")
			var se *registry.SettingError
			switch {
			case errors.As(err, &se) && se.Err != nil:
				return "", registry.Options{}, fmt.Errorf("caddywrr: %s: %w", field, se.Err)
			case se != nil && se.Want != "":
				return "", registry.Options{}, fmt.Errorf("caddywrr: %s: must be %s, got %q", field, se.Want, f.value)
			}
			return "", registry.Options{}, fmt.Errorf("caddywrr: %w", err)
		}
	}
	o := set.Options()
	o.Policy.IDs = weights.IDsAddress
	return set.Format(), o, nil
}

// feedOptions checks every field and returns the feed's source and options.
func (u *Upstreams) feedOptions() (feed.Source, []feed.Option, error) {
	format, dec, err := u.decodeOptions()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case u.PollJitter != nil && (math.IsNaN(*u.PollJitter) || *u.PollJitter < 0 || *u.PollJitter > 1):
		return nil, nil, fmt.Errorf("caddywrr: poll_jitter %v must be between 0 and 1", *u.PollJitter)
	case u.MaxBackoff < 0:
		return nil, nil, fmt.Errorf("caddywrr: max_backoff %v must not be negative", time.Duration(u.MaxBackoff))
	case u.FetchTimeout < 0:
		return nil, nil, fmt.Errorf("caddywrr: fetch_timeout %v must not be negative", time.Duration(u.FetchTimeout))
	case u.MaxBytes < 0:
		return nil, nil, fmt.Errorf("caddywrr: max_bytes %d must not be negative", u.MaxBytes)
	case math.IsNaN(u.MaxDrop) || u.MaxDrop < 0 || u.MaxDrop > 1:
		return nil, nil, fmt.Errorf("caddywrr: max_drop %v must be in [0, 1]", u.MaxDrop)
	case u.RegistryRedirects != "" && u.RegistryRedirects != "same-host" && u.RegistryRedirects != "any":
		return nil, nil, fmt.Errorf("caddywrr: registry_redirects: must be same-host or any, got %q", u.RegistryRedirects)
	}
	var src feed.Source
	switch {
	case u.Source == "":
		return nil, nil, errors.New("caddywrr: source: a registry file or http(s) URL is required")
	case strings.HasPrefix(u.Source, "http://") || strings.HasPrefix(u.Source, "https://"):
		s, err := feed.URL(u.Source, feed.URLOptions{
			Timeout:         time.Duration(u.FetchTimeout),
			AllowOtherHosts: u.RegistryRedirects == "any",
		})
		if err != nil {
			return nil, nil, fmt.Errorf("caddywrr: source: %w", err)
		}
		src = s
	default:
		src = feed.File(u.Source)
	}
	poll := time.Duration(u.Poll)
	switch {
	case poll == 0:
		poll = DefaultPoll
	case poll < 0:
		poll = 0
	}
	opts := []feed.Option{feed.WithFormat(format), feed.WithDecode(dec), feed.WithInterval(poll)}
	if u.PollJitter != nil {
		opts = append(opts, feed.WithJitter(*u.PollJitter))
	}
	if u.MaxBackoff > 0 {
		opts = append(opts, feed.WithMaxBackoff(time.Duration(u.MaxBackoff)))
	}
	if u.MaxBytes > 0 {
		opts = append(opts, feed.WithMaxBytes(u.MaxBytes))
	}
	return src, opts, nil
}

// Provision checks the configuration and starts polling the registry, or
// takes over the feed of the config being replaced when the source's
// configuration is the same (its last good set serves on). A new feed polls
// once before Provision returns. A registry that cannot be read or sends
// nothing good at load is not an error: requests fail with Caddy's 503
// until a good update comes, and the admin API says why.
func (u *Upstreams) Provision(ctx caddy.Context) error {
	src, opts, err := u.feedOptions()
	if err != nil {
		return err
	}
	key, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("caddywrr: %w", err)
	}
	val, _, err := feeds.LoadOrNew(string(key), func() (caddy.Destructor, error) {
		return u.start(ctx, src, opts)
	})
	if err != nil {
		return err
	}
	u.key, u.sh = string(key), val.(*shared)
	u.sh.log.set(ctx.Slogger().Handler()) // log through the newest config's logger
	return nil
}

// start makes the feed of a source configuration and starts polling.
func (u *Upstreams) start(ctx caddy.Context, src feed.Source, opts []feed.Option) (*shared, error) {
	sh := &shared{log: newLogSwitch(ctx.Slogger().Handler()), subs: map[*binding]func(*snapshot){}}
	var bopts []balancer.Option
	if u.MaxDrop > 0 {
		bopts = append(bopts, balancer.WithMaxWeightDrop(u.MaxDrop))
	}
	var err error
	if sh.guard, err = balancer.New(nil, bopts...); err != nil {
		return nil, fmt.Errorf("caddywrr: %w", err)
	}
	opts = append(opts, feed.WithLogger(slog.New(sh.log)), feed.WithSink(sink{sh}))
	f, err := feed.New(ctx, src, opts...)
	if err != nil {
		return nil, fmt.Errorf("caddywrr: %w", err)
	}
	sh.feed = f
	sh.admin = &httplb.Admin{Policy: u.Policy}
	if sh.admin.Policy == "" {
		sh.admin.Policy = "strict"
	}
	sh.admin.Attach(f, sh.guard, nil)
	run, cancel := context.WithCancel(context.Background())
	sh.cancel, sh.done = cancel, make(chan struct{})
	go func() {
		defer close(sh.done)
		_ = f.Run(run)
	}()
	sh.name = register(u.Name, sh)
	return sh, nil
}

// Cleanup releases the feed; it stops when no config uses it any more.
func (u *Upstreams) Cleanup() error {
	if u.sh != nil {
		_, err := feeds.Delete(u.key)
		return err
	}
	return nil
}

// Feed returns the feed that reads the registry (nil before Provision).
func (u *Upstreams) Feed() *feed.Feed {
	if u.sh == nil {
		return nil
	}
	return u.sh.feed
}

// sink is the feed's sink: it takes every node set the feed's guards let
// through, checks it against max_drop, and publishes it to the policies
// bound to the source and then to GetUpstreams.
type sink struct{ sh *shared }

// Update publishes nodes, or refuses them (the feed keeps the last good
// set) when they drop more weight than max_drop allows.
func (s sink) Update(nodes []weights.Node) error {
	u := s.sh
	if err := u.guard.Update(nodes); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen++
	snap := &snapshot{src: u, gen: u.gen, nodes: nodes, index: make(map[string]int, len(nodes))}
	for _, nd := range nodes {
		if nd.Weight > 0 {
			snap.index[nd.ID] = len(snap.ids)
			snap.ids = append(snap.ids, nd.ID)
		}
	}
	for _, fn := range u.subs {
		fn(snap)
	}
	u.cur.Store(snap)
	return nil
}

// subscribe calls fn with the current snapshot and with every snapshot
// applied from now on, before GetUpstreams returns it, until unsubscribe.
func (sh *shared) subscribe(b *binding, fn func(*snapshot)) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.subs[b] = fn
	if s := sh.cur.Load(); s != nil {
		fn(s)
	}
}

// unsubscribe stops handing snapshots to b; the admin page shows the
// nodes of another bound policy, or the source's own.
func (sh *shared) unsubscribe(b *binding) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	delete(sh.subs, b)
	lb := sh.guard
	for other := range sh.subs {
		if other.lb != nil {
			lb = other.lb
			break
		}
	}
	sh.admin.Attach(sh.feed, lb, nil)
}

// GetUpstreams returns the serving nodes of the last applied update, in
// the registry's order, as new Upstream values (Caddy provisions the
// values it is given on every request). Before the first good update it
// returns an error saying why.
func (u *Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	if u.sh == nil {
		return nil, errors.New("caddywrr: the source is not provisioned")
	}
	s := u.sh.cur.Load()
	if s == nil {
		return nil, fmt.Errorf("caddywrr: %s: no registry update applied yet: %s", u.sh.name, u.sh.feed.Status().NoBackendsReason())
	}
	block := make([]reverseproxy.Upstream, len(s.ids))
	pool := make([]*reverseproxy.Upstream, len(s.ids))
	for i := range block {
		block[i].Dial = s.ids[i]
		pool[i] = &block[i]
	}
	caddyhttp.SetVar(r.Context(), varSnapshot, s)
	return pool, nil
}
