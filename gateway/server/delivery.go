package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/gateway/delivery/wake"
	"github.com/leadlex/api-gateway/gateway/devsink"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/redis/go-redis/v9"
)

// dnsResolver returns a resolver that asks only DNS_SERVER (test-only), or
// nil for the system's.
func dnsResolver(cfg *config.Config) *net.Resolver {
	if cfg.Delivery.DNSServer == "" {
		return nil
	}
	server := cfg.Delivery.DNSServer
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
}

// buildDelivery assembles the sender, the engine and the API service, and
// the wake-ups between them: the engine is woken directly in this process,
// over Redis pub/sub (REDIS_URL) from and for other processes, and by the
// store itself when it can notify (the postgres store's LISTEN).
//
// Under DELIVERY_ALLOW_ONLY the sender reaches only DELIVERY_ALLOW_CIDRS
// (and the sink), reporting anything else to g; with the development sink
// it trusts the sink's certificate and may reach exactly its address.
func buildDelivery(cfg *config.Config, logger *slog.Logger, clock gateway.Clock, stores *Stores, box *secretbox.Box, g guard, sink *devsink.Sink, rdb *redis.Client) (*delivery.Service, *delivery.Engine, error) {
	var extra [][]byte // certificates trusted besides the system's
	var allowAddrs []netip.AddrPort
	if sink != nil {
		extra = append(extra, sink.CertPEM())
		allowAddrs = append(allowAddrs, sink.AddrPort())
	}
	if cfg.Delivery.CAFile != "" {
		pem, err := os.ReadFile(cfg.Delivery.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("DELIVERY_CA_FILE: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("DELIVERY_CA_FILE: no PEM certificate in %s", cfg.Delivery.CAFile)
		}
		extra = append(extra, pem)
	}
	var roots *x509.CertPool
	if len(extra) > 0 {
		var err error
		roots, err = x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		for _, pem := range extra {
			roots.AppendCertsFromPEM(pem)
		}
	}
	d := cfg.Delivery
	snd := sender.New(sender.Options{Timeout: d.Timeout, AllowCIDRs: d.AllowCIDRs, RootCAs: roots,
		Resolver: g.resolver(cfg), AllowAddrs: allowAddrs, Exclusive: d.AllowOnly, OnGuardViolation: g.violation,
		MaxIdleConnsPerHost: max(d.Concurrency, d.EndpointConcurrency)})

	e := &delivery.Engine{
		Store: stores, Sender: snd, Opener: box,
		Schedule: d.RetrySchedule, Lease: d.Lease, DisableAfter: d.DisableAfter, Retention: d.LogRetention,
		Concurrency: d.Concurrency, Batch: d.Batch, PollInterval: d.PollInterval,
		Endpoint: delivery.EndpointPolicy{InitialLimit: d.EndpointInitial, MaxLimit: d.EndpointConcurrency,
			OpenAfter: d.CircuitOpenAfter, Cooldown: d.CircuitCooldown, MaxCooldown: d.CircuitMaxCooldown},
		StopTimeout: d.Timeout + cfg.ShutdownTimeout,
		Clock:       clock, Logger: logger,
	}
	// The engine in this process is woken directly; the others through
	// Redis and, on the postgres store, NOTIFY: both coalesced and off the
	// request's path (see delivery.Coalesce).
	notifiers := notifiers{e}
	if rdb != nil {
		r := &wake.Redis{Client: rdb, Channel: cfg.RedisKeyPrefix + wake.Channel, Timeout: cfg.RedisTimeout, Logger: logger}
		notifiers = append(notifiers, delivery.Coalesce(r))
		e.Wakeups = append(e.Wakeups, r)
	}
	if n, ok := stores.Backend.(delivery.Notifier); ok {
		notifiers = append(notifiers, delivery.Coalesce(n))
	}
	if w, ok := stores.Backend.(delivery.Wakeups); ok {
		e.Wakeups = append(e.Wakeups, w)
	}
	svc := &delivery.Service{Store: stores, Processor: e, Notifier: notifiers, Clock: clock, Logger: logger}
	return svc, e, nil
}

// notifiers wakes every engine it can reach: the one in this process and,
// through Redis, the others.
type notifiers []delivery.Notifier

// Notify calls each notifier in turn (each bounds its own time).
func (n notifiers) Notify(ctx context.Context) {
	for _, x := range n {
		x.Notify(ctx)
	}
}

// RunWorker delivers events until ctx ends: it runs the engine (claims,
// sends, records, heartbeats, log cleanup). Attempts in flight finish and
// are recorded before it returns.
func (a *App) RunWorker(ctx context.Context) error {
	d := a.Config.Delivery
	if m := a.Metrics; m != nil {
		// Only processes that deliver ask the store for the backlog at
		// every scrape; API instances would only repeat it.
		a.backlogWatched.Do(func() { m.WatchBacklog(a.Stores.Backlog, a.Engine.Clock.Now) })
	}
	a.logger.Info("worker started", "store", a.Stores.Kind, "concurrency", d.Concurrency, "endpoint_concurrency", d.EndpointConcurrency,
		"batch", d.Batch, "redis_wakeups", a.Redis != nil, "wakeups", len(a.Engine.Wakeups))
	err := a.Engine.Run(ctx)
	a.logger.Info("worker stopped")
	return err
}
