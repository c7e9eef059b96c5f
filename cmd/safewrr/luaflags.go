package main

import (
	"flag"
	"strings"
	"time"

	"github.com/safewrr/safewrr/luacompat"
)

// luaFlags are the flags that repro and diff share: which Lua balancer to
// run, on which nodes, and the limits that turn a run into a hang.
type luaFlags struct {
	luaPath, module, model, spec *string
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
		budget:  fs.Duration("budget", luacompat.DefaultBudget, "wall-clock budget of a --lua-path run before it counts as a hang"),
		steps:   fs.Int("steps", luacompat.DefaultStepLimit, "step limit of a built-in model before it counts as a hang"),
		picks:   fs.Int("picks", luacompat.DefaultPicks, "number of find() calls"),
		seed:    fs.Uint64("seed", 1, "seed of math.random (the resty start node)"),
		asJSON:  fs.Bool("json", false, "print one JSON object"),
	}
}
