package balancer

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// coprimeNearReference is the plain search coprimeNear must agree with:
// every candidate expanded in full, the first with the smallest largest
// partial quotient kept.
func coprimeNearReference(m uint64) uint64 {
	if m <= 2 {
		return 1
	}
	a := uint64(float64(m) * 0.6180339887498949)
	best, bestScore := uint64(1), ^uint64(0)
	for d := uint64(0); d <= 64; d++ {
		for _, c := range [2]uint64{a + d, a - d} {
			if c == 0 || c >= m || gcd(c, m) != 1 {
				continue
			}
			var q uint64
			for x, y := c, m; x != 0; x, y = y%x, x {
				q = max(q, y/x)
			}
			if q < bestScore {
				best, bestScore = c, q
			}
		}
	}
	return best
}

func TestCoprimeNearMatchesReference(t *testing.T) {
	ms := []uint64{1 << 32, 1<<32 - 1, 1<<32 + 1, 1 << 63, 1<<64 - 1, 1<<64 - 59, 1000000, 999999 + 1000000 + 1, 6000*2 + 1}
	for m := uint64(0); m <= 3000; m++ {
		ms = append(ms, m)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		ms = append(ms, r.Uint64N(1<<uint(1+r.IntN(63))))
	}
	for _, m := range ms {
		got, want := coprimeNear(m), coprimeNearReference(m)
		if got != want {
			t.Fatalf("coprimeNear(%d) = %d, want %d", m, got, want)
		}
		if m > 2 && gcd(got, m) != 1 {
			t.Fatalf("coprimeNear(%d) = %d, not coprime", m, got)
		}
	}
}

func BenchmarkCoprimeNear(b *testing.B) {
	for _, m := range []uint64{12001, 1000000, 1<<40 + 15} {
		b.Run("m="+strconv.FormatUint(m, 10), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				coprimeNear(m)
			}
		})
	}
}

// TestSpreadStepRemembers: spreadStep answers what coprimeNear does, on a
// first call, on a repeat (from its table) and after another length took
// the same slot; lengths that differ only in their high bits (powers of
// two) do not share a slot.
func TestSpreadStepRemembers(t *testing.T) {
	other := uint64(1000004)
	for spreadSlot(other) != spreadSlot(1000003) {
		other++
	}
	for _, m := range []uint64{1000003, other, 1 << 40, 3, 1000003} {
		for range 2 {
			if got, want := spreadStep(m), coprimeNear(m); got != want {
				t.Fatalf("spreadStep(%d) = %d, want %d", m, got, want)
			}
		}
		if e := spreadSteps[spreadSlot(m)].Load(); e == nil || e[0] != m {
			t.Fatalf("spreadStep(%d) left its slot holding %v", m, e)
		}
	}
	slots := map[int]bool{}
	for k := 20; k < 36; k++ {
		slots[spreadSlot(1<<k)] = true
	}
	if len(slots) < 12 {
		t.Fatalf("16 powers of two share %d slots", len(slots))
	}
}

// TestPrefixSums: prefixSums agrees with a running sum for every length
// around its step of eight.
func TestPrefixSums(t *testing.T) {
	for n := range 19 {
		in := make([]uint32, n)
		for i := range in {
			in[i] = uint32(i*7 + 3)
		}
		got := slices.Clone(in)
		prefixSums(got)
		var sum uint32
		for i, v := range in {
			sum += v
			if got[i] != sum {
				t.Fatalf("prefixSums(%v) = %v: element %d is %d, want %d", in, got, i, got[i], sum)
			}
		}
	}
}
