package caddywrr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func init() {
	caddy.RegisterModule(new(Policy))
}

// DefaultRecheck is how long an upstream that Caddy reports unhealthy stays
// out of the schedule before Select asks Caddy about it again.
const DefaultRecheck = time.Second

// maxSkips bounds the picks one Select spends on upstreams Caddy reports
// unavailable before it scans the pool for an available one.
const maxSkips = 8

// Keys of the request's variable table (caddyhttp.SetVar): the snapshot a
// safewrr upstream source built the request's pool from, and what the
// policy picked for the request so far (for retries).
const (
	varSnapshot = "safewrr.snapshot"
	varTried    = "safewrr.tried"
)

// Policy is the selection policy http.reverse_proxy.selection_policies.safewrr.
// It picks with a balancer.Balancer: exact shares per cycle, nginx's smooth
// order by default, one atomic add and a table lookup per pick, no lock and
// no allocation.
//
// The weights come from the registry when the upstreams come from the
// safewrr upstream source (Upstreams); otherwise from Weights, one per
// upstream in the order of the pool (static `to` upstreams), validated under
// WeightPolicy; with no Weights every upstream has weight 1.
//
// An upstream Caddy reports unhealthy (health checks, passive failures,
// circuit breaker) is ejected from the schedule for Recheck, so the others
// keep exact shares among themselves; one at its request limit is passed
// over for that pick. A retry of a request (lb_retries, lb_try_duration)
// does not return an upstream already tried for that request while an
// untried available one is left.
type Policy struct {
	// Weights are the static upstreams' weights in pool order, as JSON
	// values: numbers (and, under the lenient policy, decimal strings). The
	// string "0", negatives, fractions and out-of-range values are errors
	// at load. 0 drains an upstream.
	Weights []json.RawMessage `json:"weights,omitempty"`
	// Algorithm is "smooth" (nginx's order, the default) or "resty"
	// (lua-resty-balancer's).
	Algorithm string `json:"algorithm,omitempty"`
	// WeightPolicy is "strict" (numbers only, the default) or "lenient"
	// (also decimal strings) for Weights.
	WeightPolicy string `json:"weight_policy,omitempty"`
	// SlowStart ramps an upstream that joins, or comes back from being
	// unhealthy, to its full weight over this window. Default off.
	SlowStart caddy.Duration `json:"slow_start,omitempty"`
	// MaxEjectedPercent caps the share of upstreams taken out of the
	// schedule at once for being unhealthy (default 50); beyond it an
	// unhealthy upstream is passed over pick by pick.
	MaxEjectedPercent *int `json:"max_ejected_percent,omitempty"`
	// Recheck is how long an unhealthy upstream stays out of the schedule
	// before Caddy's health state is asked again. Default DefaultRecheck.
	Recheck caddy.Duration `json:"recheck,omitempty"`

	weights []uint32 // validated Weights
	opts    []balancer.Option
	log     *zap.Logger

	static atomic.Pointer[staticPool]
	bound  atomic.Pointer[binding]
	mu     sync.Mutex // serializes building static pools and bindings
	warned string     // the last static-pool problem logged (under mu)
	robin  atomic.Uint32
}

// CaddyModule returns the Caddy module information.
func (*Policy) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.selection_policies.safewrr",
		New: func() caddy.Module { return new(Policy) },
	}
}

// Provision validates the configuration.
func (p *Policy) Provision(ctx caddy.Context) error {
	p.log = ctx.Logger()
	if err := p.setup(); err != nil {
		return err
	}
	return nil
}

// setup checks the configuration and prepares the balancer options.
func (p *Policy) setup() error {
	algo := balancer.Smooth
	if p.Algorithm != "" {
		a, err := balancer.ParseAlgorithm(p.Algorithm)
		if err != nil {
			return fmt.Errorf("caddywrr: algorithm: must be smooth or resty, got %q", p.Algorithm)
		}
		algo = a
	}
	pol, err := weightPolicy(p.WeightPolicy)
	if err != nil {
		return err
	}
	if p.SlowStart < 0 {
		return fmt.Errorf("caddywrr: slow_start %v must not be negative", time.Duration(p.SlowStart))
	}
	if p.Recheck < 0 {
		return fmt.Errorf("caddywrr: recheck %v must not be negative", time.Duration(p.Recheck))
	}
	if p.Recheck == 0 {
		p.Recheck = caddy.Duration(DefaultRecheck)
	}
	p.opts = []balancer.Option{balancer.WithAlgorithm(algo)}
	if p.SlowStart > 0 {
		p.opts = append(p.opts, balancer.WithSlowStart(time.Duration(p.SlowStart)))
	}
	if p.MaxEjectedPercent != nil {
		if m := *p.MaxEjectedPercent; m < 0 || m > 100 {
			return fmt.Errorf("caddywrr: max_ejected_percent %d must be between 0 and 100", m)
		}
		p.opts = append(p.opts, balancer.WithMaxEjectedPercent(*p.MaxEjectedPercent))
	}
	p.weights = p.weights[:0]
	for i, raw := range p.Weights {
		w, err := staticWeight(pol, raw)
		if err != nil {
			return fmt.Errorf("caddywrr: weight #%d %s: %w", i+1, bytes.TrimSpace(raw), err)
		}
		p.weights = append(p.weights, w)
	}
	if len(p.weights) > 0 {
		total := uint64(0)
		for _, w := range p.weights {
			total += uint64(w)
		}
		if total == 0 {
			return errors.New("caddywrr: weights: every weight is 0, nothing would serve")
		}
	}
	return nil
}

