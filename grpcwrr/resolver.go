package grpcwrr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// Scheme is the target scheme of the resolver the package registers:
//
//	safewrr:///PATH[?PARAMS]       reads the registry payload from the file PATH
//	safewrr:///?url=URL[&PARAMS]   fetches it from an http or https URL (percent-encoded)
//
// PARAMS are the decode flags of "safewrr validate" and "safewrr proxy", with
// the same names, values and defaults: policy, format, scale, refuse-partial,
// convention (registry, sdk or policy), health, service, scheme, port; and interval, how often the
// payload is read again (a Go duration, default 1s; 0 reads it only when
// gRPC asks the resolver to resolve again); and max-drop, as the proxy's
// --max-drop: an update that drops more than this share (0, 1] of the total
// weight is refused (feed.WithMaxWeightDrop). An unknown or bad parameter is
// an error from the channel's first connection attempt.
const Scheme = "safewrr"

func init() {
	resolver.Register(&resolverBuilder{scheme: Scheme})
}

// NewResolverBuilder returns a resolver builder for scheme whose resolvers
// read src through a feed.Feed built with opts (format, decode options,
// interval, logger, feed.WithOnChange, ...), whatever the target says. Pass it to
// grpc.WithResolvers, or register it with resolver.Register.
//
// Each resolver is its feed's sink (feed.WithSink): the feed builds no
// balancer, so feed.WithBalancer makes Build fail (feed.WithMaxWeightDrop
// is the feed's own guard against an update that drops too much weight),
// and a feed.WithSink of the caller's is replaced by the resolver.
//
// Every resolver polls its own feed: a payload that the feed refuses (it
// cannot be read or decoded, the policy refuses it, nothing would serve) is
// not passed on, and the channel keeps the last good endpoints. Each node of
// an applied update becomes an endpoint whose address is the node's id
// (host:port) and which carries the node as the feed validated it (the
// policy takes it as it is, without judging its weight again); the
// nodes the policy rejected are not passed on, nor are nodes whose id is
// not a TCP host:port (see the package comment): the feed rejects them
// (feed.WithIDRule, reason not-an-address), so they show in its status.
// Whatever the decode options in opts, ids are read as the proxy reads
// them (feed.WithAddressIDs): in canonical form, so one backend spelled two
// ways is one endpoint, and copies whose weights disagree are rejected.
func NewResolverBuilder(scheme string, src feed.Source, opts ...feed.Option) resolver.Builder {
	return &resolverBuilder{scheme: scheme, src: src, opts: opts}
}

type resolverBuilder struct {
	scheme string
	src    feed.Source // nil: from the target
	opts   []feed.Option
}

func (b *resolverBuilder) Scheme() string { return b.scheme }

func (b *resolverBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	src, opts := b.src, b.opts
	if src == nil {
		var err error
		src, opts, err = ParseTarget(target.URL)
		if err != nil {
			return nil, err
		}
	}
	r := &feedResolver{cc: cc}
	// Ids are dial addresses: only TCP host:port, in canonical form and
	// one id per backend, reaches grpc-go, whatever the caller's decode
	// options. The resolver is the feed's sink: no balancer is built here.
	opts = append(slices.Clone(opts), feed.WithAddressIDs(), feed.WithIDRule(weights.ReasonNotAddress, dialProblem), feed.WithSink(r))
	ctx, cancel := context.WithCancel(context.Background())
	f, err := feed.New(ctx, src, opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("grpcwrr: %w", err)
	}
	r.f, r.cancel = f, cancel
	st := f.Status()
	r.changed(st)
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		_ = f.Run(ctx) // returns the context's cause when the resolver closes
	}()
	go func() {
		defer r.wg.Done()
		r.watch(ctx, st.Polls)
	}()
	return r, nil
}

// targetSettings are the decode settings a target takes as parameters
// (registry.Settings names them); merge-services and require-addresses are
// not among them: a channel serves one service, and its ids are always
// addresses.
var targetSettings = []string{"policy", "format", "scale", "refuse-partial", "convention", "health", "service", "scheme", "port"}

