package core

import (
	"testing"

	"github.com/safewrr/safewrr/weights/registry"
)

// TestKnownFindings: every known finding (known.go) still reproduces; when
// one no longer does, the bug was fixed and its entry goes.
func TestKnownFindings(t *testing.T) {
	for _, host := range []string{"fd00::1]", "[fd00::1"} {
		payload := []byte(`{"nodes":[{"host":"` + host + `","port":80,"weight":1}]}`)
		snap, _, err := registry.Decode(registry.FormatAPISIX, payload, registry.Options{})
		if err != nil || len(snap.Nodes) != 1 || !knownStrayBracket(typedNode{host: host, port: 80}, snap.Nodes[0].ID) {
			t.Errorf("host %q: decoded as %v, %v: the stray bracket is no longer repaired; remove knownStrayBracket", host, snap.Nodes, err)
		}
	}
	if knownStrayBracket(typedNode{host: "[fd00::1]", port: 80}, "[fd00::1]:80") || knownStrayBracket(typedNode{host: "10.0.0.1]", port: 80}, "[10.0.0.1]:80") {
		t.Error("knownStrayBracket matches more than the bug")
	}
}
