package weights

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IDMode says what a node id must look like, beyond the rules every id
// follows (see Policy.IDs).
type IDMode uint8

// Id modes.
const (
	// IDsFree accepts any name: a library user may balance something other
	// than network addresses. Default.
	IDsFree IDMode = iota
	// IDsAddress requires "host:port": a port 1-65535 and a host that is an
	// IP literal (IPv6 in brackets) or a DNS name. A scheme, userinfo, a
	// path, a query or a fragment is a reject (ReasonNotAddress) that names
	// what was found. A host that ends in a number must be an IPv4 literal
	// in dotted decimal, as net.ParseIP reads one (0x7f.0.0.1, 0177.0.0.1
	// and 127.1 are rejected: resolvers disagree on them). An internationalized
	// name is accepted in its ASCII (xn--) form only.
	//
	// An accepted id is the address in canonical form, the form the
	// snapshot holds and duplicates are found by: a DNS name in lower case
	// without a final dot, IPv6 as RFC 5952 writes it, an IPv4-mapped IPv6
	// address as the IPv4 address ("[::FFFF:10.0.0.1]:80" is
	// "10.0.0.1:80"). A zone ("[fe80::1%eth0]:80") is kept as sent; a zone
	// written "%25eth0" (a URI's spelling, RFC 6874) is rejected, since
	// "%25eth0" reads as the zone "25eth0" in host:port text and as
	// "eth0" in a URL. A host that is not one backend is rejected: the
	// unspecified address (0.0.0.0 and the rest of 0.0.0.0/8, ::), where a
	// dial reaches the local host, multicast addresses and the broadcast
	// address 255.255.255.255. Loopback and link-local addresses are
	// accepted. The registry decoders and the proxy use this mode.
	IDsAddress
)

// IDError says why an id is not usable under a policy: the id as given,
// the reason (ReasonEmptyID, ReasonBadID or ReasonNotAddress) and, in
// Detail, what is wrong with it. Unwrap returns the reason's sentinel.
type IDError struct {
	ID     string
	Reason Reason
	Detail string
}

// Error reads like: weights: id "10.0.0.1": the id has no port; an address is host:port (not-an-address)
func (e *IDError) Error() string {
	return "weights: id " + strconv.Quote(e.ID) + ": " + e.Detail + " (" + string(e.Reason) + ")"
}

// Unwrap returns the sentinel error for the reason.
func (e *IDError) Unwrap() error { return e.Reason.Err() }

// ID checks one node id as Build does (not empty, at most Limits.MaxIDLen
// bytes, the rules every id follows, and under IDsAddress the address
// rules) and returns the id a snapshot holds for it: under IDsAddress the
// address in canonical form, otherwise the id as given. Two ids are one
// node exactly when ID returns the same string for both. A rejected id
// is an *IDError.
func (p Policy) ID(id string) (string, error) {
	key, r, detail := p.checkID(id, p.Limits.WithDefaults().MaxIDLen)
	if len(r) != 0 {
		if len(detail) == 0 {
			detail = describe(r, Raw{})
		}
		return "", &IDError{ID: id, Reason: r, Detail: detail}
	}
	return key, nil
}

// ParseAddress checks id under the address rules of IDsAddress, with the
// default id length limit, and returns its canonical form: the rule the
// registry decoders and the proxy apply to every node id, for callers that
// take addresses from elsewhere (a resolver, a flag). A rejected id is an
// *IDError wrapping ErrEmptyID, ErrBadID or ErrNotAddress.
func ParseAddress(id string) (string, error) {
	return Policy{IDs: IDsAddress}.ID(id)
}

