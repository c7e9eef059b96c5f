//go:build !fuzzpower

package plant

// Active returns the name of the planted bug this build carries: none,
// since it was built without the fuzzpower tag.
func Active() string { return "" }
