package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/safewrr/safewrr/internal/regfile"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// decodeFlags are the flags that say how a payload is read: its format, the
// weight policy and the registry options. validate, proxy, simulate and
// diff register the same set with addDecodeFlags, so every command reads a
// payload alike.
type decodeFlags struct {
	Policy        string
	Format        string
	Scale         uint
	RefusePartial bool
	Convention    string
	Health        string
	Service       string
	Scheme        string
	Port          string
	// RequireAddresses makes plain map ids follow the address rule
	// (weights.IDsAddress); registry formats always do.
	RequireAddresses bool
	MergeServices    bool
}

// addDecodeFlags registers the decode flags on fs, with their defaults.
func addDecodeFlags(fs *flag.FlagSet) *decodeFlags {
	d := &decodeFlags{}
	fs.StringVar(&d.Policy, "policy", "strict", "weight `policy`: strict (numbers only) or lenient (also decimal strings)")
	fs.StringVar(&d.Format, "format", "auto", "payload `format`: auto, map, or a registry ("+formatNames()+")")
	fs.UintVar(&d.Scale, "scale", 0, "multiply weights by `N` before the integer check (0: the format's default)")
	fs.BoolVar(&d.RefusePartial, "refuse-partial", false, "refuse the whole snapshot when any node is rejected")
	fs.StringVar(&d.Convention, "convention", "registry", "whose meaning of 0, missing and unparsable weights: registry, sdk (the registry client's lenience) or policy")
	fs.StringVar(&d.Health, "health", "drain", "instances the registry marks not serving: drain, reject or ignore")
	fs.StringVar(&d.Service, "service", "", "keep only this `service` of a multi-service registry payload")
	fs.StringVar(&d.Scheme, "scheme", "", "URL `scheme` to pick among an instance's addresses (discovery, kratos)")
	fs.StringVar(&d.Port, "port", "", "EndpointSlice port `name` (default: the first port)")
	fs.BoolVar(&d.MergeServices, "merge-services", false, "serve every service of a multi-service payload as one pool (default: an error naming them)")
	fs.BoolVar(&d.RequireAddresses, "require-addresses", false, "plain map ids must be host:port, as registry ids always are")
	return d
}

// options turns the parsed flags into a format and registry options. The
// error is a usage error that names the flag.
func (d *decodeFlags) options() (registry.Format, registry.Options, error) {
	var o registry.Options
	switch d.Policy {
	case "strict":
		o.Policy = weights.Strict()
	case "lenient":
		o.Policy = weights.Lenient()
	default:
		return "", o, fmt.Errorf("--policy must be strict or lenient, got %q", d.Policy)
	}
	format, err := registry.ParseFormat(d.Format)
	if err != nil {
		return "", o, fmt.Errorf("--format: %w", err)
	}
	if d.Scale > 1<<32-1 {
		return "", o, fmt.Errorf("--scale must be at most %d, got %d", uint32(1<<32-1), d.Scale)
	}
	o.Policy.Scale = uint32(d.Scale)
	if d.RefusePartial {
		o.Policy.Partial = weights.RefuseWhole
	}
	switch d.Convention {
	case "registry":
		o.Convention = registry.FollowRegistry
	case "sdk":
		o.Convention = registry.FollowSDK
	case "policy":
		o.Convention = registry.FollowPolicy
	default:
		return "", o, fmt.Errorf("--convention must be registry, sdk or policy, got %q", d.Convention)
	}
	switch d.Health {
	case "drain":
		o.Health = registry.HealthDrain
	case "reject":
		o.Health = registry.HealthReject
	case "ignore":
		o.Health = registry.HealthIgnore
	default:
		return "", o, fmt.Errorf("--health must be drain, reject or ignore, got %q", d.Health)
	}
	if d.RequireAddresses {
		o.Policy.IDs = weights.IDsAddress
	}
	o.Service, o.Scheme, o.Port, o.MergeServices = d.Service, d.Scheme, d.Port, d.MergeServices
	return format, o, nil
}

// decodeErrorText is a decode error as the command line says it: without
// the library's package prefixes, and with the flag that resolves it where
// the library names an option.
func decodeErrorText(err error) string {
	s := err.Error()
	for _, prefix := range []string{"registry: ", "weights: "} {
		s = strings.ReplaceAll(s, prefix, "")
	}
	if errors.Is(err, registry.ErrMultipleServices) || errors.Is(err, registry.ErrMultiplePorts) {
		s = strings.NewReplacer(
			"(Options.Service)", "with --service NAME",
			"(Options.MergeServices)", "with --merge-services",
			"(Options.Port)", "with --port NAME",
		).Replace(s)
	}
	return s
}

// maxSpecBytes bounds a --nodes SPEC, given inline or as @file.
const maxSpecBytes = weights.DefaultMaxBytes

