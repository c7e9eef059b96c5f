// Package balancer is a weighted round-robin picker for a proxy: it takes
// validated nodes (see package weights) and returns the next backend in
// bounded, lock-free, allocation-free work, whatever the weights.
//
// # Algorithms
//
// Two algorithms are available, chosen with WithAlgorithm:
//
//   - Smooth (the default) produces the sequence of nginx's smooth weighted
//     round robin (ngx_http_upstream_get_peer): on each pick every serving
//     node's current weight grows by its weight, the node with the largest
//     current weight is picked (ties go to the first node in order) and loses
//     the total weight. Current weights start at zero.
//   - Resty produces the sequence of lua-resty-balancer's resty.roundrobin
//     find(): the state is the last picked node and a current weight that
//     starts at the maximum weight; a pick scans forward from the node after
//     the last one and takes the first node whose weight is at least the
//     current weight; when the scan runs past the last node, the current
//     weight drops by the gcd of the weights (wrapping to the maximum once it
//     reaches zero) and the scan restarts at the first node. By default the
//     state starts after the LAST node, as if it had just been picked: the
//     first scan runs past the end at once, so the first pick is made at
//     the first node with the current weight one gcd step below the maximum
//     (for {a=5, b=1, c=1}: a a a a b c a ...). WithStart(i) starts after
//     node i instead, like resty's random last_id; WithRandomStart starts
//     at a random point of the cycle.
//
// Gcd and maximum are taken over the serving nodes. Per full cycle (total
// weight / gcd picks) every serving node is picked exactly weight / gcd
// times, whatever the algorithm and the representation below.
//
// # Schedules
//
// A pick is one atomic add on a counter and an O(1) lookup in an immutable
// schedule, read through an atomic pointer: no lock, no allocation, no loop
// that depends on the weights.
//
// When the cycle fits in 256 KiB (one byte per entry up to 256 nodes, two
// up to 65,536, four beyond) the schedule is the exact cycle of node
// positions, and picks follow the algorithm exactly. Building it costs
// O(cycle) for Resty and O(cycle * distinct weights) for Smooth.
//
// A longer cycle (many nodes with unrelated weights: 10,000 nodes with
// weights 1..100 make a cycle of about 500,000 picks) keeps exact per-cycle
// proportions but no longer the nginx or resty order, for either algorithm.
// The cycle is then made of rows, one per threshold t from 1 to the largest
// weight/gcd: the row for t holds every node whose weight/gcd is at least t,
// heaviest first (ties in order). Rows follow a golden-ratio walk over the
// thresholds, so each node's picks are spread evenly over the cycle, and a
// pick finds its row in a small table. With a largest weight/gcd above
// 16,383 (weights of very different sizes) a third form maps the pick
// counter through a golden-ratio permutation onto the nodes' weight ranges.
// WithStart does not apply to these forms. Memory stays under 64 bytes per
// node plus 256 KiB of tables in every form.
//
// # Membership, drain, ejection, slow start
//
// Nodes with weight 0 are drained: they stay members (so Eject, Restore and
// States know them) but are never picked. An empty set, a set where every
// node is drained, ejected or already tried makes Next and NextExcluding
// return ErrNoBackends, ErrAllDrained, ErrAllEjected or ErrAllExcluded at
// once.
//
// Eject takes a node out until a time of the injected clock (WithClock);
// it comes back by itself once the clock passes that time, on the next pick
// or call. At most WithMaxEjectedPercent of the nodes that are not drained
// (50% by default) are ejected at once; beyond that Eject fails with
// ErrEjectLimit. With WithSlowStart, a node that joins through Update (or
// goes from weight 0 to a positive weight) or comes back from ejection
// ramps its effective weight in ten steps from about a tenth of its weight
// to its full weight over the window; each step rebuilds the schedule once.
// While a change is due (an ejection or a ramp in progress) each pick reads
// the clock; otherwise picks never do.
//
// # Updates
//
// Update replaces the node set atomically for readers. An update that
// would leave no serving node, or (with WithMaxWeightDrop) that drops too
// much of the total weight at once, is refused with an *UpdateError and the
// previous state keeps serving. Every change (update, ejection, restore,
// ramp step) builds a new schedule; what carries over:
//
//   - nodes are matched by id: ejections and ramps follow their node;
//   - a rebuild with the same nodes and effective weights keeps the exact
//     position, so an update with an unchanged set does not disturb the
//     sequence;
//   - Resty (exact cycles) keeps its find() state: the scan goes on after
//     the last picked node (or, if it left, the nearest earlier node that
//     stayed) at the same current weight, rounded up to the new gcd and
//     capped at the new maximum (then the scan restarts at the first node);
//   - otherwise the new schedule starts at the same fraction of its cycle
//     as the old one had reached. nginx itself resets smooth current
//     weights when its peers change; this keeps a rebuild from sending the
//     next picks to the heaviest node again.
//
// A Balancer is safe for concurrent use.
package balancer
