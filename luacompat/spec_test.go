package luacompat

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	lua "github.com/yuin/gopher-lua"
)

func TestParseSpec(t *testing.T) {
	e := func(id string, w weights.Raw) weights.Entry { return weights.Entry{ID: id, Weight: w} }
	tests := []struct {
		name string
		spec string
		want []weights.Entry
	}{
		{"lua", `{a=10, b="0", c=0/0}`, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("0")), e("c", weights.Number("NaN"))}},
		{"bracket keys", `{["10.0.0.1:80"]=5, ['x']=-1/0, [ "y" ] = 1/0}`, []weights.Entry{e("10.0.0.1:80", weights.Int(5)), e("x", weights.Number("-Inf")), e("y", weights.Number("Inf"))}},
		{"number text kept", `{a=10.0, b=1e400, c=-0, d=.5}`, []weights.Entry{e("a", weights.Number("10.0")), e("b", weights.Number("1e400")), e("c", weights.Number("-0")), e("d", weights.Number(".5"))}},
		{"arithmetic", `{a=2^53+1, b=-2^2, c=(1+2)*3, d=7%3, e=0x10, f=math.huge, g=-math.huge}`, []weights.Entry{
			e("a", weights.Float(math.Pow(2, 53)+1)), e("b", weights.Int(-4)), e("c", weights.Int(9)), e("d", weights.Int(1)),
			e("e", weights.Int(16)), e("f", weights.Number("Inf")), e("g", weights.Number("-Inf"))}},
		{"other values", `{a=true, b=false, c=nil, d={1,2}, e={x=1}, f=null}`, []weights.Entry{
			e("a", weights.Bool(true)), e("b", weights.Bool(false)), e("c", weights.Raw{}),
			e("d", weights.Array(weights.Int(1), weights.Int(2))), e("e", weights.Object(weights.Member{Key: "x", Value: weights.Int(1)})), e("f", weights.Null())}},
		{"strings", `{a='it\'s', b="\65\x42\n", c=[[long]], d=[==[a]]b]==]}`, nil},
		{"positional and return", "return {10, \"0\"; c = 1,} -- trailing comment\n", []weights.Entry{e("1", weights.Int(10)), e("2", weights.String("0")), e("c", weights.Int(1))}},
		{"comments", "{ --[[ block ]] a = 1, -- line\n b = 2 }", []weights.Entry{e("a", weights.Int(1)), e("b", weights.Int(2))}},
		{"duplicates kept", `{a=1, a=2}`, []weights.Entry{e("a", weights.Int(1)), e("a", weights.Int(2))}},
		{"number keys", `{[1]=5, [2.5]=1}`, []weights.Entry{e("1", weights.Int(5)), e("2.5", weights.Int(1))}},
		{"empty lua", `{}`, nil},
		{"json object", `{"b": "0", "a": 10, "c": 1e400}`, []weights.Entry{e("b", weights.String("0")), e("a", weights.Int(10)), e("c", weights.Number("1e400"))}},
		{"json array", `[{"id": "a", "weight": 10}, {"id": "b", "weight": "0"}, {"id": "c"}]`, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("0")), e("c", weights.Raw{})}},
		{"json empty array", `[]`, []weights.Entry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.spec)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.spec, err)
			}
			if tt.name == "strings" {
				if len(got) != 4 || got[0].Weight.Text != "it's" || got[1].Weight.Text != "AB\n" || got[2].Weight.Text != "long" || got[3].Weight.Text != "a]]b" {
					t.Fatalf("strings = %v", got)
				}
				return
			}
			if !equalEntries(got, tt.want) {
				t.Fatalf("ParseSpec(%q)\n got %v\nwant %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	for _, spec := range []string{
		``, `a=1`, `{a=b}`, `{a==1}`, `{a=1`, `{a=1 b=2}`, `{a=os.exit()}`, `{a=function() end}`,
		`{a="x" + 1}`, `{[nil]=1}`, `{[0/0]=1}`, `{a=1} extra`, `{a="unfinished}`, `{a=inf}`, `{a=0x}`,
		`{"a": 1,}`, `[1, 2]`, `"just a string"`, `@/nonexistent/spec.lua`,
	} {
		if _, err := ParseSpec(spec); err == nil {
			t.Errorf("ParseSpec(%q): no error", spec)
		} else if spec != `@/nonexistent/spec.lua` && !errors.Is(err, ErrSpec) {
			t.Errorf("ParseSpec(%q): %v does not wrap ErrSpec", spec, err)
		}
	}
}

func TestParseSpecFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.lua")
	if err := os.WriteFile(path, []byte("return {a=10, b=\"0\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ParseSpec("@" + path)
	if err != nil || len(got) != 2 || !sameValue(got[1].Weight, weights.String("0")) {
		t.Fatalf("ParseSpec(@file) = %v, %v", got, err)
	}
}

// TestFormatSpecRoundTrip: FormatSpec's output reads back to the same
// entries, through ParseSpec and through Lua itself.
func TestFormatSpecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []weights.Raw{
		weights.Int(0), weights.Int(10), weights.Number("-0"), weights.Number("NaN"), weights.Number("Inf"), weights.Number("-Inf"),
		weights.Number("1e400"), weights.Number("0.5"), weights.Float(math.MaxFloat64), weights.Float(5e-324),
		weights.String("0"), weights.String(""), weights.String("a\"b\\c\n\x00\x7f\xff1"), weights.String("10"),
		weights.Bool(true), weights.Bool(false), weights.Raw{},
	}
	ids := []string{"a", "10.0.0.1:80", "end", "_x1", "1", "with space", "q\"uote", "\x00", "é"}
	for round := 0; round < 200; round++ {
		n := rng.IntN(6)
		var entries []weights.Entry
		for i := 0; i < n; i++ {
			entries = append(entries, weights.Entry{ID: ids[rng.IntN(len(ids))] + strconv.Itoa(i), Weight: values[rng.IntN(len(values))]})
		}
		text := FormatSpec(entries)
		back, err := ParseSpec(text)
		if err != nil {
			t.Fatalf("ParseSpec(FormatSpec(%v)) = %q: %v", entries, text, err)
		}
		if !equalEntries(back, entries) {
			t.Fatalf("round trip of %q\n got %v\nwant %v", text, back, entries)
		}
		// Lua reads the same values.
		L := newSandbox(1, "")
		if err := L.DoString("spec = " + text); err != nil {
			L.Close()
			t.Fatalf("Lua cannot read %q: %v", text, err)
		}
		tbl := L.GetGlobal("spec").(*lua.LTable)
		for _, e := range entries {
			got, err := FromLua(tbl.RawGetString(e.ID))
			// A Lua 5.1 compiler keeps one constant for 0 and -0 in a chunk,
			// so only the value is compared, not the sign of a zero.
			if err != nil || !sameValue(got, e.Weight) && !bothZero(got, e.Weight) {
				t.Fatalf("Lua reads %q[%q] as %v (%v), want %v", text, e.ID, got, err, e.Weight)
			}
		}
		L.Close()
	}
}

