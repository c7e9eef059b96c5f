//go:build e2e

package luacompat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// These tests run the embedded models under the luajit binary (Debian
// package luajit2, OpenResty's LuaJIT branch, the engine of Debian's
// libnginx-mod-http-lua) through testdata/luajit_driver.lua, and require
// LuaJIT to classify every case exactly as gopher-lua does.

const e2eSteps = 5000

type ljCase struct {
	name  string
	model string
	nodes []weights.Entry
}

type ljResult struct {
	outcome, phase string
	order, picks   []string
	message        string
}

// luajit returns the luajit binary and a directory holding the models.
func luajit(t testing.TB) (bin, dir string) {
	t.Helper()
	bin, err := exec.LookPath("luajit")
	if err != nil {
		t.Fatalf("luajit not found (apt-get install -y luajit2): %v", err)
	}
	dir = t.TempDir()
	if err := WriteModels(dir); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// runLuaJIT classifies the cases in one luajit process. starts gives, per
// case, the position in LuaJIT's order of the node the first find() starts
// after (-1 for math.random's).
func runLuaJIT(t *testing.T, bin, dir string, cases []ljCase, starts []int, picks int) []ljResult {
	t.Helper()
	var in bytes.Buffer
	for i, c := range cases {
		start := ""
		if starts != nil && starts[i] >= 0 {
			start = strconv.Itoa(starts[i])
		}
		fmt.Fprintf(&in, "%s\t%d\t%d\t%s\t%s\n", c.model, e2eSteps, picks, start, FormatSpec(c.nodes))
	}
	caseFile := filepath.Join(t.TempDir(), "cases.txt")
	if err := os.WriteFile(caseFile, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60e9)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, filepath.Join("testdata", "luajit_driver.lua"), dir, "run", caseFile).Output()
	if err != nil {
		t.Fatalf("luajit driver: %v", err)
	}
	var res []ljResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 5)
		if len(f) != 5 {
			t.Fatalf("driver line %q", sc.Text())
		}
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\x1f")
		}
		res = append(res, ljResult{outcome: f[0], phase: f[1], order: split(f[2]), picks: split(f[3]), message: f[4]})
	}
	if len(res) != len(cases) {
		t.Fatalf("driver answered %d cases of %d", len(res), len(cases))
	}
	return res
}

func e2eCases(t *testing.T) []ljCase {
	var cases []ljCase
	for _, m := range Models() {
		cases = append(cases, ljCase{"incident", m, IncidentNodes()})
	}
	specs := seedSpecs(t)
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		for _, m := range Models() {
			cases = append(cases, ljCase{name, m, specs[name]})
		}
	}
	// Random typed node sets, the values that matter to Lua's semantics.
	pool := []weights.Raw{
		weights.Int(0), weights.Int(1), weights.Int(2), weights.Int(3), weights.Int(5), weights.Int(10), weights.Int(12),
		weights.Int(-5), weights.Number("0.5"), weights.Number("2.5"), weights.Number("1e308"), weights.Number("9007199254740993"),
		weights.Number("NaN"), weights.Number("Inf"), weights.Number("-Inf"), weights.Number("-0"),
		weights.String("0"), weights.String("10"), weights.String(" 10 "), weights.String("0x10"), weights.String("1e1"),
		weights.String("nan"), weights.String("inf"), weights.String("ten"), weights.String(""), weights.String("017"),
		weights.String("0x1p4"), weights.String("1e400"), weights.String("-0"), weights.String("+5"), weights.String("5."),
		weights.Number("1e-300"), weights.Number("4294967296"), weights.Int(7), weights.Int(1000000),
		weights.Bool(true), weights.Bool(false), weights.Null(),
	}
	rng := rand.New(rand.NewPCG(7, 13))
	for i := 0; i < 600; i++ {
		n := 1 + rng.IntN(5)
		nodes := make([]weights.Entry, n)
		for j := range nodes {
			nodes[j] = weights.Entry{ID: "n" + strconv.Itoa(j), Weight: pool[rng.IntN(len(pool))]}
		}
		cases = append(cases, ljCase{"random-" + strconv.Itoa(i), Models()[i%3], nodes})
	}
	return cases
}

