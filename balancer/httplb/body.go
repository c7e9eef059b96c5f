package httplb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// watchBody returns resp with a body that reports to the node's health
// record how the body ended: read to the end is the node's success; a read
// error is its failure (the backend died or reset the connection mid-body,
// or the request's deadline passed while a read waited for the backend's
// next bytes: a body trickled too slowly), unless the request was canceled
// by its caller or its deadline had passed before the read began (the time
// went elsewhere, for example to a slow client). A body closed early by the
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
	ctx := b.req.Context()
	// Live when the read starts: whatever ends the request while the read
	// waits, the read was waiting on the backend.
	live := ctx.Err() == nil
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.done.CompareAndSwap(false, true) {
			b.t.succeeded(b.id)
		}
	default:
		if !b.done.CompareAndSwap(false, true) {
			break
		}
		switch cerr := ctx.Err(); {
		case cerr == nil:
			b.t.bodyFailed(b.id, err)
		case live && errors.Is(cerr, context.DeadlineExceeded):
			b.t.bodyFailed(b.id, fmt.Errorf("the request's deadline passed while waiting for more of the body: %w", err))
		}
	}
	return n, err
}

// bodyFailed counts a response body that broke off as its node's failure.
func (t *Transport) bodyFailed(id string, err error) {
	t.failed(id, &BodyError{Node: id, Err: err}, nil)
	t.bodyFailures.Add(1)
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

// BodyFailures returns how many response bodies broke off while being read,
// or were cut off by the request's deadline while waiting for the backend
// (each also counted as its node's failure).
func (t *Transport) BodyFailures() int64 { return t.bodyFailures.Load() }
