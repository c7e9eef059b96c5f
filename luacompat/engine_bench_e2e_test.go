//go:build e2e

package luacompat

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// BenchmarkEngineFind reports find() calls per second of the upstream-shaped
// module loaded from testdata/upstream-fixed, under each engine: one run of
// 100,000 picks per iteration (loading and building included, a small part
// of the time).
func BenchmarkEngineFind(b *testing.B) {
	b.Cleanup(StopLuaJIT)
	dir, _ := filepath.Abs(filepath.Join("testdata", "upstream-fixed"))
	const picks = 100_000
	for _, engine := range []string{EngineGopherLua, EngineLuaJIT} {
		for _, n := range []int{3, 100} {
			nodes := benchNodes(n)
			b.Run(fmt.Sprintf("engine=%s/nodes=%d", engine, n), func(b *testing.B) {
				var elapsed time.Duration
				for i := 0; i < b.N; i++ {
					res, err := Run(context.Background(), Config{LuaPath: dir, Nodes: nodes, Picks: picks, StepLimit: 1 << 30, Engine: engine})
					if err != nil || res.Outcome != OutcomeOK {
						b.Fatalf("%s %q %v", res.Outcome, res.Message, err)
					}
					elapsed += res.Elapsed
				}
				b.ReportMetric(float64(b.N*picks)/elapsed.Seconds(), "finds/s")
			})
		}
	}
}

// BenchmarkEngineIncidentHang reports the time from the start of Run to a
// classified hang for the incident's input on the upstream-shaped module
// (testdata/upstream) at the default step limit, under each engine (ns/op).
// LuaJIT meets the two nodes in its own hash order and fails the request
// instead of hanging in one of them; such a process is replaced, outside
// the timing, until it meets the hanging order.
func BenchmarkEngineIncidentHang(b *testing.B) {
	b.Cleanup(StopLuaJIT)
	dir, _ := filepath.Abs(filepath.Join("testdata", "upstream"))
	nodes := []weights.Entry{{ID: IncidentGoodID, Weight: weights.Int(10)}, {ID: IncidentBadID, Weight: weights.String("0")}}
	for _, engine := range []string{EngineGopherLua, EngineLuaJIT} {
		b.Run("engine="+engine, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for tries := 0; ; tries++ {
					res, err := Run(context.Background(), Config{LuaPath: dir, Nodes: nodes, Engine: engine})
					if err != nil || tries > 40 {
						b.Fatalf("%v after %d tries", err, tries)
					}
					if res.Outcome == OutcomeHang && res.Phase == PhaseBuild {
						break
					}
					b.StopTimer()
					StopLuaJIT()
					b.StartTimer()
				}
			}
		})
	}
}
