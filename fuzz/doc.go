// Package fuzz holds safewrr's fuzz targets and their oracles: plain
// functions of the form
//
//	func X(data []byte) (interesting bool, err error)
//
// shared by Go's native fuzzing engine (FuzzX(*testing.F) in the package's
// tests) and by go-fuzz (FuzzX(data []byte) int, built with the gofuzz tag).
// A target returns a non-nil error for a finding: a broken invariant of
// safewrr, or a hang in a Lua balancer. interesting tells go-fuzz to give
// the input priority in its corpus.
//
// The targets:
//
//   - Weights: any bytes into weights.Decode under several policies. No
//     panic; every accepted weight is an integer within the policy's range
//     and matches the raw value sent; every rejected node carries a known
//     reason; the string "0" is never accepted; node order is kept;
//     decode, encode, decode gives the same snapshot.
//   - Balancer: bytes read as a script of balancer operations (see the seeds
//     under seeds/balancer). No panic; every call returns within a bounded
//     time; each full cycle picks every serving node exactly weight/gcd
//     times; drained, ejected and already-tried nodes are never returned; a
//     refused update leaves the previous state serving.
//   - LuaModule: bytes read as a typed node set (see DecodeNodeSet) run
//     through a Lua balancer module, by default the built-in model of
//     resty.roundrobin as it was in 2020, or the module found in the
//     directory named by SAFEWRR_LUA_PATH. A hang is a finding, reported
//     with the node set as a Lua table literal and the phase it hung in.
//   - Differential: safewrr against the built-in fixed resty.roundrobin and
//     nginx smooth WRR models on valid integer weights (identical sequences),
//     and on any input: where the Lua side hangs, safewrr rejects or serves.
//
// Seeds live in seeds/<target>/ at the repository root, one readable file
// per case; plain go test replays every one of them.
package fuzz
