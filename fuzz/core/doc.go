// Package core holds safewrr's own fuzz targets and their oracles: plain
// functions of the form
//
//	func X(data []byte) (interesting bool, err error)
//
// shared by Go's native fuzzing engine (FuzzX(*testing.F) in the package's
// tests), by libFuzzer (the same FuzzX built by go-118-fuzz-build, see
// fuzz/libfuzzer.sh) and by go-fuzz (FuzzX(data []byte) int, built with the
// gofuzz tag). A target returns a non-nil error for a finding: a broken
// invariant of safewrr. interesting tells go-fuzz to give the input priority
// in its corpus.
//
// The package links safewrr's weights and balancer packages and the
// standard library only, never the Lua harness (the Lua targets are in
// package fuzz): a fuzzing engine's per-input work grows with the coverage
// counters of everything linked, so the targets run several times faster
// here than next to gopher-lua.
//
// The targets:
//
//   - Weights: any bytes into weights.Decode under several policies, and
//     into registry.Decode (weights/registry). No panic; every accepted weight is an
//     integer within the policy's range and matches the raw value sent;
//     every rejected node carries a known reason; the string "0" is never
//     accepted; node order is kept; decode, encode, decode gives the same
//     snapshot.
//   - WeightsTyped: bytes read as a typed node set (format, settings, then
//     per node an address, valid or mutated at any place, flags, each
//     registry's health fields and a weight composed from parts) rendered
//     as a payload in every supported format and decoded once: the same
//     properties, checked against what was sent, plus a reference reading
//     of each registry's documentation: which instances serve, at which
//     weight, what is rejected.
//   - Balancer: bytes read as a script of balancer operations (see the seeds
//     under seeds/balancer; input that does not start like text is a
//     compact form, one byte per operation and argument). No panic; every
//     call returns within a bounded time; each full cycle picks every
//     serving node exactly weight/gcd times; drained, ejected and
//     already-tried nodes are never returned; a refused update leaves the
//     previous state serving.
//
// Seeds live in seeds/<target>/ at the repository root, one readable file
// per case; plain go test replays every one of them.
package core
