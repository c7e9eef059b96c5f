// Package feed is a service registry as a source of validated node sets: it
// reads a payload from a Source (a file, an HTTP URL, or any function),
// decodes and checks it with package weights, and hands the nodes to a Sink
// only when the update is safe. It is what `safewrr proxy` is built on, and
// what a Go proxy author embeds to get the same guarantee: a bad registry
// record never reaches the picker.
//
// # Sinks
//
// A Sink is whatever balances over the nodes: anything with an
// Update([]weights.Node) error method. By default the feed builds a
// balancer.Balancer (options through WithBalancer, picks through Balancer);
// WithSink hands the sets to a sink of your own instead (a balancer you
// built, grpcwrr's gRPC resolver, a proxy's upstream pool), and the feed
// builds nothing. Either way the guards below run before the sink sees a
// set, and a sink may refuse one too.
//
// # Guards
//
// Every poll either applies a new node set or keeps the last good one. An
// update is refused, and the nodes that were serving go on serving, when the
// payload cannot be read or decoded, when the policy refuses it (a rejected
// node under RefuseWhole, every node rejected), when it would leave no node
// to serve (empty, all drained), or when it drops more of the total weight
// than WithMaxWeightDrop (or the balancer's balancer.WithMaxWeightDrop)
// allows. Nodes the policy rejects are left
// out of an otherwise good update and listed in the Status with their
// reason; so are nodes whose id breaks a rule added with WithIDRule (grpcwrr
// adds "a TCP host:port that gRPC dials as such"). A payload identical to the previous one is not decoded again.
//
// # Status and notifications
//
// Status returns a snapshot: poll and update counts and times, the outcome
// of the last poll, the last error and the last refused update (both kept
// until a good update is applied), and the rejects and decoder notes of the
// latest payload (totals per reason, and the first few in payload order).
// Changed returns a channel closed when the next poll completes, for
// long-polls; WithOnChange calls a function after every poll that changed
// something (an update applied or refused, a new fetch error).
//
// # Polling
//
// Run polls every interval (WithInterval) with random jitter (WithJitter), so
// that a fleet of proxies does not hit the registry at the same instants;
// after a failed fetch the interval doubles up to WithMaxBackoff until a fetch
// succeeds. Trigger asks Run for a poll at once (a proxy's SIGHUP). A poll
// that is still reading never holds up a Trigger (kept and served right
// after it) or Run's end when its context is done.
//
// File reads a regular file only, without ever blocking on the path: a FIFO,
// a device, a directory, a dangling link or a file over WithMaxBytes is a
// fetch error that says what it is, and the last good nodes keep serving.
//
// # Logging
//
// Rejected nodes and decoder notes are logged once per change of the
// payload's rejects, as one line with the totals per reason plus a line for
// each of the first few new rejects; a payload that keeps its bad nodes is not
// logged again, whatever the number of polls. A fetch error is logged when it
// differs from the previous one.
//
// A Feed is safe for concurrent use.
package feed
