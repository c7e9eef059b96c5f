package balancer

import (
	"maps"
	"math"
	"slices"
)

// kick makes sure a background build runs: it starts one goroutine unless
// one is running. The goroutine ends by itself once the schedule is up to
// date, so an idle Balancer holds no goroutine and needs no Close.
func (b *Balancer) kick() {
	if b.building.Load() || !b.building.CompareAndSwap(false, true) {
		return
	}
	b.builds.Add(1)
	go b.background()
}

// background builds until the schedule is up to date. A change that
// arrives while it finishes either sees building still set (and is picked
// up by the check after it is cleared) or starts a new goroutine.
func (b *Balancer) background() {
	defer b.builds.Done()
	for {
		b.buildMu.Lock()
		b.build()
		b.buildMu.Unlock()
		b.building.Store(false)
		if b.upToDate() || !b.building.CompareAndSwap(false, true) {
			return
		}
	}
}

// upToDate reports whether the current schedule reflects every change and
// the clock's now.
func (b *Balancer) upToDate() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.cur.Load()
	return s != nil && s.gen == b.gen.Load() && (s.deadline == never || b.now() < s.deadline)
}

// Sync builds, in the caller, the schedule for every change made so far and
// for the clock's now, and returns once it serves picks. Eject, Restore and
// the clock's changes (ejection expiry, slow-start steps) reach the schedule
// through a build off the request path; picks honour an ejection at once,
// but the order of picks follows the new schedule only after that build.
// Sync is for callers that want that order at a known point: tests,
// simulations, a comparison with another implementation. It waits for a
// build in progress and costs one build when the schedule is behind.
func (b *Balancer) Sync() {
	b.buildMu.Lock()
	defer b.buildMu.Unlock()
	b.build()
}

// build brings the schedule up to date with the state and the clock. The
// state is copied under b.mu (the copy holds only the ejected and ramping
// ids); the schedule is built without it, so Eject and Restore never wait
// for a build; the swap takes b.mu again to hand the new schedule the
// ejections that came after the copy. b.buildMu must be held.
func (b *Balancer) build() {
	for {
		b.mu.Lock()
		now := b.now()
		b.expire(now)
		prev := b.cur.Load()
		if prev != nil && prev.gen == b.gen.Load() && (prev.deadline == never || now < prev.deadline) {
			b.mu.Unlock()
			return
		}
		gen, m := b.gen.Load(), b.m
		until, ramp := maps.Clone(b.until), maps.Clone(b.ramp)
		b.mu.Unlock()

		eff, deadline, err := effectiveAll(m, until, ramp, now, int64(b.cfg.slowStart))
		s := newSchedule(m, eff, &b.cfg)
		s.gen, s.deadline, s.err = gen, deadline, err
		s.place(&b.cfg, prev)

		b.mu.Lock()
		b.handPending(s)
		b.handOut(s, until)
		b.cur.Store(s)
		b.mu.Unlock()
	}
}

// effectiveAll returns the effective weights of m's nodes at now (nil when
// they are the configured weights: nothing is ejected or ramping, the
// common case, which then costs no pass over the nodes), the time the next
// of them changes (never if none does) and the error picks return when
// none serves.
func effectiveAll(m *members, until, ramp map[string]int64, now int64, slow int64) ([]uint32, int64, error) {
	var eff []uint32
	set := func(i int, w uint32) {
		if eff == nil {
			eff = make([]uint32, len(m.nodes))
			for k, n := range m.nodes {
				eff[k] = n.Weight
			}
		}
		eff[i] = w
	}
	deadline := int64(never)
	soonest := func(t int64) {
		if t != never && (deadline == never || t < deadline) {
			deadline = t
		}
	}
	for id := range until {
		if i := m.lookup(id); i >= 0 {
			w, st, next := effective(m.nodes[i].Weight, until[id], ramp[id], rampOf(ramp, id), now, slow)
			if plantEjectedPicked && st == Ejected {
				w = m.nodes[i].Weight
			}
			set(i, w)
			soonest(next)
		}
	}
	for id := range ramp {
		if _, ok := until[id]; ok {
			continue // done above
		}
		if i := m.lookup(id); i >= 0 {
			w, _, next := effective(m.nodes[i].Weight, never, ramp[id], true, now, slow)
			set(i, w)
			soonest(next)
		}
	}
	var err error
	switch {
	case len(m.nodes) == 0:
		err = ErrNoBackends
	case m.serving == 0:
		err = ErrAllDrained
	case eff != nil:
		err = ErrAllEjected
		for _, w := range eff {
			if w > 0 {
				err = nil
				break
			}
		}
	}
	return eff, deadline, err
}

