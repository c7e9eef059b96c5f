package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"strings"
)

// Envoy EDS: a ClusterLoadAssignment in proto3 JSON, alone or among the
// "resources" of a DiscoveryResponse:
//
//	{"cluster_name":"web","endpoints":[{"locality":{"zone":"a"},
//	  "load_balancing_weight":3,"priority":0,"lb_endpoints":[
//	  {"endpoint":{"address":{"socket_address":{"address":"10.0.0.1","port_value":80}}},
//	   "health_status":"HEALTHY","load_balancing_weight":10}]}]}
//
// Field names may be the proto names or their lowerCamelCase JSON names.
// load_balancing_weight is a UInt32Value: unset (or null) is 1, 0 is invalid,
// and proto3 JSON accepts an integer as a string ("7"). A conforming client
// rejects the whole response when one value is invalid.
var edsRule = rule{
	registry:    "Envoy",
	strings:     true,
	parse:       protoUint32,
	def:         1,
	zeroInvalid: true,
	whole:       true,
	nullUnset:   true,
	prio:        prioLowest,
}

func decodeEDS(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindObject {
		return shapeError(FormatEDS, "the payload is %s, not an object", root.Kind.Article())
	}
	var clas []weights.Raw
	if res, ok := root.Get("resources"); ok {
		if res.Kind != weights.KindArray {
			return shapeError(FormatEDS, "resources is %s, not an array", res.Kind.Article())
		}
		for _, r := range res.Items {
			if t, _ := text(r, "@type"); len(t) != 0 && !strings.HasSuffix(t, ".ClusterLoadAssignment") {
				return shapeError(FormatEDS, "a resource of type %q, not a ClusterLoadAssignment", t)
			}
			clas = append(clas, r)
		}
	} else {
		clas = []weights.Raw{root}
	}
	for _, cla := range clas {
		if cla.Kind != weights.KindObject {
			return shapeError(FormatEDS, "a ClusterLoadAssignment is %s, not an object", cla.Kind.Article())
		}
		name, _ := text(cla, "cluster_name", "clusterName")
		if !c.service("cluster", name, false) {
			continue
		}
		if err := edsCluster(c, cla); err != nil {
			return err
		}
	}
	return nil
}

func edsCluster(c *collector, cla weights.Raw) error {
	eps, _, _ := field(cla, "endpoints")
	if eps.Kind != weights.KindArray && eps.Kind != weights.KindNull && eps.Kind != weights.KindAbsent {
		return shapeError(FormatEDS, "endpoints is %s, not an array", eps.Kind.Article())
	}
	for li, loc := range eps.Items {
		if loc.Kind != weights.KindObject {
			return shapeError(FormatEDS, "endpoints[%d] is %s, not an object", li, loc.Kind.Article())
		}
		locBad := ""
		if lw, _, ok := field(loc, "load_balancing_weight", "loadBalancingWeight"); ok && lw.Kind != weights.KindNull {
			v, reason := weights.Policy{Strings: weights.StringsDecimal}.Weight(lw)
			switch {
			case len(reason) != 0 || v == 0:
				locBad = fmt.Sprintf("the locality's load_balancing_weight %s is invalid (an integer ≥ 1 is required)", lw)
				if c.o.Convention == FollowPolicy {
					c.note(NoteIgnored, lw, "endpoints[%d]: %s; ignored", li, locBad)
					locBad = ""
				}
			default:
				c.note(NoteIgnored, lw, "endpoints[%d]: locality weight %s not applied: endpoints are weighted on their own, as Envoy does without locality_weighted_lb_config", li, lw)
			}
		}
		prio := int64(0)
		if pr, _, ok := field(loc, "priority"); ok && pr.Kind != weights.KindNull {
			v, reason := weights.Policy{Strings: weights.StringsDecimal, MaxWeight: 1 << 31}.Weight(pr)
			if len(reason) != 0 {
				return shapeError(FormatEDS, "endpoints[%d].priority %s is not an integer", li, pr)
			}
			prio = int64(v)
		}
		lbs, _, _ := field(loc, "lb_endpoints", "lbEndpoints")
		if lbs.Kind != weights.KindArray && lbs.Kind != weights.KindNull && lbs.Kind != weights.KindAbsent {
			return shapeError(FormatEDS, "endpoints[%d].lb_endpoints is %s, not an array", li, lbs.Kind.Article())
		}
		c.reserve(len(lbs.Items))
		for _, lb := range lbs.Items {
			in := edsEndpoint(lb)
			if len(in.bad) == 0 && len(locBad) != 0 {
				in.bad = locBad
			}
			in.prio = prio
			if err := c.add(in); err != nil {
				return err
			}
		}
	}
	return nil
}

func edsEndpoint(lb weights.Raw) instance {
	in := instance{where: "lb_endpoints[].load_balancing_weight"}
	if lb.Kind != weights.KindObject {
		in.bad = "lb_endpoint is " + lb.Kind.Article() + ", not an object"
		return in
	}
	var bad string
	in.weight, bad = weightOf(lb, "load_balancing_weight", "loadBalancingWeight")
	if len(bad) != 0 {
		in.bad = bad
	}
	ep, _, _ := field(lb, "endpoint")
	addr, _, _ := field(ep, "address")
	sa, _, ok := field(addr, "socket_address", "socketAddress")
	if !ok {
		if len(in.bad) == 0 {
			in.bad = "no endpoint.address.socket_address (named endpoints and pipes are not supported)"
		}
		return in
	}
	host, _ := text(sa, "address")
	pv, _, ok := field(sa, "port_value", "portValue")
	n, problem := port(pv)
	switch {
	case len(host) == 0:
		in.bad = joinDetail(in.bad, "no socket_address.address")
	case !ok:
		in.bad = joinDetail(in.bad, "no socket_address.port_value (named ports are not supported)")
	case len(problem) != 0:
		in.bad = joinDetail(in.bad, "port_value: "+problem)
	default:
		in.id = hostPort(host, n)
	}
	hs, _, _ := field(lb, "health_status", "healthStatus")
	switch s := edsHealth(hs); s {
	case "UNKNOWN", "HEALTHY":
	case "":
		in.bad = joinDetail(in.bad, fmt.Sprintf("health_status %s is not a HealthStatus", hs))
	case "DEGRADED":
		in.down = "health_status DEGRADED (Envoy uses degraded hosts only when healthy ones are short)"
	default:
		in.down = "health_status " + s
	}
	return in
}

// edsHealth names a HealthStatus sent as its name or its number ("" if
// neither); unset is UNKNOWN.
func edsHealth(r weights.Raw) string {
	names := []string{"UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"}
	switch r.Kind {
	case weights.KindAbsent, weights.KindNull:
		return "UNKNOWN"
	case weights.KindString:
		for _, n := range names {
			if r.Text == n {
				return n
			}
		}
	case weights.KindNumber:
		for i, n := range names {
			if r.Text == fmt.Sprint(i) {
				return n
			}
		}
	}
	return ""
}
