package weights

import "fmt"

// A Kubernetes EndpointSlice (discovery.k8s.io/v1):
//
//	{"kind":"EndpointSlice","addressType":"IPv4","ports":[{"name":"http","port":8080}],
//	 "endpoints":[{"addresses":["10.1.2.3"],"conditions":{"ready":true,"serving":true,"terminating":false}}]}
//
// or an EndpointSliceList ({"items":[...]}). Endpoints carry no weight: each
// ready endpoint weighs 1. conditions.ready unset means ready; a not-ready
// endpoint (terminating ones included, even while still serving) is drained.
// The addresses of one endpoint are fungible, so the first is used; ports
// are per slice.
var endpointSliceRule = rule{registry: "Kubernetes", def: 1}

func decodeEndpointSlice(c *collector, root Raw) error {
	c.rule = endpointSliceRule
	if root.Kind != KindObject {
		return shapeError(FormatEndpointSlice, "the payload is %s, not an object", root.Kind.article())
	}
	slices := []Raw{root}
	if its, ok := root.Get("items"); ok {
		if its.Kind != KindArray && its.Kind != KindNull {
			return shapeError(FormatEndpointSlice, "items is %s, not an array", its.Kind.article())
		}
		slices = its.Items
	}
	for si, sl := range slices {
		if sl.Kind != KindObject {
			return shapeError(FormatEndpointSlice, "items[%d] is %s, not an object", si, sl.Kind.article())
		}
		if err := endpointSlice(c, sl); err != nil {
			return err
		}
	}
	return nil
}

func endpointSlice(c *collector, sl Raw) error {
	pn, portBad := 0, ""
	ports, _ := sl.Get("ports")
	switch {
	case len(ports.Items) == 0:
		portBad = "the slice lists no port"
	default:
		chosen := Raw{}
		for _, p := range ports.Items {
			name, _ := text(p, "name")
			if c.o.Port == "" || name == c.o.Port {
				chosen = p
				break
			}
		}
		if chosen.Kind == KindAbsent {
			portBad = fmt.Sprintf("the slice has no port named %q", c.o.Port)
			break
		}
		var problem string
		pn, problem = port(get(chosen, "port"))
		if problem != "" {
			portBad = "ports[].port: " + problem
		}
		if len(ports.Items) > 1 && c.o.Port == "" {
			name, _ := text(chosen, "name")
			c.note(NoteAddress, Raw{}, "the slice lists %d ports; used the first, %q (%d)", len(ports.Items), name, pn)
		}
	}
	eps, _ := sl.Get("endpoints")
	if eps.Kind != KindArray && eps.Kind != KindNull && eps.Kind != KindAbsent {
		return shapeError(FormatEndpointSlice, "endpoints is %s, not an array", eps.Kind.article())
	}
	for _, ep := range eps.Items {
		in := instance{weight: Int(1)}
		if ep.Kind != KindObject {
			in.bad = "endpoint is " + ep.Kind.article() + ", not an object"
		} else {
			addrs, _ := ep.Get("addresses")
			switch {
			case len(addrs.Items) == 0 || addrs.Items[0].Kind != KindString || addrs.Items[0].Text == "":
				in.bad = "no address"
			case portBad != "":
				in.bad = portBad
			default:
				in.id = hostPort(addrs.Items[0].Text, pn)
				if len(addrs.Items) > 1 {
					in.addNote(NoteAddress, Raw{}, "the endpoint lists %d addresses; used the first (they are fungible)", len(addrs.Items))
				}
			}
			cond, _ := ep.Get("conditions")
			ready, ok1 := flag(get(cond, "ready"), true)
			serving, _ := flag(get(cond, "serving"), ready)
			terminating, _ := flag(get(cond, "terminating"), false)
			switch {
			case !ok1:
				in.down = fmt.Sprintf("conditions.ready is %s, not a bool", get(cond, "ready"))
			case !ready && terminating && serving:
				in.down = "not ready: terminating, still serving"
			case !ready && terminating:
				in.down = "not ready: terminating"
			case !ready:
				in.down = "not ready"
			}
		}
		if err := c.add(in); err != nil {
			return err
		}
	}
	return nil
}
