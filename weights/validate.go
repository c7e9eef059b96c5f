package weights

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

// Policy defaults, used for the zero fields of a Policy.
const (
	DefaultWeight    = 1
	DefaultMaxWeight = 1_000_000
)

var (
	// ErrRefused is wrapped by Report.Refused: the snapshot must not be applied.
	ErrRefused = errors.New("weights: snapshot refused")
	// ErrPolicy is returned for a Policy whose fields contradict each other.
	ErrPolicy = errors.New("weights: invalid policy")
)

// Strict returns the default policy, the zero Policy: only JSON numbers are
// weights, the number 0 drains, a missing weight is 1, the maximum is
// 1,000,000, fractions are rejected, and a snapshot is applied without its
// rejected nodes.
func Strict() Policy { return Policy{} }

// Lenient returns the strict policy except that a weight sent as a plain
// decimal integer string ("10") is accepted as that number. Anything else in
// a string (" 10", "+10", "010", "0x10", "1e2", "10.0", "NaN", "") is
// rejected with ReasonBadString, and a string of zeros ("0", "00") with
// ReasonStringZero, as in every policy.
func Lenient() Policy { return Policy{Strings: StringsDecimal} }

// Check reports whether the policy's fields make sense together: known modes
// and a default weight no larger than the maximum. Build and Decode refuse to
// work with a policy that fails Check.
func (p Policy) Check() error {
	// One test for the four modes (the largest excess over its last known
	// value), and the one that failed named after it: every policy is
	// checked on every decode, and under a fuzzing build each comparison
	// calls a tracing hook.
	if max(int(p.Strings)-int(StringsDecimal), int(p.Zero)-int(ZeroReject),
		int(p.Partial)-int(RefuseWhole), int(p.IDs)-int(IDsAddress)) > 0 {
		return p.modeError()
	}
	if d, m := p.defaultWeight(), p.maxWeight(); d > m {
		return fmt.Errorf("%w: default weight %d is above the maximum %d", ErrPolicy, d, m)
	}
	return nil
}

// modeError names the first mode of p that is not known.
func (p Policy) modeError() error {
	if p.Strings > StringsDecimal {
		return fmt.Errorf("%w: unknown string mode %d", ErrPolicy, p.Strings)
	}
	if p.Zero > ZeroReject {
		return fmt.Errorf("%w: unknown zero mode %d", ErrPolicy, p.Zero)
	}
	if p.Partial > RefuseWhole {
		return fmt.Errorf("%w: unknown partial mode %d", ErrPolicy, p.Partial)
	}
	return fmt.Errorf("%w: unknown id mode %d", ErrPolicy, p.IDs)
}

func (p Policy) scale() uint64 {
	if p.Scale == 0 {
		return 1
	}
	return uint64(p.Scale)
}

func (p Policy) defaultWeight() uint32 {
	if p.DefaultWeight == 0 {
		return DefaultWeight
	}
	return p.DefaultWeight
}

func (p Policy) maxWeight() uint32 {
	if p.MaxWeight == 0 {
		return DefaultMaxWeight
	}
	return p.MaxWeight
}

// Weight decides one raw weight under the policy. It returns the weight and
// an empty Reason when the value is accepted (0 means drained), or the reason
// it is rejected. Whatever r holds, an accepted weight is a finite integer no
// larger than the policy's maximum.
func (p Policy) Weight(r Raw) (uint32, Reason) {
	w, reason, _ := p.weigh(r)
	return w, reason
}

// weigh is Weight with a detail for people.
func (p Policy) weigh(r Raw) (uint32, Reason, string) {
	max := p.maxWeight()
	switch r.Kind {
	case KindAbsent:
		if p.MissingRejected {
			return 0, ReasonMissing, "this policy has no default weight"
		}
		return p.defaultWeight(), "", ""
	case KindNumber:
		v, reason := numberValue(r.Text, p.scale(), uint64(max))
		if len(reason) != 0 {
			return 0, reason, p.numberDetail(reason)
		}
		if v == 0 {
			switch p.Zero {
			case ZeroDefault:
				return p.defaultWeight(), "", ""
			case ZeroReject:
				return 0, ReasonZero, ""
			}
		}
		return uint32(v), "", ""
	case KindString:
		if plantStringZero && isZeros(r.Text) {
			return 0, "", ""
		}
		if t := strings.TrimSpace(r.Text); plantSpacedZero && t != r.Text && isZeros(t) {
			return 0, "", ""
		}
		if isZeros(r.Text) {
			return 0, ReasonStringZero, ""
		}
		if p.Strings != StringsDecimal {
			if isPlainDecimal(r.Text) {
				return 0, ReasonStringWeight, "the lenient policy would accept a plain decimal string"
			}
			return 0, ReasonStringWeight, ""
		}
		if !isPlainDecimal(r.Text) {
			return 0, ReasonBadString, badStringDetail(r.Text)
		}
		v, reason := numberValue(r.Text, p.scale(), uint64(max))
		if len(reason) != 0 {
			return 0, reason, p.numberDetail(reason)
		}
		return uint32(v), "", ""
	}
	return 0, ReasonNotNumberType, ""
}

