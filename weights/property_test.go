package weights_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// randNumberText returns JSON number text with a wide spread of shapes:
// signs, leading and trailing zeros in the fraction, long digit strings,
// small and very large exponents.
func randNumberText(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteByte('-')
	}
	digits := func(n int, leadingNonZero bool) {
		for i := 0; i < n; i++ {
			d := byte(r.IntN(10))
			if i == 0 && leadingNonZero && d == 0 {
				d = 1 + byte(r.IntN(9))
			}
			if r.IntN(3) == 0 {
				d = 0 // many zeros, to hit trailing-zero and exactness edges
			}
			if i == 0 && leadingNonZero && d == 0 {
				d = 1
			}
			b.WriteByte('0' + d)
		}
	}
	if r.IntN(3) == 0 {
		b.WriteByte('0')
	} else {
		digits(1+r.IntN(r.IntN(25)+1), true)
	}
	if r.IntN(2) == 0 {
		b.WriteByte('.')
		digits(1+r.IntN(r.IntN(40)+1), false)
	}
	if r.IntN(2) == 0 {
		b.WriteByte("eE"[r.IntN(2)])
		switch r.IntN(3) {
		case 0:
			b.WriteByte('-')
		case 1:
			b.WriteByte('+')
		}
		switch r.IntN(10) {
		case 0:
			b.WriteString(strconv.Itoa(r.IntN(500)))
		default:
			b.WriteString(strconv.Itoa(r.IntN(25)))
		}
	}
	return b.String()
}

var scales = []uint32{0, 1, 2, 3, 4, 5, 8, 10, 16, 25, 100, 1000, 1024, 3125, 1 << 20, 1 << 30, 1 << 31, 1220703125, 4294967295}
var maxes = []uint32{0, 1, 10, 1000, 1_000_000, 4294967295}

func randPolicy(r *rand.Rand) weights.Policy {
	return weights.Policy{
		Strings:         weights.StringMode(r.IntN(2)),
		Zero:            weights.ZeroMode(r.IntN(3)),
		Scale:           scales[r.IntN(len(scales))],
		MaxWeight:       maxes[r.IntN(len(maxes))],
		DefaultWeight:   uint32(r.IntN(2)),
		MissingRejected: r.IntN(2) == 0,
	}
}

// oracle decides a number text with math/big, independently of the package.
func oracle(text string, p weights.Policy) (uint32, weights.Reason) {
	q, ok := new(big.Rat).SetString(text)
	if !ok {
		panic("oracle cannot parse " + text)
	}
	scale, max, def := uint64(p.Scale), uint64(p.MaxWeight), uint32(p.DefaultWeight)
	if scale == 0 {
		scale = 1
	}
	if max == 0 {
		max = 1_000_000
	}
	if def == 0 {
		def = 1
	}
	switch {
	case q.Sign() == 0:
		switch p.Zero {
		case weights.ZeroDefault:
			return def, ""
		case weights.ZeroReject:
			return 0, weights.ReasonZero
		}
		return 0, ""
	case q.Sign() < 0:
		return 0, weights.ReasonNegative
	}
	q.Mul(q, new(big.Rat).SetInt64(int64(scale)))
	if !q.IsInt() {
		return 0, weights.ReasonFraction
	}
	if q.Num().Cmp(new(big.Int).SetUint64(max)) > 0 {
		return 0, weights.ReasonOverflow
	}
	return uint32(q.Num().Uint64()), ""
}

// TestNumbersAgainstBigRat checks every number decision against math/big:
// nothing is accepted that is not an integer in range after scaling, and
// nothing that is one is rejected.
func TestNumbersAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		text := randNumberText(r)
		p := randPolicy(r)
		gotW, gotR := p.Weight(weights.Number(text))
		wantW, wantR := oracle(text, p)
		if gotW != wantW || gotR != wantR {
			t.Fatalf("%+v.Weight(Number(%q)) = %d, %q; math/big says %d, %q", p, text, gotW, gotR, wantW, wantR)
		}
	}
}

