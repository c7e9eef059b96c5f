package registry

import (
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"strings"
)

// DetectFormat tells a payload's format from its shape: the members and
// nesting each registry's responses have. It returns an error wrapping
// ErrUnknownFormat, which lists the formats, when the shape matches none or
// more than one; a *PayloadError when data is not JSON within l.
//
// It reads data once and builds only the outline that detection looks at
// (weights.SketchJSON), so its cost does not grow with what a hostile
// payload repeats.
func DetectFormat(data []byte, l weights.Limits) (Format, error) {
	root, err := weights.SketchJSON(data, l, detectKeys...)
	if err != nil {
		return "", err
	}
	return detectFormat(root)
}

// detectKeys are the members detectFormat reads, wherever they are.
var detectKeys = []string{
	"applications", "application", "instance", "ipAddr", "hostName", "app",
	"hosts", "data", "instances", "code",
	"resources", "@type", "cluster_name", "clusterName", "endpoints", "lb_endpoints", "lbEndpoints",
	"kind", "addressType", "items",
	"value", "upstream", "nodes",
	"id", "name", "Service", "Node", "Checks", "weight", "host",
}

func detectFormat(root weights.Raw) (Format, error) {
	var cands []Format
	switch root.Kind {
	case weights.KindObject:
		cands = detectObject(root)
		if len(cands) == 0 && allScalar(root) {
			cands = []Format{FormatMap}
		}
	case weights.KindArray:
		cands = detectArray(root)
	default:
		return "", fmt.Errorf("%w: the payload is %s, and every format is a JSON object or array; the formats are %s",
			ErrUnknownFormat, root.Kind.Article(), formatList(Formats()))
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		return "", fmt.Errorf("%w: the payload's shape matches no format (keys %s); name one of %s",
			ErrUnknownFormat, keysOf(root), formatList(Formats()))
	}
	return "", fmt.Errorf("%w: the payload's shape matches %s; name one of them", ErrUnknownFormat, formatList(cands))
}

func detectObject(r weights.Raw) []Format {
	var out []Format
	kindOf := func(v weights.Raw, k string) weights.Kind { x, _ := v.Get(k); return x.Kind }

	// Eureka: {"applications":{...}}, {"application":{...}}, {"instance":{...}}.
	switch {
	case kindOf(r, "applications") == weights.KindObject:
		out = append(out, FormatEureka)
	case kindOf(r, "application") == weights.KindObject || kindOf(r, "application") == weights.KindArray:
		out = append(out, FormatEureka)
	case kindOf(r, "instance") == weights.KindObject || kindOf(r, "instance") == weights.KindArray:
		if it := first(get(r, "instance")); hasKey(it, "ipAddr", "hostName", "app") {
			out = append(out, FormatEureka)
		}
	}
	// Nacos: {"hosts":[...]} or {"code":0,"data":{"hosts":[...]}}.
	if kindOf(r, "hosts") == weights.KindArray || kindOf(get(r, "data"), "hosts") == weights.KindArray {
		out = append(out, FormatNacos)
	}
	// Bilibili discovery: {"code":0,"data":{"instances":{...}}} or data.<appid>.instances.
	if data := get(r, "data"); hasKey(r, "code") && data.Kind == weights.KindObject {
		if kindOf(data, "instances") != weights.KindAbsent {
			out = append(out, FormatDiscovery)
		} else if len(data.Members) > 0 && kindOf(data.Members[0].Value, "instances") != weights.KindAbsent {
			out = append(out, FormatDiscovery)
		}
	}
	// Envoy EDS: a ClusterLoadAssignment or a DiscoveryResponse of them.
	if res := get(r, "resources"); res.Kind == weights.KindArray {
		if t, _ := text(first(res), "@type"); strings.HasSuffix(t, ".ClusterLoadAssignment") {
			out = append(out, FormatEDS)
		}
	} else if hasKey(r, "cluster_name") || hasKey(r, "clusterName") ||
		hasKey(first(get(r, "endpoints")), "lb_endpoints", "lbEndpoints") {
		out = append(out, FormatEDS)
	}
	// Kubernetes EndpointSlice or EndpointSliceList.
	if k, _ := text(r, "kind"); k == "EndpointSlice" || k == "EndpointSliceList" || hasKey(r, "addressType") ||
		hasKey(first(get(r, "items")), "addressType") {
		out = append(out, FormatEndpointSlice)
	}
	// APISIX: an upstream, a route with one, or an Admin API answer.
	up := r
	if v := get(r, "value"); v.Kind == weights.KindObject {
		up = v
	}
	if u := get(up, "upstream"); u.Kind == weights.KindObject {
		up = u
	}
	if n := kindOf(up, "nodes"); n == weights.KindObject || n == weights.KindArray {
		out = append(out, FormatAPISIX)
	}
	// go-kratos: one ServiceInstance.
	if eps := get(r, "endpoints"); eps.Kind == weights.KindArray && first(eps).Kind == weights.KindString && hasKey(r, "id", "name") {
		out = append(out, FormatKratos)
	}
	return out
}

func detectArray(r weights.Raw) []Format {
	if len(r.Items) == 0 {
		return []Format{FormatMap} // every array format reads [] as no nodes
	}
	e := first(r)
	if e.Kind != weights.KindObject {
		return []Format{FormatMap} // Decode explains what is wrong
	}
	var out []Format
	if hasKey(e, "Service") && hasKey(e, "Node", "Checks") {
		out = append(out, FormatConsul)
	}
	if eps := get(e, "endpoints"); eps.Kind == weights.KindArray && !hasKey(e, "weight") {
		out = append(out, FormatKratos)
	}
	if hasKey(e, "host") && !hasKey(e, "id") {
		out = append(out, FormatAPISIX)
	}
	if len(out) == 0 && hasKey(e, "id") {
		out = append(out, FormatMap)
	}
	return out
}

// first returns the first element of an array, the value itself otherwise.
func first(r weights.Raw) weights.Raw {
	if r.Kind == weights.KindArray {
		if len(r.Items) == 0 {
			return weights.Raw{}
		}
		return r.Items[0]
	}
	return r
}

// has2 reports whether an object has any of the keys.
func hasKey(r weights.Raw, keys ...string) bool {
	_, _, ok := field(r, keys...)
	return ok
}

func allScalar(r weights.Raw) bool {
	for _, m := range r.Members {
		if m.Value.Kind == weights.KindArray || m.Value.Kind == weights.KindObject {
			return false
		}
	}
	return true
}

// keysOf lists an object's first keys for an error message.
func keysOf(r weights.Raw) string {
	if r.Kind != weights.KindObject {
		return "none: " + r.Kind.Article()
	}
	var ks []string
	for i, m := range r.Members {
		if i == 6 {
			ks = append(ks, "...")
			break
		}
		ks = append(ks, fmt.Sprintf("%q", m.Key))
	}
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}
