package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
)

// registryProxy wires the flags to a balancer, package httplb's proxy and
// admin endpoints over it, and a feed that updates it.
type registryProxy struct {
	cfg proxyConfig
	log *slog.Logger
	now func() time.Time
	src feed.Source
	lb  *balancer.Balancer
	tr  *httplb.Transport

	feed   *feed.Feed                // set by start
	loaded atomic.Pointer[feed.Feed] // the same, for the other goroutines
	admin  httplb.Admin
}

// newRegistryProxy returns the proxy, serving 503 until start has polled
// the registry; now nil means time.Now.
func newRegistryProxy(cfg proxyConfig, logger *slog.Logger, now func() time.Time) (*registryProxy, error) {
	if now == nil {
		now = time.Now
	}
	p := &registryProxy{cfg: cfg, log: logger, now: now}
	p.admin.Policy, p.admin.Now = cfg.policyName, now
	if strings.HasPrefix(cfg.registry, "http://") || strings.HasPrefix(cfg.registry, "https://") {
		src, err := feed.URL(cfg.registry, feed.URLOptions{Timeout: cfg.fetchTimeout, AllowOtherHosts: cfg.anyRedirect})
		if err != nil {
			return nil, err
		}
		p.src = src
	} else {
		p.src = feed.File(cfg.registry)
	}
	bopts := []balancer.Option{balancer.WithClock(now), balancer.WithSlowStart(cfg.slowStart), balancer.WithMaxEjectedPercent(cfg.maxEjected)}
	if cfg.maxDrop > 0 {
		bopts = append(bopts, balancer.WithMaxWeightDrop(cfg.maxDrop))
	}
	base, err := httplb.NewBackendTransport(cfg.timeouts, nil)
	if err != nil {
		return nil, err
	}
	if p.lb, err = balancer.New(nil, bopts...); err != nil {
		return nil, err
	}
	p.tr, err = httplb.NewTransport(p.lb,
		httplb.WithClock(now),
		httplb.WithLogger(logger),
		httplb.WithMaxAttempts(cfg.attempts),
		httplb.WithEjection(cfg.ejectAfter, cfg.ejectFor, max(httplb.DefaultMaxEjectFor, cfg.ejectFor)),
		httplb.WithBase(base),
		httplb.WithBodyBuffer(cfg.maxBufferBody),
		httplb.WithMaxBody(cfg.maxBody),
		httplb.WithBufferBudget(cfg.bufferBudget),
		httplb.WithMaxStreamed(cfg.maxStreamed),
		httplb.WithNoNodeReason(func() string {
			if f := p.loaded.Load(); f != nil {
				return f.Status().NoBackendsReason()
			}
			return httplb.NotLoaded
		}),
	)
	return p, err
}

// start polls the registry once, hands the first good nodes to the
// balancer and attaches the admin endpoints to the feed.
func (p *registryProxy) start(ctx context.Context) {
	f, err := feed.New(ctx, p.src,
		feed.WithSink(p.lb),
		feed.WithFormat(p.cfg.format),
		feed.WithDecode(p.cfg.decode),
		feed.WithMaxBytes(p.cfg.maxBytes),
		feed.WithClock(p.now),
		feed.WithLogger(p.log),
		feed.WithInterval(p.cfg.poll),
		feed.WithJitter(p.cfg.pollJitter),
		feed.WithMaxBackoff(p.cfg.maxBackoff),
	)
	if err != nil {
		panic(err) // the flags were checked; an error here is a bug
	}
	p.feed = f
	p.loaded.Store(f)
	p.admin.Attach(f, p.lb, p.tr)
}

// handler serves the traffic: every path goes to the backends as sent (no
// ServeMux: it would clean paths and answer some with redirects).
func (p *registryProxy) handler() http.Handler { return p.tr.Proxy() }

// pollOnce polls the registry now (tests call it directly).
func (p *registryProxy) pollOnce(ctx context.Context) feed.Status { return p.feed.Poll(ctx) }

// serve answers on ln and adminLn (nil: none) at once, starts the feed
// (then calls ready) and polls on each receive from poll until ctx is done.
func (p *registryProxy) serve(ctx context.Context, ln, adminLn net.Listener, poll <-chan os.Signal, ready func()) int {
	t := p.cfg.timeouts
	errLog := slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)
	base := func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	traffic, err := httplb.NewServer(p.handler(), t)
	admin, aerr := httplb.NewAdminServer(&p.admin, t)
	if err != nil || aerr != nil {
		panic(errors.Join(err, aerr)) // the flags were checked
	}
	traffic.MaxHeaderBytes = int(p.cfg.maxHeaderBytes)
	servers := []*http.Server{traffic}
	listeners := []net.Listener{httplb.LimitConns(traffic, ln, p.cfg.maxConns)}
	if adminLn != nil {
		servers = append(servers, admin)
		listeners = append(listeners, httplb.LimitListener(adminLn, 2*httplb.MaxStatusWaiters))
	}
	for _, s := range servers {
		s.ErrorLog, s.BaseContext = errLog, base
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		p.start(runCtx)
		if st := p.feed.Status(); !st.Serving() {
			p.log.Error("no backends yet: requests are answered 503 until the registry names a node that can serve", "why", st.NoBackendsReason())
		}
		ready()
		go func() {
			for {
				select {
				case <-runCtx.Done():
					return
				case <-poll:
					p.feed.Trigger()
				}
			}
		}()
		p.feed.Run(runCtx)
	}()
	defer func() {
		stopRun()
		<-ran
	}()
	if err := httplb.ServeUntil(ctx, proxyShutdownTimeout, servers, listeners); err != nil {
		p.log.Error("server stopped", "error", err.Error())
		return exitUsage
	}
	p.log.Info("stopped", "reason", context.Cause(ctx).Error())
	return exitOK
}
