//go:build !libfuzzer

package seedcorpus

// libFuzzer is true in a build made by go-118-fuzz-build (fuzz/libfuzzer.sh),
// which sets the libfuzzer build tag.
const libFuzzer = false

// LibFuzzer reports whether this is a libFuzzer build: FuzzX then runs once
// per input, so it must not read the seed corpus (libFuzzer gets it as a
// corpus directory instead).
func LibFuzzer() bool { return libFuzzer }