func weightPolicy(name string) (weights.Policy, error) {
	switch name {
	case "", "strict":
		return weights.Strict(), nil
	case "lenient":
		return weights.Lenient(), nil
	}
	return weights.Policy{}, fmt.Errorf("caddywrr: weight_policy: must be strict or lenient, got %q", name)
}

// staticWeight judges one configured weight as the registry decoders judge
// a registry's: the JSON type is kept, so the string "0" is not the number
// 0.
func staticWeight(pol weights.Policy, raw json.RawMessage) (uint32, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return 0, fmt.Errorf("not a JSON value: %v", err)
	}
	if dec.More() {
		return 0, errors.New("not a single JSON value")
	}
	var r weights.Raw
	switch v := tok.(type) {
	case json.Number:
		r = weights.Number(string(v))
	case string:
		r = weights.String(v)
	case bool:
		r = weights.Bool(v)
	case nil:
		r = weights.Null()
	default:
		return 0, fmt.Errorf("rejected (%s): a weight is a number", weights.ReasonNotNumberType)
	}
	w, reason := pol.Weight(r)
	if reason != "" {
		return 0, fmt.Errorf("rejected (%s)", reason)
	}
	return w, nil
}

// staticPool is the balancer of a pool that does not come from a safewrr
// upstream source, with the pool's dial addresses to recognise it.
type staticPool struct {
	first *reverseproxy.Upstream
	dials []string
	index map[string]int
	nodes []weights.Node
	lb    *balancer.Balancer // nil when the pool cannot be served (see err)
	err   error
}

func (s *staticPool) matches(pool reverseproxy.UpstreamPool) bool {
	if len(pool) != len(s.dials) {
		return false
	}
	if pool[0] == s.first {
		return true
	}
	for i, u := range pool {
		if u.Dial != s.dials[i] {
			return false
		}
	}
	return true
}

// binding is the policy's balancer for the snapshots of one safewrr
// upstream source: the source hands it every applied snapshot.
type binding struct {
	src *shared
	lb  *balancer.Balancer
}

// Cleanup stops the source the policy is bound to from handing it
// snapshots.
func (p *Policy) Cleanup() error {
	if b := p.bound.Load(); b != nil {
		b.src.unsubscribe(b)
	}
	return nil
}

// Select returns an available upstream of pool, or nil when none is.
func (p *Policy) Select(pool reverseproxy.UpstreamPool, r *http.Request, _ http.ResponseWriter) *reverseproxy.Upstream {
	if len(pool) == 0 {
		return nil
	}
	var vars map[string]any
	if r != nil {
		vars, _ = r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	}
	var (
		lb    *balancer.Balancer
		index map[string]int
		ids   []string
	)
	if snap, ok := vars[varSnapshot].(*snapshot); ok && len(snap.ids) == len(pool) {
		b := p.bound.Load()
		if b == nil || b.src != snap.src {
			b = p.bind(snap.src)
		}
		lb, index, ids = b.lb, snap.index, snap.ids
	} else {
		s := p.static.Load()
		if s == nil || !s.matches(pool) {
			s = p.staticFor(pool)
		}
		if s.lb == nil {
			return nil
		}
		lb, index, ids = s.lb, s.index, s.dials
	}
	u, k := p.pick(pool, vars, lb, index)
	if u == nil {
		return nil
	}
	if vars != nil {
		remember(vars, &ids[k])
	}
	return u
}

// pick chooses with lb among the upstreams of pool, passing over those
// tried for this request while an untried one is available, and returns
// the upstream and its position.
func (p *Policy) pick(pool reverseproxy.UpstreamPool, vars map[string]any, lb *balancer.Balancer, index map[string]int) (*reverseproxy.Upstream, int) {
	var prev *requestTried
	var first *string
	switch t := vars[varTried].(type) {
	case *string:
		first = t
	case *requestTried:
		prev = t
	}
	for pass := 0; pass < 2; pass++ {
		var skip balancer.Tried
		if pass == 0 {
			if first != nil {
				skip.Add(*first)
			}
			prev.addTo(&skip)
		} else if first == nil && prev == nil {
			break
		}
		for range min(len(pool), maxSkips) {
			nd, err := lb.NextExcluding(&skip)
			if err != nil {
				break
			}
			k, ok := index[nd.ID]
			if !ok || k >= len(pool) || pool[k].Dial != nd.ID {
				continue // a node of another snapshot than the pool's
			}
			u := pool[k]
			if u.Available() {
				return u, k
			}
			if !u.Healthy() {
				_ = lb.Eject(nd.ID, time.Now().Add(time.Duration(p.Recheck)))
			}
		}
	}
	// Many upstreams unavailable at once: the first available one from a
	// rotating start, untried ones first.
	start := int(p.robin.Add(1))
	for pass := 0; pass < 2; pass++ {
		for i := range pool {
			k := (start + i) % len(pool)
			u := pool[k]
			if _, ok := index[u.Dial]; !ok || !u.Available() {
				continue
			}
			if pass == 0 && ((first != nil && *first == u.Dial) || prev.has(u.Dial)) {
				continue
			}
			return u, k
		}
	}
	return nil, 0
}

