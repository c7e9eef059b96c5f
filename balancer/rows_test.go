package balancer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowsLayout checks a rows schedule against its definition, computed
// here the plain way: the row of threshold t (every node of reduced weight
// at least t, heaviest first, ties in node order) comes at place
// (t-1)*c mod top, c = spreadStep(top); rowStart sums the row lengths in
// place order; bucket b names the row of position b<<shift, with no more
// than 2*top buckets and the smallest shift that gives that; and
// inverseMod inverts c.
func TestRowsLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sets := [][]uint32{{1}, {1, 1}, {2, 1}, {5, 0, 3}, {1000, 500, 100, 10, 1, 1, 1}, {997, 1, 2, 3, 5, 8, 13}}
	for _, n := range []int{1, 2, 7, 50, 300} {
		for range 4 {
			sets = append(sets, randomWeights(r, n))
		}
	}
	oldT := tableBytes
	tableBytes = 1
	defer func() { tableBytes = oldT }()
	for _, ws := range sets {
		t.Run(fmt.Sprint(len(ws), ws[:min(len(ws), 4)]), func(t *testing.T) {
			b, err := New(mkNodes(ws))
			if err != nil {
				t.Fatal(err)
			}
			s := b.cur.Load()
			if s.length <= 1 {
				return // a table of one entry
			}
			if s.kind != kindRows {
				t.Fatalf("weights %v: kind %d (top %d), not rows", ws, s.kind, s.top)
			}
			top, g := s.top, s.gcd
			c := spreadStep(top)
			if inv := inverseMod(c, top); c*inv%top != 1%top {
				t.Fatalf("inverseMod(%d, %d) = %d", c, top, inv)
			}
			var heavy []int // nodes heaviest first, ties in order
			for i, w := range ws {
				if w > 0 {
					heavy = append(heavy, i)
				}
			}
			slices.SortStableFunc(heavy, func(x, y int) int { return int(ws[y]) - int(ws[x]) })
			for k, i := range heavy {
				if s.rowNodes[k] != b.m.nodes[i] {
					t.Fatalf("rowNodes[%d] = %v, want %v", k, s.rowNodes[k], b.m.nodes[i])
				}
			}
			length := make([]uint64, top) // by place
			for th := uint64(1); th <= top; th++ {
				for _, w := range ws {
					if uint64(w)/g >= th {
						length[(th-1)*c%top]++
					}
				}
			}
			want := make([]uint64, top+1)
			for k := range top {
				want[k+1] = want[k] + length[k]
			}
			if !slices.Equal(s.rowStart, want) {
				t.Fatalf("rowStart %v, want %v", s.rowStart, want)
			}
			nb := (s.length-1)>>s.shift + 1
			if nb > 2*top || (s.shift > 0 && (s.length-1)>>(s.shift-1)+1 <= 2*top) {
				t.Fatalf("shift %d for a cycle of %d and top %d", s.shift, s.length, top)
			}
			if uint64(len(s.bucket)) != nb+1 || s.bucket[nb] != uint32(top-1) {
				t.Fatalf("%d buckets ending with %d, want %d ending with %d", len(s.bucket), s.bucket[len(s.bucket)-1], nb+1, top-1)
			}
			for bk := range nb {
				p := bk << s.shift
				k := uint64(s.bucket[bk])
				if want[k] > p || p >= want[k+1] {
					t.Fatalf("bucket %d (position %d) names row %d, which holds [%d, %d)", bk, p, k, want[k], want[k+1])
				}
			}
		})
	}
}
