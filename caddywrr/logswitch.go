package caddywrr

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// logSwitch is a slog.Handler that passes records to the handler set last:
// a feed kept across config reloads logs through the newest config's
// logger.
type logSwitch struct {
	cur *atomic.Pointer[slog.Handler]
	ops []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
}

func newLogSwitch(h slog.Handler) *logSwitch {
	s := &logSwitch{cur: new(atomic.Pointer[slog.Handler])}
	s.set(h)
	return s
}

func (s *logSwitch) set(h slog.Handler) { s.cur.Store(&h) }

func (s *logSwitch) handler() slog.Handler {
	h := *s.cur.Load()
	for _, op := range s.ops {
		h = op(h)
	}
	return h
}

// Enabled reports whether the current handler handles the level.
func (s *logSwitch) Enabled(ctx context.Context, l slog.Level) bool {
	return s.handler().Enabled(ctx, l)
}

// Handle passes r to the current handler.
func (s *logSwitch) Handle(ctx context.Context, r slog.Record) error {
	return s.handler().Handle(ctx, r)
}

// WithAttrs returns a switch that adds attrs to whichever handler is current.
func (s *logSwitch) WithAttrs(attrs []slog.Attr) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

// WithGroup returns a switch that opens the group on whichever handler is
// current.
func (s *logSwitch) WithGroup(name string) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (s *logSwitch) with(op func(slog.Handler) slog.Handler) *logSwitch {
	ops := append(append([]func(slog.Handler) slog.Handler(nil), s.ops...), op)
	return &logSwitch{cur: s.cur, ops: ops}
}
