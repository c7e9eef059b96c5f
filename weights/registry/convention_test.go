package registry_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// TestRegistryConventions is the registry table of docs/registries.md as a test: what
// each registry's weight means by default (FollowRegistry, strict policy),
// and under FollowSDK where that differs. want is "w=N" (accepted with
// weight N), "drained", "reject:REASON" or "refused:REASON" (the node is
// rejected and the whole response refused); sdk is the FollowSDK outcome,
// "" when it is the same. A default reject that FollowSDK would have served
// must say in its message what the SDK would have done.
func TestRegistryConventions(t *testing.T) {
	tests := []struct {
		format registry.Format
		value  string // "" for missing
		want   string
		sdk    string
	}{
		{registry.FormatDiscovery, `"10"`, "w=10", ""},
		{registry.FormatDiscovery, `"0"`, "reject:string-zero", ""},
		{registry.FormatDiscovery, `""`, "reject:bad-string", "w=10"},
		{registry.FormatDiscovery, `"abc"`, "reject:bad-string", "w=10"},
		{registry.FormatDiscovery, `"NaN"`, "reject:bad-string", "w=10"},
		{registry.FormatDiscovery, `"-1"`, "reject:negative", "w=10"},
		{registry.FormatDiscovery, ``, "w=10", ""},
		{registry.FormatDiscovery, `0`, "drained", "w=10"},
		{registry.FormatDiscovery, `-5`, "reject:negative", "w=10"},
		{registry.FormatDiscovery, `"+7"`, "reject:bad-string", "w=7"},
		{registry.FormatDiscovery, `"007"`, "reject:bad-string", "w=7"},
		{registry.FormatDiscovery, `1e400`, "reject:overflow", ""},
		{registry.FormatDiscovery, `true`, "reject:not-a-number-type", ""},
		{registry.FormatDiscovery, `[1]`, "reject:not-a-number-type", ""},
		{registry.FormatDiscovery, `{"v":1}`, "reject:not-a-number-type", ""},
		{registry.FormatDiscovery, `10`, "w=10", ""},

		{registry.FormatKratos, `"10"`, "w=10", ""},
		{registry.FormatKratos, `"0"`, "reject:string-zero", ""},
		{registry.FormatKratos, `""`, "reject:bad-string", "w=100"},
		{registry.FormatKratos, `"abc"`, "reject:bad-string", "w=100"},
		{registry.FormatKratos, `"10.5"`, "reject:bad-string", "w=100"},
		{registry.FormatKratos, `"1e400"`, "reject:bad-string", "w=100"},
		{registry.FormatKratos, ``, "w=100", ""},
		{registry.FormatKratos, `"-5"`, "reject:negative", ""},
		{registry.FormatKratos, `0`, "drained", ""},

		{registry.FormatConsul, `10`, "w=10", ""},
		{registry.FormatConsul, `"0"`, "reject:string-zero", ""},
		{registry.FormatConsul, ``, "w=1", ""},
		{registry.FormatConsul, `0`, "drained", ""},
		{registry.FormatConsul, `"10"`, "reject:string-weight", ""},
		{registry.FormatConsul, `-1`, "reject:negative", ""},
		{registry.FormatConsul, `2.5`, "reject:fraction", ""},

		{registry.FormatNacos, `1.0`, "w=100", ""},
		{registry.FormatNacos, `0.5`, "w=50", ""},
		{registry.FormatNacos, `0.333`, "w=33", ""},
		{registry.FormatNacos, `0.001`, "w=1", ""},
		{registry.FormatNacos, `0.0`, "drained", ""},
		{registry.FormatNacos, ``, "w=100", ""},
		{registry.FormatNacos, `"0"`, "reject:string-zero", ""},
		{registry.FormatNacos, `"1"`, "reject:string-weight", ""},
		{registry.FormatNacos, `-1`, "reject:negative", ""},
		{registry.FormatNacos, `10000.01`, "reject:overflow", ""},

		{registry.FormatEureka, `"10"`, "w=10", ""},
		{registry.FormatEureka, `"0"`, "reject:string-zero", ""},
		{registry.FormatEureka, `""`, "reject:bad-string", "w=1"},
		{registry.FormatEureka, `"abc"`, "reject:bad-string", "w=1"},
		{registry.FormatEureka, `"-1"`, "reject:negative", "w=1"},
		{registry.FormatEureka, `"0.5"`, "reject:bad-string", "w=1"},
		{registry.FormatEureka, `"4294967296"`, "reject:overflow", "w=1"},
		{registry.FormatEureka, ``, "w=1", ""},

		{registry.FormatEDS, `10`, "w=10", ""},
		{registry.FormatEDS, `"7"`, "w=7", ""},
		{registry.FormatEDS, ``, "w=1", ""},
		{registry.FormatEDS, `null`, "w=1", ""},
		{registry.FormatEDS, `0`, "refused:zero", ""},
		{registry.FormatEDS, `"0"`, "refused:string-zero", ""},
		{registry.FormatEDS, `"abc"`, "refused:bad-string", ""},
		{registry.FormatEDS, `-1`, "refused:negative", ""},

		{registry.FormatAPISIX, `10`, "w=10", ""},
		{registry.FormatAPISIX, `0`, "drained", ""},
		{registry.FormatAPISIX, `"0"`, "reject:string-zero", ""},
		{registry.FormatAPISIX, ``, "reject:missing", ""},
		{registry.FormatAPISIX, `"10"`, "reject:string-weight", ""},
		{registry.FormatAPISIX, `2.5`, "reject:fraction", ""},
	}
	templates := map[registry.Format]int{}
	for i, tpl := range registryTemplates {
		if _, ok := templates[tpl.format]; !ok {
			templates[tpl.format] = i
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.format, tt.value), func(t *testing.T) {
			tpl := registryTemplates[templates[tt.format]]
			payload := fill(tpl.key, tpl.text, tt.value)
			s, r, err := registry.Decode(tt.format, []byte(payload), registry.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := outcome(s, r, "10.0.0.1:9000"); got != tt.want {
				t.Errorf("weight %s: got %s, want %s (rejected %v, notes %v)", tt.value, got, tt.want, r.Rejected, r.Notes)
			}
			sdkWant := tt.sdk
			if sdkWant == "" {
				sdkWant = tt.want
			}
			if sdkWant != tt.want {
				said := false
				if e := rejectedAt(r, 0); e != nil {
					said = strings.Contains(e.Detail, " would ")
				}
				for _, n := range r.Notes {
					said = said || (n.Index == 0 && strings.Contains(n.Detail, " would "))
				}
				if !said {
					t.Errorf("weight %s: neither the reject nor a note says what the SDK would have done (rejected %v, notes %v)", tt.value, r.Rejected, r.Notes)
				}
			}
			s, r, err = registry.Decode(tt.format, []byte(payload), registry.Options{Convention: registry.FollowSDK})
			if err != nil {
				t.Fatal(err)
			}
			if got := outcome(s, r, "10.0.0.1:9000"); got != sdkWant {
				t.Errorf("FollowSDK weight %s: got %s, want %s (rejected %v, notes %v)", tt.value, got, sdkWant, r.Rejected, r.Notes)
			}
		})
	}
}

