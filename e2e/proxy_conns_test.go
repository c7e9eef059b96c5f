//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestProxyMaxConnsIdleDoNotLockOut: with --max-conns 4 held by one
// client's idle keep-alive connections, and the idle timeout far away, a
// new client's request through safewrr proxy is answered (an idle
// connection is closed to make room), and CONNECT is answered 405.
func TestProxyMaxConnsIdleDoNotLockOut(t *testing.T) {
	bs, _ := startBackends(t, "a")
	reg := filepath.Join(tempDir(t), "registry.json")
	writeFile(t, reg, fmt.Sprintf(`{%q: 1}`, bs[0].addr()))
	p := startSafewrrProxy(t, reg, "--poll", "0", "--max-conns", "4", "--keepalive-timeout", "1h")
	deadline := time.Now().Add(60 * time.Second) // a bound for a broken proxy, not a measure
	request := func(c net.Conn, br *bufio.Reader, payload string) int {
		t.Helper()
		if _, err := io.WriteString(c, payload); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: no answer: %v", payload, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(deadline)
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	for range 4 {
		c, br := dial()
		if code := request(c, br, get); code != 200 {
			t.Fatalf("holding connection: %d", code)
		}
	}
	for range 6 {
		c, br := dial()
		if code := request(c, br, get); code != 200 {
			t.Fatalf("a new client at the limit: %d", code)
		}
	}
	c, br := dial()
	if code := request(c, br, "CONNECT "+bs[0].addr()+" HTTP/1.1\r\nHost: "+bs[0].addr()+"\r\n\r\n"); code != http.StatusMethodNotAllowed {
		t.Fatalf("CONNECT: %d, want 405", code)
	}
}
