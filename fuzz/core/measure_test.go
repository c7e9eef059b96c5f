//go:build e2e && measure

// Measurements for fuzz/README.md, not pass/fail checks of speed: run them with
// fuzz/measure.sh on an otherwise idle machine and copy the figures they
// log.

package core

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// testBinary builds this package's test binary with the coverage
// instrumentation go test -fuzz uses (without -fuzz, go test -c leaves it
// out and a campaign runs blind).
func testBinary(t *testing.T, target string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "core.test")
	out, err := exec.Command("go", "test", "-c", "-fuzz", "^"+target+"$", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	return bin
}

// buildGofuzz installs go-fuzz (at the pinned version) and builds a target's
// binary through the script, as a user would.
func buildGofuzz(t *testing.T, target string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "../gofuzz.sh", "build", target).CombinedOutput()
	if err != nil {
		t.Fatalf("gofuzz.sh build %s: %v\n%s", target, err, out)
	}
}

var execLine = regexp.MustCompile(`elapsed: (\d+)s, execs: (\d+) `)

// seedDirs are the targets' seed directories under seeds/.
var seedDirs = map[string]string{"Weights": "weights", "WeightsTyped": "weights-typed", "Balancer": "balancer"}

// TestMeasureExecRate: executions per second of Weights, WeightsTyped and
// Balancer (and of the no-op target, the engine's ceiling), one worker, 30 s
// each, with the seed corpus, native engine and go-fuzz.
func TestMeasureExecRate(t *testing.T) {
	seedsDir, _ := filepath.Abs(seedRoot)
	for _, target := range []string{"Noop", "Weights", "WeightsTyped", "Balancer"} {
		bin := testBinary(t, "Fuzz"+target)
		dir := t.TempDir()
		// The test binary reads ../../seeds; give it a grandparent with the seeds.
		run := filepath.Join(dir, "fuzz", "core")
		os.MkdirAll(run, 0o755)
		os.Symlink(seedsDir, filepath.Join(dir, "seeds"))
		cmd := exec.Command(bin, "-test.run", "^$", "-test.fuzz", "^Fuzz"+target+"$", "-test.fuzztime", "30s",
			"-test.parallel", "1", "-test.fuzzcachedir", filepath.Join(dir, "cache"))
		cmd.Dir = run
		out, _ := cmd.CombinedOutput()
		var secs, execs int
		for _, m := range execLine.FindAllStringSubmatch(string(out), -1) {
			secs, _ = strconv.Atoi(m[1])
			execs, _ = strconv.Atoi(m[2])
		}
		if secs == 0 {
			t.Fatalf("Fuzz%s: no status lines:\n%s", target, out)
		}
		t.Logf("Fuzz%s native, 1 worker: %d execs in %ds = %d/s", target, execs, secs, execs/secs)
		if target == "Noop" {
			continue
		}

		buildGofuzz(t, target)
		root, _ := filepath.Abs("../..")
		work := t.TempDir()
		os.MkdirAll(filepath.Join(work, "corpus"), 0o755)
		ents, _ := os.ReadDir(filepath.Join(seedsDir, seedDirs[target]))
		for _, e := range ents {
			data, _ := os.ReadFile(filepath.Join(seedsDir, seedDirs[target], e.Name()))
			os.WriteFile(filepath.Join(work, "corpus", e.Name()), data, 0o644)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 33*time.Second)
		g := exec.CommandContext(ctx, filepath.Join(root, ".gofuzz/bin/go-fuzz"), "-bin",
			filepath.Join(root, ".gofuzz", target+"-fuzz.zip"), "-workdir", work, "-procs", "1")
		g.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		g.Cancel = func() error { return syscall.Kill(-g.Process.Pid, syscall.SIGKILL) }
		gout, _ := g.CombinedOutput()
		cancel()
		rate := regexp.MustCompile(`execs: (\d+) \((\d+)/sec\)`).FindAllStringSubmatch(string(gout), -1)
		if len(rate) == 0 {
			t.Fatalf("go-fuzz %s: no status lines:\n%s", target, gout)
		}
		last := rate[len(rate)-1]
		t.Logf("Fuzz%s go-fuzz, 1 proc: %s execs, %s/s", target, last[1], last[2])
	}
}

var lfStat = regexp.MustCompile(`stat::(number_of_executed_units|average_exec_per_sec):\s+(\d+)`)

// TestMeasureLibfuzzerRate: executions per second under libFuzzer from an
// empty corpus, one process, 15 s a run, the no-op and the three targets
// back to back in each of SAFEWRR_MEASURE_ROUNDS rounds (default 2), each
// target's share of the no-op's rate in the same round (the goals: Weights
// 15%, WeightsTyped and Balancer 5%). The binaries are fuzz/libfuzzer.sh's.
func TestMeasureLibfuzzerRate(t *testing.T) {
	rounds := 2
	if v := os.Getenv("SAFEWRR_MEASURE_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	work := t.TempDir()
	targets := []string{"FuzzNoop", "FuzzWeights", "FuzzWeightsTyped", "FuzzBalancer"}
	build := exec.Command("bash", append([]string{"../libfuzzer.sh", "build"}, targets...)...)
	build.Env = append(os.Environ(), "LIBFUZZER_WORKDIR="+work)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("libfuzzer.sh build: %v\n%s", err, out)
	}
	for r := 1; r <= rounds; r++ {
		var noop int
		for _, target := range targets {
			corpus := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			cmd := exec.CommandContext(ctx, filepath.Join(work, "bin", target), "-max_total_time=15",
				"-print_final_stats=1", "-timeout=10", corpus)
			out, err := cmd.CombinedOutput()
			cancel()
			stats := map[string]int{}
			for _, m := range lfStat.FindAllStringSubmatch(string(out), -1) {
				stats[m[1]], _ = strconv.Atoi(m[2])
			}
			rate := stats["average_exec_per_sec"]
			if err != nil || rate == 0 {
				t.Fatalf("%s: %v, no rate:\n%s", target, err, out)
			}
			if target == "FuzzNoop" {
				noop = rate
				t.Logf("round %d: %s %d execs, %d/s", r, target, stats["number_of_executed_units"], rate)
				continue
			}
			t.Logf("round %d: %s %d execs, %d/s, %.1f%% of the no-op", r, target, stats["number_of_executed_units"], rate, 100*float64(rate)/float64(noop))
		}
	}
}
