package luacompat

import (
	"context"
	"fmt"
	"testing"

	"github.com/safewrr/safewrr/weights"
	lua "github.com/yuin/gopher-lua"
)

// BenchmarkIncidentHang measures the time from the start of Run to a
// classified hang for the incident's input on resty-roundrobin-2020, at the
// default step limit (ns/op is that time).
func BenchmarkIncidentHang(b *testing.B) {
	for _, steps := range []int{10_000, DefaultStepLimit} {
		b.Run(fmt.Sprintf("nodes=2/steps=%d", steps), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Config{Model: Resty2020, Nodes: IncidentNodes(), StepLimit: steps})
				if err != nil || res.Outcome != OutcomeHang {
					b.Fatalf("%+v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkRun measures whole runs (fresh Lua state, build, 12 picks) on a
// valid node set: the cost of one fuzzing execution.
func BenchmarkRun(b *testing.B) {
	for _, m := range Models() {
		for _, n := range []int{3, 100} {
			nodes := benchNodes(n)
			b.Run(fmt.Sprintf("model=%s/nodes=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					res, err := Run(context.Background(), Config{Model: m, Nodes: nodes})
					if err != nil || res.Outcome != OutcomeOK {
						b.Fatalf("%+v %v", res, err)
					}
				}
			})
		}
	}
}

// BenchmarkFind measures find() calls per second of each model in
// gopher-lua, uninstrumented as in nginx, over nodes with weights 1..n (the
// same set as the LuaJIT benchmark in luajit_e2e_test.go).
func BenchmarkFind(b *testing.B) {
	for _, m := range Models() {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("model=%s/nodes=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				L := newSandbox(1, "")
				defer L.Close()
				proto, err := modelProto(m)
				if err != nil {
					b.Fatal(err)
				}
				L.Push(L.NewFunctionFromProto(proto))
				L.Call(0, 1)
				mod := L.Get(-1).(*lua.LTable)
				L.Pop(1)
				nodes := L.NewTable()
				for _, e := range benchNodes(n) {
					v, _ := ToLua(L, e.Weight)
					nodes.RawSetString(e.ID, v)
				}
				L.Push(L.GetField(mod, "new"))
				L.Push(mod)
				L.Push(nodes)
				L.Call(2, 1)
				bal := L.Get(-1)
				L.Pop(1)
				find := L.GetField(bal, "find")
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					L.Push(find)
					L.Push(bal)
					L.Call(1, 1)
					L.Pop(1)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "finds/s")
			})
		}
	}
}

// benchNodes returns n nodes with weights 1..n, ids as the LuaJIT driver's.
func benchNodes(n int) []weights.Entry {
	nodes := make([]weights.Entry, n)
	for i := range nodes {
		k := i + 1
		nodes[i] = weights.Entry{ID: fmt.Sprintf("10.0.%d.%d:80", k/256, k%256), Weight: weights.Int(int64(k))}
	}
	return nodes
}