func TestToLuaFromLua(t *testing.T) {
	L := newSandbox(1, "")
	defer L.Close()
	for _, r := range []weights.Raw{
		weights.Int(10), weights.Number("-0"), weights.Number("NaN"), weights.Number("Inf"), weights.Number("-Inf"),
		weights.String("0"), weights.String("nan"), weights.Bool(true), weights.Null(), weights.Raw{},
		weights.Array(weights.Int(1), weights.String("x")),
		weights.Object(weights.Member{Key: "a", Value: weights.Int(1)}, weights.Member{Key: "b", Value: weights.Bool(false)}),
	} {
		v, err := ToLua(L, r)
		if err != nil {
			t.Fatalf("ToLua(%v): %v", r, err)
		}
		back, err := FromLua(v)
		if err != nil || !sameValue(back, r) {
			t.Errorf("FromLua(ToLua(%v)) = %v, %v", r, back, err)
		}
	}
	// -0 keeps its sign through Lua.
	v, _ := ToLua(L, weights.Number("-0"))
	if f := float64(v.(lua.LNumber)); f != 0 || !math.Signbit(f) {
		t.Errorf("ToLua(-0) = %v", f)
	}
	if _, err := ToLua(L, weights.Number("ten")); err == nil {
		t.Error("ToLua of a malformed number: no error")
	}
	if _, err := FromLua(L.NewFunction(func(*lua.LState) int { return 0 })); err == nil {
		t.Error("FromLua of a function: no error")
	}
	for in, want := range map[float64]string{10: "10", 0.1: "0.1", 1e15: "1e+15", math.NaN(): "nan", math.Inf(-1): "-inf", math.Copysign(0, -1): "-0", 1 << 53: "9.007199254741e+15"} {
		if got := FormatNumber(in); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

func equalEntries(a, b []weights.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || !sameValue(a[i].Weight, b[i].Weight) {
			return false
		}
	}
	return true
}

// sameValue compares raw values by what Lua would see: numbers by value
// (NaN equal to NaN, -0 distinct from 0), everything else exactly.
func sameValue(a, b weights.Raw) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case weights.KindNumber:
		x, ok1 := a.Float64()
		y, ok2 := b.Float64()
		if !ok1 || !ok2 {
			return a.Text == b.Text
		}
		return x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y)
	case weights.KindString:
		return a.Text == b.Text
	case weights.KindBool:
		return a.Bool == b.Bool
	case weights.KindArray:
		if len(a.Items) != len(b.Items) {
			return false
		}
		for i := range a.Items {
			if !sameValue(a.Items[i], b.Items[i]) {
				return false
			}
		}
	case weights.KindObject:
		if len(a.Members) != len(b.Members) {
			return false
		}
		for i := range a.Members {
			if a.Members[i].Key != b.Members[i].Key || !sameValue(a.Members[i].Value, b.Members[i].Value) {
				return false
			}
		}
	}
	return true
}

func bothZero(a, b weights.Raw) bool {
	x, ok1 := a.Float64()
	y, ok2 := b.Float64()
	return ok1 && ok2 && x == 0 && y == 0
}

func TestIncidentSpecMatchesNodes(t *testing.T) {
	got, err := ParseSpec(IncidentSpec)
	if err != nil || !equalEntries(got, IncidentNodes()) {
		t.Fatalf("ParseSpec(IncidentSpec) = %v, %v; want %v", got, err, IncidentNodes())
	}
	if FormatSpec(IncidentNodes()) != IncidentSpec {
		t.Errorf("FormatSpec(IncidentNodes()) = %s, want %s", FormatSpec(IncidentNodes()), IncidentSpec)
	}
}

// Lua spellings of numbers that JSON lacks reach weights as the value Lua
// reads; JSON spellings keep their text.
func TestParseSpecLuaOnlyNumberSpellings(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want weights.Raw
	}{
		{`{a=01}`, weights.Float(1)},
		{`{a=.5}`, weights.Float(0.5)},
		{`{a=5.}`, weights.Float(5)},
		{`{a=0x10}`, weights.Float(16)},
		{`{a=10.0}`, weights.Number("10.0")},
		{`{a=1e2}`, weights.Number("1e2")},
		{`{a=0}`, weights.Number("0")},
	} {
		entries, err := ParseSpec(tc.spec)
		if err != nil {
			t.Fatalf("ParseSpec(%s): %v", tc.spec, err)
		}
		if len(entries) != 1 || entries[0].Weight.Kind != tc.want.Kind || entries[0].Weight.Text != tc.want.Text {
			t.Errorf("ParseSpec(%s) = %+v want weight %v", tc.spec, entries, tc.want)
		}
	}
	entries, err := ParseSpec(`{a=01}`)
	if err != nil || len(entries) != 1 {
		t.Fatalf("ParseSpec({a=01}) = %v, %v", entries, err)
	}
	if w, reason := (weights.Policy{}).Weight(entries[0].Weight); reason != "" || w != 1 {
		t.Errorf("{a=01}: weight %d reason %q, want 1 accepted as Lua reads it", w, reason)
	}
}

// A spec file must be a regular file: a device or a directory is an error
// with its reason, never read (@/dev/zero would otherwise never end).
func TestParseSpecFileNotRegular(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is not a regular file (a character device)"},
		{t.TempDir(), "is not a regular file (a directory)"},
	} {
		if _, err := ParseSpec("@" + c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "luacompat: node spec: ") {
			t.Errorf("ParseSpec(@%s): %v, want an error containing %q", c.path, err, c.want)
		}
	}
}
