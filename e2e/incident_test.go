//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/safewrr/safewrr/luacompat"
)

// luaNginx starts nginx with a balancer_by_lua_block that balances over
// the nodes of the registry file reg with one of the team's Lua models
// (resty.roundrobin's new() and find()), rebuilt when the file changes.
func luaNginx(t *testing.T, reg, model string) *nginx {
	t.Helper()
	reader, err := os.ReadFile(filepath.Join("testdata", "registry.lua"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := luacompat.ModelSource(model)
	if err != nil {
		t.Fatal(err)
	}
	return startNginx(t, fmt.Sprintf(`
  lua_package_path "{{DIR}}/lua/?.lua;;";
  init_by_lua_block { require("registry").init(%q, %q) }
  upstream backends {
    server 0.0.0.1;   # placeholder: balancer_by_lua picks the peer
    balancer_by_lua_block { require("registry").balance() }
  }
  server {
    listen 127.0.0.1:{{PORT}};
    location / {
      access_by_lua_block { require("registry").refresh() }
      proxy_pass http://backends;
      proxy_connect_timeout 2s;
      proxy_read_timeout 5s;
    }
  }
`, reg, model), map[string]string{
		"lua/registry.lua":      string(reader),
		"lua/" + model + ".lua": string(src),
	})
}

// isTimeout reports whether err is a client timeout.
func isTimeout(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// serveAll sends n sequential GETs and fails the test unless every one is
// answered 200 by a backend; it returns how many each backend served.
func serveAll(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	c := client(5*time.Second, false)
	got := map[string]int{}
	for i := 0; i < n; i++ {
		code, body, err := get(c, url)
		if err != nil || code != 200 {
			t.Fatalf("request %d to %s: status %d body %.80q error %v", i, url, code, body, err)
		}
		got[body]++
	}
	return got
}

// TestIncidentNginx replays the 2021-07-13 incident in real nginx: with the
// resty-roundrobin-2020 model in balancer_by_lua, the registry flipping one
// weight to the string "0" makes the worker spin in the gcd (requests time
// out, the worker's CPU is near 100%); the same flip through safewrr proxy
// serves every request.
func TestIncidentNginx(t *testing.T) {
	bs, _ := startBackends(t, "A", "B", "C")
	reg := filepath.Join(tempDir(t), "registry.json")
	valid := registryMap(bs, "10", "5", "5")
	flip := registryMap(bs, "10", "5", `"0"`)

	t.Run("nginx resty-roundrobin-2020 hangs", func(t *testing.T) {
		// LuaJIT randomises string hashing per process, so the order in
		// which new() meets the nodes changes with every nginx start. When
		// "0" comes first, the gcd ends and the next comparison raises
		// "attempt to compare" (a 500, not a hang); any other order loops
		// forever. Restart nginx until the order is a hanging one.
		const maxStarts = 8
		for start := 1; start <= maxStarts; start++ {
			writeFile(t, reg, valid)
			n := luaNginx(t, reg, luacompat.Resty2020)
			serveAll(t, n.url("/"), 20)
			worker := n.worker(t)

			writeFile(t, reg, flip)
			c := client(time.Second, false)
			code, _, err := get(c, n.url("/"))
			if err == nil {
				t.Logf("nginx start %d: the flip answered %d (new() met \"0\" first and raised an error); restarting nginx", start, code)
				if code == 200 {
					t.Fatalf("nginx start %d: a request after the flip was served, want a hang or an error", start)
				}
				n.proc.kill(t)
				continue
			}
			if !isTimeout(err) {
				t.Fatalf("request after the flip: %v, want a timeout", err)
			}
			// The worker is stuck in new(): every further request times out
			// too. Its CPU time over those requests shows the spin.
			ticks0, _, err := cpuTicks(worker)
			if err != nil {
				t.Fatal(err)
			}
			run0, wait0, err := schedStat(worker)
			if err != nil {
				t.Fatal(err)
			}
			wall0 := time.Now()
			for i := 0; i < 2; i++ {
				if _, _, err := get(c, n.url("/")); !isTimeout(err) {
					t.Fatalf("request %d while the worker spins: %v, want a timeout", i, err)
				}
			}
			ticks1, state, err := cpuTicks(worker)
			if err != nil {
				t.Fatal(err)
			}
			run1, wait1, err := schedStat(worker)
			if err != nil {
				t.Fatal(err)
			}
			wall := time.Since(wall0).Seconds()
			cpu := float64(ticks1-ticks0) / userHZ / wall
			runnable := float64(run1-run0+wait1-wait0) / 1e9 / wall
			t.Logf("nginx start %d: requests time out; worker %d state %s, CPU %.0f%% (utime+stime), runnable %.0f%% (on a CPU or waiting for one) over %.1fs",
				start, worker, state, 100*cpu, 100*runnable, wall)
			// On a quiet machine the spin shows as ~100% CPU. On a busy one
			// (other work on the same cores) its CPU share drops, but it is
			// runnable all the time: on a CPU or queued for one, never
			// waiting for I/O like an idle worker.
			if runnable < 0.9 {
				t.Errorf("worker runnable %.0f%% of the time while requests time out, want ~100%%", 100*runnable)
			}
			if ticks1 == ticks0 {
				t.Errorf("worker used no CPU while requests time out")
			}
			if state != "R" {
				t.Errorf("worker state %q, want R (running)", state)
			}
			n.proc.kill(t) // SIGKILL: a worker spinning in Lua never reads SIGTERM
			return
		}
		t.Fatalf("in %d nginx starts new() never met the nodes in a hanging order", maxStarts)
	})

	t.Run("safewrr proxy serves", func(t *testing.T) {
		writeFile(t, reg, valid)
		p := startSafewrrProxy(t, reg, "--poll", "1h")
		serveAll(t, p.url("/"), 20)
		writeFile(t, reg, flip)
		st := p.pollNow(t)
		if len(st.Rejects) != 1 || st.Rejects[0].Reason != "string-zero" || st.Rejects[0].ID != bs[2].addr() {
			t.Fatalf("rejects after the flip: %+v, want C as string-zero", st.Rejects)
		}
		got := serveAll(t, p.url("/"), 300)
		if got["C"] != 0 || got["A"] != 200 || got["B"] != 100 {
			t.Fatalf("after the flip: %v, want A=200 B=100 and nothing for C", got)
		}
		p.stop(t)
	})
}

// TestFixedModelNginxServes: with the resty-roundrobin-2021 model (weights
// go through tonumber), the same flip drains C and nginx keeps serving.
func TestFixedModelNginxServes(t *testing.T) {
	bs, _ := startBackends(t, "A", "B", "C")
	reg := filepath.Join(tempDir(t), "registry.json")
	writeFile(t, reg, registryMap(bs, "10", "5", "5"))
	n := luaNginx(t, reg, luacompat.Resty2021)
	before := serveAll(t, n.url("/"), 200)
	if before["A"] != 100 || before["B"] != 50 || before["C"] != 50 {
		t.Errorf("before the flip: %v, want A=100 B=50 C=50", before)
	}
	writeFile(t, reg, registryMap(bs, "10", "5", `"0"`))
	after := serveAll(t, n.url("/"), 150)
	if after["C"] != 0 || after["A"]+after["B"] != 150 {
		t.Errorf("after the flip: %v, want every request on A and B", after)
	}
	t.Logf("resty-roundrobin-2021 in nginx: before %v, after the flip %v", before, after)
}
