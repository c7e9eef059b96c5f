package registry

import (
	"errors"
	"fmt"
	"github.com/safewrr/safewrr/weights"
)

// Convention says whose meaning of a zero, missing or unparsable weight a
// registry decoder applies.
type Convention uint8

// Conventions.
const (
	// FollowRegistry applies what a registry defines well and nothing more:
	// a missing weight takes the registry's documented default, a number 0
	// or a non-serving status drains, Envoy's 0 refuses the whole response,
	// Nacos weights are scaled and rounded; every such decision is noted. A
	// weight that is NaN, infinite, negative, a non-numeric or malformed
	// string, a fraction where the registry has integers, or out of range is
	// rejected, and the reject's message says what the registry's SDK would
	// have done with it ("the kratos selector would use 100"). The string
	// "0" is rejected (ReasonStringZero). Policy fields set to something
	// other than their zero value (DefaultWeight, Zero, Partial,
	// MissingRejected) override the registry's meaning. Default.
	FollowRegistry Convention = iota
	// FollowPolicy ignores the registry's conventions and applies only the
	// Policy: an unparsable string is rejected (ReasonBadString), a missing
	// weight takes the policy's default, 0 follows Policy.Zero. Weights a
	// registry stores as strings are still read as decimal strings, since
	// that is their type there.
	FollowPolicy
	// FollowSDK is FollowRegistry plus the lenience of the registry's main
	// client, for users who must reproduce it: the Bilibili discovery SDK
	// reads an unparsable or ≤ 0 weight as 10, the kratos selector an
	// unparsable one as 100, Spring Cloud an unparsable or ≤ 0 one as 1,
	// and strings such as "010" or "+10" are read as the client's integer
	// parser reads them. Every substitution is noted (NoteDefaulted). The
	// string "0" is rejected all the same.
	FollowSDK
)

// HealthMode says what happens to an instance that the registry marks as not
// serving (down, unhealthy, disabled, not ready, a failing check).
type HealthMode uint8

// Health modes.
const (
	// HealthDrain keeps the instance as a member with weight 0 (its weight is
	// still validated) and notes why. Default.
	HealthDrain HealthMode = iota
	// HealthReject rejects the instance with ReasonNotServing.
	HealthReject
	// HealthIgnore ignores the registry's health flags and uses the weight as
	// sent; the node is noted.
	HealthIgnore
)

// Options tell Decode how to read a registry's response. The
// zero value follows the registry's conventions under the strict Policy.
type Options struct {
	// Policy validates the weights, as for Decode. Its Strings mode applies
	// to registries whose weights are numbers; for registries that store the
	// weight as a string (discovery, kratos, Eureka metadata) decimal strings
	// are the normal type and are always read.
	Policy weights.Policy
	// Convention: FollowRegistry (default), FollowPolicy or FollowSDK.
	Convention Convention
	// Health: HealthDrain (default), HealthReject or HealthIgnore.
	Health HealthMode
	// Service keeps only the instances of one service: a discovery appid, a
	// Eureka application name (case-insensitive), an EDS cluster name, a
	// kratos service name. Empty keeps every service in the payload.
	Service string
	// Scheme chooses, for instances that list several URLs (discovery addrs,
	// kratos endpoints), the one with this scheme ("grpc", "http"). Empty
	// takes the first URL.
	Scheme string
	// Port chooses an EndpointSlice port by name. Empty takes the only port;
	// a slice that lists several is then an error that names them.
	Port string
	// MergeServices serves the instances of every service in a payload as
	// one pool. Without it, and without Service, a payload that holds
	// several services (discovery appids, Eureka applications, EDS clusters,
	// kratos names, Consul services, EndpointSlice services) is an error
	// wrapping ErrMultipleServices that names them.
	MergeServices bool
}

// ErrMultipleServices is wrapped by the error of a payload that holds
// several services when the options neither choose one nor merge them.
var ErrMultipleServices = errors.New("registry: the payload holds several services")

// ErrMultiplePorts is wrapped by the error of an EndpointSlice that lists
// several ports when the options do not choose one by name.
var ErrMultiplePorts = errors.New("registry: the EndpointSlice lists several ports")

// NoteCode is a stable, machine-readable code for a note.
type NoteCode string

// Note codes. The text of each is part of the project's contract, like the
// Reason codes.
const (
	// NoteDefaulted: a missing, zero or unparsable weight was replaced by
	// the registry's (or the policy's) default weight.
	NoteDefaulted NoteCode = "defaulted"
	// NoteDrained: the registry marks the instance as not serving; it is
	// kept as a member with weight 0.
	NoteDrained NoteCode = "drained"
	// NoteDegraded: the registry marks the instance degraded (a Consul
	// warning check) and its degraded weight applies.
	NoteDegraded NoteCode = "degraded"
	// NoteStandby: the instance belongs to a lower priority group (Envoy
	// priority, APISIX priority) that takes traffic only when the active
	// group has none; it is kept with weight 0.
	NoteStandby NoteCode = "standby"
	// NoteHealthIgnored: the registry marks the instance as not serving and
	// the options say to ignore that.
	NoteHealthIgnored NoteCode = "health-ignored"
	// NoteRounded: a fractional weight was rounded to an integer after
	// scaling (Nacos).
	NoteRounded NoteCode = "rounded"
	// NoteNumberType: a JSON number arrived where the registry stores the
	// weight as a string.
	NoteNumberType NoteCode = "number-type"
	// NoteIgnored: a field that looks like a weight is not the one the
	// registry's clients use (Consul Meta.weight, Envoy locality weights,
	// discovery scheduler weights) and was not applied.
	NoteIgnored NoteCode = "ignored"
	// NoteAddress: the node's address came from a fallback or a choice
	// (Consul Node.Address, an APISIX default port, one of several URLs).
	NoteAddress NoteCode = "address"
	// NoteScaled: the payload's weights were multiplied by a scale.
	NoteScaled NoteCode = "scaled"
	// NoteFiltered: instances of other services were left out (Service).
	NoteFiltered NoteCode = "filtered"
)

// Note is something a registry decoder decided about a node it accepted, or
// about the payload as a whole (Index -1), so a person can see what was read
// and why.
type Note struct {
	Index  int    // position of the instance in the payload, from 0; -1 for the payload
	ID     string // the node's id ("" for the payload)
	Code   NoteCode
	Raw    weights.Raw // the value the note is about, as sent (absent if none)
	Detail string      // for people
}

// String reads like: node "10.0.0.1:9000" (#2): defaulted: weight "abc" ...
func (n Note) String() string {
	if n.Index < 0 {
		return fmt.Sprintf("payload: %s: %s", n.Code, n.Detail)
	}
	return fmt.Sprintf("node %q (#%d): %s: %s", n.ID, n.Index, n.Code, n.Detail)
}

// Report is a Report with the notes of a registry decoder.
type Report struct {
	weights.Report
	// Notes say what the decoder decided for accepted nodes and for the
	// payload, in payload order (payload notes first).
	Notes []Note
	// Services are the names of the services the payload holds, in payload
	// order, whether chosen or left out; empty when the format names none.
	Services []string
}
