package weights_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// TestIDRules builds one node per id, under free ids and under IDsAddress,
// and checks the reason and that the detail names the problem.
func TestIDRules(t *testing.T) {
	tests := []struct {
		id      string
		free    weights.Reason // "" accepted
		address weights.Reason // "" accepted
		detail  string         // part of the detail of the first reject
	}{
		{"web-1", "", weights.ReasonNotAddress, "no port"},
		{"10.0.0.1:80", "", "", ""},
		{"[fd00::1]:8080", "", "", ""},
		{"backend.svc.cluster.local.:65535", "", "", ""},
		{"a_b.example:1", "", "", ""},
		{"a\r\nX: y", weights.ReasonBadID, weights.ReasonBadID, `control character '\r'`},
		{"a\x00", weights.ReasonBadID, weights.ReasonBadID, `'\x00'`},
		{"a\x7f", weights.ReasonBadID, weights.ReasonBadID, `'\x7f'`},
		{"a\u0085b", weights.ReasonBadID, weights.ReasonBadID, `'\u0085'`},
		{"a\xffb", weights.ReasonBadID, weights.ReasonBadID, "not valid UTF-8"},
		{" 10.0.0.1:80", weights.ReasonBadID, weights.ReasonBadID, "starts with white space"},
		{"10.0.0.1:80\t", weights.ReasonBadID, weights.ReasonBadID, "control character"},
		{"10.0.0.1:80\u00a0", weights.ReasonBadID, weights.ReasonBadID, "ends with white space"},
		{"user@127.0.0.1:80", "", weights.ReasonNotAddress, "userinfo"},
		{"127.0.0.1:80/admin", "", weights.ReasonNotAddress, "path"},
		{"http://127.0.0.1:80", "", weights.ReasonNotAddress, "scheme (http://)"},
		{"127.0.0.1:80?x=1", "", weights.ReasonNotAddress, "query"},
		{"127.0.0.1:80#f", "", weights.ReasonNotAddress, "fragment"},
		{"127.0.0.1:0", "", weights.ReasonNotAddress, "port 0"},
		{"127.0.0.1:65536", "", weights.ReasonNotAddress, "port 65536"},
		{"127.0.0.1:080", "", weights.ReasonNotAddress, "port 080"},
		{"127.0.0.1:-1", "", weights.ReasonNotAddress, `"-1"`},
		{"127.0.0.1:", "", weights.ReasonNotAddress, "empty port"},
		{":80", "", weights.ReasonNotAddress, "no host"},
		{"fd00::1:80", "", weights.ReasonNotAddress, "without brackets"},
		{"[10.0.0.1]:80", "", weights.ReasonNotAddress, "not an IPv6 address"},
		{"[fd00::1:80", "", weights.ReasonNotAddress, "no closing bracket"},
		{"[fe80::1%eth0]:80", "", "", ""},
		{"[fe80::1%en_0.1-x~]:80", "", "", ""},
		{"[fd00::%8]580]:80", "", weights.ReasonNotAddress, `zone "8]580"`}, // a campaign found an APISIX key read this way
		{"[fd00::%a:b]:80", "", weights.ReasonNotAddress, `zone "a:b"`},
		{"[fd00::%a%25]:80", "", weights.ReasonNotAddress, `zone "a%25"`},
		{"999.1.1.1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"-a.example:80", "", weights.ReasonNotAddress, "starts or ends with '-'"},
		{"a..b:80", "", weights.ReasonNotAddress, "empty or over-long label"},
		{"ex ample:80", "", weights.ReasonNotAddress, `' '`},
		{strings.Repeat("a", 64) + ".example:80", "", weights.ReasonNotAddress, "over-long label"},
		// numeric hosts: one rule, the strict dotted decimal of net.ParseIP
		{"0x7f.0.0.1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"0X7F.0.0.1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"0177.0.0.1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"127.1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"2130706433:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"127.0.0.0x1:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"127.0.0.1.:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"1.2.3.4.5:80", "", weights.ReasonNotAddress, "not an IPv4 address"},
		{"web.0x:80", "", weights.ReasonNotAddress, "cannot end in a number"},
		{"0x7f.example:80", "", "", ""},
		{"10-0-0-1.pod.cluster.local:80", "", "", ""},
		{"web.0xg:80", "", "", ""},
		// internationalized names in their ASCII form only
		{"bücher.example:80", "", weights.ReasonNotAddress, "xn--"},
		{"xn--bcher-kva.example:80", "", "", ""},
		{"[::ffff:10.0.0.1%eth0]:80", "", weights.ReasonNotAddress, "IPv4-mapped address with a zone"},
		// a zone in a URI's spelling (%25) reads otherwise in host:port text
		{"[::1%25lo]:80", "", weights.ReasonNotAddress, `zone "25lo", which reads as the zone "lo" in a URI's spelling`},
		{"[fe80::1%25eth0]:80", "", weights.ReasonNotAddress, "write [fe80::1%eth0]:80"},
		{"[fe80::1%25]:80", "", weights.ReasonNotAddress, `zone "25"`},
		{"[::1%lo]:80", "", "", ""},
		{"[fe80::1%2]:80", "", "", ""},
		// hosts that are not one backend
		{"0.0.0.0:80", "", weights.ReasonNotAddress, "unspecified address"},
		{"0.1.2.3:80", "", weights.ReasonNotAddress, `0.0.0.0/8 ("this network")`},
		{"[::]:80", "", weights.ReasonNotAddress, "unspecified address"},
		{"[0:0::0]:80", "", weights.ReasonNotAddress, "unspecified address"},
		{"[::ffff:0.0.0.0]:80", "", weights.ReasonNotAddress, "unspecified address"},
		{"224.0.0.1:80", "", weights.ReasonNotAddress, "multicast"},
		{"239.255.255.250:1900", "", weights.ReasonNotAddress, "multicast"},
		{"[::ffff:224.0.0.1]:80", "", weights.ReasonNotAddress, "multicast"},
		{"[ff02::1]:80", "", weights.ReasonNotAddress, "multicast"},
		{"[ff02::1%eth0]:80", "", weights.ReasonNotAddress, "multicast"},
		{"255.255.255.255:80", "", weights.ReasonNotAddress, "broadcast"},
		{"[::ffff:255.255.255.255]:80", "", weights.ReasonNotAddress, "broadcast"},
		// loopback, link-local and the neighbours of the rejected ranges are backends
		{"127.0.0.1:80", "", "", ""},
		{"[::1]:80", "", "", ""},
		{"169.254.1.1:80", "", "", ""},
		{"1.0.0.0:80", "", "", ""},
		{"223.255.255.255:80", "", "", ""},
		{"240.0.0.1:80", "", "", ""},
		{"255.255.255.254:80", "", "", ""},
		{"[fe80::1]:80", "", "", ""},
		{"[fe00::1]:80", "", "", ""},
		{"0.example:80", "", "", ""},
		{strings.Repeat("a.", 127) + "a:80", weights.ReasonBadID, weights.ReasonBadID, "the limit is 255"},
	}
	for _, tt := range tests {
		for _, mode := range []weights.IDMode{weights.IDsFree, weights.IDsAddress} {
			want := tt.free
			if mode == weights.IDsAddress {
				want = tt.address
			}
			_, rep := weights.Policy{IDs: mode}.Build([]weights.Entry{{ID: tt.id, Weight: weights.Int(1)}})
			switch {
			case want == "" && len(rep.Rejected) > 0:
				t.Errorf("mode %d, id %q: rejected %v", mode, tt.id, rep.Rejected[0])
			case want == "":
			case len(rep.Rejected) != 1:
				t.Errorf("mode %d, id %q: accepted, want %s", mode, tt.id, want)
			case rep.Rejected[0].Reason != want || !strings.Contains(rep.Rejected[0].Detail, tt.detail):
				t.Errorf("mode %d, id %q: %v; want %s mentioning %q", mode, tt.id, rep.Rejected[0], want, tt.detail)
			case !errors.Is(rep.Rejected[0], want.Err()):
				t.Errorf("mode %d, id %q: %v does not wrap %v", mode, tt.id, rep.Rejected[0], want.Err())
			}
		}
	}
}

// TestIDRulesDecode: the snapshot decoder applies the same rules to ids
// read from a payload (JSON escapes decoded).
func TestIDRulesDecode(t *testing.T) {
	_, rep, err := weights.Decode([]byte(`{"a\r\nX: y": 1, " b": 1, "c\u0000": 1, "ok": 1}`), weights.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rejected) != 3 {
		t.Fatalf("rejected %v, want the first three", rep.Rejected)
	}
	for i, e := range rep.Rejected {
		if e.Index != i || e.Reason != weights.ReasonBadID {
			t.Errorf("reject %d: %v, want #%d bad-id", i, e, i)
		}
	}
}

// TestStringZeroNamesWhatWasSent: the string-zero message quotes the string
// that was sent ("00", not "0").
func TestStringZeroNamesWhatWasSent(t *testing.T) {
	for _, z := range []string{"0", "00", "000"} {
		_, rep := weights.Policy{}.Build([]weights.Entry{{ID: "a", Weight: weights.String(z)}})
		if len(rep.Rejected) != 1 || rep.Rejected[0].Reason != weights.ReasonStringZero ||
			!strings.Contains(rep.Rejected[0].Error(), `the string "`+z+`"`) {
			t.Errorf("%q: %v", z, rep.Rejected)
		}
	}
}

// TestParseAddressCanonical: every spelling of one backend has one
// canonical form, which ParseAddress returns and a snapshot holds; a
// canonical id is its own canonical form.
func TestParseAddressCanonical(t *testing.T) {
	tests := []struct{ id, want string }{
		{"10.0.0.1:80", "10.0.0.1:80"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80"},
		{"[::FFFF:a00:1]:80", "10.0.0.1:80"},
		{"[0:0:0:0:0:ffff:10.0.0.1]:80", "10.0.0.1:80"},
		{"[::1]:443", "[::1]:443"},
		{"[0:0::1]:443", "[::1]:443"},
		{"[0000:0000:0000:0000:0000:0000:0000:0001]:443", "[::1]:443"},
		{"[FD00::A]:8080", "[fd00::a]:8080"},
		{"[fd00:0:0:1::]:1", "[fd00:0:0:1::]:1"},
		{"[2001:db8:0:0:1:0:0:1]:1", "[2001:db8::1:0:0:1]:1"},
		{"[::10.0.0.1]:80", "[::a00:1]:80"}, // IPv4-compatible, not mapped: an IPv6 address
		{"[fe80::1%eth0]:80", "[fe80::1%eth0]:80"},
		{"[FE80::1%Eth0]:80", "[fe80::1%Eth0]:80"}, // a zone is an interface name: kept as sent
		{"Web-1.Example:80", "web-1.example:80"},
		{"web-1.example.:80", "web-1.example:80"},
		{"WEB-1.EXAMPLE.:80", "web-1.example:80"},
		{"XN--BCHER-KVA.example:80", "xn--bcher-kva.example:80"},
		{"localhost:8080", "localhost:8080"},
		{"_svc._tcp.Example:1", "_svc._tcp.example:1"},
	}
	for _, tt := range tests {
		got, err := weights.ParseAddress(tt.id)
		if err != nil || got != tt.want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", tt.id, got, err, tt.want)
			continue
		}
		if again, err := weights.ParseAddress(got); err != nil || again != got {
			t.Errorf("ParseAddress(%q) = %q, %v; a canonical id is its own form", got, again, err)
		}
		snap, rep := weights.Policy{IDs: weights.IDsAddress}.Build([]weights.Entry{{ID: tt.id, Weight: weights.Int(1)}})
		if len(snap.Nodes) != 1 || snap.Nodes[0].ID != tt.want || !rep.OK() {
			t.Errorf("Build(%q) = %v %v; want the node %q", tt.id, snap.Nodes, rep.Rejected, tt.want)
		}
		if id, err := (weights.Policy{}).ID(tt.id); err != nil || id != tt.id {
			t.Errorf("free ids: ID(%q) = %q, %v; want it unchanged", tt.id, id, err)
		}
	}
}

// TestParseAddressErrors: a rejected id is an *IDError with its reason,
// whose message names the id and the problem.
func TestParseAddressErrors(t *testing.T) {
	tests := []struct {
		id     string
		reason weights.Reason
		has    string
	}{
		{"", weights.ReasonEmptyID, "id is empty"},
		{"unix:/run/x.sock", weights.ReasonNotAddress, "path"},
		{"unix-abstract:x", weights.ReasonNotAddress, `port "x" is not a number`},
		{"vsock:3:80", weights.ReasonNotAddress, "without brackets"},
		{"dns:///web:80", weights.ReasonNotAddress, "scheme (dns://)"},
		{"web-1", weights.ReasonNotAddress, "no port"},
		{"10.0.0.1:80\r\n", weights.ReasonBadID, `control character '\r'`},
		{"10.0.0.1:8\x000", weights.ReasonBadID, `control character '\x00'`},
		{"\x00a:80", weights.ReasonBadID, "at byte 0"},
		{" a:80", weights.ReasonBadID, "starts with white space"},
		{"a\xff:80", weights.ReasonBadID, "not valid UTF-8"},
		{"a\u0085:80", weights.ReasonBadID, `'\u0085'`},
		{strings.Repeat("x", 300) + ":80", weights.ReasonBadID, "303 bytes"},
	}
	for _, tt := range tests {
		got, err := weights.ParseAddress(tt.id)
		var ie *weights.IDError
		if !errors.As(err, &ie) || ie.Reason != tt.reason || ie.ID != tt.id || got != "" ||
			!errors.Is(err, tt.reason.Err()) || !strings.Contains(err.Error(), tt.has) || !strings.HasPrefix(err.Error(), "weights: id ") {
			t.Errorf("ParseAddress(%q) = %q, %v; want an *IDError %s mentioning %q", tt.id, got, err, tt.reason, tt.has)
		}
	}
}

// FuzzParseAddress checks the canonical form of address ids: it is its
// own canonical form; its host is an IP literal in the form netip writes
// or a lower-case DNS name that no IPv4 parser reads as a number; and the
// spellings of one backend (letters in another case, a final dot after a
// name) have the same canonical form.
func FuzzParseAddress(f *testing.F) {
	for _, id := range []string{"10.0.0.1:80", "[::ffff:10.0.0.1]:80", "Web-1.Example.:8080", "[FD00:0::1]:443",
		"[fe80::1%eth0]:80", "0x7f.0.0.1:80", "127.1:80", "xn--bcher-kva.example:1", "a_b.c-d:65535", "[::]:1", "[::1%25lo]:1", "0.0.0.0:1", "[ff02::1%eth0]:1", "255.255.255.255:1"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		c, err := weights.ParseAddress(id)
		if err != nil {
			var ie *weights.IDError
			if !errors.As(err, &ie) || ie.Reason.Err() == nil || c != "" {
				t.Fatalf("ParseAddress(%q) = %q, %v; want an *IDError with a known reason", id, c, err)
			}
			return
		}
		if again, err := weights.ParseAddress(c); err != nil || again != c {
			t.Fatalf("ParseAddress(%q) = %q, but ParseAddress(%q) = %q, %v", id, c, c, again, err)
		}
		host, port, err := net.SplitHostPort(c)
		if err != nil || port == "" {
			t.Fatalf("canonical %q does not split: %v", c, err)
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if a.String() != host || a.Is4In6() {
				t.Fatalf("canonical %q: IP host %q is not as netip writes it (%q)", c, host, a.String())
			}
			if a.IsUnspecified() || a.IsMulticast() || a.Is4() && (a.As4()[0] == 0 || a.As4() == [4]byte{255, 255, 255, 255}) {
				t.Fatalf("canonical %q: host %q is not one backend", c, host)
			}
			if strings.HasPrefix(a.Zone(), "25") {
				t.Fatalf("canonical %q: zone %q reads otherwise in a URL", c, a.Zone())
			}
		} else {
			last := host[strings.LastIndexByte(host, '.')+1:]
			if host != strings.ToLower(host) || strings.HasSuffix(host, ".") || net.ParseIP(host) != nil ||
				strings.Trim(last, "0123456789") == "" || strings.HasPrefix(strings.ToLower(last), "0x") && strings.Trim(strings.ToLower(last[2:]), "0123456789abcdef") == "" {
				t.Fatalf("canonical %q: host %q is not a lower-case name that cannot read as a number", c, host)
			}
		}
		if !strings.Contains(id, "%") {
			if up, err := weights.ParseAddress(strings.ToUpper(id)); err != nil || up != c {
				t.Fatalf("ParseAddress(%q) = %q, %v; ParseAddress(%q) = %q", strings.ToUpper(id), up, err, id, c)
			}
		}
		if h, p, err := net.SplitHostPort(id); err == nil && !strings.HasSuffix(h, ".") && !strings.Contains(h, ":") && len(id) < weights.DefaultMaxIDLen {
			if _, err := netip.ParseAddr(h); err != nil {
				if dot, err := weights.ParseAddress(h + ".:" + p); err != nil || dot != c {
					t.Fatalf("ParseAddress(%q) = %q, %v; ParseAddress(%q) = %q", h+".:"+p, dot, err, id, c)
				}
			}
		}
	})
}