// TestNothingBadAccepted throws every kind of value at random policies.
func TestNothingBadAccepted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	floats := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.5, -1, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64, 4294967296, 10}
	strs := []string{"0", "00", "000", "", " ", "10", "010", "+1", "-1", "1e2", "0x1", "NaN", "Inf", "１", "10\x00", "4294967296", "99999999999999999999999"}
	for i := 0; i < 20000; i++ {
		p := randPolicy(r)
		var raw weights.Raw
		switch r.IntN(6) {
		case 0:
			raw = weights.Float(floats[r.IntN(len(floats))])
		case 1:
			raw = weights.String(strs[r.IntN(len(strs))])
		case 2:
			raw = weights.String(randNumberText(r))
		case 3:
			raw = []weights.Raw{weights.Null(), weights.Bool(true), weights.Bool(false), weights.Array(), weights.Object(), weights.Number("0x10"), weights.Number("+1"), weights.Number("1."), weights.Number("")}[r.IntN(9)]
		case 4:
			raw = weights.Number(randNumberText(r))
		default:
			raw = weights.Raw{}
		}
		w, reason := p.Weight(raw)
		max := p.MaxWeight
		if max == 0 {
			max = 1_000_000
		}
		if reason != "" {
			if reason.Err() == nil {
				t.Fatalf("reason %q has no sentinel", reason)
			}
			continue
		}
		if w > max {
			t.Fatalf("%+v accepted %v as %d, above the maximum", p, raw, w)
		}
		switch raw.Kind {
		case weights.KindNumber:
			f, ok := raw.Float64()
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				t.Fatalf("%+v accepted %v", p, raw)
			}
		case weights.KindString:
			if p.Strings != weights.StringsDecimal || strings.Trim(raw.Text, "0") == "" {
				t.Fatalf("%+v accepted the string %v", p, raw)
			}
			if _, err := strconv.ParseUint(raw.Text, 10, 64); err != nil || raw.Text[0] == '0' {
				t.Fatalf("%+v accepted the string %v", p, raw)
			}
		case weights.KindAbsent:
			if p.MissingRejected {
				t.Fatalf("%+v accepted a missing weight", p)
			}
		default:
			t.Fatalf("%+v accepted %v", p, raw)
		}
	}
}

var seedPayloads = []string{
	`{"10.0.0.1:80":10,"10.0.0.2:80":"0","10.0.0.3:80":0}`,
	`[{"id":"a","weight":1e2},{"id":"b","weight":"10"},{"id":"c"},{"id":"d","weight":-0}]`,
	`{"a":0.5,"b":1e400,"c":NaN,"d":-Infinity,"a":3,"":1,"e":[1],"f":{"g":2}}`,
	`[{"id":"x","weight":4294967295,"meta":{"weight":"0"}},7,null,{"id":8}]`,
	`{"\u00e9\n":1,"\"":"00"}`,
}

const mutationAlphabet = "{}[]\":,0123456789-+.eE \\ntrufalsNI\"0\"x\xff\xc3\xa9"

func mutate(r *rand.Rand, s []byte) []byte {
	for n := r.IntN(4) + 1; n > 0; n-- {
		switch r.IntN(4) {
		case 0: // replace
			if len(s) > 0 {
				s[r.IntN(len(s))] = mutationAlphabet[r.IntN(len(mutationAlphabet))]
			}
		case 1: // insert
			i := r.IntN(len(s) + 1)
			s = append(s[:i], append([]byte{mutationAlphabet[r.IntN(len(mutationAlphabet))]}, s[i:]...)...)
		case 2: // delete
			if len(s) > 0 {
				i := r.IntN(len(s))
				s = append(s[:i], s[i+1:]...)
			}
		case 3: // splice a hostile weight
			i := r.IntN(len(s) + 1)
			w := []string{`"0"`, `0`, `-0`, `1e400`, `NaN`, `0.5`, `"10"`, `true`}[r.IntN(8)]
			s = append(s[:i], append([]byte(w), s[i:]...)...)
		}
	}
	return s
}

// TestDecodeMutatedPayloads checks Decode's promises on many mutated
// payloads: no panic, every accepted weight in range, ids non-empty and
// unique, every string of zeros rejected, order kept, and
// decode → encode → decode giving the same snapshot.
func TestDecodeMutatedPayloads(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 30000; i++ {
		in := mutate(r, []byte(seedPayloads[r.IntN(len(seedPayloads))]))
		p := randPolicy(r)
		p.Scale = 0
		checkDecode(t, in, p)
	}
	for _, s := range seedPayloads {
		checkDecode(t, []byte(s), weights.Policy{})
		checkDecode(t, []byte(s), weights.Lenient())
	}
}

