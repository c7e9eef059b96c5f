package registry_test

import (
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// hostileHosts replace the first instance's host (the first "10.0.0.1" of a
// template) with JSON text; hostilePorts replace its port (the first
// "9000"). None of them may be served.
var (
	hostileHosts = []struct{ name, text string }{
		{"CR LF", `10.0.0.1\r\nX: y`},
		{"NUL", `10.0.0.1\u0000`},
		{"DEL", `10.0.0.1\u007f`},
		{"C1", `10.0.0.1\u0085`},
		{"leading space", ` 10.0.0.1`},
		{"trailing space", `10.0.0.1 `},
		{"inner space", `10.0 .0.1`},
		{"userinfo", `user@10.0.0.1`},
		{"scheme", `http://10.0.0.1`},
		{"path", `10.0.0.1/admin`},
		{"query", `10.0.0.1?x=1`},
		{"bad IPv4", `999.0.0.1`},
		{"label dash", `-a.example`},
		// numeric hosts that are not a dotted-decimal IPv4 literal:
		// resolvers disagree on them (inet_aton reads each as 127.0.0.1)
		{"hex IPv4", `0x7f.0.0.1`},
		{"octal IPv4", `0177.0.0.1`},
		{"short IPv4", `127.1`},
		{"decimal IPv4", `2130706433`},
		{"leading zero", `127.0.0.01`},
		{"numeric last label", `web.0x1`},
		// an internationalized name is written in its xn-- form
		{"IDN", `bücher.example`},
		{"IDN escaped", `b\u00fccher.example`},
		{"IPv4-mapped with a zone", `[::ffff:10.0.0.1%eth0]`},
		// one bracket without its pair is not repaired
		{"opening bracket only", `[fd00::1`},
		{"closing bracket only", `fd00::1]`},
		{"IPv4 in one bracket", `10.0.0.1]`},
		// a zone in a URI's spelling: "%25lo" is "25lo" in host:port text
		// and "lo" to a URL parser
		{"zone %25", `[fe80::1%25eth0]`},
		{"zone %25 loopback", `[::1%25lo]`},
		// hosts that are not one backend
		{"unspecified IPv4", `0.0.0.0`},
		{"this network", `0.1.2.3`},
		{"unspecified IPv6", `[::]`},
		{"unspecified IPv4-mapped", `[::ffff:0.0.0.0]`},
		{"multicast IPv4", `224.0.0.1`},
		{"multicast IPv6", `[ff02::1]`},
		{"broadcast", `255.255.255.255`},
		{"huge", strings.Repeat("h", 300)},
		{"huge labels", strings.Repeat("a.", 130) + "example"},
	}
	hostilePorts = []string{`0`, `65536`, `-1`, `99999999999`}
)

// TestRegistryHostileIDs puts each hostile host and port into every
// registry format: the instance is rejected with a reason, never served,
// and the good instance next to it still is (unless the format refuses the
// whole response).
func TestRegistryHostileIDs(t *testing.T) {
	for _, tpl := range registryTemplates {
		payload := fill(tpl.key, tpl.text, tpl.native)
		if !strings.Contains(payload, "10.0.0.1") || !strings.Contains(payload, "9000") {
			t.Fatalf("%s template lacks 10.0.0.1 or 9000", tpl.format)
		}
		check := func(t *testing.T, what, p string) {
			t.Helper()
			s, r, err := registry.Decode(tpl.format, []byte(p), registry.Options{})
			if err != nil {
				t.Fatalf("%s: payload error %v\n%s", what, err, p)
			}
			if len(s.Nodes) > 0 && s.Nodes[0].ID != "10.0.0.2:9000" {
				t.Errorf("%s: served %q", what, s.Nodes[0].ID)
			}
			if e := rejectedAt(r, 0); e == nil {
				t.Errorf("%s: instance #0 not rejected (nodes %v)", what, s.Nodes)
			} else if e.Reason == "" || e.Detail == "" {
				t.Errorf("%s: reject without reason or detail: %v", what, e)
			}
			if r.Refused == nil && !hasNode(s, "10.0.0.2:9000") {
				t.Errorf("%s: the good instance was not served (rejected %v)", what, r.Rejected)
			}
		}
		t.Run(string(tpl.format), func(t *testing.T) {
			url := tpl.format == registry.FormatDiscovery || tpl.format == registry.FormatKratos
			for _, h := range hostileHosts {
				p := strings.Replace(payload, "10.0.0.1", h.text, 1)
				if url && strings.HasPrefix(h.name, "zone %25") {
					// the address is a URL, where %25 is how a zone is
					// written (RFC 6874): one zone, served in host:port text
					zoneURL(t, tpl.format, p, h.text)
					continue
				}
				check(t, "host "+h.name, p)
			}
			if url {
				// a bare '%' in a URL's host is not a zone
				check(t, "zone % in a URL", strings.Replace(payload, "10.0.0.1", "[fe80::1%eth0]", 1))
			}
			if tpl.format == registry.FormatDiscovery || tpl.format == registry.FormatKratos ||
				(tpl.format == registry.FormatAPISIX && tpl.key == "") {
				// the host and port are one string: an IPv6 host without
				// brackets is ambiguous there
				check(t, "unbracketed IPv6", strings.Replace(payload, "10.0.0.1", "fd00::1:2:3", 1))
			}
			for _, p := range hostilePorts {
				check(t, "port "+p, strings.Replace(payload, "9000", p, 1))
			}
		})
	}
}

// zoneURL checks that a registry whose addresses are URLs reads a zone
// written %25 as the zone, and serves it as host:port text writes it.
func zoneURL(t *testing.T, f registry.Format, payload, host string) {
	t.Helper()
	want := strings.Replace(host, "%25", "%", 1) + ":9000"
	s, r, err := registry.Decode(f, []byte(payload), registry.Options{})
	if err != nil || len(r.Rejected) != 0 || !hasNode(s, want) {
		t.Errorf("%s, URL host %s: nodes %v, rejected %v, %v; want %s served", f, host, s.Nodes, r.Rejected, err, want)
	}
}

// TestRegistryIDReasons checks the reasons a reader sees for ids that are
// not addresses, in a format whose host is a plain field (Nacos).
func TestRegistryIDReasons(t *testing.T) {
	tpl := registryTemplates[3]
	if tpl.format != registry.FormatNacos {
		t.Fatalf("template 3 is %s, want nacos", tpl.format)
	}
	payload := fill(tpl.key, tpl.text, tpl.native)
	tests := []struct {
		host   string
		reason weights.Reason
		detail string
	}{
		{`10.0.0.1\r\nX: y`, weights.ReasonBadID, `control character '\r'`},
		{` 10.0.0.1`, weights.ReasonBadID, "starts with white space"},
		{`user@10.0.0.1`, weights.ReasonNotAddress, "userinfo"},
		{`http://10.0.0.1`, weights.ReasonNotAddress, "scheme (http://)"},
		{`10.0.0.1/admin`, weights.ReasonNotAddress, "path"},
		{`10.0.0.1?x=1`, weights.ReasonNotAddress, "query"},
		{`999.0.0.1`, weights.ReasonNotAddress, "not an IPv4 address"},
		{`fd00::1`, "", ""},
		{`[fd00::1]`, "", ""},
		{`backend-1.svc.cluster.local`, "", ""},
	}
	for _, tt := range tests {
		_, r, err := registry.Decode(registry.FormatNacos, []byte(strings.Replace(payload, "10.0.0.1", tt.host, 1)), registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e := rejectedAt(r, 0)
		if tt.reason == "" {
			if e != nil {
				t.Errorf("host %s: rejected %v", tt.host, e)
			}
			continue
		}
		if e == nil || e.Reason != tt.reason || !strings.Contains(e.Detail, tt.detail) {
			t.Errorf("host %s: reject %v; want %s mentioning %q", tt.host, e, tt.reason, tt.detail)
		}
	}
}
