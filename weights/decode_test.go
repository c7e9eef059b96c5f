package weights_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

var (
	lenient   = weights.Lenient()
	scaled100 = weights.Policy{Scale: 100}
)

// hostile is one node that must be rejected, with the reason it must get.
type hostile struct {
	name     string
	payload  string // a whole snapshot; the node under test is "n" unless id says otherwise
	policy   weights.Policy
	reason   weights.Reason
	sentinel error
}

var hostileInputs = []hostile{
	// the incident and its relatives: strings
	{"string zero strict", `{"a":1,"n":"0"}`, weights.Policy{}, weights.ReasonStringZero, weights.ErrStringZero},
	{"string zero lenient", `{"a":1,"n":"0"}`, lenient, weights.ReasonStringZero, weights.ErrStringZero},
	{"string zero with zero-default policy", `{"a":1,"n":"0"}`, weights.Policy{Zero: weights.ZeroDefault}, weights.ReasonStringZero, weights.ErrStringZero},
	{"string zero zero lenient", `{"a":1,"n":"00"}`, lenient, weights.ReasonStringZero, weights.ErrStringZero},
	{"string zero escaped", `{"a":1,"n":"\u0030"}`, lenient, weights.ReasonStringZero, weights.ErrStringZero},
	{"string ten strict", `{"a":1,"n":"10"}`, weights.Policy{}, weights.ReasonStringWeight, weights.ErrStringWeight},
	{"empty string strict", `{"a":1,"n":""}`, weights.Policy{}, weights.ReasonStringWeight, weights.ErrStringWeight},
	{"empty string lenient", `{"a":1,"n":""}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"leading space lenient", `{"a":1,"n":" 10"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"trailing space lenient", `{"a":1,"n":"10 "}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"plus sign lenient", `{"a":1,"n":"+10"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"minus sign lenient", `{"a":1,"n":"-10"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"minus zero string lenient", `{"a":1,"n":"-0"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"hex string lenient", `{"a":1,"n":"0x10"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"octal-looking string lenient", `{"a":1,"n":"010"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"exponent string lenient", `{"a":1,"n":"1e2"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"float string lenient", `{"a":1,"n":"10.0"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"zero float string lenient", `{"a":1,"n":"0.0"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"NaN string lenient", `{"a":1,"n":"NaN"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"fullwidth digits lenient", `{"a":1,"n":"１０"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"letter after digits lenient", `{"a":1,"n":"1a"}`, lenient, weights.ReasonBadString, weights.ErrBadString},
	{"huge decimal string lenient", `{"a":1,"n":"99999999999999999999"}`, lenient, weights.ReasonOverflow, weights.ErrOverflow},
	// non-finite numbers (as Python and JavaScript write them)
	{"NaN", `{"a":1,"n":NaN}`, weights.Policy{}, weights.ReasonNaN, weights.ErrNaN},
	{"Infinity", `{"a":1,"n":Infinity}`, weights.Policy{}, weights.ReasonInfinite, weights.ErrInfinite},
	{"-Infinity", `{"a":1,"n":-Infinity}`, weights.Policy{}, weights.ReasonInfinite, weights.ErrInfinite},
	// negative
	{"minus one", `{"a":1,"n":-1}`, weights.Policy{}, weights.ReasonNegative, weights.ErrNegative},
	{"minus half", `{"a":1,"n":-0.5}`, weights.Policy{}, weights.ReasonNegative, weights.ErrNegative},
	{"minus huge", `{"a":1,"n":-1e400}`, weights.Policy{}, weights.ReasonNegative, weights.ErrNegative},
	{"minus tiny", `{"a":1,"n":-1e-400}`, weights.Policy{}, weights.ReasonNegative, weights.ErrNegative},
	// fractions
	{"half", `{"a":1,"n":0.5}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	{"ten and a bit", `{"a":1,"n":10.000000000000000001}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	{"one and a bit", `{"a":1,"n":1.0000000000000000001}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	{"tiny", `{"a":1,"n":1e-400}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	{"fraction by exponent", `{"a":1,"n":15e-1}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	{"fraction after scale", `{"a":1,"n":0.505}`, scaled100, weights.ReasonFraction, weights.ErrFraction},
	{"tiny after scale", `{"a":1,"n":1e-3}`, scaled100, weights.ReasonFraction, weights.ErrFraction},
	{"huge fraction is a fraction", `{"a":1,"n":123456789012345.5}`, weights.Policy{}, weights.ReasonFraction, weights.ErrFraction},
	// overflow
	{"1e400", `{"a":1,"n":1e400}`, weights.Policy{}, weights.ReasonOverflow, weights.ErrOverflow},
	{"2^32", `{"a":1,"n":4294967296}`, weights.Policy{MaxWeight: 4294967295}, weights.ReasonOverflow, weights.ErrOverflow},
	{"2^64", `{"a":1,"n":18446744073709551616}`, weights.Policy{MaxWeight: 4294967295}, weights.ReasonOverflow, weights.ErrOverflow},
	{"above default max", `{"a":1,"n":1000001}`, weights.Policy{}, weights.ReasonOverflow, weights.ErrOverflow},
	{"above max by exponent", `{"a":1,"n":1.1e6}`, weights.Policy{}, weights.ReasonOverflow, weights.ErrOverflow},
	{"above max after scale", `{"a":1,"n":10001}`, scaled100, weights.ReasonOverflow, weights.ErrOverflow},
	{"above custom max", `{"a":1,"n":11}`, weights.Policy{MaxWeight: 10}, weights.ReasonOverflow, weights.ErrOverflow},
	{"max uint64 times scale", `{"a":1,"n":18446744073709551615}`, scaled100, weights.ReasonOverflow, weights.ErrOverflow},
	// not a number
	{"true", `{"a":1,"n":true}`, weights.Policy{}, weights.ReasonNotNumberType, weights.ErrNotNumberType},
	{"false", `{"a":1,"n":false}`, lenient, weights.ReasonNotNumberType, weights.ErrNotNumberType},
	{"null", `{"a":1,"n":null}`, weights.Policy{}, weights.ReasonNotNumberType, weights.ErrNotNumberType},
	{"array", `{"a":1,"n":[10]}`, weights.Policy{}, weights.ReasonNotNumberType, weights.ErrNotNumberType},
	{"object", `{"a":1,"n":{"weight":10}}`, weights.Policy{}, weights.ReasonNotNumberType, weights.ErrNotNumberType},
	// zero and missing under policies that reject them
	{"zero rejected", `{"a":1,"n":0}`, weights.Policy{Zero: weights.ZeroReject}, weights.ReasonZero, weights.ErrZero},
	{"minus zero rejected", `{"a":1,"n":-0.0e5}`, weights.Policy{Zero: weights.ZeroReject}, weights.ReasonZero, weights.ErrZero},
	{"missing rejected", `[{"id":"a","weight":1},{"id":"n"}]`, weights.Policy{MissingRejected: true}, weights.ReasonMissing, weights.ErrMissing},
	// ids
	{"duplicate id", `{"a":1,"a":1}`, weights.Policy{}, weights.ReasonDuplicateID, weights.ErrDuplicateID},
	{"duplicate id via escape", `{"a":1,"\u0061":1}`, weights.Policy{}, weights.ReasonDuplicateID, weights.ErrDuplicateID},
	{"duplicate id in array", `[{"id":"a","weight":1},{"id":"a","weight":1}]`, weights.Policy{}, weights.ReasonDuplicateID, weights.ErrDuplicateID},
	{"empty id", `{"a":1,"":1}`, weights.Policy{}, weights.ReasonEmptyID, weights.ErrEmptyID},
	{"empty id in array", `[{"id":"a","weight":1},{"id":"","weight":1}]`, weights.Policy{}, weights.ReasonEmptyID, weights.ErrEmptyID},
	{"id too long", `{"a":1,"` + strings.Repeat("x", 256) + `":1}`, weights.Policy{}, weights.ReasonBadID, weights.ErrBadID},
	{"numeric id in array", `[{"id":"a","weight":1},{"id":7,"weight":1}]`, weights.Policy{}, weights.ReasonBadID, weights.ErrBadID},
	// array entries of the wrong shape
	{"entry without id", `[{"id":"a","weight":1},{"weight":1}]`, weights.Policy{}, weights.ReasonMalformedEntry, weights.ErrMalformedEntry},
	{"entry not an object", `[{"id":"a","weight":1},"n"]`, weights.Policy{}, weights.ReasonMalformedEntry, weights.ErrMalformedEntry},
	{"entry with two weights", `[{"id":"a","weight":1},{"id":"n","weight":1,"weight":"0"}]`, weights.Policy{}, weights.ReasonMalformedEntry, weights.ErrMalformedEntry},
	{"entry with two ids", `[{"id":"a","weight":1},{"id":"n","id":"m","weight":1}]`, weights.Policy{}, weights.ReasonMalformedEntry, weights.ErrMalformedEntry},
	{"entry with Weight in capitals", `[{"id":"a","weight":1},{"id":"n","Weight":"0"}]`, weights.Policy{}, weights.ReasonMalformedEntry, weights.ErrMalformedEntry},
}

func TestHostileInputs(t *testing.T) {
	if len(hostileInputs) < 40 {
		t.Fatalf("only %d hostile inputs", len(hostileInputs))
	}
	for _, tc := range hostileInputs {
		t.Run(tc.name, func(t *testing.T) {
			snap, rep, err := weights.Decode([]byte(tc.payload), tc.policy)
			if err != nil {
				t.Fatalf("Decode(%s) error %v", tc.payload, err)
			}
			if len(rep.Rejected) != 1 {
				t.Fatalf("Decode(%s) rejected %v, want exactly one", tc.payload, rep.Rejected)
			}
			ne := rep.Rejected[0]
			if ne.Reason != tc.reason {
				t.Errorf("Decode(%s) reason %q want %q (%v)", tc.payload, ne.Reason, tc.reason, ne)
			}
			if !errors.Is(ne, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", ne, tc.sentinel)
			}
			if ne.Index != 1 {
				t.Errorf("rejected node index %d want 1", ne.Index)
			}
			if !strings.Contains(ne.Error(), string(tc.reason)) || !strings.HasPrefix(ne.Error(), "node ") {
				t.Errorf("message %q does not name the node and the reason", ne.Error())
			}
			// The one good node is kept, the bad one never is.
			if len(snap.Nodes) != 1 || snap.Nodes[0].ID != "a" || snap.Nodes[0].Weight == 0 {
				t.Errorf("snapshot %v want the one good node", snap.Nodes)
			}
			if rep.Refused != nil {
				t.Errorf("refused %v, the default policy applies partial snapshots", rep.Refused)
			}
			// Refuse-whole policies refuse the same payload.
			strictWhole := tc.policy
			strictWhole.Partial = weights.RefuseWhole
			snap, rep, _ = weights.Decode([]byte(tc.payload), strictWhole)
			if !errors.Is(rep.Refused, weights.ErrRefused) || len(snap.Nodes) != 0 {
				t.Errorf("RefuseWhole: refused %v nodes %v", rep.Refused, snap.Nodes)
			}
		})
	}
}

func TestAcceptedValues(t *testing.T) {
	cases := []struct {
		raw    string
		policy weights.Policy
		want   uint32
	}{
		{`10`, weights.Policy{}, 10},
		{`10.0`, weights.Policy{}, 10},
		{`1e2`, weights.Policy{}, 100},
		{`1E+2`, weights.Policy{}, 100},
		{`1000e-1`, weights.Policy{}, 100},
		{`0.1e1`, weights.Policy{}, 1},
		{`0`, weights.Policy{}, 0},
		{`-0`, weights.Policy{}, 0},
		{`-0.0`, weights.Policy{}, 0},
		{`0e400`, weights.Policy{}, 0},
		{`0`, weights.Policy{Zero: weights.ZeroDefault}, 1},
		{`0`, weights.Policy{Zero: weights.ZeroDefault, DefaultWeight: 5}, 5},
		{`-0`, weights.Policy{Zero: weights.ZeroDefault, DefaultWeight: 5}, 5},
		{`1000000`, weights.Policy{}, 1000000},
		{`4294967295`, weights.Policy{MaxWeight: 4294967295}, 4294967295},
		{`0.5`, scaled100, 50},
		{`0.05`, scaled100, 5},
		{`1.25`, weights.Policy{Scale: 4}, 5},
		{`10000`, scaled100, 1000000},
		{`"10"`, lenient, 10},
		{`"7"`, lenient, 7},
		{`"5"`, weights.Policy{Strings: weights.StringsDecimal, Scale: 10}, 50},
		{`0.000000000931322574615478515625`, weights.Policy{Scale: 1 << 30, MaxWeight: 4294967295}, 1},
		{`1.00000000000000000000000000000000000000000000000000`, weights.Policy{}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			snap, rep, err := weights.Decode([]byte(`{"n":`+tc.raw+`}`), tc.policy)
			if err != nil || len(rep.Rejected) != 0 {
				t.Fatalf("Decode(%s) err %v rejected %v", tc.raw, err, rep.Rejected)
			}
			if got := snap.Nodes[0].Weight; got != tc.want {
				t.Errorf("weight of %s = %d want %d", tc.raw, got, tc.want)
			}
		})
	}
}

func TestMissingWeightGetsDefault(t *testing.T) {
	snap, rep, err := weights.Decode([]byte(`[{"id":"a"},{"id":"b","weight":3}]`), weights.Policy{DefaultWeight: 7})
	if err != nil || !rep.OK() {
		t.Fatalf("err %v report %+v", err, rep)
	}
	want := []weights.Node{{ID: "a", Weight: 7}, {ID: "b", Weight: 3}}
	if !reflect.DeepEqual(snap.Nodes, want) {
		t.Errorf("nodes %v want %v", snap.Nodes, want)
	}
}

func TestArrayEntryExtraFieldsIgnored(t *testing.T) {
	in := `[{"host":"x","id":"a","meta":{"w":[1,{"weight":"0"}]},"weight":2},{"weight":3,"id":"b","zone":null}]`
	snap, rep, err := weights.Decode([]byte(in), weights.Policy{})
	if err != nil || !rep.OK() {
		t.Fatalf("err %v report %+v", err, rep)
	}
	want := []weights.Node{{ID: "a", Weight: 2}, {ID: "b", Weight: 3}}
	if !reflect.DeepEqual(snap.Nodes, want) {
		t.Errorf("nodes %v want %v", snap.Nodes, want)
	}
}

func TestOrderKeptAndDrainedKept(t *testing.T) {
	in := `{"z":3,"a":0,"m":6,"b":-0}`
	snap, rep, err := weights.Decode([]byte(in), weights.Policy{})
	if err != nil || !rep.OK() {
		t.Fatalf("err %v report %+v", err, rep)
	}
	want := []weights.Node{{ID: "z", Weight: 3}, {ID: "a", Weight: 0}, {ID: "m", Weight: 6}, {ID: "b", Weight: 0}}
	if !reflect.DeepEqual(snap.Nodes, want) {
		t.Errorf("nodes %v want %v", snap.Nodes, want)
	}
	if rep.GCD != 3 {
		t.Errorf("gcd %d want 3", rep.GCD)
	}
	if !snap.Nodes[1].Drained() || snap.Nodes[0].Drained() {
		t.Errorf("Drained() wrong: %v", snap.Nodes)
	}
}

func TestEmptySnapshotIsNormal(t *testing.T) {
	for _, in := range []string{`{}`, `[]`, " {\n} ", `[ ]`} {
		snap, rep, err := weights.Decode([]byte(in), weights.Policy{Partial: weights.RefuseWhole})
		if err != nil || rep.Refused != nil || len(snap.Nodes) != 0 || rep.Entries != 0 {
			t.Errorf("Decode(%q) = %v, %+v, %v; want an empty, accepted snapshot", in, snap, rep, err)
		}
	}
}

func TestAllDrainedIsNotRefused(t *testing.T) {
	snap, rep, err := weights.Decode([]byte(`{"a":0,"b":0}`), weights.Policy{})
	if err != nil || rep.Refused != nil || len(snap.Nodes) != 2 || rep.GCD != 0 {
		t.Errorf("all drained: %v %+v %v", snap, rep, err)
	}
}

func TestAllRejectedIsRefused(t *testing.T) {
	snap, rep, err := weights.Decode([]byte(`{"a":"0","b":"0"}`), weights.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rep.Refused, weights.ErrRefused) || len(snap.Nodes) != 0 || len(rep.Rejected) != 2 {
		t.Errorf("all rejected: snapshot %v refused %v rejected %v", snap, rep.Refused, rep.Rejected)
	}
}

func TestPayloadErrors(t *testing.T) {
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	cases := []struct {
		name     string
		in       string
		limits   weights.Limits
		sentinel error
		offset   int
		msg      string
	}{
		{"empty", ``, weights.Limits{}, weights.ErrSyntax, 0, "unexpected end of input"},
		{"only space", "  \n", weights.Limits{}, weights.ErrSyntax, 3, "unexpected end of input"},
		{"byte-order mark", "\xEF\xBB\xBF{}", weights.Limits{}, weights.ErrSyntax, 0, "byte-order mark"},
		{"only a byte-order mark", "\xEF\xBB\xBF", weights.Limits{}, weights.ErrSyntax, 0, "byte-order mark"},
		{"invalid UTF-8 in id", "{\"a\xff\":1}", weights.Limits{}, weights.ErrSyntax, 3, "invalid UTF-8"},
		{"overlong UTF-8", "{\"\xC0\xAF\":1}", weights.Limits{}, weights.ErrSyntax, 2, "invalid UTF-8"},
		{"invalid UTF-8 after a U+FFFD", "{\"\uFFFD\xef\xbf\xbd\xff\":1}", weights.Limits{}, weights.ErrSyntax, 8, "invalid UTF-8 (byte 0xff)"},
		{"truncated UTF-8 at the end", "{\"a\":1} \xe2\x82", weights.Limits{}, weights.ErrSyntax, 8, "invalid UTF-8 (byte 0xe2)"},
		{"trailing data", `{"a":1} {"b":2}`, weights.Limits{}, weights.ErrSyntax, 8, "trailing data"},
		{"trailing comma", `{"a":1,}`, weights.Limits{}, weights.ErrSyntax, 7, "invalid character '}'"},
		{"unquoted key", `{a:1}`, weights.Limits{}, weights.ErrSyntax, 1, "invalid character 'a'"},
		{"single quotes", `{'a':1}`, weights.Limits{}, weights.ErrSyntax, 1, "invalid character"},
		{"leading zero", `{"a":01}`, weights.Limits{}, weights.ErrSyntax, 5, "leading zero"},
		{"plus sign", `{"a":+1}`, weights.Limits{}, weights.ErrSyntax, 5, "invalid character '+'"},
		{"bare dot", `{"a":.5}`, weights.Limits{}, weights.ErrSyntax, 5, "invalid character '.'"},
		{"dangling dot", `{"a":5.}`, weights.Limits{}, weights.ErrSyntax, 7, "after the decimal point"},
		{"dangling exponent", `{"a":5e}`, weights.Limits{}, weights.ErrSyntax, 7, "exponent"},
		{"hex number", `{"a":0x10}`, weights.Limits{}, weights.ErrSyntax, 6, "invalid character 'x'"},
		{"lowercase nan", `{"a":nan}`, weights.Limits{}, weights.ErrSyntax, 5, "invalid character 'n'"},
		{"unterminated", `{"a":1`, weights.Limits{}, weights.ErrSyntax, 6, "unexpected end of input"},
		{"unterminated string", `{"a`, weights.Limits{}, weights.ErrSyntax, 1, "unterminated string"},
		{"unterminated string at a step's end", `{"0123456789abcd`, weights.Limits{}, weights.ErrSyntax, 1, "unterminated string"},
		{"equals for a colon", `{"a"=1}`, weights.Limits{}, weights.ErrSyntax, 4, "invalid character '='"},
		{"semicolon between members", `{"a":1;"b":2}`, weights.Limits{}, weights.ErrSyntax, 6, "invalid character ';'"},
		{"semicolon between entries", `[{"id":"a","weight":1};{"id":"b","weight":1}]`, weights.Limits{}, weights.ErrSyntax, 22, "invalid character ';'"},
		{"semicolon in a value", `{"a":1,"b":[1;2]}`, weights.Limits{}, weights.ErrSyntax, 13, "invalid character ';'"},
		{"raw newline in string", "{\"a\n\":1}", weights.Limits{}, weights.ErrSyntax, 3, "control character"},
		{"bad escape", `{"a\q":1}`, weights.Limits{}, weights.ErrSyntax, 3, "invalid escape"},
		{"lone surrogate", `{"\udc00":1}`, weights.Limits{}, weights.ErrSyntax, 2, "surrogate"},
		{"high surrogate, then a backslash at the end", `{"\ud83d\`, weights.Limits{}, weights.ErrSyntax, 2, "surrogate"},
		{"high surrogate, then a cut escape", `{"\ud83d\u`, weights.Limits{}, weights.ErrSyntax, 2, "surrogate"},
		{"string top level", `"0"`, weights.Limits{}, weights.ErrShape, 0, "not a string"},
		{"number top level", `10`, weights.Limits{}, weights.ErrShape, 0, "not a number"},
		{"null top level", `null`, weights.Limits{}, weights.ErrShape, 0, "not a null"},
		{"too deep", deep, weights.Limits{}, weights.ErrTooDeep, 64, "nest more than 64 deep"},
		{"too deep custom", `{"a":[[1]]}`, weights.Limits{MaxDepth: 2}, weights.ErrTooDeep, 6, "nest more than 2 deep"},
		{"too large", `{"a":1}`, weights.Limits{MaxBytes: 6}, weights.ErrTooLarge, 6, "payload is 7 bytes, the limit is 6"},
		{"too many nodes", `{"a":1,"b":1,"c":1}`, weights.Limits{MaxNodes: 2}, weights.ErrTooManyNodes, 13, "more than 2 nodes"},
		{"too many entries", `[{"id":"a"},{"id":"b"},{"id":"c"}]`, weights.Limits{MaxNodes: 2}, weights.ErrTooManyNodes, 23, "more than 2 nodes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := weights.Decode([]byte(tc.in), weights.Policy{Limits: tc.limits})
			var pe *weights.PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode(%q) error %v, want a *PayloadError", tc.in, err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("Decode(%q) error %v, want %v", tc.in, err, tc.sentinel)
			}
			if pe.Offset != tc.offset {
				t.Errorf("Decode(%q) offset %d want %d (%v)", tc.in, pe.Offset, tc.offset, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "weights: ") {
				t.Errorf("Decode(%q) message %q does not contain %q", tc.in, err, tc.msg)
			}
		})
	}
}

func TestMessagesReadWell(t *testing.T) {
	_, rep, _ := weights.Decode([]byte(`{"10.0.0.1:80":10,"10.0.0.2:80":"0","10.0.0.3:80":1e400}`), weights.Policy{})
	want := []string{
		`node "10.0.0.2:80" (#1): weight is the string "0", which registries read as drain or as default; refusing to guess (string-zero)`,
		`node "10.0.0.3:80" (#2): weight 1e400 is above the maximum (overflow): the maximum is 1000000`,
	}
	if len(rep.Rejected) != len(want) {
		t.Fatalf("rejected %v", rep.Rejected)
	}
	for i, w := range want {
		if got := rep.Rejected[i].Error(); got != w {
			t.Errorf("message\n got %s\nwant %s", got, w)
		}
	}
}

func TestNodeErrorKeepsRaw(t *testing.T) {
	_, rep, _ := weights.Decode([]byte(`{"a":1,"b":10.50,"c":{"x":[true,null]},"d":"\t10"}`), weights.Lenient())
	want := []weights.Raw{
		weights.Number("10.50"),
		weights.Object(weights.Member{Key: "x", Value: weights.Array(weights.Bool(true), weights.Null())}),
		weights.String("\t10"),
	}
	if len(rep.Rejected) != len(want) {
		t.Fatalf("rejected %v", rep.Rejected)
	}
	for i, w := range want {
		if got := rep.Rejected[i].Raw; !reflect.DeepEqual(got, w) {
			t.Errorf("raw %#v want %#v", got, w)
		}
	}
}

func TestInvalidPolicy(t *testing.T) {
	p := weights.Policy{DefaultWeight: 10, MaxWeight: 5}
	if _, _, err := weights.Decode([]byte(`{}`), p); !errors.Is(err, weights.ErrPolicy) {
		t.Errorf("Decode with %+v: %v, want ErrPolicy", p, err)
	}
	if _, rep := p.Build(nil); !errors.Is(rep.Refused, weights.ErrPolicy) || !errors.Is(rep.Refused, weights.ErrRefused) {
		t.Errorf("Build with %+v: %v, want ErrPolicy", p, rep.Refused)
	}
}

func TestRoundTrip(t *testing.T) {
	ins := []string{
		`{"a":1,"b":0,"c":1e2,"d":"0","\"q\"\\\u0001\t\n é":3}`,
		`[{"id":"x","weight":5},{"id":"y"},{"id":"z","weight":-0}]`,
		`{}`,
	}
	for _, p := range []weights.Policy{{}, lenient, {Zero: weights.ZeroDefault, DefaultWeight: 9}} {
		for _, in := range ins {
			s1, _, err := weights.Decode([]byte(in), p)
			if err != nil {
				t.Fatal(err)
			}
			enc := weights.Encode(s1)
			s2, rep, err := weights.Decode(enc, p)
			if err != nil || !rep.OK() || !reflect.DeepEqual(s1, s2) {
				t.Errorf("Decode(Encode(%v)) = %v %+v %v (encoded %s)", s1, s2, rep, err, enc)
			}
		}
	}
}

func TestNormalized(t *testing.T) {
	s := weights.Snapshot{Nodes: []weights.Node{{ID: "a", Weight: 40}, {ID: "b", Weight: 0}, {ID: "c", Weight: 60}}}
	n := s.Normalized()
	want := []weights.Node{{ID: "a", Weight: 2}, {ID: "b", Weight: 0}, {ID: "c", Weight: 3}}
	if !reflect.DeepEqual(n.Nodes, want) {
		t.Errorf("Normalized() = %v want %v", n.Nodes, want)
	}
	if s.Nodes[0].Weight != 40 {
		t.Errorf("Normalized changed its receiver")
	}
	if g := (weights.Snapshot{}).GCD(); g != 0 {
		t.Errorf("empty GCD %d", g)
	}
}

func TestValueLimit(t *testing.T) {
	in := []byte(`[` + strings.Repeat(`0,`, 99) + `0]`)
	if _, err := weights.ParseJSON(in, weights.Limits{MaxValues: 100}); !errors.Is(err, weights.ErrTooLarge) || !strings.Contains(err.Error(), "more than 100 values") {
		t.Errorf("ParseJSON of 101 values with MaxValues 100: %v", err)
	}
	if _, err := weights.ParseJSON(in, weights.Limits{MaxValues: 101}); err != nil {
		t.Errorf("ParseJSON of 101 values with MaxValues 101: %v", err)
	}
	small := []byte(`{"a":[1,2,3],"b":[4,5,6]}`)
	if _, _, err := weights.Decode(small, weights.Policy{Limits: weights.Limits{MaxValues: 5}}); !errors.Is(err, weights.ErrTooLarge) {
		t.Errorf("Decode of 8 values with MaxValues 5: %v", err)
	}
}

// TestLimitsAreInclusive: a payload of exactly MaxBytes is read, and an
// empty array or object leaves the depth as it found it, so siblings at
// the deepest allowed level are read.
func TestLimitsAreInclusive(t *testing.T) {
	if _, _, err := weights.Decode([]byte(`{"a":1}`), weights.Policy{Limits: weights.Limits{MaxBytes: 7}}); err != nil {
		t.Errorf("a payload of MaxBytes: %v", err)
	}
	for _, in := range []string{`[[],[],[]]`, `[{},{},{}]`, `{"a":{},"b":[],"c":{}}`} {
		if _, err := weights.ParseJSON([]byte(in), weights.Limits{MaxDepth: 2}); err != nil {
			t.Errorf("ParseJSON(%s) at MaxDepth 2: %v", in, err)
		}
		if _, err := weights.ParseJSON([]byte(in), weights.Limits{MaxDepth: 1}); !errors.Is(err, weights.ErrTooDeep) {
			t.Errorf("ParseJSON(%s) at MaxDepth 1: %v, want ErrTooDeep", in, err)
		}
	}
}

// TestSurrogatePairs: a UTF-16 pair in \u escapes is one character, at
// the end of a string and before more of it.
func TestSurrogatePairs(t *testing.T) {
	for in, want := range map[string]string{`["\ud83d\ude00"]`: "\U0001F600", `["a\ud83d\ude00b"]`: "a\U0001F600b"} {
		v, err := weights.ParseJSON([]byte(in), weights.Limits{})
		if err != nil || len(v.Items) != 1 || v.Items[0].Text != want {
			t.Errorf("ParseJSON(%s) = %v, %v, want the string %q", in, v, err, want)
		}
	}
}

// TestParseJSONSeparators: the tree is built only from JSON's own
// separators; a look-alike between elements, members or after a key is a
// syntax error at its offset.
func TestParseJSONSeparators(t *testing.T) {
	for in, off := range map[string]int{`[1;2]`: 2, `{"a":1;"b":2}`: 6, `{"a"=1}`: 4, `{"a":[1,2;3]}`: 9, `[{"a":1};{"b":2}]`: 8} {
		_, err := weights.ParseJSON([]byte(in), weights.Limits{})
		var pe *weights.PayloadError
		if !errors.As(err, &pe) || !errors.Is(err, weights.ErrSyntax) || pe.Offset != off {
			t.Errorf("ParseJSON(%s) = %v, want a syntax error at offset %d", in, err, off)
		}
	}
}

func TestLargeWeightIsNotKept(t *testing.T) {
	huge := `[` + strings.Repeat(`[0,0],`, 1000) + `0]`
	for _, in := range []string{`{"a":1,"n":` + huge + `}`, `[{"id":"a"},{"id":"n","weight":` + huge + `}]`} {
		_, rep, err := weights.Decode([]byte(in), weights.Policy{})
		if err != nil || len(rep.Rejected) != 1 {
			t.Fatalf("Decode: %v %v", err, rep.Rejected)
		}
		ne := rep.Rejected[0]
		if ne.Reason != weights.ReasonNotNumberType || ne.Raw.Kind != weights.KindArray || len(ne.Raw.Items) != 0 ||
			ne.Error() != `node "n" (#1): weight is an array, not a number (not-a-number-type): 6003 bytes, contents not kept` {
			t.Errorf("big weight reported as %v (%d items kept)", ne, len(ne.Raw.Items))
		}
	}
	_, rep, _ := weights.Decode([]byte(`[{"id":"a"},{"id":`+huge+`}]`), weights.Policy{})
	if len(rep.Rejected) != 1 || rep.Rejected[0].Reason != weights.ReasonBadID || !strings.Contains(rep.Rejected[0].Detail, "not shown") {
		t.Errorf("big id reported as %v", rep.Rejected)
	}
	_, rep, _ = weights.Decode([]byte(`[{"id":"a"},{"x":`+huge+`}]`), weights.Policy{})
	if len(rep.Rejected) != 1 || rep.Rejected[0].Reason != weights.ReasonMalformedEntry || !strings.Contains(rep.Rejected[0].Detail, "not shown") {
		t.Errorf("big entry reported as %v", rep.Rejected)
	}
}
