package registry_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// registryTemplates hold one small payload per format: two instances, the
// first with its weight member replaced by %s (the whole `"key": value`
// text, or nothing for a missing weight), the second a plain good one.
var registryTemplates = []struct {
	format registry.Format
	key    string // the weight's key as the registry spells it
	text   string
	native string // a good weight in the registry's own type
}{
	{registry.FormatDiscovery, "weight", `{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{%s}},
		{"hostname":"b","addrs":["grpc://10.0.0.2:9000"],"status":1,"metadata":{"weight":"10"}}]}}}`, `"10"`},
	{registry.FormatKratos, "weight", `[
		{"id":"a","name":"s","metadata":{%s},"endpoints":["grpc://10.0.0.1:9000?isSecure=false"]},
		{"id":"b","name":"s","metadata":{"weight":"10"},"endpoints":["grpc://10.0.0.2:9000"]}]`, `"10"`},
	{registry.FormatConsul, "Passing", `[
		{"Node":{"Address":"10.0.0.1"},"Service":{"ID":"a","Address":"","Port":9000,"Weights":{%s}},"Checks":[]},
		{"Node":{"Address":"10.0.0.2"},"Service":{"ID":"b","Address":"10.0.0.2","Port":9000,"Weights":{"Passing":10,"Warning":1}},"Checks":[]}]`, `10`},
	{registry.FormatNacos, "weight", `{"hosts":[
		{"ip":"10.0.0.1","port":9000,%s,"healthy":true,"enabled":true},
		{"ip":"10.0.0.2","port":9000,"weight":0.1,"healthy":true,"enabled":true}]}`, `0.1`},
	{registry.FormatEureka, "weight", `{"applications":{"application":{"name":"S","instance":[
		{"ipAddr":"10.0.0.1","status":"UP","port":{"$":9000,"@enabled":"true"},"metadata":{%s}},
		{"ipAddr":"10.0.0.2","status":"UP","port":{"$":"9000","@enabled":"true"},"metadata":{"weight":"10"}}]}}}`, `"10"`},
	{registry.FormatEDS, "load_balancing_weight", `{"cluster_name":"s","endpoints":[{"lb_endpoints":[
		{"endpoint":{"address":{"socket_address":{"address":"10.0.0.1","port_value":9000}}},%s},
		{"endpoint":{"address":{"socket_address":{"address":"10.0.0.2","port_value":9000}}},"load_balancing_weight":10}]}]}`, `10`},
	{registry.FormatAPISIX, "weight", `{"type":"roundrobin","nodes":[
		{"host":"10.0.0.1","port":9000,%s},
		{"host":"10.0.0.2","port":9000,"weight":10}]}`, `10`},
	{registry.FormatAPISIX, "", `{"type":"roundrobin","nodes":{
		"10.0.0.1:9000"%s,
		"10.0.0.2:9000":10}}`, `10`},
}

// hostileWeights are the values of the hostile variants, and a few
// more; "" in the table means the weight is missing.
var hostileWeights = []string{`"0"`, `""`, `"abc"`, `-1`, `1e400`, ``, `true`, `null`, `[1]`, `{"v":1}`,
	`"00"`, `"-0"`, `" 10"`, `"NaN"`, `"1e3"`, `"10.5"`, `0`, `-0`, `0.5`, `1e-7`, `4294967296`, `"4294967296"`, `"10"`, `10`}

// fill puts a weight into a template: `"key": value`, or for APISIX's
// object form `: value`.
func fill(key, text, value string) string {
	switch {
	case key == "" && value == "":
		return strings.Replace(text, "%s", `:null`, 1) // the object form cannot omit a value
	case key == "":
		return strings.Replace(text, "%s", ":"+value, 1)
	case value == "":
		for _, hole := range []string{"%s,", ",%s"} {
			if strings.Contains(text, hole) {
				return strings.Replace(text, hole, "", 1)
			}
		}
		return strings.Replace(text, "%s", "", 1)
	}
	return strings.Replace(text, "%s", fmt.Sprintf("%q:%s", key, value), 1)
}

