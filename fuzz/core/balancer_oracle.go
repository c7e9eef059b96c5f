package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// epoch is where a script's fake clock starts.
var epoch = time.Date(2021, 7, 13, 22, 52, 0, 0, time.UTC)

// scriptRun is the state of one balancer script: the options for the next
// build, the fake clock, the balancer, and what the oracle knows it must do.
type scriptRun struct {
	// elapsed is the fake clock, as time since epoch. The balancer's
	// background builds read it while the script moves it: atomic.
	elapsed atomic.Int64
	opts    struct {
		algo        balancer.Algorithm
		start       int // -1: not set
		randomStart bool
		seed        int64
		slowStart   time.Duration
		maxEjected  int // -1: not set
		maxDrop     int // percent; 0: not set
	}
	b      *balancer.Balancer
	drop   int                  // the max-weight-drop percent b was built with (0: none)
	states []balancer.NodeState // as of now, refreshed after every change
	// serve and weighted count the states with a positive effective and
	// configured weight, total and configured sum the effective and the
	// configured weights: what a pick or an update must do, kept with the
	// states so that each check costs no walk over a fleet's.
	serve, weighted   int
	total, configured uint64
	// touched lists the places of the fleet members ejected or restored
	// since the build: the only ones whose state the clock can change (see
	// refresh), whatever was read since.
	touched []int
	calls   int // balancer calls made, for the report
	// behind: an Eject, Restore or clock move since the last Sync or
	// Update. The schedule may not reflect it yet: picks still never
	// return a node that is not serving, but a node that came back may
	// not be picked yet.
	behind bool
	// phase is how many picks the balancer served since it was built at
	// a known phase (smooth, no start option, no slow start: nginx's
	// smooth WRR from all-zero current weights), -1 when the phase is not
	// known (another algorithm or start, or any change since the build).
	phase int
	fleet bool // a fleet was built
}

func (r *scriptRun) clock() time.Time { return epoch.Add(time.Duration(r.elapsed.Load())) }

// run executes the script and checks every call. It returns whether the
// script built a balancer that served at least one pick.
func (r *scriptRun) run(ops []op) (served bool, err error) {
	r.elapsed.Store(0)
	r.phase = -1
	r.fleet = false
	r.opts.start = -1
	r.opts.maxEjected = -1
	for k, o := range ops {
		var err error
		var ok bool
		switch o.kind {
		case opAlgo:
			if a, perr := balancer.ParseAlgorithm(o.word); perr == nil {
				r.opts.algo = a
			}
		case opStart:
			r.opts.start = o.n
		case opRandomStart:
			r.opts.randomStart, r.opts.seed = true, int64(o.n)
		case opSlowStart:
			r.opts.slowStart = time.Duration(o.n) * time.Second
		case opMaxEjected:
			r.opts.maxEjected = min(o.n, 100)
		case opMaxWeightDrop:
			r.opts.maxDrop = min(o.n, 100)
		case opNodes:
			err = r.build(o.nodes, false)
		case opFleet:
			// One fleet a script: a fleet's build costs tens of times a
			// small set's, and a second one reaches nothing the first did
			// not.
			if !r.fleet && o.nodes != nil {
				r.fleet = true
				err = r.build(o.nodes, true)
			}
		case opUpdate:
			r.phase = -1
			err = r.update(o.nodes)
		case opNext:
			ok, err = r.next(o.n)
		case opNextExcluding:
			r.phase = -1
			ok, err = r.nextExcluding(o.ids)
		case opEject:
			r.phase = -1
			for _, id := range o.ids {
				if err = r.eject(id, time.Duration(o.n)*time.Second); err != nil {
					break
				}
			}
		case opRestore:
			r.phase = -1
			for _, id := range o.ids {
				if err = r.restore(id); err != nil {
					break
				}
			}
		case opAdvance:
			r.phase = -1
			r.elapsed.Add(int64(time.Duration(o.n) * time.Second))
			r.behind = true
			err = r.refresh()
		case opCycle:
			ok, err = r.cycle()
		}
		if err != nil {
			return served, fmt.Errorf("op %d (%s): %w", k+1, opString(o), err)
		}
		served = served || ok
	}
	return served, nil
}

