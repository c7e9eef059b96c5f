package weights_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// objectPayload is a snapshot of n nodes in the object shape, with a few
// drained nodes and weights of a realistic spread.
func objectPayload(n int) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"10.`)
		b.WriteString(strconv.Itoa(i >> 16 & 255))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i >> 8 & 255))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i & 255))
		b.WriteString(`:8080":`)
		b.WriteString(strconv.Itoa((i * 7919) % 100))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// arrayPayload is the same snapshot in the array shape.
func arrayPayload(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"10.`)
		b.WriteString(strconv.Itoa(i >> 16 & 255))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i >> 8 & 255))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i & 255))
		b.WriteString(`:8080","weight":`)
		b.WriteString(strconv.Itoa((i * 7919) % 100))
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	for _, shape := range []struct {
		name string
		gen  func(int) []byte
	}{{"object", objectPayload}, {"array", arrayPayload}} {
		for _, n := range []int{10, 10000} {
			data := shape.gen(n)
			name := "nodes=" + strconv.Itoa(n)
			if shape.name != "object" {
				name = shape.name + "/" + name
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					s, rep, err := weights.Decode(data, weights.Policy{})
					if err != nil || len(s.Nodes) != n || !rep.OK() {
						b.Fatalf("Decode: %v, %d nodes, %+v", err, len(s.Nodes), rep)
					}
				}
				b.ReportMetric(float64(testing.AllocsPerRun(1, func() { _, _, _ = weights.Decode(data, weights.Policy{}) }))/float64(n), "allocs/node")
			})
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 10000} {
		entries := make([]weights.Entry, n)
		for i := range entries {
			entries[i] = weights.Entry{ID: "10.0.0." + strconv.Itoa(i) + ":80", Weight: weights.Int(int64(i % 100))}
		}
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				weights.Policy{}.Build(entries)
			}
		})
	}
}

// TestDecodeAllocsPerNode holds the allocation budget: under 3 allocations
// per node for a 10,000-node snapshot, in both shapes.
func TestDecodeAllocsPerNode(t *testing.T) {
	const n = 10000
	for name, data := range map[string][]byte{"object": objectPayload(n), "array": arrayPayload(n)} {
		allocs := testing.AllocsPerRun(5, func() {
			s, _, err := weights.Decode(data, weights.Policy{})
			if err != nil || len(s.Nodes) != n {
				t.Fatalf("Decode: %v, %d nodes", err, len(s.Nodes))
			}
		})
		if per := allocs / n; per >= 3 {
			t.Errorf("%s: %.2f allocations per node, want under 3", name, per)
		}
	}
}
