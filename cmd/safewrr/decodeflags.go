package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/internal/regfile"
	"github.com/safewrr/safewrr/luacompat"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// decodeFlags are the flags that say how a payload is read: its format, the
// weight policy and the registry options, one flag for each of the
// library's decode settings (registry.SettingNames), with its name, default
// and help. validate, proxy, simulate and diff register the same set with
// addDecodeFlags, so every command reads a payload alike.
type decodeFlags struct {
	strs  map[string]*string
	bools map[string]*bool
	scale *uint
}

// addDecodeFlags registers the decode flags on fs, with their defaults.
func addDecodeFlags(fs *flag.FlagSet) *decodeFlags {
	d := &decodeFlags{strs: map[string]*string{}, bools: map[string]*bool{}}
	for _, s := range registry.SettingNames() {
		switch {
		case s.Bool:
			d.bools[s.Name] = fs.Bool(s.Name, false, s.Help)
		case s.Name == "scale":
			d.scale = fs.Uint(s.Name, 0, s.Help)
		default:
			d.strs[s.Name] = fs.String(s.Name, s.Default, s.Help)
		}
	}
	return d
}

// policyName is the --policy flag's value, as given.
func (d *decodeFlags) policyName() string { return *d.strs["policy"] }

// options turns the parsed flags into a format and registry options. The
// error is a usage error that names the flag.
func (d *decodeFlags) options() (registry.Format, registry.Options, error) {
	var set registry.Settings
	for _, s := range registry.SettingNames() {
		var v string
		switch {
		case s.Bool:
			v = strconv.FormatBool(*d.bools[s.Name])
		case s.Name == "scale":
			v = strconv.FormatUint(uint64(*d.scale), 10)
		default:
			v = *d.strs[s.Name]
		}
		if err := set.Set(s.Name, v); err != nil {
			var se *registry.SettingError
			if errors.As(err, &se) && se.Err != nil {
				return "", registry.Options{}, fmt.Errorf("--%s: %w", s.Name, se.Err)
			}
			if se != nil && se.Want != "" {
				return "", registry.Options{}, fmt.Errorf("--%s must be %s, got %q", s.Name, se.Want, v)
			}
			return "", registry.Options{}, err
		}
	}
	return set.Format(), set.Options(), nil
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
