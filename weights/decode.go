package weights

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Decode reads a snapshot and validates it under the policy. Two shapes are
// accepted:
//
//	{"10.0.0.1:80": 10, "10.0.0.2:80": 0}                  (object: id → weight)
//	[{"id": "10.0.0.1:80", "weight": 10}, {"id": "10.0.0.2:80"}]  (array of entries)
//
// Nodes come back in payload order. A problem with the payload as a whole
// (too large, not JSON, nested too deeply, more than Limits.MaxNodes nodes,
// neither an object nor an array) is an error, a *PayloadError, and nothing
// is returned. A problem with one node is a *NodeError in the report: under
// the default policy the snapshot is applied without it, and Report.Refused
// says when the snapshot must not be applied at all.
//
// In the array shape, each element must be an object with exactly one "id"
// member, a string, and at most one "weight" member; other members are
// ignored, except keys that spell "id" or "weight" in another case ("Weight"),
// which make the entry malformed rather than silently unweighted. An element
// that is not an object, lacks "id", or repeats "id" or "weight" is rejected
// with ReasonMalformedEntry; a non-string id is ReasonBadID. A missing
// "weight" is a missing weight (the policy's default, or ReasonMissing).
//
// In the object shape a repeated key is a duplicate id: the first is
// validated, the later ones are rejected with ReasonDuplicateID.
//
// Decode(Encode(s), p) gives s back for any snapshot s that Decode returned
// under a policy p with Scale 1 (or 0).
func Decode(data []byte, p Policy) (Snapshot, Report, error) {
	b, err := newBuilder(p)
	if err != nil {
		return Snapshot{}, Report{}, err
	}
	if err := precheck(data, b.lim); err != nil {
		return Snapshot{}, Report{}, err
	}
	b.fromPayload = true
	d := decoder{scanner: scanner{s: string(data), maxDepth: b.lim.MaxDepth}, b: b}
	d.ws()
	switch {
	case d.i < len(d.s) && d.s[d.i] == '{':
		b.reserve(bytes.Count(data, colon)) // at least one per node
		err = d.objectForm()
	case d.i < len(d.s) && d.s[d.i] == '[':
		b.reserve(bytes.Count(data, brace) + 8) // one per node, give or take a few
		err = d.arrayForm()
	default:
		v, verr := d.value(false)
		if verr != nil {
			return Snapshot{}, Report{}, verr
		}
		err = &PayloadError{Offset: 0, Err: ErrShape,
			Msg: "a snapshot is a JSON object or array, not " + v.Kind.article()}
	}
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return Snapshot{}, Report{}, err
	}
	s, rep := b.finish()
	rep.Format = "map"
	return s, rep, nil
}

var colon, brace = []byte{':'}, []byte{'{'}

type decoder struct {
	scanner
	b     *builder
	index int
}

// count checks the node limit before node number d.index is added.
func (d *decoder) count(off int) error {
	if d.index >= d.b.lim.MaxNodes {
		return &PayloadError{Offset: off, Err: ErrTooManyNodes,
			Msg: fmt.Sprintf("more than %d nodes", d.b.lim.MaxNodes)}
	}
	return nil
}

func (d *decoder) objectForm() error {
	if err := d.enter(); err != nil {
		return err
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.unexpected("looking for a node id")
		}
		off := d.i
		id, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':', "after a node id"); err != nil {
			return err
		}
		w, err := d.value(true)
		if err != nil {
			return err
		}
		if err := d.count(off); err != nil {
			return err
		}
		d.b.add(d.index, Entry{ID: id, Weight: w})
		d.index++
		more, err := d.next('}', "after a node")
		if err != nil || !more {
			return err
		}
	}
}

func (d *decoder) arrayForm() error {
	if err := d.enter(); err != nil {
		return err
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		off := d.i
		if err := d.count(off); err != nil {
			return err
		}
		if err := d.element(); err != nil {
			return err
		}
		d.index++
		more, err := d.next(']', "after a node")
		if err != nil || !more {
			return err
		}
	}
}

// element reads one {"id": ..., "weight": ...} entry without building the
// members it does not need.
func (d *decoder) element() error {
	start := d.i
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		v, err := d.value(true)
		if err != nil {
			return err
		}
		d.b.add(d.index, Entry{Weight: v, Reject: ReasonMalformedEntry,
			Detail: "the entry is " + v.Kind.article() + `, not an object with "id" and "weight"`})
		return nil
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.i++
	var id, weight Raw
	ids, weights := 0, 0
	var odd string // a key that spells id or weight in another case
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
	} else {
		for {
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return d.unexpected("looking for an object key")
			}
			key, err := d.str()
			if err != nil {
				return err
			}
			if err := d.expect(':', "after an object key"); err != nil {
				return err
			}
			want := key == "id" || key == "weight"
			v, err := d.value(want)
			if err != nil {
				return err
			}
			switch {
			case key == "id":
				id = v
				ids++
			case key == "weight":
				weight = v
				weights++
			case odd == "" && (strings.EqualFold(key, "id") || strings.EqualFold(key, "weight")):
				odd = key
			}
			more, err := d.next('}', "after an object member")
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	e := Entry{ID: id.Text, Weight: weight}
	switch {
	case ids == 0:
		e.Reject, e.Detail = ReasonMalformedEntry, `the entry has no "id" member`
	case ids > 1:
		e.Reject, e.Detail = ReasonMalformedEntry, `the entry has `+strconv.Itoa(ids)+` "id" members`
	case weights > 1:
		e.Reject, e.Detail = ReasonMalformedEntry, `the entry has `+strconv.Itoa(weights)+` "weight" members`
	case odd != "":
		e.Reject, e.Detail = ReasonMalformedEntry, `the entry has a member named `+strconv.Quote(odd)+`; only "id" and "weight" are read`
	case id.Kind != KindString:
		e.ID = ""
		e.Reject, e.Detail = ReasonBadID, `"id" is `+id.Kind.article()+" ("+id.String()+"), not a string"
	}
	if e.Reject != "" && e.Reject != ReasonBadID {
		// Show the whole entry: it was already checked, so this cannot fail.
		sub := scanner{s: d.s[start:d.i], maxDepth: d.maxDepth + 1}
		whole, err := sub.value(true)
		if err == nil {
			e.Weight = whole
		}
		if id.Kind != KindString {
			e.ID = ""
		}
	}
	d.b.add(d.index, e)
	return nil
}
