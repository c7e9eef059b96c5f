// Package registry reads service-registry responses (Bilibili discovery,
// go-kratos, Consul, Nacos, Eureka, Envoy EDS, Apache APISIX, Kubernetes
// EndpointSlice) into validated snapshots of package weights.
//
// The data path runs one way: a registry's payload is parsed once with
// weights.ParseJSON, its format is detected on the parsed tree (FormatAuto)
// or named, the format's decoder turns each instance into a weights.Entry
// with a "host:port" id, applying the registry's own conventions where the
// options ask for them, and weights.Policy.Build validates the entries. What
// a decoder decided about an accepted node, or about the payload, is a Note.
//
// Decode is the main entry point; DecodeFormat is Decode with default Options
// and a plain weights.Report; DetectFormat tells the format alone.
package registry
