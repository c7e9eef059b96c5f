package luacompat

import (
	"testing"
)

// FuzzParseSpec: ParseSpec never panics, and whatever it accepts survives
// FormatSpec and ParseSpec again with the same ids and values.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		`{a=10, b="0", c=0/0}`, `{["10.0.0.1:80"]=5, x=-1/0, y=1/0}`, `return {1, 2; z = {3}}`,
		`{"a": 10, "b": "0"}`, `[{"id": "a", "weight": 1e400}]`, `{a='\65\x42', b=[==[x]==]}`,
		`{a=2^53+1, b=-(3%2), c=math.huge, d=0x1p4, e=.5e-3}`, "{ --[[c]] a = 1 -- d\n}", `{a=nil, b=null, c=true}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if len(spec) > 0 && spec[0] == '@' {
			return // not a file system fuzzer
		}
		entries, err := ParseSpec(spec)
		if err != nil {
			return
		}
		text := FormatSpec(entries)
		back, err := ParseSpec(text)
		if err != nil {
			t.Fatalf("ParseSpec(%q) ok, but its FormatSpec %q fails: %v", spec, text, err)
		}
		if !equalEntries(back, entries) {
			t.Fatalf("round trip of %q through %q:\n got %v\nwant %v", spec, text, back, entries)
		}
	})
}
