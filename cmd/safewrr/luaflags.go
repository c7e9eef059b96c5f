package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/safewrr/safewrr/luacompat"
)

// luaFlags are the flags that repro and diff share: which Lua balancer to
// run, on which nodes, and the limits that turn a run into a hang.
type luaFlags struct {
	luaPath, module, model, spec *string
	engine                       *string
	budget                       *time.Duration
	steps, picks                 *int
	seed                         *uint64
	asJSON                       *bool
}

// addLuaFlags defines the shared flags on fs. defaultModel names the model
// used when neither --model nor --lua-path is given ("" when there is none).
func addLuaFlags(fs *flag.FlagSet, defaultModel string) luaFlags {
	modelHelp := "built-in model: " + strings.Join(luacompat.Models(), ", ")
	if defaultModel != "" {
		modelHelp = "built-in model (default " + defaultModel + "): " + strings.Join(luacompat.Models(), ", ")
	}
	return luaFlags{
		luaPath: fs.String("lua-path", "", "directory holding the Lua module, like lua-resty-balancer's `lib/`"),
		module:  fs.String("module", luacompat.DefaultModule, "Lua module to load from --lua-path"),
		model:   fs.String("model", "", modelHelp),
		spec:    fs.String("nodes", "", "the node set: Lua table literal, JSON object, or @file"),
		budget:  fs.Duration("budget", luacompat.DefaultBudget, "far-off wall-clock safety net of a --lua-path run (verdicts come from --steps)"),
		steps:   fs.Int("steps", luacompat.DefaultStepLimit, "step limit before a run counts as a hang (raised to what valid weights of the node set need)"),
		picks:   fs.Int("picks", luacompat.DefaultPicks, "number of find() calls"),
		seed:    fs.Uint64("seed", 1, "seed of math.random (the resty start node)"),
		asJSON:  fs.Bool("json", false, "print one JSON object"),
		engine:  fs.String("engine", luacompat.EngineGopherLua, "Lua engine: gopher-lua (in process) or luajit (the luajit binary, a co-process)"),
	}
}

// luaPathHint says where the module is when --lua-path names a checkout's
// root instead of its lib/: DIR has no resty/roundrobin.lua but
// DIR/lib/resty/roundrobin.lua exists. It returns "" otherwise.
func luaPathHint(dir, module string) string {
	if dir == "" {
		return ""
	}
	if module == "" {
		module = luacompat.DefaultModule
	}
	rel := filepath.FromSlash(strings.ReplaceAll(module, ".", "/")) + ".lua"
	if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
		return ""
	}
	lib := filepath.Join(dir, "lib")
	if st, err := os.Stat(filepath.Join(lib, rel)); err == nil && st.Mode().IsRegular() {
		return fmt.Sprintf("%s has no %s, but %s does: use --lua-path %s", dir, rel, filepath.Join(lib, rel), lib)
	}
	return ""
}

// moduleUnreadable reports whether a run's error in load came from a module
// that could not be found or read (exit 2), as opposed to an error or limit
// in the module's own code, a syntax error included (exit 1).
func moduleUnreadable(res luacompat.Result, cfg luacompat.Config) bool {
	if res.Outcome != luacompat.OutcomeError || res.Phase != luacompat.PhaseLoad {
		return false
	}
	return luacompat.CheckModule(cfg) != nil
}
