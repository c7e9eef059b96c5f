package luacompat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

func diff(t *testing.T, cfg DiffConfig) DiffResult {
	t.Helper()
	res, err := Diff(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Diff(%s, %s): %v", cfg.Lua.Model, FormatSpec(cfg.Lua.Nodes), err)
	}
	return res
}

// randomValid returns 1 to 8 nodes with integer weights 0..30, at least one
// positive, under distinct ids.
func randomValid(rng *rand.Rand) []weights.Entry {
	n := 1 + rng.IntN(8)
	entries := make([]weights.Entry, n)
	positive := false
	for i := range entries {
		w := int64(rng.IntN(31))
		if rng.IntN(5) == 0 {
			w = 0
		}
		positive = positive || w > 0
		entries[i] = weights.Entry{ID: fmt.Sprintf("10.0.%d.%d:80", rng.IntN(256), i), Weight: weights.Int(w)}
	}
	if !positive {
		entries[rng.IntN(n)].Weight = weights.Int(1 + int64(rng.IntN(30)))
	}
	return entries
}

// TestDifferentialValidWeights: on random valid integer weights, safewrr's
// Resty balancer returns exactly the sequence of both resty models (same
// iteration order, same start node) and its Smooth balancer exactly that of
// nginx-swrr, over more than two full cycles.
func TestDifferentialValidWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(2021, 713))
	for round := 0; round < 150; round++ {
		nodes := randomValid(rng)
		total := 0
		for _, e := range nodes {
			f, _ := e.Weight.Float64()
			total += int(f)
		}
		for _, model := range Models() {
			cfg := DiffConfig{Lua: Config{Model: model, Nodes: nodes, Picks: 2*total + 3, Seed: rng.Uint64()}}
			res := diff(t, cfg)
			if res.Verdict != VerdictSame {
				t.Fatalf("%s on %s: verdict %s (%s)\n lua %v (start %q, order %q)\n  go %v (start %d)",
					model, FormatSpec(nodes), res.Verdict, res.Explanation, res.Lua.Picks, res.Lua.Start, res.Lua.Order, res.Go.Picks, res.Go.Start)
			}
		}
	}
}

func TestDifferentialAlgorithmFollowsLua(t *testing.T) {
	if got := AlgorithmFor(Config{Model: NginxSWRR}); got != balancer.Smooth {
		t.Errorf("nginx-swrr: %v", got)
	}
	if got := AlgorithmFor(Config{Model: Resty2020}); got != balancer.Resty {
		t.Errorf("resty-roundrobin-2020: %v", got)
	}
	if got := AlgorithmFor(Config{LuaPath: "lib", Module: "resty.swrr"}); got != balancer.Smooth {
		t.Errorf("resty.swrr: %v", got)
	}
	if got := AlgorithmFor(Config{LuaPath: "lib", Module: "resty.roundrobin"}); got != balancer.Resty {
		t.Errorf("resty.roundrobin: %v", got)
	}
}

