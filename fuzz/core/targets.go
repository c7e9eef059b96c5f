package core

import (
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// Weights feeds data to one check chosen by the input's length: either
// weights.Decode under one of several policies (strict, lenient, scaled with
// a default for zero, and a tight one that refuses partial snapshots under
// small limits), or registry.Decode with the format detected under one of
// the registry settings (the default; lenient, policy-following and
// unhealthy-rejecting; merging services with address ids). A campaign
// covers every variant while each input costs one decode and its checks,
// not seven. Under a policy it checks: a payload error only for what the
// tree parser also refuses; every reject with a known reason, in payload
// order; the string "0" (or "00"...) never accepted; every accepted weight
// the exact integer value sent (times the policy's scale) within the
// policy's maximum; node order kept; a refused snapshot empty; Build on the
// parsed entries agrees with Decode; and Decode(Encode(s)) == s. Under a
// registry setting, the snapshot must hold the same guarantees (see
// checkRegistry). The input is interesting when it decodes as a snapshot.
// WeightsAll checks every policy and setting.
func Weights(data []byte) (interesting bool, err error) {
	v := len(data) % (len(weightPolicies) + len(registryOptions))
	if v < len(weightPolicies) {
		return checkWeights(data, weightPolicies[v:][:1], nil)
	}
	return checkWeights(data, nil, registryOptions[v-len(weightPolicies):][:1])
}

// WeightsAll is Weights under every policy and registry setting; plain go
// test replays the seed corpus through it.
func WeightsAll(data []byte) (interesting bool, err error) {
	return checkWeights(data, weightPolicies, registryOptions)
}

func checkWeights(data []byte, policies []weightPolicy, registry []registry.Options) (interesting bool, err error) {
	var defTree weights.Raw
	var defErr error
	parsed := false
	for _, wp := range policies {
		var tree weights.Raw
		var treeErr error
		if wp.p.Limits != (weights.Limits{}) {
			tree, treeErr = weights.ParseJSON(data, wp.p.Limits)
		} else {
			if !parsed {
				defTree, defErr = weights.ParseJSON(data, weights.Limits{})
				parsed = true
			}
			tree, treeErr = defTree, defErr
		}
		ok, err := checkDecode(data, wp, tree, treeErr)
		if err != nil {
			return true, err
		}
		interesting = interesting || ok
	}
	for _, o := range registry {
		ok, err := checkRegistry(data, o)
		if err != nil {
			return true, err
		}
		interesting = interesting || ok
	}
	return interesting, nil
}

// Balancer reads data as a script of balancer operations (see the seeds in
// seeds/balancer: nodes, update, next, next-excluding, eject, restore,
// advance, cycle and the options; input that does not start like text is
// the compact form of binaryScript, one byte per operation and argument, so
// that a campaign from an empty corpus builds balancers at once) and runs it against a balancer with a fake
// clock, checking every call: New and Update refuse exactly the invalid sets
// and a refused update leaves every member's state as it was; picks never
// return a drained, ejected or already tried node and fail with the right
// error when nothing serves; a retry loop ends with ErrAllExcluded after
// visiting every serving node once; each full cycle picks every node exactly
// its effective weight divided by the gcd, the picks repeat with that
// period, and from a known phase they are nginx's smooth WRR (see cycle).
// Fleets (fleet COUNT PATTERN, up to 264 nodes from two bytes) reach the
// two-byte table and the rows schedule, huge weights the spread one.
// Scripts are bounded (16 operations, 16 picks per line, cycles of at most
// 272 picks walked twice, weights that make short exact cycles or long
// described ones: see boundWeight), so a run that does not end at once is a
// hang of the balancer. The input is interesting when it served a pick.
func Balancer(data []byte) (interesting bool, err error) {
	var r scriptRun
	return r.run(decodeScript(data))
}
