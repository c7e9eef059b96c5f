package registry

import "github.com/safewrr/safewrr/weights"

// go-kratos registries (etcd, consul, nacos, ...) store each instance as the
// JSON of a ServiceInstance:
//
//	{"id":"...","name":"helloworld","version":"v1","metadata":{"weight":"10"},
//	 "endpoints":["grpc://10.0.0.5:9000?isSecure=false","http://10.0.0.5:8000"]}
//
// Its selector reads metadata["weight"] with strconv.ParseInt and uses 100
// when it is missing or unparsable; its weighted round robin never picks a
// node of weight 0. A payload is one instance or an array of them.
var kratosRule = rule{
	registry:   "the kratos selector",
	strings:    true,
	parse:      goParseInt,
	def:        100,
	badDefault: true,
}

func decodeKratos(c *collector, root weights.Raw) error {
	var list []weights.Raw
	switch root.Kind {
	case weights.KindArray:
		list = root.Items
	case weights.KindObject:
		list = []weights.Raw{root}
	default:
		return shapeError(FormatKratos, "the payload is %s, not an instance or an array of them", root.Kind.Article())
	}
	c.reserve(len(list))
	for _, it := range list {
		if it.Kind == weights.KindObject {
			if name, _ := text(it, "name"); !c.service("service", name, false) {
				continue
			}
		}
		in := instance{where: "metadata.weight"}
		in.name, _ = text(it, "id")
		if it.Kind != weights.KindObject {
			in.bad = "instance is " + it.Kind.Article() + ", not an object"
		} else {
			eps, _ := it.Get("endpoints")
			pickURL(c, &in, eps, "endpoints")
			in.metadataWeight(it)
		}
		if err := c.add(in); err != nil {
			return err
		}
	}
	return nil
}
