package core

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// weightPolicy is one policy the Weights target decodes every input under.
type weightPolicy struct {
	name string
	p    weights.Policy
}

// weightPolicies cover every mode of weights.Policy at least once.
var weightPolicies = []weightPolicy{
	{"strict", weights.Strict()},
	{"lenient", weights.Lenient()},
	{"scaled", weights.Policy{Strings: weights.StringsDecimal, Zero: weights.ZeroDefault,
		Scale: 100, DefaultWeight: 100}},
	{"tight", weights.Policy{Zero: weights.ZeroReject, Partial: weights.RefuseWhole,
		MissingRejected: true, MaxWeight: 100,
		Limits: weights.Limits{MaxBytes: 4096, MaxNodes: 8, MaxIDLen: 16, MaxDepth: 4}}},
}

// payloadErrs are the sentinels a *weights.PayloadError may wrap.
var payloadErrs = []error{weights.ErrSyntax, weights.ErrTooLarge, weights.ErrTooDeep,
	weights.ErrTooManyNodes, weights.ErrShape}

// checkDecode decodes data under one policy and checks every property of the
// result. It returns whether the payload was a snapshot (no payload error).
func checkDecode(data []byte, wp weightPolicy, tree weights.Raw, treeErr error) (bool, error) {
	snap, rep, err := weights.Decode(data, wp.p)
	return checkDecodeResult(wp, tree, treeErr, snap, rep, err)
}

