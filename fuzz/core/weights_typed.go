package core

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// WeightsTyped is the structure-aware weights target: it decodes data into
// a typed node set (see decodeTyped: addresses, valid or mutated with a
// piece of any kind at any place; weights composed from parts, numbers of
// every shape and around every boundary, strings wrapped in and broken by
// white space of every Unicode kind, bools, null, nested values, or
// missing; each registry's health fields over their whole documented
// vocabulary and beyond; two services), renders it in one payload format
// (the map and array snapshots and every registry shape), decodes it once
// and checks the result.
//
// Snapshots (map and array) get every check of Weights under one policy,
// and the array form must decode exactly as Policy.Build validates the
// typed entries. Registry payloads get Weights' registry checks (all but
// the round trip through Encode, which the snapshots check), must
// decode the same with the format named or detected, must be refused when
// they hold two services and the settings neither choose one nor merge
// them (and only then), and what the decoder
// accepted is checked against what was sent: every accepted node is a node
// of the set, in order, under its address in canonical form; a node sent
// more than once (the same address, however spelled) is served only when
// every copy reads as the weight served; a weight made of zeros ("0",
// "00") is never accepted; a node the registry documents as not serving
// (refServing, a reference reading of each registry's health fields
// written from its documentation) is drained (or rejected); a node it
// documents as serving, with a plain address and weight, is accepted at
// that weight (checkServed); and unless the decoder is asked to copy an SDK's lenience
// (registry.FollowSDK), an accepted weight is exactly the number sent
// (times the registry's scale; Nacos rounds once scaled) and nothing else
// (NaN, infinities, negatives, fractions, bools, nested values, malformed
// strings) is accepted. The input is interesting when something was
// accepted.
func WeightsTyped(data []byte) (interesting bool, err error) {
	s := decodeTyped(data)
	payload := s.render()
	if s.snap {
		interesting, err = checkTypedSnapshot(s, payload)
	} else {
		interesting, err = checkTypedRegistry(s, payload)
	}
	if err != nil {
		return true, fmt.Errorf("%s payload %q: %w", s.format, payload, err)
	}
	return interesting, nil
}

// checkTypedSnapshot checks a map or array rendering under one policy.
func checkTypedSnapshot(s typedSet, payload []byte) (bool, error) {
	wp := weightPolicies[s.policy]
	tree, treeErr := weights.ParseJSON(payload, wp.p.Limits)
	snap, rep, derr := weights.Decode(payload, wp.p)
	ok, err := checkDecodeResult(wp, tree, treeErr, snap, rep, derr)
	if err != nil {
		return ok, err
	}
	if derr != nil {
		return ok, nil // a payload limit, or bytes JSON cannot carry; checked above
	}
	// checkDecodeResult checked every accepted id against the id rules.
	if s.format != formatArray {
		return ok, nil
	}
	bsnap, brep := wp.p.Build(s.entries())
	if !sameNodes(snap.Nodes, bsnap.Nodes) || (rep.Refused == nil) != (brep.Refused == nil) ||
		!slices.EqualFunc(rep.Rejected, brep.Rejected, func(a, b *weights.NodeError) bool {
			return a.Index == b.Index && a.Reason == b.Reason
		}) {
		return true, fmt.Errorf("%s: Decode gives %v, rejected %s, refused %v; Build on the same entries gives %v, rejected %s, refused %v",
			wp.name, snap.Nodes, reasons(rep.Rejected), rep.Refused, bsnap.Nodes, reasons(brep.Rejected), brep.Refused)
	}
	return ok, nil
}

// idRuleProblem says why an accepted id breaks the rules every id follows
// (no control character, C0, DEL or C1; valid UTF-8; no white space at
// either end), "" when it does not.
func idRuleProblem(id string) string {
	if !utf8.ValidString(id) {
		return "not valid UTF-8"
	}
	// The standard library finds C0 and DEL, and the lead byte of every C1
	// character (U+0080-U+009F is 0xc2 0x80-0x9f), without a comparison per
	// byte here (each a tracing hook under a fuzzing build); only an id
	// holding one is read rune by rune.
	if strings.IndexAny(id, asciiControls) >= 0 || strings.IndexByte(id, 0xc2) >= 0 {
		for _, r := range id {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
				return fmt.Sprintf("control character %U", r)
			}
		}
	}
	if len(strings.TrimSpace(id)) != len(id) {
		return "white space at an end"
	}
	return ""
}

// asciiControls are C0 and DEL.
const asciiControls = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"

