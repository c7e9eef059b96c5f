package httplb_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeProxyExample keeps the proxy snippet of the README and of
// docs/proxy.md identical to the body of Example_readme, which go test
// compiles.
func TestReadmeProxyExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "func Example_readme() {\n\tctx := context.Background()\n")
	if start < 0 {
		t.Fatal("example_test.go has no Example_readme starting with ctx")
	}
	body := s[start+len("func Example_readme() {\n\tctx := context.Background()\n"):]
	end := strings.Index(body, "\n}\n")
	if end < 0 {
		t.Fatal("Example_readme has no end")
	}
	var block strings.Builder
	for _, line := range strings.Split(body[:end+1], "\n") {
		block.WriteString(strings.TrimPrefix(line, "\t") + "\n")
	}
	want := "```go\n" + strings.TrimSuffix(block.String(), "\n") + "```"
	for _, doc := range []string{"README.md", "docs/proxy.md"} {
		text, err := os.ReadFile("../../" + doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), want) {
			t.Errorf("%s's proxy block differs from Example_readme in balancer/httplb/example_test.go; put this in it:\n%s", doc, want)
		}
	}
}