// checkDecodeResult is checkDecode on what Decode under wp gave.
func checkDecodeResult(wp weightPolicy, tree weights.Raw, treeErr error, snap weights.Snapshot, rep weights.Report, err error) (bool, error) {
	p := wp.p
	lim := limitsOf(p)

	// Payload-level agreement with the tree parser.
	wantOK := treeErr == nil && (tree.Kind == weights.KindObject || tree.Kind == weights.KindArray) &&
		entryCount(tree) <= lim.MaxNodes
	if err != nil {
		var pe *weights.PayloadError
		if !errors.As(err, &pe) || !isAny(err, payloadErrs) {
			return false, fmt.Errorf("%s: Decode error %v is not a *PayloadError wrapping a known sentinel", wp.name, err)
		}
		if len(snap.Nodes) != 0 || len(rep.Rejected) != 0 {
			return false, fmt.Errorf("%s: Decode returned nodes or rejects with error %v", wp.name, err)
		}
		if wantOK {
			return false, fmt.Errorf("%s: Decode failed (%v) on a payload ParseJSON reads as a %s of %d nodes",
				wp.name, err, tree.Kind, entryCount(tree))
		}
		return false, nil
	}
	if !wantOK {
		return false, fmt.Errorf("%s: Decode accepted a payload that ParseJSON rejects (%v) or that is not a snapshot", wp.name, treeErr)
	}

	entries, malformed := entriesOf(tree)
	if rep.Entries != len(entries) {
		return true, fmt.Errorf("%s: Report.Entries = %d, payload has %d nodes", wp.name, rep.Entries, len(entries))
	}

	// Every reject has a known reason, a valid index, in payload order.
	rejected := make([]*weights.NodeError, len(entries))
	last := -1
	for _, ne := range rep.Rejected {
		if ne == nil {
			return true, fmt.Errorf("%s: nil *NodeError in report", wp.name)
		}
		if len(ne.Reason) == 0 || ne.Reason.Err() == nil || !errors.Is(ne, ne.Reason.Err()) {
			return true, fmt.Errorf("%s: node #%d rejected with unknown reason %q", wp.name, ne.Index, ne.Reason)
		}
		if ne.Index <= last || ne.Index >= len(entries) {
			return true, fmt.Errorf("%s: reject index %d out of order or range (previous %d, %d nodes)", wp.name, ne.Index, last, len(entries))
		}
		if ne.Error() == "" {
			return true, fmt.Errorf("%s: node #%d: empty message", wp.name, ne.Index)
		}
		last = ne.Index
		rejected[ne.Index] = ne
	}
	for i, bad := range malformed {
		if bad && rejected[i] == nil {
			return true, fmt.Errorf("%s: malformed array entry #%d was not rejected", wp.name, i)
		}
	}

	// Refusal is all or nothing.
	if rep.Refused != nil {
		if !errors.Is(rep.Refused, weights.ErrRefused) {
			return true, fmt.Errorf("%s: Refused %v does not wrap ErrRefused", wp.name, rep.Refused)
		}
		if len(snap.Nodes) != 0 {
			return true, fmt.Errorf("%s: refused snapshot still has %d nodes", wp.name, len(snap.Nodes))
		}
		whole := p.Partial == weights.RefuseWhole && len(rep.Rejected) > 0
		all := len(entries) > 0 && len(rep.Rejected) == len(entries)
		if !whole && !all {
			return true, fmt.Errorf("%s: snapshot refused (%v) with %d of %d nodes rejected", wp.name, rep.Refused, len(rep.Rejected), len(entries))
		}
		return true, nil
	}
	if p.Partial == weights.RefuseWhole && len(rep.Rejected) > 0 {
		return true, fmt.Errorf("%s: partial snapshot applied under RefuseWhole", wp.name)
	}

	// The accepted nodes are exactly the entries not rejected, in order, each
	// with a weight that is the value sent, as an integer within range.
	k := 0
	for i, e := range entries {
		if rejected[i] != nil {
			if e.Weight.Kind == weights.KindString && isAllZeros(e.Weight.Text) && !isMalformed(malformed, i) &&
				rejected[i].Reason != weights.ReasonStringZero && rejected[i].Reason.Err() != nil &&
				!idProblem(rejected[i].Reason) {
				return true, fmt.Errorf("%s: node #%d with weight %q rejected as %s, want %s",
					wp.name, i, e.Weight.Text, rejected[i].Reason, weights.ReasonStringZero)
			}
			continue
		}
		if isMalformed(malformed, i) {
			return true, fmt.Errorf("%s: malformed entry #%d accepted", wp.name, i)
		}
		if k >= len(snap.Nodes) {
			return true, fmt.Errorf("%s: node #%d %q neither rejected nor in the snapshot", wp.name, i, e.ID)
		}
		n := snap.Nodes[k]
		k++
		if n.ID != e.ID {
			return true, fmt.Errorf("%s: snapshot node %d is %q, payload order says %q (node #%d)", wp.name, k-1, n.ID, e.ID, i)
		}
		if len(n.ID) == 0 {
			return true, fmt.Errorf("%s: accepted an empty id", wp.name)
		}
		if problem := idRuleProblem(n.ID); len(problem) != 0 {
			return true, fmt.Errorf("%s: accepted id %q: %s", wp.name, n.ID, problem)
		}
		if err := checkWeight(p, e.Weight, n.Weight); err != nil {
			return true, fmt.Errorf("%s: node #%d %q: %w", wp.name, i, e.ID, err)
		}
	}
	if k != len(snap.Nodes) {
		return true, fmt.Errorf("%s: snapshot has %d nodes, payload accounts for %d", wp.name, len(snap.Nodes), k)
	}
	if err := copiesAgree(p, entries, malformed, snap.Nodes); err != nil {
		return true, fmt.Errorf("%s: %w", wp.name, err)
	}
	if id, dup := duplicateID(snap.Nodes); dup {
		return true, fmt.Errorf("%s: id %q accepted twice", wp.name, id)
	}
	if g := gcdOf(snap.Nodes); rep.GCD != g {
		return true, fmt.Errorf("%s: Report.GCD = %d, want %d", wp.name, rep.GCD, g)
	}

	// Build on the tree parser's entries agrees with the streaming decoder
	// (object shape, where the entries are exactly the members).
	if tree.Kind == weights.KindObject {
		bs, brep := p.Build(entries)
		if !sameNodes(bs.Nodes, snap.Nodes) || len(brep.Rejected) != len(rep.Rejected) || (brep.Refused == nil) != (rep.Refused == nil) {
			return true, fmt.Errorf("%s: Build(entries) = %v (%d rejected) but Decode = %v (%d rejected)",
				wp.name, bs.Nodes, len(brep.Rejected), snap.Nodes, len(rep.Rejected))
		}
	}

	// decode → encode → decode gives the same snapshot.
	enc := weights.Encode(snap)
	rt := weights.Policy{MaxWeight: p.MaxWeight, Limits: weights.Limits{MaxIDLen: lim.MaxIDLen, MaxNodes: lim.MaxNodes}}
	snap2, rep2, err := weights.Decode(enc, rt)
	if err != nil || !rep2.OK() || !sameNodes(snap.Nodes, snap2.Nodes) {
		return true, fmt.Errorf("%s: round trip: Decode(Encode(%v)) = %v, %v, %v (encoded %q)",
			wp.name, snap.Nodes, snap2.Nodes, rep2.Rejected, err, enc)
	}
	return true, nil
}

