package main

import (
	"bytes"
	"math/rand/v2"
	"testing"

	fuzzheaders "github.com/AdaLogics/go-fuzz-headers"
)

// reference is what the libFuzzer build's f.Fuzz hands the target: the
// pinned go-fuzz-headers consumer's GetBytes.
func reference(input []byte) ([]byte, bool) {
	b, err := fuzzheaders.NewConsumer(input).GetBytes()
	return b, err == nil
}

// TestDecodeMatchesConsumer checks decode against the consumer itself on
// inputs of every short length and random prefixes.
func TestDecodeMatchesConsumer(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		in := make([]byte, r.IntN(48))
		for j := range in {
			in[j] = byte(r.UintN(256))
		}
		if len(in) >= 4 && i%3 == 0 {
			in[0], in[1], in[2] = 0, 0, 0 // small lengths, the common case
		}
		want, ok := reference(in)
		got, err := decode(in)
		if ok != (err == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decode(%x) = %x, %v; consumer gives %x, %v", in, got, err, want, ok)
		}
	}
}

// TestEncodeRoundTrip checks that an encoded seed reaches the target as it
// is, through the consumer.
func TestEncodeRoundTrip(t *testing.T) {
	for _, seed := range [][]byte{[]byte("x"), []byte(`{"a":"0"}`), bytes.Repeat([]byte{0}, 300), {0, 10, 1, 0}} {
		got, ok := reference(encode(seed))
		if !ok || !bytes.Equal(got, seed) {
			t.Fatalf("consumer(encode(%q)) = %q, %v", seed, got, ok)
		}
		if back, err := decode(encode(seed)); err != nil || !bytes.Equal(back, seed) {
			t.Fatalf("decode(encode(%q)) = %q, %v", seed, back, err)
		}
	}
	if _, ok := reference(encode(nil)); ok {
		t.Fatal("an empty seed reaches the target, want it never to")
	}
}
