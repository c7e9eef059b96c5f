//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The hostile load of the memory test: connections that send 1 MB of a
// header line that never ends, and connections that send all but the last
// byte of a 1 MiB body and then hold the connection.
const (
	hostileHeaderConns = 300
	hostileBodyConns   = 300
	hostileSize        = 1 << 20
	maxProxyRSS        = 256 << 20 // the goal for safewrr's peak RSS
)

// memoryFigures is what one proxy did under the hostile load.
type memoryFigures struct {
	peak      int64 // bytes: VmHWM of the process (nginx: master and worker summed)
	served    int   // normal GETs answered 200 while the load was held
	tried     int
	bodyConns int // body connections still open when the GETs were sent
}

// vmField reads a "Vm...: N kB" field of /proc/PID/status in bytes.
func vmField(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// hostileLoad opens the hostile connections to addr, and while they are
// held sends normal GETs to normalURL; then it reads the peak RSS of pids.
// Every write and read has a deadline, every loop a bound.
func hostileLoad(t *testing.T, addr, normalURL string, pids []int) memoryFigures {
	t.Helper()
	fill := []byte(strings.Repeat("a", hostileSize))
	var mu sync.Mutex
	var conns, bodyConns []net.Conn
	var wg sync.WaitGroup
	open := func(head string, body []byte) {
		defer wg.Done()
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			return
		}
		mu.Lock()
		conns = append(conns, c)
		if len(body) < hostileSize {
			bodyConns = append(bodyConns, c)
		}
		mu.Unlock()
		c.SetWriteDeadline(time.Now().Add(60 * time.Second))
		io.WriteString(c, head)
		c.Write(body) // the proxy may answer and close first (431, 400): fine
	}
	for i := range hostileHeaderConns + hostileBodyConns {
		wg.Add(1)
		if i%2 == 0 {
			go open("GET /h HTTP/1.1\r\nHost: x\r\nX-Fill: ", fill)
		} else {
			go open(fmt.Sprintf("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", hostileSize), fill[:hostileSize-1])
		}
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var f memoryFigures
	// Body connections the proxy still holds: a read sees no answer yet.
	for _, c := range bodyConns[:min(len(bodyConns), 20)] {
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil && isTimeout(err) {
			f.bodyConns++
		}
	}
	c := client(30*time.Second, false)
	for range 20 {
		f.tried++
		if code, _, err := get(c, normalURL); err == nil && code == 200 {
			f.served++
		}
	}
	for _, pid := range pids {
		hwm, err := vmField(pid, "VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		f.peak += hwm
	}
	return f
}

// TestProxyMemoryUnderHostileConnections: 300 connections with 1 MB of an
// unterminated header and 300 holding 1 MiB bodies keep safewrr proxy's
// peak RSS within 256 MB with its default flags, and it goes on serving.
// nginx (one worker) takes the same load for comparison; both figures are
// printed. SAFEWRR_MEMORY_FLAGS adds flags to safewrr's command line (to
// measure without the limits, for example).
func TestProxyMemoryUnderHostileConnections(t *testing.T) {
	bs, _ := startBackends(t, "a")
	dir := tempDir(t)
	reg := filepath.Join(dir, "registry.json")
	writeFile(t, reg, fmt.Sprintf(`{%q: 1}`, bs[0].addr()))
	p := startSafewrrProxy(t, reg, append([]string{"--poll", "0"}, strings.Fields(os.Getenv("SAFEWRR_MEMORY_FLAGS"))...)...)
	safe := hostileLoad(t, p.addr, p.url("/ok"), []int{p.proc.cmd.Process.Pid})

	n := startNginxConns(t, 2048, fmt.Sprintf(`
  server {
    listen 127.0.0.1:{{PORT}};
    client_max_body_size 2m;
    location / { proxy_pass http://%s; }
  }`, bs[0].addr()))
	ng := hostileLoad(t, fmt.Sprintf("127.0.0.1:%d", n.port), n.url("/ok"), []int{n.master(), n.worker(t)})

	for _, r := range []struct {
		name string
		f    memoryFigures
	}{{"safewrr proxy", safe}, {"nginx", ng}} {
		fmt.Printf("hostile load (%d header + %d body connections): %s peak RSS %.0f MB, %d/%d normal GETs served, %d of the first 20 body connections still held\n",
			hostileHeaderConns, hostileBodyConns, r.name, float64(r.f.peak)/1e6, r.f.served, r.f.tried, r.f.bodyConns)
	}
	if safe.peak > maxProxyRSS {
		t.Errorf("safewrr proxy peak RSS %d bytes, want at most %d", safe.peak, maxProxyRSS)
	}
	if safe.served != safe.tried {
		t.Errorf("safewrr proxy served %d of %d normal GETs under the load", safe.served, safe.tried)
	}
	if safe.bodyConns == 0 {
		t.Errorf("no body connection was held: the load did not load")
	}
}

// startNginxConns is startNginx with room for more connections than the
// shared configuration's 256.
func startNginxConns(t *testing.T, conns int, server string) *nginx {
	t.Helper()
	n := startNginx(t, server, nil)
	conf := filepath.Join(n.dir, "nginx.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	bigger := strings.Replace(string(data), "worker_connections 256;", fmt.Sprintf("worker_connections %d;", conns), 1)
	if bigger == string(data) {
		t.Fatal("nginx.conf has no worker_connections 256 to raise")
	}
	writeFile(t, conf, bigger)
	// Reload: the master starts a worker with the new configuration.
	old := n.worker(t)
	if err := n.proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nginx to replace its worker", 20*time.Second, 20*time.Millisecond, func() bool {
		pids := childPIDs(n.master())
		return len(pids) == 1 && pids[0] != old
	})
	return n
}