// ParseTarget turns a "safewrr" target's URL into a feed source and
// options, as described on Scheme. Errors start with "grpcwrr:".
func ParseTarget(u url.URL) (feed.Source, []feed.Option, error) {
	q := u.Query()
	get := func(key, def string) string {
		if vs, ok := q[key]; ok {
			delete(q, key)
			return vs[len(vs)-1]
		}
		return def
	}
	var src feed.Source
	path, rawURL := u.Path, get("url", "")
	switch {
	case rawURL != "" && path != "" && path != "/":
		return nil, nil, errors.New("grpcwrr: target has both a file path and url=; give one")
	case rawURL != "":
		s, err := feed.URL(rawURL, feed.URLOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("grpcwrr: url: %w", err)
		}
		src = s
	case path == "" || path == "/":
		return nil, nil, errors.New("grpcwrr: target names no registry: want safewrr:///PATH or safewrr:///?url=URL")
	default:
		src = feed.File(path)
	}

	var set registry.Settings
	for _, name := range targetSettings {
		vs, ok := q[name]
		if !ok {
			continue
		}
		delete(q, name)
		if err := set.Set(name, vs[len(vs)-1]); err != nil {
			var se *registry.SettingError
			if errors.As(err, &se) && se.Err != nil {
				return nil, nil, fmt.Errorf("grpcwrr: %s: %w", name, se.Err)
			}
			return nil, nil, fmt.Errorf("grpcwrr: %s", strings.TrimPrefix(err.Error(), "registry: "))
		}
	}
	format, o := set.Format(), set.Options()
	// Every id is dialed, as by the proxy: host:port in canonical form in
	// every format, the plain map included.
	o.Policy.IDs = weights.IDsAddress
	opts := []feed.Option{feed.WithFormat(format), feed.WithDecode(o)}
	if s := get("max-drop", ""); s != "" {
		share, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(share) || share <= 0 || share > 1 {
			return nil, nil, fmt.Errorf("grpcwrr: max-drop must be a share in (0, 1], got %q", s)
		}
		opts = append(opts, feed.WithMaxWeightDrop(share))
	}
	if s := get("interval", ""); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, nil, fmt.Errorf("grpcwrr: interval must be a duration such as \"5s\" (0 for none), got %q", s)
		}
		opts = append(opts, feed.WithInterval(d))
	}
	for key := range q {
		return nil, nil, fmt.Errorf("grpcwrr: unknown target parameter %q", key)
	}
	return src, opts, nil
}

// feedResolver is a feed's sink: it passes each applied update to a
// channel, and reports the feed's errors.
type feedResolver struct {
	cc     resolver.ClientConn
	f      *feed.Feed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	gen     int64  // generation last logged
	lastErr string // last error logged
}

// Update takes a set the feed applies: each node becomes an endpoint whose
// address is the node's id, carrying the node for the policy as validated
// (nodeEndpoint). The channel's answer is the feed's: a set the policy
// refuses is a refused update.
func (r *feedResolver) Update(nodes []weights.Node) error {
	eps := make([]resolver.Endpoint, len(nodes))
	for i, n := range nodes {
		eps[i] = nodeEndpoint(n)
	}
	return r.cc.UpdateState(resolver.State{Endpoints: eps})
}

// watch hands every completed poll to changed until ctx is done. It waits
// on the feed rather than taking its OnChange callback, which stays the
// caller's.
func (r *feedResolver) watch(ctx context.Context, polls int64) {
	for {
		st := r.f.Wait(ctx, polls)
		if ctx.Err() != nil {
			return
		}
		polls = st.Polls
		r.changed(st)
	}
}

// changed takes the feed's status after a poll: errors are logged, and
// reported to the channel while nothing serves yet; the rejects of an
// applied update are logged. It runs on one goroutine at a time (Build,
// then watch).
func (r *feedResolver) changed(st feed.Status) {
	if st.LastError != r.lastErr {
		r.lastErr = st.LastError
		if st.LastError != "" {
			logger.Warningf("safewrr: %s: %s", st.Source, st.LastError)
		}
	}
	if !st.Serving() {
		r.cc.ReportError(fmt.Errorf("grpcwrr: %s: %s", st.Source, st.NoBackendsReason()))
		return
	}
	if st.Generation == r.gen {
		return
	}
	r.gen = st.Generation
	if st.Rejected > 0 {
		logger.Warning(rejectWarning(st))
	}
}

// rejectWarning is the warning for an applied update that left rejected
// nodes out: how many, their reasons, and the first of them.
func rejectWarning(st feed.Status) string {
	first := "none listed"
	if len(st.Rejects) > 0 {
		first = st.Rejects[0].Message // names the node and its position
	}
	return fmt.Sprintf("safewrr: %s: %d of %d nodes rejected and left out (%v), first: %s", st.Source, st.Rejected, st.Entries, st.Reasons, first)
}

// ResolveNow makes the feed read the registry at once.
func (r *feedResolver) ResolveNow(resolver.ResolveNowOptions) { r.f.Trigger() }

// Close stops the feed's polling and waits for it.
func (r *feedResolver) Close() {
	r.cancel()
	r.wg.Wait()
}