// nodeSpec is a --nodes SPEC (simulate, diff) read with the decode flags.
type nodeSpec struct {
	// format is the format the SPEC was decoded as: the registry's, or map
	// for a plain snapshot and a Lua table literal.
	format   registry.Format
	detected bool // format was detected (--format auto)
	snap     weights.Snapshot
	rep      registry.Report
	// entries and policy are the node set as a Lua balancer and safewrr's
	// side of diff see it: Build(entries) under policy gives snap and rep's
	// accepted and rejected nodes. For a snapshot or a Lua table they are
	// the nodes as written; for a registry payload, the accepted nodes
	// (canonical id, the weight read) and the rejected instances with
	// their weights as sent.
	entries []weights.Entry
	policy  weights.Policy
}

// readSpec reads a --nodes SPEC: a JSON payload, a Lua table literal, or
// @file holding one (a regular file, read non-blocking and bounded). JSON
// is decoded as validate and proxy decode a payload: the format named by
// --format, or detected, so a registry's response is read as that
// registry's; a Lua table literal is a plain snapshot and takes the policy
// flags only. The error says what is wrong with the SPEC, as a usage error.
func (d *decodeFlags) readSpec(spec string) (nodeSpec, error) {
	format, o, err := d.options()
	if err != nil {
		return nodeSpec{}, err
	}
	text := spec
	if strings.HasPrefix(spec, "@") {
		data, err := regfile.Read(spec[1:], maxSpecBytes)
		if err != nil {
			return nodeSpec{}, fmt.Errorf("--nodes: %w", err)
		}
		if len(data) > maxSpecBytes {
			return nodeSpec{}, fmt.Errorf("--nodes: %s is larger than %d bytes", spec[1:], maxSpecBytes)
		}
		text = string(data)
	}
	trimmed := strings.TrimSpace(text)
	isJSON := false
	if strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") {
		_, jerr := weights.ParseJSON([]byte(trimmed), o.Policy.Limits)
		isJSON = jerr == nil
	}
	if !isJSON || format == registry.FormatMap {
		// A plain snapshot: the nodes as written, for both sides of diff.
		if !isJSON && format != registry.FormatAuto && format != registry.FormatMap {
			return nodeSpec{}, fmt.Errorf("--format %s needs a JSON payload; a Lua table literal is a plain snapshot", format)
		}
		entries, err := luacompat.ParseSpec(text)
		if err != nil {
			return nodeSpec{}, fmt.Errorf("--nodes: %w", err)
		}
		if isJSON {
			// The same reading as validate's; entries keep the raw values.
			s, rep, err := registry.Decode(registry.FormatMap, []byte(trimmed), o)
			if err != nil {
				return nodeSpec{}, fmt.Errorf("--nodes: %s", decodeErrorText(err))
			}
			return nodeSpec{format: registry.FormatMap, detected: format == registry.FormatAuto,
				snap: s, rep: rep, entries: entries, policy: o.Policy}, nil
		}
		s, rep := o.Policy.Build(entries)
		rep.Format = string(registry.FormatMap)
		return nodeSpec{format: registry.FormatMap, snap: s, rep: registry.Report{Report: rep},
			entries: entries, policy: o.Policy}, nil
	}
	s, rep, err := registry.Decode(format, []byte(trimmed), o)
	if err != nil {
		return nodeSpec{}, fmt.Errorf("--nodes: %s payload: %s", rep.Format, decodeErrorText(err))
	}
	ns := nodeSpec{format: registry.Format(rep.Format), detected: format == registry.FormatAuto, snap: s, rep: rep}
	if ns.format == registry.FormatMap {
		entries, err := luacompat.ParseSpec(trimmed)
		if err != nil {
			return nodeSpec{}, fmt.Errorf("--nodes: %w", err)
		}
		ns.entries, ns.policy = entries, o.Policy
		return ns, nil
	}
	ns.entries, ns.policy = registryEntries(s, rep)
	return ns, nil
}

// registryEntries turns a registry payload's decode result back into
// entries that Build, under the policy returned, reads into the same
// snapshot and rejects: the accepted nodes with the weight read, the
// rejected instances with their weight as sent and their reason. A later
// copy of an accepted node (a duplicate that reads the same) is left out:
// the node is served once.
func registryEntries(s weights.Snapshot, rep registry.Report) ([]weights.Entry, weights.Policy) {
	p := weights.Policy{IDs: weights.IDsAddress, MaxWeight: math.MaxUint32}
	if rep.Refused != nil && len(rep.Rejected) > 0 {
		p.Partial = weights.RefuseWhole
	}
	served := make(map[string]bool, len(s.Nodes))
	for _, n := range s.Nodes {
		served[n.ID] = true
	}
	entries := make([]weights.Entry, 0, rep.Entries)
	k, r := 0, 0
	for i := 0; i < rep.Entries; i++ {
		if r < len(rep.Rejected) && rep.Rejected[r].Index == i {
			ne := rep.Rejected[r]
			r++
			if id, err := weights.ParseAddress(ne.ID); ne.Reason == weights.ReasonDuplicateID && err == nil && served[id] {
				continue
			}
			entries = append(entries, weights.Entry{ID: ne.ID, Weight: ne.Raw, Reject: ne.Reason, Detail: ne.Detail})
			continue
		}
		if k < len(s.Nodes) {
			entries = append(entries, weights.Entry{ID: s.Nodes[k].ID, Weight: weights.Int(int64(s.Nodes[k].Weight))})
			k++
		}
	}
	return entries, p
}
