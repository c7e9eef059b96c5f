package registry_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// go test ./weights -run TestGolden -update rewrites the golden files.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/registries")

// registryFixtures lists testdata/registries/*.json with the format each one
// is written in (the file name up to the first '-').
func registryFixtures(t *testing.T) map[string]registry.Format {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "registries", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := make(map[string]registry.Format, len(paths))
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		f, err := registry.ParseFormat(strings.SplitN(name, "-", 2)[0])
		if err != nil {
			t.Fatalf("fixture %s: name does not start with a format: %v", p, err)
		}
		out[p] = f
	}
	return out
}

// render writes a decode result in a stable, readable form.
func render(s weights.Snapshot, r registry.Report, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s\n", r.Format)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	if r.Refused != nil {
		fmt.Fprintf(&b, "refused: %v\n", r.Refused)
	}
	fmt.Fprintf(&b, "entries: %d, accepted: %d, rejected: %d, gcd: %d\n", r.Entries, len(s.Nodes), len(r.Rejected), r.GCD)
	for _, n := range s.Nodes {
		state := ""
		if n.Drained() {
			state = " (drained)"
		}
		fmt.Fprintf(&b, "node %s %d%s\n", n.ID, n.Weight, state)
	}
	for _, e := range r.Rejected {
		fmt.Fprintf(&b, "rejected #%d %q %s raw=%s: %s\n", e.Index, e.ID, e.Reason, e.Raw, e.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note %s\n", n)
	}
	return b.String()
}

// TestGolden decodes every fixture under the default options, the
// hostile ones also under FollowPolicy, and those that hold several
// services or ports (an error by default) also with MergeServices or the
// port named "http", and compares with
// the golden files; -update rewrites them.
func TestGolden(t *testing.T) {
	for path, f := range registryFixtures(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		runs := map[string]registry.Options{".golden": {}}
		if strings.Contains(path, "hostile") {
			runs[".policy.golden"] = registry.Options{Convention: registry.FollowPolicy, Policy: weights.Lenient()}
		}
		switch _, _, err := registry.Decode(f, data, registry.Options{}); {
		case errors.Is(err, registry.ErrMultipleServices):
			runs[".merged.golden"] = registry.Options{MergeServices: true}
		case errors.Is(err, registry.ErrMultiplePorts):
			runs[".http.golden"] = registry.Options{Port: "http"}
		}
		for suffix, o := range runs {
			golden := strings.TrimSuffix(path, ".json") + suffix
			t.Run(filepath.Base(golden), func(t *testing.T) {
				s, r, err := registry.Decode(f, data, o)
				got := render(s, r, err)
				if *updateGolden {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("Decode(%s, %s) differs from %s:\n--- got\n%s--- want\n%s", f, path, golden, got, want)
				}
			})
		}
	}
}

// TestRegistryAutoDetect checks that auto detection picks the format each
// fixture is written in, and gives the same result as naming it.
func TestRegistryAutoDetect(t *testing.T) {
	for path, f := range registryFixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := registry.DetectFormat(data, weights.Limits{})
			if err != nil || got != f {
				t.Fatalf("DetectFormat(%s) = %q, %v; want %q", path, got, err, f)
			}
			s1, r1, err1 := registry.DecodeFormat(registry.FormatAuto, data, weights.Policy{})
			s2, r2, err2 := registry.DecodeFormat(f, data, weights.Policy{})
			if r1.Format != string(f) {
				t.Errorf("DecodeFormat(auto).Format = %q, want %q", r1.Format, f)
			}
			a := render(s1, registry.Report{Report: r1}, err1)
			b := render(s2, registry.Report{Report: r2}, err2)
			if a != b {
				t.Errorf("auto and %s differ:\n%s\n%s", f, a, b)
			}
		})
	}
}

// TestDetectFormat covers shapes that are not fixtures: plain snapshots,
// ambiguous and unknown payloads.
func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, payload string
		want          registry.Format
		errHas        []string // substrings of the error; nil: no error
	}{
		{"map object", `{"10.0.0.1:80": 10, "10.0.0.2:80": "0"}`, registry.FormatMap, nil},
		{"map array", `[{"id":"a:1","weight":1}]`, registry.FormatMap, nil},
		{"empty object", `{}`, registry.FormatMap, nil},
		{"empty array", `[]`, registry.FormatMap, nil},
		{"map with id named hosts", `{"hosts": 5}`, registry.FormatMap, nil},
		{"consul", `[{"Node":{"Address":"1.2.3.4"},"Service":{"Port":1},"Checks":[]}]`, registry.FormatConsul, nil},
		{"kratos array", `[{"id":"x","endpoints":["grpc://1.2.3.4:9000"]}]`, registry.FormatKratos, nil},
		{"apisix array", `[{"host":"1.2.3.4","port":80,"weight":1}]`, registry.FormatAPISIX, nil},
		{"apisix route", `{"uri":"/x","upstream":{"nodes":{"1.2.3.4:80":1}}}`, registry.FormatAPISIX, nil},
		{"nacos v2", `{"code":0,"data":{"hosts":[]}}`, registry.FormatNacos, nil},
		{"discovery polls", `{"code":0,"data":{"a.b":{"instances":{}}}}`, registry.FormatDiscovery, nil},
		{"eureka instance", `{"instance":{"app":"A","ipAddr":"1.2.3.4"}}`, registry.FormatEureka, nil},
		{"slice without kind", `{"addressType":"IPv4","endpoints":[]}`, registry.FormatEndpointSlice, nil},
		{"ambiguous", `{"hosts":[],"nodes":{}}`, "", []string{"nacos", "apisix", "name one of them"}},
		{"unknown", `{"servers":[{"addr":"1.2.3.4:80"}]}`, "", []string{`"servers"`, "map, discovery, kratos, consul, nacos, eureka, eds, apisix, endpointslice"}},
		{"scalar", `42`, "", []string{"a number", "map, discovery"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registry.DetectFormat([]byte(tt.payload), weights.Limits{})
			if tt.errHas == nil {
				if err != nil || got != tt.want {
					t.Fatalf("DetectFormat(%s) = %q, %v; want %q", tt.payload, got, err, tt.want)
				}
				return
			}
			if err == nil || !errors.Is(err, registry.ErrUnknownFormat) {
				t.Fatalf("DetectFormat(%s) = %q, %v; want an ErrUnknownFormat", tt.payload, got, err)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			_, r, err := registry.DecodeFormat(registry.FormatAuto, []byte(tt.payload), weights.Policy{})
			if !errors.Is(err, registry.ErrUnknownFormat) || r.Format != string(registry.FormatAuto) {
				t.Errorf("DecodeFormat(auto) = %q, %v; want format auto and ErrUnknownFormat", r.Format, err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range append(registry.Formats(), registry.FormatAuto) {
		if got, err := registry.ParseFormat(strings.ToUpper(string(f))); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", strings.ToUpper(string(f)), got, err)
		}
	}
	_, err := registry.ParseFormat("zookeeper")
	if !errors.Is(err, registry.ErrUnknownFormat) || !strings.Contains(err.Error(), "auto, map, discovery") {
		t.Errorf("ParseFormat(zookeeper) error = %v", err)
	}
	if _, _, err := registry.DecodeFormat("zookeeper", []byte(`{}`), weights.Policy{}); !errors.Is(err, registry.ErrUnknownFormat) {
		t.Errorf("DecodeFormat(zookeeper) error = %v", err)
	}
}

// TestRegistryWrongFormat: a payload decoded as another registry's format
// is a payload error, not an empty snapshot.
func TestRegistryWrongFormat(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "registries", "consul-health.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []registry.Format{registry.FormatDiscovery, registry.FormatNacos, registry.FormatEureka, registry.FormatEDS, registry.FormatEndpointSlice} {
		_, r, err := registry.DecodeFormat(f, data, weights.Policy{})
		var pe *weights.PayloadError
		if !errors.As(err, &pe) || !errors.Is(err, weights.ErrShape) || r.Format != string(f) {
			t.Errorf("DecodeFormat(%s, consul payload) = %q, %v; want a *PayloadError wrapping ErrShape", f, r.Format, err)
		}
	}
	if _, _, err := registry.DecodeFormat(registry.FormatNacos, []byte(`{"hosts": [`), weights.Policy{}); !errors.Is(err, weights.ErrSyntax) {
		t.Errorf("truncated payload: error %v, want ErrSyntax", err)
	}
	_ = bytes.MinRead
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
