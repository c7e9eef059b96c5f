package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/luacompat"
)

func TestReproIncident(t *testing.T) {
	code, out, errOut := runCLI(t, "repro")
	if code != exitOK {
		t.Fatalf("safewrr repro: exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"1. resty-roundrobin-2020", "HANG (build)",
		`_gcd(10, "0") → _gcd("0", nan) → _gcd(nan, nan)`,
		"2. resty-roundrobin-2021", "serves",
		"3. safewrr", "string-zero", "serving: 10.0.0.3:80",
		"Reproduced:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("safewrr repro output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NOT AS DESCRIBED") {
		t.Errorf("safewrr repro reports a deviation:\n%s", out)
	}
}

func TestReproIncidentJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "repro", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got struct {
		Outcome    string            `json:"outcome"`
		Where      string            `json:"where"`
		Message    string            `json:"message"`
		Picks      []string          `json:"picks"`
		Order      []string          `json:"order"`
		ElapsedMS  *float64          `json:"elapsed_ms"`
		Reproduced bool              `json:"reproduced"`
		Cases      []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Outcome != "hang" || got.Where != "build" || !got.Reproduced || len(got.Cases) != 3 || got.ElapsedMS == nil || got.Picks == nil {
		t.Fatalf("repro --json = %+v", got)
	}
	if strings.Join(got.Order, ",") != luacompat.IncidentGoodID+","+luacompat.IncidentBadID {
		t.Errorf("order = %q", got.Order)
	}
	if !strings.Contains(string(got.Cases[2]), `"reason": "string-zero"`) {
		t.Errorf("safewrr case = %s", got.Cases[2])
	}
}

func TestReproSingleRuns(t *testing.T) {
	dir := t.TempDir()
	src, err := luacompat.ModelSource(luacompat.Resty2020)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resty", "roundrobin.lua"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "nodes.lua")
	if err := os.WriteFile(spec, []byte(`{b="0", a=10}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		outcome string
		where   string
		message string
		code    int
	}{
		{"lua-path hang", []string{"--lua-path", dir, "--nodes", `{a=10, b="0"}`, "--steps", "5000"}, "hang", "build", "step limit", exitRejected},
		{"lua-path error", []string{"--lua-path", dir, "--nodes", "@" + spec}, "error", "build", "attempt to compare string with number", exitRejected},
		{"lua-path ok", []string{"--lua-path", dir, "--nodes", `{"a": 2, "b": 1}`}, "ok", "", "", exitOK},
		{"model hang", []string{"--model", "resty-roundrobin-2020", "--nodes", `{a=10, b=0/0}`, "--steps", "1000"}, "hang", "build", "step limit", exitRejected},
		{"model ok", []string{"--model", "nginx-swrr", "--nodes", `{a=10, b="0"}`}, "ok", "", "", exitOK},
		{"nodes only", []string{"--nodes", `{a=1, b=-2}`, "--steps", "1000"}, "hang", "pick", "step limit", exitRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"repro", "--json"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d, stderr %q", code, tt.code, errOut)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			for _, k := range []string{"outcome", "where", "message", "picks", "order", "elapsed_ms"} {
				if _, ok := got[k]; !ok {
					t.Errorf("no %q in %s", k, out)
				}
			}
			if got["outcome"] != tt.outcome || got["where"] != tt.where || !strings.Contains(got["message"].(string), tt.message) {
				t.Fatalf("got %v/%v %q, want %s/%s %q", got["outcome"], got["where"], got["message"], tt.outcome, tt.where, tt.message)
			}
			// The text form classifies the same way.
			code, text, _ := runCLI(t, append([]string{"repro"}, tt.args...)...)
			if code != tt.code || !strings.Contains(text, "outcome: ") || !strings.Contains(text, "order:") {
				t.Errorf("text form: exit %d\n%s", code, text)
			}
		})
	}
}

func TestReproUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"repro", "extra"},
		{"repro", "--lua-path", "x", "--model", "nginx-swrr"},
		{"repro", "--model", "nope"},
		{"repro", "--nodes", "{a="},
		{"repro", "--lua-path", "/nonexistent/lib"},
		{"repro", "--picks", "0"},
		{"repro", "--budget", "1s"},
		{"repro", "--model", "nginx-swrr", "--engine", "lua5.4"},
		{"repro", "--engine", "luajit"},
		{"repro", "--model", "nginx-swrr", "--runs", "3"},
		{"repro", "--model", "nginx-swrr", "--engine", "luajit", "--runs", "0"},
		{"repro", "--lua-path", ".", "--module", "no.such.module"},
		{"repro", "--lua-path", ".", "--module", "no.such.module", "--json"},
	} {
		if code, _, errOut := runCLI(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("safewrr %s: exit %d, stderr %q; want exit %d", strings.Join(args, " "), code, errOut, exitUsage)
		}
	}
}

// TestReproLuaPathCheckoutRoot: --lua-path pointed at a checkout's root (not
// its lib/) says so once, on stderr, and names the directory to use.
func TestReproLuaPathCheckoutRoot(t *testing.T) {
	root := t.TempDir()
	src, err := luacompat.ModelSource(luacompat.Resty2021)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "lib", "resty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "lib", "resty", "roundrobin.lua"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"repro", "diff"} {
		code, out, errOut := runCLI(t, cmd, "--lua-path", root, "--nodes", `{a=1, b=2}`)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d", cmd, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%s: stdout %q, want nothing (the error goes to stderr once)", cmd, out)
		}
		if n := strings.Count(errOut, "cannot load"); n != 1 {
			t.Errorf("%s: %d load errors on stderr, want 1:\n%s", cmd, n, errOut)
		}
		lib := filepath.Join(root, "lib")
		if !strings.Contains(errOut, "use --lua-path "+lib) {
			t.Errorf("%s: no hint to use %s:\n%s", cmd, lib, errOut)
		}
		// With lib/ the same run works.
		if code, _, errOut := runCLI(t, cmd, "--lua-path", lib, "--nodes", `{a=1, b=2}`); code != exitOK {
			t.Errorf("%s --lua-path %s: exit %d, stderr %q", cmd, lib, code, errOut)
		}
	}
	// No hint when lib/ does not hold the module either.
	empty := t.TempDir()
	_, _, errOut := runCLI(t, "repro", "--lua-path", empty, "--nodes", `{a=1}`)
	if strings.Contains(errOut, "use --lua-path") {
		t.Errorf("hint without a lib/ module: %q", errOut)
	}
}

// TestReproHelpAndREADMEStateTheSandbox: repro -h and the README's paragraph
// on checking your Lua make the same promises about a hostile module.
func TestReproHelpAndREADMEStateTheSandbox(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	normal := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "")), " ") }
	help, doc := normal(reproUsage), normal(string(readme))
	for _, claim := range []string{
		"regular files of at most 1 MiB, source, never bytecode",
		"os, io, debug, jit", "pcall", "loadstring", "--budget", "docs/lua-sandbox.md",
	} {
		if claim != "docs/lua-sandbox.md" && !strings.Contains(help, claim) {
			t.Errorf("repro -h does not say %q", claim)
		}
		if !strings.Contains(doc, claim) {
			t.Errorf("README does not say %q", claim)
		}
	}
}
