package registry_test

import (
	"errors"
	"testing"

	"github.com/safewrr/safewrr/weights/registry"
)

// TestConsulServices: a Consul response holding two services is refused
// unless one is chosen or they are merged, as for the other registries.
func TestConsulServices(t *testing.T) {
	payload := []byte(`[
 {"Node":{"Node":"n1","Address":"10.0.1.1"},"Service":{"ID":"w1","Service":"web","Address":"10.0.1.1","Port":80},"Checks":[]},
 {"Node":{"Node":"n2","Address":"10.0.0.1"},"Service":{"ID":"a1","Service":"api","Address":"10.0.0.1","Port":80},"Checks":[]}]`)
	_, rep, err := registry.Decode(registry.FormatConsul, payload, registry.Options{})
	if !errors.Is(err, registry.ErrMultipleServices) {
		t.Fatalf("two services: err = %v, want ErrMultipleServices", err)
	}
	if len(rep.Services) != 2 || rep.Services[0] != "web" || rep.Services[1] != "api" {
		t.Fatalf("Services = %q, want [web api]", rep.Services)
	}
	snap, _, err := registry.Decode(registry.FormatConsul, payload, registry.Options{Service: "api"})
	if err != nil || len(snap.Nodes) != 1 || snap.Nodes[0].ID != "10.0.0.1:80" {
		t.Fatalf("Service api: %v, %v; want the one api node", snap.Nodes, err)
	}
	snap, _, err = registry.Decode(registry.FormatConsul, payload, registry.Options{MergeServices: true})
	if err != nil || len(snap.Nodes) != 2 {
		t.Fatalf("MergeServices: %v, %v; want both nodes", snap.Nodes, err)
	}
}