// TestDifferentialBadInputs: where Lua hangs or errors, safewrr rejects the
// bad nodes with a reason and serves the rest, or answers at once.
func TestDifferentialBadInputs(t *testing.T) {
	e := func(id string, w weights.Raw) weights.Entry { return weights.Entry{ID: id, Weight: w} }
	tests := []struct {
		name    string
		model   string
		nodes   []weights.Entry
		verdict Verdict
		reason  weights.Reason
		serving int
		err     error
	}{
		{"incident 2020", Resty2020, IncidentNodes(), VerdictSafe, weights.ReasonStringZero, 1, nil},
		{"incident 2021", Resty2021, IncidentNodes(), VerdictStricter, weights.ReasonStringZero, 1, nil},
		{"nan", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", weights.Number("NaN"))}, VerdictSafe, weights.ReasonNaN, 1, nil},
		{"inf", Resty2021, []weights.Entry{e("a", weights.Int(10)), e("b", weights.Number("Inf"))}, VerdictSafe, weights.ReasonInfinite, 1, nil},
		{"negative", Resty2020, []weights.Entry{e("a", weights.Int(1)), e("b", weights.Int(-2))}, VerdictSafe, weights.ReasonNegative, 1, nil},
		{"only bad", Resty2020, []weights.Entry{e("a", weights.Int(10)), e("b", weights.String("x"))}, VerdictSafe, weights.ReasonStringWeight, 1, nil},
		{"all string zero", Resty2020, []weights.Entry{e("a", weights.String("0"))}, VerdictStricter, weights.ReasonStringZero, 0, weights.ErrRefused},
		{"all zero", Resty2021, []weights.Entry{e("a", weights.Int(0)), e("b", weights.Int(0))}, VerdictStricter, "", 2, balancer.ErrAllDrained},
		{"empty", Resty2020, nil, VerdictSafe, "", 0, balancer.ErrNoBackends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := diff(t, DiffConfig{Lua: Config{Model: tt.model, Nodes: tt.nodes, StepLimit: 20_000}})
			if res.Verdict != tt.verdict {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Explanation, tt.verdict)
			}
			if tt.reason != "" && (len(res.Go.Report.Rejected) == 0 || res.Go.Report.Rejected[0].Reason != tt.reason) {
				t.Errorf("rejected %v, want reason %s", res.Go.Report.Rejected, tt.reason)
			}
			if len(res.Go.Nodes) != tt.serving {
				t.Errorf("safewrr kept %d nodes, want %d", len(res.Go.Nodes), tt.serving)
			}
			if tt.err == nil && (res.Go.Err != nil || len(res.Go.Picks) == 0) {
				t.Errorf("safewrr did not serve: %v", res.Go.Err)
			}
			if tt.err != nil && !errors.Is(res.Go.Err, tt.err) {
				t.Errorf("safewrr error %v, want %v", res.Go.Err, tt.err)
			}
		})
	}
}

// TestDifferentialDetectsDifference: comparing resty.roundrobin with the
// smooth algorithm must report the difference, so a "same" verdict means
// something.
func TestDifferentialDetectsDifference(t *testing.T) {
	nodes := []weights.Entry{{ID: "a", Weight: weights.Int(5)}, {ID: "b", Weight: weights.Int(1)}, {ID: "c", Weight: weights.Int(1)}}
	res := diff(t, DiffConfig{Lua: Config{Model: Resty2021, Nodes: nodes, Picks: 12}, Algorithm: balancer.Smooth, FixedAlgorithm: true})
	if res.Verdict != VerdictDiffer || res.FirstDifference < 0 {
		t.Fatalf("resty vs smooth: verdict %s, first difference %d\n lua %v\n  go %v (%v)", res.Verdict, res.FirstDifference, res.Lua.Picks, res.Go.Picks, res.Go.Algorithm)
	}
}

// TestDifferentialLoadedModules runs modules laid out like a
// lua-resty-balancer lib/ directory: a roundrobin module that takes its copy
// function from resty.balancer.utils (which probes for LuaJIT's table.new and
// table.nkeys with pcall), and a smooth module that advances its sequence by
// a random number of picks when built.
func TestDifferentialLoadedModules(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "resty.roundrobin", Resty2021)
	writeFile(t, dir+"/resty/balancer/utils.lua", `
		local M = {}
		local ok, new_tab = pcall(require, "table.new")
		if not ok then new_tab = function() return {} end end
		local ok2, nkeys = pcall(require, "table.nkeys")
		if not ok2 then
			nkeys = function(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
		end
		M.new_tab, M.nkeys = new_tab, nkeys
		function M.copy(nodes)
			local t = new_tab(0, nkeys(nodes))
			for k, v in pairs(nodes) do t[k] = tonumber(v) end
			return t
		end
		return M`)
	writeFile(t, dir+"/resty/swrr.lua", `
		local utils = require "resty.balancer.utils"
		local M = {}
		local mt = { __index = M }
		function M.find(self)
			local best, total = nil, 0
			for _, id in ipairs(self.ids) do
				local w = self.nodes[id]
				self.cur[id] = self.cur[id] + w
				total = total + w
				if best == nil or self.cur[id] > self.cur[best] then best = id end
			end
			self.cur[best] = self.cur[best] - total
			return best
		end
		function M.new(_, nodes)
			local self = setmetatable({ nodes = utils.copy(nodes), ids = {}, cur = {} }, mt)
			for id in pairs(self.nodes) do self.ids[#self.ids + 1] = id; self.cur[id] = 0 end
			for _ = 1, math.random(#self.ids) do self:find() end
			return self
		end
		return M`)
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 30; round++ {
		nodes := randomValid(rng)
		for _, module := range []string{"resty.roundrobin", "resty.swrr"} {
			res := diff(t, DiffConfig{Lua: Config{LuaPath: dir, Module: module, Nodes: nodes, Picks: 20, Seed: rng.Uint64(), Budget: 10 * time.Second}})
			if res.Verdict != VerdictSame {
				t.Fatalf("%s on %s: %s (%s)\n lua %v\n  go %v", module, FormatSpec(nodes), res.Verdict, res.Explanation, res.Lua.Picks, res.Go.Picks)
			}
		}
	}
}

