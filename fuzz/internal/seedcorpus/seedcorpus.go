// Package seedcorpus is what the fuzz packages' tests share: reading the
// seed corpus at the repository root (seeds/<target>/, one file per case)
// and a watchdog that turns an input that never returns into a finding.
//
// It links nothing but the standard library, so a package of targets that
// uses it keeps its coverage counters to its own code.
package seedcorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// EnvSeeds set to "off" leaves the seed corpus out of a fuzzing run, to
// measure what a target finds from nothing. Plain go test replays the seeds
// whatever it says.
const EnvSeeds = "SAFEWRR_FUZZ_SEEDS"

// Off reports whether EnvSeeds asks for an empty starting corpus.
func Off() bool { return os.Getenv(EnvSeeds) == "off" }

// Seed is one seed file.
type Seed struct {
	Name string // file name, e.g. bilibili-string-zero.json
	Data []byte
}

// Read returns the seed files of one target (root/dir) in name order,
// leaving out dot files and README.md. A directory that does not exist is
// an error, so that a seed corpus that has gone missing fails a test rather
// than passing with nothing run; an empty directory is an empty corpus.
func Read(root, dir string) ([]Seed, error) {
	path := filepath.Join(root, dir)
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("seed corpus: %w", err)
	}
	var out []Seed
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("seed corpus: %w", err)
		}
		out = append(out, Seed{e.Name(), data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// HangLimit is how long one input may take before it counts as a hang of
// the target itself. Inputs take microseconds; the limit only has to stay
// clear of a loaded machine running the race detector.
const HangLimit = 10 * time.Second

// Watchdog turns an input that does not return into a finding: Go's native
// engine has no per-input time limit, so a target that hangs would stall its
// worker silently. One timer per process is re-armed for each input (no
// allocation, and nothing of the harness runs between inputs to blur the
// coverage the engine measures) and crashes the worker with the input in
// flight once it has run for HangLimit. The zero value is ready to use; a
// Watchdog serves one goroutine at a time.
//
// In a libFuzzer build (build tag libfuzzer) it does nothing: libFuzzer's
// own -timeout does this job there.
type Watchdog struct {
	name  string
	input atomic.Pointer[[]byte]
	timer *time.Timer // armed while an input runs
}

// Begin arms the watchdog for one input of the named target.
func (w *Watchdog) Begin(name string, data []byte) {
	if libFuzzer {
		return
	}
	w.input.Store(&data)
	if w.timer == nil {
		w.name = name
		w.timer = time.AfterFunc(HangLimit, w.fire)
		return
	}
	w.timer.Reset(HangLimit)
}

// End disarms the watchdog once the input has returned.
func (w *Watchdog) End() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *Watchdog) fire() {
	panic(fmt.Sprintf("%s did not return within %v on input %q", w.name, HangLimit, *w.input.Load()))
}

// ReadCorpusFile reads a file of the native engine's corpus format (a
// "go test fuzz v1" line, then one []byte value), as Go writes a failing
// input to testdata/fuzz/FuzzX/.
func ReadCorpusFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		return nil, fmt.Errorf("%s: not a one-[]byte corpus file", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	return []byte(s), err
}
