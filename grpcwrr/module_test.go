package grpcwrr

import (
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// grpcwrr is a module others depend on: its go.mod requires the core module
// at a release (a dependency ignores this module's replace, so v0.0.0 would
// send its users to the module proxy for a version that does not exist),
// and the replace that points at this repository is the only one.
func TestGoModRequiresARelease(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod := string(data)
	req := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/safewrr/safewrr (\S+)\s*$`).FindAllStringSubmatch(mod, -1)
	if len(req) != 1 || !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(req[0][1]) || req[0][1] == "v0.0.0" {
		t.Fatalf("go.mod requires the core module as %q, want one release vX.Y.Z other than v0.0.0", req)
	}
	if n := strings.Count(mod, "replace "); n != 1 || !strings.Contains(mod, "replace github.com/safewrr/safewrr => ../\n") {
		t.Fatalf("go.mod has %d replace directives, want only github.com/safewrr/safewrr => ../:\n%s", n, mod)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "github.com/safewrr/safewrr "+req[0][1]) {
		t.Fatalf("README.md does not name the core module's required release %s", req[0][1])
	}
}

// Examples are what users copy: they import only packages a user can (no
// internal package of this repository).
func TestExamplesImportOnlyPublicPackages(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "example_test.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal") {
			t.Errorf("example_test.go imports %s", path)
		}
	}
}
