package balancer

import "strings"

// triedInline is how many ids a Tried holds without allocating.
const triedInline = 8

// Tried is the set of nodes already attempted for one request, passed to
// NextExcluding on each attempt; NextExcluding records every node it
// returns, so a retry loop just passes the same Tried again. Nodes are
// recorded by id, so a Tried stays right across an Update. The zero value
// is an empty set ready to use; it holds up to 8 ids without allocating. A
// Tried belongs to one request: it is not safe for concurrent use.
type Tried struct {
	n     int
	small [triedInline]string
	more  []string
}

// Add records id as tried. Adding an id twice keeps one copy.
func (t *Tried) Add(id string) {
	if t.Has(id) {
		return
	}
	if t.n < triedInline {
		t.small[t.n] = id
	} else {
		t.more = append(t.more, id)
	}
	t.n++
}

// Has reports whether id was recorded. Ids are compared three-way
// (strings.Compare): a libFuzzer build's hook for == copies both strings
// of every unequal pair, and a retry loop asks about every id it tried.
func (t *Tried) Has(id string) bool {
	if t == nil {
		return false
	}
	k := min(t.n, triedInline)
	for i := 0; i < k; i++ {
		if strings.Compare(t.small[i], id) == 0 {
			return true
		}
	}
	for _, s := range t.more {
		if strings.Compare(s, id) == 0 {
			return true
		}
	}
	return false
}

// Len returns the number of distinct ids recorded.
func (t *Tried) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// Reset empties the set, keeping its storage for the next request.
func (t *Tried) Reset() {
	t.small = [triedInline]string{}
	t.more = t.more[:0]
	t.n = 0
}

// at returns the i-th recorded id.
func (t *Tried) at(i int) string {
	if i < triedInline {
		return t.small[i]
	}
	return t.more[i-triedInline]
}
