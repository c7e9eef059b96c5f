package grpcwrr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/balancer/endpointsharding"
	"google.golang.org/grpc/balancer/pickfirst"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
	"google.golang.org/grpc/status"

	wrr "github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// Name is the name the policy is registered under, the key of its entry in
// a service config's loadBalancingConfig.
const Name = "safewrr"

var logger = grpclog.Component("safewrr")

func init() {
	balancer.Register(NewBuilder())
}

// ejectFor is how long a failed endpoint's ejection lasts: in practice until
// the endpoint is READY again, which restores it.
const ejectFor = 100 * 365 * 24 * time.Hour

// A BuilderOption configures NewBuilder.
type BuilderOption interface{ apply(*builder) }

type builderOptionFunc func(*builder)

func (f builderOptionFunc) apply(b *builder) { f(b) }

// WithName sets the name the builder registers under instead of Name.
func WithName(name string) BuilderOption {
	return builderOptionFunc(func(b *builder) { b.name = name })
}

// WithClock sets the clock used for slow start and ejection (time.Now by
// default), for tests that move time by hand.
func WithClock(now func() time.Time) BuilderOption {
	return builderOptionFunc(func(b *builder) { b.now = now })
}

// NewBuilder returns the policy's builder, which also parses its config
// (balancer.ConfigParser). The package registers one under Name; register
// another with balancer.Register to use a different name or clock.
func NewBuilder(opts ...BuilderOption) balancer.Builder {
	b := &builder{name: Name, now: time.Now}
	for _, o := range opts {
		o.apply(b)
	}
	return b
}

type builder struct {
	name string
	now  func() time.Time
	// onState, when set (by tests), gets the balancer and the endpoints'
	// connectivity after every new picker.
	onState func(*wrr.Balancer, map[string]connectivity.State)
	// onReject, when set (by tests), gets every rejected endpoint.
	onReject func(*weights.NodeError)
}

func (b *builder) Name() string { return b.name }

func (b *builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	return ParseConfig(js)
}

func (b *builder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	p := &policy{
		cc:       cc,
		now:      b.now,
		onState:  b.onState,
		onReject: b.onReject,
		cfg:      DefaultConfig(),
		joined:   map[string]bool{},
		first:    map[string]bool{},
		states:   map[string]connectivity.State{},
	}
	p.child = endpointsharding.NewBalancer(childCC{ClientConn: cc, p: p}, opts,
		balancer.Get(pickfirst.Name).Build, endpointsharding.Options{})
	return p
}

// policy is one channel's balancer: it judges the resolver's endpoints,
// keeps a safewrr balancer over the accepted ones and turns the pick_first
// children's states into pickers.
type policy struct {
	cc       balancer.ClientConn
	child    balancer.Balancer // endpointsharding over pick_first children
	now      func() time.Time
	onState  func(*wrr.Balancer, map[string]connectivity.State)
	onReject func(*weights.NodeError)

	mu     sync.Mutex
	cfg    *Config
	wrr    *wrr.Balancer                 // nil until the first accepted update
	nodes  []weights.Node                // accepted endpoints, resolver order, registry weights
	joined map[string]bool               // ids that have been READY (serving weight in the schedule)
	first  map[string]bool               // ids of the first accepted update that have not been READY yet
	states map[string]connectivity.State // last child state by id
}

// childCC is the ClientConn the endpointsharding child sees: its state
// updates come to the policy.
type childCC struct {
	balancer.ClientConn
	p *policy
}

func (c childCC) UpdateState(s balancer.State) {
	c.p.childStates(endpointsharding.ChildStatesFromPicker(s.Picker))
}

