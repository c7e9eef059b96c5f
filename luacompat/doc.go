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
// with Lua's message. Verdicts come from step counts, never from the clock:
// a built-in model counts its own steps, and a module loaded from a
// directory is compiled from a rewritten syntax tree that counts every
// function entry, loop iteration and goto label (transform.go), while the
// built-in functions it may call charge for their work and for the memory
// they build. A far-off wall-clock safety net remains for loaded modules; a
// run it stops is a hang whose Err satisfies
// errors.Is(err, context.DeadlineExceeded).
//
// The Lua state is a sandbox: only the base, table, string, math and package
// libraries, require restricted to the module directory, no os, io or debug,
// no file loading, a bounded call stack and registry, math.random seeded from
// Config.Seed, and a tonumber that reads strings the way LuaJIT does.
// loadstring and load compile source (never bytecode) through the same
// rewrite as a module file, and every state carries Config.Budget as its
// context. What a run returns is bounded (MaxIDLength, MaxPickBytes,
// MaxMessageLength). Under EngineLuaJIT the module runs in an environment
// built from an allowlist, the driver answers on a file descriptor of its own
// with a per-run nonce, module files are read and checked here and handed
// over, and the co-process runs with resource limits in a process group of
// its own. The repository's docs/lua-sandbox.md states what each engine
// guarantees against a hostile module.
//
// # gopher-lua and LuaJIT
//
// The engine that ran the incident is LuaJIT (OpenResty's branch, in
// ngx_lua). Where gopher-lua differs in a way that changes a verdict, the
// harness or the models make up for it, and an end-to-end test (build tag
// e2e) runs the same model files under the luajit binary and requires the
// same outcome, phase, order and picks for every seed and for hundreds of
// random typed node sets:
//
//   - a % b: gopher-lua uses C's fmod, Lua 5.1 and LuaJIT a - floor(a/b)*b;
//     they differ when b is ±inf (10 % math.huge is 10 against nan), which
//     would move some inf inputs from a build-phase hang to a pick-phase
//     one. The models spell out Lua 5.1's definition.
//   - strings as numbers: gopher-lua's tonumber rejects "1e2", "inf" and
//     "nan", and its arithmetic reads "017" as octal and accepts "1_0".
//     The sandbox's tonumber reads strings as LuaJIT does (OpenResty's
//     LuaJIT also reads binary integers such as "0b101"), and the
//     models coerce arithmetic operands through it. A module loaded from
//     Config.LuaPath gets the same through the rewrite of its syntax tree,
//     which also gives it Lua 5.1's % and LuaJIT's number formatting in ..
//     and tostring.
//   - iteration order: gopher-lua walks a table in insertion order; LuaJIT
//     in hash order, with a string hash seeded at random for every Lua state
//     (every nginx worker), so the same node set can hang one worker and
//     raise an error in another. Result.Order reports the order used.
//   - tail calls: both engines reuse the frame, so the incident's _gcd
//     loops forever rather than overflowing the stack (a test holds
//     gopher-lua to it); non-tail recursion overflows in both.
//   - messages and tostring differ ("nan" against "NaN"): verdicts compare
//     outcome and phase, and traces are written by FormatValue.
//
// ParseSpec reads a node set written as a Lua table literal
// ({a=10, b="0", c=0/0}), a JSON object or array, or @file; FormatSpec writes
// one back as a Lua table literal. Diff runs a Lua side and safewrr on the
// same input and compares the sequences.
package luacompat
