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
// it comes back by itself once the clock passes that time. At most
// WithMaxEjectedPercent of the nodes that are not drained (50% by default)
// are ejected at once; beyond that Eject fails with ErrEjectLimit. With
// WithSlowStart, a node that joins through Update (or goes from weight 0
// to a positive weight) or comes back from ejection ramps its effective
// weight in ten steps from about a tenth of its weight to its full weight
// over the window; the first nodes a balancer gets (given to New, or to an
// Update from an empty set) serve at full weight at once. Ejections and ramps are kept by node id: a node that
// the registry drops and sends again while its ejection or ramp runs comes
// back in that state (a registry flap does not undo an ejection). States
// and State report them; a failure handler asks State rather than keeping
// a record of its own.
//
// # Changes off the request path
//
// Next, NextExcluding, Eject and Restore never build a schedule. Building
// one costs O(cycle) to O(cycle * distinct weights) (milliseconds for a
// thousand nodes with unrelated weights), so changes reach the schedule
// like this:
//
//   - Eject records the ejection and adds the node to a short list on the
//     current schedule of nodes picks must skip; from the moment Eject
//     returns no pick returns the node. A pick whose position in the cycle
//     holds a listed node is that node's share, and goes to another node:
//     the next point of a golden-ratio sequence (k/phi mod 1 for the k-th
//     such pick of the schedule) over the effective weights of the nodes
//     that are neither listed nor, for NextExcluding, tried. Until the
//     build is in, the ejected nodes' picks are thus spread over the
//     serving nodes in proportion to their weights (a ramping node at its
//     ramped weight, a drained node never), evenly over short windows as
//     well as in total, rather than all handed to the node that follows
//     them in the cycle: with four equal nodes and one ejected, each of the
//     three others gets 100 of the next 300 picks, and after any number of
//     picks each is within a few picks of its share. The choice depends only on
//     the pick counts, not on the clock or chance, and the cycle's own
//     counter still moves once per pick, so the build's schedule takes
//     over at the position it would have had and gives every node exactly
//     its share per cycle from then on. The work is a binary search over
//     the nodes and the list, bounded by the logarithms of the node count
//     and of the list's length (the ejections since the last build), never
//     by weights. NextExcluding makes the same choice, counted by the same
//     k, when the position holds a node the request already tried, so a
//     failing node that is not ejected hands its retries to the untried
//     nodes by weight, not to its neighbour in the cycle.
//   - Eject, Restore and the clock's changes (an ejection that ends, a
//     slow-start step) start a background build: one goroutine, started by
//     the call or by the first pick that finds the schedule's deadline
//     passed (while a change is due each pick reads the clock, otherwise
//     picks never do), which builds the schedule for the state and swaps it
//     in atomically, and ends once nothing is left to build. An idle
//     Balancer holds no goroutine and needs no Close.
//   - Until that build is in, picks follow the previous schedule minus the
//     listed nodes: a restored node, an ejection that ended or a ramp step
//     takes effect one build later (the build's time: microseconds for small
//     sets, up to tens of milliseconds for the largest exact cycles; see
//     bench/README.md for figures), and the order of picks follows the algorithm
//     again from there.
//   - A request does not fail for nothing: when every node of the current
//     schedule was ejected after it was built while nodes it left out came
//     back (a restore, an ejection that ended), a pick that finds no node
//     chooses among those, in proportion to their configured weights (slow
//     start does not apply to these few picks), in work bounded by the
//     number of nodes the schedule left out, until the build is in.
//   - Sync builds in the caller and returns once the schedule is current,
//     for tests, simulations and comparisons that need the exact order at
//     a known point. Update builds in its caller too: once it returns,
//     picks come from the new set.
//
// # Updates
//
// Update replaces the node set atomically for readers. An update that
// would leave no serving node, or (with WithMaxWeightDrop) that drops too
// much of the total weight at once, is refused with an *UpdateError and the
// previous state keeps serving. Every new schedule (update, ejection,
// restore, ramp step) carries the position over:
//
//   - Resty (exact cycles) changes its find() state exactly as
//     resty.roundrobin's own operations would: a node that stops serving is
//     resty's delete (which clears the last picked node when it is that
//     node, so the scan restarts at the first node), a changed weight or a
//     new node is resty's set (incr or decr), applied in the new set's
//     order after the deletions; delete and decr cap the current weight at
//     the new maximum and the scan goes on after the last node; the current
//     weight is kept as resty keeps it across a gcd change. A set of one
//     node leaves the state untouched (resty returns the only node at
//     once). A set that shares no serving node with the previous one is
//     resty's reinit: it starts like New.
//   - Smooth, and the long-cycle forms: the same nodes and effective
//     weights keep the exact position, so an update with an unchanged set
//     does not disturb the sequence; otherwise the new schedule starts at
//     the same fraction of its cycle as the old one had reached. nginx
//     itself resets smooth current weights when its peers change; this
//     keeps a rebuild from sending the next picks to the heaviest node
//     again.
//
// A Balancer is safe for concurrent use.
package balancer
