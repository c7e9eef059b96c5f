package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawExchange writes payload on a fresh connection to addr, half-closes the
// connection when halfClose is set (the client has nothing more to send),
// and returns the status of the answer, or 0 when the proxy closed the
// connection without one.
func rawExchange(t *testing.T, addr, payload string, halfClose bool) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, payload); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound for a broken proxy, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// malformedRequests are requests whose fault is the client's, each with the
// answers the proxy may give (0: the connection closed without an answer).
var malformedRequests = []struct {
	name      string
	payload   string
	halfClose bool
	want      []int // when the body is buffered (the default)
	streamed  []int // with --max-buffered-body 0
}{
	{"trailer-content-length", "GET /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 1\r\n\r\n", false,
		[]int{200, 400}, []int{200, 400}},
	{"trailer-transfer-encoding", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", false,
		[]int{200, 400}, []int{200, 400}},
	{"declared-forbidden-trailer", "PUT /t HTTP/1.1\r\nHost: x\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 1\r\n\r\n", false,
		[]int{400}, []int{400}},
	{"malformed-trailer-line", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nno colon here\r\n\r\n", false,
		[]int{400}, []int{400}},
	{"bad-chunk-size", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false,
		[]int{400}, []int{400}},
	{"chunk-size-overflow", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", false,
		[]int{400}, []int{400}},
	{"chunk-without-crlf", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", false,
		[]int{400}, []int{400}},
	{"chunked-cut-off", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true,
		[]int{0, 400}, []int{0, 400}},
	{"body-shorter-than-length", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n0123456789", true,
		[]int{0, 400}, []int{0, 400}},
	{"body-over-max-body", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100), false,
		[]int{413}, []int{413}},
	{"chunked-over-max-body", "PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + strings.Repeat("x", 100) + "\r\n0\r\n\r\n", false,
		[]int{413}, []int{413}},
	{"content-length-and-chunked", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false,
		[]int{200, 400}, []int{200, 400}}, // RFC 9112 6.3: reject, or read it chunked
	{"two-content-lengths", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false,
		[]int{400}, []int{400}},
	{"header-over-max-header-bytes", "GET /t HTTP/1.1\r\nHost: x\r\nX-Fill: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", false,
		[]int{431}, []int{431}},
	{"slow-body", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx", false,
		[]int{408}, []int{408}},
}

// TestProxyMalformedRequestsChargeNoBackend: every request whose fault is
// the client's is answered by the proxy, and no backend's failure count
// moves: nothing is ejected, and the backends go on serving.
func TestProxyMalformedRequestsChargeNoBackend(t *testing.T) {
	for _, mode := range []string{"buffered", "streamed"} {
		t.Run(mode, func(t *testing.T) {
			var reg []string
			for range 3 {
				b := startURIBackend(t)
				reg = append(reg, fmt.Sprintf("%q: 1", b.srv.Listener.Addr().String()))
			}
			file := filepath.Join(t.TempDir(), "registry.json")
			if err := os.WriteFile(file, []byte("{"+strings.Join(reg, ", ")+"}"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"--registry", file, "--poll", "0", "--eject-after", "1", "--max-body", "64", "--read-timeout", "500ms"}
			if mode == "streamed" {
				args = append(args, "--max-buffered-body", "0")
			}
			run := startProxyMain(t, args...)
			for _, tc := range malformedRequests {
				want := tc.want
				if mode == "streamed" {
					want = tc.streamed
				}
				code := rawExchange(t, run.addr, tc.payload, tc.halfClose)
				if !containsInt(want, code) {
					t.Errorf("%s: answered %d, want one of %v", tc.name, code, want)
				}
				st := adminStatus(t, run)
				if st.Failures != 0 || st.Ejections != 0 {
					t.Fatalf("%s: failures %d, ejections %d; want none: nodes %s", tc.name, st.Failures, st.Ejections, nodeStates(st))
				}
				for _, n := range st.Nodes {
					if n.State != "serving" {
						t.Fatalf("%s: node %s is %s", tc.name, n.ID, n.State)
					}
				}
				// The proxy keeps serving, on every node.
				for range 3 {
					if code := rawExchange(t, run.addr, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false); code != 200 {
						t.Fatalf("%s: a normal GET after it got %d", tc.name, code)
					}
				}
			}
			if st := adminStatus(t, run); mode == "streamed" && st.ClientErrors == 0 {
				t.Errorf("client_errors %d: the transport saw none of the client's faults", st.ClientErrors)
			}
		})
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