// readAll reads every member's state (applying clock-driven changes).
func (r *scriptRun) readAll() {
	if r.b == nil {
		return
	}
	r.states = r.b.States()
	r.calls++
	r.serve, r.weighted, r.total, r.configured = 0, 0, 0, 0
	inFours(len(r.states), func(i int) { r.count(r.states[i], 1) })
}

// inFours calls f(0), ..., f(n-1) in order, four calls a step of its loop:
// under libFuzzer each loop step's comparison calls a tracing hook, and the
// oracle's passes over a fleet's hundreds of members are many.
func inFours(n int, f func(int)) {
	i := 0
	for ; i+4 <= n; i += 4 {
		f(i)
		f(i + 1)
		f(i + 2)
		f(i + 3)
	}
	for ; i < n; i++ {
		f(i)
	}
}

// refresh re-reads the states after the clock moved or a build: every
// member's (readAll), but on a fleet only those of the members ejected or
// restored since the build. A member never ejected since New is serving or
// drained, which no clock changes, and a fleet's 257 or more states read
// after every clock move would cost more than the rest of its script.
func (r *scriptRun) refresh() error {
	if !r.isFleet() {
		r.readAll()
		return nil
	}
	for _, k := range r.touched {
		if err := r.readOne(k); err != nil {
			return err
		}
	}
	return nil
}

// count adds (add 1) or takes off (-1) one state from serve, weighted,
// total and configured. It makes no comparison (min of a weight and 1 is
// whether it is positive; the sums wrap): under libFuzzer each calls a
// tracing hook, and a fleet's states are counted by the hundred.
func (r *scriptRun) count(st balancer.NodeState, add int) {
	r.serve += add * int(min(st.Effective, 1))
	r.weighted += add * int(min(st.Weight, 1))
	r.total += uint64(add) * uint64(st.Effective)
	r.configured += uint64(add) * uint64(st.Weight)
}

// refreshOne re-reads the state of member k alone, after an Eject or a
// Restore of it on a fleet: neither moves the clock, and neither changes
// another member's state (a balancer that did would answer picks the
// states do not allow, or report the wrong state for this one), so the
// states read before hold for the others, and a fleet's operations cost no
// walk over all of its members.
func (r *scriptRun) refreshOne(k int) error {
	if !slices.Contains(r.touched, k) {
		r.touched = append(r.touched, k)
	}
	return r.readOne(k)
}

// readOne re-reads the state of member k.
func (r *scriptRun) readOne(k int) error {
	id := r.states[k].ID
	st, ok := r.b.State(id)
	r.calls++
	if !ok {
		return fmt.Errorf("State(%q) of a member says it is not one", id)
	}
	if st.ID != id || st.Weight != r.states[k].Weight {
		return fmt.Errorf("State(%q) = %+v, member %d is %s=%d", id, st, k, id, r.states[k].Weight)
	}
	r.count(r.states[k], -1)
	r.states[k] = st
	r.count(st, 1)
	return checkState(st)
}

// isFleet tells a fleet's states from a node set's: a nodes or update
// line holds at most maxScriptNodes nodes.
func (r *scriptRun) isFleet() bool { return len(r.states) > maxScriptNodes }

