package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validateOut mirrors the documented --json output.
type validateOut struct {
	Format   string  `json:"format"`
	Detected bool    `json:"detected"`
	Policy   string  `json:"policy"`
	Entries  int     `json:"entries"`
	GCD      uint32  `json:"gcd"`
	Refused  *string `json:"refused"`
	Serving  int     `json:"serving"`
	// NothingToServe says why no node would serve.
	NothingToServe *string `json:"nothing_to_serve"`
	Accepted       []struct {
		ID      string `json:"id"`
		Weight  uint32 `json:"weight"`
		Drained bool   `json:"drained"`
	} `json:"accepted"`
	Rejected []struct {
		Index   int    `json:"index"`
		ID      string `json:"id"`
		Reason  string `json:"reason"`
		Raw     string `json:"raw"`
		Message string `json:"message"`
	} `json:"rejected"`
	Error *string `json:"error"`
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withStdin makes "-" read content for the duration of the test.
func withStdin(t *testing.T, content string) {
	t.Helper()
	old := validateStdin
	validateStdin = strings.NewReader(content)
	t.Cleanup(func() { validateStdin = old })
}

func validateJSON(t *testing.T, wantCode int, args ...string) validateOut {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"validate", "--json"}, args...)...)
	if code != wantCode {
		t.Fatalf("safewrr validate --json %q: exit %d want %d\nstdout %s\nstderr %s", args, code, wantCode, out, errOut)
	}
	var v validateOut
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	return v
}

func TestValidateIncidentPayload(t *testing.T) {
	path := writeFile(t, `{"10.0.0.1:80": 10, "10.0.0.2:80": "0", "10.0.0.3:80": 0, "10.0.0.4:80": 20}`)
	v := validateJSON(t, exitRejected, path)
	if v.Format != "map" || !v.Detected || v.Policy != "strict" || v.Entries != 4 || v.GCD != 10 || v.Refused != nil || v.Error != nil {
		t.Errorf("summary fields: %+v", v)
	}
	if len(v.Accepted) != 3 || v.Accepted[0].ID != "10.0.0.1:80" || v.Accepted[0].Weight != 10 || v.Accepted[0].Drained ||
		v.Accepted[1].ID != "10.0.0.3:80" || v.Accepted[1].Weight != 0 || !v.Accepted[1].Drained || v.Accepted[2].Weight != 20 {
		t.Errorf("accepted: %+v", v.Accepted)
	}
	if len(v.Rejected) != 1 {
		t.Fatalf("rejected: %+v", v.Rejected)
	}
	r := v.Rejected[0]
	if r.Index != 1 || r.ID != "10.0.0.2:80" || r.Reason != "string-zero" || r.Raw != `"0"` || !strings.Contains(r.Message, `the string "0"`) {
		t.Errorf("rejected: %+v", r)
	}
}

