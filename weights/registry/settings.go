package registry

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/safewrr/safewrr/weights"
)

// Setting describes one named decode setting: a string that a command-line
// flag, a URL query parameter or a configuration field carries and that
// Settings.Set reads into a Format and Options.
type Setting struct {
	// Name is the setting's name, lower case with hyphens ("refuse-partial").
	Name string
	// Default is the value that applies when the setting is not given.
	Default string
	// Bool reports a switch: its values are "true" and "false".
	Bool bool
	// Help says what the setting does in one line. A word in back quotes
	// names the value, as package flag reads a usage string.
	Help string
}

// settingTable is the one table of decode settings: name, default, help,
// and how a value is read into Settings.
var settingTable = []struct {
	Setting
	set func(s *Settings, v string) error
}{
	{Setting{Name: "policy", Default: "strict",
		Help: "weight `policy`: strict (numbers only) or lenient (also decimal strings)"},
		func(s *Settings, v string) error {
			return choose(v, &s.lenient, []string{"strict", "lenient"}, []bool{false, true})
		}},
	{Setting{Name: "format", Default: "auto",
		Help: "payload `format`: auto, map, or a registry (" + registryFormatNames() + ")"},
		func(s *Settings, v string) error {
			f, err := ParseFormat(v)
			if err != nil {
				return err
			}
			s.format = f
			return nil
		}},
	{Setting{Name: "scale", Default: "0",
		Help: "multiply weights by `N` before the integer check (0: the format's default)"},
		func(s *Settings, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return errWant("an integer from 0 to 4294967295")
			}
			s.scale = uint32(n)
			return nil
		}},
	{Setting{Name: "refuse-partial", Default: "false", Bool: true,
		Help: "refuse the whole snapshot when any node is rejected"},
		func(s *Settings, v string) error { return setBool(v, &s.refusePartial) }},
	{Setting{Name: "convention", Default: "registry",
		Help: "whose meaning of 0, missing and unparsable weights: registry, sdk (the registry client's lenience) or policy"},
		func(s *Settings, v string) error {
			return choose(v, &s.convention, []string{"registry", "sdk", "policy"},
				[]Convention{FollowRegistry, FollowSDK, FollowPolicy})
		}},
	{Setting{Name: "health", Default: "drain",
		Help: "instances the registry marks not serving: drain, reject or ignore"},
		func(s *Settings, v string) error {
			return choose(v, &s.health, []string{"drain", "reject", "ignore"},
				[]HealthMode{HealthDrain, HealthReject, HealthIgnore})
		}},
	{Setting{Name: "service",
		Help: "keep only this `service` of a multi-service registry payload"},
		func(s *Settings, v string) error { s.service = v; return nil }},
	{Setting{Name: "scheme",
		Help: "URL `scheme` to pick among an instance's addresses (discovery, kratos)"},
		func(s *Settings, v string) error { s.scheme = v; return nil }},
	{Setting{Name: "port",
		Help: "EndpointSlice port `name` (default: the first port)"},
		func(s *Settings, v string) error { s.port = v; return nil }},
	{Setting{Name: "merge-services", Default: "false", Bool: true,
		Help: "serve every service of a multi-service payload as one pool (default: an error naming them)"},
		func(s *Settings, v string) error { return setBool(v, &s.mergeServices) }},
	{Setting{Name: "require-addresses", Default: "false", Bool: true,
		Help: "plain map ids must be host:port, as registry ids always are"},
		func(s *Settings, v string) error { return setBool(v, &s.requireAddresses) }},
}

// SettingNames lists the decode settings in a stable order, with their
// defaults and help text. The slice is the caller's.
func SettingNames() []Setting {
	out := make([]Setting, len(settingTable))
	for i, t := range settingTable {
		out[i] = t.Setting
	}
	return out
}

