package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"math"
)

// rule is a registry's weight convention.
type rule struct {
	registry string // for notes: "the Bilibili discovery SDK"
	// strings: the registry stores the weight as a string (or, for proto3
	// JSON, may send a number as one); parse is how its client reads one.
	strings bool
	parse   func(string) (int64, bool)
	// def is the registry's default weight for a missing one, in the
	// registry's units; 0: none, a missing weight is rejected.
	def uint32
	// badDefault: an unparsable string takes def. lowDefault: a value ≤ 0
	// takes def.
	badDefault, lowDefault bool
	// zeroInvalid: 0 is invalid in the registry (Envoy). whole: one invalid
	// entry makes the registry's clients reject the whole response.
	zeroInvalid, whole bool
	// nullUnset: JSON null means unset (proto3 JSON).
	nullUnset bool
	// scale: the registry's weights are floats; the default scale. round:
	// a fraction after scaling is rounded, as the registry's clients use
	// fractional weights as they are.
	scale uint32
	round bool
	// prio: the registry has priority groups, and which one is active.
	prio prioOrder
}

// prioOrder says which priority group of a registry takes traffic.
type prioOrder uint8

const (
	prioNone    prioOrder = iota
	prioLowest            // Envoy: priority 0 first
	prioHighest           // APISIX: the highest priority first
)

// priorities marks as standby every instance outside the active priority
// group: the first group, in the registry's order, with an instance that
// will be accepted with a weight above 0 and is serving.
func (r rule) priorities(insts []instance, entries []weights.Entry, p weights.Policy, o Options) {
	if r.prio == prioNone {
		return
	}
	var active int64
	found := false
	for i, in := range insts {
		if len(in.bad) != 0 || (len(in.down) != 0 && o.Health != HealthIgnore) || len(in.id) == 0 {
			continue
		}
		if w, reason := p.Weight(entries[i].Weight); len(reason) != 0 || w == 0 {
			continue
		}
		better := in.prio < active
		if r.prio == prioHighest {
			better = in.prio > active
		}
		if !found || better {
			active, found = in.prio, true
		}
	}
	if !found {
		return
	}
	for i := range insts {
		if insts[i].prio != active {
			insts[i].standby = fmt.Sprintf("priority %d; priority %d is active", insts[i].prio, active)
		}
	}
}

// policy returns the policy handed to Build, and the scale used.
func (r rule) policy(o Options) (weights.Policy, uint64) {
	p := o.Policy
	p.IDs = weights.IDsAddress // every registry format's ids are addresses
	if r.strings {
		p.Strings = weights.StringsDecimal
	}
	if r.scale != 0 && p.Scale == 0 {
		p.Scale = r.scale
	}
	if plantNacosDoubleScale && r.scale != 0 {
		p.Scale *= r.scale
	}
	scale := uint64(1)
	if p.Scale != 0 {
		scale = uint64(p.Scale)
	}
	if o.Convention != FollowPolicy {
		if r.zeroInvalid && p.Zero == weights.ZeroDrain {
			p.Zero = weights.ZeroReject
		}
		if r.whole && p.Partial == weights.DropRejected {
			p.Partial = weights.RefuseWhole
		}
		if p.DefaultWeight == 0 {
			if r.def == 0 {
				p.MissingRejected = true
			} else if d := uint64(r.def) * scale; d <= math.MaxUint32 {
				p.DefaultWeight = uint32(d)
			}
		}
	}
	return p, scale
}

