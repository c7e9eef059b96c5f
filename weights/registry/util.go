package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// get is Raw.Get without the flag.
func get(r weights.Raw, key string) weights.Raw {
	v, _ := r.Get(key)
	return v
}

// field returns the first member of r named by one of names (a registry's
// spellings of one field, such as proto3 JSON's "lb_endpoints" and
// "lbEndpoints"), and the name found.
func field(r weights.Raw, names ...string) (weights.Raw, string, bool) {
	if len(names) == 1 {
		// One spelling, the most common call: no loop over the names per
		// member (under a fuzzing build each loop test calls a hook).
		n := names[0]
		for _, m := range r.Members {
			if m.Key == n {
				return m.Value, n, true
			}
		}
		return weights.Raw{}, "", false
	}
	for _, m := range r.Members {
		for _, n := range names {
			if m.Key == n {
				return m.Value, n, true
			}
		}
	}
	return weights.Raw{}, "", false
}

// weightOf returns the weight member of obj among names. A weight sent twice
// with different values is a problem: JSON decoders disagree on which one
// wins (Go's encoding/json takes the last), so the entry is malformed.
func weightOf(obj weights.Raw, names ...string) (weights.Raw, string) {
	var (
		first weights.Raw
		found bool
	)
	one := len(names) == 1 // the most common call: no loop over the names per member
	for _, m := range obj.Members {
		if one {
			if m.Key != names[0] {
				continue
			}
		} else if !slices.Contains(names, m.Key) {
			continue
		}
		if !found {
			first, found = m.Value, true
		} else if m.Value.String() != first.String() {
			return first, fmt.Sprintf("the weight is sent twice, as %s and %s; decoders differ on which one wins", first, m.Value)
		}
	}
	return first, ""
}

// text returns a string member's value.
func text(r weights.Raw, names ...string) (string, bool) {
	v, _, ok := field(r, names...)
	if !ok || v.Kind != weights.KindString {
		return "", false
	}
	return v.Text, true
}

// flag reads a boolean that a registry may send as a JSON bool or as the
// string "true"/"false" (Eureka). def is used when it is absent or null.
func flag(r weights.Raw, def bool) (bool, bool) {
	switch r.Kind {
	case weights.KindAbsent, weights.KindNull:
		return def, true
	case weights.KindBool:
		return r.Bool, true
	case weights.KindString:
		switch strings.ToLower(r.Text) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return def, false
}

// port reads a port sent as a JSON number or a decimal string (Eureka's "$",
// proto3 JSON), 1 to 65535.
func port(r weights.Raw) (int, string) {
	var s string
	switch r.Kind {
	case weights.KindAbsent:
		return 0, "no port"
	case weights.KindNumber, weights.KindString:
		s = r.Text
	default:
		return 0, "port is " + r.Kind.Article() + " (" + r.String() + ")"
	}
	if f, ok := r.Float64(); ok && r.Kind == weights.KindNumber && f == float64(int(f)) {
		s = strconv.Itoa(int(f))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, "port " + r.String() + " is not a port number (1-65535)"
	}
	return n, ""
}

// hostPort joins a host and a port into a node id ("10.0.0.1:80",
// "[fd00::1]:80"). An IPv6 address, sent bare or in a pair of brackets, is
// put in brackets; any other host (one bracket without its pair included)
// is kept as sent, so that the id check sees what the registry sent and
// names it.
func hostPort(host string, p int) string {
	h := host
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") {
		if a, err := netip.ParseAddr(h); err == nil && a.Is6() {
			return net.JoinHostPort(h, strconv.Itoa(p))
		}
	}
	return host + ":" + strconv.Itoa(p)
}

// urlAddr reads "grpc://10.0.0.5:9000?isSecure=false" into its scheme and
// node id.
// (Here and in every decoder of this package, tests for the empty string
// on every instance's path are len(s) == 0, as in package weights: under a
// fuzzing build s == "" calls a comparison hook that copies s.)
func urlAddr(s string) (scheme, id, problem string) {
	u, err := url.Parse(s)
	if err != nil || len(u.Scheme) == 0 || len(u.Host) == 0 {
		return "", "", fmt.Sprintf("address %q is not scheme://host:port", s)
	}
	switch {
	case u.User != nil:
		return u.Scheme, "", fmt.Sprintf("address %q has userinfo (before @); a node is scheme://host:port", s)
	case len(u.Path) != 0 && u.Path != "/":
		return u.Scheme, "", fmt.Sprintf("address %q has a path (%s); a node is scheme://host:port", s, u.Path)
	case len(u.Fragment) != 0:
		return u.Scheme, "", fmt.Sprintf("address %q has a fragment; a node is scheme://host:port", s)
	}
	if strings.Count(u.Host, ":") > 1 && !strings.HasPrefix(u.Host, "[") {
		return u.Scheme, "", fmt.Sprintf("address %q has an IPv6 host without brackets; write scheme://[host]:port", s)
	}
	h, ps := u.Hostname(), u.Port()
	if len(h) == 0 {
		return u.Scheme, "", fmt.Sprintf("address %q has no host", s)
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n < 1 || n > 65535 {
		return u.Scheme, "", fmt.Sprintf("address %q has no valid port", s)
	}
	return u.Scheme, hostPort(h, n), ""
}

// pickURL chooses one of an instance's URLs: the first with the wanted
// scheme, or the first of all when scheme is empty. where names the field.
func pickURL(c *collector, in *instance, list weights.Raw, where string) {
	scheme := c.o.Scheme
	if list.Kind != weights.KindArray {
		in.bad = fmt.Sprintf("%s is %s, not a list of URLs", where, list.Kind.Article())
		return
	}
	var urls []string
	for _, it := range list.Items {
		if it.Kind != weights.KindString {
			in.bad = fmt.Sprintf("%s holds %s (%s), not a URL string", where, it.Kind.Article(), it)
			return
		}
		urls = append(urls, it.Text)
	}
	if len(urls) == 0 {
		in.bad = where + " is empty"
		return
	}
	for _, u := range urls {
		sch, id, problem := urlAddr(u)
		if len(scheme) != 0 && !strings.EqualFold(sch, scheme) {
			continue
		}
		if len(problem) != 0 {
			in.bad = problem
			return
		}
		in.id = id
		if len(urls) > 1 {
			c.multiURL++
		}
		return
	}
	in.bad = fmt.Sprintf("%s has no %s:// URL", where, scheme)
}

// items returns the elements of an array, or the value itself when a
// registry sends one object where it usually sends an array (Eureka), or
// nothing for null or absent.
func items(r weights.Raw) []weights.Raw {
	switch r.Kind {
	case weights.KindArray:
		return r.Items
	case weights.KindAbsent, weights.KindNull:
		return nil
	}
	return []weights.Raw{r}
}
