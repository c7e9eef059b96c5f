package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

// Nacos /nacos/v1/ns/instance/list answers
//
//	{"name":"DEFAULT_GROUP@@svc","cacheMillis":10000,"reachProtectionThreshold":false,
//	 "hosts":[{"ip":"10.0.0.1","port":8080,"weight":1.0,"healthy":true,
//	           "enabled":true,"ephemeral":true,"metadata":{}},...]}
//
// (the v2 API wraps it as {"code":0,"data":{...}}). The weight is a float,
// 0.0 to 10000.0, default 1.0; clients keep hosts that are healthy, enabled
// and of weight > 0 and use fractional weights as they are. Weights are
// multiplied by Policy.Scale, 100 when unset, so 0.5 is 50 and 10000.0 is
// 1,000,000; what is still fractional is rounded (following the registry).
var nacosRule = rule{
	registry: "Nacos",
	def:      1,
	scale:    100,
	round:    true,
}

func decodeNacos(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindObject {
		return shapeError(FormatNacos, "the response is %s, not an object", root.Kind.Article())
	}
	if _, ok := root.Get("hosts"); !ok {
		if data, ok := root.Get("data"); ok && data.Kind == weights.KindObject {
			root = data
		}
	}
	hosts, ok := root.Get("hosts")
	if !ok || (hosts.Kind != weights.KindArray && hosts.Kind != weights.KindNull) {
		return shapeError(FormatNacos, "no \"hosts\" array")
	}
	scale := c.o.Policy.Scale
	if scale == 0 {
		scale = nacosRule.scale
	}
	c.note(NoteScaled, weights.Raw{}, "Nacos weights are floats; multiplied by %d (1.0 is %d)", scale, scale)
	if th, _ := root.Get("reachProtectionThreshold"); th.Kind == weights.KindBool && th.Bool {
		c.note(NoteIgnored, th, "reachProtectionThreshold is true: Nacos returned unhealthy hosts to spread load; they are still drained here")
	}
	c.reserve(len(hosts.Items))
	for _, h := range hosts.Items {
		in := instance{where: "hosts[].weight"}
		if h.Kind != weights.KindObject {
			in.bad = "host is " + h.Kind.Article() + ", not an object"
		} else {
			ip, _ := text(h, "ip")
			pr, _ := h.Get("port")
			n, problem := port(pr)
			switch {
			case len(ip) == 0:
				in.bad = "no ip"
			case len(problem) != 0:
				in.bad = problem
			default:
				in.id = hostPort(ip, n)
			}
			var bad string
			in.weight, bad = weightOf(h, "weight")
			if len(bad) != 0 && len(in.bad) == 0 {
				in.bad = bad
			}
			healthy, ok1 := flag(get(h, "healthy"), true)
			enabled, ok2 := flag(get(h, "enabled"), true)
			switch {
			case !ok1:
				in.down = fmt.Sprintf("healthy is %s, not a bool", get(h, "healthy"))
			case !ok2:
				in.down = fmt.Sprintf("enabled is %s, not a bool", get(h, "enabled"))
			case !healthy && !enabled:
				in.down = "healthy false and enabled false"
			case !healthy:
				in.down = "healthy false"
			case !enabled:
				in.down = "enabled false"
			}
		}
		if err := c.add(in); err != nil {
			return err
		}
	}
	return nil
}
