package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

// Bilibili discovery: /discovery/fetch answers
//
//	{"code":0,"data":{"instances":{"sh001":[{...}]},"latest_timestamp":...}}
//
// and /discovery/fetchs and /discovery/polls answer one such block per appid:
// {"code":0,"data":{"app.id":{"instances":{...}}}}. An instance has "addrs"
// (URLs), "status" (1 receives traffic, 2 does not) and "metadata", a string
// map whose "weight" its Go SDK reads with strconv.ParseInt, replacing an
// unparsable or non-positive weight with 10.
var discoveryRule = rule{
	registry:   "the Bilibili discovery SDK",
	strings:    true,
	parse:      goParseInt,
	def:        10,
	badDefault: true,
	lowDefault: true,
}

func decodeDiscovery(c *collector, root weights.Raw) error {
	if root.Kind != weights.KindObject {
		return shapeError(FormatDiscovery, "the response is %s, not an object", root.Kind.Article())
	}
	if code, ok := root.Get("code"); ok && code.Kind == weights.KindNumber && code.Text != "0" {
		msg, _ := text(root, "message")
		return shapeError(FormatDiscovery, "the response has code %s (%q), not 0", code.Text, msg)
	}
	data, ok := root.Get("data")
	if !ok || data.Kind != weights.KindObject {
		return shapeError(FormatDiscovery, "no \"data\" object")
	}
	if _, single := data.Get("instances"); single {
		return discoveryApp(c, "", data)
	}
	for _, m := range data.Members {
		if !c.service("appid", m.Key, false) {
			continue
		}
		if m.Value.Kind != weights.KindObject {
			return shapeError(FormatDiscovery, "data.%s is %s, not an object", m.Key, m.Value.Kind.Article())
		}
		if err := discoveryApp(c, m.Key+".", m.Value); err != nil {
			return err
		}
	}
	return nil
}

func discoveryApp(c *collector, prefix string, app weights.Raw) error {
	if sch, ok := app.Get("scheduler"); ok && sch.Kind != weights.KindNull {
		c.note(NoteIgnored, sch, "data.%sscheduler holds zone weights for cross-zone traffic; they are not applied to instance weights", prefix)
	}
	zones, _ := app.Get("instances")
	switch zones.Kind {
	case weights.KindNull, weights.KindAbsent:
		return nil
	case weights.KindObject:
	default:
		return shapeError(FormatDiscovery, "data.%sinstances is %s, not an object of zones", prefix, zones.Kind.Article())
	}
	for _, z := range zones.Members {
		if z.Value.Kind != weights.KindArray && z.Value.Kind != weights.KindNull {
			return shapeError(FormatDiscovery, "data.%sinstances.%s is %s, not an array", prefix, z.Key, z.Value.Kind.Article())
		}
		c.reserve(len(z.Value.Items))
		for _, it := range z.Value.Items {
			if err := c.add(discoveryInstance(c, it)); err != nil {
				return err
			}
		}
	}
	return nil
}

func discoveryInstance(c *collector, it weights.Raw) instance {
	in := instance{where: "metadata.weight"}
	in.name, _ = text(it, "hostname")
	if it.Kind != weights.KindObject {
		in.bad = "instance is " + it.Kind.Article() + ", not an object"
		return in
	}
	addrs, _ := it.Get("addrs")
	pickURL(c, &in, addrs, "addrs")
	in.metadataWeight(it)
	st, _ := it.Get("status")
	switch {
	case st.Kind == weights.KindNumber && st.Text == "1":
	case st.Kind == weights.KindNumber && st.Text == "2":
		in.down = "status 2 (registered, not receiving traffic)"
	case st.Kind == weights.KindAbsent:
		in.down = "no status"
	default:
		in.down = fmt.Sprintf("status %s (only 1 receives traffic)", st)
	}
	return in
}
