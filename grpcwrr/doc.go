// Package grpcwrr runs safewrr inside a grpc-go client: a load-balancing
// policy named "safewrr" and a resolver that feeds it from a service
// registry's payload.
//
// # The policy
//
// Importing the package registers the policy with grpc-go. A client selects
// it in its service config:
//
//	{"loadBalancingConfig": [{"safewrr": {"algorithm": "smooth", "slowStart": "30s"}}]}
//
// The config's fields are described on [Config]; a bad value makes the
// service config fail to parse with an error that starts with "grpcwrr:".
//
// The weight of each endpoint comes from the resolver, as the registry sent
// it: a resolver attaches it with [SetWeight] or [SetEntry], and the policy
// judges it with the weights package's policy (strict by default). A string
// "0", NaN, a negative, a fraction or an out-of-range value never reaches
// the picker: the endpoint is rejected, logged through grpclog (component
// "safewrr", with the reason), never connected and never picked. So is an
// endpoint with a duplicate id, without an address, with an address that
// an earlier accepted endpoint already has, compared in canonical form (one
// connection cannot be two nodes), or with an address that is not a TCP host:port: an address must
// follow the id rules of "safewrr proxy" (an IP literal or a DNS name and a
// port 1-65535; no scheme, path or userinfo), and its host must not be a
// name that gRPC reads as a scheme ("unix", "unix-abstract", "vsock", or a
// registered resolver's scheme such as "dns"), so "unix:80", which grpc-go
// would dial as the Unix socket "80", is rejected (not-an-address) and
// never dialed. An endpoint without a weight gets the policy's default
// weight (1). The package's own resolver hands over nodes its feed has
// already validated (with the target's policy): the policy takes them as
// they are, with no second judgement.
// The number 0 drains an endpoint: it stays a member and is never picked.
// When every endpoint of an update is rejected, or the update would leave
// nothing to serve, the update is refused: the previous set keeps serving and
// grpc-go is told the resolver state was bad (so it asks the resolver again).
//
// Each accepted endpoint gets one pick_first child (one connection). Only a
// READY endpoint is picked. An endpoint starts drained and joins the rotation
// the first time it is READY: at full weight for the endpoints of the
// channel's first resolver update (while none is ejected or ramping), through
// slow start (when configured) for endpoints added later. An endpoint whose
// connection goes to TRANSIENT_FAILURE is ejected from the balancer until it
// is READY again, then comes back through slow start; at most
// maxEjectedPercent of the endpoints that are not drained are ejected at
// once. Beyond that cap a failed endpoint keeps its place in the schedule and
// is passed over while it is not READY: its turn goes to the next READY
// endpoint in schedule order, and it serves again at full weight as soon as
// it is READY (it was never ejected). A change of the algorithm, slow start,
// cap or random start builds a new balancer: ejections are applied again,
// ramps in progress end.
//
// A pick is the balancer's Next: one atomic add and a table lookup, then a
// map lookup from node to connection; no lock, no allocation. The picker is
// immutable and replaced as a whole on every change; the balancer's own
// schedule is swapped atomically inside it. Ejections and restores are built
// into the schedule (balancer.Sync) in the policy's callback, off the
// request path, before the new picker is installed; slow-start steps are
// built in the background as the balancer does.
//
// # The resolver
//
// A target "safewrr:///PATH?format=F&service=S" (or an http or https URL
// in place of PATH, percent-encoded) reads a registry payload through the
// feed package, the same guarded path as "safewrr proxy": a payload that
// fails to decode or validate is refused and the last good set keeps
// serving. Node ids are held to the policy's address rule above: a node
// whose id is not a TCP host:port ("unix:80", "unix:/run/x.sock",
// "vsock:80") is rejected with its reason in the feed's status and log and
// never passed to grpc-go. See [NewResolverBuilder].
package grpcwrr