func TestValidateAllAccepted(t *testing.T) {
	path := writeFile(t, `[{"id": "a", "weight": 3}, {"id": "b", "weight": 1e1}]`)
	code, out, errOut := runCLI(t, "validate", "--allow-names", path)
	if code != exitOK {
		t.Fatalf("exit %d want %d\n%s%s", code, exitOK, out, errOut)
	}
	for _, want := range []string{"format map (detected), policy strict, 2 nodes", "accepted: 2 nodes", "rejected: 0 nodes", "OK: every node accepted"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexpLine(out, "a", "3", "serving") || !regexpLine(out, "b", "10", "serving") {
		t.Errorf("table rows missing:\n%s", out)
	}
}

func TestValidateTextTable(t *testing.T) {
	withStdin(t, `{"a": 5, "b": 0, "c": "0", "d\u001b[2J": -1, "e": 0.5}`)
	code, out, _ := runCLI(t, "validate", "--allow-names", "-")
	if code != exitRejected {
		t.Fatalf("exit %d want %d\n%s", code, exitRejected, out)
	}
	for _, row := range [][]string{
		{"a", "5", "serving"},
		{"b", "0", "drained"},
		{"2", "c", "string-zero", `"0"`},
		{"3", `"d\x1b[2J"`, "bad-id", "-1"},
		{"4", "e", "fraction", "0.5"},
	} {
		if !regexpLine(out, row...) {
			t.Errorf("no row %q in:\n%s", row, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape character from the payload reached the terminal:\n%q", out)
	}
	if !strings.Contains(out, "standard input: format map (detected)") || !strings.Contains(out, "applied without the 3 rejected nodes") {
		t.Errorf("summary lines:\n%s", out)
	}
}

func TestValidateLenient(t *testing.T) {
	withStdin(t, `{"a": "10", "b": " 10", "c": "0"}`)
	v := validateJSON(t, exitRejected, "--allow-names", "--policy", "lenient", "-")
	if v.Policy != "lenient" || len(v.Accepted) != 1 || v.Accepted[0].Weight != 10 {
		t.Errorf("lenient: %+v", v)
	}
	var reasons []string
	for _, r := range v.Rejected {
		reasons = append(reasons, r.Reason)
	}
	if !reflect.DeepEqual(reasons, []string{"bad-string", "string-zero"}) {
		t.Errorf("reasons %q", reasons)
	}
}

func TestValidateRefusePartial(t *testing.T) {
	withStdin(t, `{"a": 5, "b": -1}`)
	v := validateJSON(t, exitRejected, "--allow-names", "--refuse-partial", "-")
	if v.Refused == nil || !strings.Contains(*v.Refused, "refused") || len(v.Accepted) != 0 || len(v.Rejected) != 1 {
		t.Errorf("refuse-partial: %+v", v)
	}
	withStdin(t, `{"a": 5, "b": -1}`)
	_, out, _ := runCLI(t, "validate", "--allow-names", "--refuse-partial", "-")
	if !strings.Contains(out, "REFUSED: snapshot refused") || strings.Contains(out, "weights: ") {
		t.Errorf("text output does not say REFUSED:\n%s", out)
	}
}

func TestValidateScale(t *testing.T) {
	withStdin(t, `{"a": 0.5, "b": 1.25}`)
	v := validateJSON(t, exitOK, "--allow-names", "--format", "map", "--scale", "100", "-")
	if v.Detected || len(v.Accepted) != 2 || v.Accepted[0].Weight != 50 || v.Accepted[1].Weight != 125 {
		t.Errorf("scale: %+v", v)
	}
}

// TestValidateNothingToServe: a payload with no serving node (empty, all
// drained, nothing for the chosen service) exits 1 with its own message,
// unless --allow-empty says scale to zero is expected.
func TestValidateNothingToServe(t *testing.T) {
	polls := filepath.Join("..", "..", "weights", "registry", "testdata", "registries", "discovery-polls.json")
	tests := []struct {
		name  string
		stdin string
		args  []string
		why   string
	}{
		{"empty object", `{}`, []string{"-"}, "the payload holds no nodes"},
		{"empty array", `[]`, []string{"-"}, "the payload holds no nodes"},
		{"all drained", `{"a": 0, "b": 0}`, []string{"--allow-names", "-"}, "every accepted node is drained (2 of 2)"},
		{"unknown service", ``, []string{"--service", "NOPE", polls},
			`no service "NOPE" in the payload (it holds "main.account.account-service", "main.web-svr.web-interface")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withStdin(t, tt.stdin)
			v := validateJSON(t, exitRejected, tt.args...)
			if v.NothingToServe == nil || *v.NothingToServe != tt.why || v.Serving != 0 {
				t.Errorf("nothing_to_serve %v serving %d, want %q", v.NothingToServe, v.Serving, tt.why)
			}
			withStdin(t, tt.stdin)
			code, out, errOut := runCLI(t, append([]string{"validate"}, tt.args...)...)
			want := "NOTHING TO SERVE: " + tt.why + "; a balancer would have no node to pick (--allow-empty if that is expected)"
			if code != exitRejected || !strings.Contains(out, want) {
				t.Errorf("exit %d, output lacks %q:\n%s%s", code, want, out, errOut)
			}
			withStdin(t, tt.stdin)
			v = validateJSON(t, exitOK, append([]string{"--allow-empty"}, tt.args...)...)
			if v.NothingToServe == nil || len(v.Rejected) != 0 {
				t.Errorf("--allow-empty: %+v", v)
			}
			withStdin(t, tt.stdin)
			if code, out, _ := runCLI(t, append([]string{"validate", "--allow-empty"}, tt.args...)...); code != exitOK ||
				!strings.Contains(out, "OK: nothing to serve ("+tt.why+"), as --allow-empty allows") {
				t.Errorf("--allow-empty text: exit %d\n%s", code, out)
			}
		})
	}
}

func TestValidateMalformedPayloadIsRejected(t *testing.T) {
	for _, in := range []string{`{"a": 1,}`, "\xEF\xBB\xBF{}", `{"a": 1} {}`, ``, `"0"`} {
		withStdin(t, in)
		code, out, errOut := runCLI(t, "validate", "--format", "map", "--json", "-")
		if code != exitRejected {
			t.Errorf("%q: exit %d want %d", in, code, exitRejected)
		}
		var v validateOut
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Error == nil || strings.Contains(*v.Error, "weights: ") || !strings.Contains(*v.Error, "at byte") {
			t.Errorf("%q: --json output %s (%v)", in, out, err)
		}
		if !strings.Contains(errOut, "at byte") {
			t.Errorf("%q: stderr %q does not give the offset", in, errOut)
		}
	}
}

func TestValidateUsageAndIOErrors(t *testing.T) {
	path := writeFile(t, `{}`)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "FILE"},
		{[]string{"validate", path, path}, "one FILE at a time"},
		{[]string{"validate", "--policy", "loose", path}, "--policy must be strict or lenient"},
		{[]string{"validate", "--format", "zookeeper", path}, "--format"},
		{[]string{"validate", "--scale", "-1", path}, "invalid value"},
		{[]string{"validate", "--nope", path}, "flag provided but not defined"},
		{[]string{"validate", filepath.Join(t.TempDir(), "missing.json")}, "no such file"},
		{[]string{"validate", t.TempDir()}, "is a directory"},
	}
	for _, tc := range cases {
		code, _, errOut := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("safewrr %q: exit %d stderr %q; want exit %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

func TestValidateFlagsAfterFile(t *testing.T) {
	path := writeFile(t, `{"a": "7"}`)
	v := validateJSON(t, exitOK, path, "--policy", "lenient", "--allow-names")
	if len(v.Accepted) != 1 || v.Accepted[0].Weight != 7 {
		t.Errorf("%+v", v)
	}
}

// TestValidateJSONWriter: the list-at-a-time writer gives exactly what
// json.Encoder with a two-space indent gives.
func TestValidateJSONWriter(t *testing.T) {
	why := "x"
	results := []validateResult{
		{Format: "map", Accepted: []validateAccepted{}, Rejected: []validateRejected{}, Notes: []validateNote{}},
		{Format: "discovery", Detected: true, Entries: 3, NothingToServe: &why,
			Accepted: []validateAccepted{{ID: "a<b>", Weight: 1}, {ID: "b", Drained: true}},
			Rejected: []validateRejected{{Index: 2, ID: "c\u2028", Reason: "nan", Raw: "NaN", Message: "weight & co"}},
			Notes:    []validateNote{{Index: -1, Code: "filtered", Detail: "d"}, {Index: 0, ID: "a", Code: "defaulted"}}},
	}
	for _, r := range results {
		var want, got strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := writeValidateJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("got\n%s\nwant\n%s", got.String(), want.String())
		}
	}
}

// TestValidateJSONDocument compares a whole --json document, so that a field
// added, dropped or renamed shows as a structured diff.
func TestValidateJSONDocument(t *testing.T) {
	withStdin(t, `{"10.0.0.1:80": 10, "10.0.0.2:80": "00", "10.0.0.3:80": 0}`)
	code, out, _ := runCLI(t, "validate", "--json", "-")
	require.Equal(t, exitRejected, code)
	assert.JSONEq(t, `{
		"format": "map", "detected": true, "policy": "strict", "entries": 3, "gcd": 10,
		"refused": null, "serving": 1, "nothing_to_serve": null,
		"accepted": [{"id": "10.0.0.1:80", "weight": 10}, {"id": "10.0.0.3:80", "weight": 0, "drained": true}],
		"rejected": [{"index": 1, "id": "10.0.0.2:80", "reason": "string-zero", "raw": "\"00\"",
			"message": "weight is the string \"00\", a string of zeros, which registries read as drain or as default; refusing to guess (string-zero)"}],
		"notes": []
	}`, out)
}