// checkWeight checks that an accepted weight w is what raw means under p.
func checkWeight(p weights.Policy, raw weights.Raw, w uint32) error {
	max := p.MaxWeight
	if max == 0 {
		max = weights.DefaultMaxWeight
	}
	def := p.DefaultWeight
	if def == 0 {
		def = weights.DefaultWeight
	}
	scale := int64(p.Scale)
	if scale == 0 {
		scale = 1
	}
	if w > max {
		return fmt.Errorf("accepted weight %d above the maximum %d", w, max)
	}
	var v *big.Int
	switch raw.Kind {
	case weights.KindAbsent:
		if p.MissingRejected {
			return fmt.Errorf("missing weight accepted as %d by a policy that rejects it", w)
		}
		if w != def {
			return fmt.Errorf("missing weight accepted as %d, want the default %d", w, def)
		}
		return nil
	case weights.KindString:
		if isAllZeros(raw.Text) {
			return fmt.Errorf("the string %q was accepted (as %d)", raw.Text, w)
		}
		if p.Strings != weights.StringsDecimal {
			return fmt.Errorf("string weight %q accepted by a numbers-only policy", raw.Text)
		}
		if !plainDecimal(raw.Text) {
			return fmt.Errorf("string weight %q accepted but it is not a plain decimal integer", raw.Text)
		}
		v, _ = new(big.Int).SetString(raw.Text, 10)
	case weights.KindNumber:
		var ok bool
		v, ok = exactInteger(raw.Text, scale)
		if !ok {
			return fmt.Errorf("number %s accepted (as %d) but %s × %d is not a finite integer", raw.Text, w, raw.Text, scale)
		}
		if v.Sign() == 0 {
			switch p.Zero {
			case weights.ZeroDrain:
				if w != 0 {
					return fmt.Errorf("zero accepted as %d, want 0 (drained)", w)
				}
			case weights.ZeroDefault:
				if w != def {
					return fmt.Errorf("zero accepted as %d, want the default %d", w, def)
				}
			default:
				return fmt.Errorf("zero accepted by a policy that rejects it")
			}
			return nil
		}
		if v.Sign() < 0 {
			return fmt.Errorf("negative number %s accepted as %d", raw.Text, w)
		}
		if v.Cmp(big.NewInt(int64(w))) != 0 {
			return fmt.Errorf("number %s × %d accepted as %d", raw.Text, scale, w)
		}
		return nil
	default:
		return fmt.Errorf("a %s accepted as weight %d", raw.Kind, w)
	}
	v.Mul(v, big.NewInt(scale))
	if v.Cmp(big.NewInt(int64(w))) != 0 {
		return fmt.Errorf("string %q × %d accepted as %d", raw.Text, scale, w)
	}
	return nil
}

