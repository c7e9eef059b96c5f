package core

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/url"
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
// policy and registry settings (bit 7: a registry payload is decoded with
// its format detected, not named), then each node is two or more bytes: the
// address byte; the flags byte (bit 0: a health value follows, else the
// registry's serving value is sent; bit 1: the second service; bits 2-5:
// the port; bit 6: a mutation of the address follows; bit 7: the address in
// the registry's other spelling); then, as the
// flags say, the health bytes and the mutation bytes; then the weight (a
// kind byte and the kind's bytes). An input cut short reads as zeros.
//
// Values are composed, not listed: numbers from a sign, digits, a point,
// fraction digits and an exponent, or from a boundary (0, 1, the maximum
// weight, 2^16, 2^31, 2^32, with the registry's scale) and a small offset;
// strings from such a number wrapped in, and broken by, white space of
// every Unicode kind, quotes, NUL and long runs; ids from a valid address
// with one piece (a byte of the input, or a character of one of those
// kinds) put in at any place, the first and the last included; health
// fields from the whole documented vocabulary of the format's registry,
// other spellings, arbitrary strings and other JSON types. Every field a
// decoder reads to choose a node, its address, its health and its weight
// is generated (see typedHealth for what each decoder reads).

// maxTypedNodes bounds a typed node set.
const maxTypedNodes = 12

// typedNode is one node of a typed node set.
type typedNode struct {
	host   string
	port   int
	idText string      // map and array formats: the id as sent ("" means host:port)
	hp     string      // host:port, once the host is final
	plain  bool        // the address was generated valid and left unmutated
	weight weights.Raw // KindAbsent: not sent
	health [2]weights.Raw
	hset   bool // health holds generated values; false: the serving value is sent
	alt    bool // the other spelling of the address a registry also sends (see renderRegistry)
	inURL  bool // the address is sent as a URL (discovery, kratos)
	svc    int  // 0 or 1: which of two services it belongs to
}

