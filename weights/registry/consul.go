package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"strconv"
)

// Consul /v1/health/service/NAME answers an array of
//
//	{"Node":{"Node":"n1","Address":"10.0.0.1",...},
//	 "Service":{"ID":"web-1","Service":"web","Address":"","Port":8080,
//	            "Weights":{"Passing":10,"Warning":1},"Meta":{...}},
//	 "Checks":[{"CheckID":"serfHealth","Status":"passing"},...]}
//
// The weight is Service.Weights.Passing, or .Warning when the worst check
// status is warning; an instance with a critical check (maintenance is a
// critical check) takes no traffic. The agent defaults Weights to {1, 1}. An
// empty Service.Address means the node's address.
var consulRule = rule{
	registry: "Consul",
	def:      1,
}

func decodeConsul(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindArray {
		return shapeError(FormatConsul, "the response is %s, not an array of service entries", root.Kind.Article())
	}
	c.reserve(len(root.Items))
	for _, it := range root.Items {
		if name, _ := text(get(it, "Service"), "Service"); !c.service("service", name, false) {
			continue
		}
		if err := c.add(consulEntry(it)); err != nil {
			return err
		}
	}
	return nil
}

// consulStatus ranks a check status: higher is worse.
func consulStatus(s string) int {
	switch s {
	case "passing":
		return 0
	case "warning":
		return 1
	}
	return 2 // critical, maintenance, and anything unknown
}

func consulEntry(it weights.Raw) instance {
	in := instance{where: "Service.Weights.Passing"}
	if it.Kind != weights.KindObject {
		in.bad = "entry is " + it.Kind.Article() + ", not an object"
		return in
	}
	svc, _ := it.Get("Service")
	node, _ := it.Get("Node")
	in.name, _ = text(svc, "ID")
	if svc.Kind != weights.KindObject {
		in.bad = "entry has no Service object"
		return in
	}
	addr, _ := text(svc, "Address")
	if len(addr) == 0 {
		addr, _ = text(node, "Address")
		if len(addr) != 0 {
			in.addNote(NoteAddress, weights.Raw{}, "Service.Address is empty; used Node.Address %s", addr)
		}
	}
	p, _ := svc.Get("Port")
	n, problem := port(p)
	switch {
	case len(addr) == 0:
		in.bad = "neither Service.Address nor Node.Address is set"
	case len(problem) != 0:
		in.bad = "Service.Port: " + problem
	default:
		in.id = hostPort(addr, n)
	}

	worst, worstCheck := -1, ""
	checks, _ := it.Get("Checks")
	for i, ch := range checks.Items {
		st, _ := text(ch, "Status")
		if r := consulStatus(st); r > worst {
			worst, worstCheck = r, fmt.Sprintf("%s is %q", consulCheckName(ch, i), st)
		}
	}
	ws, hasWeights := svc.Get("Weights")
	if hasWeights && ws.Kind != weights.KindObject && ws.Kind != weights.KindNull {
		if len(in.bad) == 0 {
			in.bad = "Service.Weights is " + ws.Kind.Article() + ", not an object"
		}
		return in
	}
	key := "Passing"
	switch worst {
	case 1:
		key = "Warning"
		in.addNote(NoteDegraded, weights.Raw{}, "check %s: Service.Weights.Warning applies", worstCheck)
	case 2:
		in.down = "check " + worstCheck
	}
	in.where = "Service.Weights." + key
	var bad string
	in.weight, bad = weightOf(ws, key)
	if len(bad) != 0 && len(in.bad) == 0 {
		in.bad = bad
	}
	if w := in.weight; w.Kind == weights.KindNumber && w.Text == "0" && len(in.down) == 0 {
		if key == "Passing" {
			in.addNote(NoteDrained, w, "Service.Weights.Passing is 0: the agent refuses that, a catalog registration can read back {0,0}; 0 drains")
		} else {
			in.addNote(NoteDrained, w, "Service.Weights.Warning is 0 while a check warns: Consul leaves such instances out of DNS; 0 drains")
		}
	}
	if meta, _ := svc.Get("Meta"); meta.Kind == weights.KindObject {
		if mw, ok := meta.Get("weight"); ok {
			in.addNote(NoteIgnored, mw, "Service.Meta.weight %s is not Consul's weight; %s is", mw, in.where)
		}
	}
	return in
}

// consulCheckName names a check for a note: its CheckID, else its Name,
// else its place in Checks.
func consulCheckName(ch weights.Raw, i int) string {
	if id, _ := text(ch, "CheckID"); len(id) != 0 {
		return id
	}
	if name, _ := text(ch, "Name"); len(name) != 0 {
		return strconv.Quote(name) + " (no CheckID)"
	}
	return fmt.Sprintf("Checks[%d] (no CheckID or Name)", i)
}