// TestRegistryHostileWeights puts each hostile weight into each format and
// checks what must hold whatever the registry's convention: the string "0"
// is string-zero; nothing panics; accepted weights are within the maximum;
// the good node survives unless the format refuses the whole response;
// nodes keep the payload's order; a rejected node is never also accepted.
func TestRegistryHostileWeights(t *testing.T) {
	options := map[string]registry.Options{
		"registry":         {},
		"policy":           {Convention: registry.FollowPolicy},
		"policy-lenient":   {Convention: registry.FollowPolicy, Policy: weights.Lenient()},
		"registry-max-50":  {Policy: weights.Policy{MaxWeight: 5000}},
		"registry-reject0": {Policy: weights.Policy{Zero: weights.ZeroReject, MissingRejected: true}},
	}
	for _, tpl := range registryTemplates {
		for _, v := range hostileWeights {
			for oname, o := range options {
				name := fmt.Sprintf("%s/%s/%s", tpl.format, v, oname)
				if tpl.key == "" {
					name = fmt.Sprintf("%s-object/%s/%s", tpl.format, v, oname)
				}
				t.Run(name, func(t *testing.T) {
					payload := fill(tpl.key, tpl.text, v)
					s, r, err := registry.Decode(tpl.format, []byte(payload), o)
					if err != nil {
						t.Fatalf("Decode: %v\n%s", err, payload)
					}
					checkRegistryResult(t, s, r, o)
					first := rejectedAt(r, 0)
					if v == `"0"` || v == `"00"` {
						if first == nil || first.Reason != weights.ReasonStringZero || !errors.Is(first, weights.ErrStringZero) {
							t.Fatalf("weight %s: first node rejected as %v, want string-zero", v, first)
						}
					}
					if r.Refused == nil && !hasNode(s, "10.0.0.2:9000") {
						t.Errorf("the good node is missing: %v %v", s.Nodes, r.Rejected)
					}
					if first != nil && hasNode(s, "10.0.0.1:9000") {
						t.Errorf("node 10.0.0.1:9000 is both rejected (%v) and accepted", first)
					}
				})
			}
		}
	}
}

func rejectedAt(r registry.Report, i int) *weights.NodeError {
	for _, e := range r.Rejected {
		if e.Index == i {
			return e
		}
	}
	return nil
}

func hasNode(s weights.Snapshot, id string) bool {
	for _, n := range s.Nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}

// checkRegistryResult checks the invariants of any decode result.
func checkRegistryResult(t *testing.T, s weights.Snapshot, r registry.Report, o registry.Options) {
	t.Helper()
	max := o.Policy.MaxWeight
	if max == 0 {
		max = weights.DefaultMaxWeight
	}
	if r.Refused != nil && len(s.Nodes) > 0 {
		t.Errorf("refused (%v) but %d nodes returned", r.Refused, len(s.Nodes))
	}
	if r.Refused != nil && !errors.Is(r.Refused, weights.ErrRefused) {
		t.Errorf("Refused %v does not wrap ErrRefused", r.Refused)
	}
	seen := map[string]bool{}
	for _, n := range s.Nodes {
		if n.Weight > max {
			t.Errorf("node %s weight %d above the maximum %d", n.ID, n.Weight, max)
		}
		if seen[n.ID] {
			t.Errorf("node %s twice", n.ID)
		}
		seen[n.ID] = true
	}
	if r.Refused == nil && len(s.Nodes)+len(r.Rejected) != r.Entries {
		t.Errorf("%d accepted + %d rejected != %d entries", len(s.Nodes), len(r.Rejected), r.Entries)
	}
	last := -1
	for _, e := range r.Rejected {
		if e.Index <= last {
			t.Errorf("rejected out of order: #%d after #%d", e.Index, last)
		}
		last = e.Index
		if e.Reason.Err() == nil || !errors.Is(e, e.Reason.Err()) {
			t.Errorf("rejected #%d: reason %q has no sentinel", e.Index, e.Reason)
		}
	}
	for _, n := range r.Notes {
		if n.Index >= r.Entries || n.Index < -1 {
			t.Errorf("note %v: index out of range", n)
		}
		if n.Index >= 0 && !seen[n.ID] {
			t.Errorf("note %v is about a node that was not accepted", n)
		}
	}
}

