package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

// Eureka answers /eureka/apps with
//
//	{"applications":{"application":[{"name":"SVC","instance":[{...}]}]}}
//
// /eureka/apps/NAME with {"application":{...}} and /eureka/apps/NAME/ID with
// {"instance":{...}}. Its JSON comes from an XML mapping: "application" and
// "instance" are one object instead of an array when there is one, and
// "port" is {"$":8080,"@enabled":"true"} with "$" a number or a string.
// Eureka has no weight; the convention is metadata.weight, a string, which
// Spring Cloud reads with Integer.parseInt and replaces with 1 when missing,
// unparsable or ≤ 0. Only status UP takes traffic.
var eurekaRule = rule{
	registry:   "Spring Cloud",
	strings:    true,
	parse:      javaParseInt,
	def:        1,
	badDefault: true,
	lowDefault: true,
}

func decodeEureka(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindObject {
		return shapeError(FormatEureka, "the response is %s, not an object", root.Kind.Article())
	}
	var apps []weights.Raw
	if a, ok := root.Get("applications"); ok {
		if a.Kind != weights.KindObject && a.Kind != weights.KindNull {
			return shapeError(FormatEureka, "applications is %s, not an object", a.Kind.Article())
		}
		apps = items(get(a, "application"))
	} else if a, ok := root.Get("application"); ok {
		apps = items(a)
	} else if ins, ok := root.Get("instance"); ok {
		apps = []weights.Raw{weights.Object(weights.Member{Key: "instance", Value: ins})}
	} else {
		return shapeError(FormatEureka, "no \"applications\", \"application\" or \"instance\"")
	}
	for _, app := range apps {
		if app.Kind != weights.KindObject {
			return shapeError(FormatEureka, "an application is %s, not an object", app.Kind.Article())
		}
		name, _ := text(app, "name")
		if len(name) != 0 && !c.service("application", name, true) {
			continue
		}
		list := items(get(app, "instance"))
		c.reserve(len(list))
		for _, it := range list {
			if err := c.add(eurekaInstance(it)); err != nil {
				return err
			}
		}
	}
	return nil
}

func eurekaInstance(it weights.Raw) instance {
	in := instance{where: "metadata.weight"}
	if it.Kind != weights.KindObject {
		in.bad = "instance is " + it.Kind.Article() + ", not an object"
		return in
	}
	in.name, _ = text(it, "instanceId")
	ip, _ := text(it, "ipAddr")
	if len(ip) == 0 {
		ip, _ = text(it, "hostName")
		if len(ip) != 0 {
			in.addNote(NoteAddress, weights.Raw{}, "no ipAddr; used hostName %s", ip)
		}
	}
	n, problem := eurekaPort(get(it, "port"))
	if len(problem) != 0 {
		if sn, sp := eurekaPort(get(it, "securePort")); len(sp) == 0 {
			n, problem = sn, ""
			in.addNote(NoteAddress, weights.Raw{}, "port is not enabled; used securePort %d", sn)
		}
	}
	switch {
	case len(ip) == 0:
		in.bad = "no ipAddr or hostName"
	case len(problem) != 0:
		in.bad = problem
	default:
		in.id = hostPort(ip, n)
	}
	in.metadataWeight(it)
	st, _ := it.Get("status")
	if (st.Kind != weights.KindString || st.Text != "UP") && !(plantEurekaOutOfService && st.Text == "OUT_OF_SERVICE") {
		in.down = fmt.Sprintf("status %s (only \"UP\" takes traffic)", st)
	}
	return in
}

// eurekaPort reads {"$": 8080, "@enabled": "true"} ("$" a number or a
// string), or a bare port number.
func eurekaPort(r weights.Raw) (int, string) {
	if r.Kind != weights.KindObject {
		n, problem := port(r)
		if len(problem) != 0 {
			return 0, "port: " + problem
		}
		return n, ""
	}
	if en, ok := flag(get(r, "@enabled"), true); !ok || !en {
		return 0, fmt.Sprintf("port %s is not enabled", r)
	}
	n, problem := port(get(r, "$"))
	if len(problem) != 0 {
		return 0, "port.$: " + problem
	}
	return n, ""
}
