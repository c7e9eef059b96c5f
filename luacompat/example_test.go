package luacompat_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/safewrr/safewrr/luacompat"
)

// Run loads a module from a directory laid out like a lua-resty-balancer
// checkout's lib/ (here a test module shaped like resty.roundrobin before
// the fix). Under LuaJIT 1 % 1.56e-317 is -inf, so the gcd never reaches 0;
// the rewrite gives the loaded code that arithmetic, and the step limit
// stops the loop.
func ExampleRun_luaPath() {
	nodes, err := luacompat.ParseSpec(`{a=1, b=1.56e-317}`)
	if err != nil {
		panic(err)
	}
	res, err := luacompat.Run(context.Background(), luacompat.Config{
		LuaPath:   "testdata/upstream",
		Nodes:     nodes,
		StepLimit: 10_000,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Outcome, res.Phase, res.Message)
	fmt.Println(errors.Is(res.Err, luacompat.ErrStepLimit), res.Steps > res.StepLimit)
	// Output:
	// hang build step limit reached in build
	// true true
}

// Run replays the incident on the model of resty.roundrobin before the fix.
func ExampleRun() {
	res, err := luacompat.Run(context.Background(), luacompat.Config{
		Model: luacompat.Resty2020,
		Nodes: luacompat.IncidentNodes(), // 10.0.0.3:80 = 10, 10.0.0.4:80 = "0"
		Trace: 3,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Outcome, res.Phase, res.Order)
	for _, call := range res.Trace {
		fmt.Println(call)
	}
	// Output:
	// hang build [10.0.0.3:80 10.0.0.4:80]
	// _gcd(10, "0")
	// _gcd("0", nan)
	// _gcd(nan, nan)
}

// The fixed model serves the incident's input; the other order makes the
// old model raise an error instead of hanging.
func ExampleRun_outcomes() {
	ctx := context.Background()
	fixed, _ := luacompat.Run(ctx, luacompat.Config{Model: luacompat.Resty2021, Nodes: luacompat.IncidentNodes(), Picks: 3})
	fmt.Println(fixed.Outcome, fixed.Picks)

	nodes, _ := luacompat.ParseSpec(`{["10.0.0.4:80"]="0", ["10.0.0.3:80"]=10}`)
	old, _ := luacompat.Run(ctx, luacompat.Config{Model: luacompat.Resty2020, Nodes: nodes})
	fmt.Println(old.Outcome, old.Phase)
	// Output:
	// ok [10.0.0.3:80 10.0.0.3:80 10.0.0.3:80]
	// error build
}

func ExampleParseSpec() {
	nodes, err := luacompat.ParseSpec(`{a=10, b="0", c=0/0, ["10.0.0.1:80"]=-1/0}`)
	if err != nil {
		panic(err)
	}
	for _, n := range nodes {
		fmt.Printf("%s: %s %s\n", n.ID, n.Weight.Kind, n.Weight)
	}
	fmt.Println(luacompat.FormatSpec(nodes))
	// Output:
	// a: number 10
	// b: string "0"
	// c: number NaN
	// 10.0.0.1:80: number -Inf
	// {a=10, b="0", c=0/0, ["10.0.0.1:80"]=-1/0}
}

// Diff compares the Lua balancer with safewrr's on the same input.
func ExampleDiff() {
	nodes, _ := luacompat.ParseSpec(`{a=5, b=1, c=1}`)
	res, err := luacompat.Diff(context.Background(), luacompat.DiffConfig{
		Lua: luacompat.Config{Model: luacompat.NginxSWRR, Nodes: nodes, Picks: 7},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Verdict, res.Lua.Picks)

	res, _ = luacompat.Diff(context.Background(), luacompat.DiffConfig{
		Lua: luacompat.Config{Model: luacompat.Resty2020, Nodes: luacompat.IncidentNodes()},
	})
	fmt.Println(res.Verdict, res.Go.Report.Rejected[0].Reason, res.Go.Picks[:2])
	// Output:
	// same [a a b a c a a]
	// safe string-zero [10.0.0.3:80 10.0.0.3:80]
}
