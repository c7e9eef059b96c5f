// Package httplb puts a balancer.Balancer in front of HTTP backends with
// net/http/httputil.ReverseProxy.
//
// A Transport is an http.RoundTripper that sends each attempt of a request to
// a node of the balancer (a node's id is its "host:port"). When an attempt
// fails and the request is safe to repeat (see Retryable), it tries again on
// a node not yet tried for this request, at most MaxAttempts times in all.
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
// Only a backend's own failure charges it. An attempt that fails because
// of the client's request (a body that cannot be read: bad chunking, a
// malformed trailer, a connection that breaks off or times out; a body over
// a size limit; a trailer that may not be forwarded, such as
// Content-Length; a client that went away) returns a *RequestError with
// the status it deserves (400, 408, 413, or StatusClientClosedRequest). It
// charges no node and is not retried, so a hostile client cannot eject
// healthy backends.
//
// Whether a node is ejected, and until when, is the balancer's record
// alone (balancer.Balancer.State): the transport counts failures but keeps
// no ejection time of its own, so a registry flap (the node dropped and
// sent again while ejected) or an update that lifts ejections cannot make
// the two disagree. Failures of a node the balancer holds ejected (requests
// sent before the ejection) are not counted.
//
// NewProxy wires a Transport into a ReverseProxy: its Rewrite sets the
// X-Forwarded headers only, its Transport picks the node of every attempt
// (one pick loop: the first attempt and each retry pick in RoundTrip) and
// retries, and its ErrorHandler answers 503 when the balancer has no node
// to offer and 502 when the backends failed. Every option checks its value:
// NewProxy and NewTransport return an error naming a bad one.
package httplb
