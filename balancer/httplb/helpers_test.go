package httplb

import (
	"net/http/httputil"
	"testing"

	"github.com/safewrr/safewrr/balancer"
)

// mustTransport is NewTransport for options a test knows to be good.
func mustTransport(tb testing.TB, b *balancer.Balancer, opts ...Option) *Transport {
	tb.Helper()
	t, err := NewTransport(b, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// mustProxy is NewProxy for options a test knows to be good.
func mustProxy(tb testing.TB, b *balancer.Balancer, opts ...Option) *httputil.ReverseProxy {
	tb.Helper()
	rp, err := NewProxy(b, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return rp
}
