package core

import (
	"encoding/binary"
	"math"
	"net"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// A typed node set is what the WeightsTyped target makes of the fuzzer's
// bytes before it renders them as a payload: the engine mutates choices
// (which format, which policy, which host, which kind of weight) instead of
// JSON syntax, so every input is a well-formed payload full of the values
// that matter, and none of them has to be shown to the engine first.
//
// Layout: byte 0 picks the payload format (typedFormats), byte 1 the
// policy and registry settings, then each node is three or more bytes:
// address, flags (not serving, second service, port), weight kind and the
// weight's own bytes. An input cut short reads as zeros.

// maxTypedNodes bounds a typed node set.
const maxTypedNodes = 12

// typedNode is one node of a typed node set.
type typedNode struct {
	host   string
	port   int
	weight weights.Raw // KindAbsent: not sent
	down   bool        // the registry marks the instance as not serving
	svc    int         // 0 or 1: which of two services it belongs to
}

// typedSet is a decoded typed input.
type typedSet struct {
	format registry.Format
	policy int // index into weightPolicies
	opts   int // index into registryOptions
	nodes  []typedNode
}

// typedFormats are the payload formats a typed node set is rendered in.
var typedFormats = []registry.Format{
	registry.FormatMap, formatArray, registry.FormatDiscovery, registry.FormatKratos, registry.FormatConsul,
	registry.FormatNacos, registry.FormatEureka, registry.FormatEDS, registry.FormatAPISIX, registry.FormatEndpointSlice,
}

// formatArray is the array form of the map format,
// [{"id": ..., "weight": ...}], which registry.FormatMap also reads.
const formatArray registry.Format = "array"

// services are the two service names a node set can span.
var services = [2]string{"api", "web"}

// hostileHosts are host spellings a registry can send that are not a plain
// address: control characters, white space, userinfo, paths, schemes,
// queries, invalid UTF-8, empty; and, at the end, three usable ones (IPv6,
// a DNS name, a plain address).
var hostileHosts = [...]string{
	"10.0.0.1\r\nX-Injected: 1", "10.0.0.1\n", "10.0.0.1\r", " 10.0.0.1", "10.0.0.1 ", "", "user@10.0.0.1",
	"10.0.0.1/admin", "http://10.0.0.1", "10.0.0.1\x00", "10.0.0.1\x7f", "10.0.0.1\u0085", "\xff10.0.0.1",
	"10.0.0.1?x=1", "10.0.0.1#f", "10.0.0.1\t", strings.Repeat("h", 300),
	// usable
	"fd00::1", "backend-1.example", "10.0.0.200",
}

// typedPorts are the ports a node can have; most are ordinary.
var typedPorts = [...]int{80, 80, 80, 80, 8080, 9000, 443, 0, 65535, 65536, -1}

// Weight kinds of a typed node.
const (
	wAbsent     = iota
	wSmallInt   // 1 byte: 0..255
	wDecimalStr // 1 byte: the decimal string of 0..255 ("0" for 0)
	wSpecialNum // 1 byte: index into typedNumbers
	wBuiltNum   // 3 bytes: sign, fraction and exponent; integer part; fraction digits
	wSpecialStr // 1 byte: index into typedStrings
	wBool       // 1 byte: low bit
	wNull       // no bytes
	wNested     // 2 bytes: array or object; an integer inside
	wFloatBits  // 8 bytes: IEEE-754 bits, little-endian
	wWideInt    // 4 bytes: uint32, big-endian
	wBytesStr   // 1 byte length (mod 8), then that many bytes
	numWeightKinds
)

// typedNumbers are number texts JSON, lua-cjson or a registry can send.
var typedNumbers = [...]string{
	"NaN", "Infinity", "-Infinity", "-0", "0.0", "0e5", "1e2", "1.5", "10.0", "1E400", "-1e-400",
	"1e-7", "100.25", "-5", "-1", "4294967296", "1000001", "0.01", "1.0000000000000000001", "5e-1",
	"2.50", "1e6", "18446744073709551616", "-0.0", "1000000", "0.5",
}

// typedStrings are weight strings registries send, by design or by accident.
var typedStrings = [...]string{
	"", "ten", " 10", "10 ", "0x10", "1e1", "NaN", "nan", "inf", "Infinity", "-0", "0.0", "-1", "-5",
	"10.5", "00", "000", "1e400", "+5", "\t7\n", "true", "null", "010", "1,000", "\u0663", "\uff11\uff10",
	"4294967296", "1.0", "0.5",
}

// decodeTyped turns fuzzer bytes into a typed node set. It never fails.
func decodeTyped(data []byte) typedSet {
	hdr := take(&data, 2)
	s := typedSet{
		format: typedFormats[int(hdr[0])%len(typedFormats)],
		policy: int(hdr[1]) % len(weightPolicies),
		opts:   int(hdr[1]) / len(weightPolicies) % len(registryOptions),
	}
	for len(data) > 0 && len(s.nodes) < maxTypedNodes {
		a, f := take(&data, 1)[0], take(&data, 1)[0]
		n := typedNode{port: typedPorts[int(f>>2)%len(typedPorts)], down: f&1 == 1, svc: int(f>>1) & 1}
		switch s.format {
		case registry.FormatMap, formatArray, registry.FormatAPISIX:
			n.down, n.svc = false, 0 // no health flags, one service
		case registry.FormatNacos:
			n.svc = 0 // one service per response
		case registry.FormatKratos:
			n.down = false // no health flags
		case registry.FormatEndpointSlice:
			n.port = 80 // the slice's port, shared by its endpoints
		}
		if a < 160 {
			n.host = "10.0." + strconv.Itoa(n.svc) + "." + strconv.Itoa(int(a)%24)
		} else {
			n.host = hostileHosts[int(a-160)%len(hostileHosts)]
		}
		n.weight = typedWeight(&data)
		if s.format == registry.FormatEndpointSlice {
			n.weight = weights.Raw{} // EndpointSlices carry no weight
		}
		s.nodes = append(s.nodes, n)
	}
	switch s.format {
	case registry.FormatDiscovery, registry.FormatEureka, registry.FormatEDS, registry.FormatEndpointSlice:
		// These formats group instances by service: keep the nodes in the
		// order the payload will hold them.
		var grouped []typedNode
		for _, idx := range s.byService() {
			for _, i := range idx {
				grouped = append(grouped, s.nodes[i])
			}
		}
		s.nodes = grouped
	}
	return s
}

// typedWeight reads one weight: a kind byte and the kind's bytes.
func typedWeight(data *[]byte) weights.Raw {
	b := func() int { return int(take(data, 1)[0]) }
	switch b() % numWeightKinds {
	case wSmallInt:
		return weights.Int(int64(b()))
	case wDecimalStr:
		return weights.String(strconv.Itoa(b()))
	case wSpecialNum:
		return weights.Number(typedNumbers[b()%len(typedNumbers)])
	case wBuiltNum:
		return weights.Number(builtNumber(b(), b(), b()))
	case wSpecialStr:
		return weights.String(typedStrings[b()%len(typedStrings)])
	case wBool:
		return weights.Bool(b()&1 == 1)
	case wNull:
		return weights.Null()
	case wNested:
		if k, v := b(), b(); k&1 == 0 {
			return weights.Array(weights.Int(int64(v)))
		} else {
			return weights.Object(weights.Member{Key: "weight", Value: weights.Int(int64(v))})
		}
	case wFloatBits:
		return weights.Float(math.Float64frombits(binary.LittleEndian.Uint64(take(data, 8))))
	case wWideInt:
		return weights.Int(int64(binary.BigEndian.Uint32(take(data, 4))))
	case wBytesStr:
		return weights.String(string(take(data, b()%8)))
	}
	return weights.Raw{}
}

// builtNumber spells a number from three bytes: the first holds the sign
// (bit 0), the number of fraction digits (bits 1-2) and the exponent (bits
// 3-7: none, or -8..+7); the second is the integer part, the third the
// fraction digits.
func builtNumber(shape, whole, frac int) string {
	var b strings.Builder
	if shape&1 == 1 {
		b.WriteByte('-')
	}
	b.WriteString(strconv.Itoa(whole))
	if k := shape >> 1 & 3; k > 0 {
		f := strconv.Itoa(1000 + frac%1000)[1:] // three digits
		b.WriteByte('.')
		b.WriteString(f[:k])
	}
	if e := shape >> 3; e != 0 {
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(e%16 - 8))
	}
	return b.String()
}

