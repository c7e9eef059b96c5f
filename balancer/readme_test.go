package balancer_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeEmbeddingExample keeps the README's embedding snippet identical to
// Example_embedding, which go test runs and checks.
func TestReadmeEmbeddingExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "func Example_embedding() {")
	if start < 0 {
		t.Fatal("example_test.go has no Example_embedding")
	}
	end := strings.Index(s[start:], "\n}\n")
	if end < 0 {
		t.Fatal("Example_embedding has no end")
	}
	fn := s[start : start+end+3]
	if !strings.Contains(string(readme), "```go\n"+fn+"```") {
		t.Errorf("README.md's embedding block differs from Example_embedding in balancer/example_test.go; copy the function into the README:\n%s", fn)
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#+ (.*)$`)
	notAnchor = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
)

// TestReadmeLinks checks that every relative link in the README and the
// documents it points to names a file that exists and, after a '#', a heading
// of that file (spelled as GitHub spells heading anchors).
func TestReadmeLinks(t *testing.T) {
	files := []string{"../README.md", "../fuzz/README.md", "../bench/README.md", "../grpcwrr/README.md", "../caddywrr/README.md", "../seeds/README.md"}
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, docs...)
	anchors := map[string]map[string]bool{}
	headings := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a := map[string]bool{}
		if b, err := os.ReadFile(path); err == nil {
			for _, m := range mdHeading.FindAllStringSubmatch(string(b), -1) {
				h := strings.ToLower(strings.TrimSpace(m[1]))
				a[strings.ReplaceAll(notAnchor.ReplaceAllString(h, ""), " ", "-")] = true
			}
		}
		anchors[path] = a
		return a
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) && f != "../README.md" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s links to %s, which does not exist", strings.TrimPrefix(f, "../"), link)
					continue
				}
			}
			if anchor != "" && !headings(target)[anchor] {
				t.Errorf("%s links to %s, but %s has no heading with the anchor %q", strings.TrimPrefix(f, "../"), link, strings.TrimPrefix(target, "../"), anchor)
			}
		}
	}
}

// TestReadmeIsShort holds the README to a front door's size: long text goes to
// docs/, fuzz/README.md and bench/README.md, next to what it describes.
func TestReadmeIsShort(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 400 {
		t.Errorf("README.md has %d lines, more than 400: move long text to docs/, fuzz/README.md or bench/README.md", n)
	}
}