func (p *policy) UpdateClientConnState(ccs balancer.ClientConnState) error {
	cfg, _ := ccs.BalancerConfig.(*Config)
	if cfg == nil {
		cfg = DefaultConfig()
	}
	eps := ccs.ResolverState.Endpoints
	snap, report := judge(cfg, eps)
	rejected := make(map[int]bool, len(report.Rejected))
	for _, ne := range report.Rejected {
		rejected[ne.Index] = true
		logger.Warningf("safewrr: endpoint %d rejected, never picked: %v", ne.Index, ne)
		if p.onReject != nil {
			p.onReject(ne)
		}
	}
	serving := false
	for _, n := range snap.Nodes {
		serving = serving || n.Weight > 0
	}
	var refused error
	switch {
	case len(eps) == 0:
		refused = errors.New("the resolver sent no endpoints")
	case report.Refused != nil:
		refused = report.Refused
	case !serving:
		refused = errors.New("no accepted endpoint has a positive weight")
	}
	if refused != nil {
		p.mu.Lock()
		first := p.wrr == nil
		p.mu.Unlock()
		logger.Warningf("safewrr: resolver update refused, the previous endpoints keep serving: %v", refused)
		if first {
			p.fail(fmt.Errorf("safewrr: resolver update refused: %w", refused))
		}
		return balancer.ErrBadResolverState
	}

	accepted := make([]resolver.Endpoint, 0, len(snap.Nodes))
	for i, ep := range eps {
		if !rejected[i] {
			accepted = append(accepted, withID(ep, snap.Nodes[len(accepted)].ID))
		}
	}

	p.mu.Lock()
	rebuild := p.wrr == nil || !sameBalancerConfig(p.cfg, cfg)
	p.cfg = cfg
	p.nodes = snap.Nodes
	ids := make(map[string]bool, len(snap.Nodes))
	for _, n := range snap.Nodes {
		ids[n.ID] = true
	}
	for _, m := range []map[string]bool{p.joined, p.first} {
		for id := range m {
			if !ids[id] {
				delete(m, id)
			}
		}
	}
	for id := range p.states {
		if !ids[id] {
			delete(p.states, id)
		}
	}
	if p.wrr == nil {
		for id := range ids {
			p.first[id] = true
		}
	}
	if rebuild {
		p.newBalancer()
	} else {
		p.updateBalancer()
	}
	p.mu.Unlock()

	return p.child.UpdateClientConnState(balancer.ClientConnState{
		ResolverState: pickfirst.EnableHealthListener(resolver.State{
			Endpoints:     accepted,
			Attributes:    ccs.ResolverState.Attributes,
			ServiceConfig: ccs.ResolverState.ServiceConfig,
		}),
	})
}

// judge turns the resolver's endpoints into nodes. The endpoints of the
// package's resolver carry nodes its feed validated (nodeEndpoint): they are
// taken as they are. Any other resolver's are judged here: the entries
// attached to them by the weights policy of cfg, their addresses by
// dialProblem, and an endpoint whose address an earlier one has is
// rejected.
func judge(cfg *Config, eps []resolver.Endpoint) (weights.Snapshot, weights.Report) {
	if nodes, ok := fedNodes(eps); ok {
		return weights.Snapshot{Nodes: nodes}, weights.Report{Entries: len(eps)}
	}
	entries := make([]weights.Entry, len(eps))
	for i, ep := range eps {
		entries[i], _ = EntryOf(ep)
		if entries[i].Reject != "" {
			continue
		}
		if len(ep.Addresses) == 0 {
			entries[i].Reject, entries[i].Detail = weights.ReasonMalformedEntry, "the endpoint has no address"
		}
		for _, a := range ep.Addresses {
			if why := dialProblem(a.Addr); why != "" {
				entries[i].Reject, entries[i].Detail = weights.ReasonNotAddress, fmt.Sprintf("address %q: %s", a.Addr, why)
				break
			}
		}
	}
	snap, report := cfg.WeightPolicy.Build(entries)
	if dupAddresses(eps, entries, report) {
		// Judge again, with the later endpoints of a shared address rejected.
		snap, report = cfg.WeightPolicy.Build(entries)
	}
	return snap, report
}

