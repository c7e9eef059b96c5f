package fuzz

import "testing"

// Node sets that Lua serves but safewrr refuses on its own rules are not a
// finding of Differential: ids that weights rejects (control characters,
// white space at an end) cannot give the same sequence on both sides.
func TestDifferentialIDRules(t *testing.T) {
	for _, lit := range []string{
		`{["a:\028"]=10, ["b:1"]=0}`, // found by libFuzzer: C0 control character
		`{["a\r\nX: y"]=1, b=2}`,
		`{[" a"]=1, b=1}`,
		`{["a "]=1, b=1}`,
		`{["a\194\133"]=1, b=1}`, // U+0085, a C1 control character
		`{a=1, b=2, c=0}`,        // valid: both sides must agree
	} {
		if _, err := Differential([]byte(lit)); err != nil {
			t.Errorf("Differential(%s) = %v, want no finding", lit, err)
		}
	}
	for id, want := range map[string]bool{
		"a": true, "a b": true, "é:1": true, "a\x1c": false, "a\x7f": false,
		"a\u0085": false, " a": false, "a\t": false, "\xff": false,
	} {
		if got := usableID(id); got != want {
			t.Errorf("usableID(%q) = %v, want %v", id, got, want)
		}
	}
}

// A cycle longer than safewrr's exact schedule keeps each node's share, not
// the Lua model's order: Differential compares the order only where
// package balancer documents it exact.
func TestDifferentialLongCycles(t *testing.T) {
	for _, lit := range []string{
		`{a=4, b=277777, c=6}`, // found by the native engine: a cycle of 277,787 picks
		`{a=1, b=262144}`,      // 262,145 picks, one above the table
		`{a=1, b=262143}`,      // 262,144 picks, the table's size: exact, compared
	} {
		if _, err := Differential([]byte(lit)); err != nil {
			t.Errorf("Differential(%s) = %v, want no finding", lit, err)
		}
	}
	for lit, want := range map[string]bool{
		`{a=1, b=262143}`: true, `{a=1, b=262144}`: false, `{a=2, b=524286}`: true, `{a=0, b=5}`: true,
		`{a=4, b=277777, c=6}`: false,
	} {
		entries, ok := NodeSet([]byte(lit))
		if !ok {
			t.Fatalf("NodeSet(%s) failed", lit)
		}
		if got := exactOrder(entries); got != want {
			t.Errorf("exactOrder(%s) = %v, want %v", lit, got, want)
		}
	}
}