// TestDifferentialHostileInputs: on random typed node sets (strings, NaN,
// ±Inf, negatives, fractions, bools, null), whenever a Lua model hangs or
// errors, safewrr rejects nodes with a reason, or answers at once with a
// typed error, and every pick it makes is an accepted, non-drained node.
func TestDifferentialHostileInputs(t *testing.T) {
	pool := []weights.Raw{
		weights.Int(0), weights.Int(1), weights.Int(3), weights.Int(10), weights.Int(-5), weights.Number("0.5"),
		weights.Number("1e308"), weights.Number("NaN"), weights.Number("Inf"), weights.Number("-Inf"), weights.Number("-0"),
		weights.String("0"), weights.String("10"), weights.String(" 10 "), weights.String("nan"), weights.String("ten"),
		weights.Bool(true), weights.Null(),
	}
	rng := rand.New(rand.NewPCG(99, 1))
	failed := 0
	for round := 0; round < 200; round++ {
		n := 1 + rng.IntN(4)
		nodes := make([]weights.Entry, n)
		for i := range nodes {
			nodes[i] = weights.Entry{ID: fmt.Sprintf("n%d", i), Weight: pool[rng.IntN(len(pool))]}
		}
		model := Models()[round%3]
		res := diff(t, DiffConfig{Lua: Config{Model: model, Nodes: nodes, StepLimit: 2000}})
		if res.Lua.Outcome == OutcomeOK {
			continue
		}
		failed++
		if res.Verdict != VerdictSafe {
			t.Fatalf("%s on %s: Lua %s, verdict %s", model, FormatSpec(nodes), res.Lua.Outcome, res.Verdict)
		}
		g := res.Go
		if len(g.Report.Rejected) == 0 && g.Err == nil && len(g.Picks) == 0 {
			t.Fatalf("%s on %s: safewrr neither rejected, answered nor served", model, FormatSpec(nodes))
		}
		for _, r := range g.Report.Rejected {
			if r.Reason == "" {
				t.Fatalf("rejected without a reason: %v", r)
			}
		}
		if g.Err != nil && !errors.Is(g.Err, balancer.ErrNoBackends) && !errors.Is(g.Err, balancer.ErrAllDrained) && !errors.Is(g.Err, weights.ErrRefused) {
			t.Fatalf("%s on %s: safewrr error %v is not a typed answer", model, FormatSpec(nodes), g.Err)
		}
		serving := map[string]bool{}
		for _, nd := range g.Nodes {
			serving[nd.ID] = nd.Weight > 0
		}
		for _, p := range g.Picks {
			if !serving[p] {
				t.Fatalf("%s on %s: safewrr picked %q, not an accepted serving node", model, FormatSpec(nodes), p)
			}
		}
	}
	if failed < 50 {
		t.Errorf("only %d of 200 random sets made Lua hang or fail; the generator is too tame", failed)
	}
}
