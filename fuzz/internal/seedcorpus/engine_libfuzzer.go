//go:build libfuzzer

package seedcorpus

const libFuzzer = true

// LibFuzzer reports whether this is a libFuzzer build: FuzzX then runs once
// per input, so it must not read the seed corpus (libFuzzer gets it as a
// corpus directory instead).
func LibFuzzer() bool { return libFuzzer }
