package fuzz

import (
	"github.com/safewrr/safewrr/weights"
)

// Weights feeds data to weights.Decode under each of several policies
// (strict, lenient, scaled with a default for zero, and a tight one that
// refuses partial snapshots under small limits) and checks the result: a
// payload error only for what the tree parser also refuses; every reject with
// a known reason, in payload order; the string "0" (or "00"...) never
// accepted; every accepted weight the exact integer value sent (times the
// policy's scale) within the policy's maximum; node order kept; a refused
// snapshot empty; and Decode(Encode(s)) == s. The input is interesting when
// it decodes as a snapshot.
func Weights(data []byte) (interesting bool, err error) {
	defTree, defErr := weights.ParseJSON(data, weights.Limits{})
	for _, wp := range weightPolicies {
		tree, treeErr := defTree, defErr
		if wp.p.Limits != (weights.Limits{}) {
			tree, treeErr = weights.ParseJSON(data, wp.p.Limits)
		}
		ok, err := checkDecode(data, wp, tree, treeErr)
		if err != nil {
			return true, err
		}
		interesting = interesting || ok
	}
	return interesting, nil
}
