//go:build e2e && measure

// Measurements for fuzz/README.md, not pass/fail checks of speed: run them with
// fuzz/measure.sh (go test -tags e2e,measure -run '^TestMeasure' -v ./fuzz) on an
// otherwise idle machine and copy the figures they log. Each fails only when
// the campaign does not find what it must find at all.

package fuzz_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/fuzz"
	"github.com/safewrr/safewrr/fuzz/internal/seedcorpus"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
)

// allButStringZero ignores every finding whose node set holds a weight kind
// other than integers, zero and the string "0": what is left to find is the
// incident's hang.
const allButStringZero = "nan,inf,-inf,negative,fraction,huge,minus-zero,bool,nil," +
	"numeric-string,nonfinite-string,non-numeric-string"

// runs is how many campaigns each time-to-find figure is the median of.
const runs = 5

// testBinary builds this package's test binary with the coverage
// instrumentation go test -fuzz uses (without -fuzz, go test -c leaves it
// out and a campaign runs blind).
func testBinary(t *testing.T, target string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fuzz.test")
	out, err := exec.Command("go", "test", "-c", "-fuzz", "^"+target+"$", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	return bin
}

// nativeCampaign runs one native fuzzing campaign from an empty corpus in a
// fresh directory and returns its output and wall time.
func nativeCampaign(t *testing.T, bin, target string, fuzztime time.Duration, parallel int, env ...string) (string, time.Duration, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), fuzztime+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.fuzz", "^"+target+"$",
		"-test.fuzztime", fuzztime.String(), "-test.parallel", strconv.Itoa(parallel),
		"-test.fuzzcachedir", filepath.Join(dir, "cache"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, _ := cmd.CombinedOutput()
	return string(out), time.Since(start), dir
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestMeasureStringZeroNative: FuzzLuaModule on the built-in 2020 model,
// native engine, empty corpus, 2 workers, findings other than the string
// "0" ignored. Goal: the hang within 30 s.
func TestMeasureStringZeroNative(t *testing.T) {
	bin := testBinary(t, "FuzzLuaModule")
	var times []time.Duration
	for i := 0; i < runs; i++ {
		out, took, _ := nativeCampaign(t, bin, "FuzzLuaModule", 60*time.Second, 2,
			"SAFEWRR_FUZZ_SEEDS=off", "SAFEWRR_LUA_FINDINGS=hang", "SAFEWRR_LUA_IGNORE="+allButStringZero)
		if !strings.Contains(out, "hang in build") || !strings.Contains(out, "string-zero") {
			t.Fatalf("run %d: no string-\"0\" hang in %v:\n%s", i+1, took, out)
		}
		found := regexp.MustCompile(`hang in build on (\{.*?\}):`).FindStringSubmatch(out)
		t.Logf("run %d: found in %.1fs (with minimization): %s", i+1, took.Seconds(), found[1])
		times = append(times, took)
	}
	t.Logf("FuzzLuaModule native, empty corpus, string \"0\" hang: median %.1fs over %d runs %v", median(times).Seconds(), runs, times)
}

// TestMeasureStringZeroGofuzz: the same campaign under go-fuzz (2 procs).
func TestMeasureStringZeroGofuzz(t *testing.T) {
	buildGofuzz(t, "LuaModule")
	root, _ := filepath.Abs("..")
	var times []time.Duration
	for i := 0; i < runs; i++ {
		work := t.TempDir()
		cmd := exec.Command(filepath.Join(root, ".gofuzz/bin/go-fuzz"), "-bin", filepath.Join(root, ".gofuzz/LuaModule-fuzz.zip"),
			"-workdir", work, "-procs", "2")
		cmd.Env = append(os.Environ(), "SAFEWRR_LUA_FINDINGS=hang", "SAFEWRR_LUA_IGNORE="+allButStringZero)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var took time.Duration
		tick := time.NewTicker(100 * time.Millisecond) // go-fuzz reports crashers only as files
		for took == 0 && time.Since(start) < 2*time.Minute {
			<-tick.C
			if ents, _ := filepath.Glob(filepath.Join(work, "crashers", "*.output")); len(ents) > 0 {
				took = time.Since(start)
				data, _ := os.ReadFile(ents[0])
				t.Logf("run %d: go-fuzz crasher after %.1fs: %s", i+1, took.Seconds(), firstLine(string(data)))
			}
		}
		tick.Stop()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if took == 0 {
			t.Fatalf("run %d: go-fuzz found nothing in 2 minutes:\n%s", i+1, out.String())
		}
		times = append(times, took)
	}
	t.Logf("FuzzLuaModule go-fuzz, empty corpus, string \"0\" hang: median %.1fs over %d runs %v", median(times).Seconds(), runs, times)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestMeasureLuaClasses lets FuzzLuaModule explore the 2020 model for 60 s
// from an empty corpus without reporting anything, then replays the corpus
// it built and lists every class of input that hangs or fails, each reduced
// to the nodes and kinds that matter.
func TestMeasureLuaClasses(t *testing.T) {
	bin := testBinary(t, "FuzzLuaModule")
	out, took, dir := nativeCampaign(t, bin, "FuzzLuaModule", 60*time.Second, 2,
		"SAFEWRR_FUZZ_SEEDS=off", "SAFEWRR_LUA_FINDINGS=none")
	if !strings.Contains(out, "PASS") {
		t.Fatalf("campaign failed:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cache", "FuzzLuaModule", "*"))
	classes := map[string]string{}
	for _, f := range files {
		data, err := seedcorpus.ReadCorpusFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		entries, ok := fuzz.NodeSet(data)
		if !ok {
			continue
		}
		if class, example := canonicalClass(entries); class != "" {
			if _, seen := classes[class]; !seen {
				classes[class] = example
			}
		}
	}
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d corpus entries after %.0fs; %d classes of hang or error:", len(files), took.Seconds(), len(keys))
	for _, k := range keys {
		t.Logf("  %s    e.g. %s", k, classes[k])
	}
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "hang/build") && strings.Contains(k, "string-zero") }) {
		t.Errorf("the string-\"0\" hang is not among the classes found")
	}
}

// canonicalClass runs a node set through the 2020 model and, for a hang or
// an error, reduces it (drop nodes, then turn weights into 10) while the
// verdict stays the same, and names the reduced set's class.
func canonicalClass(entries []weights.Entry) (class, example string) {
	run := func(es []weights.Entry) luacompat.Result {
		res, err := luacompat.Run(context.Background(), luacompat.Config{Model: luacompat.Resty2020, Nodes: es, StepLimit: 5000})
		if err != nil {
			return luacompat.Result{Outcome: "harness-error", Message: err.Error()}
		}
		return res
	}
	first := run(entries)
	if first.Outcome == luacompat.OutcomeOK {
		return "", ""
	}
	same := func(r luacompat.Result) bool {
		return r.Outcome == first.Outcome && r.Phase == first.Phase && fuzz.Class(r, nil) == fuzz.Class(first, nil)
	}
	cur := fuzz.Shrink(entries, run)
	for i := range cur {
		if fuzz.WeightKind(cur[i].Weight) == "integer" {
			continue
		}
		try := slices.Clone(cur)
		try[i].Weight = weights.Int(10)
		if same(run(try)) {
			cur = try
		}
	}
	res := run(cur)
	return fuzz.Class(res, cur), luacompat.FormatSpec(cur)
}
