package httplb

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// watchBody returns resp with a body that reports to the node's health
// record how the body ended: read to the end is the node's success; a read
// error is its failure (the backend died or reset the connection mid-body),
// unless the request was canceled by its caller. A body closed early by the
// caller says nothing about the node. A switch of protocols (101) is a
// success at once: its body is the connection itself.
func (t *Transport) watchBody(req *http.Request, resp *http.Response, id string) *http.Response {
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil || resp.Body == http.NoBody {
		t.succeeded(id)
		return resp
	}
	resp.Body = &watchedBody{rc: resp.Body, t: t, req: req, id: id}
	return resp
}

// watchedBody is a response body whose end is reported once.
type watchedBody struct {
	rc   io.ReadCloser
	t    *Transport
	req  *http.Request
	id   string
	done atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.done.CompareAndSwap(false, true) {
			b.t.succeeded(b.id)
		}
	default:
		if b.done.CompareAndSwap(false, true) && b.req.Context().Err() == nil {
			b.t.failed(b.id, &BodyError{Node: b.id, Err: err}, nil)
			b.t.bodyFailures.Add(1)
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.done.Store(true)
	return b.rc.Close()
}

// BodyError is how a failure while reading a response body is logged: the
// node and the read error.
type BodyError struct {
	Node string
	Err  error
}

func (e *BodyError) Error() string {
	return "httplb: response body from " + e.Node + " broke off: " + e.Err.Error()
}

func (e *BodyError) Unwrap() error { return e.Err }

// BodyFailures returns how many response bodies broke off while being read
// (each also counted as its node's failure).
func (t *Transport) BodyFailures() int64 { return t.bodyFailures.Load() }
