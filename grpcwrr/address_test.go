package grpcwrr

import (
	"strings"
	"testing"
)

func TestDialProblem(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"127.0.0.1:80", ""},
		{"[::1]:443", ""},
		{"backend-1.example:8080", ""},
		{"localhost:50051", ""},
		{"unixy:80", ""},
		{"unix:80", `starts with "unix:", which gRPC reads as a scheme`},
		{"UNIX:80", `starts with "UNIX:"`},
		{"unix-abstract:80", `starts with "unix-abstract:"`},
		{"vsock:80", `starts with "vsock:"`},
		{"dns:80", `starts with "dns:"`},
		{"passthrough:443", `starts with "passthrough:"`},
		{"unix:/run/x.sock", "has a path"},
		{"unix:///run/x.sock", "has a scheme (unix://)"},
		{"unix-abstract:name", `port "name" is not a number`},
		{"vsock:2:80", "looks like IPv6 without brackets"},
		{"dns:///x.example:80", "has a scheme (dns://)"},
		{"/run/x.sock", "has a path"},
		{"x.sock", "has no port"},
		{"web-1", "has no port"},
		{"user@10.0.0.1:80", "userinfo"},
		{"10.0.0.1:0", "not a port number"},
		{"", "id is empty"},
	} {
		got := dialProblem(c.addr)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("dialProblem(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}
