package weights_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/safewrr/safewrr/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdlibCases are JSON texts, valid and not, that exercise the scanner's
// loops: whitespace, strings with and without escapes or control bytes,
// numbers of every form, literals.
var stdlibCases = []string{
	`{}`, ` [ ] `, "\t{\n\"a\"\r: 1 }\n", `"x"`, `""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20ac"`,
	`"\ud83d\ude00"`, `"é€😀 plain"`, `"long string without any escape in it at all"`,
	`"0123456789abcdef\"0123"`, `["01234567\n", "0123456789abcde\u0041"]`, "\"0123456789a\x01\"", "\"0123456789abc\x00\"", "\"\x00\"",
	`{"0123456789abcdef":"01234567"}`, `"01234567`, `"0123456789abcdef`,
	"\"tab\there\"", "\"nl\nhere\"", "\"\x1f\"", `"\q"`, `"\u12"`, `"abc`, `"abc\`, `"`,
	`0`, `-0`, `12`, `9876543210`, `[19.99e19]`, `-12.5e+3`, `1E-2`, `0.0`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `- 1`, `+1`,
	`true`, `false`, `null`, `tru`, `nul`, `falsey`, `[true,false,null]`, `[1,]`, `{"a":1,}`,
	`{"a" 1}`, `{1:2}`, `[1 2]`, `{"a":[1,{"b":"c"}],"a":2}`, `[1]x`, `[1] `, ` `, ``,
}

// FuzzParseAgreesWithStdlib: on any text that is valid UTF-8 and avoids
// ParseJSON's documented differences from encoding/json (the NaN and
// Infinity tokens it reads, the lone surrogates it refuses, its depth
// limit), ParseJSON accepts exactly what encoding/json accepts, and yields
// the same tokens in the same order: every string decoded the same, every
// number with the same text.
func FuzzParseAgreesWithStdlib(f *testing.F) {
	for _, s := range stdlibCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAgainstStdlib(t, s)
	})
}

func TestParseAgreesWithStdlib(t *testing.T) {
	for _, s := range stdlibCases {
		checkAgainstStdlib(t, s)
	}
}

func checkAgainstStdlib(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.Contains(s, "NaN") || strings.Contains(s, "Infinity") ||
		strings.Contains(strings.ToLower(s), `\ud`) {
		return
	}
	raw, err := weights.ParseJSON([]byte(s), weights.Limits{})
	if errors.Is(err, weights.ErrTooDeep) {
		return
	}
	valid := json.Valid([]byte(s))
	if !valid {
		require.Error(t, err, "ParseJSON accepted %q, which encoding/json rejects", s)
		assert.ErrorIs(t, err, weights.ErrSyntax, "%q", s)
		return
	}
	require.NoError(t, err, "ParseJSON rejected %q, which encoding/json accepts", s)
	var want []string
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "%q", s)
		want = append(want, tokenString(tok))
	}
	assert.Equal(t, want, rawTokens(raw, nil), "tokens of %q", s)
}

func tokenString(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return "s:" + v
	case json.Number:
		return "n:" + string(v)
	case bool:
		return fmt.Sprint(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("?%T", tok)
}

// rawTokens lists r as encoding/json's Decoder.Token would.
func rawTokens(r weights.Raw, out []string) []string {
	switch r.Kind {
	case weights.KindObject:
		out = append(out, "{")
		for _, m := range r.Members {
			out = append(out, "s:"+m.Key)
			out = rawTokens(m.Value, out)
		}
		return append(out, "}")
	case weights.KindArray:
		out = append(out, "[")
		for _, it := range r.Items {
			out = rawTokens(it, out)
		}
		return append(out, "]")
	case weights.KindString:
		return append(out, "s:"+r.Text)
	case weights.KindNumber:
		return append(out, "n:"+r.Text)
	case weights.KindBool:
		return append(out, fmt.Sprint(r.Bool))
	case weights.KindNull:
		return append(out, "null")
	}
	return append(out, "?"+r.Kind.String())
}

// The scanner reads a string sixteen bytes a step: a string's end, an
// escape or a control byte at every place of a step, with and without more
// plain bytes after it in the same step, reads as encoding/json reads it.
func TestStringStopAtEveryPlace(t *testing.T) {
	for k := 0; k <= 34; k++ {
		plain := strings.Repeat("a", k)
		for _, after := range []string{"", "1", "123456789012345", "12345678901234567890"} {
			for _, s := range []string{
				`["` + plain + `", ` + after + `0]`,
				`["` + plain + `\n", ` + after + `0]`,
				`{"` + plain + `":` + after + `0}`,
				"[\"" + plain + "\x01\", " + after + "0]",
			} {
				checkAgainstStdlib(t, s)
			}
		}
	}
}
