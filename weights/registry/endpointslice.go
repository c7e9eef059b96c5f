package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

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

func decodeEndpointSlice(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindObject {
		return shapeError(FormatEndpointSlice, "the payload is %s, not an object", root.Kind.Article())
	}
	slices := []weights.Raw{root}
	if its, ok := root.Get("items"); ok {
		if its.Kind != weights.KindArray && its.Kind != weights.KindNull {
			return shapeError(FormatEndpointSlice, "items is %s, not an array", its.Kind.Article())
		}
		slices = its.Items
	}
	for si, sl := range slices {
		if sl.Kind != weights.KindObject {
			return shapeError(FormatEndpointSlice, "items[%d] is %s, not an object", si, sl.Kind.Article())
		}
		if err := endpointSlice(c, sl); err != nil {
			return err
		}
	}
	return nil
}

func endpointSlice(c *collector, sl weights.Raw) error {
	svc, _ := text(get(get(sl, "metadata"), "labels"), "kubernetes.io/service-name")
	if !c.service("service", svc, false) {
		return nil
	}
	pn, portBad := 0, ""
	ports, _ := sl.Get("ports")
	switch {
	case len(ports.Items) == 0:
		portBad = "the slice lists no port"
	default:
		chosen := weights.Raw{}
		for _, p := range ports.Items {
			name, _ := text(p, "name")
			if len(c.o.Port) == 0 || name == c.o.Port {
				chosen = p
				break
			}
		}
		if chosen.Kind == weights.KindAbsent {
			portBad = fmt.Sprintf("the slice has no port named %q", c.o.Port)
			break
		}
		var problem string
		pn, problem = port(get(chosen, "port"))
		if len(problem) != 0 {
			portBad = "ports[].port: " + problem
		}
		if len(ports.Items) > 1 && len(c.o.Port) == 0 {
			var names []string
			for _, p := range ports.Items {
				name, _ := text(p, "name")
				names = append(names, name)
			}
			return fmt.Errorf("%w: %s; choose one by name (Options.Port)", ErrMultiplePorts, quoteList(names))
		}
	}
	eps, _ := sl.Get("endpoints")
	if eps.Kind != weights.KindArray && eps.Kind != weights.KindNull && eps.Kind != weights.KindAbsent {
		return shapeError(FormatEndpointSlice, "endpoints is %s, not an array", eps.Kind.Article())
	}
	c.reserve(len(eps.Items))
	for _, ep := range eps.Items {
		in := instance{weight: weights.Int(1)}
		if ep.Kind != weights.KindObject {
			in.bad = "endpoint is " + ep.Kind.Article() + ", not an object"
		} else {
			addrs, _ := ep.Get("addresses")
			switch {
			case len(addrs.Items) == 0 || addrs.Items[0].Kind != weights.KindString || len(addrs.Items[0].Text) == 0:
				in.bad = "no address"
			case len(portBad) != 0:
				in.bad = portBad
			default:
				in.id = hostPort(addrs.Items[0].Text, pn)
				if len(addrs.Items) > 1 {
					in.addNote(NoteAddress, weights.Raw{}, "the endpoint lists %d addresses; used the first (they are fungible)", len(addrs.Items))
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
