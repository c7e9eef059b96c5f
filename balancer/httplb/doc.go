// Package httplb is the HTTP side of safewrr: a reverse proxy over a
// balancer.Balancer with everything `safewrr proxy` guarantees, as a
// library. The command is flags and wiring over this package.
//
// # A proxy in a few calls
//
// A balancer starts empty; NewProxy puts an httputil.ReverseProxy in front
// of it; NewServer serves it with the proxy's timeouts and limits; an Admin
// serves the status and health endpoints on a listener of their own; a
// feed then hands the registry's good node sets to the balancer (its Sink).
// Both listeners answer from the start: 503 saying why until the first
// poll has applied nodes (see Example_server):
//
//	lb, err := balancer.New(nil)
//	base, err := httplb.NewBackendTransport(httplb.DefaultTimeouts, nil)
//	tr, err := httplb.NewTransport(lb, httplb.WithBase(base))
//	srv, err := httplb.NewServer(tr.Proxy(), httplb.DefaultTimeouts)
//	go srv.Serve(httplb.LimitConns(srv, ln, 4096))
//	admin := &httplb.Admin{}
//	go http.Serve(adminLn, admin)
//	f, err := feed.New(ctx, feed.File("registry.json"), feed.WithSink(lb))
//	admin.Attach(f, lb, tr)
//	go f.Run(ctx)
//
// Every option checks its value: NewProxy and NewTransport return an error
// naming the first bad one.
//
// # One pick loop
//
// A Transport is an http.RoundTripper that picks the node of every attempt
// in RoundTrip (a node's id is its "host:port"): the first attempt with the
// balancer's next node, each retry with a node not yet tried for this
// request (balancer.Balancer.NextExcluding), at most MaxAttempts in all.
// Rewrite only sets the X-Forwarded headers and keeps the path and query as
// the client sent them. A failed attempt is retried when the request is
// safe to repeat (see Retryable) and, whatever its method, when it never
// reached a backend (the connection could not be made).
//
// # Request bodies
//
// A request body up to WithBodyBuffer's limit (DefaultBodyBuffer, 1 MiB)
// is read whole before a node is picked, so a slow client holds no backend
// connection, and is sent again on a retry: with one dead node and one
// live one, every POST is delivered. WithBufferBudget caps the bytes held
// in such buffers across all requests; past it a body streams without a
// retry. WithMaxBody answers a longer body 413.
//
// # Only a backend's own failure charges it
//
// An attempt that fails because of the client's request (a body that
// cannot be read: bad chunking, a malformed trailer, a connection that
// breaks off or times out; a body over WithMaxBody; a trailer that may not
// be forwarded, such as Content-Length; a request-target with a '#'; a
// client that went away) returns a *RequestError with the status it
// deserves (400, 408, 413, or StatusClientClosedRequest). It charges no
// node and is not retried, so a hostile client cannot eject healthy
// backends. Only a refused or broken connection, a timeout, a bad response
// or a status of WithRetryStatus is a node's failure.
//
// # Ejection
//
// Consecutive failures of a node eject it from the balancer for a while
// (doubling each time it is ejected again, within the balancer's cap on
// ejected nodes); when the ejection ends the balancer brings the node back
// through its slow start, and the node's first success clears its record.
// A success from a node that is still ejected (a request sent before the
// ejection) restores it at once, also through slow start. A response is a
// success once its body has been read to the end; a body that breaks off
// (the backend closes or resets the connection before the announced length)
// is a failure of its node like a refused connection, and so is a body still
// unfinished when the request's context reaches its deadline while a read
// waits for the backend (a backend that trickles its body). A cancellation
// of the request (context.Canceled: the client went away) is nobody's
// failure, and neither is a deadline that had passed before the read began
// (the time went elsewhere, for example to a slow client). A response
// already under way is not retried: ReverseProxy aborts the client's
// connection, so the client sees the body cut short.
//
// Whether a node is ejected, and until when, is the balancer's record
// alone (balancer.Balancer.State): the transport counts failures but keeps
// no ejection time of its own, so a registry flap (the node dropped and
// sent again while ejected) or an update that lifts ejections cannot make
// the two disagree. Failures of a node the balancer holds ejected (requests
// sent before the ejection) are not counted.
//
// # Answers the proxy gives itself
//
// Proxy's ErrorHandler answers 503 with the reason when no node can take
// the request (no registry data yet, all drained, all ejected), a
// RequestError's status when the client was at fault, 504 when
// Timeouts.Request ended the request before a response, and 502 when the
// backends failed; each with a one-line plain-text body.
//
// # Server limits
//
// Timeouts holds the time limits of both sides (DefaultTimeouts are the
// command's, set against nginx's and Envoy's defaults): NewBackendTransport
// applies the backend side, NewServer the client side (a write deadline
// renewed before every write, as nginx's send_timeout), with request
// headers bounded by DefaultMaxHeaderBytes (32 KiB, 431 beyond).
// LimitConns bounds the connections open at once and, at the limit,
// closes idle keep-alive connections (oldest first) to make room for a new
// one, as nginx does; LimitListener only bounds them.
//
// # Admin
//
// Admin serves StatusPath (the feed's status, the nodes and their states,
// the transport's counters, as JSON, with bounded long-polls) and
// HealthPath (200 or 503 with the reason). It answers from the moment it
// exists, before the feed's first poll has completed, and works over any
// proxy that keeps a balancer with a feed (the Transport is optional).
package httplb
