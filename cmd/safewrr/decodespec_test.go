package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fixture is a registry payload of weights/registry's test data.
func fixture(name string) string {
	return filepath.Join("..", "..", "weights", "registry", "testdata", "registries", name)
}

// TestDecodeFlagsEverywhere: validate, proxy, simulate and diff take the
// same decode flags, from one definition.
func TestDecodeFlagsEverywhere(t *testing.T) {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	addDecodeFlags(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) < 10 {
		t.Fatalf("only %d decode flags: %v", len(names), names)
	}
	for _, cmd := range []string{"validate", "proxy", "simulate", "diff"} {
		_, out, _ := runCLI(t, cmd, "-h")
		for _, name := range names {
			if !strings.Contains(out, "  -"+name+" ") && !strings.Contains(out, "  -"+name+"\n") {
				t.Errorf("%s -h does not list -%s", cmd, name)
			}
		}
	}
}

// TestSimulateDecodesRegistries: simulate reads a registry's response as
// that registry's, detected or named, not as a plain map.
func TestSimulateDecodesRegistries(t *testing.T) {
	nacos := "@" + fixture("nacos-list.json")
	code, out, errb := runCLI(t, "simulate", "--nodes", nacos, "--picks", "7", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var res simResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Format != "nacos" || len(res.Rejected) != 0 || len(res.Nodes) != 6 {
		t.Fatalf("format %q, %d nodes, rejected %v; want nacos, its 6 hosts, none rejected", res.Format, len(res.Nodes), res.Rejected)
	}
	for _, id := range res.Sequence {
		if !strings.HasPrefix(id, "10.3.0.") || !strings.HasSuffix(id, ":8080") {
			t.Errorf("picked %q, not one of the payload's hosts", id)
		}
	}
	if res.Counts["10.3.0.12:8080"] != 4 || res.Counts["10.3.0.11:8080"] != 2 || res.Counts["10.3.0.13:8080"] != 1 {
		t.Errorf("counts %v, want the Nacos weights 2.0, 1.0 and 0.5 in 7 picks: 4, 2, 1", res.Counts)
	}

	// The same file named as a plain map is read as one: a weight per key.
	code, out, _ = runCLI(t, "simulate", "--nodes", nacos, "--picks", "7", "--json", "--format", "map")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Format != "map" || len(res.Rejected) == 0 {
		t.Errorf("--format map: exit %d, format %q, rejected %d; want the map reading", code, res.Format, len(res.Rejected))
	}

	// Text output names the format and the decoder's notes.
	code, out, _ = runCLI(t, "simulate", "--nodes", nacos, "--picks", "3")
	if code != exitOK || !strings.HasPrefix(out, "format: nacos\n") || !strings.Contains(out, "drained: healthy false") {
		t.Errorf("text output, exit %d:\n%s", code, out)
	}
}

// TestSimulateDecodeFlags: the decode flags change simulate's reading as
// they change validate's, and their errors are usage errors.
func TestSimulateDecodeFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		has    string // in stdout (exit 0, 1) or stderr (exit 2)
		picked string // a node that must be picked
	}{
		{"strict", []string{"--nodes", `{"a":"10","b":1}`}, exitOK, "1 rejected", "b"},
		{"lenient", []string{"--nodes", `{"a":"10","b":1}`, "--policy", "lenient"}, exitOK, "0 rejected", "a"},
		{"lenient Lua table", []string{"--nodes", `{a="10", b=1}`, "--policy", "lenient"}, exitOK, "0 rejected", "a"},
		{"refuse partial", []string{"--nodes", `{"a":"10","b":1}`, "--refuse-partial"}, exitRejected, "refused", ""},
		{"require addresses", []string{"--nodes", `{"a":1,"10.0.0.1:80":1}`, "--require-addresses"}, exitOK, "not-an-address", "10.0.0.1:80"},
		{"disagreeing copies", []string{"--nodes", `{"a":5,"a":0,"b":1}`}, exitOK, "duplicate-id", "b"},
		{"bad policy", []string{"--nodes", `{"a":1}`, "--policy", "loose"}, exitUsage, "--policy must be strict or lenient", ""},
		{"bad format", []string{"--nodes", `{"a":1}`, "--format", "zookeeper"}, exitUsage, "--format", ""},
		{"format of a Lua table", []string{"--nodes", `{a=1}`, "--format", "consul"}, exitUsage, "needs a JSON payload", ""},
		{"not that format", []string{"--nodes", `{"a":1}`, "--format", "consul"}, exitUsage, "not a consul payload", ""},
		{"several services", []string{"--nodes", "@" + fixture("discovery-polls.json")}, exitUsage, "--merge-services", ""},
		{"merged services", []string{"--nodes", "@" + fixture("discovery-polls.json"), "--merge-services"}, exitOK, "format: discovery", ""},
		{"not a regular file", []string{"--nodes", "@" + t.TempDir()}, exitUsage, "not a regular file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runCLI(t, append([]string{"simulate", "--picks", "4"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d want %d\n%s%s", code, tt.code, out, errb)
			}
			where := out
			if code == exitUsage {
				where = errb
			}
			if !strings.Contains(where, tt.has) {
				t.Errorf("output does not say %q:\n%s", tt.has, where)
			}
			if tt.picked != "" && !strings.Contains(out, "\n  "+tt.picked+" ") && !strings.Contains(out, " "+tt.picked+"\n") {
				t.Errorf("%s not picked:\n%s", tt.picked, out)
			}
		})
	}
}