// dupAddresses rejects (in entries) every accepted endpoint that shares an
// address with an earlier accepted one, the addresses compared in canonical
// form (one backend spelled two ways is one): one connection cannot serve
// two nodes. It reports whether it rejected any.
func dupAddresses(eps []resolver.Endpoint, entries []weights.Entry, report weights.Report) bool {
	rejected := make(map[int]bool, len(report.Rejected))
	for _, ne := range report.Rejected {
		rejected[ne.Index] = true
	}
	owner := map[string]int{}
	found := false
	for i, ep := range eps {
		if rejected[i] {
			continue
		}
		for _, a := range ep.Addresses {
			if j, dup := owner[canonical(a.Addr)]; dup {
				entries[i].Reject, entries[i].Detail = weights.ReasonDuplicateID, fmt.Sprintf("address %s is also endpoint %d's", a.Addr, j)
				found = true
				break
			}
		}
		if entries[i].Reject == "" {
			for _, a := range ep.Addresses {
				owner[canonical(a.Addr)] = i
			}
		}
	}
	return found
}

func sameBalancerConfig(a, b *Config) bool {
	return a.Algorithm == b.Algorithm && a.SlowStart == b.SlowStart &&
		a.MaxEjectedPercent == b.MaxEjectedPercent && a.RandomStart == b.RandomStart
}

// schedule returns the nodes as the balancer sees them: an endpoint that has
// not been READY yet is drained.
func (p *policy) schedule() []weights.Node {
	out := make([]weights.Node, len(p.nodes))
	for i, n := range p.nodes {
		if !p.joined[n.ID] {
			n.Weight = 0
		}
		out[i] = n
	}
	return out
}

// newBalancer builds the balancer for a new config; endpoints in
// TRANSIENT_FAILURE are ejected again. Caller holds p.mu.
func (p *policy) newBalancer() {
	opts := append(p.cfg.options(), wrr.WithClock(p.now))
	if p.cfg.RandomStart {
		opts = append(opts, wrr.WithRandomStart(rand.Int64()))
	}
	b, err := wrr.New(p.schedule(), opts...)
	if err != nil {
		// The config and the nodes were validated; this is a bug.
		logger.Errorf("safewrr: building the balancer: %v", err)
		return
	}
	p.wrr = b
	for id, s := range p.states {
		if s == connectivity.TransientFailure && p.joined[id] {
			p.eject(id)
		}
	}
}

// updateBalancer gives the balancer the current schedule. A refused update
// (nothing serving yet among the new endpoints) keeps the previous one; the
// picker passes over endpoints that are not READY. Caller holds p.mu.
func (p *policy) updateBalancer() {
	if err := p.wrr.Update(p.schedule()); err != nil {
		logger.Infof("safewrr: schedule kept until an endpoint of the new set is READY: %v", err)
	}
}

func (p *policy) eject(id string) {
	if err := p.wrr.Eject(id, p.now().Add(ejectFor)); err != nil {
		logger.Warningf("safewrr: endpoint %q is in TRANSIENT_FAILURE and stays in the schedule (passed over until READY): %v", id, err)
	}
}