// build builds a balancer over nodes; fleet says they are fleetNodes',
// valid by construction (TestFleetSchedules), so that their ids are not
// checked again for every input that builds one.
func (r *scriptRun) build(nodes []weights.Node, fleet bool) error {
	opts := []balancer.Option{balancer.WithAlgorithm(r.opts.algo), balancer.WithClock(r.clock)}
	if r.opts.start >= 0 {
		opts = append(opts, balancer.WithStart(r.opts.start))
	}
	if r.opts.randomStart {
		opts = append(opts, balancer.WithRandomStart(r.opts.seed))
	}
	if r.opts.slowStart > 0 {
		opts = append(opts, balancer.WithSlowStart(r.opts.slowStart))
	}
	if r.opts.maxEjected >= 0 {
		opts = append(opts, balancer.WithMaxEjectedPercent(r.opts.maxEjected))
	}
	if r.opts.maxDrop > 0 {
		opts = append(opts, balancer.WithMaxWeightDrop(float64(r.opts.maxDrop)/100))
	}
	b, err := balancer.New(nodes, opts...)
	r.calls++
	bad := ""
	if !fleet {
		bad = invalidIDs(nodes)
	}
	startBad := r.opts.start >= len(nodes)
	switch {
	case err != nil && bad == "" && !startBad:
		return fmt.Errorf("New refused valid nodes %v: %v", nodes, err)
	case err == nil && bad != "":
		return fmt.Errorf("New accepted %s", bad)
	case err == nil && startBad && !r.opts.randomStart:
		return fmt.Errorf("New accepted start index %d for %d nodes", r.opts.start, len(nodes))
	}
	if err != nil {
		return nil // the previous balancer, if any, stays
	}
	r.b = b
	r.touched = r.touched[:0]
	r.drop = r.opts.maxDrop // options set later apply to the next build only
	r.behind = false
	r.phase = -1
	if r.opts.algo == balancer.Smooth && r.opts.start < 0 && !r.opts.randomStart && r.opts.slowStart == 0 {
		r.phase = 0
	}
	if fleet {
		return r.readFleet(nodes)
	}
	r.readAll()
	return r.checkMembers(nodes)
}

// readFleet reads the states of a fleet just built and checks them: every
// member serving at its weight, in order (nothing is ejected or ramping in
// a new balancer, and no fleet node is drained), what checkMembers and
// checkState check, in one pass of a few comparisons a member.
func (r *scriptRun) readFleet(nodes []weights.Node) error {
	r.states = r.b.States()
	r.calls++
	if len(r.states) != len(nodes) {
		return fmt.Errorf("States has %d members, want %d", len(r.states), len(nodes))
	}
	// The ids, weights and states are compared through their bits, each
	// difference (a three-way comparison of the ids, the weights' xor) or
	// state other than Serving (0) left in diff, so that a member costs no
	// comparison but its loop's (under libFuzzer each calls a tracing
	// hook); the first member that differs is looked for only when one
	// does.
	var total uint64
	var diff uint32
	inFours(len(nodes), func(i int) {
		st, n := &r.states[i], &nodes[i]
		diff |= uint32(strings.Compare(st.ID, n.ID)) | st.Weight ^ n.Weight | st.Effective ^ n.Weight | uint32(st.State)
		total += uint64(n.Weight)
	})
	if diff != 0 {
		for i, st := range r.states {
			if n := nodes[i]; st.ID != n.ID || st.Weight != n.Weight || st.Effective != n.Weight || st.State != balancer.Serving {
				return fmt.Errorf("member %d of a new balancer is %+v, want %s=%d serving", i, st, n.ID, n.Weight)
			}
		}
	}
	r.serve, r.weighted, r.total, r.configured = len(nodes), len(nodes), total, total
	return nil
}

// invalidIDs says what is wrong with the ids of a node set, "" when nothing.
func invalidIDs(nodes []weights.Node) string {
	if len(nodes) > maxScriptNodes {
		seen := make(map[string]bool, len(nodes))
		for i, n := range nodes {
			if n.ID == "" {
				return fmt.Sprintf("an empty id (node #%d)", i)
			}
			if seen[n.ID] {
				return fmt.Sprintf("a duplicate id %q (node #%d)", n.ID, i)
			}
			seen[n.ID] = true
		}
		return ""
	}
	for i, n := range nodes {
		if n.ID == "" {
			return fmt.Sprintf("an empty id (node #%d)", i)
		}
		for j := 0; j < i; j++ {
			if nodes[j].ID == n.ID {
				return fmt.Sprintf("a duplicate id %q (node #%d)", n.ID, i)
			}
		}
	}
	return ""
}

