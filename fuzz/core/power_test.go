//go:build e2e && measure

package core

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
	"github.com/safewrr/safewrr/internal/plant"
)

// Fuzzing power: how long each fuzz target takes to find each planted bug
// (internal/plant) from an empty corpus. Run it with fuzz/measure-power.sh,
// which sets these:
//
//	SAFEWRR_POWER_BUGS    comma-separated bug names (default: the whole catalog)
//	SAFEWRR_POWER_RUNS    campaigns per bug; the figure is their median (default 3)
//	SAFEWRR_POWER_CAP     how long one campaign may look (default 60s)
//	SAFEWRR_POWER_TARGET  fuzz every bug with this target instead of the
//	                      catalog's (FuzzWeights, to compare the raw-bytes target)
//	SAFEWRR_POWER_ENGINES native (default), libfuzzer, or both: native,libfuzzer
//
// A campaign is one native worker (-parallel 1) of a test binary built with
// the fuzzpower tag and the bug named at link time, started in an empty
// directory with SAFEWRR_FUZZ_SEEDS=off and minimization off, so the time
// the engine reports at its failure is the time to find. Every input it
// reports is replayed through the plain target in this process: it must
// pass there, or it is a real bug rather than the planted one (reported,
// and the campaign does not count as finding the planted bug). The test
// fails when a campaign finds nothing within the cap.
//
// Under libFuzzer the binary is built by fuzz/libfuzzer.sh (LIBFUZZER_TAGS
// and GOFLAGS carry the tag and the bug) and run on an empty corpus
// directory with -max_total_time at the cap and -timeout=10; the time is the
// wall clock from its start to its exit with a crash or timeout artifact.

var powerTargets = map[string]func([]byte) (bool, error){
	"FuzzWeights":      Weights,
	"FuzzWeightsTyped": WeightsTyped,
	"FuzzBalancer":     Balancer,
}

func TestPower(t *testing.T) {
	runs := 3
	if v := os.Getenv("SAFEWRR_POWER_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SAFEWRR_POWER_RUNS=%q is not a positive count", v)
		}
		runs = n
	}
	limit := 60 * time.Second
	if v := os.Getenv("SAFEWRR_POWER_CAP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SAFEWRR_POWER_CAP=%q is not a duration", v)
		}
		limit = d
	}
	bugs := plant.Catalog
	if v := os.Getenv("SAFEWRR_POWER_BUGS"); v != "" {
		bugs = nil
		for _, name := range strings.Split(v, ",") {
			p, ok := plant.Lookup(strings.TrimSpace(name))
			if !ok {
				t.Fatalf("SAFEWRR_POWER_BUGS: %q is not in the catalog", name)
			}
			bugs = append(bugs, p)
		}
	}
	override := os.Getenv("SAFEWRR_POWER_TARGET")
	if _, ok := powerTargets[override]; override != "" && !ok {
		t.Fatalf("SAFEWRR_POWER_TARGET=%q is not one of this package's targets", override)
	}
	engines := []string{"native"}
	if v := os.Getenv("SAFEWRR_POWER_ENGINES"); v != "" {
		engines = strings.Split(v, ",")
		for _, e := range engines {
			if e != "native" && e != "libfuzzer" {
				t.Fatalf("SAFEWRR_POWER_ENGINES: %q is neither native nor libfuzzer", e)
			}
		}
	}
	lfwork := t.TempDir() // one libFuzzer work directory: the tools install once
	t.Logf("| planted bug | target | engine | time to find, %d runs, cap %v | median |", runs, limit)
	for _, bug := range bugs {
		for _, engine := range engines {
			target := bug.Target
			if override != "" {
				target = override
			}
			t.Run(bug.Name+"/"+engine, func(t *testing.T) {
				powerBug(t, bug, target, engine, lfwork, runs, limit)
			})
		}
	}
}

// powerBug measures one bug with one target and engine.
func powerBug(t *testing.T, bug plant.Planted, target, engine, lfwork string, runs int, limit time.Duration) {
	campaign := powerCampaign
	var bin string
	if engine == "libfuzzer" {
		bin = libfuzzerBinary(t, lfwork, target, bug.Name)
		campaign = libfuzzerCampaign
	} else {
		bin = powerBinary(t, target, bug.Name)
	}
	var times []time.Duration
	missed := 0
	for i := 0; i < runs; i++ {
		took, found, finding := campaign(t, bin, target, limit)
		if !found {
			missed++
			t.Logf("run %d: nothing found in %v", i+1, limit)
			times = append(times, limit+time.Nanosecond) // sorts after every find
			continue
		}
		t.Logf("run %d: %.1fs: %s", i+1, took.Seconds(), finding)
		times = append(times, took)
	}
	cells := make([]string, len(times))
	for i, d := range times {
		if d > limit {
			cells[i] = "none"
		} else {
			cells[i] = strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
		}
	}
	med := slices.Sorted(slices.Values(times))[len(times)/2]
	medCell := "not found"
	if med <= limit {
		medCell = fmt.Sprintf("%.1f s", med.Seconds())
	}
	t.Logf("| `%s` | `%s` | %s | %s | %s |", bug.Name, target, engine, strings.Join(cells, ", "), medCell)
	if missed > 0 {
		t.Errorf("%s: %s (%s) missed %s in %d of %d campaigns (cap %v)", bug.Name, target, engine, bug.What, missed, runs, limit)
	}
}