// FuzzDecode decodes arbitrary bytes in every format, seeded with
// the registry fixtures, and checks the invariants of checkRegistryResult.
// Plain go test runs the seeds.
func FuzzDecode(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "registries", "*.json"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fm := range append(registry.Formats(), registry.FormatAuto) {
			for _, o := range []registry.Options{{}, {Convention: registry.FollowPolicy, Health: registry.HealthIgnore}} {
				s, r, err := registry.Decode(fm, data, o)
				if err != nil {
					if len(s.Nodes) > 0 {
						t.Fatalf("%s: error %v with %d nodes", fm, err, len(s.Nodes))
					}
					continue
				}
				checkRegistryResult(t, s, r, o)
			}
		}
	})
}

// TestRegistryEmptyIsNormal: a service scaled to zero is an empty snapshot,
// not an error and not refused, in every format.
func TestRegistryEmptyIsNormal(t *testing.T) {
	empties := map[registry.Format]string{
		registry.FormatDiscovery:     `{"code":0,"data":{"instances":{},"latest_timestamp":1}}`,
		registry.FormatKratos:        `[]`,
		registry.FormatConsul:        `[]`,
		registry.FormatNacos:         `{"name":"DEFAULT_GROUP@@s","hosts":[],"cacheMillis":10000}`,
		registry.FormatEureka:        `{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}`,
		registry.FormatEDS:           `{"cluster_name":"s"}`,
		registry.FormatAPISIX:        `{"type":"roundrobin","nodes":{}}`,
		registry.FormatEndpointSlice: `{"kind":"EndpointSlice","addressType":"IPv4","endpoints":null,"ports":null}`,
	}
	for f, payload := range empties {
		t.Run(string(f), func(t *testing.T) {
			s, r, err := registry.Decode(f, []byte(payload), registry.Options{})
			if err != nil || r.Refused != nil || len(s.Nodes) != 0 || r.Entries != 0 {
				t.Errorf("Decode(%s) = %v, refused %v, %d entries, err %v; want an empty snapshot", payload, s.Nodes, r.Refused, r.Entries, err)
			}
		})
	}
}

// TestDiscoveryErrorCode: a discovery answer with a non-zero code (-304 not
// modified, -404 no such app) carries no instances; it is a payload error,
// never an empty snapshot that would drain the service.
func TestDiscoveryErrorCode(t *testing.T) {
	for _, payload := range []string{`{"code":-304,"message":"-304"}`, `{"code":-404,"message":"nothing found","data":null}`} {
		_, _, err := registry.Decode(registry.FormatDiscovery, []byte(payload), registry.Options{})
		if !errors.Is(err, weights.ErrShape) {
			t.Errorf("Decode(%s) error %v, want ErrShape", payload, err)
		}
	}
}

// TestRegistryHostileCatalog: the hostile values, in every format
// that carries a weight, are never served under the default options: the
// node is rejected (or the whole response refused), and the good node next
// to it is unaffected.
func TestRegistryHostileCatalog(t *testing.T) {
	for _, tpl := range registryTemplates {
		for _, v := range []string{`NaN`, `"NaN"`, `"-5"`, `-5`, `"abc"`, `""`, `"1e400"`, `1e400`, `Infinity`, `-Infinity`, `0.5e-400`} {
			payload := fill(tpl.key, tpl.text, v)
			s, r, err := registry.Decode(tpl.format, []byte(payload), registry.Options{})
			if err != nil {
				t.Errorf("%s %s: payload error %v", tpl.format, v, err)
				continue
			}
			if hasNode(s, "10.0.0.1:9000") {
				t.Errorf("%s weight %s: served %v", tpl.format, v, s.Nodes)
			}
			if e := rejectedAt(r, 0); e == nil {
				t.Errorf("%s weight %s: not rejected", tpl.format, v)
			}
			if r.Refused == nil && !hasNode(s, "10.0.0.2:9000") {
				t.Errorf("%s weight %s: the good node is gone (%v)", tpl.format, v, r.Rejected)
			}
		}
	}
}

