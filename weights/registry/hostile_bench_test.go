package registry_test

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// hostilePayloads are 8 MiB payloads (the default size limit) that repeat
// something cheap to send: a duplicate key, an empty key, a zero, a deeply
// nested array. Each is decoded in auto mode, as a proxy polling it would.
func hostilePayloads() map[string][]byte {
	const size = weights.DefaultMaxBytes
	repeat := func(open, unit, last, close string) []byte {
		n := (size - len(open) - len(last) - len(close)) / len(unit)
		return []byte(open + strings.Repeat(unit, n) + last + close)
	}
	deep := strings.Repeat("[", 60) + strings.Repeat("]", 60)
	return map[string][]byte{
		"duplicate-keys": repeat("{", `"a":1,`, `"a":1`, "}"),
		"empty-keys":     repeat("{", `"":0,`, `"":0`, "}"),
		"zeros":          repeat("[", `0,`, `0`, "]"),
		"deep-arrays":    repeat("[", deep+",", deep, "]"),
	}
}

// BenchmarkHostile decodes each hostile payload in auto mode. The figures
// in bench/README.md come from
//
//	go test -run '^$' -bench Hostile -benchmem -count 3 ./weights/registry
func BenchmarkHostile(b *testing.B) {
	payloads := hostilePayloads()
	for _, name := range []string{"duplicate-keys", "empty-keys", "zeros", "deep-arrays"} {
		data := payloads[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = registry.Decode(registry.FormatAuto, data, registry.Options{})
			}
		})
	}
}

// writeHostile names a directory to write the hostile payloads to, for
// measuring the command on them (see bench/README.md).
var writeHostile = flag.String("write-hostile", "", "write the hostile payloads as DIR/NAME.json (DIR is created)")

// TestHostileBounded decodes each hostile payload in auto mode and checks
// what bounds its cost by counting, not timing: nothing is served, and the
// bytes allocated by one decode stay under 16 times the payload (128 MiB).
func TestHostileBounded(t *testing.T) {
	if *writeHostile != "" {
		if err := os.MkdirAll(*writeHostile, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range hostilePayloads() {
			if err := os.WriteFile(filepath.Join(*writeHostile, name+".json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, data := range hostilePayloads() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, r, err := registry.Decode(registry.FormatAuto, data, registry.Options{})
		runtime.ReadMemStats(&after)
		if err == nil && r.Refused == nil && len(s.Nodes) > 0 {
			t.Errorf("%s: accepted %d nodes", name, len(s.Nodes))
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 16*uint64(len(data)) {
			t.Errorf("%s: one decode allocated %d bytes, more than 16 times the payload's %d", name, got, len(data))
		}
	}
}
