//go:build e2e

package e2e

import (
	"testing"
	"time"
)

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
	ticks, state, err := cpuTicks(w)
	t.Logf("worker %d ticks %d state %s err %v", w, ticks, state, err)
}
