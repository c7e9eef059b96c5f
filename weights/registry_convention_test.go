package weights_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// TestRegistryConventions is the README's registry table as a test: what
// each registry's weight means by default (FollowRegistry, strict policy).
// want is "w=N" (accepted with weight N), "drained", "reject:REASON" or
// "refused:REASON" (the node is rejected and the whole response refused).
func TestRegistryConventions(t *testing.T) {
	tests := []struct {
		format weights.Format
		value  string // "" for missing
		want   string
	}{
		{weights.FormatDiscovery, `"10"`, "w=10"},
		{weights.FormatDiscovery, `"0"`, "reject:string-zero"},
		{weights.FormatDiscovery, `""`, "w=10"},
		{weights.FormatDiscovery, `"abc"`, "w=10"},
		{weights.FormatDiscovery, `"-1"`, "w=10"},
		{weights.FormatDiscovery, ``, "w=10"},
		{weights.FormatDiscovery, `0`, "w=10"},
		{weights.FormatDiscovery, `"+7"`, "w=7"},
		{weights.FormatDiscovery, `1e400`, "reject:overflow"},
		{weights.FormatDiscovery, `true`, "reject:not-a-number-type"},

		{weights.FormatKratos, `"10"`, "w=10"},
		{weights.FormatKratos, `"0"`, "reject:string-zero"},
		{weights.FormatKratos, `""`, "w=100"},
		{weights.FormatKratos, `"abc"`, "w=100"},
		{weights.FormatKratos, `"10.5"`, "w=100"},
		{weights.FormatKratos, ``, "w=100"},
		{weights.FormatKratos, `"-5"`, "reject:negative"},
		{weights.FormatKratos, `0`, "drained"},

		{weights.FormatConsul, `10`, "w=10"},
		{weights.FormatConsul, `"0"`, "reject:string-zero"},
		{weights.FormatConsul, ``, "w=1"},
		{weights.FormatConsul, `0`, "drained"},
		{weights.FormatConsul, `"10"`, "reject:string-weight"},
		{weights.FormatConsul, `-1`, "reject:negative"},
		{weights.FormatConsul, `2.5`, "reject:fraction"},

		{weights.FormatNacos, `1.0`, "w=100"},
		{weights.FormatNacos, `0.5`, "w=50"},
		{weights.FormatNacos, `0.333`, "w=33"},
		{weights.FormatNacos, `0.001`, "w=1"},
		{weights.FormatNacos, `0.0`, "drained"},
		{weights.FormatNacos, ``, "w=100"},
		{weights.FormatNacos, `"0"`, "reject:string-zero"},
		{weights.FormatNacos, `"1"`, "reject:string-weight"},
		{weights.FormatNacos, `-1`, "reject:negative"},
		{weights.FormatNacos, `10000.01`, "reject:overflow"},

		{weights.FormatEureka, `"10"`, "w=10"},
		{weights.FormatEureka, `"0"`, "reject:string-zero"},
		{weights.FormatEureka, `""`, "w=1"},
		{weights.FormatEureka, `"abc"`, "w=1"},
		{weights.FormatEureka, `"-1"`, "w=1"},
		{weights.FormatEureka, `"0.5"`, "w=1"},
		{weights.FormatEureka, ``, "w=1"},

		{weights.FormatEDS, `10`, "w=10"},
		{weights.FormatEDS, `"7"`, "w=7"},
		{weights.FormatEDS, ``, "w=1"},
		{weights.FormatEDS, `null`, "w=1"},
		{weights.FormatEDS, `0`, "refused:zero"},
		{weights.FormatEDS, `"0"`, "refused:string-zero"},
		{weights.FormatEDS, `"abc"`, "refused:bad-string"},
		{weights.FormatEDS, `-1`, "refused:negative"},

		{weights.FormatAPISIX, `10`, "w=10"},
		{weights.FormatAPISIX, `0`, "drained"},
		{weights.FormatAPISIX, `"0"`, "reject:string-zero"},
		{weights.FormatAPISIX, ``, "reject:missing"},
		{weights.FormatAPISIX, `"10"`, "reject:string-weight"},
		{weights.FormatAPISIX, `2.5`, "reject:fraction"},
	}
	templates := map[weights.Format]int{}
	for i, tpl := range registryTemplates {
		if _, ok := templates[tpl.format]; !ok {
			templates[tpl.format] = i
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.format, tt.value), func(t *testing.T) {
			tpl := registryTemplates[templates[tt.format]]
			payload := fill(tpl.key, tpl.text, tt.value)
			s, r, err := weights.DecodeRegistry(tt.format, []byte(payload), weights.RegistryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := outcome(s, r, "10.0.0.1:9000"); got != tt.want {
				t.Errorf("weight %s: got %s, want %s (rejected %v, notes %v)", tt.value, got, tt.want, r.Rejected, r.Notes)
			}
		})
	}
}

func outcome(s weights.Snapshot, r weights.RegistryReport, id string) string {
	if e := rejectedAt(r, 0); e != nil {
		if r.Refused != nil {
			return "refused:" + string(e.Reason)
		}
		return "reject:" + string(e.Reason)
	}
	for _, n := range s.Nodes {
		if n.ID == id {
			if n.Drained() {
				return "drained"
			}
			return fmt.Sprintf("w=%d", n.Weight)
		}
	}
	return "absent"
}

