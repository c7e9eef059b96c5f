// Package namesrv is a gRPC server for tests and examples that answers one
// unary method with its own name. Messages are raw bytes through a codec of
// its own, so no generated code is needed.
package namesrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// Method is the full name of the method every server answers.
const Method = "/safewrr.test.Name/Get"

// codecName is the content subtype of the raw codec.
const codecName = "safewrr-raw"

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("namesrv: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("namesrv: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return codecName }

func init() { encoding.RegisterCodec(rawCodec{}) }

// Server is one running server.
type Server struct {
	Name  string
	Addr  string // host:port it listens on
	srv   *grpc.Server
	calls atomic.Int64
	done  chan error
}

var service = grpc.ServiceDesc{
	ServiceName: "safewrr.test.Name",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			s := srv.(*Server)
			s.calls.Add(1)
			return []byte(s.Name), nil
		},
	}},
}

// Start starts a server answering with name on addr ("127.0.0.1:0" for a
// free port).
func Start(name, addr string) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Name: name, Addr: lis.Addr().String(), srv: grpc.NewServer(), done: make(chan error, 1)}
	s.srv.RegisterService(&service, s)
	go func() {
		err := s.srv.Serve(lis)
		if errors.Is(err, grpc.ErrServerStopped) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Calls returns the number of RPCs the server has answered.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Stop stops the server gracefully, as a deploy does: RPCs it has started
// finish, then it closes its connections. It returns Serve's error.
func (s *Server) Stop() error {
	s.srv.GracefulStop()
	return s.wait()
}

// Kill stops the server at once: RPCs in flight on it fail.
func (s *Server) Kill() error {
	s.srv.Stop()
	return s.wait()
}

func (s *Server) wait() error {
	err, ok := <-s.done
	if ok {
		close(s.done)
	}
	return err
}

// Call makes one RPC on cc and returns the name of the server that answered.
func Call(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	var out []byte
	err := cc.Invoke(ctx, Method, []byte{}, &out, grpc.CallContentSubtype(codecName))
	return string(out), err
}