// TestLuaJITClassifiesLikeGopherLua: for every case, LuaJIT's outcome and
// phase equal gopher-lua's when gopher-lua walks the nodes in LuaJIT's order
// (LuaJIT's order is random per process, gopher-lua's is insertion order);
// when both serve, the picks are equal too, the resty models starting after
// the node at the same position.
func TestLuaJITClassifiesLikeGopherLua(t *testing.T) {
	bin, dir := luajit(t)
	cases := e2eCases(t)
	const picks = 12
	run := func(c ljCase, nodes []weights.Entry) Result {
		g, err := Run(context.Background(), Config{Model: c.model, Nodes: nodes, Picks: picks, StepLimit: e2eSteps})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g.StepLimit != e2eSteps {
			t.Fatalf("%s: gopher-lua step limit %d, LuaJIT %d", c.name, g.StepLimit, e2eSteps)
		}
		return g
	}
	// gopher-lua's random start is the k-th node of the order, where
	// k+1 = math.random(count) is drawn from the seed (0 here) and the number
	// of nodes in the balancer's copy only: draw k as the sandbox would, and
	// tell LuaJIT to start after its k-th node.
	starts := make([]int, len(cases))
	for i, c := range cases {
		starts[i] = -1
		if n := copyCount(c.model, c.nodes); n > 0 {
			starts[i] = int(rand.New(rand.NewPCG(0, randomStream)).Int64N(int64(n)))
		}
	}
	lj := runLuaJIT(t, bin, dir, cases, starts, picks)
	counts := map[string]int{}
	inSpecOrder := 0
	for i, c := range cases {
		if lj[i].outcome == "spec-error" {
			t.Fatalf("%s: LuaJIT cannot read %s: %s", c.name, FormatSpec(c.nodes), lj[i].message)
		}
		g := run(c, inOrder(c.nodes, lj[i].order, entryID))
		counts[lj[i].outcome+"/"+lj[i].phase]++
		if string(g.Outcome) != lj[i].outcome || string(g.Phase) != lj[i].phase {
			t.Errorf("%s %s %s: LuaJIT %s/%s %q, gopher-lua %s/%s %q (order %q)", c.name, c.model, FormatSpec(c.nodes),
				lj[i].outcome, lj[i].phase, lj[i].message, g.Outcome, g.Phase, g.Message, lj[i].order)
			continue
		}
		if len(lj[i].order) > 0 && !slices.Equal(g.Order, lj[i].order) {
			t.Errorf("%s %s: order: LuaJIT %q, gopher-lua %q", c.name, c.model, lj[i].order, g.Order)
		}
		if !slices.Equal(g.Picks, lj[i].picks) {
			t.Errorf("%s %s %s: picks: LuaJIT %q, gopher-lua %q (start %q)", c.name, c.model, FormatSpec(c.nodes), lj[i].picks, g.Picks, g.Start)
		}
		if ids := entryIDs(c.nodes); len(lj[i].order) == len(ids) && slices.Equal(lj[i].order, ids) {
			inSpecOrder++
		}
	}
	t.Logf("%d cases (%d iterated in the order written), LuaJIT and gopher-lua agree; outcomes %v", len(cases), inSpecOrder, counts)
}

// copyCount is the number of nodes in a resty model's copy of the nodes:
// distinct ids (the last value wins) whose weight is not nil, and for
// resty-roundrobin-2021 one that tonumber reads.
func copyCount(model string, nodes []weights.Entry) int {
	last := map[string]weights.Raw{}
	for _, e := range nodes {
		last[e.ID] = e.Weight
	}
	n := 0
	for _, w := range last {
		switch {
		case w.Kind == weights.KindAbsent:
		case model != Resty2021:
			n++
		case w.Kind == weights.KindNumber:
			n++
		case w.Kind == weights.KindString:
			if _, ok := str2number(w.Text); ok {
				n++
			}
		}
	}
	return n
}

func entryIDs(nodes []weights.Entry) []string {
	ids := make([]string, len(nodes))
	for i, e := range nodes {
		ids[i] = e.ID
	}
	return ids
}

// TestLuaJITIncident: LuaJIT seeds its string hash at random for every Lua
// state, so which of the two incident nodes it walks first changes from one
// process (one nginx worker) to the next. Whichever it is, LuaJIT must do
// what gopher-lua does in that order: hang in the gcd when the weight-10
// node comes first, raise "attempt to compare string with number" when "0"
// comes first. The 2021 model serves either way. The test runs fresh
// processes until it has seen both orders (at most 40; each order has even
// odds).
func TestLuaJITIncident(t *testing.T) {
	bin, dir := luajit(t)
	cases := []ljCase{{"incident", Resty2020, IncidentNodes()}, {"incident", Resty2021, IncidentNodes()}}
	seen := map[string]bool{}
	for round := 0; round < 40 && len(seen) < 2; round++ {
		lj := runLuaJIT(t, bin, dir, cases, nil, 5)
		order := strings.Join(lj[0].order, ",")
		seen[order] = true
		want := "hang/build"
		if len(lj[0].order) > 0 && lj[0].order[0] == IncidentBadID {
			want = "error/build"
			if !strings.Contains(lj[0].message, "attempt to compare string with number") {
				t.Errorf("order %s: message %q", order, lj[0].message)
			}
		}
		if got := lj[0].outcome + "/" + lj[0].phase; got != want {
			t.Errorf("order %s: 2020 model %s %q, want %s", order, got, lj[0].message, want)
		}
		g, err := Run(context.Background(), Config{Model: Resty2020, Nodes: inOrder(IncidentNodes(), lj[0].order, entryID), StepLimit: e2eSteps})
		if err != nil || string(g.Outcome)+"/"+string(g.Phase) != want {
			t.Errorf("order %s: gopher-lua %s/%s (%v), want %s", order, g.Outcome, g.Phase, err, want)
		}
		if lj[1].outcome != "ok" || slices.ContainsFunc(lj[1].picks, func(id string) bool { return id != IncidentGoodID }) {
			t.Errorf("order %s: 2021 model %s %q %q", order, lj[1].outcome, lj[1].picks, lj[1].message)
		}
	}
	if len(seen) < 2 {
		t.Errorf("LuaJIT walked the incident's nodes in one order only in 40 processes: %v", seen)
	}
}

// BenchmarkLuaJITFind reports finds per second of each model under LuaJIT,
// uninstrumented (as in nginx), timed inside LuaJIT with os.clock.
func BenchmarkLuaJITFind(b *testing.B) {
	bin, dir := luajit(b)
	for _, m := range Models() {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("model=%s/nodes=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				out, err := exec.Command(bin, filepath.Join("testdata", "luajit_driver.lua"), dir, "bench", m, strconv.Itoa(n), strconv.Itoa(b.N)).Output()
				if err != nil {
					b.Fatal(err)
				}
				secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
				if err != nil {
					b.Fatal(err)
				}
				if secs > 0 {
					b.ReportMetric(float64(b.N)/secs, "finds/s")
				}
			})
		}
	}
}

func entryID(e weights.Entry) string { return e.ID }