// Settings gathers decode settings by name and turns them into a Format
// and Options. The zero value holds every setting's default: format auto,
// policy strict, convention registry, health drain, nothing else set. The
// order of Set calls does not matter; a later Set of the same name wins.
type Settings struct {
	format           Format
	lenient          bool
	scale            uint32
	refusePartial    bool
	convention       Convention
	health           HealthMode
	service          string
	scheme           string
	port             string
	mergeServices    bool
	requireAddresses bool
}

// Set sets the setting called name (see SettingNames) from its string
// value: a switch takes "true" or "false", format takes what ParseFormat
// takes, scale a decimal integer from 0 to 4294967295, the others one of
// the values their help names (case-sensitive) or, for service, scheme and
// port, any string. The error is a *SettingError naming the setting.
func (s *Settings) Set(name, value string) error {
	for _, t := range settingTable {
		if t.Name != name {
			continue
		}
		if err := t.set(s, value); err != nil {
			e := &SettingError{Name: name, Value: value}
			if w, ok := err.(errWant); ok {
				e.Want = string(w)
			} else {
				e.Err = err
			}
			return e
		}
		return nil
	}
	return &SettingError{Name: name, Value: value, Unknown: true}
}

// Format returns the format set, FormatAuto by default.
func (s *Settings) Format() Format {
	if len(s.format) == 0 {
		return FormatAuto
	}
	return s.format
}

// Options returns the registry options the settings say.
func (s *Settings) Options() Options {
	var o Options
	if s.lenient {
		o.Policy = weights.Lenient()
	} else {
		o.Policy = weights.Strict()
	}
	o.Policy.Scale = s.scale
	if s.refusePartial {
		o.Policy.Partial = weights.RefuseWhole
	}
	if s.requireAddresses {
		o.Policy.IDs = weights.IDsAddress
	}
	o.Convention, o.Health = s.convention, s.health
	o.Service, o.Scheme, o.Port, o.MergeServices = s.service, s.scheme, s.port, s.mergeServices
	return o
}

// SettingError is a decode setting that Settings.Set could not take.
// Callers that name settings their own way (a flag "--refuse-partial", a
// field "refuse_partial") build their message from its fields.
type SettingError struct {
	Name  string // the setting, as Set was given it
	Value string // the value refused
	// Want says what the setting takes ("strict or lenient"); empty when
	// Err says it instead.
	Want string
	// Err is the underlying error (ParseFormat's for format), or nil.
	Err error
	// Unknown reports a name that is no decode setting.
	Unknown bool
}

// Error reads `registry: policy must be strict or lenient, got "loose"`,
// `registry: format: unknown payload format ...` or
// `registry: unknown decode setting "x"`.
func (e *SettingError) Error() string {
	switch {
	case e.Unknown:
		return fmt.Sprintf("registry: unknown decode setting %q", e.Name)
	case e.Err != nil:
		return "registry: " + e.Name + ": " + strings.TrimPrefix(e.Err.Error(), "registry: ")
	}
	return fmt.Sprintf("registry: %s must be %s, got %q", e.Name, e.Want, e.Value)
}

// Unwrap returns Err: a bad format wraps ErrUnknownFormat.
func (e *SettingError) Unwrap() error { return e.Err }

// errWant is a refused value; the string says what is wanted.
type errWant string

func (e errWant) Error() string { return "must be " + string(e) }

// choose sets *dst to the value in vals at the index of v in names.
func choose[T any](v string, dst *T, names []string, vals []T) error {
	for i, n := range names {
		if n == v {
			*dst = vals[i]
			return nil
		}
	}
	return errWant(strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1])
}

func setBool(v string, dst *bool) error {
	return choose(v, dst, []string{"true", "false"}, []bool{true, false})
}

// registryFormatNames lists the registry formats (every format but map).
func registryFormatNames() string {
	var names []string
	for _, f := range Formats() {
		if f != FormatMap {
			names = append(names, string(f))
		}
	}
	return strings.Join(names, ", ")
}