func checkDecode(t *testing.T, in []byte, p weights.Policy) {
	t.Helper()
	snap, rep, err := weights.Decode(in, p)
	if err != nil {
		var pe *weights.PayloadError
		if !errors.As(err, &pe) || len(snap.Nodes) != 0 || rep.Entries != 0 {
			t.Fatalf("Decode(%q): %v with %v", in, err, snap)
		}
		if _, perr := weights.ParseJSON(in, weights.Limits{}); perr == nil && !errors.Is(err, weights.ErrShape) {
			t.Fatalf("Decode(%q) failed with %v but ParseJSON accepts it", in, err)
		}
		return
	}
	max := p.MaxWeight
	if max == 0 {
		max = 1_000_000
	}
	seen := map[string]bool{}
	for _, n := range snap.Nodes {
		if n.Weight > max || n.ID == "" || seen[n.ID] {
			t.Fatalf("Decode(%q) accepted %v", in, n)
		}
		seen[n.ID] = true
	}
	for _, ne := range rep.Rejected {
		if ne.Reason == "" || !errors.Is(ne, ne.Reason.Err()) {
			t.Fatalf("Decode(%q) rejected %v without a reason", in, ne)
		}
	}
	if rep.Refused == nil && len(snap.Nodes)+len(rep.Rejected) != rep.Entries {
		t.Fatalf("Decode(%q): %d accepted + %d rejected != %d entries", in, len(snap.Nodes), len(rep.Rejected), rep.Entries)
	}
	// The string "0" and its relatives are never accepted; node order is the payload's.
	raw, err := weights.ParseJSON(in, weights.Limits{})
	if err != nil {
		t.Fatalf("Decode(%q) succeeded but ParseJSON fails: %v", in, err)
	}
	if raw.Kind == weights.KindObject {
		rejected := map[int]bool{}
		for _, ne := range rep.Rejected {
			rejected[ne.Index] = true
		}
		var order []string
		for i, m := range raw.Members {
			if m.Value.Kind == weights.KindString && strings.Trim(m.Value.Text, "0") == "" && m.Value.Text != "" && !rejected[i] {
				t.Fatalf("Decode(%q) accepted node #%d with weight %v", in, i, m.Value)
			}
			if !rejected[i] {
				order = append(order, m.Key)
			}
		}
		if rep.Refused == nil {
			var got []string
			for _, n := range snap.Nodes {
				got = append(got, n.ID)
			}
			if !reflect.DeepEqual(got, order) {
				t.Fatalf("Decode(%q) order %q want %q", in, got, order)
			}
		}
	}
	again, rep2, err := weights.Decode(weights.Encode(snap), p)
	if err != nil || !rep2.OK() && len(snap.Nodes) > 0 || !reflect.DeepEqual(again, snap) {
		t.Fatalf("Decode(Encode(%v)) = %v, %+v, %v", snap, again, rep2, err)
	}
}