// id is the node's id as the map and array formats send it.
func (n typedNode) id() string { return n.host + ":" + strconv.Itoa(n.port) }

// ids are the ids a registry decoder may give the node: host:port, with
// brackets around an IPv6 host.
func (n typedNode) ids() [2]string {
	return [2]string{n.id(), net.JoinHostPort(n.host, strconv.Itoa(n.port))}
}

// entries are the typed nodes as weights.Entry values (map semantics).
func (s typedSet) entries() []weights.Entry {
	es := make([]weights.Entry, len(s.nodes))
	for i, n := range s.nodes {
		es[i] = weights.Entry{ID: n.id(), Weight: n.weight}
	}
	return es
}

// services reports whether the set spans both services.
func (s typedSet) twoServices() bool {
	for _, n := range s.nodes {
		if n.svc != s.nodes[0].svc {
			return true
		}
	}
	return false
}

// payload is a JSON text under construction.
type payload []byte

func (p payload) str(s string) payload {
	p = append(p, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			p = append(p, '\\', c)
		case c < 0x20 || c == 0x7f:
			p = append(p, `\u00`...)
			p = append(p, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			p = append(p, c) // invalid UTF-8 goes through as sent
		}
	}
	return append(p, '"')
}

// raw writes a weight as JSON; NaN and ±Inf as the bare tokens lua-cjson
// and some registries write, which weights.ParseJSON reads.
func (p payload) raw(r weights.Raw) payload {
	switch r.Kind {
	case weights.KindNull:
		return append(p, "null"...)
	case weights.KindBool:
		return strconv.AppendBool(p, r.Bool)
	case weights.KindNumber:
		switch r.Text {
		case "Inf", "+Inf":
			return append(p, "Infinity"...)
		case "-Inf":
			return append(p, "-Infinity"...)
		}
		return append(p, r.Text...)
	case weights.KindString:
		return p.str(r.Text)
	case weights.KindArray:
		p = append(p, '[')
		for i, it := range r.Items {
			if i > 0 {
				p = append(p, ',')
			}
			p = p.raw(it)
		}
		return append(p, ']')
	case weights.KindObject:
		p = append(p, '{')
		for i, m := range r.Members {
			if i > 0 {
				p = append(p, ',')
			}
			p = p.str(m.Key)
			p = append(p, ':')
			p = p.raw(m.Value)
		}
		return append(p, '}')
	}
	return append(p, "null"...)
}

