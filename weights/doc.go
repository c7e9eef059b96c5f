// Package weights turns untrusted service-registry data into validated,
// ordered nodes for a weighted balancer, with a reason for every reject.
//
// A registry's payload is decoded at the token level into Raw values that
// keep what was actually sent: the string "0" stays a string, 1e400 keeps its
// text, object order and duplicate keys are kept. A Policy then decides which
// raw weights are usable and what they mean; every rejected node comes back as
// a *NodeError whose Unwrap gives a sentinel such as ErrStringZero or ErrNaN.
// Nothing that is not a finite integer within the policy's range is ever
// accepted, so nothing this package returns can make a balancer loop.
//
// # Entry points
//
//   - Decode reads a snapshot, {"id": weight, ...} or [{"id": ..., "weight": ...}, ...].
//   - Policy.Build validates entries that came from elsewhere (Go values, Lua
//     values, a registry decoder).
//   - Policy.Weight decides a single raw weight.
//   - ParseJSON is the token-level decoder underneath; package
//     weights/registry uses it to read registry formats.
//   - Encode writes a snapshot back as {"id": weight, ...}.
//
// # Numbers
//
// A number's meaning is decided exactly from its text, never through
// float64: 10.0 and 1e2 are the integers 10 and 100; -0 and 0.0 are 0; 0.5 is
// a fraction unless the policy's Scale makes it integral; 1.0000000000000000001
// is a fraction; 1e400 and 4294967296 are overflows. The checks run in this
// order: malformed text, NaN, infinite, negative, fraction (after scaling),
// overflow (above MaxWeight). The bare tokens NaN, Infinity and -Infinity,
// which Python and JavaScript tools write though JSON has no such values, are
// read so that the node, not the payload, is rejected.
//
// # Strings
//
// A string of zeros ("0", "00") is rejected with ReasonStringZero in every
// policy: registries disagree on whether it means drain or default. Other
// strings are ReasonStringWeight under the strict default; the lenient policy
// accepts a plain decimal integer without sign, space or leading zero ("10")
// and rejects everything else ("-0", "0.0", "010", " 10") with
// ReasonBadString.
//
// # Ids
//
// Every id is non-empty valid UTF-8 without control characters or white
// space at either end. Under IDsAddress (the registry decoders, the proxy)
// an id is "host:port" with a host that is an IP literal or a DNS name, and
// it is kept in canonical form, so that one backend spelled two ways is one
// node: DNS names in lower case without a final dot, IPv6 as RFC 5952
// writes it, IPv4-mapped IPv6 as IPv4. A host that ends in a number must be
// dotted-decimal IPv4 (0x7f.0.0.1, 0177.0.0.1 and 127.1 are rejected:
// resolvers disagree on them). An IPv6 zone is written after a bare '%'
// ("[fe80::1%eth0]:80"), as host:port text writes it; a zone written
// "%25eth0", a URI's spelling (RFC 6874), is rejected, since it reads as
// the zone "25eth0" here and as "eth0" to a URL parser. A host that is not
// one backend is rejected: the unspecified address (0.0.0.0 and the rest
// of 0.0.0.0/8, "::"), which a dial takes to the local host, multicast
// addresses and the broadcast address 255.255.255.255. Loopback and
// link-local addresses are accepted (tests, sidecars and hosts on the same
// link are backends; whether to reach them is a deployment's policy).
// ParseAddress applies the same rules to one id.
//
// An id sent more than once must mean one thing: copies that read the same
// are served once, as the first; copies that disagree ({"a": 5, "a": 0},
// which a reader keeping the last value drains) are all rejected with
// ReasonDuplicateID, and no copy is served.
//
// # Snapshots
//
// The number 0 drains a node by default (kept as a member, never picked). An
// empty payload ({} or []) is a normal, empty snapshot. A snapshot is refused
// (Report.Refused) when the policy refuses partial snapshots and a node was
// rejected, or when every node of a non-empty payload was rejected; the
// caller should then keep its last good snapshot. Problems with the payload
// as a whole (not JSON, a byte-order mark, invalid UTF-8, trailing data, too
// large, nested too deeply, too many nodes) are a *PayloadError carrying the
// byte offset.
package weights
