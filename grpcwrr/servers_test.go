package grpcwrr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// The tests' servers answer one unary method with their own name. Messages
// are raw bytes through a codec of their own, so no generated code is needed.

const (
	nameMethod  = "/safewrr.test.Name/Get"
	rawCodecTag = "safewrr-raw"
)

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return rawCodecTag }

func init() { encoding.RegisterCodec(rawCodec{}) }

type nameServer struct {
	name  string
	calls atomic.Int64
}

var nameService = grpc.ServiceDesc{
	ServiceName: "safewrr.test.Name",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			s := srv.(*nameServer)
			s.calls.Add(1)
			return []byte(s.name), nil
		},
	}},
}

// backend is one test server on 127.0.0.1.
type backend struct {
	name string
	addr string
	srv  *grpc.Server
	ns   *nameServer
	done chan struct{}
}

// startBackend starts a server answering with name, on addr ("127.0.0.1:0"
// for a free port). It is stopped when the test ends.
func startBackend(t testing.TB, name, addr string) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	b := &backend{name: name, addr: lis.Addr().String(), srv: grpc.NewServer(), ns: &nameServer{name: name}, done: make(chan struct{})}
	b.srv.RegisterService(&nameService, b.ns)
	go func() {
		defer close(b.done)
		if err := b.srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve %s: %v", name, err)
		}
	}()
	t.Cleanup(b.stop)
	return b
}

// stop stops the server gracefully, as a deploy does: RPCs it has started
// finish, then it closes its connections.
func (b *backend) stop() {
	b.srv.GracefulStop()
	<-b.done
}

// kill stops the server at once: RPCs in flight on it fail.
func (b *backend) kill() {
	b.srv.Stop()
	<-b.done
}

// call makes one RPC and returns the name of the server that answered.
func call(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []byte
	err := cc.Invoke(ctx, nameMethod, []byte{}, &out, grpc.CallContentSubtype(rawCodecTag))
	return string(out), err
}

// calls makes n sequential RPCs and counts the answers by server name.
func calls(t testing.TB, cc *grpc.ClientConn, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		name, err := call(t.Context(), cc)
		if err != nil {
			t.Fatalf("RPC %d of %d failed: %v", i+1, n, err)
		}
		got[name]++
	}
	return got
}
