//go:build e2e

package e2e

import (
	"testing"
	"time"
)

// TestNginxSmoke checks the harness: Debian's nginx loads ngx_lua,
// ngx.balancer (lua-resty-core) sets the peer, and the worker's CPU time can
// be read from /proc.
func TestNginxSmoke(t *testing.T) {
	bs, _ := startBackends(t, "a")
	n := startNginx(t, `
  upstream dyn {
    server 0.0.0.1;
    balancer_by_lua_block {
      local b = require "ngx.balancer"
      assert(b.set_current_peer("127.0.0.1", `+itoa(bs[0].port())+`))
    }
  }
  server { listen 127.0.0.1:{{PORT}}; location / { proxy_pass http://dyn; } }
`, nil)
	c := client(2*time.Second, false)
	code, body, err := get(c, n.url("/"))
	if err != nil || code != 200 || body != "a" {
		t.Fatalf("GET = %d %q %v", code, body, err)
	}
	w := n.worker(t)
	if _, state, err := cpuTicks(w); err != nil || state == "" {
		t.Fatalf("cpuTicks(worker %d): state %q, %v", w, state, err)
	}
	if _, _, err := schedStat(w); err != nil {
		t.Fatalf("schedStat(worker %d): %v", w, err)
	}
}
