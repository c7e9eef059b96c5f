package httplb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// Defaults for a Transport's options.
const (
	DefaultMaxAttempts = 3
	DefaultEjectAfter  = 3
	DefaultEjectFor    = 10 * time.Second
	DefaultMaxEjectFor = 5 * time.Minute
)

// ErrNoNode is wrapped by the error a Transport returns when the balancer
// had no node to offer (no backends, all drained, all ejected, all tried).
// errors.Is also matches the balancer's own error (balancer.ErrNoBackends,
// ...).
var ErrNoNode = errors.New("httplb: no node to send the request to")

// Transport is an http.RoundTripper that picks the backend for each attempt
// from a Balancer, retries safe requests on other nodes and ejects nodes that
// keep failing. Create one with NewTransport; it is safe for concurrent use.
type Transport struct {
	b       *balancer.Balancer
	cfg     config
	health  sync.Map // node id -> *nodeHealth, only for nodes that have failed
	ejected atomic.Int64

	bodyFailures atomic.Int64 // response bodies that broke off
	failures     atomic.Int64 // attempts charged to a node
	clientErrors atomic.Int64 // requests that failed because of the client
	budget       budget       // bytes of request bodies held in buffers
	unbuffered   atomic.Int64 // bodies streamed because the budget was spent
	streaming    atomic.Int64 // bodies being streamed now (WithMaxStreamed)
	refused      atomic.Int64 // requests refused because WithMaxStreamed's cap was reached
}

// nodeHealth counts one node's failures. Whether the node is ejected, and
// until when, is the balancer's record alone (Balancer.State): the
// transport keeps no copy that a registry flap, an update that lifts
// ejections or another caller of Eject and Restore could make disagree
// with it.
type nodeHealth struct {
	mu        sync.Mutex
	fails     int // consecutive failed attempts while the node was not ejected
	ejections int // ejections since the node last succeeded
}

// NewTransport returns a Transport over b configured by opts, or an error
// naming the first option whose value is out of range.
func NewTransport(b *balancer.Balancer, opts ...Option) (*Transport, error) {
	if b == nil {
		return nil, errors.New("httplb: NewTransport with a nil Balancer")
	}
	t := &Transport{b: b, cfg: defaultConfig()}
	for _, o := range opts {
		if err := o.apply(&t.cfg); err != nil {
			return nil, err
		}
	}
	t.budget.limit = t.cfg.bufferTotal
	return t, nil
}

// Balancer returns the balancer the transport picks from.
func (t *Transport) Balancer() *balancer.Balancer { return t.b }

// Rewrite is a ReverseProxy Rewrite function. It picks no node (RoundTrip
// picks for every attempt): it sets the X-Forwarded-For, -Host and -Proto
// headers, the outgoing URL's scheme (WithScheme), keeps the incoming path
// and query as sent (even query parameters that do not parse), and leaves
// the Host header to be the node's address.
func (t *Transport) Rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	// ReverseProxy drops query parameters it cannot parse before Rewrite;
	// the backend gets the query exactly as the client sent it.
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	pr.Out.URL.Scheme = t.cfg.scheme
	// RoundTrip sets the node of each attempt. Until then a name that
	// cannot resolve keeps a foreign RoundTripper from going anywhere.
	pr.Out.URL.Host = "backend.invalid"
	pr.Out.Host = ""
}