// TestRegistryOptions covers the options a caller overrides a registry's
// convention with.
func TestRegistryOptions(t *testing.T) {
	read := func(t *testing.T, name string) []byte {
		t.Helper()
		return mustRead(t, "testdata/registries/"+name)
	}
	tests := []struct {
		name   string
		format weights.Format
		file   string
		o      weights.RegistryOptions
		want   string // the nodes, "id=weight" joined by spaces, or "refused"
		note   string // a note code that must be present ("" none required)
	}{
		{"discovery default", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.21:9000=10 10.64.7.22:9000=10", "defaulted"},
		{"discovery http scheme", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{Scheme: "http"},
			"10.23.4.11:8000=10 10.23.4.12:8000=20 10.23.4.13:8000=0 10.64.7.21:8000=10 10.64.7.22:8000=10", "address"},
		{"discovery own default", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{Policy: weights.Policy{DefaultWeight: 3}},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.21:9000=3 10.64.7.22:9000=3", "defaulted"},
		{"discovery follow policy", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{Convention: weights.FollowPolicy},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.22:9000=1", "defaulted"},
		{"discovery reject not serving", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{Health: weights.HealthReject},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.64.7.21:9000=10 10.64.7.22:9000=10", ""},
		{"discovery ignore health", weights.FormatDiscovery, "discovery-fetch.json", weights.RegistryOptions{Health: weights.HealthIgnore},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=10 10.64.7.21:9000=10 10.64.7.22:9000=10", "health-ignored"},
		{"polls one appid", weights.FormatDiscovery, "discovery-polls.json", weights.RegistryOptions{Service: "main.account.account-service"},
			"10.23.9.1:9000=100 10.23.9.2:9000=100", "filtered"},
		{"nacos scale 10", weights.FormatNacos, "nacos-list.json", weights.RegistryOptions{Policy: weights.Policy{Scale: 10}},
			"10.3.0.11:8080=10 10.3.0.12:8080=20 10.3.0.13:8080=5 10.3.0.14:8080=0 10.3.0.15:8080=0 10.3.0.16:8080=0", "scaled"},
		{"nacos fractions strict", weights.FormatNacos, "nacos-fractions.json", weights.RegistryOptions{Convention: weights.FollowPolicy},
			"10.3.1.1:9000=30 10.3.1.2:9000=50 10.3.1.3:9000=25 10.3.1.5:9000=7", ""},
		{"nacos fractions scale 3", weights.FormatNacos, "nacos-fractions.json", weights.RegistryOptions{Policy: weights.Policy{Scale: 3}},
			"refused", ""},
		{"eureka one app", weights.FormatEureka, "eureka-apps.json", weights.RegistryOptions{Service: "reviews-service"},
			"10.4.1.31:9080=0", "filtered"},
		{"eds whole by default", weights.FormatEDS, "eds-zero.json", weights.RegistryOptions{}, "refused", ""},
		{"eds partial on request", weights.FormatEDS, "eds-zero.json", weights.RegistryOptions{Convention: weights.FollowPolicy},
			"10.49.1.1:8443=10 10.49.1.2:8443=0 10.49.1.3:8443=10", "ignored"},
		{"eds other cluster", weights.FormatEDS, "eds-discovery-response.json", weights.RegistryOptions{Service: "reviews"}, "", "filtered"},
		{"consul refuse partial", weights.FormatConsul, "consul-hostile.json", weights.RegistryOptions{Policy: weights.Policy{Partial: weights.RefuseWhole}}, "refused", ""},
		{"slice port by name", weights.FormatEndpointSlice, "endpointslice-list.json", weights.RegistryOptions{Port: "http"},
			"[fd00:10:244::5]:8080=1 [fd00:10:244::6]:8080=1 [fd00:10:244::9]:8080=1", "address"},
		{"slice no such port", weights.FormatEndpointSlice, "endpointslice.json", weights.RegistryOptions{Port: "grpc"}, "refused", ""},
		{"kratos one service", weights.FormatKratos, "kratos-instances.json", weights.RegistryOptions{Service: "nope"}, "", "filtered"},
		{"apisix fails over to a lower priority", weights.FormatAPISIX, "apisix-admin-array.json", weights.RegistryOptions{Policy: weights.Policy{MaxWeight: 50}}, "backup.internal:443=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r, err := weights.DecodeRegistry(tt.format, read(t, tt.file), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			checkRegistryResult(t, s, r, tt.o)
			var got []string
			for _, n := range s.Nodes {
				got = append(got, fmt.Sprintf("%s=%d", n.ID, n.Weight))
			}
			g := strings.Join(got, " ")
			if r.Refused != nil {
				g = "refused"
			}
			if g != tt.want {
				t.Errorf("nodes:\n got  %s\n want %s\n(rejected %v)", g, tt.want, r.Rejected)
			}
			if tt.note != "" {
				found := false
				for _, n := range r.Notes {
					found = found || string(n.Code) == tt.note
				}
				if !found {
					t.Errorf("no %q note in %v", tt.note, r.Notes)
				}
			}
		})
	}
}
