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
	// what was found. The registry decoders and the proxy use it.
	IDsAddress
)

// idProblem says why id breaks the rules every id follows: control
// characters (C0, DEL, C1), invalid UTF-8, leading or trailing white space.
// It returns "" for a usable id.
func idProblem(id string) string {
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

// addressProblem says why id is not "host:port", or "" when it is. It
// expects an id that passed idProblem.
func addressProblem(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return "the id has a scheme (" + id[:i+3] + "); an address is host:port"
	}
	if strings.Contains(id, "@") {
		return "the id has userinfo (before @); an address is host:port"
	}
	if strings.Contains(id, "/") {
		return "the id has a path (/...); an address is host:port"
	}
	if strings.Contains(id, "?") {
		return "the id has a query (?...); an address is host:port"
	}
	if strings.Contains(id, "#") {
		return "the id has a fragment (#...); an address is host:port"
	}
	colon := strings.LastIndexByte(id, ':')
	if colon < 0 {
		return "the id has no port; an address is host:port"
	}
	host, port := id[:colon], id[colon+1:]
	if p := portProblem(port); p != "" {
		return p
	}
	switch {
	case host == "":
		return "the id has no host; an address is host:port"
	case host[0] == '[':
		if host[len(host)-1] != ']' {
			return "the id's host " + strconv.Quote(host) + " has no closing bracket"
		}
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() {
			return "the id's host " + host + " is not an IPv6 address"
		}
		if z := a.Zone(); !zoneOK(z) {
			return "the id's host " + strconv.Quote(host) + " has the zone " + strconv.Quote(z) +
				"; a zone is letters, digits, '-', '.', '_' and '~'"
		}
		return ""
	case strings.Contains(host, ":"):
		return "the id's host " + strconv.Quote(host) + " looks like IPv6 without brackets; write [host]:port"
	case strings.ContainsAny(host, "[]"):
		return "the id's host " + strconv.Quote(host) + " has a stray bracket"
	}
	return hostProblem(host)
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
	if port == "" {
		return "the id has an empty port; an address is host:port"
	}
	for i := 0; i < len(port); i++ {
		if !isDigit(port[i]) {
			return "the id's port " + strconv.Quote(port) + " is not a number (1-65535)"
		}
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
func hostProblem(host string) string {
	name := strings.TrimSuffix(host, ".")
	if len(name) == 0 || len(name) > 253 {
		return "the id's host " + strconv.Quote(host) + " is not a DNS name (1-253 bytes)"
	}
	numeric := true
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "the id's host " + strconv.Quote(host) + " has an empty or over-long label"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "the id's host " + strconv.Quote(host) + " has a label that starts or ends with '-'"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case isDigit(c):
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				numeric = false
			default:
				return "the id's host " + strconv.Quote(host) + " holds " + strconv.QuoteRuneToASCII(rune(c)) + ", not a DNS name or IP address"
			}
		}
	}
	if numeric {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return "the id's host " + host + " is not an IPv4 address"
		}
	}
	return ""
}
