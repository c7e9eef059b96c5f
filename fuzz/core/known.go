package core

import (
	"net/netip"
	"strconv"
	"strings"
)

// Known findings: bugs the targets found that are reported and not fixed
// yet. An input that reproduces one is not reported again, so that
// campaigns, and CI's short runs, look for new ones (go-fuzz's
// suppressions do the same). Each is as narrow as the bug, and
// TestKnownFindings checks that it still reproduces: when the bug is
// fixed, that test fails and the entry goes.

// knownStrayBracket: a registry decoder joins a host holding an IPv6
// literal with one bracket, "[fd00::1" or "fd00::1]", and its port as if
// the host were well-formed, "[fd00::1]:80", instead of rejecting it as
// it rejects "10.0.0.1]" (weights/registry hostPort trims each bracket on
// its own). It reports whether id is that repair of n's address.
func knownStrayBracket(n typedNode, id string) bool {
	h := n.host
	if strings.HasPrefix(h, "[") == strings.HasSuffix(h, "]") {
		return false
	}
	lit := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	a, err := netip.ParseAddr(lit)
	return err == nil && a.Is6() && id == "["+lit+"]:"+strconv.Itoa(n.port)
}
