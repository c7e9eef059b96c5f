package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reproExitCase is a module (resty/roundrobin.lua, written by setup) and the
// exit code repro --lua-path and diff must give it.
type reproExitCase struct {
	name  string
	setup func(t *testing.T, dir string) // writes DIR/resty/roundrobin.lua or leaves it out
	want  int
}

func writeModule(src string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "resty", "roundrobin.lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const exitModuleTail = `
return {new = function(self, nodes) return setmetatable({}, {__index = {find = function() return "a" end}}) end}`

func reproExitCases() []reproExitCase {
	return []reproExitCase{
		// The checked Lua's own failures, in any phase: exit 1.
		{"error at top level", writeModule(`error("broken at load")` + exitModuleTail), exitRejected},
		{"memory limit at top level", writeModule(`local t = {} for i = 1, 3e8 do t[i] = i end` + exitModuleTail), exitRejected},
		{"step limit at top level", writeModule(`while true do end` + exitModuleTail), exitRejected},
		{"syntax error", writeModule(`local = 1` + exitModuleTail), exitRejected},
		{"returns no table", writeModule(`return 42`), exitRejected},
		{"required module raises", func(t *testing.T, dir string) {
			writeModule(`require "resty.helper"`+exitModuleTail)(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "resty", "helper.lua"), []byte(`error("helper broken")`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitRejected},
		{"error in new", writeModule(`return {new = function() error("broken in new") end}`), exitRejected},
		{"serves", writeModule(exitModuleTail), exitOK},
		// The module's file cannot be found or read: exit 2.
		{"missing", func(t *testing.T, dir string) {}, exitUsage},
		{"not a regular file", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "resty", "roundrobin.lua"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, exitUsage},
		{"too large", writeModule("-- " + strings.Repeat("x", 1<<20) + exitModuleTail), exitUsage},
		{"bytecode", writeModule("\x1bLJ\x02"), exitUsage},
	}
}

// testReproExitCodes runs every case through repro --lua-path and diff under
// engine: 1 for whatever the module's own code does wrong, 2 only when its
// file cannot be found or read, and the stderr "cannot load" line with it.
func testReproExitCodes(t *testing.T, engine string) {
	for _, tc := range reproExitCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			for _, cmd := range []string{"repro", "diff"} {
				for _, asJSON := range []bool{false, true} {
					args := []string{cmd, "--engine", engine, "--lua-path", dir, "--nodes", `{a=1, b=2}`, "--steps", "100000"}
					if asJSON {
						args = append(args, "--json")
					}
					code, _, errOut := runCLI(t, args...)
					want := tc.want
					if cmd == "diff" && want == exitOK {
						want = exitRejected // the module always picks a: the verdict is differ
					}
					if code != want {
						t.Errorf("%s: exit %d, want %d; stderr %q", strings.Join(args, " "), code, want, errOut)
					}
					if got := strings.Contains(errOut, "cannot load"); got != (tc.want == exitUsage) {
						t.Errorf("%s: stderr %q says cannot load: %v, want %v", strings.Join(args, " "), errOut, got, tc.want == exitUsage)
					}
				}
			}
		})
	}
}

func TestReproExitCodes(t *testing.T) { testReproExitCodes(t, "gopher-lua") }
