// Package plant is the catalog of planted bugs: deliberate defects, one
// line each, in weights and balancer, that measure whether the fuzz targets
// find a bug without being shown where it is (fuzz/measure-power.sh).
//
// A plain build holds none of them: the code under test reads a constant
// false from a file built without the fuzzpower tag, and the compiler drops
// the planted line. Built with the tag, one bug is chosen at link time:
//
//	go test -tags fuzzpower -ldflags=-X=github.com/safewrr/safewrr/internal/plant.Bug=string-zero ...
//
// A fuzzpower build with no bug named, or a name not in Catalog, stops at
// start-up, so a typo cannot measure a target against a bug that is not
// there.
package plant

// A Planted describes one bug of the catalog.
type Planted struct {
	// Name selects the bug (the value of Bug).
	Name string
	// Package is the import path, below the module, of the code that holds it.
	Package string
	// Target is the fuzz target expected to find it.
	Target string
	// What the bug does, for people.
	What string
}

// Catalog lists every planted bug: weights, registry decoding, balancer.
var Catalog = []Planted{
	{"string-zero", "weights", "FuzzWeightsTyped", `the string "0" (or "00") is accepted as a drain`},
	{"nan", "weights", "FuzzWeightsTyped", "a NaN weight is accepted as a drain"},
	{"negative", "weights", "FuzzWeightsTyped", "a negative weight is accepted as its absolute value"},
	{"fraction", "weights", "FuzzWeightsTyped", "a fractional weight is truncated instead of rejected"},
	{"duplicate-id", "weights", "FuzzWeightsTyped", "a second node with an id already seen is accepted"},
	{"order", "weights", "FuzzWeightsTyped", "the accepted nodes come back sorted by id, not in payload order"},
	{"crlf-id", "weights", "FuzzWeightsTyped", "an id holding CR or LF (a header injection in waiting) is accepted"},
	{"services-merged", "weights/registry", "FuzzWeightsTyped", "a payload holding several services is merged into one pool without a word"},
	{"down-served", "weights/registry", "FuzzWeightsTyped", "an instance the registry marks as not serving keeps its weight"},
	{"cycle-count", "balancer", "FuzzBalancer", "the last position of every cycle goes to the first node (one pick too many for it)"},
	{"ejected-picked", "balancer", "FuzzBalancer", "an ejected node keeps its place in the schedule"},
	{"tried-returned", "balancer", "FuzzBalancer", "NextExcluding returns a tried node when the request tried two or more"},
	{"refused-applied", "balancer", "FuzzBalancer", "an update refused because every node is drained is applied all the same"},
	{"excluded-spin", "balancer", "FuzzBalancer", "NextExcluding spins forever when every serving node was tried"},
	// Bugs of the kinds the generators' old value lists missed, planted
	// after the generators were rewritten to compose values from parts.
	{"trailing-newline-id", "weights", "FuzzWeightsTyped", `the id check ignores a trailing "\n"`},
	{"spaced-zero", "weights", "FuzzWeightsTyped", `a string zero wrapped in white space (" 0", "0\t", "\u00a00") is accepted as a drain`},
	{"max-plus-one", "weights", "FuzzWeightsTyped", "a weight one above the policy's maximum is accepted"},
	{"eureka-out-of-service", "weights/registry", "FuzzWeightsTyped", "Eureka serves an instance whose status is OUT_OF_SERVICE"},
	{"nacos-double-scale", "weights/registry", "FuzzWeightsTyped", "Nacos weights are multiplied by the scale twice"},
	{"heaviest-short", "balancer", "FuzzBalancer", "the heaviest node gets one pick fewer per cycle: the exact cycle is one pick short"},
	{"restore-neighbour", "balancer", "FuzzBalancer", "Restore brings back the next node instead when that one is ejected too"},
}

// Lookup returns the catalog entry named name.
func Lookup(name string) (Planted, bool) {
	for _, p := range Catalog {
		if p.Name == name {
			return p, true
		}
	}
	return Planted{}, false
}
