package weights

import (
	"math/rand"
	"strings"
	"testing"
)

// TestAnyIn: anyIn answers as a test of every byte would, at every length
// (below, at and past one step of eight) and with the byte of the class at
// every place, the overlapping tail included.
func TestAnyIn(t *testing.T) {
	classes := map[string]*[256]uint8{"idLook": &idLook, "hostOdd": &hostOdd, "upperLetter": &upperLetter}
	r := rand.New(rand.NewSource(1))
	for name, class := range classes {
		for n := 0; n <= 40; n++ {
			for trial := 0; trial < 200; trial++ {
				b := make([]byte, n)
				for i := range b {
					b[i] = "abc019-_.:"[r.Intn(10)]
				}
				if n > 0 && trial%2 == 1 {
					b[r.Intn(n)] = byte(r.Intn(256))
				}
				want := false
				for _, c := range b {
					want = want || class[c] != 0
				}
				if got := anyIn(string(b), class); got != want {
					t.Fatalf("%s: anyIn(%q) = %v, want %v", name, b, got, want)
				}
			}
		}
	}
	if anyIn(strings.Repeat("a", 17)+"A", &upperLetter) != true {
		t.Fatal("anyIn misses a byte of the class in the tail")
	}
}
