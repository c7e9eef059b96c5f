package plant_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/internal/plant"
)

const self = "github.com/safewrr/safewrr/internal/plant"

// importers lists the packages of the module that import this one in a
// build with the given tags.
func importers(t *testing.T, tags string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-tags", tags, "-f", `{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}`,
		"github.com/safewrr/safewrr/...").Output()
	if err != nil {
		t.Fatalf("go list -tags %q: %v", tags, err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imports) {
			if imp == self {
				pkgs = append(pkgs, pkg)
			}
		}
	}
	return pkgs
}

// TestPlainBuildHasNoPlantedBug: in a build without the fuzzpower tag no
// bug is active and no package of the module links this one, so the
// planted lines are compiled out; with the tag, weights and balancer do link
// it (the check above can fail).
func TestPlainBuildHasNoPlantedBug(t *testing.T) {
	if tags := os.Getenv("GOFLAGS"); strings.Contains(tags, "fuzzpower") {
		t.Fatalf("GOFLAGS %q builds with planted bugs", tags)
	}
	if a := plant.Active(); a != "" {
		t.Fatalf("a plain build carries the planted bug %q", a)
	}
	if pkgs := importers(t, ""); len(pkgs) != 0 {
		t.Fatalf("a plain build links %s from %v", self, pkgs)
	}
	got := strings.Join(importers(t, "fuzzpower"), " ")
	for _, want := range []string{"github.com/safewrr/safewrr/weights", "github.com/safewrr/safewrr/balancer"} {
		if !strings.Contains(got, want) {
			t.Errorf("a fuzzpower build of %s does not link %s (importers: %s)", want, self, got)
		}
	}
}

// TestCatalogMatchesSwitches: every bug of the catalog has its switch in the
// fuzzpower file of its package, and every switch there is in the catalog,
// once.
func TestCatalogMatchesSwitches(t *testing.T) {
	seen := map[string]int{}
	switches := map[string][]string{} // package -> names switched there
	for _, p := range plant.Catalog {
		seen[p.Name]++
		if p.Name == "" || p.Package == "" || !strings.HasPrefix(p.Target, "Fuzz") || p.What == "" {
			t.Errorf("incomplete catalog entry %+v", p)
		}
		if _, ok := switches[p.Package]; !ok {
			src, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(p.Package), "plant_fuzzpower.go"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, part := range strings.Split(string(src), "plant.On(")[1:] {
				lit, _, _ := strings.Cut(part, ")")
				name, err := strconv.Unquote(lit)
				if err != nil {
					t.Fatalf("%s: plant.On(%s...): %v", p.Package, lit, err)
				}
				names = append(names, name)
			}
			switches[p.Package] = names
		}
	}
	for name, n := range seen {
		if n > 1 {
			t.Errorf("%q is in the catalog %d times", name, n)
		}
	}
	for pkg, names := range switches {
		for _, name := range names {
			p, ok := plant.Lookup(name)
			if !ok || p.Package != pkg {
				t.Errorf("%s switches %q, which the catalog does not place there (%+v)", pkg, name, p)
			}
		}
	}
	for _, p := range plant.Catalog {
		found := false
		for _, name := range switches[p.Package] {
			found = found || name == p.Name
		}
		if !found {
			t.Errorf("%q has no switch in %s/plant_fuzzpower.go", p.Name, p.Package)
		}
	}
}
