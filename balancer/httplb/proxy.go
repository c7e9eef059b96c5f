package httplb

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"sync"

	"github.com/safewrr/safewrr/balancer"
)

// NewProxy returns a reverse proxy that balances over b with a Transport
// configured by opts, or an error naming the first bad option. It is
// NewTransport(b, opts...) and then Proxy.
func NewProxy(b *balancer.Balancer, opts ...Option) (*httputil.ReverseProxy, error) {
	t, err := NewTransport(b, opts...)
	if err != nil {
		return nil, err
	}
	return t.Proxy(), nil
}

// Proxy returns a reverse proxy over t: Rewrite is t.Rewrite, Transport is t,
// and ErrorHandler answers 503 Service Unavailable when the balancer had no
// node to offer, 502 Bad Gateway when the backends failed, and a
// RequestError's status (400, 408, 413) when the client's request was at
// fault, logging each to the transport's logger.
func (t *Transport) Proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:      t.Rewrite,
		Transport:    t,
		ErrorHandler: t.errorHandler,
		BufferPool:   bufferPool{},
	}
}

// bufferPool shares the 32 KiB buffers ReverseProxy copies bodies with,
// which it would otherwise allocate for every request.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

func (t *Transport) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	var rerr *RequestError
	switch {
	case errors.As(err, &rerr):
		code = rerr.Status
		// The request's body is in an unknown state: read no more of it.
		w.Header().Set("Connection", "close")
	case errors.Is(err, ErrNoNode):
		code = http.StatusServiceUnavailable
	}
	if r.Context().Err() == nil {
		t.cfg.logger.Warn("httplb: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err.Error())
	}
	w.WriteHeader(code)
}
