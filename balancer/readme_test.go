package balancer_test

import (
	"os"
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
