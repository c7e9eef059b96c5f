package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// decodeFlags are the flags that say how a payload is read: its format, the
// weight policy and the registry options. validate and proxy register the
// same set with addDecodeFlags, so the two commands read a payload alike.
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
