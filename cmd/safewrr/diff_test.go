package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		verdict string
	}{
		{"same resty", []string{"--nodes", `{a=5, b=1, c=1}`, "--picks", "14"}, exitOK, "same"},
		{"same smooth", []string{"--nodes", `{"a": 5, "b": 1, "c": 1}`, "--model", "nginx-swrr"}, exitOK, "same"},
		{"safe", []string{"--nodes", `{a=10, b="0"}`, "--model", "resty-roundrobin-2020", "--steps", "1000"}, exitRejected, "safe"},
		{"stricter", []string{"--nodes", `{a=10, b="0"}`}, exitOK, "stricter"},
		{"differ", []string{"--nodes", `{a=5, b=1, c=1}`, "--algo", "smooth"}, exitRejected, "differ"},
		{"lenient", []string{"--nodes", `{a="5", b=1, c=1}`, "--policy", "lenient"}, exitOK, "same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"diff"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, "verdict: "+tt.verdict+".") {
				t.Fatalf("exit %d (want %d), stderr %q\n%s", code, tt.code, errOut, out)
			}
			if !strings.Contains(out, "Lua (") || !strings.Contains(out, "safewrr (") {
				t.Errorf("both sides not printed:\n%s", out)
			}
			code, out, _ = runCLI(t, append([]string{"diff", "--json"}, tt.args...)...)
			var got struct {
				Verdict string         `json:"verdict"`
				Lua     map[string]any `json:"lua"`
				Safewrr map[string]any `json:"safewrr"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != tt.code || got.Verdict != tt.verdict || got.Lua["outcome"] == nil || got.Safewrr["picks"] == nil {
				t.Fatalf("--json: exit %d, %v, %+v\n%s", code, err, got, out)
			}
		})
	}
}

func TestDiffUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"diff"},
		{"diff", "--nodes", "{a=1}", "--policy", "loose"},
		{"diff", "--nodes", "{a=1}", "--algo", "random"},
		{"diff", "--nodes", "{a=1}", "--model", "nope"},
		{"diff", "--nodes", "{a=1}", "--lua-path", "/nonexistent/lib"},
		{"diff", "--nodes", "{a=}"},
		{"diff", "--nodes", "{a=1}", "--lua-path", ".", "--module", "no.such.module"},
	} {
		if code, _, errOut := runCLI(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("safewrr %s: exit %d, stderr %q; want exit %d", strings.Join(args, " "), code, errOut, exitUsage)
		}
	}
}