// member writes ,"key":value (without the comma for the first member).
func (p payload) member(first bool, key string) payload {
	if !first {
		p = append(p, ',')
	}
	return append(p.str(key), ':')
}

// weightMember writes "key":weight, or nothing for an absent weight; it
// reports whether it wrote.
func (p payload) weightMember(first bool, key string, w weights.Raw) (payload, bool) {
	if w.Kind == weights.KindAbsent {
		return p, false
	}
	return p.member(first, key).raw(w), true
}

// render writes the node set in its format.
func (s typedSet) render() []byte {
	p := make(payload, 0, 64+64*len(s.nodes))
	switch s.format {
	case registry.FormatMap:
		p = append(p, '{')
		first := true
		for _, n := range s.nodes {
			var ok bool
			if p, ok = p.weightMember(first, n.id(), n.weight); ok {
				first = false
			}
		}
		return append(p, '}')
	case formatArray:
		p = append(p, '[')
		for i, n := range s.nodes {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(p, '{')
			p = p.member(true, "id").str(n.id())
			p, _ = p.weightMember(false, "weight", n.weight)
			p = append(p, '}')
		}
		return append(p, ']')
	}
	return s.renderRegistry(p)
}

// byService groups node indexes by service, in order of first appearance.
func (s typedSet) byService() [][]int {
	var groups [][]int
	where := [2]int{-1, -1}
	for i, n := range s.nodes {
		if where[n.svc] < 0 {
			where[n.svc] = len(groups)
			groups = append(groups, nil)
		}
		groups[where[n.svc]] = append(groups[where[n.svc]], i)
	}
	return groups
}