// checkMembers checks that the states list nodes, in order, with their
// configured weights.
func (r *scriptRun) checkMembers(nodes []weights.Node) error {
	if len(r.states) != len(nodes) {
		return fmt.Errorf("States has %d members, want %d", len(r.states), len(nodes))
	}
	for i, st := range r.states {
		if st.ID != nodes[i].ID || st.Weight != nodes[i].Weight {
			return fmt.Errorf("member %d is %s=%d, want %s=%d", i, st.ID, st.Weight, nodes[i].ID, nodes[i].Weight)
		}
		if err := checkState(st); err != nil {
			return err
		}
	}
	return nil
}

// checkState checks one node state for consistency.
func checkState(st balancer.NodeState) error {
	switch st.State {
	case balancer.Serving:
		if st.Effective != st.Weight || st.Weight == 0 {
			return fmt.Errorf("serving node %s has weight %d, effective %d", st.ID, st.Weight, st.Effective)
		}
	case balancer.Drained:
		if st.Weight != 0 || st.Effective != 0 {
			return fmt.Errorf("drained node %s has weight %d, effective %d", st.ID, st.Weight, st.Effective)
		}
	case balancer.Ejected:
		if st.Effective != 0 {
			return fmt.Errorf("ejected node %s has effective weight %d", st.ID, st.Effective)
		}
	case balancer.Ramping:
		if st.Effective == 0 || st.Effective > st.Weight {
			return fmt.Errorf("ramping node %s has weight %d, effective %d", st.ID, st.Weight, st.Effective)
		}
	default:
		return fmt.Errorf("node %s in unknown state %d", st.ID, st.State)
	}
	return nil
}

func (r *scriptRun) update(nodes []weights.Node) error {
	if r.b == nil {
		return nil
	}
	before := r.states
	oldTotal, newTotal := r.configured, uint64(0)
	for _, n := range nodes {
		newTotal += uint64(n.Weight)
	}
	err := r.b.Update(nodes)
	r.calls++
	if err == nil {
		r.behind = false // an applied update builds the schedule in the caller
	}
	var want error
	switch {
	case invalidIDs(nodes) != "":
		want = balancer.ErrInvalidNode
	case len(nodes) == 0:
		want = balancer.ErrNoBackends
	case newTotal == 0:
		want = balancer.ErrAllDrained
	case r.drop > 0 && oldTotal > 0 && float64(newTotal) < float64(oldTotal)*(1-float64(r.drop)/100):
		want = balancer.ErrWeightDrop
	}
	r.readAll()
	if want == nil {
		if err != nil {
			return fmt.Errorf("Update(%v) refused: %v", nodes, err)
		}
		return r.checkMembers(nodes)
	}
	var ue *balancer.UpdateError
	if err == nil || !errors.As(err, &ue) || !errors.Is(err, balancer.ErrUpdateRefused) || !errors.Is(err, want) {
		return fmt.Errorf("Update(%v) = %v, want an *UpdateError wrapping %v", nodes, err, want)
	}
	// A refused update leaves the previous state serving. The states
	// are compared through their bits, as readFleet does, and the first
	// that differs is looked for only when one does.
	if len(before) != len(r.states) {
		return fmt.Errorf("refused update changed the members from %v to %v", before, r.states)
	}
	var diff uint64
	inFours(len(before), func(i int) {
		a, b := &before[i], &r.states[i]
		diff |= uint64(strings.Compare(a.ID, b.ID)) | uint64(a.Weight^b.Weight) | uint64(a.Effective^b.Effective) | uint64(a.State^b.State)
		if !a.EjectedUntil.Equal(b.EjectedUntil) || !a.RampEnd.Equal(b.RampEnd) {
			diff = 1
		}
	})
	for i := 0; diff != 0 && i < len(before); i++ {
		if before[i] != r.states[i] {
			return fmt.Errorf("refused update changed member %d from %+v to %+v", i, before[i], r.states[i])
		}
	}
	_, err = r.next(1)
	return err
}

