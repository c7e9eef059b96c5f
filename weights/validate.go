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
	if p.Strings > StringsDecimal {
		return fmt.Errorf("%w: unknown string mode %d", ErrPolicy, p.Strings)
	}
	if p.Zero > ZeroReject {
		return fmt.Errorf("%w: unknown zero mode %d", ErrPolicy, p.Zero)
	}
	if p.Partial > RefuseWhole {
		return fmt.Errorf("%w: unknown partial mode %d", ErrPolicy, p.Partial)
	}
	if p.IDs > IDsAddress {
		return fmt.Errorf("%w: unknown id mode %d", ErrPolicy, p.IDs)
	}
	if d, m := p.defaultWeight(), p.maxWeight(); d > m {
		return fmt.Errorf("%w: default weight %d is above the maximum %d", ErrPolicy, d, m)
	}
	return nil
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
		if reason != "" {
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
		if reason != "" {
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
	if s == "" {
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
	if s == "" || (s[0] == '0' && len(s) > 1) {
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
	case s == "":
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
// be non-empty valid UTF-8 of at most Limits.MaxIDLen bytes; an id seen
// before (accepted or not) is a duplicate-id. With more than Limits.MaxNodes
// entries, or an invalid policy, the whole snapshot is refused.
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
	// fromPayload is set by Decode: ids are substrings of the payload,
	// already valid UTF-8, and are copied into one block by finish.
	fromPayload bool
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
	if e.Reject != "" {
		b.reject(index, e, e.Reject, e.Detail)
		return
	}
	switch {
	case e.ID == "":
		b.reject(index, e, ReasonEmptyID, "")
		return
	case len(e.ID) > b.lim.MaxIDLen:
		b.reject(index, e, ReasonBadID, fmt.Sprintf("the id is %d bytes, the limit is %d", len(e.ID), b.lim.MaxIDLen))
		return
	}
	if problem := idProblem(e.ID); problem != "" {
		b.reject(index, e, ReasonBadID, problem)
		return
	}
	if b.p.IDs == IDsAddress {
		if problem := addressProblem(e.ID); problem != "" {
			b.reject(index, e, ReasonNotAddress, problem)
			return
		}
	}
	if first, dup := b.ids.insert(e.ID, index); dup && !plantDuplicateID {
		b.reject(index, e, ReasonDuplicateID, fmt.Sprintf("first sent as node #%d", first))
		return
	}
	w, reason, detail := b.p.weigh(e.Weight)
	if reason != "" {
		b.reject(index, e, reason, detail)
		return
	}
	if e.Drained {
		w = 0
	}
	b.nodes = append(b.nodes, Node{ID: e.ID, Weight: w})
}

func (b *builder) reject(index int, e Entry, r Reason, detail string) {
	ne := &NodeError{Index: index, ID: e.ID, Raw: e.Weight, Reason: r, Detail: detail}
	if b.fromPayload {
		ne.ID = strings.Clone(ne.ID)
		ne.Raw = cloneRaw(ne.Raw)
	}
	b.rejected = append(b.rejected, ne)
}

func (b *builder) finish() (Snapshot, Report) {
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

// idSet remembers the ids seen so far and the index of each one's first
// node: an open-addressing table of positions, so that adding an id costs
// no allocation beyond amortised growth.
type idSet struct {
	slots []int32 // 1 + position in ents; 0 is empty
	ents  []idEnt
}

// idSeed seeds the id hashes, once per process: random, so that a payload
// cannot choose ids that collide, and fixed, so that the same payload always
// probes the table the same way (deterministic work, which coverage-guided
// fuzzing relies on).
var idSeed = maphash.MakeSeed()

type idEnt struct {
	key   string
	hash  uint32
	first int32
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

// insert adds id and returns false, or returns the index of the first node
// with this id and true.
func (s *idSet) insert(id string, index int) (int, bool) {
	if s.slots == nil {
		if len(s.ents) < 8 {
			// Few ids: a linear scan beats hashing.
			for _, e := range s.ents {
				if e.key == id {
					return int(e.first), true
				}
			}
			s.ents = append(s.ents, idEnt{key: id, first: int32(index)})
			return 0, false
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
			return 0, false
		}
		if e := &s.ents[p-1]; e.hash == h && e.key == id {
			return int(e.first), true
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