// checkID applies the id rules of the policy, with maxLen as the length
// limit. It returns the id a snapshot holds (canonical under IDsAddress),
// or the reason and detail of a reject.
//
// On the paths every node takes, this file and the decoders test for the
// empty string with len(s) == 0: under a fuzzing build, s == "" with s not
// empty calls libFuzzer's string comparison hook, which copies both strings
// to C and learns nothing from them.
func (p Policy) checkID(id string, maxLen int) (string, Reason, string) {
	switch {
	case len(id) == 0:
		return "", ReasonEmptyID, ""
	case len(id) > maxLen:
		return "", ReasonBadID, "the id is " + strconv.Itoa(len(id)) + " bytes, the limit is " + strconv.Itoa(maxLen)
	}
	if p.IDs == IDsAddress && canonicalIPv4(id) {
		return id, "", ""
	}
	if problem := idProblem(id); len(problem) != 0 {
		return "", ReasonBadID, problem
	}
	if p.IDs == IDsAddress {
		key, problem := addressID(id)
		if len(problem) != 0 {
			return "", ReasonNotAddress, problem
		}
		return key, "", ""
	}
	return id, "", ""
}

// idProblem says why id breaks the rules every id follows: control
// characters (C0, DEL, C1), invalid UTF-8, leading or trailing white space.
// It returns "" for a usable id.
func idProblem(id string) string {
	if plantTrailingNewline && len(id) > 1 && id[len(id)-1] == '\n' {
		id = id[:len(id)-1]
	}
	if !anyIn(id, &idLook) {
		return "" // printable ASCII without space: nothing below can fail
	}
	for i := 0; i < len(id); {
		c := id[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(plantCRLFID && (c == '\r' || c == '\n')) {
				return "the id holds the control character " + strconv.QuoteRuneToASCII(rune(c)) + " at byte " + strconv.Itoa(i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(id[i:])
		if r == utf8.RuneError && size == 1 {
			return "the id is not valid UTF-8 (byte " + strconv.Itoa(i) + ")"
		}
		if r >= 0x80 && r <= 0x9f {
			return "the id holds the control character " + strconv.QuoteRuneToASCII(r) + " at byte " + strconv.Itoa(i)
		}
		i += size
	}
	if r, _ := utf8.DecodeRuneInString(id); unicode.IsSpace(r) {
		return "the id starts with white space"
	}
	if r, _ := utf8.DecodeLastRuneInString(id); unicode.IsSpace(r) {
		return "the id ends with white space"
	}
	return ""
}

// canonicalIPv4 reports whether id is the most common address, an IPv4
// address and a port in canonical form that can be a backend
// ("10.0.0.1:8080": four decimal numbers without leading zeros, a port of
// 1-65535 without a leading zero). Such an id passes idProblem and
// addressID unchanged; the standard library's parser tells it in one call,
// with a few comparisons where addressID's checks take tens (each a
// tracing hook under a fuzzing build). Any other id takes the full path.
func canonicalIPv4(id string) bool {
	ap, err := netip.ParseAddrPort(id)
	if err != nil || !ap.Addr().Is4() {
		return false
	}
	// The parser reads the port in decimal with leading zeros, so 0 and
	// "080" pass it: a port whose first digit is not 0 is neither.
	if id[strings.LastIndexByte(id, ':')+1] == '0' {
		return false
	}
	return len(notBackend(ap.Addr(), id)) == 0
}

// addressID checks that id is "host:port" and returns its canonical form,
// or says why it is not an address. It expects an id that passed
// idProblem. The canonical form is the one every spelling of a backend
// shares: a DNS name in lower case without a final dot, IPv6 as RFC 5952
// writes it (in brackets), an IPv4-mapped IPv6 address as IPv4. It returns
// id itself, without allocating, when id is already canonical.
func addressID(id string) (canonical, problem string) {
	if i := strings.Index(id, "://"); i >= 0 {
		return "", "the id has a scheme (" + id[:i+3] + "); an address is host:port"
	}
	if strings.Contains(id, "@") {
		return "", "the id has userinfo (before @); an address is host:port"
	}
	if strings.Contains(id, "/") {
		return "", "the id has a path (/...); an address is host:port"
	}
	if strings.Contains(id, "?") {
		return "", "the id has a query (?...); an address is host:port"
	}
	if strings.Contains(id, "#") {
		return "", "the id has a fragment (#...); an address is host:port"
	}
	colon := strings.LastIndexByte(id, ':')
	if colon < 0 {
		return "", "the id has no port; an address is host:port"
	}
	host, port := id[:colon], id[colon+1:]
	if p := portProblem(port); len(p) != 0 {
		return "", p
	}
	switch {
	case len(host) == 0:
		return "", "the id has no host; an address is host:port"
	case host[0] == '[':
		return ipv6ID(id, host, port)
	case strings.Contains(host, ":"):
		return "", "the id's host " + strconv.Quote(host) + " looks like IPv6 without brackets; write [host]:port"
	case strings.ContainsAny(host, "[]"):
		return "", "the id's host " + strconv.Quote(host) + " has a stray bracket"
	}
	if p := hostProblem(host); len(p) != 0 {
		return "", p
	}
	if name, changed := canonicalName(host); changed {
		return name + ":" + port, ""
	}
	return id, ""
}

// ipv6ID checks a bracketed host ("[fd00::1]") and returns the id in
// canonical form.
func ipv6ID(id, host, port string) (string, string) {
	if host[len(host)-1] != ']' {
		return "", "the id's host " + strconv.Quote(host) + " has no closing bracket"
	}
	inner := host[1 : len(host)-1]
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() {
		return "", "the id's host " + host + " is not an IPv6 address"
	}
	z := a.Zone()
	if !zoneOK(z) {
		return "", "the id's host " + strconv.Quote(host) + " has the zone " + strconv.Quote(z) +
			"; a zone is letters, digits, '-', '.', '_' and '~'"
	}
	if strings.HasPrefix(z, "25") {
		// In host:port text '%' alone starts the zone; in a URI the
		// delimiter is "%25" (RFC 6874), and a URL parser reads
		// [fe80::1%25eth0] as the zone eth0. Which one was meant cannot be
		// told, so neither reading is guessed.
		return "", "the id's host " + strconv.Quote(host) + " has the zone " + strconv.Quote(z) +
			", which reads as the zone " + strconv.Quote(z[2:]) + " in a URI's spelling (%25 is an escaped '%', RFC 6874); " +
			"an id is host:port text, where '%' alone starts the zone: write [" + a.WithZone("").String() + "%" + z[2:] + "]:" + port +
			" (a zone that really begins with 25 is ambiguous: name the interface)"
	}
	if a.Is4In6() {
		if len(z) != 0 {
			return "", "the id's host " + strconv.Quote(host) + " is an IPv4-mapped address with a zone; write the IPv4 address"
		}
		u := a.Unmap()
		if p := notBackend(u, host); len(p) != 0 {
			return "", p
		}
		return u.String() + ":" + port, ""
	}
	if p := notBackend(a, host); len(p) != 0 {
		return "", p
	}
	var buf [80]byte
	if text := a.AppendTo(buf[:0]); string(text) != inner {
		return "[" + string(text) + "]:" + port, ""
	}
	return id, ""
}

// canonicalName returns a host that passed hostProblem in canonical form,
// letters in lower case and no final dot, and whether that differs from
// host.
func canonicalName(host string) (string, bool) {
	name := strings.TrimSuffix(host, ".")
	if anyIn(name, &upperLetter) {
		return strings.ToLower(name), true
	}
	return name, len(name) != len(host)
}

// Byte classes for anyIn: 1 marks the bytes of the class.
var (
	// idLook: the bytes idProblem looks at closely, all but printable
	// ASCII (space included, for the white space at either end).
	idLook = byteClass(func(c byte) bool { return c <= ' ' || c >= 0x7f })
	// hostOdd: the bytes that are not a letter, a digit, '-', '_' or '.'.
	hostOdd = byteClass(func(c byte) bool {
		return !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.')
	})
	upperLetter = byteClass(func(c byte) bool { return 'A' <= c && c <= 'Z' })
	// nonDigit: every byte but the decimal digits; nonHex: every byte but
	// the hexadecimal digits.
	nonDigit = byteClass(func(c byte) bool { return !isDigit(c) })
	nonHex   = byteClass(func(c byte) bool { return !isDigit(c) && !('a' <= c|0x20 && c|0x20 <= 'f') })
)

// labelEdge marks the bytes that, first or last in a name, make a label
// empty or start or end it with '-'.
var labelEdge = [256]bool{'.': true, '-': true}

func byteClass(in func(c byte) bool) (t [256]uint8) {
	for c := range t {
		if in(byte(c)) {
			t[c] = 1
		}
	}
	return t
}

// anyIn reports whether s holds a byte of class t. It looks at eight bytes
// a step with one branch: the same work as a loop that tests each byte,
// but under a fuzzing build every comparison in safewrr's code calls a
// tracing hook, and ids are checked for every node of every payload.
// A string of at most two steps (most ids) is read as two overlapping
// steps, without a loop; one shorter than a step as two overlapping runs
// of four bytes, or (below four) as its first, middle and last bytes,
// which are all of them.
func anyIn(s string, t *[256]uint8) bool {
	n := len(s)
	var m uint8
	switch {
	case n > 16:
		for i := 0; i+8 <= n; i += 8 {
			b := s[i : i+8]
			m |= t[b[0]] | t[b[1]] | t[b[2]] | t[b[3]] | t[b[4]] | t[b[5]] | t[b[6]] | t[b[7]]
		}
		b := s[n-8:] // the tail, overlapping the last step
		m |= t[b[0]] | t[b[1]] | t[b[2]] | t[b[3]] | t[b[4]] | t[b[5]] | t[b[6]] | t[b[7]]
	case n >= 8:
		a, b := s[:8], s[n-8:]
		m = t[a[0]] | t[a[1]] | t[a[2]] | t[a[3]] | t[a[4]] | t[a[5]] | t[a[6]] | t[a[7]] |
			t[b[0]] | t[b[1]] | t[b[2]] | t[b[3]] | t[b[4]] | t[b[5]] | t[b[6]] | t[b[7]]
	case n >= 4:
		a, b := s[:4], s[n-4:]
		m = t[a[0]] | t[a[1]] | t[a[2]] | t[a[3]] | t[b[0]] | t[b[1]] | t[b[2]] | t[b[3]]
	case n > 0:
		m = t[s[0]] | t[s[n/2]] | t[s[n-1]]
	}
	return m != 0
}

// zoneOK reports whether an IPv6 zone ("eth0" in fe80::1%eth0) is empty or
// only the characters RFC 6874 lets a zone hold in a URI (unreserved:
// letters, digits, '-', '.', '_', '~'). netip accepts any bytes there,
// ']' and ':' included, which would make a bracketed host ambiguous.
func zoneOK(z string) bool {
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// portProblem checks a port's text: decimal digits, 1-65535, no sign or
// leading zero.
func portProblem(port string) string {
	if len(port) == 0 {
		return "the id has an empty port; an address is host:port"
	}
	if anyIn(port, &nonDigit) {
		return "the id's port " + strconv.Quote(port) + " is not a number (1-65535)"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' {
		return "the id's port " + port + " is not a port number (1-65535)"
	}
	return ""
}

// hostProblem checks a host that is not bracketed: an IPv4 literal or a DNS
// name (labels of letters, digits, '-' and '_', 1-63 bytes, not starting or
// ending with '-'; 253 bytes in all; a final dot allowed).
//
// A host whose last label is a number (all digits, or 0x and hex digits)
// must be an IPv4 literal as net.ParseIP reads one: four decimal numbers
// 0-255 without leading zeros. Resolvers disagree on the other numeric
// forms: Go's resolver looks 0x7f.0.0.1, 0177.0.0.1 and 127.1 up as names,
// while the C library's inet_aton (behind getaddrinfo) reads every one of
// them as 127.0.0.1. So they are rejected, and a name never ends in a number.
func hostProblem(host string) string {
	name := strings.TrimSuffix(host, ".")
	if len(name) == 0 || len(name) > 253 {
		return "the id's host " + strconv.Quote(host) + " is not a DNS name (1-253 bytes)"
	}
	// Only a byte that is not a letter, a digit, '-', '_' or '.' makes
	// the loop over a label's bytes below say something; and only such a
	// byte, a name longer than a label may be, or a '.' or '-' at an end of
	// the name or next to a '.' can make the loop over the labels say
	// something, so a name without any is not read label by label. (The
	// tests are the loop's, without a comparison per label: under a
	// fuzzing build, every comparison in safewrr's code calls a tracing
	// hook.)
	odd := anyIn(name, &hostOdd)
	last := name[strings.LastIndexByte(name, '.')+1:]
	if !odd && len(name) <= 63 && !labelEdge[name[0]] && !labelEdge[name[len(name)-1]] &&
		!strings.Contains(name, "..") && !strings.Contains(name, ".-") && !strings.Contains(name, "-.") {
		return numericHostProblem(host, last)
	}
	for rest, more := name, true; more; {
		var label string
		label, rest, more = strings.Cut(rest, ".")
		if len(label) == 0 || len(label) > 63 {
			return "the id's host " + strconv.Quote(host) + " has an empty or over-long label"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "the id's host " + strconv.Quote(host) + " has a label that starts or ends with '-'"
		}
		for i := 0; odd && i < len(label); i++ {
			switch c := label[i]; {
			case isDigit(c), c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
			case c >= utf8.RuneSelf:
				r, _ := utf8.DecodeRuneInString(label[i:])
				return "the id's host " + strconv.Quote(host) + " holds " + strconv.QuoteRuneToASCII(r) +
					", not a DNS name or IP address; write an internationalized name in its ASCII (xn--) form"
			default:
				return "the id's host " + strconv.Quote(host) + " holds " + strconv.QuoteRuneToASCII(rune(c)) + ", not a DNS name or IP address"
			}
		}
	}
	return numericHostProblem(host, last)
}

// numericHostProblem is hostProblem's check of a host whose labels are
// well-formed and whose last label is last: when last is a number, the
// host must be an IPv4 address that can be a backend.
func numericHostProblem(host, last string) string {
	if numericLabel(last) {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() {
			return "the id's host " + host + " is not an IPv4 address (a.b.c.d in decimal, no leading zeros) " +
				"and a name cannot end in a number: resolvers disagree on such hosts (inet_aton reads 0177.0.0.1 and 127.1 as 127.0.0.1)"
		}
		return notBackend(a, host)
	}
	return ""
}

// notBackend says why an IP address cannot be a backend, or returns "".
// The unspecified address (0.0.0.0, ::) and the rest of 0.0.0.0/8 ("this
// network") are sources, never destinations: dialing 0.0.0.0 or :: reaches
// the local host on Linux. Multicast (224.0.0.0/4, ff00::/8) and the
// limited broadcast 255.255.255.255 are many hosts, not one backend.
// Loopback and link-local addresses are allowed: tests, sidecars and hosts
// on the same link are real backends, and whether a deployment may reach
// them is its own policy.
func notBackend(a netip.Addr, host string) string {
	switch {
	case a.IsUnspecified():
		return "the id's host " + host + " is the unspecified address, not a backend: dialing it reaches the local host"
	case a.Is4() && a.As4()[0] == 0:
		return "the id's host " + host + " is in 0.0.0.0/8 (\"this network\"), a source address, not a backend"
	case a.IsMulticast():
		return "the id's host " + host + " is a multicast address, not a backend"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the id's host " + host + " is the broadcast address, not a backend"
	}
	return ""
}

// numericLabel reports whether a host's label reads as a number to an
// IPv4 parser: decimal digits, or "0x" and hexadecimal digits (none
// included), as the WHATWG URL standard's host parser decides whether a
// host ends in a number.
func numericLabel(label string) bool {
	if strings.HasPrefix(label, "0x") || strings.HasPrefix(label, "0X") {
		return !anyIn(label[2:], &nonHex)
	}
	return len(label) != 0 && !anyIn(label, &nonDigit)
}
