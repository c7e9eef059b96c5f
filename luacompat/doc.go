// Package luacompat runs Lua weighted round-robin balancers in gopher-lua,
// classifies what they do with a node set (ok, hang or error), and compares
// them with safewrr's own balancer.
//
// It carries three Lua models written for this project, embedded with
// go:embed and exported (ModelSource, Models, WriteModels) so they can also be
// loaded into LuaJIT or nginx: resty-roundrobin-2020 (lua-resty-balancer's
// resty.roundrobin before the July 2021 fix: weights used as given, a
// tail-recursive gcd), resty-roundrobin-2021 (the same with tonumber on every
// weight) and nginx-swrr (nginx's smooth weighted round robin). With Config.LuaPath
// it instead loads a module from a directory laid out like a
// lua-resty-balancer checkout's lib/.
//
// Run builds the balancer from weights.Entry values, in order, calls find()
// a number of times and reports the Outcome: OutcomeOK with the picks,
// OutcomeHang with the phase (build, inside the gcd, or pick), or OutcomeError
// with Lua's message. A built-in model counts its own steps, so its verdict
// does not depend on how busy the machine is; external code gets a wall-clock
// budget, and the gopher-lua context error is wrapped so that
// errors.Is(err, context.DeadlineExceeded) holds.
//
// The Lua state is a sandbox: only the base, table, string, math and package
// libraries, require restricted to the module directory, no os, io or debug,
// no file loading, a bounded call stack and registry, math.random seeded from
// Config.Seed, and a tonumber that reads strings the way LuaJIT does.
//
// ParseSpec reads a node set written as a Lua table literal
// ({a=10, b="0", c=0/0}), a JSON object or array, or @file; FormatSpec writes
// one back as a Lua table literal. Diff runs a Lua side and safewrr on the
// same input and compares the sequences.
package luacompat
