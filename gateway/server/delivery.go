package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/queue"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/gateway/devsink"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/redis/go-redis/v9"
)

// servingQueue is a delivery queue that can also be served.
type servingQueue interface {
	delivery.Queue
	Serve(ctx context.Context, handler queue.Handler, concurrency int) error
}

// cleanupEvery is how often a worker deletes attempts past their retention.
const cleanupEvery = time.Hour

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

// buildDelivery assembles the sender, the queue, the worker and the API
// service. With Redis the queue is asynq; without it (development only) the
// queue lives in the process and so must the worker.
//
// Under DELIVERY_ALLOW_ONLY the sender reaches only DELIVERY_ALLOW_CIDRS
// (and the sink), reporting anything else to g; with the development sink
// it trusts the sink's certificate and may reach exactly its address.
func buildDelivery(cfg *config.Config, logger *slog.Logger, clock gateway.Clock, stores *Stores, box *secretbox.Box, g guard, sink *devsink.Sink) (*delivery.Service, *delivery.Worker, servingQueue, *redis.Client, error) {
	var extra [][]byte // certificates trusted besides the system's
	var allowAddrs []netip.AddrPort
	if sink != nil {
		extra = append(extra, sink.CertPEM())
		allowAddrs = append(allowAddrs, sink.AddrPort())
	}
	if cfg.Delivery.CAFile != "" {
		pem, err := os.ReadFile(cfg.Delivery.CAFile)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("DELIVERY_CA_FILE: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, nil, nil, nil, fmt.Errorf("DELIVERY_CA_FILE: no PEM certificate in %s", cfg.Delivery.CAFile)
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
	snd := sender.New(sender.Options{Timeout: cfg.Delivery.Timeout, AllowCIDRs: cfg.Delivery.AllowCIDRs, RootCAs: roots,
		Resolver: g.resolver(cfg), AllowAddrs: allowAddrs, Exclusive: cfg.Delivery.AllowOnly, OnGuardViolation: g.violation})

	var q servingQueue
	var qrdb *redis.Client
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		// The queue's own client keeps go-redis's default read and write
		// timeouts: asynq's scripts may take longer than the limiter's
		// fail-fast budget. Dialing is bounded all the same, so that a
		// dead Redis costs POST /v1/events one refused dial, not seconds.
		boundDial(opts, cfg.RedisTimeout)
		qrdb = redis.NewClient(opts)
		q = queue.NewAsynq(qrdb, queue.AsynqOptions{Queue: cfg.Delivery.Queue, Logger: logger})
	} else {
		q = queue.NewMemory(queue.MemoryOptions{Logger: logger})
	}
	w := &delivery.Worker{
		Store: stores, Queue: q, Sender: snd, Opener: box,
		Schedule: cfg.Delivery.RetrySchedule, Lease: cfg.Delivery.Lease, DisableAfter: cfg.Delivery.DisableAfter,
		Retention: cfg.Delivery.LogRetention, SweepGrace: cfg.Delivery.SweepInterval,
		Clock: clock, Logger: logger,
	}
	svc := &delivery.Service{Store: stores, Queue: q, Processor: w, Clock: clock, Logger: logger}
	return svc, w, q, qrdb, nil
}

// RunWorker delivers events until ctx ends: it serves the queue and runs
// the sweeper and the log cleanup. Attempts in flight finish before it
// returns.
func (a *App) RunWorker(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.Worker.Run(ctx, a.Config.Delivery.SweepInterval, cleanupEvery)
	}()
	a.logger.Info("worker started", "queue", a.Config.Delivery.Queue, "concurrency", a.Config.Delivery.Concurrency,
		"in_process_queue", a.Config.RedisURL == "")
	err := a.queue.Serve(ctx, a.Worker.Process, a.Config.Delivery.Concurrency)
	wg.Wait()
	a.logger.Info("worker stopped")
	return err
}
