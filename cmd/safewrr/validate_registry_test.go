package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights/registry"
)

// registryFixtures are the weights package's registry samples.
func registryFixtures(t *testing.T) map[string]registry.Format {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "weights", "registry", "testdata", "registries", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no registry fixtures: %v", err)
	}
	out := map[string]registry.Format{}
	for _, p := range paths {
		f, err := registry.ParseFormat(strings.SplitN(strings.TrimSuffix(filepath.Base(p), ".json"), "-", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		out[p] = f
	}
	return out
}

// validateNotes is the notes part of the --json output.
type validateNotes struct {
	Notes []struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"notes"`
}

// TestValidateRegistryFormats runs validate on every registry sample, with
// --format auto and with the format named, and checks the output against
// the library: the format chosen, detected or given, the accepted and
// rejected nodes, the notes, and the exit code.
func TestValidateRegistryFormats(t *testing.T) {
	for path, f := range registryFixtures(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var (
			o     registry.Options
			extra []string
		)
		switch _, _, err := registry.Decode(f, data, o); {
		case errors.Is(err, registry.ErrMultipleServices):
			o.MergeServices, extra = true, []string{"--merge-services"}
		case errors.Is(err, registry.ErrMultiplePorts):
			o.Port, extra = "http", []string{"--port", "http"}
		}
		s, r, derr := registry.Decode(f, data, o)
		if derr != nil {
			t.Fatalf("%s: %v", path, derr)
		}
		serving := 0
		for _, n := range s.Nodes {
			if !n.Drained() {
				serving++
			}
		}
		wantCode := exitOK
		if r.Refused != nil || len(r.Rejected) > 0 || serving == 0 {
			wantCode = exitRejected
		}
		for _, named := range []string{"auto", string(f)} {
			t.Run(filepath.Base(path)+"/"+named, func(t *testing.T) {
				v := validateJSON(t, wantCode, append([]string{"--format", named, path}, extra...)...)
				if v.Serving != serving {
					t.Errorf("serving %d, want %d", v.Serving, serving)
				}
				if v.Format != string(f) || v.Detected != (named == "auto") {
					t.Errorf("format %q detected %v; want %q detected %v", v.Format, v.Detected, f, named == "auto")
				}
				if len(v.Accepted) != len(s.Nodes) || len(v.Rejected) != len(r.Rejected) {
					t.Fatalf("accepted %d rejected %d; want %d and %d", len(v.Accepted), len(v.Rejected), len(s.Nodes), len(r.Rejected))
				}
				for i, n := range s.Nodes {
					a := v.Accepted[i]
					if a.ID != n.ID || a.Weight != n.Weight || a.Drained != n.Drained() {
						t.Errorf("accepted[%d] = %+v, want %v", i, a, n)
					}
				}
				for i, e := range r.Rejected {
					if got := v.Rejected[i]; got.Index != e.Index || got.Reason != string(e.Reason) || got.Raw != e.Raw.String() {
						t.Errorf("rejected[%d] = %+v, want %v", i, got, e)
					}
				}
				if (v.Refused != nil) != (r.Refused != nil) {
					t.Errorf("refused %v, want %v", v.Refused, r.Refused)
				}
				_, out, _ := runCLI(t, append([]string{"validate", "--json", "--format", named, path}, extra...)...)
				var n validateNotes
				if err := json.Unmarshal([]byte(out), &n); err != nil {
					t.Fatal(err)
				}
				if len(n.Notes) != len(r.Notes) {
					t.Errorf("%d notes, want %d", len(n.Notes), len(r.Notes))
				}

				code, text, _ := runCLI(t, append([]string{"validate", "--format", named, path}, extra...)...)
				how := "given"
				if named == "auto" {
					how = "detected"
				}
				if code != wantCode || !strings.Contains(text, "format "+string(f)+" ("+how+")") {
					t.Errorf("text output: exit %d (want %d), no %q line:\n%s", code, wantCode, "format "+string(f)+" ("+how+")", text)
				}
			})
		}
	}
}

// TestValidateRegistryText checks the text tables of a discovery payload:
// the string "0" and "" rejected, with what the SDK would have done, the
// registry default noted, the drain noted.
func TestValidateRegistryText(t *testing.T) {
	path := writeFile(t, `{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"20"}},
		{"hostname":"b","addrs":["grpc://10.0.0.2:9000"],"status":1,"metadata":{"weight":"0"}},
		{"hostname":"c","addrs":["grpc://10.0.0.3:9000"],"status":1,"metadata":{"weight":""}},
		{"hostname":"d","addrs":["grpc://10.0.0.4:9000"],"status":2,"metadata":{"weight":"20"}},
		{"hostname":"e","addrs":["grpc://10.0.0.5:9000"],"status":1}]}}}`)
	code, out, _ := runCLI(t, "validate", path)
	if code != exitRejected {
		t.Fatalf("exit %d want %d\n%s", code, exitRejected, out)
	}
	for _, want := range []string{
		"format discovery (detected)",
		"10.0.0.2:9000", "string-zero",
		"the string is empty; the weight is metadata.weight; the Bilibili discovery SDK would use 10",
		"#3 10.0.0.4:9000: drained: status 2",
		"#4 10.0.0.5:9000: defaulted: no weight at metadata.weight; the Bilibili discovery SDK uses 10",
		"applied without the 2 rejected nodes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestValidateRegistryOptions covers the flags that map to RegistryOptions.
func TestValidateRegistryOptions(t *testing.T) {
	fetch := filepath.Join("..", "..", "weights", "registry", "testdata", "registries", "discovery-fetch.json")
	eds := filepath.Join("..", "..", "weights", "registry", "testdata", "registries", "eds-zero.json")
	slices := filepath.Join("..", "..", "weights", "registry", "testdata", "registries", "endpointslice-list.json")
	ids := func(v validateOut) string {
		var s []string
		for _, a := range v.Accepted {
			s = append(s, a.ID)
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name string
		code int
		args []string
		want string // accepted ids
	}{
		{"scheme http", exitRejected, []string{"--scheme", "http", fetch}, "10.23.4.11:8000 10.23.4.12:8000 10.23.4.13:8000 10.64.7.22:8000"},
		{"convention sdk", exitOK, []string{"--convention", "sdk", "--scheme", "http", fetch}, "10.23.4.11:8000 10.23.4.12:8000 10.23.4.13:8000 10.64.7.21:8000 10.64.7.22:8000"},
		{"convention policy", exitRejected, []string{"--convention", "policy", fetch}, "10.23.4.11:9000 10.23.4.12:9000 10.23.4.13:9000 10.64.7.22:9000"},
		{"health reject", exitRejected, []string{"--health", "reject", fetch}, "10.23.4.11:9000 10.23.4.12:9000 10.64.7.22:9000"},
		{"eds refused whole", exitRejected, []string{eds}, ""},
		{"eds partial under policy", exitOK, []string{"--convention", "policy", eds}, "10.49.1.1:8443 10.49.1.2:8443 10.49.1.3:8443"},
		{"slice port", exitRejected, []string{"--port", "http", slices}, "[fd00:10:244::5]:8080 [fd00:10:244::6]:8080 [fd00:10:244::9]:8080"},
		{"slice service", exitRejected, []string{"--port", "http", "--service", "web", slices}, "[fd00:10:244::5]:8080 [fd00:10:244::6]:8080 [fd00:10:244::9]:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(validateJSON(t, tt.code, tt.args...)); got != tt.want {
				t.Errorf("accepted %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range [][]string{{"--convention", "mine", fetch}, {"--health", "maybe", fetch}} {
		if code, _, errOut := runCLI(t, append([]string{"validate"}, bad...)...); code != exitUsage || !strings.Contains(errOut, bad[0]) {
			t.Errorf("validate %q: exit %d stderr %q; want a usage error naming %s", bad, code, errOut, bad[0])
		}
	}
}

// TestValidateUnknownShape: auto detection that fails says so and lists the
// formats, with exit 1 (the payload is not a readable snapshot).
func TestValidateUnknownShape(t *testing.T) {
	path := writeFile(t, `{"servers":[{"addr":"10.0.0.1:80"}]}`)
	code, out, errOut := runCLI(t, "validate", path)
	if strings.Contains(out, "(format auto, detected)") || !strings.Contains(out, "(format not detected)") {
		t.Errorf("an undetected format is reported as %q", out)
	}
	if code != exitRejected || !strings.Contains(out, "not a readable snapshot") ||
		!strings.Contains(errOut, "map, discovery, kratos, consul, nacos, eureka, eds, apisix, endpointslice") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

// TestValidateOneServiceAtATime: a payload with several services is an
// error that names them and the flags that resolve it, for each format
// that can carry several, unless --service or --merge-services.
func TestValidateOneServiceAtATime(t *testing.T) {
	tests := []struct {
		name, payload, services, one string
	}{
		{"discovery", `{"code":0,"data":{
			"app.a":{"instances":{"z":[{"addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"1"}}]}},
			"app.b":{"instances":{"z":[{"addrs":["grpc://10.0.0.2:9000"],"status":1,"metadata":{"weight":"1"}}]}}}}`,
			`"app.a" and "app.b"`, "app.b"},
		{"eureka", `{"applications":{"application":[
			{"name":"A","instance":[{"ipAddr":"10.0.0.1","status":"UP","port":{"$":80}}]},
			{"name":"B","instance":[{"ipAddr":"10.0.0.2","status":"UP","port":{"$":80}}]}]}}`,
			`"A" and "B"`, "b"},
		{"eds", `{"resources":[
			{"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment","cluster_name":"a","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"10.0.0.1","port_value":80}}}}]}]},
			{"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment","cluster_name":"b","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"10.0.0.2","port_value":80}}}}]}]}]}`,
			`"a" and "b"`, "b"},
		{"kratos", `[{"id":"1","name":"a","endpoints":["grpc://10.0.0.1:9000"]},{"id":"2","name":"b","endpoints":["grpc://10.0.0.2:9000"]}]`,
			`"a" and "b"`, "b"},
		{"endpointslice", `{"kind":"EndpointSliceList","items":[
			{"addressType":"IPv4","metadata":{"labels":{"kubernetes.io/service-name":"a"}},"ports":[{"name":"http","port":80}],"endpoints":[{"addresses":["10.0.0.1"]}]},
			{"addressType":"IPv4","metadata":{"labels":{"kubernetes.io/service-name":"b"}},"ports":[{"name":"http","port":80}],"endpoints":[{"addresses":["10.0.0.2"]}]}]}`,
			`"a" and "b"`, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.payload)
			code, out, errOut := runCLI(t, "validate", path)
			want := "the payload holds several services: " + tt.services + "; choose one with --service NAME or merge them with --merge-services"
			if code != exitRejected || !strings.Contains(errOut, want) || strings.Contains(errOut, "registry: ") {
				t.Errorf("exit %d, stderr lacks %q:\n%s%s", code, want, out, errOut)
			}
			if v := validateJSON(t, exitOK, "--service", tt.one, path); len(v.Accepted) != 1 || !strings.HasPrefix(v.Accepted[0].ID, "10.0.0.2:") {
				t.Errorf("--service %s: accepted %+v", tt.one, v.Accepted)
			}
			if v := validateJSON(t, exitOK, "--merge-services", path); len(v.Accepted) != 2 {
				t.Errorf("--merge-services: accepted %+v", v.Accepted)
			}
		})
	}
}

// TestValidateEndpointSlicePorts: a slice with several ports and no --port
// is an error naming them.
func TestValidateEndpointSlicePorts(t *testing.T) {
	path := writeFile(t, `{"kind":"EndpointSlice","addressType":"IPv4","ports":[{"name":"metrics","port":9100},{"name":"http","port":80}],
		"endpoints":[{"addresses":["10.0.0.1"]}]}`)
	code, _, errOut := runCLI(t, "validate", path)
	if want := `the EndpointSlice lists several ports: "metrics" and "http"; choose one by name with --port NAME`; code != exitRejected || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr lacks %q: %s", code, want, errOut)
	}
	if v := validateJSON(t, exitOK, "--port", "http", path); len(v.Accepted) != 1 || v.Accepted[0].ID != "10.0.0.1:80" {
		t.Errorf("--port http: %+v", v.Accepted)
	}
}