func (s typedSet) renderRegistry(p payload) []byte {
	port := func(n typedNode) string { return strconv.Itoa(n.port) }
	url := func(n typedNode) string { return "grpc://" + n.host + ":" + port(n) }
	switch s.format {
	case registry.FormatDiscovery:
		p = append(p, `{"code":0,"data":{`...)
		for g, idx := range s.byService() {
			p = append(p.member(g == 0, services[s.nodes[idx[0]].svc]), `{"instances":{"sh001":[`...)
			for k, i := range idx {
				n := s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(p, `{"hostname":"h`...)
				p = strconv.AppendInt(p, int64(i), 10)
				p = append(append(p, `","addrs":[`...).str(url(n)), `],"status":`...)
				p = append(p, "12"[b2i(n.down)])
				p = append(p, `,"metadata":{`...)
				p, _ = p.weightMember(true, "weight", n.weight)
				p = append(p, "}}"...)
			}
			p = append(p, "]}}"...)
		}
		return append(p, "}}"...)
	case registry.FormatKratos:
		p = append(p, '[')
		for i, n := range s.nodes {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(p, `{"id":"i`...)
			p = strconv.AppendInt(p, int64(i), 10)
			p = append(append(p, `","name":`...).str(services[n.svc]), `,"version":"v1","metadata":{`...)
			p, _ = p.weightMember(true, "weight", n.weight)
			p = append(append(p, `},"endpoints":[`...).str(url(n)), "]}"...)
		}
		return append(p, ']')
	case registry.FormatConsul:
		p = append(p, '[')
		for i, n := range s.nodes {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(append(p, `{"Node":{"Node":"n1","Address":`...).str(n.host), `},"Service":{"ID":"s`...)
			p = strconv.AppendInt(p, int64(i), 10)
			p = append(append(p, `","Service":`...).str(services[n.svc]), `,"Address":`...)
			p = append(append(p.str(n.host), `,"Port":`...), port(n)...)
			if n.weight.Kind != weights.KindAbsent {
				p = append(append(p, `,"Weights":{"Passing":`...).raw(n.weight), `,"Warning":1}`...)
			}
			p = append(p, `},"Checks":[{"CheckID":"serfHealth","Status":"`...)
			p = append(p, [2]string{"passing", "critical"}[b2i(n.down)]...)
			p = append(p, `"}]}`...)
		}
		return append(p, ']')
	case registry.FormatNacos:
		p = append(p, `{"name":"DEFAULT_GROUP@@api","hosts":[`...)
		for i, n := range s.nodes {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(append(p, `{"ip":`...).str(n.host), `,"port":`...)
			p = append(p, port(n)...)
			p, _ = p.weightMember(false, "weight", n.weight)
			p = append(p, `,"healthy":`...)
			p = strconv.AppendBool(p, !n.down)
			p = append(p, `,"enabled":true}`...)
		}
		return append(p, "]}"...)
	case registry.FormatEureka:
		p = append(p, `{"applications":{"application":[`...)
		for g, idx := range s.byService() {
			if g > 0 {
				p = append(p, ',')
			}
			name := strings.ToUpper(services[s.nodes[idx[0]].svc])
			p = append(append(p, `{"name":`...).str(name), `,"instance":[`...)
			for k, i := range idx {
				n := s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"app":`...).str(name), `,"ipAddr":`...)
				p = append(p.str(n.host), `,"status":`...)
				p = append(p.str([2]string{"UP", "DOWN"}[b2i(n.down)]), `,"port":{"$":`...)
				p = append(append(p, port(n)...), `,"@enabled":"true"},"metadata":{`...)
				p, _ = p.weightMember(true, "weight", n.weight)
				p = append(p, "}}"...)
			}
			p = append(p, "]}"...)
		}
		return append(p, "]}}"...)
	case registry.FormatEDS:
		groups := s.byService()
		if len(groups) > 1 {
			p = append(p, `{"resources":[`...)
		}
		for g, idx := range groups {
			if g > 0 {
				p = append(p, ',')
			}
			p = append(p, '{')
			if len(groups) > 1 {
				p = append(p, `"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",`...)
			}
			p = append(append(p, `"cluster_name":`...).str(services[s.nodes[idx[0]].svc]), `,"endpoints":[{"lb_endpoints":[`...)
			for k, i := range idx {
				n := s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"endpoint":{"address":{"socket_address":{"address":`...).str(n.host), `,"port_value":`...)
				p = append(append(p, port(n)...), `}}},"health_status":`...)
				p = p.str([2]string{"HEALTHY", "UNHEALTHY"}[b2i(n.down)])
				p, _ = p.weightMember(false, "load_balancing_weight", n.weight)
				p = append(p, '}')
			}
			p = append(p, "]}]}"...)
		}
		if len(groups) > 1 {
			p = append(p, "]}"...)
		}
		if len(groups) == 0 {
			p = append(p, `{"cluster_name":"api","endpoints":[]}`...)
		}
		return p
	case registry.FormatAPISIX:
		p = append(p, `{"type":"roundrobin","nodes":[`...)
		for i, n := range s.nodes {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(append(p, `{"host":`...).str(n.host), `,"port":`...)
			p = append(p, port(n)...)
			p, _ = p.weightMember(false, "weight", n.weight)
			p = append(p, '}')
		}
		return append(p, "]}"...)
	case registry.FormatEndpointSlice:
		p = append(p, `{"kind":"EndpointSliceList","items":[`...)
		for g, idx := range s.byService() {
			if g > 0 {
				p = append(p, ',')
			}
			p = append(p, `{"kind":"EndpointSlice","metadata":{"labels":{"kubernetes.io/service-name":`...)
			p = append(p.str(services[s.nodes[idx[0]].svc]), `}},"addressType":"IPv4","endpoints":[`...)
			for k, i := range idx {
				n := s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"addresses":[`...).str(n.host), `],"conditions":{"ready":`...)
				p = strconv.AppendBool(p, !n.down)
				p = append(p, "}}"...)
			}
			p = append(p, `],"ports":[{"name":"http","port":80}]}`...)
		}
		return append(p, "]}"...)
	}
	panic("fuzz: no renderer for format " + string(s.format))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
