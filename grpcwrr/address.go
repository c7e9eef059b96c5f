package grpcwrr

import (
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/resolver"

	"github.com/safewrr/safewrr/weights"
)

// nonTCP are the host names that grpc-go, or gRPC elsewhere, reads as a
// scheme when an address starts with them: grpc-go dials "unix:80" as the
// Unix socket "80" in the working directory.
var nonTCP = map[string]bool{"unix": true, "unix-abstract": true, "vsock": true}

// dialProblem says why addr is not an address grpc-go dials over TCP, or ""
// when it is. addr must be host:port with a port 1-65535 and a host that is
// an IP literal (IPv6 in brackets) or a DNS name, the rules of the registry
// decoders and of "safewrr proxy" (weights.ParseAddress); so a scheme ("unix:///run/x.sock"), a
// path, userinfo, a query or a fragment is refused. Its host must not be
// one that gRPC reads as a scheme: "unix", "unix-abstract", "vsock", or the
// scheme of a resolver registered with grpc-go ("dns", "passthrough", ...),
// compared without regard to case.
func dialProblem(addr string) string {
	if _, err := weights.ParseAddress(addr); err != nil {
		var ie *weights.IDError
		if errors.As(err, &ie) {
			return ie.Detail
		}
		return err.Error()
	}
	host, _, _ := strings.Cut(addr, ":")
	if h := strings.ToLower(host); nonTCP[h] || resolver.Get(h) != nil {
		return "the address starts with " + strconv.Quote(host+":") + ", which gRPC reads as a scheme, not as a TCP host:port"
	}
	return ""
}

// canonical returns addr in the canonical form of weights.ParseAddress
// (lower-case names, RFC 5952 IPv6, IPv4-mapped IPv6 as IPv4), or addr as
// it is when it is not an address.
func canonical(addr string) string {
	if c, err := weights.ParseAddress(addr); err == nil {
		return c
	}
	return addr
}
