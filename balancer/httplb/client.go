package httplb

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

// StatusClientClosedRequest is the status a request gets when its client
// went away before the answer (nginx's 499). No client reads it; it is what
// the proxy logs.
const StatusClientClosedRequest = 499

// RequestError is the error of a request that failed because of the
// client's request, not because of a backend: a body that could not be
// read (bad chunking, a malformed trailer, a connection that broke off or
// timed out), a body over the size limit, a trailer that cannot be
// forwarded, a CONNECT or TRACE request, or a client that went away. It
// charges no node and is never retried on another node. Status is the
// answer it deserves: 400 Bad Request, 405 Method Not Allowed (CONNECT,
// TRACE), 408 Request Timeout, 413 Content Too Large, or
// StatusClientClosedRequest.
type RequestError struct {
	Status int
	Err    error
}

func (e *RequestError) Error() string {
	return "httplb: the client's request: " + e.Err.Error()
}

func (e *RequestError) Unwrap() error { return e.Err }

// requestError classifies an error met while reading a client's request
// body.
func requestError(err error) *RequestError {
	var mb *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mb):
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Err: err}
	case errors.Is(err, context.Canceled):
		return &RequestError{Status: StatusClientClosedRequest, Err: err}
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &RequestError{Status: http.StatusRequestTimeout, Err: err}
	}
	return &RequestError{Status: http.StatusBadRequest, Err: err}
}

// checkTarget reports a request-target with a '#': RFC 9112 has no
// fragment in a request-target, and forwarding one would change it (in the
// path it would reach the backend as %23). A '#' sent in the path is in
// RawPath (Path alone cannot tell it from %23); one in the query is kept
// in RawQuery.
func checkTarget(req *http.Request) error {
	if strings.ContainsRune(req.URL.RawPath, '#') || strings.ContainsRune(req.URL.RawQuery, '#') {
		return &RequestError{Status: http.StatusBadRequest, Err: errors.New("the request-target has a '#' (a fragment is not part of a request-target, RFC 9112 3.2)")}
	}
	return nil
}

// checkMethod refuses CONNECT (a tunnel: through a backend that is itself
// a forward proxy it would reach anywhere) and TRACE (it echoes the request,
// cookies and forwarded headers included), in any case of letters, 405 as
// nginx does. No Allow header: the proxy does not know the backends' methods.
func checkMethod(req *http.Request) error {
	for _, m := range []string{http.MethodConnect, http.MethodTrace} {
		if strings.EqualFold(req.Method, m) {
			return &RequestError{Status: http.StatusMethodNotAllowed, Err: errors.New("the method " + m + " is not forwarded (it would tunnel or echo through the backend)")}
		}
	}
	return nil
}

// checkTrailer reports a request whose trailer cannot be forwarded: a
// field that only a header may carry (Content-Length, Transfer-Encoding,
// Trailer, Host), a name that is not a token or a value with a line break
// or NUL. http.Transport would fail such a request after connecting, which
// would look like the backend's failure.
func checkTrailer(req *http.Request) error {
	for k, vv := range req.Trailer {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Host":
			return &RequestError{Status: http.StatusBadRequest, Err: errors.New("trailer field " + k + " is not allowed")}
		}
		if !validFieldName(k) {
			return &RequestError{Status: http.StatusBadRequest, Err: errors.New("trailer field name is not a token")}
		}
		for _, v := range vv {
			if strings.ContainsAny(v, "\r\n\x00") {
				return &RequestError{Status: http.StatusBadRequest, Err: errors.New("trailer field " + k + " has a line break or NUL in its value")}
			}
		}
	}
	return nil
}

// validFieldName reports whether s is an RFC 9110 token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clientBody is an attempt's request body that remembers a read error: the
// body is the client's stream (or a copy of it), so an error reading it is
// the client's, whatever error the base RoundTripper then returns. Errors
// after the RoundTripper closed the body (it does so when the backend
// failed first) are not the client's.
type clientBody struct {
	rc     io.ReadCloser
	mu     sync.Mutex
	err    error
	closed bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, http.ErrBodyReadAfterClose) {
		b.mu.Lock()
		if !b.closed && b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *clientBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.rc.Close()
}

// failure returns the body's read error, if any.
func (b *clientBody) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