func outcome(s weights.Snapshot, r registry.Report, id string) string {
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
		format registry.Format
		file   string
		o      registry.Options
		want   string // the nodes, "id=weight" joined by spaces, or "refused"
		note   string // a note code that must be present ("" none required)
	}{
		{"discovery default", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.22:9000=10", "defaulted"},
		{"discovery http scheme", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Scheme: "http"},
			"10.23.4.11:8000=10 10.23.4.12:8000=20 10.23.4.13:8000=0 10.64.7.22:8000=10", "address"},
		{"discovery own default", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Policy: weights.Policy{DefaultWeight: 3}},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.22:9000=3", "defaulted"},
		{"discovery as its SDK reads it", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Convention: registry.FollowSDK},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.21:9000=10 10.64.7.22:9000=10", "defaulted"},
		{"discovery follow policy", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Convention: registry.FollowPolicy},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=0 10.64.7.22:9000=1", "defaulted"},
		{"discovery reject not serving", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Health: registry.HealthReject},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.64.7.22:9000=10", ""},
		{"discovery ignore health", registry.FormatDiscovery, "discovery-fetch.json", registry.Options{Health: registry.HealthIgnore},
			"10.23.4.11:9000=10 10.23.4.12:9000=20 10.23.4.13:9000=10 10.64.7.22:9000=10", "health-ignored"},
		{"polls one appid", registry.FormatDiscovery, "discovery-polls.json", registry.Options{Service: "main.account.account-service"},
			"10.23.9.1:9000=100 10.23.9.2:9000=100", "filtered"},
		{"nacos scale 10", registry.FormatNacos, "nacos-list.json", registry.Options{Policy: weights.Policy{Scale: 10}},
			"10.3.0.11:8080=10 10.3.0.12:8080=20 10.3.0.13:8080=5 10.3.0.14:8080=0 10.3.0.15:8080=0 10.3.0.16:8080=0", "scaled"},
		{"nacos fractions strict", registry.FormatNacos, "nacos-fractions.json", registry.Options{Convention: registry.FollowPolicy},
			"10.3.1.1:9000=30 10.3.1.2:9000=50 10.3.1.3:9000=25 10.3.1.5:9000=7", ""},
		{"nacos fractions scale 3", registry.FormatNacos, "nacos-fractions.json", registry.Options{Policy: weights.Policy{Scale: 3}},
			"refused", ""},
		{"eureka one app", registry.FormatEureka, "eureka-apps.json", registry.Options{Service: "reviews-service"},
			"10.4.1.31:9080=0", "filtered"},
		{"eds whole by default", registry.FormatEDS, "eds-zero.json", registry.Options{}, "refused", ""},
		{"eds partial on request", registry.FormatEDS, "eds-zero.json", registry.Options{Convention: registry.FollowPolicy},
			"10.49.1.1:8443=10 10.49.1.2:8443=0 10.49.1.3:8443=10", "ignored"},
		{"eds other cluster", registry.FormatEDS, "eds-discovery-response.json", registry.Options{Service: "reviews"}, "", "filtered"},
		{"consul refuse partial", registry.FormatConsul, "consul-hostile.json", registry.Options{Policy: weights.Policy{Partial: weights.RefuseWhole}}, "refused", ""},
		{"slice port by name", registry.FormatEndpointSlice, "endpointslice-list.json", registry.Options{Port: "http"},
			"[fd00:10:244::5]:8080=1 [fd00:10:244::6]:8080=1 [fd00:10:244::9]:8080=1", "address"},
		{"slice no such port", registry.FormatEndpointSlice, "endpointslice.json", registry.Options{Port: "grpc"}, "refused", ""},
		{"kratos one service", registry.FormatKratos, "kratos-instances.json", registry.Options{Service: "nope"}, "", "filtered"},
		{"apisix fails over to a lower priority", registry.FormatAPISIX, "apisix-admin-array.json", registry.Options{Policy: weights.Policy{MaxWeight: 50}}, "backup.internal:443=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r, err := registry.Decode(tt.format, read(t, tt.file), tt.o)
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

// TestDiscoveryNumberType: discovery stores the weight as a string; a JSON
// number there is read as a number and noted (number-type), a number 0
// drains with a note saying what the SDK would have done, and other types
// are rejected (not-a-number-type), as the table in docs/registries.md says.
func TestDiscoveryNumberType(t *testing.T) {
	tpl := registryTemplates[0]
	if tpl.format != registry.FormatDiscovery {
		t.Fatalf("template 0 is %s, want discovery", tpl.format)
	}
	notes := func(value string) []string {
		_, r, err := registry.Decode(registry.FormatDiscovery, []byte(fill(tpl.key, tpl.text, value)), registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range r.Notes {
			if n.Index == 0 {
				out = append(out, string(n.Code)+": "+n.Detail)
			}
		}
		return out
	}
	got := strings.Join(notes(`10`), "\n")
	if want := "number-type: weight sent as the JSON number 10 where the registry stores a string"; got != want {
		t.Errorf("number 10: notes %q, want %q", got, want)
	}
	got = strings.Join(notes(`0`), "\n")
	if want := "drained: weight 0 drains the node; the Bilibili discovery SDK would use 10"; !strings.Contains(got, want) {
		t.Errorf("number 0: notes %q, want one %q", got, want)
	}
}

// TestConsulCheckNames: a check is named in notes by its CheckID, else its
// Name, else its place; never by an empty string.
func TestConsulCheckNames(t *testing.T) {
	entry := func(check string) string {
		return `{"Node":{"Address":"10.0.0.1"},"Service":{"ID":"a","Address":"10.0.0.1","Port":9000,"Weights":{"Passing":10,"Warning":1}},"Checks":[` + check + `]}`
	}
	tests := []struct{ check, want string }{
		{`{"CheckID":"serfHealth","Status":"critical"}`, `check serfHealth is "critical"`},
		{`{"Name":"HTTP on /health","Status":"critical"}`, `check "HTTP on /health" (no CheckID) is "critical"`},
		{`{"Status":"critical"}`, `check Checks[0] (no CheckID or Name) is "critical"`},
		{`{"Status":"warning"}`, `check Checks[0] (no CheckID or Name) is "warning"`},
	}
	for _, tt := range tests {
		_, r, err := registry.Decode(registry.FormatConsul, []byte("["+entry(tt.check)+"]"), registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, n := range r.Notes {
			details = append(details, n.Detail)
		}
		all := strings.Join(details, "\n")
		if !strings.Contains(all, tt.want) || strings.Contains(all, "check  ") {
			t.Errorf("check %s: notes %q, want one with %q", tt.check, all, tt.want)
		}
	}
}

// TestMultipleServicesError: the error wraps ErrMultipleServices and names
// every service; choosing one or merging them decodes.
func TestMultipleServicesError(t *testing.T) {
	data := mustRead(t, "testdata/registries/discovery-polls.json")
	_, r, err := registry.Decode(registry.FormatDiscovery, data, registry.Options{})
	require.ErrorIs(t, err, registry.ErrMultipleServices)
	assert.Equal(t, []string{"main.account.account-service", "main.web-svr.web-interface"}, r.Services)
	for _, svc := range r.Services {
		assert.Contains(t, err.Error(), `"`+svc+`"`)
	}
	_, _, err = registry.Decode(registry.FormatDiscovery, data, registry.Options{MergeServices: true})
	require.NoError(t, err)
	_, _, err = registry.Decode(registry.FormatDiscovery, data, registry.Options{Service: r.Services[1]})
	require.NoError(t, err)
}

// A reject that is not about the weight (the instance does not serve, its
// id is no address) does not say where the weight was; a reject of the
// weight does.
func TestRejectDetailNamesTheWeightOnlyForWeights(t *testing.T) {
	payload := []byte(`{"hosts":[{"ip":"10.0.0.1","port":80,"weight":1,"healthy":false},` +
		`{"ip":"10.0.0.2/x","port":80,"weight":1},{"ip":"10.0.0.3","port":80,"weight":-1}]}`)
	_, rep, err := registry.Decode(registry.FormatNacos, payload, registry.Options{Health: registry.HealthReject})
	require.NoError(t, err)
	require.Len(t, rep.Rejected, 3)
	for _, ne := range rep.Rejected {
		mentions := strings.Contains(ne.Detail, "the weight is hosts[].weight")
		switch ne.Reason {
		case weights.ReasonNotServing, weights.ReasonNotAddress:
			assert.False(t, mentions, "%s: %s", ne.Reason, ne.Detail)
		default:
			assert.True(t, mentions, "%s: %s", ne.Reason, ne.Detail)
		}
	}
}
