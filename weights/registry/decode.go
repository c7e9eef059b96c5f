package registry

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

// Decode decodes one response of registry format f into an ordered
// snapshot, node ids "host:port", in the registry's order. Each registry's
// own meaning of its weight is applied as o.Convention says, instances the
// registry marks as not serving are handled as o.Health says, and every such
// decision is a Note. FormatMap is Decode (no notes); FormatAuto detects the
// format from the payload's shape. Report.Format names the format used.
//
// By default (FollowRegistry, HealthDrain, strict Policy):
//
//	discovery  metadata.weight string; missing → 10 (its Go SDK's default); number 0 or status ≠ 1 → drained
//	kratos     metadata.weight string; missing → 100 (its selector's default); 0 drains
//	consul     Service.Weights.Passing, or .Warning when the worst check warns; critical → drained; missing → 1
//	nacos      hosts[].weight float × Scale 100, rounded; 0, healthy:false or enabled:false → drained; missing → 1.0
//	eureka     metadata.weight string; missing → 1 (Spring Cloud's default); status ≠ UP → drained
//	eds        load_balancing_weight, unset → 1, 0 invalid and any reject refuses the whole response; unhealthy → drained
//	apisix     nodes weight integer; 0 drains; missing is rejected (its schema requires it); lower priority → standby
//	endpointslice  no weights: ready endpoints weigh 1; not ready → drained
//
// NaN, infinities, negatives, malformed strings ("", "abc", "+10", "010"),
// fractions where the registry has integers and values out of range are
// rejected, and the message says what the registry's client would have done
// (FollowSDK does it). The string "0" (and "00", ...) is rejected with
// ReasonStringZero in every format and convention. Every id must be
// "host:port" (weights.IDsAddress) and is served in canonical form, so one
// instance sent twice, however its address is spelled, is one node: served
// once when the copies read the same, not at all (every copy rejected with
// ReasonDuplicateID) when they disagree. A payload with several services is
// an error wrapping ErrMultipleServices unless o.Service or o.MergeServices.
// A payload that is XML (Eureka's default answer) is a syntax error that
// says so.
func Decode(f Format, data []byte, o Options) (weights.Snapshot, Report, error) {
	s, r, err := decode(f, data, o)
	if err != nil && errors.Is(err, weights.ErrSyntax) && looksXML(data) {
		hint := "the payload is XML, not JSON"
		if f == FormatAuto || f == FormatEureka {
			hint += ": Eureka answers XML unless the request asks for JSON (send the header Accept: application/json)"
		}
		err = fmt.Errorf("%w; %s", err, hint)
	}
	return s, r, err
}

// looksXML reports whether a payload starts, after white space, with '<'.
func looksXML(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '<'
}

// decode is Decode without the hint for an XML payload.
func decode(f Format, data []byte, o Options) (weights.Snapshot, Report, error) {
	if f == FormatMap {
		s, r, err := weights.Decode(data, o.Policy)
		r.Format = string(FormatMap)
		return s, Report{Report: r}, err
	}
	auto := f == FormatAuto // once: under a fuzzing build each string comparison calls a hook
	if !auto {
		if _, err := ParseFormat(string(f)); err != nil {
			return weights.Snapshot{}, Report{}, err
		}
	}
	if err := o.Policy.Check(); err != nil {
		return weights.Snapshot{}, Report{}, err
	}
	var root weights.Raw
	parsed := false
	if auto {
		var err error
		if len(data) <= smallPayload {
			// A small payload is parsed whole once and told by the
			// outline of its tree (what DetectFormat would read), not
			// read once for its outline and again for the tree.
			root, err = weights.ParseJSON(data, o.Policy.Limits)
			switch {
			case err == nil:
				parsed = true
				f, err = detectFormat(weights.Sketch(root, detectKeys...))
			case errors.Is(err, weights.ErrTooLarge):
				// Too many values for a tree: DetectFormat, which
				// builds none, says what the payload is.
				f, err = DetectFormat(data, o.Policy.Limits)
			}
		} else {
			f, err = DetectFormat(data, o.Policy.Limits)
		}
		if err != nil {
			return weights.Snapshot{}, Report{Report: weights.Report{Format: string(FormatAuto)}}, err
		}
		if f == FormatMap {
			s, r, err := weights.Decode(data, o.Policy)
			r.Format = string(FormatMap)
			return s, Report{Report: r}, err
		}
	}
	if !parsed {
		var err error
		root, err = weights.ParseJSON(data, o.Policy.Limits)
		if err != nil {
			return weights.Snapshot{}, Report{Report: weights.Report{Format: string(f)}}, err
		}
	}
	return decodeRegistryRaw(f, root, o)
}

// smallPayload is the size up to which FormatAuto parses a payload whole
// before telling its format: the tree is then built once. A larger payload
// is told from an outline first (DetectFormat), so that one that decodes as
// a map, which Decode reads without a tree, never has one built.
const smallPayload = 4 << 10

// decodeRegistryRaw runs the decoder of a registry format on a parsed payload.
func decodeRegistryRaw(f Format, root weights.Raw, o Options) (weights.Snapshot, Report, error) {
	var (
		insts []instance
		notes []Note
		err   error
	)
	rf, ok := registryFormatOf(f)
	if !ok {
		return weights.Snapshot{}, Report{Report: weights.Report{Format: string(f)}}, fmt.Errorf("%w %q", ErrUnknownFormat, f)
	}
	c := &collector{o: o, rule: rf.rule, max: o.Policy.Limits.WithDefaults().MaxNodes}
	err = rf.decode(c, root)
	rep := Report{Report: weights.Report{Format: string(f)}, Services: c.services}
	if err != nil {
		return weights.Snapshot{}, rep, err
	}
	if len(c.services) > 1 && len(o.Service) == 0 && !o.MergeServices && !plantServicesMerged {
		return weights.Snapshot{}, rep, fmt.Errorf("%w: %s; choose one (Options.Service) or merge them (Options.MergeServices)",
			ErrMultipleServices, quoteList(c.services))
	}
	if len(o.Service) != 0 && !c.chosen && len(c.services) > 0 {
		c.note(NoteFiltered, weights.Raw{}, "no service %q in the payload; it holds %s", o.Service, quoteList(c.services))
	}
	if c.multiURL > 0 {
		if len(o.Scheme) == 0 {
			c.note(NoteAddress, weights.Raw{}, "%d instances list several URLs; the first of each was used (set a scheme to choose)", c.multiURL)
		} else {
			c.note(NoteAddress, weights.Raw{}, "%d instances list several URLs; the %s:// one of each was used", c.multiURL, o.Scheme)
		}
	}
	insts, notes = c.insts, c.notes
	s, r := c.rule.build(insts, o)
	r.Report.Format = string(f)
	r.Notes = append(notes, r.Notes...)
	r.Services = c.services
	return s, r, nil
}
