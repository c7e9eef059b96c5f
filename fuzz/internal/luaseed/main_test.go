package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKnownSeed(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"empty.lua": "{ }\n",
		"zero.lua":  `{["a"] = 10, b = "0"}`,
		"notes.md":  "{}",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for spec, want := range map[string]string{
		"{}":              "empty.lua",
		`{a=10, b="0"}`:   "zero.lua",
		`{a=10, b=0}`:     "",
		`{b="0", a=10}`:   "", // another order is another node set
		`{a=10.0, b="0"}`: "",
	} {
		got, err := knownSeed(dir, spec)
		if err != nil || got != want {
			t.Errorf("knownSeed(%s) = %q, %v want %q", spec, got, err, want)
		}
	}
}