// Retryable reports whether a request may be sent again after a failed
// attempt: its method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE)
// or it carries an Idempotency-Key or X-Idempotency-Key header, and it has
// no body or a body that can be produced again (GetBody).
//
// Any request, idempotent or not, is also retried after an attempt that
// never reached a backend (the connection could not be made), when its body
// can be produced again.
func Retryable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
	default:
		if req.Header.Get("Idempotency-Key") == "" && req.Header.Get("X-Idempotency-Key") == "" {
			return false
		}
	}
	return replayable(req)
}

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// notSent reports whether an attempt's error shows that the request never
// left: the connection to the backend could not be made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// RoundTrip sends the request to nodes of the balancer and returns the
// first response that is not a failure. First it checks the request (a
// CONNECT or TRACE, a '#' in the target or a trailer that may not be
// forwarded is a RequestError) and reads its body into a buffer (WithBodyBuffer,
// WithBufferBudget, WithMaxBody; a body that fails to read is a
// RequestError); then every attempt picks its node here, the first with the
// balancer's next node, each retry with one not yet tried for this request
// (NextExcluding). RoundTrip does not modify orig.
//
// An attempt fails when the base RoundTripper returns an error (connection
// refused, reset, timeout) or the response's status is one of
// WithRetryStatus's. An attempt that failed because of the client (its body
// failed to read, its caller canceled it) is a RequestError: no node's
// failure, never retried. A response counts as the node's success once its
// body has been read to the end; an error while reading it (the backend
// closed or reset the connection before the announced length, or the
// request's deadline passed while a read was waiting for the backend's next
// bytes) counts as the node's failure, though the response, already under
// way, cannot be retried. Retries go to Retryable requests and to any
// request whose attempt could not connect (its body permitting, as a
// buffered one does), and stop after MaxAttempts attempts or when no
// untried node is left; the last attempt's response or error is returned.
func (t *Transport) RoundTrip(orig *http.Request) (_ *http.Response, retErr error) {
	if err := cmp.Or(checkMethod(orig), checkTarget(orig), checkTrailer(orig)); err != nil {
		closeBody(orig)
		t.clientErrors.Add(1)
		return nil, err
	}
	req, release, err := t.buffered(orig)
	if err != nil {
		closeBody(orig)
		t.clientErrors.Add(1)
		return nil, err
	}
	defer release()
	req, done, err := t.streamSlot(req)
	if err != nil {
		closeBody(orig)
		return nil, err
	}
	defer func() {
		if retErr != nil {
			done() // else the base RoundTripper closes the body, which gives the slot back
		}
	}()
	var tried balancer.Tried
	node, err := t.b.NextExcluding(&tried)
	if err != nil {
		closeBody(orig)
		return nil, fmt.Errorf("%w: %w", ErrNoNode, err)
	}
	retryable := Retryable(req)
	for attempt := 1; ; attempt++ {
		out, body, err := t.attemptRequest(req, node, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := t.cfg.base.RoundTrip(out)
		if err != nil {
			if rerr := t.clientFault(req, body, err); rerr != nil {
				return nil, rerr
			}
		}
		if req.Context().Err() != nil {
			// The caller gave up; nobody's fault, nothing to retry.
			return resp, err
		}
		failed := err != nil || t.cfg.retryStatus[statusOf(resp)]
		if !failed {
			return t.watchBody(req, resp, node.ID), nil
		}
		t.failed(node.ID, err, resp)
		if !(retryable || notSent(err) && replayable(req)) || attempt >= t.cfg.maxAttempts {
			return resp, wrapAttempt(err, node.ID, attempt)
		}
		next, perr := t.b.NextExcluding(&tried)
		if perr != nil {
			// Every node that could serve was tried (or the set changed
			// under us): give back what the last attempt got.
			return resp, wrapAttempt(err, node.ID, attempt)
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then retry.
			io.CopyN(io.Discard, resp.Body, 4<<10)
			resp.Body.Close()
		}
		t.cfg.logger.Debug("httplb: retrying on another node",
			"method", req.Method, "url", req.URL.Path, "failed", node.ID, "next", next.ID, "attempt", attempt+1)
		node = next
	}
}

// clientFault returns a *RequestError when an attempt's error came from the
// client's side: the request body failed to read, or the caller canceled
// the request. Such an attempt charges no node and is not retried.
func (t *Transport) clientFault(req *http.Request, body *clientBody, err error) error {
	var rerr *RequestError
	switch berr := body.failure(); {
	case errors.As(err, &rerr):
		// A base RoundTripper that classifies for itself.
	case berr != nil:
		rerr = requestError(berr)
	case errors.Is(context.Cause(req.Context()), context.Canceled):
		rerr = &RequestError{Status: StatusClientClosedRequest, Err: context.Cause(req.Context())}
	default:
		return nil
	}
	t.clientErrors.Add(1)
	return rerr
}

// attemptRequest returns the request for one attempt: a shallow copy of req
// aimed at node, with a fresh body for attempts after the first, and that
// body, which remembers a read error (nil without a body).
func (t *Transport) attemptRequest(req *http.Request, node weights.Node, attempt int) (*http.Request, *clientBody, error) {
	out := req.Clone(req.Context())
	out.URL.Host = node.ID
	if out.URL.Scheme == "" {
		out.URL.Scheme = t.cfg.scheme
	}
	if req.Body == nil || req.Body == http.NoBody {
		return out, nil, nil
	}
	rc := req.Body
	if attempt > 1 {
		var err error
		if rc, err = req.GetBody(); err != nil {
			return nil, nil, fmt.Errorf("httplb: replaying the request body: %w", err)
		}
	}
	body := &clientBody{rc: rc}
	out.Body = body
	return out, body, nil
}

func wrapAttempt(err error, id string, attempt int) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("httplb: attempt %d on %s: %w", attempt, id, err)
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// succeeded clears the failure record of a node that answered. A node that
// had been ejected has recovered: if it is still ejected (the answer is from
// a request sent before the ejection) it is restored at once, and the
// balancer's slow start ramps it back up.
func (t *Transport) succeeded(id string) {
	v, ok := t.health.Load(id)
	if !ok {
		return
	}
	h := v.(*nodeHealth)
	h.mu.Lock()
	recovered := h.ejections > 0
	h.fails, h.ejections = 0, 0
	h.mu.Unlock()
	if recovered {
		if err := t.b.Restore(id); err != nil {
			t.health.Delete(id)
		}
		t.cfg.logger.Info("httplb: node recovered", "node", id)
	}
}

// failed counts a failed attempt and ejects the node after EjectAfter
// consecutive failures, for EjectFor doubled on each ejection since its last
// success, at most MaxEjectFor. A failure of a node the balancer holds
// ejected (a request sent before the ejection) or no longer has says
// nothing new and is not counted.
func (t *Transport) failed(id string, err error, resp *http.Response) {
	st, member := t.b.State(id)
	if !member {
		t.health.Delete(id)
		return
	}
	if st.State == balancer.Ejected {
		return
	}
	t.failures.Add(1)
	if t.cfg.ejectAfter <= 0 {
		return
	}
	v, _ := t.health.LoadOrStore(id, &nodeHealth{})
	h := v.(*nodeHealth)
	now := t.cfg.now()
	h.mu.Lock()
	h.fails++
	if h.fails < t.cfg.ejectAfter {
		h.mu.Unlock()
		return
	}
	h.fails = 0
	d := t.cfg.ejectFor
	for i := 0; i < h.ejections && d < t.cfg.maxEjectFor; i++ {
		d *= 2
	}
	d = min(d, t.cfg.maxEjectFor)
	until := now.Add(d)
	h.ejections++
	h.mu.Unlock()

	why := "status " + fmt.Sprint(statusOf(resp))
	if err != nil {
		why = err.Error()
	}
	if eerr := t.b.Eject(id, until); eerr != nil {
		h.mu.Lock()
		h.ejections--
		h.mu.Unlock()
		if errors.Is(eerr, balancer.ErrUnknownNode) {
			t.health.Delete(id)
		}
		t.cfg.logger.Warn("httplb: node keeps failing but was not ejected",
			"node", id, "failures", t.cfg.ejectAfter, "last_error", why, "reason", eerr.Error())
		return
	}
	t.ejected.Add(1)
	t.cfg.logger.Warn("httplb: node ejected",
		"node", id, "failures", t.cfg.ejectAfter, "last_error", why, "for", d.String(), "until", until)
}

// Ejections returns how many times the transport has ejected a node.
func (t *Transport) Ejections() int64 { return t.ejected.Load() }

// Failures returns how many failed attempts (and broken-off response
// bodies) the transport has charged to nodes. Failures of a node the
// balancer holds ejected or no longer has are not charged.
func (t *Transport) Failures() int64 { return t.failures.Load() }

// StreamRefused returns how many requests were answered 503 because
// WithMaxStreamed's cap on bodies streamed at once was reached.
func (t *Transport) StreamRefused() int64 { return t.refused.Load() }

// Streaming returns how many request bodies are being streamed to
// backends now (WithMaxStreamed bounds it).
func (t *Transport) Streaming() int64 { return t.streaming.Load() }

// ClientErrors returns how many requests failed because of the client's
// request (see RequestError) and charged no node.
func (t *Transport) ClientErrors() int64 { return t.clientErrors.Load() }

// Unbuffered returns how many request bodies were streamed rather than
// buffered because WithBufferBudget's cap was reached (such requests are
// not retried).
func (t *Transport) Unbuffered() int64 { return t.unbuffered.Load() }
