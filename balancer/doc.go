// Package balancer is a weighted round-robin picker for a proxy: it takes
// validated nodes (see package weights) and returns the next backend in
// bounded, lock-free, allocation-free work, whatever the weights.
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
//     state starts after the LAST node (as if it had just been picked), so the
//     first scan begins at the first node with the current weight one gcd step
//     below the maximum; WithStart chooses another node, like resty's random
//     last_id.
//
// Per full cycle (total weight / gcd picks) every serving node is picked
// exactly weight / gcd times, whatever the algorithm.
//
// Nodes with weight 0 are drained: they stay members (so Eject, Restore and
// States know them) but are never picked. An empty set, a set where every
// node is drained, ejected or already tried makes Next and NextExcluding
// return ErrNoBackends, ErrAllDrained, ErrAllEjected or ErrAllExcluded at
// once.
//
// A Balancer is safe for concurrent use. Picks read an immutable schedule
// through an atomic pointer; Update, Eject, Restore and the clock-driven
// changes (ejection expiry, slow-start steps) build a new schedule and swap
// it in. An update that would leave no serving node is refused with an
// *UpdateError and the previous state keeps serving.
package balancer
