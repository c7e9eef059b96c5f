package weights_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/safewrr/safewrr/weights"
)

// The incident's payload: one weight sent as the string "0".
func ExampleDecode() {
	payload := []byte(`{"10.0.0.1:80": 10, "10.0.0.2:80": "0", "10.0.0.3:80": 0}`)
	snap, rep, err := weights.Decode(payload, weights.Policy{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range snap.Nodes {
		fmt.Println("accepted", n.ID, n.Weight, n.Drained())
	}
	for _, ne := range rep.Rejected {
		fmt.Println("rejected", ne.ID, ne.Reason, errors.Is(ne, weights.ErrStringZero))
		fmt.Println(ne)
	}
	// Output:
	// accepted 10.0.0.1:80 10 false
	// accepted 10.0.0.3:80 0 true
	// rejected 10.0.0.2:80 string-zero true
	// node "10.0.0.2:80" (#1): weight is the string "0", which registries read as drain or as default; refusing to guess (string-zero)
}

// The array shape, and a payload that is not JSON at all.
func ExampleDecode_array() {
	_, rep, _ := weights.Decode([]byte(`[{"id": "a", "weight": 1e2}, {"id": "b"}, {"id": "c", "weight": 0.5}]`), weights.Policy{})
	fmt.Println(rep.Rejected[0].Reason, rep.GCD)

	_, _, err := weights.Decode([]byte(`{"a": 1,}`), weights.Policy{})
	fmt.Println(err, errors.Is(err, weights.ErrSyntax))
	// Output:
	// fraction 1
	// weights: invalid character '}' looking for a node id at byte 8 true
}

// Values that came from Go or Lua code rather than JSON, NaN included.
func ExamplePolicy_Build() {
	snap, rep := weights.Policy{}.Build([]weights.Entry{
		{ID: "a", Weight: weights.Int(30)},
		{ID: "b", Weight: weights.Float(math.NaN())},
		{ID: "c", Weight: weights.Float(20)},
		{ID: "d", Weight: weights.Int(10), Drained: true},
	})
	fmt.Println(snap.Nodes, rep.GCD)
	fmt.Println(rep.Rejected[0])
	fmt.Println(snap.Normalized().Nodes)
	// Output:
	// [{a 30} {c 20} {d 0}] 10
	// node "b" (#1): weight is NaN (nan)
	// [{a 3} {c 2} {d 0}]
}

// The strict default, the lenient policy, and a policy for float weights.
func ExamplePolicy_Weight() {
	strict, lenient := weights.Policy{}, weights.Lenient()
	nacos := weights.Policy{Scale: 100} // 0.5 means 50
	show := func(w uint32, r weights.Reason) {
		if r != "" {
			fmt.Println("rejected:", r)
			return
		}
		fmt.Println("weight", w)
	}
	show(strict.Weight(weights.String("10")))
	show(lenient.Weight(weights.String("10")))
	show(lenient.Weight(weights.String("0")))
	show(lenient.Weight(weights.String(" 10")))
	show(strict.Weight(weights.Number("1e2")))
	show(strict.Weight(weights.Number("1e400")))
	show(strict.Weight(weights.Number("0.5")))
	show(nacos.Weight(weights.Number("0.5")))
	show(weights.Policy{Zero: weights.ZeroDefault}.Weight(weights.Number("-0")))
	// Output:
	// rejected: string-weight
	// weight 10
	// rejected: string-zero
	// rejected: bad-string
	// weight 100
	// rejected: overflow
	// rejected: fraction
	// weight 50
	// weight 1
}

// Whole-snapshot refusal: keep the last good snapshot instead.
func ExamplePolicy_refuseWhole() {
	p := weights.Policy{Partial: weights.RefuseWhole}
	snap, rep, _ := weights.Decode([]byte(`{"a": 5, "b": -1}`), p)
	fmt.Println(len(snap.Nodes), rep.Refused, errors.Is(rep.Refused, weights.ErrRefused))
	// Output:
	// 0 weights: snapshot refused: 1 of 2 nodes rejected and the policy refuses partial snapshots true
}

func ExampleEncode() {
	snap, _, _ := weights.Decode([]byte(`[{"id": "b", "weight": 2.0}, {"id": "a", "weight": -0}]`), weights.Policy{})
	fmt.Println(string(weights.Encode(snap)))
	// Output:
	// {"b":2,"a":0}
}

func ExampleParseJSON() {
	raw, _ := weights.ParseJSON([]byte(`{"w": 10.0, "w": "0", "x": -0}`), weights.Limits{})
	for _, m := range raw.Members {
		fmt.Println(m.Key, m.Value.Kind, m.Value)
	}
	// Output:
	// w number 10.0
	// w string "0"
	// x number -0
}

// Ids that must be addresses: a name, userinfo or a path is rejected with a
// reason that says what was found; control characters are rejected in any
// mode.
func ExampleIDMode() {
	entries := []weights.Entry{
		{ID: "10.0.0.1:80", Weight: weights.Int(5)},
		{ID: "web-1", Weight: weights.Int(5)},
		{ID: "user@10.0.0.2:80", Weight: weights.Int(5)},
		{ID: "10.0.0.3:80\r\nX: y", Weight: weights.Int(5)},
	}
	snap, rep := weights.Policy{IDs: weights.IDsAddress}.Build(entries)
	fmt.Println(snap.Nodes)
	for _, e := range rep.Rejected {
		fmt.Println(e.Reason, "-", e.Detail)
	}
	// Output:
	// [{10.0.0.1:80 5}]
	// not-an-address - the id has no port; an address is host:port
	// not-an-address - the id has userinfo (before @); an address is host:port
	// bad-id - the id holds the control character '\r' at byte 11
}

// Spellings of one backend have one canonical form; numeric hosts that
// resolvers read differently are rejected.
func ExampleParseAddress() {
	for _, id := range []string{"[::ffff:10.0.0.1]:80", "Web-1.Example.:8080", "[FD00:0::1]:443", "0x7f.0.0.1:80", "unix:/run/x.sock"} {
		canonical, err := weights.ParseAddress(id)
		if err != nil {
			fmt.Println(errors.Is(err, weights.ErrNotAddress), err)
			continue
		}
		fmt.Println(canonical)
	}
	// Output:
	// 10.0.0.1:80
	// web-1.example:8080
	// [fd00::1]:443
	// true weights: id "0x7f.0.0.1:80": the id's host 0x7f.0.0.1 is not an IPv4 address (a.b.c.d in decimal, no leading zeros) and a name cannot end in a number: resolvers disagree on such hosts (inet_aton reads 0177.0.0.1 and 127.1 as 127.0.0.1) (not-an-address)
	// true weights: id "unix:/run/x.sock": the id has a path (/...); an address is host:port (not-an-address)
}

// An id sent twice with different weights: readers of the payload would
// disagree, so no copy is served.
func ExampleDecode_duplicates() {
	payload := []byte(`{"10.0.0.1:80": 5, "10.0.0.2:80": 5, "10.0.0.1:80": 0, "[::ffff:10.0.0.2]:80": 5}`)
	snap, rep, _ := weights.Decode(payload, weights.Policy{IDs: weights.IDsAddress})
	fmt.Println(snap.Nodes)
	for _, ne := range rep.Rejected {
		fmt.Println(ne.Index, ne.Reason)
	}
	// Output:
	// [{10.0.0.2:80 5}]
	// 0 duplicate-id
	// 2 duplicate-id
	// 3 duplicate-id
}
