package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"slices"
	"strconv"
	"strings"
)

// collector gathers a decoder's instances and payload notes.
type collector struct {
	o     Options
	rule  rule
	insts []instance
	notes []Note
	max   int
	// multiURL counts instances that listed several URLs.
	multiURL int
	// services seen, in order; chosen: o.Service was among them.
	services []string
	chosen   bool
}

// service records a service the payload holds and reports whether its
// instances are kept: every one when no service is chosen, else the chosen
// one (compared with fold when the registry's names are case-insensitive).
// what names the kind of service for notes ("appid", "cluster").
func (c *collector) service(what, name string, fold bool) bool {
	if len(name) != 0 && !slices.Contains(c.services, name) {
		c.services = append(c.services, name)
	}
	if len(c.o.Service) == 0 {
		return true
	}
	if name == c.o.Service || (fold && strings.EqualFold(name, c.o.Service)) {
		c.chosen = true
		return true
	}
	c.note(NoteFiltered, weights.Raw{}, "%s %q left out: not %q", what, name, c.o.Service)
	return false
}

// quoteList renders names as "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// reserve makes room for n more instances (at most up to the limit): a
// decoder that knows how many a list holds grows the list once, not once
// per doubling.
func (c *collector) reserve(n int) {
	c.insts = slices.Grow(c.insts, max(0, min(n, c.max-len(c.insts))))
}

// add appends an instance, and fails once the node limit is passed.
func (c *collector) add(in instance) error {
	if len(c.insts) >= c.max {
		return &weights.PayloadError{Err: weights.ErrTooManyNodes,
			Msg: fmt.Sprintf("more than %d instances, the limit", c.max)}
	}
	c.insts = append(c.insts, in)
	return nil
}

// note adds a payload-level note, once.
func (c *collector) note(code NoteCode, raw weights.Raw, format string, args ...any) {
	n := Note{Index: -1, Code: code, Raw: raw, Detail: fmt.Sprintf(format, args...)}
	for _, m := range c.notes {
		if m.Code == n.Code && m.Detail == n.Detail {
			return
		}
	}
	c.notes = append(c.notes, n)
}

// shapeError reports a payload that is not the named format.
func shapeError(f Format, format string, args ...any) error {
	return &weights.PayloadError{Err: weights.ErrShape, Msg: fmt.Sprintf("not a %s payload: ", f) + fmt.Sprintf(format, args...)}
}

// instance is one registry entry on its way to an Entry.
type instance struct {
	name    string // the registry's name for the instance, for messages
	id      string
	weight  weights.Raw // as sent; absent when the registry sent none
	where   string      // where the weight lives, e.g. "metadata.weight"
	down    string      // non-empty: the registry marks it not serving, and why
	standby string      // non-empty: a lower priority group, and why
	prio    int64       // the priority group, for rules with priorities
	extra   string      // more words for a rejection of the weight
	sdk     string      // what the registry's SDK would have done with a rejected weight
	// zeroNote: the number 0 drains the node here, where the registry's SDK
	// would have used a default; said in the drained note.
	zeroNote string
	bad      string // non-empty: the entry is malformed, and why
	notes    []Note // per-node notes (Index and ID filled in by build)
}

// metadataWeight reads the weight from the string map it.metadata.weight, as
// discovery, kratos and Eureka send it. A missing or null metadata leaves the
// weight absent; metadata of another kind, or a weight key sent twice with
// different values, marks the entry malformed.
func (in *instance) metadataWeight(it weights.Raw) {
	md, _ := it.Get("metadata")
	switch md.Kind {
	case weights.KindObject:
		var bad string
		in.weight, bad = weightOf(md, "weight")
		if len(bad) != 0 && len(in.bad) == 0 {
			in.bad = bad
		}
	case weights.KindAbsent, weights.KindNull:
	default:
		if len(in.bad) == 0 {
			in.bad = "metadata is " + md.Kind.Article() + ", not an object"
		}
	}
}

func (in *instance) addNote(code NoteCode, raw weights.Raw, format string, args ...any) {
	in.notes = append(in.notes, Note{Code: code, Raw: raw, Detail: fmt.Sprintf(format, args...)})
}