// build turns instances into entries, runs Build, and puts back what the
// registry sent into the report.
func (r rule) build(insts []instance, o Options) (weights.Snapshot, Report) {
	p, scale := r.policy(o)
	follow := o.Convention != FollowPolicy
	sdk := o.Convention == FollowSDK
	regDefault := follow && r.def != 0 && o.Policy.DefaultWeight == 0
	entries := make([]weights.Entry, len(insts))
	substituted := make([]bool, len(insts))
	// The tests for an empty string on each instance are len(s) != 0, as
	// in urlAddr (under a fuzzing build s != "" with s not empty calls a
	// comparison hook that copies s).
	for i := range insts {
		in := &insts[i]
		e := weights.Entry{ID: in.id, Weight: in.weight}
		if len(in.bad) != 0 {
			e.Reject, e.Detail = weights.ReasonMalformedEntry, in.bad
			if len(in.id) == 0 && len(in.name) != 0 {
				e.Detail = fmt.Sprintf("instance %q: %s", in.name, in.bad)
			}
			entries[i] = e
			continue
		}
		w, sub := r.weight(in, p, scale, follow, sdk, regDefault)
		e.Weight, substituted[i] = w, sub
		entries[i] = e
	}
	r.priorities(insts, entries, p, o)
	for i := range insts {
		in, e := &insts[i], entries[i]
		if len(in.bad) != 0 {
			continue
		}
		if len(in.down) != 0 {
			switch o.Health {
			case HealthReject:
				e.Reject, e.Detail = weights.ReasonNotServing, in.down
			case HealthIgnore:
				in.addNote(NoteHealthIgnored, weights.Raw{}, "%s; used as serving, as the options say", in.down)
			default:
				e.Drained = !plantDownServed
				in.addNote(NoteDrained, weights.Raw{}, "%s; kept with weight 0", in.down)
			}
		}
		if len(in.standby) != 0 && len(e.Reject) == 0 && !e.Drained {
			e.Drained = true
			in.addNote(NoteStandby, weights.Raw{}, "%s; kept with weight 0", in.standby)
		}
		entries[i] = e
	}
	s, rep := p.Build(entries)
	if rep.Refused != nil && follow && r.whole && o.Policy.Partial == weights.DropRejected && len(rep.Rejected) > 0 {
		rep.Refused = fmt.Errorf("%w; %s rejects a whole response in which one value is invalid", rep.Refused, r.registry)
	}
	out := Report{Report: rep}
	rejected := make([]bool, len(insts))
	for _, ne := range rep.Rejected {
		if ne.Index < 0 || ne.Index >= len(insts) {
			continue
		}
		rejected[ne.Index] = true
		in := &insts[ne.Index]
		if substituted[ne.Index] {
			ne.Raw = in.weight
		}
		if r.scale == 0 && o.Policy.Scale == 0 && ne.Reason == weights.ReasonFraction {
			// The policy's hint, a scale for fractional weights, is for
			// registries whose weights are floats; this one's are not.
			ne.Detail = r.registry + " reads integer weights"
		}
		if len(in.where)+len(in.extra)+len(in.sdk) == 0 || !weightReason(ne.Reason) {
			continue
		}
		if len(in.where) != 0 && len(in.bad) == 0 {
			ne.Detail = joinDetail(ne.Detail, "the weight is "+in.where)
		}
		if len(in.extra) != 0 {
			ne.Detail = joinDetail(ne.Detail, in.extra)
		}
		if len(in.sdk) != 0 {
			ne.Detail = joinDetail(ne.Detail, in.sdk)
		}
	}
	if rep.Refused != nil {
		return s, out
	}
	k := 0 // the accepted instances are the snapshot's nodes, in order
	for i, in := range insts {
		if rejected[i] {
			continue
		}
		id := s.Nodes[k].ID // the address in canonical form
		k++
		if id != in.id {
			in.addNote(NoteAddress, weights.Raw{}, "sent as %s; %s is its canonical form", in.id, id)
		}
		if len(in.zeroNote) != 0 && len(in.down) == 0 && len(in.standby) == 0 {
			in.addNote(NoteDrained, in.weight, "weight %s drains the node; %s", in.weight, in.zeroNote)
		}
		for _, n := range in.notes {
			n.Index, n.ID = i, id
			out.Notes = append(out.Notes, n)
		}
	}
	return s, out
}

// weightReason reports whether a reason is about the weight's value.
func weightReason(r weights.Reason) bool { return !notWeightReasons[r] }

// notWeightReasons are the reasons that are not about the weight's value,
// in a map: a switch on the reason would compare strings case by case,
// each comparison a hook under a fuzzing build.
var notWeightReasons = map[weights.Reason]bool{
	weights.ReasonDuplicateID: true, weights.ReasonEmptyID: true, weights.ReasonBadID: true,
	weights.ReasonNotAddress: true, weights.ReasonNotServing: true, weights.ReasonMalformedEntry: true,
}

func joinDetail(a, b string) string {
	if len(a) == 0 {
		return b
	}
	return a + "; " + b
}
