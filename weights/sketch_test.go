package weights_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// sketchKeys are keys a sketch keeps wherever they are, for the tests.
var sketchKeys = []string{"hosts", "data", "instances", "endpoints", "k"}

// sameSketch checks that Sketch on what ParseJSON builds is what
// SketchJSON builds from the text, and that where ParseJSON refuses the
// text for anything but its value count, SketchJSON refuses it with the
// same error.
func sameSketch(t *testing.T, data []byte) {
	t.Helper()
	full, err := weights.ParseJSON(data, weights.Limits{MaxValues: 1 << 30})
	want, wantErr := weights.SketchJSON(data, weights.Limits{}, sketchKeys...)
	if err != nil {
		if errors.Is(err, weights.ErrTooLarge) {
			return
		}
		if wantErr == nil || wantErr.Error() != err.Error() {
			t.Fatalf("ParseJSON(%.200q): %v; SketchJSON: %v", data, err, wantErr)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("SketchJSON(%.200q): %v; ParseJSON reads it", data, wantErr)
	}
	if got := weights.Sketch(full, sketchKeys...); !reflect.DeepEqual(got, want) {
		t.Fatalf("Sketch(ParseJSON(%.200q)) = %v, SketchJSON gives %v", data, got, want)
	}
}

var sketchCases = []string{
	`1`, `"x"`, `[]`, `{}`, `[1,2,3]`, `[[1],[2]]`, `{"a":1}`,
	`{"a":{"b":{"c":{"d":{"e":[1,{"f":2}]}}}}}`, `[[[[[[1]]]]]]`, `[{"a":[{"b":[{"c":[1]}]}]}]`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"hosts":[1],"data":{"x":1},"i":[1],"j":{"y":2},"k":3,"k":4}`,
	`{"x1":1,"x2":2,"x3":3,"x4":4,"x5":5,"x6":6,"x7":7,"x8":[1],"x9":{"a":1}}`,
	`{"a":{"b":{"c":{"d":1,"e":[],"f":{}}}},"g":[[[]]]}`,
	`[1,}`, `{"a":1,}`, `{"a":[1,2}`, "[\"\x01\"]", `{"a":[[[[[[[[`,
	strings.Repeat(`{"k":`, 70) + `1` + strings.Repeat("}", 70),
	`{` + strings.Repeat(`"hosts":1,"data":2,"instances":3,"endpoints":4,"k":5,`, 6) + `"z":[1]}`,
	`{"x1":1,"x2":2,"x3":3,"x4":4,"x5":5,"x6":6,"x7":7,` + strings.Repeat(`"hosts":[],"data":{},"instances":1,"endpoints":2,"k":3,"q":{},`, 4) + `"z":[1]}`,
}

func TestSketchOfTree(t *testing.T) {
	for _, s := range sketchCases {
		sameSketch(t, []byte(s))
	}
	var wide strings.Builder
	wide.WriteString("{")
	for i := range 40 {
		if i > 0 {
			wide.WriteString(",")
		}
		wide.WriteString(`"m` + strings.Repeat("x", i) + `":{"hosts":[{"k":[1]}]}`)
	}
	wide.WriteString("}")
	sameSketch(t, []byte(wide.String()))
}

// FuzzSketchOfTree: Sketch on a parsed tree is SketchJSON on its text.
func FuzzSketchOfTree(f *testing.F) {
	for _, s := range sketchCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameSketch(t, data) })
}

// TestSketchMemberBound: with more keys than the bound, a sketch keeps at
// most 24 members of an object, from the text and from the tree alike.
func TestSketchMemberBound(t *testing.T) {
	var keys []string
	var b strings.Builder
	b.WriteString("{")
	for i := range 30 {
		k := "key" + strings.Repeat("x", i)
		keys = append(keys, k)
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + k + `":1`)
	}
	b.WriteString("}")
	data := []byte(b.String())
	got, err := weights.SketchJSON(data, weights.Limits{}, keys...)
	if err != nil || len(got.Members) != 24 {
		t.Fatalf("SketchJSON kept %d members (%v), want 24", len(got.Members), err)
	}
	full, err := weights.ParseJSON(data, weights.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if tree := weights.Sketch(full, keys...); !reflect.DeepEqual(tree, got) {
		t.Fatalf("Sketch of the tree kept %d members, SketchJSON %d", len(tree.Members), len(got.Members))
	}
}
