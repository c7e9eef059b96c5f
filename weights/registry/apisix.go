package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"net"
	"strconv"
	"strings"
)

// Apache APISIX upstream nodes come in two forms:
//
//	{"type":"roundrobin","nodes":{"10.0.0.1:80":10,"10.0.0.2:80":0}}
//	{"type":"roundrobin","nodes":[{"host":"10.0.0.1","port":80,"weight":10,"priority":0}]}
//
// alone, inside a route's "upstream", or in the Admin API's {"key":...,
// "value":{...}}. Its schema wants an integer weight ≥ 0 (required in the
// array form); 0 drains. Nodes of a lower priority are used only when every
// node of a higher one has failed. A host without a port gets the scheme's
// default port (443 for https and grpcs, 80 otherwise).
var apisixRule = rule{registry: "APISIX", prio: prioHighest}

func decodeAPISIX(c *collector, root weights.Raw) error {
	up, err := apisixUpstream(root)
	if err != nil {
		return err
	}
	scheme, _ := text(up, "scheme")
	defPort := 80
	if scheme == "https" || scheme == "grpcs" {
		defPort = 443
	}
	nodes := up
	if n, ok := up.Get("nodes"); ok {
		nodes = n
	} else if up.Kind == weights.KindObject {
		if d, _ := text(up, "discovery_type"); len(d) != 0 {
			svc, _ := text(up, "service_name")
			return shapeError(FormatAPISIX, "the upstream finds its nodes through %s discovery (service %q) at run time; decode that registry's payload instead", d, svc)
		}
	}
	switch nodes.Kind {
	case weights.KindObject:
		c.reserve(len(nodes.Members))
		for _, m := range nodes.Members {
			in := instance{where: "nodes[\"" + m.Key + "\"]", weight: m.Value}
			in.id = apisixID(&in, m.Key, defPort)
			if err := c.add(in); err != nil {
				return err
			}
		}
	case weights.KindArray:
		c.reserve(len(nodes.Items))
		for _, it := range nodes.Items {
			if err := c.add(apisixNode(it, defPort)); err != nil {
				return err
			}
		}
	case weights.KindNull:
	default:
		return shapeError(FormatAPISIX, "nodes is %s, not an object or an array", nodes.Kind.Article())
	}
	return nil
}

// apisixUpstream finds the upstream in an upstream, a route or an Admin API
// answer.
func apisixUpstream(root weights.Raw) (weights.Raw, error) {
	switch root.Kind {
	case weights.KindArray:
		return weights.Object(weights.Member{Key: "nodes", Value: root}), nil
	case weights.KindObject:
	default:
		return weights.Raw{}, shapeError(FormatAPISIX, "the payload is %s, not an upstream", root.Kind.Article())
	}
	r := root
	if v, ok := r.Get("value"); ok && v.Kind == weights.KindObject {
		r = v
	}
	if _, ok := r.Get("nodes"); ok {
		return r, nil
	}
	if u, ok := r.Get("upstream"); ok && u.Kind == weights.KindObject {
		return u, nil
	}
	if _, ok := r.Get("discovery_type"); ok {
		return r, nil
	}
	// A bare nodes object: {"host:port": weight, ...}.
	return weights.Object(weights.Member{Key: "nodes", Value: root}), nil
}

// apisixID makes a node id from an object-form key.
func apisixID(in *instance, key string, defPort int) string {
	host, ps, err := net.SplitHostPort(key)
	if strings.ContainsAny(key, " \t\r\n/?#@,;") {
		in.bad = fmt.Sprintf("node key %q is not host:port", key)
		return key
	}
	if err != nil {
		if strings.Contains(key, ":") && !strings.HasPrefix(key, "[") {
			in.bad = fmt.Sprintf("node key %q is ambiguous: an IPv6 host must be in brackets, [host]:port", key)
			return key
		}
		if len(key) == 0 {
			in.bad = fmt.Sprintf("node key %q is not host:port", key)
			return key
		}
		in.addNote(NoteAddress, weights.Raw{}, "node %q has no port; the scheme's default %d", key, defPort)
		return hostPort(key, defPort)
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n < 1 || n > 65535 || len(host) == 0 {
		in.bad = fmt.Sprintf("node key %q is not host:port", key)
		return key
	}
	return hostPort(host, n)
}

func apisixNode(it weights.Raw, defPort int) instance {
	in := instance{where: "nodes[].weight"}
	if it.Kind != weights.KindObject {
		in.bad = "node is " + it.Kind.Article() + ", not an object"
		return in
	}
	var bad string
	in.weight, bad = weightOf(it, "weight")
	in.bad = bad
	host, _ := text(it, "host")
	n := defPort
	if pr, ok := it.Get("port"); ok {
		var problem string
		n, problem = port(pr)
		if len(problem) != 0 {
			in.bad = joinDetail(in.bad, problem)
		}
	} else if len(host) != 0 {
		in.addNote(NoteAddress, weights.Raw{}, "node %q has no port; the scheme's default %d", host, defPort)
	}
	if len(host) == 0 || strings.ContainsAny(host, " \t\r\n/?#@,;") {
		in.bad = joinDetail(in.bad, fmt.Sprintf("host %q is not a host name or address", host))
	} else if len(in.bad) == 0 {
		in.id = hostPort(host, n)
	}
	if pr, ok := it.Get("priority"); ok {
		f, isNum := pr.Float64()
		if !isNum || f != float64(int64(f)) || f > 1<<31 || f < -(1<<31) {
			in.bad = joinDetail(in.bad, fmt.Sprintf("priority %s is not an integer", pr))
		} else {
			in.prio = int64(f)
		}
	}
	return in
}
