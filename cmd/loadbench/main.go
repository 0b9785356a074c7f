// Command loadbench is the `make bench` harness. In one run on one machine it
// measures five HTTP servers side by side, each on its own 127.0.0.1
// listener, with an in-process closed-loop load generator:
//
//   - bare: an echo handler that answers a small JSON 200;
//   - bare+redis_rate: the same handler after one redis_rate decision
//     against the real Redis, the ceiling for any server that asks Redis once
//     per request;
//   - chain: the real gateway (server.New with every middleware) serving a
//     benchmark route behind request ID, access log, auth with a cached key,
//     the Redis rate limiter and the permission check;
//   - chain+metrics: the same chain with metrics on (METRICS_ADDR): the
//     report prints its ratio to the chain, what metrics cost;
//   - chain redis-down: the same chain on a second gateway whose REDIS_URL
//     points at a closed local port, so that limits fall back to
//     in-process ones; the report prints the p99 a dead Redis adds;
//   - create: POST /v1/webhooks on the same gateway, down to PostgreSQL;
//   - delivery: event delivery end to end in production mode, as the
//     scenarios of issue 10 (-delivery selects them, -deliveries sizes
//     them): the real binary built once, and per scenario a throwaway
//     database and Redis key prefix, a local HTTPS
//     receiver, `gateway serve` taking POST /v1/events and one `gateway
//     worker` process delivering. The ceiling sends the same signed POSTs
//     with the gateway's sender straight to the receiver; then one
//     endpoint, a 10-way fan-out, a healthy endpoint beside one that hangs
//     12 s and beside one that answers 500 (retry storm), and a steady 500
//     events/s. One table puts deliveries/s, p50/p99 publish->receipt, the
//     ratio to the ceiling, losses, duplicates and the publish rate next
//     to each target, with PASS or MISS.
//
// It creates a throwaway database (gwbench_<hex>) and a Redis key prefix of
// its own, and removes them at the end, also
// after a failure or an interrupt. The database and the receiver are the
// tests' own helpers (internal/testdb, internal/testreceiver), so that the
// benchmark measures what the tests check, set up the same way.
// Every answer's status code (and the start of its body) is checked, so that
// a broken server cannot look fast. The exit status is 1 when setup fails,
// when any answer was wrong, or when a consistency check fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/internal/testdb"
	"github.com/leadlex/api-gateway/internal/testredis"
)

// options are the command-line settings.
type options struct {
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	maxRequests  int
	cpuProfile   string
	profilePhase string
	logLevel     slog.Level
	databaseURL  string
	redisURL     string

	// The delivery phase's settings.
	scenarios           []string
	deliveries          int
	publishers          int
	deliveryConcurrency int
	endpointConcurrency int
	databaseMaxConns    int
	deliveryWait        time.Duration
	receiverHTTP2       bool
	gatewayBin          string
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run does the whole benchmark and returns the process exit status. It is
// separate from main so that deferred cleanups always run before the process
// exits.
func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadbench:", err)
		return 2
	}

	// An interrupt cancels ctx: the load stops, the cleanups below still run
	// (with contexts of their own) and the throwaway database is dropped.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b, err := setup(ctx, opts, stderr)
	if b != nil {
		defer b.close()
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadbench: setup failed:", err)
		return 1
	}

	results := make([]*result, 0, len(b.phases))
	for _, p := range b.phases {
		fmt.Fprintf(stderr, "loadbench: %s: warm-up %s, then %s with %d workers\n", p.name, opts.warmup, opts.duration, opts.concurrency)
		res, err := b.measure(ctx, p)
		if err != nil {
			fmt.Fprintf(stderr, "loadbench: %s: %v\n", p.name, err)
			return 1
		}
		results = append(results, res)
	}
	delivery, err := b.runScenarios(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}

	report(stdout, opts, results)
	reportDelivery(stdout, opts, delivery)
	if !printChecks(stdout, b.check(context.Background(), results, delivery)) {
		return 1
	}
	return 0
}