// exactInteger returns text × scale when text is JSON number syntax whose
// value times scale is an integer, computed exactly (no float rounding).
// Exponents are bounded first, so 1e999999999 cannot make it slow.
func exactInteger(text string, scale int64) (*big.Int, bool) {
	if len(text) <= 9 && scale <= math.MaxInt32 && plainDecimal(text) {
		// The common weight, a plain decimal below 10^9: times a scale
		// below 2^31 it stays below 2^61.
		v, _ := strconv.ParseInt(text, 10, 64)
		return big.NewInt(v * scale), true
	}
	s := text
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		eneg := false
		if len(e) != 0 && (e[0] == '+' || e[0] == '-') {
			eneg = e[0] == '-'
			e = e[1:]
		}
		if len(e) == 0 || !digitsOnly(e) {
			return nil, false
		}
		e = strings.TrimLeft(e, "0")
		if len(e) > 6 {
			// A huge exponent: the value is 0, or not an integer, or above
			// any weight.
			m := strings.Replace(mant, ".", "", 1)
			if len(m) != 0 && digitsOnly(m) && strings.Trim(m, "0") == "" {
				return new(big.Int), true
			}
			return nil, false
		}
		for _, c := range e {
			exp = exp*10 + int64(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if len(intPart) == 0 || !digitsOnly(digits) {
		return nil, false
	}
	exp -= int64(len(frac))
	digits = strings.TrimLeft(digits, "0")
	if len(digits) == 0 {
		return new(big.Int), true
	}
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		exp++
	}
	if exp > 64 || exp < -64 {
		// Above 10^64, or a non-integer: scale has fewer than 64 factors of
		// 2 or 5, and digits (no trailing zero) cannot supply both.
		return nil, false
	}
	v, _ := new(big.Int).SetString(digits, 10)
	v.Mul(v, big.NewInt(scale))
	ten := big.NewInt(10)
	if exp >= 0 {
		v.Mul(v, new(big.Int).Exp(ten, big.NewInt(exp), nil))
	} else {
		d := new(big.Int).Exp(ten, big.NewInt(-exp), nil)
		q, r := new(big.Int).QuoRem(v, d, new(big.Int))
		if r.Sign() != 0 {
			return nil, false
		}
		v = q
	}
	if neg {
		v.Neg(v)
	}
	return v, true
}

// copiesAgree checks that a payload has one reading: a served id that the
// payload sends more than once is served only when every copy reads as the
// weight served (a well-formed entry each).
func copiesAgree(p weights.Policy, entries []weights.Entry, malformed []bool, nodes []weights.Node) error {
	if len(entries) < 2 || len(nodes) == 0 {
		return nil
	}
	served := make(map[string]uint32, len(nodes))
	for _, n := range nodes {
		served[n.ID] = n.Weight
	}
	for i, e := range entries {
		w, ok := served[e.ID]
		if !ok || isMalformed(malformed, i) {
			continue
		}
		if err := checkWeight(p, e.Weight, w); err != nil {
			return fmt.Errorf("id %q served with weight %d, but its copy #%d reads otherwise: %w", e.ID, w, i, err)
		}
	}
	return nil
}

// entriesOf lists a parsed snapshot's entries as Decode should see them, and
// marks the array elements that are malformed (must be rejected).
func entriesOf(tree weights.Raw) (entries []weights.Entry, malformed []bool) {
	switch tree.Kind {
	case weights.KindObject:
		entries = make([]weights.Entry, len(tree.Members))
		for i, m := range tree.Members {
			entries[i] = weights.Entry{ID: m.Key, Weight: m.Value}
		}
	case weights.KindArray:
		entries = make([]weights.Entry, len(tree.Items))
		malformed = make([]bool, len(tree.Items))
		for i, it := range tree.Items {
			if it.Kind != weights.KindObject {
				malformed[i] = true
				continue
			}
			ids, ws := 0, 0
			for _, m := range it.Members {
				switch {
				case m.Key == "id":
					ids++
					if m.Value.Kind != weights.KindString {
						malformed[i] = true
					}
					entries[i].ID = m.Value.Text
				case m.Key == "weight":
					ws++
					entries[i].Weight = m.Value
				case strings.EqualFold(m.Key, "id") || strings.EqualFold(m.Key, "weight"):
					malformed[i] = true
				}
			}
			if ids != 1 || ws > 1 {
				malformed[i] = true
			}
		}
	}
	return entries, malformed
}

func isMalformed(malformed []bool, i int) bool { return malformed != nil && malformed[i] }

// duplicateID reports an id that occurs twice.
func duplicateID(nodes []weights.Node) (string, bool) {
	if len(nodes) > 32 {
		seen := make(map[string]bool, len(nodes))
		for _, n := range nodes {
			if seen[n.ID] {
				return n.ID, true
			}
			seen[n.ID] = true
		}
		return "", false
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if nodes[i].ID == nodes[j].ID {
				return nodes[i].ID, true
			}
		}
	}
	return "", false
}

func entryCount(tree weights.Raw) int {
	if tree.Kind == weights.KindObject {
		return len(tree.Members)
	}
	return len(tree.Items)
}

func limitsOf(p weights.Policy) weights.Limits {
	l := p.Limits
	if l.MaxBytes <= 0 {
		l.MaxBytes = weights.DefaultMaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = weights.DefaultMaxNodes
	}
	if l.MaxIDLen <= 0 {
		l.MaxIDLen = weights.DefaultMaxIDLen
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = weights.DefaultMaxDepth
	}
	return l
}