// childStates takes the pick_first children's states: joins, ejections and
// restores, then a new picker.
func (p *policy) childStates(children []endpointsharding.ChildState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wrr == nil {
		return
	}
	byID := make(map[string]endpointsharding.ChildState, len(children))
	for _, c := range children {
		if id := idOf(c.Endpoint); id != "" {
			byID[id] = c
		}
	}
	var ready []string // endpoints that became READY
	joined, later, changed := false, false, false
	for _, n := range p.nodes {
		c, ok := byID[n.ID]
		if !ok {
			continue
		}
		s, prev := c.State.ConnectivityState, p.states[n.ID]
		p.states[n.ID] = s
		if s == prev {
			continue
		}
		switch s {
		case connectivity.Ready:
			ready = append(ready, n.ID)
			if !p.joined[n.ID] {
				p.joined[n.ID] = true
				joined = true
				later = later || !p.first[n.ID]
				delete(p.first, n.ID)
			}
		case connectivity.TransientFailure:
			if p.joined[n.ID] {
				p.eject(n.ID)
				changed = true
			}
		}
	}
	switch {
	case joined && !later && p.calm():
		// The channel's first endpoints connecting: they start at full
		// weight, as nodes given to a new balancer do.
		p.newBalancer()
	case joined:
		p.updateBalancer()
	}
	if len(ready) > 0 {
		// An endpoint READY again ends its ejection. The balancer keeps an
		// ejection by id, also for an endpoint the resolver dropped and
		// sent again, so this is asked after the join.
		ejected := p.ejectedIDs()
		for _, id := range ready {
			if ejected[id] {
				if err := p.wrr.Restore(id); err != nil {
					logger.Errorf("safewrr: restoring %q: %v", id, err)
				}
				changed = true
			}
		}
	}
	if changed {
		// Ejections and restores reach the schedule through a build; make
		// it here, off the request path, so the new picker starts on it.
		p.wrr.Sync()
	}
	p.cc.UpdateState(p.pickerLocked(byID))
	if p.onState != nil {
		conn := make(map[string]connectivity.State, len(p.states))
		for id, s := range p.states {
			conn[id] = s
		}
		p.onState(p.wrr, conn)
	}
}

// calm reports whether no node is ejected or ramping, so that a new
// balancer loses nothing but the position in the cycle.
func (p *policy) calm() bool {
	for _, s := range p.wrr.States() {
		if s.State == wrr.Ejected || s.State == wrr.Ramping {
			return false
		}
	}
	return true
}

func (p *policy) ejectedIDs() map[string]bool {
	m := map[string]bool{}
	for _, s := range p.wrr.States() {
		if s.State == wrr.Ejected {
			m[s.ID] = true
		}
	}
	return m
}

// pickerLocked builds the picker for the current states. Caller holds p.mu.
func (p *policy) pickerLocked(byID map[string]endpointsharding.ChildState) balancer.State {
	ready := make(map[string]balancer.Picker, len(byID))
	connecting := false
	var failing balancer.Picker
	for _, n := range p.nodes {
		c, ok := byID[n.ID]
		if !ok {
			connecting = true // a child not created yet
			continue
		}
		switch c.State.ConnectivityState {
		case connectivity.Ready:
			ready[n.ID] = c.State.Picker
		case connectivity.Idle, connectivity.Connecting:
			connecting = true
		case connectivity.TransientFailure:
			if failing == nil {
				failing = c.State.Picker
			}
		}
	}
	servable := false
	for _, s := range p.wrr.States() {
		if s.Effective > 0 && ready[s.ID] != nil {
			servable = true
			break
		}
	}
	switch {
	case servable:
		return balancer.State{ConnectivityState: connectivity.Ready, Picker: newPicker(p.wrr, ready, len(p.nodes))}
	case connecting || failing == nil:
		return balancer.State{ConnectivityState: connectivity.Connecting, Picker: queuePicker{}}
	default:
		return balancer.State{ConnectivityState: connectivity.TransientFailure, Picker: failing}
	}
}

func (p *policy) ResolverError(err error) {
	p.mu.Lock()
	first := p.wrr == nil
	p.mu.Unlock()
	if first {
		p.fail(fmt.Errorf("safewrr: resolver error: %w", err))
		return
	}
	logger.Warningf("safewrr: resolver error, the previous endpoints keep serving: %v", err)
}

// fail reports TRANSIENT_FAILURE with err before any endpoint was accepted.
func (p *policy) fail(err error) {
	p.cc.UpdateState(balancer.State{
		ConnectivityState: connectivity.TransientFailure,
		Picker:            base.NewErrPicker(status.Error(codes.Unavailable, err.Error())),
	})
}

func (p *policy) UpdateSubConnState(sc balancer.SubConn, s balancer.SubConnState) {
	logger.Errorf("safewrr: UpdateSubConnState(%v, %+v) called; the children's state listeners should get it", sc, s)
}

func (p *policy) Close() { p.child.Close() }

func (p *policy) ExitIdle() { p.child.ExitIdle() }
