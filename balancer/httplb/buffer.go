package httplb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// DefaultBodyBuffer is the largest request body a Transport reads whole
// before it picks a node (WithBodyBuffer).
const DefaultBodyBuffer = 1 << 20

// budget counts the bytes of request bodies held in buffers at once, across
// every request of a Transport.
type budget struct {
	limit int64 // 0: no limit
	held  atomic.Int64
}

// take reserves n bytes; it reports false, reserving nothing, when that
// would go past the limit.
func (b *budget) take(n int64) bool {
	if b.limit <= 0 {
		return true
	}
	if b.held.Add(n) > b.limit {
		b.held.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) {
	if b.limit > 0 {
		b.held.Add(-n)
	}
}

// buffered returns the request an attempt loop works from: req itself, or
// a shallow copy whose body was read whole (up to WithBodyBuffer's limit)
// and can be sent again (GetBody), so a slow client holds no backend
// connection and any request can be retried. A body over WithMaxBody is a
// RequestError (413) at once when its announced length says so, or as soon
// as it is read past the limit. release gives the buffer's reservation
// back to the budget (WithBufferBudget). A body whose length is unknown
// and turns out longer than the buffer, or that finds the budget spent, is
// streamed as it comes and cannot be sent twice.
func (t *Transport) buffered(req *http.Request) (out *http.Request, release func(), err error) {
	release = func() {}
	if req.Body == nil || req.Body == http.NoBody {
		return req, release, nil
	}
	maxBody := t.cfg.maxBody
	if maxBody > 0 && req.ContentLength > maxBody {
		return nil, release, &RequestError{Status: http.StatusRequestEntityTooLarge,
			Err: fmt.Errorf("the body's announced length %d is over the limit of %d bytes", req.ContentLength, maxBody)}
	}
	out = new(http.Request)
	*out = *req
	if maxBody > 0 {
		out.Body = http.MaxBytesReader(nil, req.Body, maxBody)
	}
	limit := t.cfg.bodyBuffer
	if limit <= 0 || req.GetBody != nil || req.ContentLength > limit {
		return out, release, nil
	}
	need := limit + 1 // length unknown (for a client request 0 is unknown too)
	if req.ContentLength > 0 {
		need = req.ContentLength
	}
	if !t.budget.take(need) {
		t.unbuffered.Add(1)
		return out, release, nil
	}
	release = func() { t.budget.give(need) }
	var data []byte
	if req.ContentLength > 0 {
		// One allocation of the announced size, not ReadAll's doublings.
		data = make([]byte, req.ContentLength)
		_, err = io.ReadFull(out.Body, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(out.Body, need))
	}
	if err != nil {
		release()
		return nil, func() {}, requestError(err)
	}
	if int64(len(data)) > limit {
		// Longer than the buffer (a chunked body): stream the rest.
		out.Body = readCloser{io.MultiReader(bytes.NewReader(data), out.Body), out.Body}
		return out, release, nil
	}
	out.Body = io.NopCloser(bytes.NewReader(data))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	out.ContentLength = int64(len(data))
	out.TransferEncoding = nil
	// The body goes out with its length: trailers, read with it, are not
	// forwarded (nginx never forwards a request's trailers either).
	out.Trailer = nil
	if len(data) == 0 {
		out.Body, out.GetBody = http.NoBody, nil
	}
	return out, release, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// errStreamCap is why a request found WithMaxStreamed's cap reached.
var errStreamCap = errors.New("too many request bodies are streaming to the backends at once (the body buffer budget is spent); try again")

// streamSlot counts req against WithMaxStreamed's cap when its body is
// streamed (it has a body that cannot be produced again), or refuses it
// with a 503 RequestError when the cap is reached. The slot is given back
// once: when the body is closed (the base RoundTripper finished with it,
// which may be after RoundTrip returned) or when done is called (RoundTrip
// returned an error, perhaps before any attempt took the body).
func (t *Transport) streamSlot(req *http.Request) (out *http.Request, done func(), err error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, func() {}, nil
	}
	if t.streaming.Add(1) > t.cfg.maxStreamed && t.cfg.maxStreamed > 0 {
		t.streaming.Add(-1)
		t.refused.Add(1)
		return nil, nil, &RequestError{Status: http.StatusServiceUnavailable, Err: errStreamCap}
	}
	var once sync.Once
	give := func() { once.Do(func() { t.streaming.Add(-1) }) }
	out = new(http.Request)
	*out = *req
	out.Body = &slotBody{ReadCloser: req.Body, give: give}
	return out, give, nil
}

// slotBody gives its stream slot back when it is closed.
type slotBody struct {
	io.ReadCloser
	give func()
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.give()
	return err
}