func TestBuild(t *testing.T) {
	entries := []weights.Entry{
		{ID: "a", Weight: weights.Int(5)},
		{ID: "b", Weight: weights.Float(math.NaN())},
		{ID: "c", Weight: weights.Float(math.Inf(1))},
		{ID: "d", Weight: weights.Float(math.Copysign(0, -1))},
		{ID: "e", Weight: weights.String("0")},
		{ID: "f", Weight: weights.Int(10), Drained: true},
		{ID: "g", Weight: weights.String("0"), Drained: true},
		{ID: "h", Weight: weights.Int(1), Reject: weights.ReasonNotServing, Detail: "status DOWN"},
		{ID: "i\xff", Weight: weights.Int(1)},
		{ID: "a", Weight: weights.Int(5)}, // the same copy again: served once
		{ID: "j"},
	}
	snap, rep := weights.Policy{}.Build(entries)
	want := []weights.Node{{ID: "a", Weight: 5}, {ID: "d", Weight: 0}, {ID: "f", Weight: 0}, {ID: "j", Weight: 1}}
	if !reflect.DeepEqual(snap.Nodes, want) {
		t.Errorf("nodes %v want %v", snap.Nodes, want)
	}
	wantReasons := []weights.Reason{weights.ReasonNaN, weights.ReasonInfinite, weights.ReasonStringZero, weights.ReasonStringZero, weights.ReasonNotServing, weights.ReasonBadID, weights.ReasonDuplicateID}
	var got []weights.Reason
	for _, ne := range rep.Rejected {
		got = append(got, ne.Reason)
	}
	if !reflect.DeepEqual(got, wantReasons) {
		t.Errorf("reasons %v want %v", got, wantReasons)
	}
	if rep.GCD != 1 || rep.Entries != len(entries) || rep.Refused != nil {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(rep.Rejected[4].Error(), "status DOWN") {
		t.Errorf("detail lost: %v", rep.Rejected[4])
	}
}

func TestBuildTooManyNodes(t *testing.T) {
	p := weights.Policy{Limits: weights.Limits{MaxNodes: 2}}
	snap, rep := p.Build(make([]weights.Entry, 3))
	if !errors.Is(rep.Refused, weights.ErrTooManyNodes) || !errors.Is(rep.Refused, weights.ErrRefused) || len(snap.Nodes) != 0 {
		t.Errorf("Build of 3 with MaxNodes 2: %v %+v", snap, rep)
	}
}

func TestBuildManyDuplicates(t *testing.T) {
	// More ids than the small set holds, so the map path is used. Every
	// copy of an id has the same weight, so the first is served.
	var entries []weights.Entry
	for i := 0; i < 100; i++ {
		entries = append(entries, weights.Entry{ID: strconv.Itoa(i % 40), Weight: weights.Int(int64(i%40%7 + 1))})
	}
	snap, rep := weights.Policy{}.Build(entries)
	if len(snap.Nodes) != 40 || len(rep.Rejected) != 60 {
		t.Fatalf("%d nodes, %d rejected", len(snap.Nodes), len(rep.Rejected))
	}
	for _, ne := range rep.Rejected {
		if ne.Reason != weights.ReasonDuplicateID || ne.Index < 40 {
			t.Errorf("unexpected reject %v", ne)
		}
	}
}

func TestParseJSONKeepsEverything(t *testing.T) {
	raw, err := weights.ParseJSON([]byte(` {"b":[1e400,-0,10.0],"a":"x\u00e9\ud83d\ude00","b":{"c":null,"d":true}} `), weights.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := weights.Object(
		weights.Member{Key: "b", Value: weights.Array(weights.Number("1e400"), weights.Number("-0"), weights.Number("10.0"))},
		weights.Member{Key: "a", Value: weights.String("xé😀")},
		weights.Member{Key: "b", Value: weights.Object(weights.Member{Key: "c", Value: weights.Null()}, weights.Member{Key: "d", Value: weights.Bool(true)})},
	)
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("ParseJSON =\n%#v\nwant\n%#v", raw, want)
	}
	for _, in := range []string{`1`, `"s"`, `null`, `[]`, `{}`, `-Infinity`} {
		if _, err := weights.ParseJSON([]byte(in), weights.Limits{}); err != nil {
			t.Errorf("ParseJSON(%s): %v", in, err)
		}
	}
}

func TestNonFiniteSpellings(t *testing.T) {
	cases := map[string]weights.Reason{
		"NaN": weights.ReasonNaN, "nan": weights.ReasonNaN, "-nan": weights.ReasonNaN, "-NaN": weights.ReasonNaN,
		"Inf": weights.ReasonInfinite, "+Inf": weights.ReasonInfinite, "-Inf": weights.ReasonInfinite, "inf": weights.ReasonInfinite,
		"-inf": weights.ReasonInfinite, "Infinity": weights.ReasonInfinite, "-Infinity": weights.ReasonInfinite,
		"0x10": weights.ReasonBadNumber, "+1": weights.ReasonBadNumber, "1.": weights.ReasonBadNumber, ".5": weights.ReasonBadNumber,
		"01": weights.ReasonBadNumber, "1e": weights.ReasonBadNumber, "": weights.ReasonBadNumber, " 1": weights.ReasonBadNumber, "Infinit": weights.ReasonBadNumber,
	}
	for text, want := range cases {
		for _, p := range []weights.Policy{{}, weights.Lenient(), {Scale: 100, Zero: weights.ZeroDefault}} {
			if w, got := p.Weight(weights.Number(text)); got != want {
				t.Errorf("%+v.Weight(Number(%q)) = %d, %q want %q", p, text, w, got, want)
			}
		}
	}
}