// eligible returns how many members may be picked now.
func (r *scriptRun) eligible() int { return r.serve }

// serving reports whether member id may be picked now.
func (r *scriptRun) serving(id string) bool {
	st, ok := r.member(id)
	return ok && st.Effective > 0
}

// wantPickErr returns the error a pick must fail with now, nil if it must
// succeed.
func (r *scriptRun) wantPickErr() error {
	if r.eligible() > 0 {
		return nil
	}
	switch {
	case len(r.states) == 0:
		return balancer.ErrNoBackends
	case r.weighted == 0:
		return balancer.ErrAllDrained
	}
	return balancer.ErrAllEjected
}

func (r *scriptRun) next(picks int) (bool, error) {
	if r.b == nil {
		return false, nil
	}
	want := r.eligible()
	wantErr := r.wantPickErr()
	for i := 0; i < picks; i++ {
		n, err := r.b.Next()
		r.calls++
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				return false, fmt.Errorf("Next() = %v, %v with states %v; want %v", n, err, r.states, wantErr)
			}
			continue
		}
		if err != nil {
			if r.behind && errors.Is(err, balancer.ErrAllEjected) {
				continue // the nodes that came back are not in the schedule yet
			}
			return false, fmt.Errorf("Next() failed with %d serving nodes: %v", want, err)
		}
		if !r.serving(n.ID) {
			return false, fmt.Errorf("Next() returned %s, which is not serving (states %v)", n.ID, r.states)
		}
		if r.phase >= 0 {
			r.phase++
		}
	}
	return wantErr == nil, nil
}

// nextExcluding starts a retry loop with ids already tried and keeps calling
// NextExcluding until it fails: each answer must be a serving node not tried
// yet, and the loop must end with ErrAllExcluded once every serving node was
// tried (on a fleet, the first maxScriptPicks answers are checked).
func (r *scriptRun) nextExcluding(ids []string) (bool, error) {
	if r.b == nil {
		return false, nil
	}
	want := r.eligible()
	wantErr := r.wantPickErr()
	var tried balancer.Tried
	left := want
	for _, id := range ids {
		if r.serving(id) && !tried.Has(id) {
			left--
		}
		tried.Add(id)
	}
	for k := 0; k <= want; k++ {
		if k == maxScriptPicks && r.isFleet() {
			// A fleet: the retry loop is checked for as many answers as
			// a next line takes (a walk to the end costs answers ×
			// tried, hundreds of times that).
			return true, nil
		}
		before := tried.Len()
		n, err := r.b.NextExcluding(&tried)
		r.calls++
		switch {
		case wantErr != nil:
			if !errors.Is(err, wantErr) {
				return false, fmt.Errorf("NextExcluding() = %v, %v; want %v", n, err, wantErr)
			}
			return false, nil
		case left == 0:
			if !errors.Is(err, balancer.ErrAllExcluded) {
				return false, fmt.Errorf("NextExcluding(%v) = %v, %v after every serving node was tried; want ErrAllExcluded", ids, n, err)
			}
			return true, nil
		case err != nil && r.behind && (errors.Is(err, balancer.ErrAllExcluded) || errors.Is(err, balancer.ErrAllEjected)):
			return true, nil // the untried nodes came back and are not in the schedule yet
		case err != nil:
			return false, fmt.Errorf("NextExcluding failed with %d untried serving nodes: %v", left, err)
		case !r.serving(n.ID):
			return false, fmt.Errorf("NextExcluding returned %s, which is not serving", n.ID)
		case tried.Len() != before+1 || !tried.Has(n.ID):
			return false, fmt.Errorf("NextExcluding returned %s, which was already tried (or was not recorded)", n.ID)
		}
		left--
	}
	return false, fmt.Errorf("NextExcluding did not end with ErrAllExcluded after %d serving nodes", want)
}

