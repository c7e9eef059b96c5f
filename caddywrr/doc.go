// Package caddywrr brings safewrr into Caddy v2: a dynamic upstream source
// that reads a service registry through package feed (the guarded path of
// `safewrr proxy`: untrusted weights validated, bad updates refused, the
// last good set kept) and a selection policy that picks with a
// balancer.Balancer (exact shares per cycle, nginx's smooth order, lock-free
// and allocation-free picks).
//
// Importing the package registers three Caddy modules:
//
//   - http.reverse_proxy.upstreams.safewrr (Upstreams): `dynamic safewrr
//     FILE|URL { ... }` in a Caddyfile's reverse_proxy block;
//   - http.reverse_proxy.selection_policies.safewrr (Policy): `lb_policy
//     safewrr [weights...]`, over the registry's weights with the source
//     above, or over static `to` upstreams with weights given in order;
//   - admin.api.safewrr (Admin): GET /safewrr/status on Caddy's admin
//     endpoint, every source's feed status as JSON.
//
// Build Caddy with it by `xcaddy build --with github.com/safewrr/safewrr/caddywrr`,
// or from a main package that imports it beside Caddy's standard modules
// (see cmd/caddy).
//
// # Health and retries
//
// Caddy keeps each upstream's health (active and passive health checks,
// circuit breakers, request limits); the policy asks it for every upstream
// it picks. An upstream Caddy reports unhealthy is ejected from the
// balancer's schedule for Policy.Recheck, so the others keep exact shares
// among themselves, and is asked about again after that; one at its request
// limit is passed over for that pick only. At most
// Policy.MaxEjectedPercent of the upstreams (50% by default) are ejected at
// once; beyond that an unhealthy upstream is passed over pick by pick. When
// Caddy retries a request (lb_retries, lb_try_duration), the policy does
// not return an upstream already tried for that request while an untried
// available one is left: what it picked is kept in the request's variable
// table (the first pick as a pointer, so a request that is not retried
// allocates nothing for it).
//
// # Reloads
//
// Feeds are kept by their source's configuration: a config reload that
// keeps a source's fields keeps its feed (no new first poll, the last good
// set serving on, even when the registry is bad at that moment); the feed
// stops when no loaded config uses it.
//
// # Logs
//
// The source logs through the logger of the newest config that uses it: an applied update at INFO,
// rejected nodes and decoder notes once per change of the payload's
// rejects, a refused update at ERROR, a fetch error when it differs from
// the previous one.
package caddywrr