// addressProblem says why an accepted registry id is not host:port (a
// port 1-65535, a host without userinfo, path, query, fragment or scheme,
// IPv6 in brackets), "" when it is.
func addressProblem(id string) string {
	// The common address, IPv4 and a port without a leading zero, as the
	// standard library's parser reads it (a port it reads as 0 starts
	// with '0').
	if ap, err := netip.ParseAddrPort(id); err == nil && ap.Addr().Is4() && id[strings.LastIndexByte(id, ':')+1] != '0' {
		return ""
	}
	if p := idRuleProblem(id); len(p) != 0 {
		return p
	}
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "no port"
	}
	host, port := id[:i], id[i+1:]
	if n, err := strconv.Atoi(port); err != nil || !digitsOnly(port) || n < 1 || n > 65535 {
		return "port " + strconv.Quote(port)
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if !strings.Contains(host, ":") {
			return "brackets around a host that is not IPv6"
		}
	} else if strings.Contains(host, ":") {
		return "an IPv6 host without brackets, or a scheme"
	}
	if len(host) == 0 || strings.ContainsAny(host, "@/?# []") {
		return "host " + strconv.Quote(host)
	}
	return ""
}

func reasons(nes []*weights.NodeError) string {
	s := "["
	for i, ne := range nes {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("#%d:%s", ne.Index, ne.Reason)
	}
	return s + "]"
}

// checkTypedRegistry checks a registry rendering under one setting. The
// payload is decoded once, with its format named or, as the input says
// (typedSet.detect), detected from its shape (FormatAuto): each input costs
// one decode, and a campaign covers both. Where detection names another
// format (or none), the payload is decoded again with its format named,
// and where both decode, they must give the same nodes; the named decode
// is then the one checked.
func checkTypedRegistry(s typedSet, payload []byte) (bool, error) {
	o := registryOptions[s.opts]
	f := s.format
	if s.detect {
		f = registry.FormatAuto
	}
	snap, rep, err := registry.Decode(f, payload, o)
	if s.detect && rep.Format != string(s.format) {
		named, nrep, nerr := registry.Decode(s.format, payload, o)
		if err == nil && nerr == nil && !sameNodes(snap.Nodes, named.Nodes) {
			return true, fmt.Errorf("format %s gives %v, detected format %s gives %v", s.format, named.Nodes, rep.Format, snap.Nodes)
		}
		snap, rep, err = named, nrep, nerr
	}
	ok, cerr := checkRegistryResult(o, snap, rep, err)
	if cerr != nil {
		return ok, cerr
	}
	several := errors.Is(err, registry.ErrMultipleServices)
	switch want := s.twoServices() && len(o.Service) == 0 && !o.MergeServices; {
	case want && err == nil:
		return true, fmt.Errorf("a payload holding services %q and %q decoded into one pool %v", services[0], services[1], snap.Nodes)
	case !want && several:
		return true, fmt.Errorf("a payload holding one service refused as several: %v", err)
	}
	if err != nil {
		return false, nil
	}
	if rep.Format != string(s.format) {
		return true, fmt.Errorf("decoded as format %s, Report.Format says %q", s.format, rep.Format)
	}
	if rep.Refused != nil {
		return true, nil
	}
	nacos := s.format == registry.FormatNacos
	scale := int64(o.Policy.Scale)
	if scale == 0 {
		scale = 1
		if nacos {
			scale = 100 // Nacos weights are floats, 1.0 is 100
		}
	}
	strict := o.Convention != registry.FollowSDK
	// Nacos weights are floats: following the registry, a decoder rounds
	// them once scaled.
	rounds := nacos && o.Convention == registry.FollowRegistry
	sent := s.sentAs()
	next := 0 // the typed node after the first one matched last
	for _, nd := range snap.Nodes {
		// checkRegistryResult checked that nd.ID is an address in
		// canonical form. The node must have been sent after the previous
		// one; when it was sent more than once (the same address, however
		// spelled), every copy must read as the weight served: copies that
		// disagree are never served.
		first := -1
		for _, j := range sent[nd.ID] {
			if err := typedWeightCheck(s.format, &s.nodes[j], nd.Weight, o, scale, strict, rounds); err != nil {
				return true, fmt.Errorf("node %q served with weight %d though its copy #%d reads otherwise: %w", nd.ID, nd.Weight, j, err)
			}
			if first < 0 && j >= next {
				first = j
			}
		}
		if first < 0 {
			return true, fmt.Errorf("accepted node %q is not a node sent after node #%d", nd.ID, next-1)
		}
		next = first + 1
	}
	if strict {
		if err := checkServed(s, sent, snap.Nodes, scale); err != nil {
			return true, err
		}
	}
	return len(snap.Nodes) > 0, nil
}

// nodeAddrs are the ids a registry decoder may give a typed node, in
// canonical form, each once.
type nodeAddrs struct {
	n int
	a [3]string
}

func (na *nodeAddrs) has(id string) bool {
	for _, c := range na.a[:na.n] {
		if c == id {
			return true
		}
	}
	return false
}

