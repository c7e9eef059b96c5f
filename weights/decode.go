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
// In either shape an id sent more than once is one node whose copies must
// agree (see Build): copies that read the same are served once, as the
// first; copies that disagree ({"a": 5, "a": 0}) are all rejected with
// ReasonDuplicateID, so no reading of the payload is preferred to another.
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
	d := decoder{scanner: scanner{maxDepth: b.lim.MaxDepth, maxValues: b.lim.MaxValues}, b: b}
	d.load(data)
	d.ws()
	switch d.at() {
	case '{':
		b.reserve(bytes.Count(data, colon)) // at least one per node
		err = d.objectForm()
	case '[':
		b.reserve(bytes.Count(data, brace) + 8) // one per node, give or take a few
		err = d.arrayForm()
	default:
		v, verr := d.value(false)
		if verr != nil {
			return Snapshot{}, Report{}, verr
		}
		err = &PayloadError{Offset: 0, Err: ErrShape,
			Msg: "a snapshot is a JSON object or array, not " + v.Kind.Article()}
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
	kept  int // arrays and objects kept whole (keepRawValues)
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
	if d.at() == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		if !isQuote[d.at()] {
			return d.unexpected("looking for a node id")
		}
		off := d.i
		id, err := d.str()
		if err != nil {
			return err
		}
		if err := d.colon("after a node id"); err != nil {
			return err
		}
		w, big, err := d.rawValue()
		if err != nil {
			return err
		}
		if err := d.count(off); err != nil {
			return err
		}
		e := Entry{ID: id, Weight: w}
		if big > 0 {
			e.Reject, e.Detail = ReasonNotNumberType, strconv.Itoa(big)+" bytes, contents not kept"
		}
		d.b.add(d.index, e)
		d.index++
		more, err := d.next(&closesObject, "after a node")
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
	if d.at() == ']' {
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
		more, err := d.next(&closesArray, "after a node")
		if err != nil || !more {
			return err
		}
	}
}

// element reads one {"id": ..., "weight": ...} entry without building the
// members it does not need.
func (d *decoder) element() error {
	start := d.i
	if d.at() != '{' {
		v, big, err := d.rawValue()
		if err != nil {
			return err
		}
		detail := "the entry is " + v.Kind.Article() + `, not an object with "id" and "weight"`
		if big > 0 {
			// one string, not three: a hostile payload can hold millions
			detail = "the entry is " + v.Kind.Article() + " of " + strconv.Itoa(big) + ` bytes, not shown, not an object with "id" and "weight"`
		}
		d.b.add(d.index, Entry{Weight: v, Reject: ReasonMalformedEntry, Detail: detail})
		return nil
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.i++
	var id, weight Raw
	var idBig, weightBig int
	ids, weights := 0, 0
	var odd string // a key that spells id or weight in another case
	d.ws()
	if d.at() == '}' {
		d.i++
		d.depth--
	} else {
		for {
			d.ws()
			if !isQuote[d.at()] {
				return d.unexpected("looking for an object key")
			}
			key, err := d.str()
			if err != nil {
				return err
			}
			if err := d.colon("after an object key"); err != nil {
				return err
			}
			var v Raw
			big := 0
			if key == "id" || key == "weight" {
				v, big, err = d.rawValue()
			} else {
				v, err = d.value(false)
			}
			if err != nil {
				return err
			}
			switch {
			case key == "id":
				id, idBig = v, big
				ids++
			case key == "weight":
				weight, weightBig = v, big
				weights++
			case len(odd) == 0 && (strings.EqualFold(key, "id") || strings.EqualFold(key, "weight")):
				odd = key
			}
			more, err := d.next(&closesObject, "after an object member")
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
	case len(odd) != 0:
		e.Reject, e.Detail = ReasonMalformedEntry, `the entry has a member named `+strconv.Quote(odd)+`; only "id" and "weight" are read`
	case id.Kind != KindString && idBig > 0:
		e.ID = ""
		e.Reject, e.Detail = ReasonBadID, `"id" is `+sized(id.Kind, idBig)+", not a string"
	case id.Kind != KindString:
		e.ID = ""
		e.Reject, e.Detail = ReasonBadID, `"id" is `+id.Kind.Article()+" ("+id.String()+"), not a string"
	case weightBig > 0:
		e.Reject, e.Detail = ReasonNotNumberType, strconv.Itoa(weightBig)+" bytes, contents not kept"
	}
	if e.Reject == ReasonMalformedEntry {
		// Show the whole entry when it is small enough.
		if id.Kind != KindString {
			e.ID = ""
		}
		if d.i-start <= keepRawBytes && d.kept < keepRawValues {
			d.kept++
			whole, err := d.reparse(start, d.i)
			if err != nil {
				return err
			}
			e.Weight = whole
		} else {
			e.Weight = Raw{Kind: KindObject}
			e.Detail += "; " + bigDetail("entry", KindObject, d.i-start)
		}
	}
	d.b.add(d.index, e)
	return nil
}

// keepRawBytes is the largest array or object (in payload bytes) that Decode
// keeps whole for a report; a larger one is checked, skipped, and reported
// by kind and size, so a hostile snapshot cannot expand into a huge tree.
const keepRawBytes = 4096

// keepRawValues is how many arrays and objects Decode keeps whole for a
// report; later ones are reported by kind and size, so that a payload of
// many small nested entries costs no more than one of a few big ones.
const keepRawValues = 1024

// rawValue reads a value. An array or object of more than keepRawBytes bytes
// comes back without its contents, with its size in big.
func (d *decoder) rawValue() (v Raw, big int, err error) {
	d.ws()
	if d.values < d.maxValues {
		// The common cases, without the detour through value.
		switch c := d.at(); {
		case isQuote[c]:
			d.values++
			t, err := d.str()
			return Raw{Kind: KindString, Text: t}, 0, err
		case digit[c]:
			d.values++
			t, err := d.number()
			return Raw{Kind: KindNumber, Text: t}, 0, err
		}
	}
	if containerStart[d.at()] {
		start := d.i
		v, err = d.value(false)
		if err != nil {
			return Raw{}, 0, err
		}
		if d.i-start > keepRawBytes || d.kept >= keepRawValues {
			return v, d.i - start, nil
		}
		d.kept++
		v, err = d.reparse(start, d.i)
		return v, 0, err
	}
	v, err = d.value(true)
	return v, 0, err
}

// reparse builds the value in s[start:end], which has already been checked,
// counting its values against the limit.
func (d *decoder) reparse(start, end int) (Raw, error) {
	// The value has been read to end: sub never reads past it, so it can
	// share d's bytes (and their zero bytes at the far end) for at.
	sub := scanner{s: d.s[start:end], buf: d.buf[start:], maxDepth: d.maxDepth + 1, maxValues: d.maxValues - d.values, limit: d.maxValues}
	v, err := sub.value(true)
	d.values += sub.values
	if pe, ok := err.(*PayloadError); ok {
		pe.Offset += start
	}
	return v, err
}

// sized describes a value that is too big to show: "an array of 5000 bytes".
func sized(k Kind, size int) string {
	return k.Article() + " of " + strconv.Itoa(size) + " bytes, not shown"
}

func bigDetail(what string, k Kind, size int) string {
	return "the " + what + " is " + sized(k, size)
}
