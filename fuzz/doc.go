// Package fuzz holds safewrr's fuzz targets that need the Lua harness
// (luacompat, gopher-lua), and their oracles: plain functions of the form
//
//	func X(data []byte) (interesting bool, err error)
//
// shared by Go's native fuzzing engine (FuzzX(*testing.F) in the package's
// tests) and by go-fuzz (FuzzX(data []byte) int, built with the gofuzz tag).
// A target returns a non-nil error for a finding: a hang in a Lua balancer,
// or safewrr disagreeing with a Lua model. interesting tells go-fuzz to give
// the input priority in its corpus.
//
// safewrr's own targets (Weights, WeightsTyped, Balancer) are in package
// fuzz/core, which
// does not link the Lua harness and so runs several times faster under any
// engine.
//
// The targets:
//
//   - LuaModule: bytes read as a typed node set (see DecodeNodeSet) run
//     through a Lua balancer module, by default the built-in model of
//     resty.roundrobin as it was in 2020, or the module found in the
//     directory named by SAFEWRR_LUA_PATH. A hang is a finding, reported
//     with the node set as a Lua table literal and the phase it hung in.
//     A module that cannot be loaded (no such directory or module, one that
//     requires what only OpenResty provides, one that fails or hangs while
//     loading) fails every input at once with a *LuaLoadError: a campaign
//     against a module that never ran finds nothing.
//   - Differential: safewrr against the built-in fixed resty.roundrobin and
//     nginx smooth WRR models on valid integer weights (identical sequences),
//     and on any input: where the Lua side hangs, safewrr rejects or serves.
//
// Seeds live in seeds/<target>/ at the repository root, one readable file
// per case; plain go test replays every one of them.
package fuzz