// sentAs maps each id a registry decoder may give a typed node
// (typedNode.ids), in canonical form, to the indexes of the nodes that may
// have it, in order: each spelling is read by weights.ParseAddress once
// per input, and each served node found by one lookup. A plain node's only
// id is its address as generated, IPv4 and a port 1-65535 in decimal,
// which is canonical.
func (s typedSet) sentAs() map[string][]int {
	sent := make(map[string][]int, len(s.nodes))
	var na nodeAddrs
	for j := range s.nodes {
		n := &s.nodes[j]
		na.n = 0
		if n.plain {
			sent[n.id()] = append(sent[n.id()], j)
			continue
		}
		ids := n.ids()
		for k, x := range ids {
			if len(x) == 0 || slices.Contains(ids[:k], x) {
				continue // "" is no address
			}
			if c, err := weights.ParseAddress(x); err == nil && !na.has(c) {
				na.a[na.n] = c
				na.n++
				sent[c] = append(sent[c], j)
			}
		}
	}
	return sent
}

// serving is what a registry's documentation says of an instance's health
// fields: it takes traffic, it does not, or the spelling is one the
// documentation does not settle (a bool sent as the string "true").
type serving int8

const (
	serveNo     serving = iota
	serveEither         // ordered so that and is min
	serveYes
)

// refServing reads a node's health fields as the registry documents them
// (REGISTRIES.md and the registries' own documentation), independently of
// the decoders: Bilibili discovery serves status 1 only (2 is registered
// but not serving); Consul serves a passing check at the Passing weight and
// a warning one at the Warning weight (1 here), never a critical or
// maintenance one or an unknown status; Nacos serves a host that is healthy
// and enabled (both default to true); Eureka serves status UP only (DOWN,
// STARTING, OUT_OF_SERVICE and UNKNOWN take no traffic); Envoy serves
// UNKNOWN (also unset) and HEALTHY, by name or number, and not UNHEALTHY,
// DRAINING, TIMEOUT or DEGRADED; a Kubernetes endpoint serves when
// conditions.ready is true or unset. Anything else is not serving. It also
// returns the weight the registry reads for the node in that state.
func refServing(f registry.Format, n *typedNode) (serving, weights.Raw) {
	if !n.hset {
		return serveYes, n.weight
	}
	h := n.health[0]
	str := func(want string) bool { return h.Kind == weights.KindString && h.Text == want }
	num := func(want string) bool { return h.Kind == weights.KindNumber && h.Text == want }
	switch f {
	case registry.FormatDiscovery:
		switch {
		case num("1"):
			return serveYes, n.weight
		case str("1") || num("1.0"):
			return serveEither, n.weight
		}
		return serveNo, n.weight
	case registry.FormatConsul:
		switch {
		case str("passing"):
			return serveYes, n.weight
		case str("warning"):
			return serveYes, weights.Int(1)
		}
		return serveNo, n.weight
	case registry.FormatNacos:
		return flagServing(h).and(flagServing(n.health[1])), n.weight
	case registry.FormatEureka:
		if str("UP") {
			return serveYes, n.weight
		}
		return serveNo, n.weight
	case registry.FormatEDS:
		if h.Kind == weights.KindAbsent || h.Kind == weights.KindNull || str("UNKNOWN") || str("HEALTHY") || num("0") || num("1") {
			return serveYes, n.weight
		}
		return serveNo, n.weight
	case registry.FormatEndpointSlice:
		return flagServing(h), n.weight
	}
	return serveYes, n.weight
}

// flagServing reads a bool health flag: true, false, unset (true); the
// strings "true" and "false" in any case are the one or the other at best
// (serveEither, serveNo); anything else does not serve.
func flagServing(h weights.Raw) serving {
	switch {
	case h.Kind == weights.KindAbsent || h.Kind == weights.KindNull:
		return serveYes
	case h.Kind == weights.KindBool && h.Bool:
		return serveYes
	case h.Kind == weights.KindString && strings.EqualFold(h.Text, "true"):
		return serveEither
	}
	return serveNo
}

// and combines two flags: yes and either is either, anything and no is no.
func (a serving) and(b serving) serving { return min(a, b) }