// effectiveAt returns node i's weight in eff, effectiveAll's result.
func effectiveAt(m *members, eff []uint32, i int) uint32 {
	if eff == nil {
		return m.nodes[i].Weight
	}
	return eff[i]
}

func rampOf(ramp map[string]int64, id string) bool {
	_, ok := ramp[id]
	return ok
}

// effective returns a node's weight for picking at now, its state and the
// time its effective weight next changes (never if it does not). w is its
// configured weight, end the end of its ejection and start the start of its
// ramp (each meaningful only when present).
func effective(w uint32, end, start int64, ramping bool, now, slow int64) (uint32, State, int64) {
	if w == 0 {
		return 0, Drained, never
	}
	if end != never && now < end {
		return 0, Ejected, end
	}
	if ramping && slow > 0 {
		e := max(now-start, 0)
		if e < slow {
			step := min(int64(float64(e)/float64(slow)*rampSteps), rampSteps-1)
			eff := max(uint64(w)*uint64(step+1)/(rampSteps+1), 1)
			next := start + int64(float64(slow)*float64(step+1)/rampSteps)
			if next <= now {
				next = now + 1
			}
			return uint32(eff), Ramping, next
		}
	}
	return w, restingState(w), never
}

// restingState is the state of a member neither ejected nor ramping:
// drained at weight 0, serving otherwise. It is told without a comparison:
// States reads every member of a set, and under a fuzzing build each
// comparison in safewrr's code calls a tracing hook.
func restingState(w uint32) State { return Drained - State(min(w, 1)) }

// expire applies the clock to the per-id state: ejections that ended
// become (with slow start) ramps, ramps that ended go. It costs nothing
// until the first of them ends. b.mu must be held.
func (b *Balancer) expire(now int64) {
	if now < b.nextExpiry {
		return
	}
	slow := int64(b.cfg.slowStart)
	next := int64(math.MaxInt64)
	for id, end := range b.until {
		if now < end {
			next = min(next, end)
			continue
		}
		delete(b.until, id)
		i := b.m.lookup(id)
		if i >= 0 && b.m.nodes[i].Weight > 0 {
			b.ejected--
		}
		if slow > 0 && (i < 0 || b.m.nodes[i].Weight > 0) {
			b.ramp[id] = end
		}
	}
	for id, start := range b.ramp {
		if now-start >= slow {
			delete(b.ramp, id)
			continue
		}
		next = min(next, start+slow)
	}
	b.nextExpiry = next
}

// handOut gives s the list of the nodes it leaves out as ejected (those of
// until, the state it was built from), in node order, with their ejection's
// end as of now: later if extended since, 0 if restored since. b.mu must be
// held.
func (b *Balancer) handOut(s *schedule, until map[string]int64) {
	var out []outNode
	for id := range until {
		i := s.m.lookup(id)
		if i < 0 || s.weight(i) > 0 || s.nodes[i].Weight == 0 {
			continue
		}
		out = append(out, outNode{pos: int32(i), end: b.until[id]}) // 0 when restored
	}
	if len(out) > 0 {
		// In node order, not the map's: the fallback's choice among them
		// depends only on the pick count.
		slices.SortFunc(out, func(x, y outNode) int { return int(x.pos) - int(y.pos) })
		s.out.Store(&out)
	}
}

// handPending gives s the ejections it does not reflect: ids ejected now
// that s picks. b.mu must be held.
func (b *Balancer) handPending(s *schedule) {
	if s.length == 0 || len(b.until) == 0 || plantEjectedPicked {
		return
	}
	now := b.now()
	var pos []int32
	for id, end := range b.until {
		if now >= end {
			continue
		}
		if i := s.m.lookup(id); i >= 0 && s.weight(i) > 0 {
			pos = append(pos, int32(i))
		}
	}
	if len(pos) > 0 {
		s.pend.Store(newPending(s, pos))
	}
}