// requestTried is what the policy picked for one request, kept in the
// request's variables once it is retried. The first pick is kept as a
// pointer to its id, so a request that is not retried allocates nothing.
type requestTried struct {
	ids []string
}

func (t *requestTried) addTo(tr *balancer.Tried) {
	if t == nil {
		return
	}
	for _, id := range t.ids {
		tr.Add(id)
	}
}

func (t *requestTried) has(id string) bool {
	if t == nil {
		return false
	}
	for _, s := range t.ids {
		if s == id {
			return true
		}
	}
	return false
}

// remember records the upstream id as picked for the request; id points
// into a pool's immutable list of ids.
func remember(vars map[string]any, id *string) {
	switch t := vars[varTried].(type) {
	case *string:
		if *t != *id {
			vars[varTried] = &requestTried{ids: []string{*t, *id}}
		}
	case *requestTried:
		if !t.has(*id) && len(t.ids) < maxRemembered {
			t.ids = append(t.ids, *id)
		}
	default:
		vars[varTried] = id
	}
}

// maxRemembered bounds the upstreams remembered as tried for one request.
const maxRemembered = 64

// staticFor builds (or finds) the balancer of a pool that does not come
// from a safewrr source.
func (p *Policy) staticFor(pool reverseproxy.UpstreamPool) *staticPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.static.Load(); s != nil && s.matches(pool) {
		return s
	}
	s := &staticPool{first: pool[0], dials: make([]string, len(pool)), index: make(map[string]int, len(pool))}
	s.nodes = make([]weights.Node, len(pool))
	for i, u := range pool {
		s.dials[i] = u.Dial
		s.nodes[i] = weights.Node{ID: u.Dial, Weight: 1}
		if len(p.weights) > 0 && i < len(p.weights) {
			s.nodes[i].Weight = p.weights[i]
		}
		if s.nodes[i].Weight > 0 {
			s.index[u.Dial] = i // drained upstreams are never selected
		}
	}
	switch {
	case len(p.weights) > 0 && len(p.weights) != len(pool):
		s.err = fmt.Errorf("caddywrr: %d weights for %d upstreams: give one weight per upstream", len(p.weights), len(pool))
	default:
		lb, err := balancer.New(s.nodes, p.opts...)
		if err != nil {
			s.err = fmt.Errorf("caddywrr: upstreams: %w", err)
		} else {
			s.lb = lb
		}
	}
	if s.err != nil && s.err.Error() != p.warned {
		p.warned = s.err.Error()
		if p.log != nil {
			p.log.Error("no upstream will be selected", zap.Error(s.err))
		}
	}
	p.static.Store(s)
	return s
}

// bind makes the policy's balancer for src's snapshots and asks src to
// hand it every snapshot it applies from now on.
func (p *Policy) bind(src *shared) *binding {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.bound.Load(); b != nil && b.src == src {
		return b
	}
	if old := p.bound.Load(); old != nil {
		old.src.unsubscribe(old)
	}
	b := &binding{src: src}
	src.subscribe(b, func(s *snapshot) {
		if b.lb == nil {
			lb, err := balancer.New(s.nodes, p.opts...)
			if err != nil {
				// Cannot happen with options checked in Provision and a
				// snapshot the feed applied; keep the policy usable.
				lb, _ = balancer.New(nil)
				if p.log != nil {
					p.log.Error("building the balancer", zap.Error(err))
				}
			}
			b.lb = lb
			return
		}
		if err := b.lb.Update(s.nodes); err != nil && p.log != nil {
			p.log.Error("updating the balancer", zap.Error(err))
		}
	})
	src.admin.Attach(src.feed, b.lb, nil) // the status page shows Caddy's ejections
	p.bound.Store(b)
	return b
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Policy)(nil)
	_ reverseproxy.Selector       = (*Policy)(nil)
	_ caddyfile.Unmarshaler       = (*Policy)(nil)
	_ caddy.CleanerUpper          = (*Policy)(nil)
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
	_ caddy.CleanerUpper          = (*Upstreams)(nil)
	_ caddyfile.Unmarshaler       = (*Upstreams)(nil)
)
