package httplb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strings"
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

// Proxy returns a reverse proxy over t: Rewrite is t.Rewrite, Transport is
// t, ErrorLog writes to the transport's logger, and ErrorHandler answers,
// with a plain-text body that says why:
//
//   - 503 Service Unavailable (with Retry-After: 1) when the balancer had
//     no node to offer: no nodes yet (WithNoNodeReason's reason), all
//     drained, all ejected;
//   - a RequestError's status (400, 405, 408, 413) when the client's request was
//     at fault, and 503 (with Retry-After: 1) when WithMaxStreamed's cap on
//     streamed bodies was reached, closing the connection;
//   - 504 Gateway Timeout when the request's context ended with
//     ErrRequestTimeout (NewServer's Timeouts.Request) before a response;
//   - 502 Bad Gateway when the backends failed.
func (t *Transport) Proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:      t.Rewrite,
		Transport:    t,
		ErrorHandler: t.errorHandler,
		ErrorLog:     slog.NewLogLogger(t.cfg.logger.Handler(), slog.LevelWarn),
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
	code, msg := http.StatusBadGateway, "safewrr: no backend answered"
	var rerr *RequestError
	var terr *requestTimeoutError
	switch {
	case errors.As(err, &rerr):
		code, msg = rerr.Status, "safewrr: the request could not be forwarded: "+rerr.Err.Error()
		// The request's body is in an unknown state: read no more of it.
		w.Header().Set("Connection", "close")
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
	case errors.Is(err, ErrNoNode):
		code, msg = http.StatusServiceUnavailable, t.noNodeMessage(err)
		w.Header().Set("Retry-After", "1")
	case errors.As(context.Cause(r.Context()), &terr):
		code, msg = http.StatusGatewayTimeout, "safewrr: no complete answer within the request timeout ("+terr.d.String()+")"
	}
	switch {
	case r.Context().Err() != nil && code != http.StatusGatewayTimeout:
	case rerr != nil:
		t.cfg.logger.Info("httplb: the client's request failed; no node charged", "method", r.Method, "path", r.URL.Path, "status", code, "error", rerr.Err.Error())
	default:
		t.cfg.logger.Warn("httplb: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err.Error())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// noNodeMessage says why no node could take a request: no registry data
// yet (WithNoNodeReason), or every node drained, ejected or tried.
func (t *Transport) noNodeMessage(err error) string {
	if t.cfg.noNodeWhy != nil {
		if why := t.cfg.noNodeWhy(); why != "" {
			return "safewrr: no backends yet: " + why
		}
	}
	var cause = err
	for _, e := range []error{balancer.ErrAllDrained, balancer.ErrAllEjected, balancer.ErrAllExcluded, balancer.ErrNoBackends} {
		if errors.Is(err, e) {
			cause = e
			break
		}
	}
	return "safewrr: no backend can take the request now: " + strings.TrimPrefix(cause.Error(), "balancer: ")
}
