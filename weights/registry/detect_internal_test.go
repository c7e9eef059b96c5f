package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// sameDetection checks that detection on the sketch DetectFormat builds
// gives what detection on the whole tree gives: the same format, or the
// same error.
func sameDetection(t *testing.T, data []byte) {
	t.Helper()
	full, err := weights.ParseJSON(data, weights.Limits{})
	if err != nil {
		return // not a payload either way; the sketch has the same checks
	}
	want, wantErr := detectFormat(full)
	got, gotErr := DetectFormat(data, weights.Limits{})
	if got != want || (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
		t.Errorf("DetectFormat(%.200s) = %q, %v; the whole tree gives %q, %v", data, got, gotErr, want, wantErr)
	}
	// Decode with the format detected (a small payload is told from its
	// parsed tree, a large one by DetectFormat) decodes as the format
	// DetectFormat names, or fails as it does.
	_, rep, err := Decode(FormatAuto, data, Options{})
	switch {
	case gotErr != nil && (err == nil || err.Error() != gotErr.Error()):
		t.Errorf("Decode(auto, %.200s): %v; DetectFormat: %v", data, err, gotErr)
	case gotErr == nil && rep.Format != string(got):
		t.Errorf("Decode(auto, %.200s) decoded as %q (%v); DetectFormat says %q", data, rep.Format, err, got)
	}
}

func detectCorpus(t testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "registries", "*.json"))
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	for _, s := range []string{
		`{}`, `[]`, `[0]`, `{"a":1}`, `{"a":[1]}`, `[{"id":"a","weight":1}]`,
		`{"x":1,"y":2,"z":3,"u":4,"v":5,"w":6,"data":{"instances":{}},"code":0}`,
		`{"x":1,"y":2,"z":3,"u":4,"v":5,"w":6,"q":7,"r":8}`,
		`{"a":1,"a":2,"b":{"c":[[[[[1]]]]]},"hosts":[{"ip":"1.1.1.1"}]}`,
		`{"value":{"upstream":{"nodes":{"a:1":1}}}}`,
		`{"resources":[{"@type":"x.ClusterLoadAssignment"}]}`,
		`[{"Service":{},"Node":{}},{"endpoints":[]}]`,
		`{"instance":[{"app":"A"}]}`,
		`{"items":[{"addressType":"IPv4"}],"kind":"EndpointSliceList"}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

func TestSketchDetection(t *testing.T) {
	for _, data := range detectCorpus(t) {
		sameDetection(t, data)
	}
}

// FuzzSketchDetection: the sketch never changes what detection decides.
func FuzzSketchDetection(f *testing.F) {
	for _, data := range detectCorpus(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameDetection(t, data) })
}
