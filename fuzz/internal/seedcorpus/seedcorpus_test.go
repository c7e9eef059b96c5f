package seedcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"t/b.txt":     "b",
		"t/a.txt":     "a",
		"t/README.md": "docs",
		"t/.hidden":   "x",
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "t", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Read(root, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a.txt" || string(got[0].Data) != "a" || got[1].Name != "b.txt" {
		t.Fatalf("Read = %+v, want a.txt then b.txt", got)
	}
}

// An empty seed folder is an empty corpus; a missing one is an error.
func TestReadEmptyAndMissing(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Read(root, "empty")
	if err != nil || len(got) != 0 {
		t.Fatalf("Read(empty) = %v, %v; want no seeds and no error", got, err)
	}
	if _, err := Read(root, "missing"); err == nil {
		t.Fatal("Read(missing) succeeded, want an error")
	}
}

func TestOff(t *testing.T) {
	t.Setenv(EnvSeeds, "off")
	if !Off() {
		t.Fatal("Off() = false with SAFEWRR_FUZZ_SEEDS=off")
	}
	t.Setenv(EnvSeeds, "")
	if Off() {
		t.Fatal("Off() = true with SAFEWRR_FUZZ_SEEDS unset")
	}
}

// The watchdog stays quiet for inputs that return.
func TestWatchdogQuiet(t *testing.T) {
	var w Watchdog
	for i := 0; i < 3; i++ {
		w.Begin("t", []byte{byte(i)})
		w.End()
	}
	if w.timer == nil || w.timer.Stop() {
		t.Fatal("watchdog timer still armed after End")
	}
}

func TestReadCorpusFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("go test fuzz v1\n[]byte(\"{\\\"a\\\":\\\"0\\\"}\\x00\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("go test fuzz v1\nstring(\"x\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadCorpusFile(good); err != nil || string(got) != "{\"a\":\"0\"}\x00" {
		t.Errorf("ReadCorpusFile(good) = %q, %v", got, err)
	}
	if _, err := ReadCorpusFile(bad); err == nil {
		t.Error("ReadCorpusFile(a string value) = nil error, want one")
	}
}