func (p Policy) numberDetail(r Reason) string {
	switch r {
	case ReasonOverflow:
		if p.scale() != 1 {
			return "after scaling by " + strconv.FormatUint(p.scale(), 10) + " the maximum is " + strconv.FormatUint(uint64(p.maxWeight()), 10)
		}
		return "the maximum is " + strconv.FormatUint(uint64(p.maxWeight()), 10)
	case ReasonFraction:
		if p.scale() != 1 {
			return "not an integer after scaling by " + strconv.FormatUint(p.scale(), 10)
		}
		return "set a scale in the policy for registries with fractional weights"
	case ReasonBadNumber:
		return "number text must be JSON number syntax, NaN or ±Inf"
	}
	return ""
}

// isZeros reports whether s is one or more '0' digits: "0", "00", ...
func isZeros(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// isPlainDecimal reports whether s is a decimal integer without sign, space
// or leading zero: "7", "10", "1000".
func isPlainDecimal(s string) bool {
	if len(s) == 0 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func badStringDetail(s string) string {
	t := strings.TrimSpace(s)
	switch {
	case len(s) == 0:
		return "the string is empty"
	case t != s:
		return "the string has surrounding white space"
	case t[0] == '+' || t[0] == '-':
		return "the string has a sign"
	case len(t) > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X'):
		return "the string is hexadecimal"
	case len(t) > 1 && t[0] == '0' && isPlainDecimal(t[1:]):
		return "the string has a leading zero (octal in some parsers)"
	}
	return `only plain decimal integers such as "10" are accepted`
}

// Report says what happened to a snapshot's nodes.
type Report struct {
	// Rejected holds one *NodeError per rejected node, in payload order.
	Rejected []*NodeError
	// Refused is non-nil (wrapping ErrRefused) when the snapshot must not be
	// applied: the policy refuses partial snapshots and a node was rejected,
	// or every node of a non-empty payload was rejected. The snapshot
	// returned with it is empty. An empty payload is not refused: a service
	// scaled to zero is normal.
	Refused error
	// GCD is the greatest common divisor of the snapshot's non-zero weights,
	// 0 when there are none.
	GCD uint32
	// Format names the payload's format ("map" for a plain snapshot).
	Format string
	// Entries is the number of nodes the payload held, accepted or not.
	Entries int
}

// OK reports whether every node was accepted and the snapshot was not refused.
func (r Report) OK() bool { return r.Refused == nil && len(r.Rejected) == 0 }

// Build validates entries in order under the policy and returns the accepted
// nodes, in the same order, and a report of the rejected ones. Node ids must
// be non-empty valid UTF-8 of at most Limits.MaxIDLen bytes (see Policy.ID);
// under IDsAddress a node's id is its address in canonical form.
//
// An id sent more than once (the same canonical address under IDsAddress)
// is one node, and the copies must agree. When every copy reads the same
// (accepted with the same weight, or rejected for the same reason) the
// first copy is what the snapshot holds and every later copy is rejected
// with ReasonDuplicateID. When they disagree ({"a": 5, "a": 0}: a reader
// that keeps the first value serves the node, one that keeps the last
// drains it), no copy is served: every copy is rejected with
// ReasonDuplicateID, and the detail names the copy it disagrees with.
//
// With more than Limits.MaxNodes entries, or an invalid policy, the whole
// snapshot is refused.
func (p Policy) Build(entries []Entry) (Snapshot, Report) {
	b, err := newBuilder(p)
	if err != nil {
		return Snapshot{}, Report{Refused: fmt.Errorf("%w: %w", ErrRefused, err), Entries: len(entries)}
	}
	if len(entries) > b.lim.MaxNodes {
		err := &PayloadError{Offset: 0, Err: ErrTooManyNodes,
			Msg: fmt.Sprintf("%d nodes, the limit is %d", len(entries), b.lim.MaxNodes)}
		return Snapshot{}, Report{Refused: fmt.Errorf("%w: %w", ErrRefused, err), Entries: len(entries)}
	}
	b.reserve(len(entries))
	for i, e := range entries {
		b.add(i, e)
	}
	return b.finish()
}

// builder validates nodes one at a time, for Build and for Decode's stream.
type builder struct {
	p        Policy
	lim      Limits
	nodes    []Node
	rejected []*NodeError
	ids      idSet
	n        int
	// dups are the later copies of ids sent more than once, in payload
	// order; finish writes their details once it knows whether the copies
	// of each id agree.
	dups []dupCopy
	// fromPayload is set by Decode: ids are substrings of the payload,
	// already valid UTF-8, and are copied into one block by finish.
	fromPayload bool
}

// verdict is what validation makes of one copy of an id on its own: a
// weight (accepted; 0 drained) or the reason it is rejected.
type verdict struct {
	w      uint32
	reason Reason
}

// dupCopy is a later copy of an id: its reject, the id's entry in the id
// set, and what the copy would have been on its own.
type dupCopy struct {
	ne  *NodeError
	ent int32
	v   verdict
}

func newBuilder(p Policy) (*builder, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &builder{p: p, lim: p.Limits.WithDefaults()}, nil
}

// reserve makes room for about n nodes.
func (b *builder) reserve(n int) {
	if n > b.lim.MaxNodes {
		n = b.lim.MaxNodes
	}
	if n > 8 {
		b.nodes = make([]Node, 0, n)
		b.ids.reserve(n)
	}
}

// add validates one node.
func (b *builder) add(index int, e Entry) {
	b.n++
	key, idReason, detail := b.p.checkID(e.ID, b.lim.MaxIDLen)
	var v verdict
	switch {
	case len(e.Reject) != 0:
		// The source's own reject comes first; a usable id still counts
		// as a copy of that id.
		v.reason, detail = e.Reject, e.Detail
	case len(idReason) != 0:
		b.reject(index, e, idReason, detail)
		return
	default:
		v.w, v.reason, detail = b.p.weigh(e.Weight)
		if len(v.reason) == 0 && e.Drained {
			v.w = 0
		}
	}
	ent := -1
	if len(idReason) == 0 && !plantDuplicateID {
		pos, dup := b.ids.insert(key, index)
		if dup {
			b.later(pos, b.reject(index, e, ReasonDuplicateID, ""), v)
			return
		}
		ent = pos
	}
	if len(v.reason) != 0 {
		b.reject(index, e, v.reason, detail)
		if ent >= 0 {
			b.ids.ents[ent].rej = int32(len(b.rejected))
		}
		return
	}
	b.nodes = append(b.nodes, Node{ID: key, Weight: v.w})
	if ent >= 0 {
		x := &b.ids.ents[ent]
		x.node, x.sent, x.kind, x.text = int32(len(b.nodes)), e.ID, e.Weight.Kind, e.Weight.Text
	}
}

// later records a later copy of the id at pos in the id set, and whether
// it disagrees with the first copy.
func (b *builder) later(pos int, ne *NodeError, v verdict) {
	b.dups = append(b.dups, dupCopy{ne: ne, ent: int32(pos), v: v})
	if x := &b.ids.ents[pos]; x.differ == 0 && b.firstVerdict(x) != v {
		x.differ = int32(len(b.dups))
	}
}

// firstVerdict is what became of an id's first copy.
func (b *builder) firstVerdict(x *idEnt) verdict {
	if x.node > 0 {
		return verdict{w: b.nodes[x.node-1].Weight}
	}
	return verdict{reason: b.rejected[x.rej-1].Reason}
}

func (b *builder) reject(index int, e Entry, r Reason, detail string) *NodeError {
	ne := &NodeError{Index: index, ID: e.ID, Raw: e.Weight, Reason: r, Detail: detail}
	if b.fromPayload {
		ne.ID = strings.Clone(ne.ID)
		ne.Raw = cloneRaw(ne.Raw)
	}
	b.rejected = append(b.rejected, ne)
	return ne
}

// settleDuplicates writes the details of the later copies of ids sent more
// than once, and rejects every copy of an id whose copies disagree: an
// accepted first copy leaves the snapshot, a rejected one is rejected as a
// duplicate.
func (b *builder) settleDuplicates() {
	withdrawn := false
	for _, d := range b.dups {
		x := &b.ids.ents[d.ent]
		first := b.firstVerdict(x)
		d.ne.Detail = spelled(d.ne.ID, x.key) + "first sent as node #" + strconv.Itoa(int(x.first))
		if x.differ == 0 {
			continue
		}
		other := b.dups[x.differ-1]
		if d.v == first {
			d.ne.Detail += ", the same way, but node #" + strconv.Itoa(other.ne.Index) +
				" sends it with " + copyText(other.ne.Raw, other.v) + disagree
		} else {
			d.ne.Detail += " with " + copyText(b.firstRaw(x), first) + ", here " + copyText(d.ne.Raw, d.v) + disagree
		}
		if x.settled {
			continue
		}
		x.settled = true
		detail := "sent again as node #" + strconv.Itoa(other.ne.Index) + " with " + copyText(other.ne.Raw, other.v)
		if x.node == 0 {
			ne := b.rejected[x.rej-1]
			detail = spelled(ne.ID, x.key) + detail
			ne.Detail = joinWords(detail+", here "+copyText(ne.Raw, first)+disagree, ne.Detail)
			ne.Reason = ReasonDuplicateID
			continue
		}
		ne := &NodeError{Index: int(x.first), ID: x.sent, Raw: b.firstRaw(x), Reason: ReasonDuplicateID,
			Detail: spelled(x.sent, x.key) + detail + ", here " + copyText(b.firstRaw(x), first) + disagree}
		if b.fromPayload {
			ne.ID, ne.Raw.Text = strings.Clone(ne.ID), strings.Clone(ne.Raw.Text)
		}
		b.rejected = append(b.rejected, ne)
		b.nodes[x.node-1].ID = "" // no accepted id is empty: the mark of a withdrawn node
		withdrawn = true
	}
	if withdrawn {
		b.nodes = slices.DeleteFunc(b.nodes, func(n Node) bool { return len(n.ID) == 0 })
		slices.SortFunc(b.rejected, func(x, y *NodeError) int { return x.Index - y.Index })
	}
}

// spelled starts the detail of a copy whose id is another spelling of
// the id key: "is 10.0.0.1:80; ". It is empty when the id is key.
func spelled(id, key string) string {
	if id == key {
		return ""
	}
	return "is " + key + "; "
}

// disagree ends the detail of a copy of an id whose copies disagree.
const disagree = "; readers of the payload differ on which copy wins, so no copy is served"

// firstRaw is the weight an id's first copy was sent with.
func (b *builder) firstRaw(x *idEnt) Raw {
	if x.node > 0 {
		return Raw{Kind: x.kind, Text: x.text}
	}
	return b.rejected[x.rej-1].Raw
}

// copyText describes one copy of an id: its weight as sent and, when it
// differs, what validation made of it: "weight 5", "weight 0.5 (read as
// 50)", "weight NaN (rejected: nan)".
func copyText(raw Raw, v verdict) string {
	s := "weight " + raw.String()
	if raw.Kind == KindAbsent {
		s = "no weight"
	}
	switch w := strconv.FormatUint(uint64(v.w), 10); {
	case len(v.reason) != 0:
		return s + " (rejected: " + string(v.reason) + ")"
	case v.w == 0:
		return s + " (drained)"
	case raw.Kind != KindNumber || raw.Text != w:
		return s + " (read as " + w + ")"
	}
	return s
}

// joinWords joins two parts of a detail with "; ", leaving out an empty one.
func joinWords(a, b string) string {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return a + "; " + b
}

func (b *builder) finish() (Snapshot, Report) {
	if len(b.dups) > 0 {
		b.settleDuplicates()
	}
	rep := Report{Rejected: b.rejected, Entries: b.n}
	switch {
	case len(b.rejected) > 0 && b.p.Partial == RefuseWhole:
		rep.Refused = fmt.Errorf("%w: %d of %d nodes rejected and the policy refuses partial snapshots",
			ErrRefused, len(b.rejected), b.n)
		return Snapshot{}, rep
	case b.n > 0 && len(b.nodes) == 0:
		rep.Refused = fmt.Errorf("%w: all %d nodes rejected", ErrRefused, b.n)
		return Snapshot{}, rep
	}
	if plantOrder {
		slices.SortStableFunc(b.nodes, func(x, y Node) int { return strings.Compare(x.ID, y.ID) })
	}
	if b.fromPayload {
		// Copy the ids into one block so the snapshot does not keep the
		// payload alive: one allocation instead of one per node.
		total := 0
		for _, n := range b.nodes {
			total += len(n.ID)
		}
		var sb strings.Builder
		sb.Grow(total)
		for _, n := range b.nodes {
			sb.WriteString(n.ID)
		}
		block := sb.String()
		for i := range b.nodes {
			l := len(b.nodes[i].ID)
			b.nodes[i].ID, block = block[:l], block[l:]
		}
	}
	s := Snapshot{Nodes: b.nodes}
	rep.GCD = s.GCD()
	return s, rep
}

// idSet remembers the ids seen so far, and for each one its first copy:
// an open-addressing table of positions, so that adding an id costs no
// allocation beyond amortised growth.
type idSet struct {
	slots []int32 // 1 + position in ents; 0 is empty
	ents  []idEnt
}

// idSeed seeds the id hashes, once per process: random, so that a payload
// cannot choose ids that collide, and fixed, so that the same payload always
// probes the table the same way (deterministic work, which coverage-guided
// fuzzing relies on).
var idSeed = maphash.MakeSeed()

// idEnt is one id of an idSet: the id as compared, and what the builder
// needs to know about its first copy.
type idEnt struct {
	key   string
	hash  uint32
	first int32 // the first copy's index in the payload
	node  int32 // 1 + the first copy's position in the builder's nodes; 0: rejected
	rej   int32 // 1 + the first copy's position in the builder's rejects; 0: accepted
	// differ is 1 + the position in the builder's dups of the first later
	// copy that disagrees with the first; 0: every copy agrees so far.
	differ  int32
	settled bool // settleDuplicates has rejected the first copy
	// sent, kind and text are the accepted first copy's id and weight as
	// sent (an accepted weight is absent, a number or a string), for its
	// reject should a later copy disagree.
	kind Kind
	sent string
	text string
}

// reserve makes room for n ids.
func (s *idSet) reserve(n int) {
	if n <= 8 || s.slots != nil || len(s.ents) > 0 {
		return
	}
	s.ents = make([]idEnt, 0, n)
	size := 64
	for size < 2*n {
		size *= 2
	}
	s.slots = make([]int32, size)
}

// insert adds id, first sent as node index, and returns its position in
// ents and false; or, when id is already there, its position and true.
func (s *idSet) insert(id string, index int) (int, bool) {
	if s.slots == nil {
		if len(s.ents) < 8 {
			// Few ids: a linear scan beats hashing.
			for j := range s.ents {
				if s.ents[j].key == id {
					return j, true
				}
			}
			s.ents = append(s.ents, idEnt{key: id, first: int32(index)})
			return len(s.ents) - 1, false
		}
		for j := range s.ents {
			s.ents[j].hash = uint32(maphash.String(idSeed, s.ents[j].key))
		}
		s.rehash(64)
	}
	h := uint32(maphash.String(idSeed, id))
	mask := uint32(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		p := s.slots[i]
		if p == 0 {
			s.ents = append(s.ents, idEnt{key: id, hash: h, first: int32(index)})
			s.slots[i] = int32(len(s.ents))
			if 2*len(s.ents) > len(s.slots) {
				s.rehash(2 * len(s.slots))
			}
			return len(s.ents) - 1, false
		}
		if e := &s.ents[p-1]; e.hash == h && e.key == id {
			return int(p - 1), true
		}
	}
}

func (s *idSet) rehash(size int) {
	s.slots = make([]int32, size)
	mask := uint32(size - 1)
	for j, e := range s.ents {
		i := e.hash & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = int32(j + 1)
	}
}

// cloneRaw deep-copies a Raw so that it shares no memory with a payload.
func cloneRaw(r Raw) Raw {
	r.Text = strings.Clone(r.Text)
	if r.Items != nil {
		items := make([]Raw, len(r.Items))
		for i, it := range r.Items {
			items[i] = cloneRaw(it)
		}
		r.Items = items
	}
	if r.Members != nil {
		ms := make([]Member, len(r.Members))
		for i, m := range r.Members {
			ms[i] = Member{Key: strings.Clone(m.Key), Value: cloneRaw(m.Value)}
		}
		r.Members = ms
	}
	return r
}