// checkServed: every node that the registry documents as serving, with a
// plain address sent once and a plain weight (a decimal integer of 1 to
// 10,000, a number where the registry sends numbers and a string where it
// sends strings; none at all for an EndpointSlice), is accepted at exactly
// that weight times the scale.
func checkServed(s typedSet, sent map[string][]int, nodes []weights.Node, scale int64) error {
	// checkRegistryResult checked that no id is served twice.
	served := make(map[string]uint32, len(nodes))
	for _, nd := range nodes {
		served[nd.ID] = nd.Weight
	}
	for j := range s.nodes {
		n := &s.nodes[j]
		sv, raw := refServing(s.format, n)
		if !n.plain || sv != serveYes || len(sent[n.id()]) != 1 {
			continue
		}
		var want int64
		switch s.format {
		case registry.FormatEndpointSlice:
			want = 1
		case registry.FormatDiscovery, registry.FormatKratos, registry.FormatEureka:
			if raw.Kind != weights.KindString || !plainDecimal(raw.Text) {
				continue
			}
			want, _ = strconv.ParseInt(raw.Text, 10, 64)
		default:
			if raw.Kind != weights.KindNumber || !plainDecimal(raw.Text) {
				continue
			}
			want, _ = strconv.ParseInt(raw.Text, 10, 64)
		}
		if want < 1 || want > 10000 {
			continue
		}
		want *= scale
		w, found := served[n.id()]
		if !found {
			return fmt.Errorf("node #%d %q serves (health %s) with weight %s, but was not accepted", j, n.id(), healthText(n), raw)
		}
		if int64(w) != want {
			return fmt.Errorf("node #%d %q serves with weight %s, accepted as %d, want %d", j, n.id(), raw, w, want)
		}
	}
	return nil
}

func healthText(n *typedNode) string {
	if !n.hset {
		return "as sent by default"
	}
	return n.health[0].String() + " " + n.health[1].String()
}

// typedWeightCheck checks the weight w a registry decoder accepted for n.
func typedWeightCheck(f registry.Format, n *typedNode, w uint32, o registry.Options, scale int64, strict, rounds bool) error {
	sv, raw := refServing(f, n)
	if raw.Kind == weights.KindString && isAllZeros(raw.Text) {
		return fmt.Errorf("the string %q was accepted (as %d)", raw.Text, w)
	}
	down := sv == serveNo
	if down {
		switch o.Health {
		case registry.HealthReject:
			return fmt.Errorf("a node the registry documents as not serving (%s) was accepted (as %d)", healthText(n), w)
		case registry.HealthDrain:
			if w != 0 {
				return fmt.Errorf("a node the registry documents as not serving (%s) was accepted with weight %d, not drained", healthText(n), w)
			}
		}
	}
	if sv == serveEither && w == 0 {
		down = true // drained: the decoder read the flag as false
	}
	if !strict || raw.Kind == weights.KindAbsent || raw.Kind == weights.KindNull {
		return nil
	}
	if raw.Kind != weights.KindNumber && raw.Kind != weights.KindString {
		return fmt.Errorf("weight %s accepted as %d", raw, w)
	}
	if rounds {
		return roundedWeightCheck(raw, w, scale, down)
	}
	v, exact := exactInteger(raw.Text, scale)
	switch {
	case !exact:
		return fmt.Errorf("weight %s is not a finite number that is an integer times %d, accepted as %d", raw, scale, w)
	case v.Sign() < 0:
		return fmt.Errorf("negative weight %s accepted as %d", raw, w)
	case w == 0 && (v.Sign() == 0 || down):
	case v.Cmp(big.NewInt(int64(w))) != 0:
		return fmt.Errorf("weight %s × %d accepted as %d", raw, scale, w)
	}
	return nil
}

// roundedWeightCheck checks a weight that a decoder may round once scaled:
// w is within 1 of raw × scale, which is finite and not negative (or 0 for
// a drained node), and a raw value of 0 is 0.
func roundedWeightCheck(raw weights.Raw, w uint32, scale int64, drained bool) error {
	if !plainNumber(raw.Text) {
		return fmt.Errorf("weight %s is not a finite number, accepted as %d", raw, w)
	}
	v, ok := new(big.Rat).SetString(raw.Text)
	switch {
	case !ok:
		return fmt.Errorf("weight %s is not a finite number, accepted as %d", raw, w)
	case v.Sign() < 0:
		return fmt.Errorf("negative weight %s accepted as %d", raw, w)
	case v.Sign() == 0 && w != 0:
		return fmt.Errorf("weight %s accepted as %d", raw, w)
	case w == 0 && drained:
		return nil
	}
	v.Mul(v, new(big.Rat).SetInt64(scale))
	d := new(big.Rat).Sub(v, new(big.Rat).SetInt64(int64(w)))
	if d.Abs(d).Cmp(big.NewRat(1, 1)) >= 0 {
		return fmt.Errorf("weight %s × %d accepted as %d", raw, scale, w)
	}
	return nil
}

// plainNumber reports whether s is JSON number syntax with an exponent of
// at most three digits (so that big.Rat stays small).
func plainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		exp = strings.TrimLeft(exp, "+-")
		if len(exp) == 0 || len(exp) > 3 || !digitsOnly(exp) {
			return false
		}
	}
	whole, frac, hasFrac := strings.Cut(mant, ".")
	if len(whole) == 0 || !digitsOnly(whole) || (len(whole) > 1 && whole[0] == '0') {
		return false
	}
	return !hasFrac || (len(frac) != 0 && digitsOnly(frac))
}
