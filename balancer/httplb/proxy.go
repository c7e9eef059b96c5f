package httplb

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"sync"

	"github.com/safewrr/safewrr/balancer"
)

// NewProxy returns a reverse proxy that balances over b with a Transport
// configured by opts. It is NewTransport(b, opts...).Proxy().
func NewProxy(b *balancer.Balancer, opts ...Option) *httputil.ReverseProxy {
	return NewTransport(b, opts...).Proxy()
}

// Proxy returns a reverse proxy over t: Rewrite is t.Rewrite, Transport is t,
// and ErrorHandler answers 503 Service Unavailable when the balancer had no
// node to offer and 502 Bad Gateway when the backends failed, logging either
// to the transport's logger.
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
	if errors.Is(err, ErrNoNode) {
		code = http.StatusServiceUnavailable
	}
	if r.Context().Err() == nil {
		t.cfg.logger.Warn("httplb: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err.Error())
	}
	w.WriteHeader(code)
}