// index returns the place of member id in the states, -1 if none. A
// fleet's member of id fleetIDs[k] is at place k (checkMembers checked
// that after the build): a look-up, not a walk over hundreds of members.
func (r *scriptRun) index(id string) int {
	if r.isFleet() {
		if k, ok := fleetIndex[id]; ok && k < len(r.states) && r.states[k].ID == id {
			return k
		}
		return -1
	}
	for k := range r.states {
		if r.states[k].ID == id {
			return k
		}
	}
	return -1
}

func (r *scriptRun) member(id string) (balancer.NodeState, bool) {
	if k := r.index(id); k >= 0 {
		return r.states[k], true
	}
	return balancer.NodeState{}, false
}

func (r *scriptRun) eject(id string, d time.Duration) error {
	if r.b == nil {
		return nil
	}
	k := r.index(id)
	member := k >= 0
	err := r.b.Eject(id, r.clock().Add(d))
	r.calls++
	r.behind = true
	if member && r.isFleet() {
		if err := r.refreshOne(k); err != nil {
			return err
		}
	} else if err := r.refresh(); err != nil {
		return err
	}
	switch {
	case !member:
		if !errors.Is(err, balancer.ErrUnknownNode) {
			return fmt.Errorf("Eject(%q) of a non-member = %v, want ErrUnknownNode", id, err)
		}
	case errors.Is(err, balancer.ErrEjectLimit):
	case err != nil:
		return fmt.Errorf("Eject(%q) = %v", id, err)
	case d > 0:
		if st, _ := r.member(id); st.Effective != 0 || (st.Weight > 0 && st.State != balancer.Ejected) {
			return fmt.Errorf("Eject(%q, +%v) left it %v with effective weight %d", id, d, st.State, st.Effective)
		}
	}
	return nil
}

func (r *scriptRun) restore(id string) error {
	if r.b == nil {
		return nil
	}
	k := r.index(id)
	member := k >= 0
	err := r.b.Restore(id)
	r.calls++
	r.behind = true
	if member && r.isFleet() {
		if err := r.refreshOne(k); err != nil {
			return err
		}
	} else if err := r.refresh(); err != nil {
		return err
	}
	switch {
	case !member:
		if !errors.Is(err, balancer.ErrUnknownNode) {
			return fmt.Errorf("Restore(%q) of a non-member = %v, want ErrUnknownNode", id, err)
		}
	case err != nil:
		return fmt.Errorf("Restore(%q) = %v", id, err)
	default:
		if st, _ := r.member(id); st.State == balancer.Ejected {
			return fmt.Errorf("Restore(%q) left it ejected", id)
		}
	}
	return nil
}

