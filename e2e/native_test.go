//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// simulateSmooth runs `safewrr simulate --algo smooth` and returns its
// sequence of node ids.
func simulateSmooth(t *testing.T, spec string, picks int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, safewrrBin, "simulate", "--nodes", spec, "--algo", "smooth",
		"--picks", fmt.Sprint(picks), "--json").Output()
	if err != nil {
		t.Fatalf("safewrr simulate: %v", err)
	}
	var res struct {
		Sequence []string `json:"sequence"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("safewrr simulate --json: %v\n%s", err, out)
	}
	return res.Sequence
}

// TestNginxUpstreamOrderMatchesSmooth checks that nginx's own weighted round
// robin (an upstream block with server ... weight=N lines, no Lua) hits the
// backends in the order `safewrr simulate --algo smooth` predicts for the
// same weights in the same order. nginx keeps the round-robin state per
// worker, so the test runs one worker and sends requests one at a time on
// fresh connections.
func TestNginxUpstreamOrderMatchesSmooth(t *testing.T) {
	tests := [][]int{
		{5, 1, 1},
		{5, 3, 2},
		{1, 1, 1},
		{7, 4, 2, 1},
		{100, 1},
	}
	for _, ws := range tests {
		name := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ws)), ","), "[]")
		t.Run("weights="+name, func(t *testing.T) {
			names := []string{"A", "B", "C", "D"}[:len(ws)]
			bs, log := startBackends(t, names...)
			var servers, spec []string
			total := 0
			for i, b := range bs {
				servers = append(servers, fmt.Sprintf("    server %s weight=%d;", b.addr(), ws[i]))
				spec = append(spec, fmt.Sprintf("%q: %d", names[i], ws[i]))
				total += ws[i]
			}
			n := startNginx(t, `
  upstream native {
`+strings.Join(servers, "\n")+`
  }
  server {
    listen 127.0.0.1:{{PORT}};
    location / { proxy_pass http://native; }
  }
`, nil)
			picks := min(3*total, 600)
			serveAll(t, n.url("/"), picks)
			got := log.take()
			want := simulateSmooth(t, "{"+strings.Join(spec, ", ")+"}", picks)
			if !slices.Equal(got, want) {
				t.Fatalf("nginx order differs from safewrr simulate --algo smooth:\nnginx    %v\nsimulate %v", head(got, 40), head(want, 40))
			}
			t.Logf("weights %v: %d picks in the same order, starting %v", ws, picks, head(got, 12))
		})
	}
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }
