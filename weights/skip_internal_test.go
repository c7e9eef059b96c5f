package weights

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// skipCases are arrays and objects, well-formed and not, for comparing the
// loop that skips a value with the reader that checks it by recursion.
var skipCases = []string{
	`[]`, `{}`, `[ ]`, `{ }`, ` [1] `, `[[]]`, `[[],[]]`, `[{}]`, `{"a":[]}`,
	`[NaN, -Infinity, Infinity, true, false, null, "x\u00e9\"", 1e5, -0.5, 0]`,
	`{"a":{"b":[{"c":null}]}, "c":[], "":{}}`,
	`{"a":1,"a":1}`, strings.Repeat("[", 64) + strings.Repeat("]", 64),
	strings.Repeat("[", 65) + strings.Repeat("]", 65),
	strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat("}", 70),
	`[1,]`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`,
	`[tru]`, `[nul]`, `[-]`, `[01]`, `[1.]`, `[1e]`, `["abc`, "[\"a\x01\"]", `["\ud800"]`,
	`["\x"]`, `[[]`, `[[[]]`, `{"a":[1,2}`, `[1}`, `{"a":1]`, `[`, `{`, `{"a"`, `{"a":`,
	`[{"id":"a","weight":1},{"id":"b"}]`, `[[1,[2,[3,[4]]]],{"x":[{"y":{}}]}]`,
	// malformed after containers that close, inside ones that do not
	`[[1,2],[3,[4]],[5`, `[{"a":[1]},{"b":{"c":[2,]}}]`, `{"a":[[],[[]]],"b":[[[x]]]}`,
	strings.Repeat("[", 40) + "[1],[2" + strings.Repeat("]", 39),
	strings.Repeat(`[[0],`, 30) + "[" + strings.Repeat("]", 30),
}

// readBoth reads s (an array or object after optional whitespace) with skip
// and with the recursive reader, each under maxDepth. The recursive reader
// is run twice: as value runs it (skip for the containers inside, which
// may fail and leave them to the reader), and with skip turned off (every
// offset marked as one skip fails from), the reference for both.
func readBoth(t *testing.T, s string, maxDepth int) {
	t.Helper()
	long := scanner{maxDepth: maxDepth}
	long.load([]byte(s))
	long.ws()
	if long.i >= len(s) || (s[long.i] != '[' && s[long.i] != '{') {
		return
	}
	start := long.i
	read := func(sc *scanner) error {
		var err error
		if s[start] == '{' {
			_, err = sc.object(false)
		} else {
			_, err = sc.array(false)
		}
		return err
	}
	err := read(&long)

	ref := scanner{maxDepth: maxDepth, noSkip: make([]int, len(s)+1)}
	ref.load([]byte(s))
	ref.i = start
	for i := range ref.noSkip {
		ref.noSkip[i] = i
	}
	refErr := read(&ref)
	if refErr != nil {
		require.Error(t, err, "the reader accepted %q, which it rejects without skip: %v", s, refErr)
		assert.Equal(t, refErr.Error(), err.Error(), "error for %q with and without skip", s)
	} else {
		require.NoError(t, err, "the reader rejected %q, which it accepts without skip", s)
		assert.Equal(t, ref.i, long.i, "where %q ends with and without skip", s)
	}

	fast := scanner{maxDepth: maxDepth}
	fast.load([]byte(s))
	fast.i = start
	ok := fast.skip()
	if err != nil {
		require.False(t, ok, "skip accepted %q, which the reader rejects: %v", s, err)
		assert.Equal(t, start, fast.i, "cursor put back for %q", s)
		assert.Zero(t, fast.depth, "depth put back for %q", s)
		// What value does next: read it the long way, on the scanner
		// that remembers where skip failed.
		again := read(&fast)
		require.Error(t, again, "%q read after a failed skip", s)
		assert.Equal(t, err.Error(), again.Error(), "error for %q after a failed skip", s)
		return
	}
	require.True(t, ok, "skip rejected %q, which the reader accepts", s)
	assert.Equal(t, long.i, fast.i, "where %q ends", s)
	assert.Zero(t, fast.depth, "depth after %q", s)
}

// TestSkipAgreesWithReader: skip accepts exactly what the recursive reader
// accepts, ending where it ends, and leaves everything else to it.
func TestSkipAgreesWithReader(t *testing.T) {
	for _, s := range skipCases {
		for _, depth := range []int{1, 3, DefaultMaxDepth} {
			readBoth(t, s, depth)
		}
	}
}

// TestSkipErrorsUnchanged: a malformed or too deep value that is skipped
// (not built) is reported exactly as the reader reports it.
func TestSkipErrorsUnchanged(t *testing.T) {
	for s, want := range map[string]string{
		`[1,[2,]]`:                    `weights: invalid character ']' looking for a value at byte 6`,
		`{"a":{"b" 1}}`:               `weights: invalid character '1' after an object key at byte 10`,
		strings.Repeat("[", 65) + "]": `weights: arrays and objects nest more than 64 deep at byte 63`,
		`[{"a":[1,2,3]},{"b":[1,2}]`:  `weights: invalid character '}' after an array element at byte 24`,
	} {
		_, _, err := Decode([]byte(`{"n":`+s+`}`), Policy{})
		require.Error(t, err, s)
		var pe *PayloadError
		require.ErrorAs(t, err, &pe)
		pe.Offset -= len(`{"n":`)
		assert.Equal(t, want, pe.Error(), s)
	}
}

// FuzzSkipAgrees checks TestSkipAgreesWithReader's property on any input.
func FuzzSkipAgrees(f *testing.F) {
	for _, s := range skipCases {
		f.Add(s, uint8(DefaultMaxDepth))
	}
	f.Fuzz(func(t *testing.T, s string, depth uint8) {
		readBoth(t, s, int(depth%80)+1)
	})
}