// parseFlags reads and validates the command line.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var level, delivery string
	fs.IntVar(&o.concurrency, "c", 32, "concurrent workers (closed loop, one keep-alive connection each)")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration per server")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up per server")
	fs.IntVar(&o.maxRequests, "max", 2_000_000, "most requests per server and period (warm-up or measured)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of one measured period to this file")
	fs.StringVar(&o.profilePhase, "profile-phase", phaseChain, "which phase -cpuprofile covers: "+phaseBare+", "+phaseRedisRate+", "+phaseChain+", "+phaseMetrics+", "+phaseRedisDown+" or "+phaseCreate+" (the delivery scenarios run the gateway in processes of its own)")
	fs.StringVar(&level, "log-level", "info", "level of the gateway's (discarded) logs: info formats every access-log line as production does")
	fs.StringVar(&o.databaseURL, "database-url", envOr("DATABASE_URL", testdb.DefaultURL), "PostgreSQL server on which to create the throwaway database")
	fs.StringVar(&o.redisURL, "redis-url", envOr("REDIS_URL", testredis.DefaultURL), "Redis server")
	fs.StringVar(&delivery, "delivery", strings.Join(allScenarios, ","), "delivery scenarios to run, comma-separated ("+strings.Join(allScenarios, ",")+"), all, or none")
	fs.IntVar(&o.deliveries, "deliveries", 20_000, "delivery: size of the scenarios: the ceiling's and one endpoint's deliveries; fan-out N/10 events x 10; hang N/20 events x 2; storm N/20 events x 2 at 100/s; steady N/4 events at 500/s")
	fs.IntVar(&o.publishers, "publishers", 0, "delivery: concurrent publishers; 0 means -c")
	fs.IntVar(&o.deliveryConcurrency, "delivery-concurrency", 64, "delivery: the worker's DELIVERY_CONCURRENCY, and the ceiling's concurrency")
	fs.IntVar(&o.endpointConcurrency, "endpoint-concurrency", 32, "delivery: DELIVERY_ENDPOINT_CONCURRENCY (ignored by a binary that does not know it)")
	fs.IntVar(&o.databaseMaxConns, "database-max-conns", 16, "delivery: DATABASE_MAX_CONNS (ignored by a binary that does not know it)")
	fs.DurationVar(&o.deliveryWait, "delivery-wait", time.Minute, "delivery: how long after publishing ends a healthy delivery may still arrive before it counts as lost")
	fs.BoolVar(&o.receiverHTTP2, "receiver-http2", false, "delivery: the receiver speaks HTTP/2 (default HTTP/1.1)")
	fs.StringVar(&o.gatewayBin, "gateway-bin", "", "delivery: the gateway binary to run; empty builds it from this module (go build) into a temporary directory")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		return o, fmt.Errorf("-c must be from 1 to 1024, got %d", o.concurrency)
	}
	if o.duration <= 0 || o.duration > 10*time.Minute {
		return o, fmt.Errorf("-d must be more than 0 and at most 10m, got %s", o.duration)
	}
	if o.warmup < 0 || o.warmup > time.Minute {
		return o, fmt.Errorf("-warmup must be from 0 to 1m, got %s", o.warmup)
	}
	if o.maxRequests < o.concurrency || o.maxRequests > 50_000_000 {
		return o, fmt.Errorf("-max must be from -c to 50000000, got %d", o.maxRequests)
	}
	switch o.profilePhase {
	case phaseBare, phaseRedisRate, phaseChain, phaseMetrics, phaseRedisDown, phaseCreate:
	default:
		return o, fmt.Errorf("-profile-phase must name a phase, got %q", o.profilePhase)
	}
	if o.publishers == 0 {
		o.publishers = o.concurrency
	}
	if o.publishers < 1 || o.publishers > 1024 || o.publishers > o.maxRequests {
		return o, fmt.Errorf("-publishers must be from 1 to 1024 and at most -max, got %d", o.publishers)
	}
	var err error
	if o.scenarios, err = parseScenarios(delivery); err != nil {
		return o, err
	}
	if o.deliveries < 20 || o.deliveries > 1_000_000 {
		return o, fmt.Errorf("-deliveries must be from 20 to 1000000, got %d", o.deliveries)
	}
	if o.deliveryConcurrency < 1 || o.deliveryConcurrency > 1000 {
		return o, fmt.Errorf("-delivery-concurrency must be from 1 to 1000, got %d", o.deliveryConcurrency)
	}
	if o.endpointConcurrency < 1 || o.endpointConcurrency > 1000 {
		return o, fmt.Errorf("-endpoint-concurrency must be from 1 to 1000, got %d", o.endpointConcurrency)
	}
	if o.databaseMaxConns < 1 || o.databaseMaxConns > 1000 {
		return o, fmt.Errorf("-database-max-conns must be from 1 to 1000, got %d", o.databaseMaxConns)
	}
	if o.deliveryWait < time.Second || o.deliveryWait > 10*time.Minute {
		return o, fmt.Errorf("-delivery-wait must be from 1s to 10m, got %s", o.deliveryWait)
	}
	if err := o.logLevel.UnmarshalText([]byte(level)); err != nil {
		return o, fmt.Errorf("-log-level: %w", err)
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// measure warms a server up, then drives it for the measured duration, with
// a CPU profile of the measured period when one was asked for. Warm-up and
// measurement share one transport, so the measured period starts on warm
// keep-alive connections.
func (b *bench) measure(ctx context.Context, p *phase) (*result, error) {
	tr := newTransport(b.opts.concurrency)
	defer tr.CloseIdleConnections()

	runtime.GC()
	warm := drive(ctx, tr, p.target, b.opts.concurrency, b.opts.warmup, b.opts.maxRequests)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	runtime.GC()

	if b.opts.cpuProfile != "" && b.opts.profilePhase == p.name {
		stop, err := startCPUProfile(b.opts.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	var pool0 *pgxpool.Stat
	if p.pool != nil {
		pool0 = p.pool.Stat()
	}
	cpu0, redis0 := processCPU(), b.redisCPU(ctx)
	res := drive(ctx, tr, p.target, b.opts.concurrency, b.opts.duration, b.opts.maxRequests)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	res.name = p.name
	res.cpu = processCPU() - cpu0
	if redis1 := b.redisCPU(ctx); redis0 >= 0 && redis1 >= redis0 {
		res.redisCPU = redis1 - redis0
	} else {
		res.redisCPU = -1
	}
	if pool0 != nil {
		res.notes = append(res.notes, poolNote(pool0, p.pool.Stat()))
	}
	res.absorbWarmup(warm)
	return res, nil
}

// poolNote describes how the gateway's database pool served a measured
// period: a pool that is often empty makes requests queue for a connection.
func poolNote(before, after *pgxpool.Stat) string {
	acquires := after.AcquireCount() - before.AcquireCount()
	waited := after.EmptyAcquireCount() - before.EmptyAcquireCount()
	wait := after.EmptyAcquireWaitTime() - before.EmptyAcquireWaitTime()
	if acquires <= 0 {
		return fmt.Sprintf("database pool (max %d connections): no acquires", after.MaxConns())
	}
	avg := time.Duration(0)
	if waited > 0 {
		avg = wait / time.Duration(waited)
	}
	return fmt.Sprintf("database pool (max %d connections): %d acquires, %.0f%% waited for a free connection, %.2f ms on average when they did",
		after.MaxConns(), acquires, 100*float64(waited)/float64(acquires), float64(avg)/float64(time.Millisecond))
}

// processCPU returns the CPU time this process (load generator and servers
// together) has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU returns the CPU time the Redis server has used so far, or -1
// when it cannot tell. Redis runs on the same machine, so its share of the
// cores is part of what a phase costs.
func (b *bench) redisCPU(ctx context.Context) time.Duration {
	info, err := b.redis.Info(ctx, "cpu").Result()
	if err != nil {
		return -1
	}
	var total float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "used_cpu_sys" && name != "used_cpu_user") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return -1
		}
		total += v
		found++
	}
	if found != 2 {
		return -1
	}
	return time.Duration(total * float64(time.Second))
}

// startCPUProfile starts writing a CPU profile to path and returns the
// function that ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
