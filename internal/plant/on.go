//go:build fuzzpower

package plant

import (
	"fmt"
	"os"
)

// Bug names the planted bug this build carries; set it at link time with
// -ldflags=-X=github.com/safewrr/safewrr/internal/plant.Bug=NAME.
var Bug string

func init() {
	if _, ok := Lookup(Bug); !ok {
		fmt.Fprintf(os.Stderr, "plant: a fuzzpower build needs -ldflags=-X=github.com/safewrr/safewrr/internal/plant.Bug=NAME with a NAME from the catalog; got %q\n", Bug)
		os.Exit(2)
	}
}

// On reports whether the planted bug name is the one this build carries.
func On(name string) bool {
	if _, ok := Lookup(name); !ok {
		panic("plant: " + name + " is not in the catalog")
	}
	return Bug == name
}

// Active returns the name of the planted bug this build carries.
func Active() string { return Bug }
