//go:build e2e

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReproLuaJITRuns: --engine luajit --runs N starts a new luajit process
// per run; over 40 runs the incident's two nodes are met in both orders,
// each with its own verdict (a hang with 10 first, an error with "0" first),
// and the counts add up to the runs; the exit code is 1.
func TestReproLuaJITRuns(t *testing.T) {
	args := []string{"repro", "--engine", "luajit", "--lua-path", "../../luacompat/testdata/upstream", "--nodes", `{a=10, b="0"}`, "--runs", "40", "--steps", "5000", "--json"}
	code, out, errOut := runCLI(t, args...)
	if code != exitRejected { // the module hangs or fails in every process
		t.Fatalf("exit %d, want %d, stderr %q", code, exitRejected, errOut)
	}
	var got struct {
		Engine string `json:"engine"`
		Runs   []struct {
			Order   []string `json:"order"`
			Outcome string   `json:"outcome"`
			Where   string   `json:"where"`
			Count   int      `json:"count"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Engine != "luajit" {
		t.Errorf("engine %q", got.Engine)
	}
	total := 0
	verdicts := map[string]string{}
	for _, r := range got.Runs {
		total += r.Count
		verdicts[strings.Join(r.Order, ",")] = r.Outcome + "/" + r.Where
	}
	if total != 40 {
		t.Errorf("counts add up to %d, want 40", total)
	}
	if verdicts["a,b"] != "hang/build" || verdicts["b,a"] != "error/build" || len(verdicts) != 2 {
		t.Errorf("verdicts by order = %v, want a,b hang/build and b,a error/build", verdicts)
	}
	// The text form lists the same.
	code, text, _ := runCLI(t, args[:len(args)-1]...)
	if code != exitRejected || !strings.Contains(text, "runs:    40 luajit processes") || !strings.Contains(text, "order a, b: HANG (build)") {
		t.Errorf("text form: exit %d\n%s", code, text)
	}
}

// TestReproExitCodesLuaJIT: the exit codes of TestReproExitCodes hold under
// luajit too.
func TestReproExitCodesLuaJIT(t *testing.T) { testReproExitCodes(t, "luajit") }
