package core

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func formatIndex(t *testing.T, f registry.Format) byte {
	t.Helper()
	i := slices.Index(typedFormats, f)
	if i < 0 {
		t.Fatalf("format %s is not generated", f)
	}
	return byte(i)
}

// TestTypedReachesEveryValue: a node's bytes reach every documented health
// value of each registry, every piece at the start and at the end of an
// address (and of a map id), a weight one on either side of each boundary,
// and every white space character before and after a string zero.
func TestTypedReachesEveryValue(t *testing.T) {
	for f, vocab := range typedVocab {
		for k, want := range vocab {
			in := []byte{formatIndex(t, f), 0, 1, 1, byte(k)}
			if f == registry.FormatNacos {
				in = append(in, byte(k)) // enabled
			}
			s := decodeTyped(append(in, wSmallInt, 5))
			if len(s.nodes) != 1 || !s.nodes[0].hset || s.nodes[0].health[0].String() != want.String() {
				t.Fatalf("%s: health byte %d gives %+v, want %s", f, k, s.nodes, want)
			}
		}
	}
	for b := 0; b < 256; b++ {
		piece := pieceOf(byte(b))
		for _, at := range []byte{0, 255} {
			s := decodeTyped([]byte{formatIndex(t, registry.FormatAPISIX), 0, 1, 0x40, at, byte(b), wSmallInt, 5})
			host := s.nodes[0].host
			if at == 0 && !strings.HasPrefix(host, piece) || at == 255 && !strings.HasSuffix(host, piece) || s.nodes[0].plain {
				t.Fatalf("mutation at %d with piece %q gives host %q (plain %v)", at, piece, host, s.nodes[0].plain)
			}
			s = decodeTyped([]byte{formatIndex(t, registry.FormatMap), 0, 1, 0x40, at, byte(b), wSmallInt, 5})
			if id := s.nodes[0].id(); at == 255 && !strings.HasSuffix(id, piece) || !strings.Contains(id, ":80") {
				t.Fatalf("map id mutation at %d with piece %q gives %q", at, piece, id)
			}
		}
	}
	reached := map[string]bool{}
	for which := 0; which < 256; which++ {
		for off := 0; off < 16; off++ {
			reached[boundaryNumber(which, off)] = true
		}
	}
	for _, b := range boundaries {
		for _, d := range []int64{-1, 0, 1} {
			if v := int64(b) + d; v >= 0 && !reached[strconv.FormatInt(v, 10)] {
				t.Errorf("boundary %d%+d is out of reach", b, d)
			}
		}
	}
	composed := map[string]bool{}
	for shape := 0; shape < 16; shape++ {
		for w := 0; w < len(typedPieces); w++ {
			composed[composedString(&[]byte{byte(shape), 0, byte(w), byte(w)})] = true
		}
	}
	for _, w := range unicodeSpaces {
		for _, want := range []string{w + "0", "0" + w} {
			if !composed[want] {
				t.Errorf("the string %q is out of reach", want)
			}
		}
	}
}

// TestRefServing: the reference reading of health fields serves exactly
// the documented serving values of each registry.
func TestRefServing(t *testing.T) {
	serves := map[registry.Format][]string{
		registry.FormatDiscovery:     {"1"},
		registry.FormatConsul:        {`"passing"`, `"warning"`},
		registry.FormatEureka:        {`"UP"`},
		registry.FormatEDS:           {`"UNKNOWN"`, `"HEALTHY"`, "0", "1", "null", weights.Raw{}.String()},
		registry.FormatEndpointSlice: {"true", "null", weights.Raw{}.String()},
	}
	for f, yes := range serves {
		for _, h := range typedVocab[f] {
			n := typedNode{hset: true, health: [2]weights.Raw{h}, weight: weights.Int(3)}
			got, _ := refServing(f, &n)
			want := slices.Contains(yes, h.String())
			if (got == serveYes) != want {
				t.Errorf("%s: health %s reads as %d, want serving %v", f, h, got, want)
			}
		}
	}
	n := typedNode{hset: true, health: [2]weights.Raw{weights.String("warning")}, weight: weights.Int(7)}
	if sv, w := refServing(registry.FormatConsul, &n); sv != serveYes || w.String() != "1" {
		t.Errorf("consul warning: %d at %s, want serving at the Warning weight 1", sv, w)
	}
	for _, c := range []struct {
		healthy, enabled weights.Raw
		want             serving
	}{
		{weights.Bool(true), weights.Bool(true), serveYes},
		{weights.Raw{}, weights.Null(), serveYes},
		{weights.Bool(true), weights.Bool(false), serveNo},
		{weights.String("TRUE"), weights.Bool(true), serveEither},
		{weights.String("true"), weights.String("false"), serveNo},
		{weights.Int(1), weights.Bool(true), serveNo},
	} {
		n := typedNode{hset: true, health: [2]weights.Raw{c.healthy, c.enabled}}
		if got, _ := refServing(registry.FormatNacos, &n); got != c.want {
			t.Errorf("nacos healthy %s enabled %s: %d, want %d", c.healthy, c.enabled, got, c.want)
		}
	}
}