// duplicateTemplates are registryTemplates and an EndpointSlice, each
// with a weight that differs from the template's own (for an
// EndpointSlice, whose endpoints carry no weight, a not-ready condition).
func duplicateTemplates() []struct{ format, key, text, same, other string } {
	var out []struct{ format, key, text, same, other string }
	for _, tpl := range registryTemplates {
		other := `7`
		switch {
		case strings.HasPrefix(tpl.native, `"`):
			other = `"7"`
		case tpl.format == registry.FormatNacos:
			other = `0.2`
		}
		out = append(out, struct{ format, key, text, same, other string }{string(tpl.format), tpl.key, tpl.text, tpl.native, other})
	}
	return append(out, struct{ format, key, text, same, other string }{string(registry.FormatEndpointSlice), "ready",
		`{"kind":"EndpointSlice","addressType":"IPv4","ports":[{"name":"http","port":9000}],"endpoints":[
		{"addresses":["10.0.0.1"],"conditions":{%s}},
		{"addresses":["10.0.0.2"],"conditions":{"ready":true}}]}`, `true`, `false`})
}

// TestRegistryDuplicateSpellings sends one backend twice in every format,
// the second time spelled another way (an IPv4-mapped IPv6 address, a DNS
// name in capitals with a final dot, IPv6 not in canonical form): with the
// same weight it is one node under its canonical id and the second copy
// is a duplicate (for Envoy, whose clients refuse a response with any
// invalid entry, the response is refused); with another weight no copy is
// served and both are duplicate-id rejects.
func TestRegistryDuplicateSpellings(t *testing.T) {
	spellings := []struct {
		name, first, second, canonical string
	}{
		{"IPv4-mapped", "10.0.0.1", "[::ffff:10.0.0.1]", "10.0.0.1:9000"},
		{"IPv4-mapped in hex", "10.0.0.1", "[::FFFF:a00:1]", "10.0.0.1:9000"},
		{"same text", "10.0.0.1", "10.0.0.1", "10.0.0.1:9000"},
		{"DNS name", "web.example", "WEB.Example.", "web.example:9000"},
		{"DNS name first in capitals", "Web.Example.", "web.example", "web.example:9000"},
		{"IPv6", "[fd00::1]", "[FD00:0:0::1]", "[fd00::1]:9000"},
		{"IPv6 zero groups", "[fd00:0:0:0:0:0:0:1]", "[fd00::1]", "[fd00::1]:9000"},
	}
	for _, tpl := range duplicateTemplates() {
		for _, sp := range spellings {
			for _, differ := range []bool{false, true} {
				name := tpl.format + "/" + sp.name
				if tpl.format == string(registry.FormatAPISIX) && tpl.key == "" {
					name = tpl.format + "-object/" + sp.name
				}
				if differ {
					name += "/other-weight"
				}
				t.Run(name, func(t *testing.T) {
					w := tpl.same
					if differ {
						w = tpl.other
					}
					payload := fill(tpl.key, tpl.text, w)
					payload = strings.ReplaceAll(payload, "10.0.0.1", sp.first)
					payload = strings.ReplaceAll(payload, "10.0.0.2", sp.second)
					s, r, err := registry.Decode(registry.Format(tpl.format), []byte(payload), registry.Options{})
					if err != nil {
						t.Fatalf("Decode: %v\n%s", err, payload)
					}
					checkRegistryResult(t, s, r, registry.Options{})
					second := rejectedAt(r, 1)
					if second == nil || second.Reason != weights.ReasonDuplicateID || !strings.Contains(second.Detail, "node #0") {
						t.Fatalf("second copy: %v, want a duplicate-id naming node #0\n%s", second, payload)
					}
					first := rejectedAt(r, 0)
					switch {
					case !differ && tpl.format == string(registry.FormatEDS):
						// Envoy refuses a whole response in which one value is invalid
						if first != nil || r.Refused == nil {
							t.Errorf("same weight: first copy %v, refused %v; want the response refused for the second copy", first, r.Refused)
						}
						return
					case !differ:
						if first != nil || r.Refused != nil || !hasNode(s, sp.canonical) || len(s.Nodes) != 1 {
							t.Errorf("same weight: nodes %v, first copy %v, refused %v; want only %s", s.Nodes, first, r.Refused, sp.canonical)
						}
						return
					}
					if first == nil || first.Reason != weights.ReasonDuplicateID || !strings.Contains(first.Detail, "node #1") {
						t.Errorf("other weight: first copy %v, want a duplicate-id naming node #1", first)
					}
					if len(s.Nodes) != 0 || r.Refused == nil {
						t.Errorf("other weight: served %v (refused %v); want no copy served", s.Nodes, r.Refused)
					}
				})
			}
		}
	}
}
