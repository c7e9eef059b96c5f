package registry

import (
	"errors"
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Convention says whose meaning of a zero, missing or unparsable weight a
// registry decoder applies.
type Convention uint8

// Conventions.
const (
	// FollowRegistry applies what a registry defines well and nothing more:
	// a missing weight takes the registry's documented default, a number 0
	// or a non-serving status drains, Envoy's 0 refuses the whole response,
	// Nacos weights are scaled and rounded; every such decision is noted. A
	// weight that is NaN, infinite, negative, a non-numeric or malformed
	// string, a fraction where the registry has integers, or out of range is
	// rejected, and the reject's message says what the registry's SDK would
	// have done with it ("the kratos selector would use 100"). The string
	// "0" is rejected (ReasonStringZero). Policy fields set to something
	// other than their zero value (DefaultWeight, Zero, Partial,
	// MissingRejected) override the registry's meaning. Default.
	FollowRegistry Convention = iota
	// FollowPolicy ignores the registry's conventions and applies only the
	// Policy: an unparsable string is rejected (ReasonBadString), a missing
	// weight takes the policy's default, 0 follows Policy.Zero. Weights a
	// registry stores as strings are still read as decimal strings, since
	// that is their type there.
	FollowPolicy
	// FollowSDK is FollowRegistry plus the lenience of the registry's main
	// client, for users who must reproduce it: the Bilibili discovery SDK
	// reads an unparsable or ≤ 0 weight as 10, the kratos selector an
	// unparsable one as 100, Spring Cloud an unparsable or ≤ 0 one as 1,
	// and strings such as "010" or "+10" are read as the client's integer
	// parser reads them. Every substitution is noted (NoteDefaulted). The
	// string "0" is rejected all the same.
	FollowSDK
)

// HealthMode says what happens to an instance that the registry marks as not
// serving (down, unhealthy, disabled, not ready, a failing check).
type HealthMode uint8

// Health modes.
const (
	// HealthDrain keeps the instance as a member with weight 0 (its weight is
	// still validated) and notes why. Default.
	HealthDrain HealthMode = iota
	// HealthReject rejects the instance with ReasonNotServing.
	HealthReject
	// HealthIgnore ignores the registry's health flags and uses the weight as
	// sent; the node is noted.
	HealthIgnore
)

// Options tell Decode how to read a registry's response. The
// zero value follows the registry's conventions under the strict Policy.
type Options struct {
	// Policy validates the weights, as for Decode. Its Strings mode applies
	// to registries whose weights are numbers; for registries that store the
	// weight as a string (discovery, kratos, Eureka metadata) decimal strings
	// are the normal type and are always read.
	Policy weights.Policy
	// Convention: FollowRegistry (default), FollowPolicy or FollowSDK.
	Convention Convention
	// Health: HealthDrain (default), HealthReject or HealthIgnore.
	Health HealthMode
	// Service keeps only the instances of one service: a discovery appid, a
	// Eureka application name (case-insensitive), an EDS cluster name, a
	// kratos service name. Empty keeps every service in the payload.
	Service string
	// Scheme chooses, for instances that list several URLs (discovery addrs,
	// kratos endpoints), the one with this scheme ("grpc", "http"). Empty
	// takes the first URL.
	Scheme string
	// Port chooses an EndpointSlice port by name. Empty takes the only port;
	// a slice that lists several is then an error that names them.
	Port string
	// MergeServices serves the instances of every service in a payload as
	// one pool. Without it, and without Service, a payload that holds
	// several services (discovery appids, Eureka applications, EDS clusters,
	// kratos names, Consul services, EndpointSlice services) is an error
	// wrapping ErrMultipleServices that names them.
	MergeServices bool
}

// ErrMultipleServices is wrapped by the error of a payload that holds
// several services when the options neither choose one nor merge them.
var ErrMultipleServices = errors.New("registry: the payload holds several services")

// ErrMultiplePorts is wrapped by the error of an EndpointSlice that lists
// several ports when the options do not choose one by name.
var ErrMultiplePorts = errors.New("registry: the EndpointSlice lists several ports")

// NoteCode is a stable, machine-readable code for a note.
type NoteCode string

// Note codes. The text of each is part of the project's contract, like the
// Reason codes.
const (
	// NoteDefaulted: a missing, zero or unparsable weight was replaced by
	// the registry's (or the policy's) default weight.
	NoteDefaulted NoteCode = "defaulted"
	// NoteDrained: the registry marks the instance as not serving; it is
	// kept as a member with weight 0.
	NoteDrained NoteCode = "drained"
	// NoteDegraded: the registry marks the instance degraded (a Consul
	// warning check) and its degraded weight applies.
	NoteDegraded NoteCode = "degraded"
	// NoteStandby: the instance belongs to a lower priority group (Envoy
	// priority, APISIX priority) that takes traffic only when the active
	// group has none; it is kept with weight 0.
	NoteStandby NoteCode = "standby"
	// NoteHealthIgnored: the registry marks the instance as not serving and
	// the options say to ignore that.
	NoteHealthIgnored NoteCode = "health-ignored"
	// NoteRounded: a fractional weight was rounded to an integer after
	// scaling (Nacos).
	NoteRounded NoteCode = "rounded"
	// NoteNumberType: a JSON number arrived where the registry stores the
	// weight as a string.
	NoteNumberType NoteCode = "number-type"
	// NoteIgnored: a field that looks like a weight is not the one the
	// registry's clients use (Consul Meta.weight, Envoy locality weights,
	// discovery scheduler weights) and was not applied.
	NoteIgnored NoteCode = "ignored"
	// NoteAddress: the node's address came from a fallback or a choice
	// (Consul Node.Address, an APISIX default port, one of several URLs).
	NoteAddress NoteCode = "address"
	// NoteScaled: the payload's weights were multiplied by a scale.
	NoteScaled NoteCode = "scaled"
	// NoteFiltered: instances of other services were left out (Service).
	NoteFiltered NoteCode = "filtered"
)

// Note is something a registry decoder decided about a node it accepted, or
// about the payload as a whole (Index -1), so a person can see what was read
// and why.
type Note struct {
	Index  int    // position of the instance in the payload, from 0; -1 for the payload
	ID     string // the node's id ("" for the payload)
	Code   NoteCode
	Raw    weights.Raw // the value the note is about, as sent (absent if none)
	Detail string      // for people
}

// String reads like: node "10.0.0.1:9000" (#2): defaulted: weight "abc" ...
func (n Note) String() string {
	if n.Index < 0 {
		return fmt.Sprintf("payload: %s: %s", n.Code, n.Detail)
	}
	return fmt.Sprintf("node %q (#%d): %s: %s", n.ID, n.Index, n.Code, n.Detail)
}

// Report is a Report with the notes of a registry decoder.
type Report struct {
	weights.Report
	// Notes say what the decoder decided for accepted nodes and for the
	// payload, in payload order (payload notes first).
	Notes []Note
	// Services are the names of the services the payload holds, in payload
	// order, whether chosen or left out; empty when the format names none.
	Services []string
}

// Decode decodes one response of registry format f into an ordered
// snapshot, node ids "host:port", in the registry's order. Each registry's
// own meaning of its weight is applied as o.Convention says, instances the
// registry marks as not serving are handled as o.Health says, and every such
// decision is a Note. FormatMap is Decode (no notes); FormatAuto detects the
// format from the payload's shape. Report.Format names the format used.
//
// By default (FollowRegistry, HealthDrain, strict Policy):
//
//	discovery  metadata.weight string; missing → 10 (its Go SDK's default); number 0 or status ≠ 1 → drained
//	kratos     metadata.weight string; missing → 100 (its selector's default); 0 drains
//	consul     Service.Weights.Passing, or .Warning when the worst check warns; critical → drained; missing → 1
//	nacos      hosts[].weight float × Scale 100, rounded; 0, healthy:false or enabled:false → drained; missing → 1.0
//	eureka     metadata.weight string; missing → 1 (Spring Cloud's default); status ≠ UP → drained
//	eds        load_balancing_weight, unset → 1, 0 invalid and any reject refuses the whole response; unhealthy → drained
//	apisix     nodes weight integer; 0 drains; missing is rejected (its schema requires it); lower priority → standby
//	endpointslice  no weights: ready endpoints weigh 1; not ready → drained
//
// NaN, infinities, negatives, malformed strings ("", "abc", "+10", "010"),
// fractions where the registry has integers and values out of range are
// rejected, and the message says what the registry's client would have done
// (FollowSDK does it). The string "0" (and "00", ...) is rejected with
// ReasonStringZero in every format and convention. Every id must be
// "host:port" (weights.IDsAddress). A payload with several services is an
// error wrapping ErrMultipleServices unless o.Service or o.MergeServices.
func Decode(f Format, data []byte, o Options) (weights.Snapshot, Report, error) {
	if f == FormatMap {
		s, r, err := weights.Decode(data, o.Policy)
		r.Format = string(FormatMap)
		return s, Report{Report: r}, err
	}
	if f != FormatAuto {
		if _, err := ParseFormat(string(f)); err != nil {
			return weights.Snapshot{}, Report{}, err
		}
	}
	if err := o.Policy.Check(); err != nil {
		return weights.Snapshot{}, Report{}, err
	}
	if f == FormatAuto {
		var err error
		f, err = DetectFormat(data, o.Policy.Limits)
		if err != nil {
			return weights.Snapshot{}, Report{Report: weights.Report{Format: string(FormatAuto)}}, err
		}
		if f == FormatMap {
			s, r, err := weights.Decode(data, o.Policy)
			r.Format = string(FormatMap)
			return s, Report{Report: r}, err
		}
	}
	root, err := weights.ParseJSON(data, o.Policy.Limits)
	if err != nil {
		return weights.Snapshot{}, Report{Report: weights.Report{Format: string(f)}}, err
	}
	return decodeRegistryRaw(f, root, o)
}

// decodeRegistryRaw runs the decoder of a registry format on a parsed payload.
func decodeRegistryRaw(f Format, root weights.Raw, o Options) (weights.Snapshot, Report, error) {
	var (
		insts []instance
		notes []Note
		err   error
	)
	c := &collector{o: o, max: o.Policy.Limits.WithDefaults().MaxNodes}
	switch f {
	case FormatDiscovery:
		err = decodeDiscovery(c, root)
	case FormatKratos:
		err = decodeKratos(c, root)
	case FormatConsul:
		err = decodeConsul(c, root)
	case FormatNacos:
		err = decodeNacos(c, root)
	case FormatEureka:
		err = decodeEureka(c, root)
	case FormatEDS:
		err = decodeEDS(c, root)
	case FormatAPISIX:
		err = decodeAPISIX(c, root)
	case FormatEndpointSlice:
		err = decodeEndpointSlice(c, root)
	default:
		err = fmt.Errorf("%w %q", ErrUnknownFormat, f)
	}
	rep := Report{Report: weights.Report{Format: string(f)}, Services: c.services}
	if err != nil {
		return weights.Snapshot{}, rep, err
	}
	if len(c.services) > 1 && o.Service == "" && !o.MergeServices && !plantServicesMerged {
		return weights.Snapshot{}, rep, fmt.Errorf("%w: %s; choose one (Options.Service) or merge them (Options.MergeServices)",
			ErrMultipleServices, quoteList(c.services))
	}
	if o.Service != "" && !c.chosen && len(c.services) > 0 {
		c.note(NoteFiltered, weights.Raw{}, "no service %q in the payload; it holds %s", o.Service, quoteList(c.services))
	}
	if c.multiURL > 0 {
		if o.Scheme == "" {
			c.note(NoteAddress, weights.Raw{}, "%d instances list several URLs; the first of each was used (set a scheme to choose)", c.multiURL)
		} else {
			c.note(NoteAddress, weights.Raw{}, "%d instances list several URLs; the %s:// one of each was used", c.multiURL, o.Scheme)
		}
	}
	insts, notes = c.insts, c.notes
	s, r := c.rule.build(insts, o)
	r.Report.Format = string(f)
	r.Notes = append(notes, r.Notes...)
	r.Services = c.services
	return s, r, nil
}

// collector gathers a decoder's instances and payload notes.
type collector struct {
	o     Options
	rule  rule
	insts []instance
	notes []Note
	max   int
	// multiURL counts instances that listed several URLs.
	multiURL int
	// services seen, in order; chosen: o.Service was among them.
	services []string
	chosen   bool
}

// service records a service the payload holds and reports whether its
// instances are kept: every one when no service is chosen, else the chosen
// one (compared with fold when the registry's names are case-insensitive).
// what names the kind of service for notes ("appid", "cluster").
func (c *collector) service(what, name string, fold bool) bool {
	if name != "" && !slices.Contains(c.services, name) {
		c.services = append(c.services, name)
	}
	if c.o.Service == "" {
		return true
	}
	if name == c.o.Service || (fold && strings.EqualFold(name, c.o.Service)) {
		c.chosen = true
		return true
	}
	c.note(NoteFiltered, weights.Raw{}, "%s %q left out: not %q", what, name, c.o.Service)
	return false
}

// quoteList renders names as "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// add appends an instance, and fails once the node limit is passed.
func (c *collector) add(in instance) error {
	if len(c.insts) >= c.max {
		return &weights.PayloadError{Err: weights.ErrTooManyNodes,
			Msg: fmt.Sprintf("more than %d instances, the limit", c.max)}
	}
	c.insts = append(c.insts, in)
	return nil
}

// note adds a payload-level note, once.
func (c *collector) note(code NoteCode, raw weights.Raw, format string, args ...any) {
	n := Note{Index: -1, Code: code, Raw: raw, Detail: fmt.Sprintf(format, args...)}
	for _, m := range c.notes {
		if m.Code == n.Code && m.Detail == n.Detail {
			return
		}
	}
	c.notes = append(c.notes, n)
}

// shapeError reports a payload that is not the named format.
func shapeError(f Format, format string, args ...any) error {
	return &weights.PayloadError{Err: weights.ErrShape, Msg: fmt.Sprintf("not a %s payload: ", f) + fmt.Sprintf(format, args...)}
}

// instance is one registry entry on its way to an Entry.
type instance struct {
	name    string // the registry's name for the instance, for messages
	id      string
	weight  weights.Raw // as sent; absent when the registry sent none
	where   string      // where the weight lives, e.g. "metadata.weight"
	down    string      // non-empty: the registry marks it not serving, and why
	standby string      // non-empty: a lower priority group, and why
	prio    int64       // the priority group, for rules with priorities
	extra   string      // more words for a rejection of the weight
	sdk     string      // what the registry's SDK would have done with a rejected weight
	// zeroNote: the number 0 drains the node here, where the registry's SDK
	// would have used a default; said in the drained note.
	zeroNote string
	bad      string // non-empty: the entry is malformed, and why
	notes    []Note // per-node notes (Index and ID filled in by build)
}

// metadataWeight reads the weight from the string map it.metadata.weight, as
// discovery, kratos and Eureka send it. A missing or null metadata leaves the
// weight absent; metadata of another kind, or a weight key sent twice with
// different values, marks the entry malformed.
func (in *instance) metadataWeight(it weights.Raw) {
	md, _ := it.Get("metadata")
	switch md.Kind {
	case weights.KindObject:
		var bad string
		in.weight, bad = weightOf(md, "weight")
		if bad != "" && in.bad == "" {
			in.bad = bad
		}
	case weights.KindAbsent, weights.KindNull:
	default:
		if in.bad == "" {
			in.bad = "metadata is " + md.Kind.Article() + ", not an object"
		}
	}
}

func (in *instance) addNote(code NoteCode, raw weights.Raw, format string, args ...any) {
	in.notes = append(in.notes, Note{Code: code, Raw: raw, Detail: fmt.Sprintf(format, args...)})
}

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
		if in.bad != "" || (in.down != "" && o.Health != HealthIgnore) || in.id == "" {
			continue
		}
		if w, reason := p.Weight(entries[i].Weight); reason != "" || w == 0 {
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
	for i := range insts {
		in := &insts[i]
		e := weights.Entry{ID: in.id, Weight: in.weight}
		if in.bad != "" {
			e.Reject, e.Detail = weights.ReasonMalformedEntry, in.bad
			if in.id == "" && in.name != "" {
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
		if in.bad != "" {
			continue
		}
		switch {
		case in.down != "" && o.Health == HealthReject:
			e.Reject, e.Detail = weights.ReasonNotServing, in.down
		case in.down != "" && o.Health == HealthIgnore:
			in.addNote(NoteHealthIgnored, weights.Raw{}, "%s; used as serving, as the options say", in.down)
		case in.down != "":
			e.Drained = !plantDownServed
			in.addNote(NoteDrained, weights.Raw{}, "%s; kept with weight 0", in.down)
		}
		if in.standby != "" && e.Reject == "" && !e.Drained {
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
	rejected := make(map[int]bool, len(rep.Rejected))
	for _, ne := range rep.Rejected {
		rejected[ne.Index] = true
		if ne.Index < 0 || ne.Index >= len(insts) {
			continue
		}
		in := insts[ne.Index]
		if substituted[ne.Index] {
			ne.Raw = in.weight
		}
		if in.where != "" && in.bad == "" && weightReason(ne.Reason) {
			ne.Detail = joinDetail(ne.Detail, "the weight is "+in.where)
		}
		if in.extra != "" && weightReason(ne.Reason) {
			ne.Detail = joinDetail(ne.Detail, in.extra)
		}
		if in.sdk != "" && weightReason(ne.Reason) {
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
		if in.zeroNote != "" && in.down == "" && in.standby == "" {
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
func weightReason(r weights.Reason) bool {
	switch r {
	case weights.ReasonDuplicateID, weights.ReasonEmptyID, weights.ReasonBadID, weights.ReasonNotAddress, weights.ReasonNotServing, weights.ReasonMalformedEntry:
		return false
	}
	return true
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// weight applies the registry's convention to one weight. It returns the
// value to validate and whether it differs from what was sent. A default is
// handed to Build as an absent weight, so Build gives it the policy's
// DefaultWeight, which policy() set to the registry's default unless the
// caller chose one. Under FollowRegistry a value the registry's SDK would
// have replaced or read loosely is left for Build to reject, and in.sdk says
// what the SDK would have done; under FollowSDK the SDK's reading applies.
func (r rule) weight(in *instance, p weights.Policy, scale uint64, follow, sdk, regDefault bool) (weights.Raw, bool) {
	w := in.weight
	if w.Kind == weights.KindNull && r.nullUnset {
		w = weights.Raw{}
	}
	whose := func() string {
		if regDefault {
			return r.registry + " uses " + r.defText(scale)
		}
		return "the policy's default is " + strconv.FormatUint(uint64(defaultWeight(p)), 10)
	}
	deflt := func(why string) (weights.Raw, bool) {
		if p.MissingRejected {
			return w, false
		}
		in.addNote(NoteDefaulted, in.weight, "%s; %s", why, whose())
		return weights.Raw{}, true
	}
	would := func(what string) {
		in.sdk = r.registry + " would " + what
	}
	switch w.Kind {
	case weights.KindAbsent:
		if !p.MissingRejected {
			what := "no weight"
			if in.weight.Kind == weights.KindNull {
				what = "weight null (unset)"
			}
			if in.where != "" {
				what += " at " + in.where
			}
			in.addNote(NoteDefaulted, in.weight, "%s; %s", what, whose())
		}
		return w, in.weight.Kind != weights.KindAbsent
	case weights.KindString:
		if !r.strings || zeroText(w.Text) || !follow {
			return w, false
		}
		v, ok := r.parse(w.Text)
		if sdk {
			switch {
			case ok && v > 0:
				return weights.Int(v), true
			case ok && v < 0 && r.lowDefault:
				return deflt(fmt.Sprintf("weight %s is below 1", w))
			case ok && v < 0:
				return weights.Int(v), true
			case !ok && r.badDefault:
				return deflt(fmt.Sprintf("weight %s is not an integer", w))
			}
			return w, false
		}
		switch {
		case ok && v < 0 && r.lowDefault:
			would("use " + r.defText(scale))
			return weights.Int(v), true
		case ok && v < 0:
			would("read it as " + strconv.FormatInt(v, 10))
			return weights.Int(v), true
		case ok && strconv.FormatInt(v, 10) != w.Text:
			// "010", "+10": the client's parser reads them; the policy's
			// decimal rule rejects them.
			would("read it as " + strconv.FormatInt(v, 10))
		case !ok && r.badDefault:
			would("use " + r.defText(scale))
		}
		return w, false
	case weights.KindNumber:
		if r.strings && !r.nullUnset {
			in.addNote(NoteNumberType, w, "weight sent as the JSON number %s where the registry stores a string", w)
		}
		if !follow {
			return w, false
		}
		if r.lowDefault {
			if f, ok := w.Float64(); ok && f <= 0 && !math.IsInf(f, -1) {
				if sdk {
					return deflt(fmt.Sprintf("weight %s is below 1", w))
				}
				if f == 0 {
					in.zeroNote = fmt.Sprintf("%s would use %s", r.registry, r.defText(scale))
				} else {
					would("use " + r.defText(scale))
				}
			}
		}
		if r.round {
			return r.rounded(in, w, p, scale)
		}
	}
	return w, false
}

// defText renders the registry default, with its scaled value.
func (r rule) defText(scale uint64) string {
	if scale == 1 {
		return strconv.FormatUint(uint64(r.def), 10)
	}
	return fmt.Sprintf("%d (%d after scaling by %d)", r.def, uint64(r.def)*scale, scale)
}

// zeroText reports whether s spells zero as a number would ("0", "00", "-0",
// "0.0", " 0"): such a string is never replaced by a default.
func zeroText(s string) bool {
	t := strings.TrimSpace(s)
	t = strings.TrimLeft(t, "+-")
	if t == "" {
		return false
	}
	digits := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '0':
			digits = true
		case c == '.':
		case c == 'e' || c == 'E':
			return digits
		default:
			return false
		}
	}
	return digits
}

// rounded rounds a fractional scaled weight to the nearest integer (a
// positive weight to at least 1), as registries with float weights mean
// them. It changes nothing that Build would accept or reject for another
// reason than a fraction.
func (r rule) rounded(in *instance, w weights.Raw, p weights.Policy, scale uint64) (weights.Raw, bool) {
	if _, reason := p.Weight(w); reason != weights.ReasonFraction {
		return w, false
	}
	v, ok := exactRat(w.Text)
	if !ok {
		return w, false
	}
	v.Mul(v, new(big.Rat).SetInt64(int64(scale)))
	if v.Sign() <= 0 {
		return w, false
	}
	// round half away from zero: floor(v + 1/2)
	half := new(big.Rat).Add(v, big.NewRat(1, 2))
	n := new(big.Int).Quo(half.Num(), half.Denom())
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	// Build multiplies by the scale again: hand it n / scale, which has a
	// finite decimal form only when the scale is made of 2s and 5s.
	q := new(big.Rat).SetFrac(n, new(big.Int).SetUint64(scale))
	text, exact := decimalText(q)
	if !exact {
		in.extra = fmt.Sprintf("rounding it needs a scale made of 2s and 5s (10, 100, 1000), not %d", scale)
		return w, false
	}
	in.addNote(NoteRounded, w, "weight %s × scale %d = %s, rounded to %s", w, scale, ratText(v), n.String())
	return weights.Number(text), true
}

// exactRat parses JSON number text exactly, refusing exponents that would
// make the value huge to compute.
func exactRat(text string) (*big.Rat, bool) {
	if len(text) > 64 {
		return nil, false
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || e > 40 || e < -40 {
			return nil, false
		}
	}
	v, ok := new(big.Rat).SetString(text)
	return v, ok
}

// decimalText writes q as a finite decimal if it has one.
func decimalText(q *big.Rat) (string, bool) {
	d := new(big.Int).Set(q.Denom())
	digits := 0
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	var m big.Int
	for d.Cmp(big.NewInt(1)) != 0 {
		switch {
		case m.Mod(d, two).Cmp(zero) == 0:
			d.Quo(d, two)
		case m.Mod(d, five).Cmp(zero) == 0:
			d.Quo(d, five)
		default:
			return "", false
		}
		digits++
	}
	return q.FloatString(digits), true
}

// ratText renders a rational for a note, with up to 6 decimals.
func ratText(v *big.Rat) string {
	s := v.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Parsers for weight strings, as each registry's client reads them.

// goParseInt is strconv.ParseInt(s, 10, 64): optional sign, decimal digits.
func goParseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// javaParseInt is Java's Integer.parseInt: optional sign, decimal digits,
// 32-bit range.
func javaParseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 32)
	return v, err == nil
}

// protoUint32 is a proto3 JSON uint32 sent as a string: decimal digits.
func protoUint32(s string) (int64, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return int64(v), err == nil
}

// defaultWeight is the weight a policy gives a missing weight.
func defaultWeight(p weights.Policy) uint32 {
	if p.DefaultWeight == 0 {
		return weights.DefaultWeight
	}
	return p.DefaultWeight
}