func idProblem(r weights.Reason) bool {
	switch r {
	case weights.ReasonEmptyID, weights.ReasonBadID, weights.ReasonDuplicateID, weights.ReasonMalformedEntry:
		return true
	}
	return false
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func isAllZeros(s string) bool {
	return len(s) != 0 && strings.Trim(s, "0") == ""
}

func plainDecimal(s string) bool {
	return len(s) != 0 && digitsOnly(s) && (s[0] != '0' || len(s) == 1)
}

func digitsOnly(s string) bool {
	// The standard library trims the digits: a comparison per byte here
	// would call the fuzzing build's tracing hook twice.
	return len(strings.TrimLeft(s, "0123456789")) == 0
}

func sameNodes(a, b []weights.Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func gcdOf(nodes []weights.Node) uint32 {
	var g uint32
	for _, n := range nodes {
		a, b := g, n.Weight
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g
}

// registryOptions are the registry decoder settings the Weights target
// tries on every input (format detected from the payload's shape).
var registryOptions = []registry.Options{
	{},
	{Policy: weights.Lenient(), Convention: registry.FollowPolicy, Health: registry.HealthReject},
	{MergeServices: true, Policy: weights.Policy{IDs: weights.IDsAddress}},
}

// checkRegistry decodes data as a registry response and checks what holds
// for every format: a payload error or a snapshot, never both; rejects with
// known reasons; a refused snapshot empty; accepted ids non-empty and
// distinct, weights within the maximum (checkRegistryResult); and the
// encoded snapshot decodes back to itself (checkRoundTrip).
func checkRegistry(data []byte, o registry.Options) (bool, error) {
	snap, rep, err := registry.Decode(registry.FormatAuto, data, o)
	ok, cerr := checkRegistryResult(o, snap, rep, err)
	if cerr != nil || err != nil {
		return ok, cerr
	}
	return ok, checkRoundTrip(rep.Format, snap, o)
}

// checkRoundTrip: the encoded snapshot decodes back to itself. WeightsTyped
// checks it on its map and array payloads (checkDecodeResult), whose ids
// are any text the id rules pass, not on its registry payloads, whose
// snapshots hold addresses and weights of the same kinds.
func checkRoundTrip(format string, snap weights.Snapshot, o registry.Options) error {
	max := o.Policy.MaxWeight
	if max == 0 {
		max = weights.DefaultMaxWeight
	}
	enc := weights.Encode(snap)
	back, brep, err := weights.Decode(enc, weights.Policy{MaxWeight: max})
	if err != nil || !brep.OK() || !sameNodes(back.Nodes, snap.Nodes) {
		return fmt.Errorf("registry %s: round trip of %v gives %v, %v, %v", format, snap.Nodes, back.Nodes, brep.Rejected, err)
	}
	return nil
}

// checkRegistryResult is checkRegistry on what a decode under o gave.
func checkRegistryResult(o registry.Options, snap weights.Snapshot, rep registry.Report, err error) (bool, error) {
	// One service at a time: several are an error naming them unless the
	// options merge them (or choose one); never an error with fewer.
	several := len(rep.Services) > 1 && len(o.Service) == 0 && !o.MergeServices
	if multi := errors.Is(err, registry.ErrMultipleServices); (multi && !several) || (err == nil && several) {
		return true, fmt.Errorf("registry %s: services %q with options %+v gave error %v", rep.Format, rep.Services, o, err)
	} else if multi {
		for _, svc := range rep.Services {
			if !strings.Contains(err.Error(), strconv.Quote(svc)) {
				return true, fmt.Errorf("registry %s: error %q does not name service %q", rep.Format, err, svc)
			}
		}
	}
	if err != nil {
		if len(snap.Nodes) != 0 {
			return false, fmt.Errorf("registry: %d nodes returned with error %v", len(snap.Nodes), err)
		}
		return false, nil
	}
	max := o.Policy.MaxWeight
	if max == 0 {
		max = weights.DefaultMaxWeight
	}
	for _, ne := range rep.Rejected {
		if ne == nil || ne.Reason.Err() == nil {
			return true, fmt.Errorf("registry %s: reject without a known reason: %v", rep.Format, ne)
		}
	}
	if rep.Refused != nil && len(snap.Nodes) != 0 {
		return true, fmt.Errorf("registry %s: refused snapshot has %d nodes", rep.Format, len(snap.Nodes))
	}
	address := rep.Format != string(registry.FormatMap) || o.Policy.IDs == weights.IDsAddress
	for _, n := range snap.Nodes {
		if len(n.ID) == 0 || n.Weight > max {
			return true, fmt.Errorf("registry %s: accepted node %q with weight %d (maximum %d)", rep.Format, n.ID, n.Weight, max)
		}
		// Every id follows the id rules; a registry's ids (and a map's
		// under IDsAddress) are addresses.
		var problem string
		if address {
			problem = addressProblem(n.ID) // the id rules first
		} else {
			problem = idRuleProblem(n.ID)
		}
		if len(problem) == 0 && address {
			// an address is served in canonical form, so that one
			// backend spelled two ways is one node
			if c, err := weights.ParseAddress(n.ID); err != nil || c != n.ID {
				problem = fmt.Sprintf("not the canonical form %q (%v)", c, err)
			}
		}
		if len(problem) != 0 {
			return true, fmt.Errorf("registry %s: accepted id %q: %s", rep.Format, n.ID, problem)
		}
	}
	if id, dup := duplicateID(snap.Nodes); dup {
		return true, fmt.Errorf("registry %s: id %q accepted twice", rep.Format, id)
	}
	if g := gcdOf(snap.Nodes); rep.GCD != g && rep.Refused == nil {
		return true, fmt.Errorf("registry %s: Report.GCD = %d, want %d", rep.Format, rep.GCD, g)
	}
	return true, nil
}
