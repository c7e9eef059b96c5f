package balancer

import (
	"fmt"
	"sort"
	"time"
)

// Eject takes node id out of the rotation until the given time (by the
// balancer's clock); after it the node comes back by itself (with slow
// start when enabled). Ejecting an ejected node keeps the later of the two
// times. A time not after the clock's now does nothing. Eject fails with
// ErrUnknownNode for an id that is not a member, and with ErrEjectLimit when
// the share of ejected nodes (drained nodes not counted) would exceed the
// maximum set by WithMaxEjectedPercent.
//
// Eject does not build a schedule: it records the ejection, lists the node
// among those the current schedule must skip (so no pick returns it once
// Eject has returned, and its picks are spread over the other serving
// nodes in proportion to their weights) and leaves the new schedule to a
// background build. Its work is a lookup by id and a copy of that short
// list.
func (b *Balancer) Eject(id string, until time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.m.lookup(id)
	if i < 0 {
		return fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	now := b.now()
	b.expire(now)
	end := int64(until.Sub(b.base))
	if end <= now {
		return nil
	}
	if cur, ok := b.until[id]; ok {
		if end > cur {
			b.until[id] = end
			b.cur.Load().setOut(i, end)
			b.gen.Add(1)
			b.kick()
		}
		return nil
	}
	if b.m.nodes[i].Weight > 0 {
		limit := b.m.serving * b.cfg.maxEjectPct / 100
		if b.ejected+1 > limit {
			return fmt.Errorf("%w: ejecting %q would make %d of %d nodes ejected, above %d%%",
				ErrEjectLimit, id, b.ejected+1, b.m.serving, b.cfg.maxEjectPct)
		}
		b.ejected++
	}
	b.until[id] = end
	b.nextExpiry = min(b.nextExpiry, end)
	delete(b.ramp, id)
	b.gen.Add(1)
	if s := b.cur.Load(); !plantEjectedPicked {
		if j := s.m.lookup(id); j >= 0 && s.length > 0 && s.weight(j) > 0 {
			s.pend.Store(s.pend.Load().with(s, j))
		} else if j >= 0 {
			s.setOut(j, end) // restored since the build, ejected again
		}
	}
	b.kick()
	return nil
}

// Restore ends node id's ejection now (starting slow start when enabled).
// Restoring a node that is not ejected does nothing. It fails with
// ErrUnknownNode for an id that is not a member. Like Eject it builds no
// schedule: the node is picked again once the background build is in (at
// once if no build since its ejection left it out).
func (b *Balancer) Restore(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.m.lookup(id)
	if i < 0 {
		return fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	now := b.now()
	b.expire(now)
	if plantRestoreNeighbour && i+1 < len(b.m.nodes) {
		if _, ok := b.until[b.m.nodes[i+1].ID]; ok {
			i, id = i+1, b.m.nodes[i+1].ID
		}
	}
	if _, ok := b.until[id]; !ok {
		return nil
	}
	delete(b.until, id)
	if b.m.nodes[i].Weight > 0 {
		b.ejected--
		if b.cfg.slowStart > 0 {
			b.ramp[id] = now
			b.nextExpiry = min(b.nextExpiry, now+int64(b.cfg.slowStart))
		}
	}
	b.gen.Add(1)
	s := b.cur.Load()
	if j := s.m.lookup(id); j >= 0 {
		if pd := s.pend.Load(); pd.has(j) {
			s.pend.Store(pd.without(s, j))
		}
		s.setOut(j, 0) // left out by the build: back for the fallback of picks
	}
	b.kick()
	return nil
}

// countEjected recounts the ejected members with a positive weight.
// b.mu must be held.
func (b *Balancer) countEjected() {
	b.ejected = 0
	for id := range b.until {
		if i := b.m.lookup(id); i >= 0 && b.m.nodes[i].Weight > 0 {
			b.ejected++
		}
	}
}

// capEjections lifts the ejections that end soonest until the ejected share
// is within the limit (an update can shrink the set under its ejections).
// b.mu must be held.
func (b *Balancer) capEjections(now int64) {
	limit := b.m.serving * b.cfg.maxEjectPct / 100
	if b.ejected <= limit {
		return
	}
	type ej struct {
		id  string
		pos int
		end int64
	}
	var list []ej
	for id, end := range b.until {
		if i := b.m.lookup(id); i >= 0 && b.m.nodes[i].Weight > 0 {
			list = append(list, ej{id, i, end})
		}
	}
	sort.Slice(list, func(x, y int) bool {
		if list[x].end != list[y].end {
			return list[x].end < list[y].end
		}
		return list[x].pos < list[y].pos
	})
	for _, e := range list[:b.ejected-limit] {
		delete(b.until, e.id)
		if b.cfg.slowStart > 0 {
			b.ramp[e.id] = now
			b.nextExpiry = min(b.nextExpiry, now+int64(b.cfg.slowStart))
		}
	}
	b.ejected = limit
}

// nodeState returns the state of member i at now. b.mu must be held.
func (b *Balancer) nodeState(i int, now int64) NodeState {
	n := b.m.nodes[i]
	end, ejected := b.until[n.ID]
	if !ejected {
		end = never
	}
	start, ramping := b.ramp[n.ID]
	w, st, _ := effective(n.Weight, end, start, ramping, now, int64(b.cfg.slowStart))
	ns := NodeState{ID: n.ID, Weight: n.Weight, Effective: w, State: st}
	switch st {
	case Ejected:
		ns.EjectedUntil = b.abs(end)
	case Ramping:
		ns.RampEnd = b.abs(start + int64(b.cfg.slowStart))
	}
	return ns
}

// States returns every member in order with its configured and effective
// weight and its state, as of the balancer's clock now. The state is the
// balancer's record (an ejection counts from the moment Eject returns),
// whether or not the schedule reflects it yet.
func (b *Balancer) States() []NodeState {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.expire(now)
	out := make([]NodeState, len(b.m.nodes))
	if len(b.until) == 0 && len(b.ramp) == 0 {
		// Nothing ejected or ramping: no lookup by id is needed, and
		// every member rests at its weight (what effective says of it).
		rest := func(i int) {
			n := &b.m.nodes[i]
			out[i] = NodeState{ID: n.ID, Weight: n.Weight, Effective: n.Weight, State: restingState(n.Weight)}
		}
		i := 0
		for ; i+4 <= len(out); i += 4 { // four a step (see prefixSums)
			rest(i)
			rest(i + 1)
			rest(i + 2)
			rest(i + 3)
		}
		for ; i < len(out); i++ {
			rest(i)
		}
		return out
	}
	for i := range b.m.nodes {
		out[i] = b.nodeState(i, now)
	}
	return out
}

// State returns the state of member id as States reports it, and false if
// id is not a member. Its work is a lookup by id: a failure handler on the
// request path can ask whether a node is ejected (and until when) instead
// of keeping a record of its own that could disagree with the balancer's.
func (b *Balancer) State(id string) (NodeState, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.m.lookup(id)
	if i < 0 {
		return NodeState{}, false
	}
	now := b.now()
	b.expire(now)
	return b.nodeState(i, now), true
}
