package registry

import (
	"errors"
	"fmt"
	"github.com/safewrr/safewrr/weights"
	"strings"
)

// Format names the shape of a payload: the plain snapshot that Decode reads,
// or one registry's response.
type Format string

// The formats DecodeFormat understands.
const (
	// FormatAuto detects the format from the payload's shape.
	FormatAuto Format = "auto"
	// FormatMap is the plain snapshot Decode reads: {"id": weight, ...} or
	// [{"id": ..., "weight": ...}, ...].
	FormatMap Format = "map"
	// FormatDiscovery is a Bilibili discovery /discovery/fetch or
	// /discovery/polls response.
	FormatDiscovery Format = "discovery"
	// FormatKratos is one go-kratos ServiceInstance, or an array of them, as
	// its registries store them.
	FormatKratos Format = "kratos"
	// FormatConsul is a Consul /v1/health/service/NAME response.
	FormatConsul Format = "consul"
	// FormatNacos is a Nacos /nacos/v1/ns/instance/list response (or the v2
	// API's {"data": ...} wrapping of it).
	FormatNacos Format = "nacos"
	// FormatEureka is a Eureka /eureka/apps, /eureka/apps/NAME or
	// /eureka/apps/NAME/ID response in JSON.
	FormatEureka Format = "eureka"
	// FormatEDS is an Envoy ClusterLoadAssignment in proto3 JSON, alone or in
	// the resources of a DiscoveryResponse.
	FormatEDS Format = "eds"
	// FormatAPISIX is an Apache APISIX upstream (its nodes in object or array
	// form), alone or as the Admin API returns it.
	FormatAPISIX Format = "apisix"
	// FormatEndpointSlice is a Kubernetes EndpointSlice or EndpointSliceList.
	FormatEndpointSlice Format = "endpointslice"
)

// ErrUnknownFormat is wrapped by the errors of ParseFormat and of format
// detection: the name is not a format, or the payload's shape matches no
// format, or more than one.
var ErrUnknownFormat = errors.New("registry: unknown payload format")

// registryFormat is one registry's format: its weight convention (the rule
// that turns its instances into a snapshot) and its decoder (which finds the
// instances in a parsed payload). Each lives in the format's own file.
type registryFormat struct {
	format Format
	rule   rule
	decode func(c *collector, root weights.Raw) error
}

// registryFormats is the dispatch table from a registry format to its rule
// and decoder, in the order Formats lists them.
var registryFormats = []registryFormat{
	{FormatDiscovery, discoveryRule, decodeDiscovery},
	{FormatKratos, kratosRule, decodeKratos},
	{FormatConsul, consulRule, decodeConsul},
	{FormatNacos, nacosRule, decodeNacos},
	{FormatEureka, eurekaRule, decodeEureka},
	{FormatEDS, edsRule, decodeEDS},
	{FormatAPISIX, apisixRule, decodeAPISIX},
	{FormatEndpointSlice, endpointSliceRule, decodeEndpointSlice},
}

// registryFormatOf finds a registry format in the table.
func registryFormatOf(f Format) (registryFormat, bool) {
	i, ok := formatIndex[f]
	if !ok {
		return registryFormat{}, false
	}
	return registryFormats[i], true
}

// formatIndex is each registry format's place in registryFormats. A map
// lookup finds a format without comparing its name with each one's: under a
// fuzzing build every comparison of two different strings calls a hook that
// copies both, and every decode looks its format up.
var formatIndex = func() map[Format]int {
	m := make(map[Format]int, len(registryFormats))
	for i, rf := range registryFormats {
		m[rf.format] = i
	}
	return m
}()

// Formats returns every format DecodeFormat accepts except FormatAuto, in a
// stable order: the plain snapshot, then the registries.
func Formats() []Format {
	fs := make([]Format, 0, 1+len(registryFormats))
	fs = append(fs, FormatMap)
	for _, rf := range registryFormats {
		fs = append(fs, rf.format)
	}
	return fs
}

// formatList renders formats as "map, discovery, ...".
func formatList(fs []Format) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// ParseFormat returns the format named s (case-insensitive; "auto" included),
// or an error wrapping ErrUnknownFormat that lists the names.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := formatIndex[f]; ok || f == FormatMap || f == FormatAuto {
		return f, nil
	}
	return "", fmt.Errorf("%w %q: want auto, %s", ErrUnknownFormat, s, formatList(Formats()))
}

// DecodeFormat decodes a payload of format f under policy p: FormatMap is
// Decode; a registry format applies that registry's own meaning of 0, missing
// and unparsable weights and of its health flags, as Decode does with
// default Options; FormatAuto detects the format first. Report.Format
// names the format that was used. The error is a problem with the payload as
// a whole (not JSON, beyond the limits, not the named format).
func DecodeFormat(f Format, data []byte, p weights.Policy) (weights.Snapshot, weights.Report, error) {
	s, r, err := Decode(f, data, Options{Policy: p})
	return s, r.Report, err
}