// TestPlainAddressesCanonical: a plain node's address is its only id and is
// canonical, as typedSet.addresses takes it without weights.ParseAddress.
func TestPlainAddressesCanonical(t *testing.T) {
	for _, f := range typedFormats {
		for a := 0; a < 160; a++ {
			for flags := 0; flags < 256; flags++ {
				if flags&0x41 != 0 {
					continue // health and mutation bytes would follow
				}
				s := decodeTyped([]byte{formatIndex(t, f), 0, byte(a), byte(flags), wAbsent})
				n := s.nodes[0]
				if !n.plain {
					continue
				}
				for _, x := range n.ids() {
					if x == "" {
						continue
					}
					if c, err := weights.ParseAddress(x); err != nil || c != n.id() {
						t.Fatalf("%s: plain node %q has the id %q, canonical %q (%v)", f, n.id(), x, c, err)
					}
				}
			}
		}
	}
}

// exactInteger's shortcut for a plain decimal gives what its general path
// gives for the same value spelled otherwise.
func TestExactIntegerShortcut(t *testing.T) {
	for _, c := range []struct {
		plain, other string
		scale        int64
	}{
		{"0", "0.0", 1}, {"1", "1e0", 100}, {"7", "0.07e2", 100}, {"10000", "1e4", 1}, {"999999999", "999999999.000", 3},
		{"123456789", "1234567890e-1", 2147483647},
	} {
		a, okA := exactInteger(c.plain, c.scale)
		b, okB := exactInteger(c.other, c.scale)
		if !okA || !okB || a.Cmp(b) != 0 {
			t.Errorf("exactInteger(%q, %d) = %v, %v; exactInteger(%q) = %v, %v", c.plain, c.scale, a, okA, c.other, b, okB)
		}
	}
	for _, s := range []string{"", "-1", "1a", "1.5", "+1"} {
		if v, ok := exactInteger(s, 1); ok && s != "-1" {
			t.Errorf("exactInteger(%q) = %v, an integer", s, v)
		}
	}
	if v, ok := exactInteger("-1", 1); !ok || v.Int64() != -1 {
		t.Errorf("exactInteger(-1) = %v, %v", v, ok)
	}
	for s, want := range map[string]bool{"": true, "0123456789": true, "12a": false, " 1": false, "1.0": false, "\u0661": false} {
		if digitsOnly(s) != want {
			t.Errorf("digitsOnly(%q) = %v", s, !want)
		}
	}
}

// payload.str writes every string as a JSON string that reads back as the
// same bytes.
func TestPayloadStr(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	for _, s := range []string{"", "plain", `"`, `\`, "\x00", "\x7f", "a\"b\\c\nd\x1fe\x7ff", "\u2028", string(all[:128]) + "é"} {
		p := payload(nil).str(s)
		r, err := weights.ParseJSON(p, weights.Limits{})
		if err != nil || r.Kind != weights.KindString || r.Text != s {
			t.Errorf("str(%q) = %s, reads back as %v (%v)", s, p, r, err)
		}
	}
	// Invalid UTF-8 goes through as sent, for the decoder to refuse.
	if p := payload(nil).str(string(all[128:])); string(p) != `"`+string(all[128:])+`"` {
		t.Errorf("str(bytes 0x80-0xff) = %q", p)
	}
}
