package weights

import (
	"slices"
	"strconv"
	"testing"
)

// TestIDSetDeterministic checks that the same ids probe the table the same
// way every time (a fuzzing engine sees the same work for the same payload)
// and that duplicates are still found, on the linear and the hashed path.
func TestIDSetDeterministic(t *testing.T) {
	for _, n := range []int{3, 8, 9, 200} {
		t.Run("ids="+strconv.Itoa(n), func(t *testing.T) {
			fill := func(reserve bool) *idSet {
				s := &idSet{}
				if reserve {
					s.reserve(n)
				}
				for i := range n {
					if _, dup := s.insert("10.0.0."+strconv.Itoa(i)+":80", i); dup {
						t.Fatalf("id #%d reported as a duplicate", i)
					}
				}
				first, dup := s.insert("10.0.0.0:80", n)
				if !dup || first != 0 {
					t.Fatalf("repeated id: first %d, duplicate %v; want 0, true", first, dup)
				}
				return s
			}
			for _, reserve := range []bool{false, true} {
				a, b := fill(reserve), fill(reserve)
				if !slices.Equal(a.slots, b.slots) || !slices.Equal(a.ents, b.ents) {
					t.Fatalf("reserve %v: two sets of the same ids differ", reserve)
				}
			}
		})
	}
}