// cycle takes two full cycles of picks (a cycle is total effective weight
// / gcd picks) and checks that the picks repeat with that period and that
// the first cycle picks every node exactly effective weight / gcd times, so
// a schedule whose real period is shorter or longer fails wherever it
// starts. When the phase is known (see scriptRun.phase), the picks must
// also be nginx's smooth weighted round robin from that phase, computed
// here from the effective weights (smoothReference). Cycles longer than
// maxCycle are not walked: maxScriptPicks picks are checked as Next's.
func (r *scriptRun) cycle() (bool, error) {
	if r.b == nil {
		return false, nil
	}
	// A cycle's counts hold for the schedule of the current state: build
	// it first.
	r.b.Sync()
	r.calls++
	r.behind = false
	if err := r.refresh(); err != nil {
		return false, err
	}
	if err := r.wantPickErr(); err != nil {
		return r.next(1)
	}
	var g uint64
	total := r.total
	if r.isFleet() {
		// Its states were checked as they were read; most fleets have
		// a gcd of 1 within their first nodes.
		for _, st := range r.states {
			if g = gcd64(g, uint64(st.Effective)); g == 1 {
				break
			}
		}
	} else {
		for _, st := range r.states {
			if err := checkState(st); err != nil {
				return false, err
			}
			g = gcd64(g, uint64(st.Effective))
		}
	}
	length := int(total / g)
	if total/g > maxCycle {
		return r.next(maxScriptPicks)
	}
	var picks [2 * maxCycle]int32
	counts := make([]uint64, len(r.states))
	for i := 0; i < 2*length; i++ {
		n, err := r.b.Next()
		r.calls++
		if err != nil {
			return false, fmt.Errorf("Next() failed in a cycle: %v", err)
		}
		k := r.index(n.ID)
		if k < 0 {
			return false, fmt.Errorf("Next() returned %s, not a member", n.ID)
		}
		picks[i] = int32(k)
		if i < length {
			counts[k]++
		}
	}
	seq := picks[:2*length]
	for i := 0; i < length; i++ {
		if seq[i] != seq[i+length] {
			return false, fmt.Errorf("picks %v do not repeat every %d picks (effective weights %v)",
				r.names(seq), length, r.states)
		}
	}
	for k, st := range r.states {
		if want := uint64(st.Effective) / g; counts[k] != want {
			return false, fmt.Errorf("cycle of %d picks: %s picked %d times, want %d (effective weights %v)",
				length, st.ID, counts[k], want, r.states)
		}
	}
	if r.phase >= 0 && !r.isFleet() { // not for fleets: the reference costs members × picks
		want := smoothReference(r.states, g, r.phase, 2*length)
		if !slices.Equal(want, seq) {
			return false, fmt.Errorf("from pick %d of a fresh balancer: picks %v, nginx's smooth WRR gives %v (effective weights %v)",
				r.phase, r.names(seq), r.names(want), r.states)
		}
		r.phase += 2 * length
	}
	return true, nil
}

// smoothReference returns picks [from, from+n) of nginx's smooth weighted
// round robin (ngx_http_upstream_get_peer) over the members' effective
// weights divided by g, from all-zero current weights: every pick adds each
// node's weight to its current weight, takes the largest (the first in
// order on a tie) and takes the total off the winner's.
func smoothReference(states []balancer.NodeState, g uint64, from, n int) []int32 {
	// The nodes of weight 0 take no part: the others' places and weights.
	var places []int32
	var ws []int64
	var total int64
	for k, st := range states {
		if w := int64(uint64(st.Effective) / g); w > 0 {
			places = append(places, int32(k))
			ws = append(ws, w)
			total += w
		}
	}
	cur := make([]int64, len(ws))
	out := make([]int32, 0, n)
	if len(ws) == 0 {
		return out
	}
	for p := 0; p < from+n; p++ {
		best := 0
		for k, w := range ws {
			cur[k] += w
			if cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= total
		if p >= from {
			out = append(out, places[best])
		}
	}
	return out
}

// names turns member indexes into ids, for reports.
func (r *scriptRun) names(seq []int32) []string {
	out := make([]string, len(seq))
	for i, k := range seq {
		out[i] = r.states[k].ID
	}
	return out
}

func gcd64(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// opString writes an op back as a script line, for reports.
func opString(o op) string {
	for name, k := range opNames {
		if k == o.kind {
			s := name
			if o.word != "" {
				s += " " + o.word
			}
			for _, n := range o.nodes {
				s += fmt.Sprintf(" %s=%d", n.ID, n.Weight)
			}
			for _, id := range o.ids {
				s += " " + id
			}
			if o.n != 0 {
				s += fmt.Sprintf(" %d", o.n)
			}
			return s
		}
	}
	return "?"
}