// TestDiffDecodesRegistries: diff reads a registry's response as that
// registry's; the Lua side gets the values the registry sent for the
// instances safewrr rejected (here the string "0", which hangs
// resty.roundrobin), and safewrr's side gives the same nodes as validate.
func TestDiffDecodesRegistries(t *testing.T) {
	spec := "@" + fixture("discovery-hostile.json")
	code, out, errb := runCLI(t, "diff", "--nodes", spec, "--picks", "6", "--json")
	if code != exitRejected {
		t.Fatalf("exit %d want %d (the Lua hangs): %s", code, exitRejected, errb)
	}
	var res struct {
		Verdict string `json:"verdict"`
		Lua     struct {
			Outcome string `json:"outcome"`
		} `json:"lua"`
		Safewrr struct {
			Policy string `json:"policy"`
			Nodes  []struct {
				ID     string `json:"id"`
				Weight uint32 `json:"weight"`
			} `json:"nodes"`
			Rejected []struct {
				ID     string `json:"id"`
				Reason string `json:"reason"`
			} `json:"rejected"`
		} `json:"safewrr"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Lua.Outcome != "hang" || res.Verdict != "safe" {
		t.Errorf("Lua %q, verdict %q; want hang, safe", res.Lua.Outcome, res.Verdict)
	}
	code, vout, _ := runCLI(t, "validate", "--json", spec[1:])
	var v validateResult
	if err := json.Unmarshal([]byte(vout), &v); err != nil || code != exitRejected {
		t.Fatalf("validate: exit %d, %v", code, err)
	}
	var got, want []string
	for _, n := range res.Safewrr.Nodes {
		got = append(got, n.ID)
	}
	for _, n := range v.Accepted {
		want = append(want, n.ID)
	}
	if !slices.Equal(got, want) || len(res.Safewrr.Rejected) == 0 {
		t.Errorf("diff's safewrr nodes %v (%d rejected), validate accepts %v", got, len(res.Safewrr.Rejected), want)
	}
	for _, r := range res.Safewrr.Rejected {
		if r.ID == "10.0.0.2:9000" && r.Reason != "string-zero" {
			t.Errorf("10.0.0.2:9000 rejected as %s, want string-zero", r.Reason)
		}
	}

	// --policy is one of the decode flags and keeps its meaning.
	code, out, _ = runCLI(t, "diff", "--nodes", `{a=5, b="1"}`, "--policy", "lenient", "--picks", "6", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitOK || res.Safewrr.Policy != "lenient" || len(res.Safewrr.Rejected) != 0 {
		t.Errorf("diff --policy lenient: exit %d, policy %q, rejected %v", code, res.Safewrr.Policy, res.Safewrr.Rejected)
	}
	code, _, errb = runCLI(t, "diff", "--nodes", `{a=5}`, "--format", "nacos")
	if code != exitUsage || !strings.Contains(errb, "needs a JSON payload") {
		t.Errorf("diff --format nacos on a Lua table: exit %d, %s", code, errb)
	}
}

// TestValidateSaysWhatTheProxyDoes: with --allow-names a plain map read
// with free-form ids gets a note (code proxy) for every node the proxy
// would read otherwise, and the exit code stays that of the map's own
// reading.
func TestValidateSaysWhatTheProxyDoes(t *testing.T) {
	old := validateStdin
	t.Cleanup(func() { validateStdin = old })
	validateStdin = strings.NewReader(`{"web-1": 5, "Web-2.Example.:80": 3, "a:80": 1, "A:80": 2, "10.0.0.1:80": 1}`)
	code, out, _ := runCLI(t, "validate", "--allow-names", "--json", "-")
	var v validateResult
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if code != exitOK || len(v.Accepted) != 5 {
		t.Fatalf("exit %d, %d accepted; want every node accepted as a name", code, len(v.Accepted))
	}
	want := map[int]string{
		0: "the proxy would reject this node: node id is not host:port (not-an-address): the id has no port",
		1: "the proxy would serve this node as web-2.example:80",
		2: "the proxy would reject this node: duplicate node id (duplicate-id)",
		3: "the proxy would reject this node: duplicate node id (duplicate-id)",
	}
	got := map[int]string{}
	for _, n := range v.Notes {
		if n.Code == "proxy" {
			got[n.Index] = n.Detail
		}
	}
	if len(got) != len(want) {
		t.Errorf("proxy notes %v, want %d", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("note #%d %q, want %q", i, got[i], w)
		}
	}

	// With --require-addresses the same nodes are rejects, and no proxy note is needed.
	validateStdin = strings.NewReader(`{"web-1": 5, "10.0.0.1:80": 1}`)
	code, out, _ = runCLI(t, "validate", "--require-addresses", "-")
	if code != exitRejected || strings.Contains(out, "proxy") || !strings.Contains(out, "not-an-address") {
		t.Errorf("--require-addresses: exit %d\n%s", code, out)
	}

	// The text says it at the end; a payload the proxy reads alike has no note.
	validateStdin = strings.NewReader(`{"web-1": 5}`)
	_, out, _ = runCLI(t, "validate", "--allow-names", "-")
	if !strings.Contains(out, "the proxy, which reads every id as host:port, would read this payload otherwise") {
		t.Errorf("text output does not warn:\n%s", out)
	}
	validateStdin = strings.NewReader(`{"10.0.0.1:80": 5, "web.example:80": 1}`)
	_, out, _ = runCLI(t, "validate", "-")
	if strings.Contains(out, "proxy") {
		t.Errorf("a payload of canonical addresses got a proxy note:\n%s", out)
	}
}

// TestValidateRejectsWhatTheProxyRejects: without --allow-names a plain
// map is read as the proxy reads it: a node the proxy rejects is a reject
// with the proxy's reason and exit 1, never only a note; a spelling the
// proxy serves in canonical form is accepted with a note.
func TestValidateRejectsWhatTheProxyRejects(t *testing.T) {
	old := validateStdin
	t.Cleanup(func() { validateStdin = old })
	read := func(payload string, args ...string) (int, validateResult) {
		t.Helper()
		validateStdin = strings.NewReader(payload)
		code, out, _ := runCLI(t, append(append([]string{"validate", "--json"}, args...), "-")...)
		var v validateResult
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: %v\n%s", payload, err, out)
		}
		return code, v
	}
	reasons := func(v validateResult) map[int]string {
		m := map[int]string{}
		for _, r := range v.Rejected {
			m[r.Index] = r.Reason
		}
		return m
	}
	payloadNote := func(v validateResult) bool {
		for _, n := range v.Notes {
			if n.Index == -1 && n.Code == "proxy" && strings.Contains(n.Detail, "--allow-names") {
				return true
			}
		}
		return false
	}

	// Names: not-an-address, exit 1; with --allow-names, accepted, exit 0.
	names := `{"web-1": 5, "10.0.0.1:80": 1}`
	code, v := read(names)
	if code != exitRejected || len(v.Accepted) != 1 || v.Accepted[0].ID != "10.0.0.1:80" ||
		!reflect.DeepEqual(reasons(v), map[int]string{0: "not-an-address"}) || v.Rejected[0].ID != "web-1" || !payloadNote(v) {
		t.Errorf("names: exit %d %+v", code, v)
	}
	if code, v := read(names, "--allow-names"); code != exitOK || len(v.Accepted) != 2 || len(v.Rejected) != 0 {
		t.Errorf("names with --allow-names: exit %d %+v", code, v)
	}

	// One backend spelled two ways at two weights: the proxy refuses the
	// snapshot (every copy duplicate-id).
	dup := `{"[::ffff:127.0.0.1]:80":5,"127.0.0.1:80":0}`
	code, v = read(dup)
	if code != exitRejected || v.Refused == nil || len(v.Accepted) != 0 ||
		!reflect.DeepEqual(reasons(v), map[int]string{0: "duplicate-id", 1: "duplicate-id"}) || !payloadNote(v) {
		t.Errorf("two spellings: exit %d %+v", code, v)
	}
	validateStdin = strings.NewReader(dup)
	code, text, _ := runCLI(t, "validate", "-")
	if code != exitRejected || strings.Contains(text, "OK") || !strings.Contains(text, "REFUSED") || !strings.Contains(text, "duplicate-id") {
		t.Errorf("two spellings, text: exit %d\n%s", code, text)
	}

	// Canonical renames only: accepted in canonical form, a note each, exit 0.
	code, v = read(`{"Web-1.Example:80": 5, "[0:0::1]:81": 2, "10.0.0.1:80": 1}`)
	want := []validateAccepted{{ID: "web-1.example:80", Weight: 5}, {ID: "[::1]:81", Weight: 2}, {ID: "10.0.0.1:80", Weight: 1}}
	if code != exitOK || !reflect.DeepEqual(v.Accepted, want) || len(v.Rejected) != 0 || payloadNote(v) {
		t.Errorf("renames: exit %d %+v", code, v)
	}
	var got []string
	for _, n := range v.Notes {
		if n.Code == "proxy" {
			got = append(got, fmt.Sprintf("#%d %s: %s", n.Index, n.ID, n.Detail))
		}
	}
	if wantNotes := []string{
		"#0 Web-1.Example:80: the proxy would serve this node as web-1.example:80, the address in canonical form",
		"#1 [0:0::1]:81: the proxy would serve this node as [::1]:81, the address in canonical form",
	}; !reflect.DeepEqual(got, wantNotes) {
		t.Errorf("rename notes %q, want %q", got, wantNotes)
	}
}

// TestValidateEurekaXML: Eureka's default XML answer is a payload error
// that says how to ask for JSON.
func TestValidateEurekaXML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apps.xml")
	if err := os.WriteFile(path, []byte("<applications><application><name>SVC</name></application></applications>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errb := runCLI(t, "validate", path)
	if code != exitRejected || !strings.Contains(errb, "the payload is XML, not JSON") || !strings.Contains(errb, "Accept: application/json") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the hint to ask Eureka for JSON", code, errb)
	}
}