// powerBinary builds the package's test binary, instrumented for fuzzing,
// with the planted bug compiled in.
func powerBinary(t *testing.T, target, bug string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "core-"+bug+".test")
	cmd := exec.Command("go", "test", "-c", "-fuzz", "^"+target+"$", "-tags", "fuzzpower",
		"-ldflags=-X=github.com/safewrr/safewrr/internal/plant.Bug="+bug, "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return bin
}

var failLine = regexp.MustCompile(`--- FAIL: Fuzz\w+ \(([0-9.]+)s\)`)

// powerCampaign runs one campaign from an empty corpus and returns the time
// the engine took to find something, whether it did, and the finding's
// first line. A finding that the plain target also reports fails the test.
func powerCampaign(t *testing.T, bin, target string, limit time.Duration) (time.Duration, bool, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), limit+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.fuzz", "^"+target+"$",
		"-test.fuzztime", limit.String(), "-test.parallel", "1", "-test.fuzzminimizetime", "0s",
		"-test.fuzzcachedir", filepath.Join(dir, "cache"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SAFEWRR_FUZZ_SEEDS=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	m := failLine.FindSubmatch(out)
	if err == nil || m == nil {
		// Go 1.26's coordinator can end a clean -fuzztime run with
		// "context deadline exceeded" (golang/go#75804): nothing found.
		if err != nil && !bytes.Contains(out, []byte("context deadline exceeded")) {
			t.Fatalf("campaign failed without a finding: %v\n%s", err, out)
		}
		return 0, false, ""
	}
	secs, _ := strconv.ParseFloat(string(m[1]), 64)
	files, _ := filepath.Glob(filepath.Join(dir, "testdata", "fuzz", target, "*"))
	if len(files) != 1 {
		t.Fatalf("the campaign reported a failure but wrote %d inputs:\n%s", len(files), out)
	}
	data, rerr := seedcorpus.ReadCorpusFile(files[0])
	if rerr != nil {
		t.Fatalf("%s: %v", files[0], rerr)
	}
	if _, perr := powerTargets[target](data); perr != nil {
		t.Errorf("a real finding, not the planted bug: %s(%q): %v", target, data, perr)
		return 0, false, ""
	}
	return time.Duration(secs * float64(time.Second)), true, findingLine(out, m)
}

// findingLine returns the line after the failure that says what was found.
func findingLine(out []byte, m [][]byte) string {
	rest := out[bytes.Index(out, m[0]):]
	for _, line := range strings.Split(string(rest), "\n")[1:] {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--- FAIL") {
			if len(line) > 160 {
				line = line[:160] + "..."
			}
			return line
		}
	}
	return ""
}

// libfuzzerBinary builds target as a libFuzzer binary with the planted bug,
// through fuzz/libfuzzer.sh, and returns a copy of it.
func libfuzzerBinary(t *testing.T, work, target, bug string) string {
	t.Helper()
	cmd := exec.Command("bash", "../libfuzzer.sh", "build", target)
	cmd.Env = append(os.Environ(), "LIBFUZZER_WORKDIR="+work, "LIBFUZZER_TAGS=fuzzpower",
		"GOFLAGS=-ldflags=-X=github.com/safewrr/safewrr/internal/plant.Bug="+bug)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("libfuzzer.sh build %s: %v\n%s", target, err, out)
	}
	bin := filepath.Join(t.TempDir(), target+"-"+bug)
	data, err := os.ReadFile(filepath.Join(work, "bin", target))
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// libfuzzerCampaign runs one libFuzzer campaign from an empty corpus.
func libfuzzerCampaign(t *testing.T, bin, target string, limit time.Duration) (time.Duration, bool, string) {
	t.Helper()
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.Mkdir(corpus, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), limit+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-artifact_prefix="+dir+"/", "-timeout=10",
		"-max_total_time="+strconv.Itoa(int(limit.Seconds())), corpus)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	arts, _ := filepath.Glob(filepath.Join(dir, "*-*"))
	var found []string
	for _, a := range arts {
		if b := filepath.Base(a); strings.HasPrefix(b, "crash-") || strings.HasPrefix(b, "timeout-") {
			found = append(found, a)
		}
	}
	if err == nil || len(found) == 0 {
		if err != nil && ctx.Err() == nil {
			t.Fatalf("libFuzzer failed without an artifact: %v\n%s", err, out)
		}
		return 0, false, ""
	}
	data, derr := exec.Command("go", "run", "../internal/lfinput", "decode", found[0]).Output()
	if derr != nil {
		t.Fatalf("lfinput decode %s: %v", found[0], derr)
	}
	if _, perr := powerTargets[target](data); perr != nil {
		t.Errorf("a real finding, not the planted bug: %s(%q): %v", target, data, perr)
		return 0, false, ""
	}
	line := filepath.Base(found[0])
	if i := bytes.Index(out, []byte("fuzz_test.go:")); i >= 0 {
		line, _, _ = strings.Cut(string(out[i:]), "\n")
		if len(line) > 160 {
			line = line[:160] + "..."
		}
	} else if i := bytes.Index(out, []byte("panic: ")); i >= 0 {
		line, _, _ = strings.Cut(string(out[i:]), "\n")
		if len(line) > 160 {
			line = line[:160] + "..."
		}
	}
	return took, true, line
}
