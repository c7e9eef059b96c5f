package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// Feed keeps a Sink (by default a balancer.Balancer of its own) in step
// with a registry. Create one with New; it is safe for concurrent use.
type Feed struct {
	src     Source
	cfg     config
	sink    Sink               // set by New, never again
	lb      *balancer.Balancer // the sink when it is a balancer; set by New, never again
	trigger chan struct{}

	// pollMu serializes polls; it guards the fields below it.
	pollMu   sync.Mutex
	last     []byte // the payload last decoded
	applied  []byte // the payload last applied
	rejected map[rejectKey]struct{}
	notesSig string
	fetchErr string // the last poll's fetch error, "" after a success

	mu      sync.Mutex
	st      Status
	changed chan struct{} // closed and replaced after every poll
}

// New returns a feed over src and polls it once before returning, so that
// the sink has the registry's nodes at once when the first poll is good;
// otherwise the sink gets nothing (a balancer's picks fail with
// balancer.ErrNoBackends) until a good update comes, and Status says why.
//
// The sink is the one given with WithSink, or else a balancer.Balancer the
// feed builds with the options of WithBalancer (see Balancer). A balancer's
// first good nodes start at full weight; later ones join through slow start
// when it is on (an update from an empty set skips slow start).
//
// New fails only on bad options or a nil source, never because of what the
// source returned. It does not poll again by itself: call Run (or Poll).
func New(ctx context.Context, src Source, opts ...Option) (*Feed, error) {
	if src == nil {
		return nil, errors.New("feed: nil Source")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.rand == nil {
		cfg.rand = rand.Float64
	}
	cfg.decode.Policy.Limits.MaxBytes = int(min(cfg.maxBytes, 1<<31-1))
	f := &Feed{
		src:     src,
		cfg:     cfg,
		trigger: make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	if cfg.sink != nil {
		f.sink = cfg.sink
		f.lb, _ = cfg.sink.(*balancer.Balancer)
	} else {
		lb, err := balancer.New(nil, append([]balancer.Option{balancer.WithClock(cfg.now)}, cfg.balancer...)...)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		f.sink, f.lb = lb, lb
	}
	f.st = Status{Source: src.String(), Reasons: map[string]int{}, Rejects: []Reject{}, NoteCodes: map[string]int{}, Notes: []Note{}}
	f.Poll(ctx)
	return f, nil
}

// Balancer returns the balancer the feed updates: the one it built, or the
// sink given with WithSink when that is a *balancer.Balancer; nil for any
// other sink. It is the same balancer for the feed's whole life.
func (f *Feed) Balancer() *balancer.Balancer { return f.lb }

// Source returns the feed's source.
func (f *Feed) Source() Source { return f.src }

// Status returns a snapshot of the feed's state.
func (f *Feed) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// Changed returns a channel that is closed when the next poll completes.
func (f *Feed) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Wait returns once more than after polls have completed (at once if they
// already have), or when ctx is done, with the status at that time.
func (f *Feed) Wait(ctx context.Context, after int64) Status {
	for {
		f.mu.Lock()
		st, ch := f.st, f.changed
		f.mu.Unlock()
		if st.Polls > after {
			return st
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return f.Status()
		}
	}
}

// Trigger asks Run to poll at once. It never blocks; requests made while a
// poll is pending are merged.
func (f *Feed) Trigger() {
	select {
	case f.trigger <- struct{}{}:
	default:
	}
}

// Run polls the source until ctx is done, then returns context.Cause(ctx).
// It waits the interval between polls, spread by the jitter, and backs off
// after failed fetches (see WithInterval, WithJitter, WithMaxBackoff); Trigger
// makes it poll at once. With an interval of 0 it polls only on Trigger.
// Run one at a time.
//
// Each poll runs on a goroutine of its own with ctx, so a source that is
// slow to answer never holds Run up: Run returns as soon as ctx is done,
// even while a poll is still reading (that poll ends in the background
// when its Fetch returns). A Trigger that comes while a poll runs is kept
// and served by one more poll right after it.
func (f *Feed) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := make(chan struct{}, 1) // a poll started by Run completed
	polling := false
	for {
		var tick <-chan time.Time
		var trigger <-chan struct{}
		timer.Stop()
		if !polling {
			trigger = f.trigger
			if d := f.nextWait(); d > 0 {
				timer.Reset(d)
				tick = timer.C
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-done:
			polling = false
			continue
		case <-tick:
		case <-trigger:
		}
		polling = true
		go func() {
			f.Poll(ctx)
			done <- struct{}{}
		}()
	}
}

// nextWait is the wait before Run's next poll: the interval, doubled for
// each consecutive failed fetch up to the maximum backoff, times a random
// factor in [1-jitter, 1+jitter]. 0 means no timed poll.
func (f *Feed) nextWait() time.Duration {
	f.mu.Lock()
	failures := f.st.FetchFailures
	f.mu.Unlock()
	return backoff(f.cfg.interval, f.cfg.maxBackoff, f.cfg.jitter, failures, f.cfg.rand())
}

// backoff computes a wait (see nextWait) with r in [0, 1).
func backoff(interval, maxBackoff time.Duration, jitter float64, failures int, r float64) time.Duration {
	if interval <= 0 {
		return 0
	}
	d := interval
	ceiling := max(maxBackoff, interval)
	for i := 0; i < failures && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return time.Duration(float64(d) * (1 + jitter*(2*r-1)))
}

// Poll reads the source once, decodes and checks the payload, and applies
// it unless it is refused; it returns the status after the poll. It never
// leaves the balancer worse than it was: every refusal keeps the last good
// nodes. Polls are serialized.
func (f *Feed) Poll(ctx context.Context) Status {
	f.pollMu.Lock()
	defer f.pollMu.Unlock()

	data, ferr := f.src.Fetch(ctx, f.cfg.maxBytes)
	if ferr == nil && int64(len(data)) > f.cfg.maxBytes {
		ferr = fmt.Errorf("registry payload is larger than %d bytes", f.cfg.maxBytes)
	}
	now := f.cfg.now()

	f.mu.Lock()
	st := f.st // the next status, built without holding mu during decode
	f.mu.Unlock()
	st.Polls++
	st.PolledAt = now
	changed := f.poll(&st, data, ferr, now)

	f.mu.Lock()
	f.st = st
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	if changed && f.cfg.onChange != nil {
		f.cfg.onChange(st)
	}
	return st
}

// poll does the work of Poll on st; it reports whether anything changed
// that WithOnChange should hear about. f.pollMu is held.
func (f *Feed) poll(st *Status, data []byte, ferr error, now time.Time) bool {
	log := f.cfg.log
	if ferr != nil {
		st.LastPoll = FetchError
		st.LastError = "fetch: " + ferr.Error()
		st.FetchFailures++
		msg := ferr.Error()
		repeated := msg == f.fetchErr
		f.fetchErr = msg
		args := []any{"registry", st.Source, "error", msg, "failures", st.FetchFailures}
		switch {
		case repeated:
			log.Debug("registry: fetch failed again", args...)
		case st.Generation == 0:
			log.Error("registry: fetch failed; no backends to serve yet", args...)
		default:
			log.Warn("registry: fetch failed, keeping the last good nodes", append(args, "generation", st.Generation)...)
		}
		return !repeated
	}
	st.FetchFailures = 0
	f.fetchErr = ""
	if f.last != nil && bytes.Equal(data, f.last) {
		st.LastPoll = Unchanged
		if f.applied != nil && bytes.Equal(data, f.applied) {
			// The registry says again what is serving.
			st.LastError = ""
		}
		return false
	}
	f.last = data

	snap, rep, err := registry.Decode(f.cfg.format, data, f.cfg.decode)
	if err == nil {
		snap, rep = f.cfg.idRules.apply(snap, rep, f.cfg.decode.Policy.Partial)
	}
	f.record(st, rep, now)
	refuse := func(stage string, err error) bool {
		st.LastPoll = Refused
		st.LastError = "update refused (" + stage + "): " + err.Error()
		st.Refused = &Refusal{At: now, Stage: stage, Error: err.Error()}
		if st.Generation == 0 {
			log.Error("registry: update refused; no backends to serve yet", "stage", stage, "error", err.Error(), "registry", st.Source)
		} else {
			log.Error("registry: update refused, keeping the last good nodes", "stage", stage, "error", err.Error(), "generation", st.Generation)
		}
		return true
	}
	switch {
	case err != nil:
		return refuse("decode", err)
	case rep.Refused != nil:
		return refuse("policy", rep.Refused)
	}
	if err := f.apply(st.Nodes, snap.Nodes); err != nil {
		return refuse("balancer", err)
	}
	f.applied = data
	st.Generation++
	st.AppliedAt = now
	st.LastPoll = Applied
	st.LastError = ""
	st.Refused = nil
	st.Nodes = snap.Nodes
	log.Info("registry: update applied", "generation", st.Generation, "nodes", len(snap.Nodes),
		"rejected", len(rep.Rejected), "format", rep.Format)
	return true
}

// apply hands nodes to the sink, unless they leave nothing to serve or
// drop too much of the weight of old, the last applied set (the refusals
// of balancer.CheckUpdate); the sink may refuse them too.
func (f *Feed) apply(old, nodes []weights.Node) error {
	if err := balancer.CheckUpdate(old, nodes, f.cfg.maxDrop); err != nil {
		return err
	}
	return f.sink.Update(nodes)
}