// typedSet is a decoded typed input.
type typedSet struct {
	format registry.Format
	policy int  // index into weightPolicies
	opts   int  // index into registryOptions
	detect bool // a registry payload is decoded with registry.FormatAuto
	snap   bool // the format is a snapshot (map or array), not a registry's
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
// address (userinfo, paths, schemes, queries, empty, long); and, at the end,
// usable ones (IPv6, a DNS name). Control characters, white space and
// invalid UTF-8 come from mutations (typedPieces).
var hostileHosts = [...]string{
	"", "user@10.0.0.1", "10.0.0.1/admin", "http://10.0.0.1", "10.0.0.1?x=1", "10.0.0.1#f",
	strings.Repeat("h", 300), "[10.0.0.1]", "10.0.0.1:99",
	// usable
	"fd00::1", "backend-1.example", "10.0.0.200",
}

// unicodeSpaces are every white space character of Unicode (and the
// characters that look like it but are not: zero width space and joiner,
// the byte order mark).
var unicodeSpaces = [...]string{
	"\t", "\n", "\v", "\f", "\r", " ", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003",
	"\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f",
	"\u3000", "\u200b", "\u200d", "\ufeff", "\u180e",
}

// typedPieces are what a mutation puts into an address or a string: white
// space of every kind (above), then quotes, NUL and other control bytes,
// DEL and C1, invalid UTF-8, the characters that make an address something
// else, and long runs. A piece byte past the table is put in as itself.
var typedPieces = func() []string {
	p := append([]string(nil), unicodeSpaces[:]...)
	p = append(p, "\"", "'", "\\", "\x00", "\x01", "\x1b", "\x7f", "\u0080", "\u009f", "\xff", "\xc3", "\xed\xa0\x80",
		":", "@", "/", "?", "#", "[", "]", "%0a", "\r\n", strings.Repeat("a", 256), strings.Repeat(" ", 64), strings.Repeat("0", 40))
	return p
}()

// typedPorts are the ports a node can have; most are ordinary.
var typedPorts = [...]int{80, 80, 80, 80, 8080, 9000, 443, 0, 65535, 65536, -1, 1, 99999}

// Weight kinds of a typed node.
const (
	wAbsent     = iota
	wSmallInt   // 1 byte: 0..255
	wDecimalStr // 1 byte: the decimal string of 0..255 ("0" for 0)
	wBoundary   // 2 bytes: a boundary and an offset, as a number (boundaryNumber)
	wBuiltNum   // 3 bytes: sign, fraction and exponent; integer part; fraction digits
	wComposed   // 3+ bytes: a string built from parts (composedString)
	wBool       // 1 byte: low bit
	wNull       // no bytes
	wNested     // 2 bytes: array or object; an integer inside
	wFloatBits  // 8 bytes: IEEE-754 bits, little-endian
	wWideInt    // 4 bytes: uint32, big-endian
	wBytesStr   // 1 byte length (mod 8), then that many bytes
	wBoundaryStr
	numWeightKinds
)

// decodeTyped turns fuzzer bytes into a typed node set. It never fails.
func decodeTyped(data []byte) typedSet {
	hdr := take(&data, 2)
	fi := int(hdr[0]) % len(typedFormats)
	s := typedSet{
		format: typedFormats[fi],
		policy: int(hdr[1]) % len(weightPolicies),
		opts:   int(hdr[1]) / len(weightPolicies) % len(registryOptions),
		detect: hdr[1]&0x80 != 0,
	}
	tr := typedTraits[fi]
	inURL, oneService, slice, snapshot := tr.inURL, tr.oneService, tr.slice, tr.snapshot
	s.snap = snapshot
	// A node takes three bytes or more (address, flags, weight kind).
	s.nodes = make([]typedNode, 0, min(maxTypedNodes, (len(data)+2)/3))
	for len(data) > 0 && len(s.nodes) < maxTypedNodes {
		a, f := take(&data, 1)[0], take(&data, 1)[0]
		pi := int(f>>2&15) % len(typedPorts)
		if slice {
			pi = 0 // port 80, the slice's port, shared by its endpoints
		}
		n := typedNode{port: typedPorts[pi], svc: int(f>>1) & 1, alt: f&0x80 != 0, inURL: inURL}
		if oneService {
			n.svc = 0
		}
		switch {
		case a < 160:
			n.host, n.hp = plainHosts[n.svc][int(a)%24], plainHostPorts[n.svc][int(a)%24][pi]
			n.plain = n.port >= 1 && n.port <= 65535
		default:
			n.host = hostileHosts[int(a-160)%len(hostileHosts)]
		}
		if f&1 == 1 {
			n.health, n.hset = typedHealth(s.format, tr.twoHealth, &data), true
		}
		if f&0x40 != 0 {
			at, piece := int(take(&data, 1)[0]), pieceOf(take(&data, 1)[0])
			target := &n.host
			if snapshot {
				n.idText = n.id()
				target = &n.idText
			}
			i := at % (len(*target) + 1)
			if at >= 128 {
				i = len(*target) // the end, where a trim or a cut is most likely to forget
			}
			*target = (*target)[:i] + piece + (*target)[i:]
			n.plain, n.hp = false, ""
		}
		if len(n.hp) == 0 {
			n.hp = n.host + ":" + strconv.Itoa(n.port)
		}
		n.weight = typedWeight(&data)
		if slice {
			n.weight = weights.Raw{} // EndpointSlices carry no weight
		}
		s.nodes = append(s.nodes, n)
	}
	if tr.grouped {
		// These formats group instances by service: keep the nodes in the
		// order the payload will hold them.
		grouped := make([]typedNode, 0, len(s.nodes))
		for _, idx := range s.byService() {
			for _, i := range idx {
				grouped = append(grouped, s.nodes[i])
			}
		}
		s.nodes = grouped
	}
	return s
}

// plainHosts are the plain hosts of each service, 10.0.svc.0-23.
var plainHosts = func() (h [2][24]string) {
	for svc := range h {
		for i := range h[svc] {
			h[svc][i] = "10.0." + strconv.Itoa(svc) + "." + strconv.Itoa(i)
		}
	}
	return h
}()

// plainHostPorts are the plain hosts with each of typedPorts, host:port.
var plainHostPorts = func() (hp [2][24][len(typedPorts)]string) {
	for svc := range hp {
		for i := range hp[svc] {
			for k, port := range typedPorts {
				hp[svc][i][k] = plainHosts[svc][i] + ":" + strconv.Itoa(port)
			}
		}
	}
	return hp
}()

// formatTraits is what a payload format means for every node of a set.
type formatTraits struct {
	inURL      bool // the address is sent as a URL (discovery, kratos)
	oneService bool // the set is one service (the snapshots, Kratos, APISIX, Nacos)
	slice      bool // an EndpointSlice: one port for all, no weights
	snapshot   bool // the map and array snapshots
	grouped    bool // the payload groups instances by service
	twoHealth  bool // two health fields (Nacos' healthy and enabled)
}

// typedTraits are the traits of each of typedFormats, in its order: read
// by index, not by comparing the format's name with several (under a
// fuzzing build every comparison of two different strings calls a hook
// that copies both).
var typedTraits = func() []formatTraits {
	t := make([]formatTraits, len(typedFormats))
	for i, f := range typedFormats {
		switch f {
		case registry.FormatMap, formatArray:
			t[i].oneService, t[i].snapshot = true, true
		case registry.FormatKratos:
			t[i].inURL, t[i].oneService = true, true // the service name is not a filter here
		case registry.FormatAPISIX, registry.FormatNacos:
			t[i].oneService = true // Nacos: one service per response
		case registry.FormatDiscovery:
			t[i].inURL = true
		case registry.FormatEndpointSlice:
			t[i].slice = true
		}
		switch f {
		case registry.FormatDiscovery, registry.FormatEureka, registry.FormatEDS, registry.FormatEndpointSlice:
			t[i].grouped = true
		}
		t[i].twoHealth = f == registry.FormatNacos
	}
	return t
}()

// pieceOf maps a byte to a piece (typedPieces), or to itself past the table.
func pieceOf(b byte) string {
	if int(b) < len(typedPieces) {
		return typedPieces[b]
	}
	return string([]byte{b})
}

// typedWeight reads one weight: a kind byte and the kind's bytes.
func typedWeight(data *[]byte) weights.Raw {
	b := func() int { return int(take(data, 1)[0]) }
	switch b() % numWeightKinds {
	case wSmallInt:
		return weights.Int(int64(b()))
	case wDecimalStr:
		return weights.String(strconv.Itoa(b()))
	case wBoundary:
		return weights.Number(boundaryNumber(b(), b()))
	case wBoundaryStr:
		return weights.String(boundaryNumber(b(), b()))
	case wBuiltNum:
		return weights.Number(builtNumber(b(), b(), b()))
	case wComposed:
		return weights.String(composedString(data))
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

// boundaries are the values around which weights break: zero and one, the
// default maximum weight and the maximums of the policies tried, the same
// divided by the Nacos scale, 16 and 32 bits, and the largest integer a
// float64 holds exactly.
var boundaries = [...]uint64{0, 1, weights.DefaultMaxWeight, weights.DefaultMaxWeight / 100, 100, 1, 10000,
	65535, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1 << 53, 10}

// boundaryNumber spells a boundary plus an offset: the first byte picks the
// boundary (low 4 bits) and the spelling (high bits: plain, with ".0",
// with a fraction of hundredths, "e0", leading zero, a minus sign, with a
// '+' exponent, as hundredths "x.yz" of the value); the second is the
// offset: one of 0, +1, -1 half of the time, else -8 to +7.
func boundaryNumber(which, off int) string {
	d := int64(off&15) - 8
	if off&16 == 0 {
		d = [4]int64{0, 1, -1, 1}[off&3]
	}
	v := int64(boundaries[which&15%len(boundaries)]) + d
	neg := v < 0
	if neg {
		v = -v
	}
	t := strconv.FormatInt(v, 10)
	switch which >> 4 & 7 {
	case 1:
		t += ".0"
	case 2:
		t += "." + strconv.Itoa(10+off%90)
	case 3:
		t += "e0"
	case 4:
		t = "0" + t
	case 5:
		neg = !neg
	case 6:
		t += "E+0"
	case 7:
		for len(t) < 3 {
			t = "0" + t
		}
		t = t[:len(t)-2] + "." + t[len(t)-2:]
	}
	if neg {
		t = "-" + t
	}
	return t
}

// builtNumber spells a number from three bytes: the first holds the sign
// (bit 0), the number of fraction digits (bits 1-2) and the exponent (bits
// 3-7: none, or -8..+7, or one of the non-finite spellings); the second is
// the integer part, the third the fraction digits.
func builtNumber(shape, whole, frac int) string {
	switch shape >> 3 {
	case 31:
		return [...]string{"NaN", "Infinity", "-Infinity", "1E400", "-1e-400", "18446744073709551616", "1e-7", "0e99"}[frac&7]
	}
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

// composedString builds a string weight from parts: a shape byte (bits
// 0-1: what comes before the core, none, one piece, two, a long run; bits
// 2-3: the same after it; bit 4: a piece inside the core; bit 5: the core
// in quotes; bits 6-7: the core, a zero of some spelling, a boundary
// number, a built number or input bytes), the core's bytes, then a byte
// per piece.
func composedString(data *[]byte) string {
	b := func() int { return int(take(data, 1)[0]) }
	shape := b()
	var core string
	switch shape >> 6 {
	case 0:
		core = [...]string{"0", "00", "-0", "0.0", "+0", "0x0", "0e5", "000"}[b()&7]
	case 1:
		core = boundaryNumber(b(), b())
	case 2:
		core = builtNumber(b(), b(), b())
	default:
		core = string(take(data, b()%6))
	}
	if shape&16 != 0 && len(core) > 0 {
		i := b() % (len(core) + 1)
		core = core[:i] + pieceOf(byte(b())) + core[i:]
	}
	if shape&32 != 0 {
		core = "\"" + core + "\""
	}
	wrap := func(n int) string {
		switch n {
		case 0:
			return ""
		case 3:
			return strings.Repeat(pieceOf(byte(b()%len(unicodeSpaces))), 33)
		}
		w := ""
		for range n {
			w += pieceOf(byte(b()))
		}
		return w
	}
	return wrap(shape&3) + core + wrap(shape>>2&3)
}

// typedHealth reads the health fields of one node: what the format's
// decoder reads to decide whether an instance serves. One byte picks a
// value of the format's vocabulary (typedVocab); past its end, an
// arbitrary string (a length byte and bytes) or a number. With two set
// (Nacos, which reads healthy and enabled), two fields: two bytes.
//
//	discovery      status (1 serves, 2 registered but not serving)
//	consul         Checks[].Status (passing, warning, critical, maintenance)
//	nacos          healthy, enabled
//	eureka         status (UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN)
//	eds            health_status (UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED, or 0-5)
//	endpointslice  conditions.ready
//
// The map and array snapshots, Kratos and APISIX have no health field.
func typedHealth(f registry.Format, two bool, data *[]byte) [2]weights.Raw {
	one := func() weights.Raw {
		vocab := typedVocab[f]
		k := int(take(data, 1)[0])
		switch {
		case len(vocab) == 0:
			return weights.Raw{}
		case k < len(vocab)*6: // most of the time, a documented value or a near miss
			return vocab[k%len(vocab)]
		case k&1 == 0:
			return weights.String(string(take(data, int(take(data, 1)[0])%8)))
		}
		return weights.Int(int64(k % 7))
	}
	h := [2]weights.Raw{one()}
	if two {
		h[1] = one()
	}
	return h
}

var (
	absent    = weights.Raw{}
	flagVocab = []weights.Raw{weights.Bool(true), weights.Bool(false), weights.String("true"), weights.String("false"),
		weights.String("TRUE"), weights.String("False"), weights.Int(1), weights.Int(0), weights.Null(), absent, weights.String("")}
)

// typedVocab is, per format, the values its health fields take: the
// registry's documented ones first, then near misses and other types.
var typedVocab = map[registry.Format][]weights.Raw{
	registry.FormatDiscovery: {weights.Int(1), weights.Int(2), weights.Int(0), weights.Int(3), weights.String("1"),
		weights.Number("1.0"), weights.Bool(true), weights.Null(), absent},
	registry.FormatConsul: {weights.String("passing"), weights.String("warning"), weights.String("critical"),
		weights.String("maintenance"), weights.String("Passing"), weights.String(""), weights.String("passing "),
		weights.Int(0), weights.Null(), absent},
	registry.FormatNacos: flagVocab,
	registry.FormatEureka: {weights.String("UP"), weights.String("DOWN"), weights.String("STARTING"),
		weights.String("OUT_OF_SERVICE"), weights.String("UNKNOWN"), weights.String("up"), weights.String("UP "),
		weights.String(""), weights.Int(1), weights.Bool(true), weights.Null(), absent},
	registry.FormatEDS: {weights.String("UNKNOWN"), weights.String("HEALTHY"), weights.String("UNHEALTHY"),
		weights.String("DRAINING"), weights.String("TIMEOUT"), weights.String("DEGRADED"), weights.Int(0), weights.Int(1),
		weights.Int(2), weights.Int(3), weights.Int(4), weights.Int(5), weights.Int(6), weights.String("healthy"),
		weights.String("1"), weights.Null(), absent},
	registry.FormatEndpointSlice: flagVocab,
}

// id is the node's id as the map and array formats send it.
func (n *typedNode) id() string {
	switch {
	case len(n.idText) != 0:
		return n.idText
	case len(n.hp) != 0:
		return n.hp
	}
	return n.host + ":" + strconv.Itoa(n.port)
}

// ids are the ids a registry decoder may give the node: host:port, with
// brackets around an IPv6 host.
func (n *typedNode) ids() [3]string {
	ids := [3]string{n.id(), net.JoinHostPort(n.host, strconv.Itoa(n.port))}
	if n.inURL {
		// A host holding '?' ends the URL's authority early: the address
		// is what a URL parser reads, when the URL is scheme://host:port
		// with at most a query (userinfo, a path or a fragment make it
		// no node's address).
		if u, err := url.Parse(n.url()); err == nil && u.User == nil && (len(u.Path) == 0 || u.Path == "/") && len(u.Fragment) == 0 {
			ids[2] = u.Host
		}
	}
	return ids
}

// url is the node's address as the URL formats send it.
func (n *typedNode) url() string {
	u := "grpc://" + n.host + ":" + strconv.Itoa(n.port)
	if n.alt {
		u += "?isSecure=false"
	}
	return u
}

// entries are the typed nodes as weights.Entry values (map semantics).
func (s typedSet) entries() []weights.Entry {
	es := make([]weights.Entry, len(s.nodes))
	for i := range s.nodes {
		n := &s.nodes[i]
		es[i] = weights.Entry{ID: n.id(), Weight: n.weight}
	}
	return es
}

// services reports whether the set spans both services.
func (s typedSet) twoServices() bool {
	for k := range s.nodes {
		n := &s.nodes[k]
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
	// The standard library copies the runs of bytes sent as they are
	// (invalid UTF-8 goes through as sent) and escapes the rest, reading
	// each byte in a table: a comparison per byte here would call the
	// fuzzing build's tracing hook.
	escaper.WriteString(payloadWriter{&p}, s)
	return append(p, '"')
}

// escaper escapes what a JSON string cannot hold as it is: the quote, the
// backslash, the control characters and DEL.
var escaper = func() *strings.Replacer {
	pairs := []string{`"`, `\"`, `\`, `\\`, "\x7f", `\u007f`}
	for c := range 0x20 {
		pairs = append(pairs, string(rune(c)), fmt.Sprintf(`\u%04x`, c))
	}
	return strings.NewReplacer(pairs...)
}()

// payloadWriter appends what is written to a payload.
type payloadWriter struct{ p *payload }

func (w payloadWriter) Write(b []byte) (int, error) {
	*w.p = append(*w.p, b...)
	return len(b), nil
}

func (w payloadWriter) WriteString(s string) (int, error) {
	*w.p = append(*w.p, s...)
	return len(s), nil
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
		for k := range s.nodes {
			n := &s.nodes[k]
			var ok bool
			if p, ok = p.weightMember(first, n.id(), n.weight); ok {
				first = false
			}
		}
		return append(p, '}')
	case formatArray:
		p = append(p, '[')
		for i := range s.nodes {
			n := &s.nodes[i]
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
	for i := range s.nodes {
		n := &s.nodes[i]
		if where[n.svc] < 0 {
			where[n.svc] = len(groups)
			groups = append(groups, nil)
		}
		groups[where[n.svc]] = append(groups[where[n.svc]], i)
	}
	return groups
}

// healthMember writes ,"key":value for health field k of n, the serving
// value def when none was generated, nothing when the generated value is
// absent.
func (p payload) healthMember(n *typedNode, k int, key string, def weights.Raw) payload {
	v := def
	if n.hset {
		v = n.health[k]
	}
	p, _ = p.weightMember(false, key, v)
	return p
}

func (s typedSet) renderRegistry(p payload) []byte {
	port := func(n *typedNode) string { return strconv.Itoa(n.port) }
	url := (*typedNode).url
	// Where the registry also sends a port as a string (Eureka's "$",
	// proto3 JSON): the other spelling.
	portValue := func(n *typedNode) string {
		if n.alt {
			return `"` + port(n) + `"`
		}
		return port(n)
	}
	switch s.format {
	case registry.FormatDiscovery:
		p = append(p, `{"code":0,"data":{`...)
		for g, idx := range s.byService() {
			p = append(p.member(g == 0, services[s.nodes[idx[0]].svc]), `{"instances":{"sh001":[`...)
			for k, i := range idx {
				n := &s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(p, `{"hostname":"h`...)
				p = strconv.AppendInt(p, int64(i), 10)
				p = append(append(p, `","addrs":[`...).str(url(n)), ']')
				p = p.healthMember(n, 0, "status", weights.Int(1))
				p = append(p, `,"metadata":{`...)
				p, _ = p.weightMember(true, "weight", n.weight)
				p = append(p, "}}"...)
			}
			p = append(p, "]}}"...)
		}
		return append(p, "}}"...)
	case registry.FormatKratos:
		p = append(p, '[')
		for i := range s.nodes {
			n := &s.nodes[i]
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
		for i := range s.nodes {
			n := &s.nodes[i]
			if i > 0 {
				p = append(p, ',')
			}
			p = append(append(p, `{"Node":{"Node":"n1","Address":`...).str(n.host), `},"Service":{"ID":"s`...)
			p = strconv.AppendInt(p, int64(i), 10)
			p = append(append(p, `","Service":`...).str(services[n.svc]), `,"Address":`...)
			if n.alt {
				p = p.str("") // the node's address is the service's
			} else {
				p = p.str(n.host)
			}
			p = append(append(p, `,"Port":`...), port(n)...)
			if n.weight.Kind != weights.KindAbsent {
				p = append(append(p, `,"Weights":{"Passing":`...).raw(n.weight), `,"Warning":1}`...)
			}
			p = append(p, `},"Checks":[{"CheckID":"serfHealth"`...)
			p = p.healthMember(n, 0, "Status", weights.String("passing"))
			p = append(p, `}]}`...)
		}
		return append(p, ']')
	case registry.FormatNacos:
		p = append(p, `{"name":"DEFAULT_GROUP@@api","hosts":[`...)
		for i := range s.nodes {
			n := &s.nodes[i]
			if i > 0 {
				p = append(p, ',')
			}
			p = append(append(p, `{"ip":`...).str(n.host), `,"port":`...)
			p = append(p, port(n)...)
			p, _ = p.weightMember(false, "weight", n.weight)
			p = p.healthMember(n, 0, "healthy", weights.Bool(true))
			p = p.healthMember(n, 1, "enabled", weights.Bool(true))
			p = append(p, '}')
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
				n := &s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"app":`...).str(name), `,"ipAddr":`...)
				p = p.str(n.host).healthMember(n, 0, "status", weights.String("UP"))
				p = append(p, `,"port":{"$":`...)
				p = append(append(p, portValue(n)...), `,"@enabled":"true"},"metadata":{`...)
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
				n := &s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"endpoint":{"address":{"socket_address":{"address":`...).str(n.host), `,"port_value":`...)
				p = append(append(p, portValue(n)...), `}}}`...)
				p = p.healthMember(n, 0, "health_status", weights.String("HEALTHY"))
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
		for i := range s.nodes {
			n := &s.nodes[i]
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
				n := &s.nodes[i]
				if k > 0 {
					p = append(p, ',')
				}
				p = append(append(p, `{"addresses":[`...).str(n.host), `],"conditions":{"serving":true`...)
				p = p.healthMember(n, 0, "ready", weights.Bool(true))
				p = append(p, "}}"...)
			}
			p = append(p, `],"ports":[{"name":"http","port":80}]}`...)
		}
		return append(p, "]}"...)
	}
	panic("fuzz: no renderer for format " + string(s.format))
}

// What each registry decoder reads, and what the generator sends of it
// (everything a decoder reads to choose a node, its address, its health or
// its weight is generated; the rest is fixed):
//
//	discovery      data.<appid> (service), instances.<zone>[]: addrs (URLs: host, port,
//	               ?query with the other spelling), status, metadata.weight
//	kratos         name (service), endpoints (URLs, as discovery), metadata.weight
//	consul         Service.Service, Service.Address (empty with the other spelling: then
//	               Node.Address), Service.Port, Service.Weights.Passing (Warning fixed
//	               at 1), Checks[].Status
//	nacos          hosts[]: ip, port, weight, healthy, enabled
//	eureka         application name, instance: ipAddr, port.$ (a string with the other
//	               spelling; @enabled fixed), status, metadata.weight
//	eds            cluster_name, lb_endpoints[]: socket_address address and port_value
//	               (a string with the other spelling), health_status,
//	               load_balancing_weight
//	apisix         nodes[]: host, port, weight
//	endpointslice  service-name label, endpoints[].addresses, conditions.ready
//	               (serving fixed at true), ports (fixed at 80)
//
// Not generated: Consul's Warning weight and Meta, Eureka's securePort,
// hostName and a disabled port, EDS priorities and locality weights,
// APISIX priorities and the object form, Nacos' reachProtectionThreshold,
// EndpointSlice's terminating and serving conditions, several URLs per
// instance; the hostile registry seeds in seeds/weights cover them for
// Weights.
