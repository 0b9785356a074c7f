package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/signature"
)

// Engine defaults, used when the corresponding field is zero, and the
// defaults config reads (so that the two cannot differ).
const (
	// DefaultConcurrency is how many attempts one engine keeps in flight.
	DefaultConcurrency = 64
	// DefaultBatch bounds one ClaimDue and one RecordAttempts.
	DefaultBatch = 64
	// DefaultPollInterval is how long an idle engine waits before it
	// claims again without a wake-up: the most a lost wake-up costs.
	DefaultPollInterval = 250 * time.Millisecond
	// LeaseMargin is what a lease adds to the attempt's timeout: room for
	// recording the outcome (DELIVERY_LEASE defaults to DELIVERY_TIMEOUT
	// plus this), so that a slow attempt is never claimed twice.
	LeaseMargin = 15 * time.Second
	// DefaultLease is the lease for the sender's default 10 s timeout; a
	// crashed worker's leases are released by heartbeat long before.
	DefaultLease = 10*time.Second + LeaseMargin
	// DefaultHeartbeat is how often an engine tells the store it is alive.
	DefaultHeartbeat = time.Second
	// DefaultDeadAfter is how long without a heartbeat makes a worker
	// dead: its leases are released by the next live worker's heartbeat.
	DefaultDeadAfter = 5 * time.Second
	// DefaultRetention is how long attempts are kept (contract §4: 30 days).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultStopTimeout bounds a graceful stop's wait for the attempts in
	// flight and their recording.
	DefaultStopTimeout = 30 * time.Second
	// DefaultRecordGiveUp: see Engine.RecordGiveUp.
	DefaultRecordGiveUp = 30 * time.Second
	// cleanupEvery is how often an engine deletes attempts past retention.
	cleanupEvery = time.Hour
	// storeTimeout bounds every store call of the engine.
	storeTimeout = 10 * time.Second
)

// Sender sends one attempt. *sender.Sender implements it.
type Sender interface {
	Send(ctx context.Context, url string, header http.Header, body []byte) Result
}

// Opener decrypts webhook secrets, sealed with the webhook id as associated
// data. *secretbox.Box implements it.
type Opener interface {
	Open(sealed string, aad []byte) ([]byte, error)
}

// Engine delivers events with the store's deliveries table as the queue:
// a dispatcher claims due deliveries in batches (ClaimDue, which enforces
// each endpoint's in-flight limit and pause), sends each on its own
// goroutine with up to Concurrency in flight, and a recorder writes the
// outcomes in batches (RecordAttempts) with the endpoints' adapted states
// (Adapt). Nothing lives only in memory except outcomes not yet recorded,
// which the recorder retries until the store takes them, so a store outage
// neither loses nor re-sends a made attempt. Heartbeats let any live engine
// release a crashed one's leases within seconds.
//
// Its fields are set once before Run; an Engine is then safe for concurrent
// use. Secrets, payloads and receivers' answers never reach its logs, nor
// do webhook URLs (whose query strings can hold tokens).
type Engine struct {
	Store  Store
	Sender Sender
	Opener Opener
	// Schedule is the retry backoff; nil means DefaultSchedule.
	Schedule Schedule
	// Endpoint tunes the per-endpoint adaptation (see Adapt); its
	// InitialLimit and MaxLimit are also the claims' limits.
	Endpoint EndpointPolicy
	// Concurrency is the most attempts in flight; zero means
	// DefaultConcurrency.
	Concurrency int
	// Batch bounds a claim and a record batch; zero means DefaultBatch.
	Batch int
	// PollInterval is the wait for a wake-up when nothing was due; zero
	// means DefaultPollInterval.
	PollInterval time.Duration
	// RecordDelay is how long the recorder waits for a batch to fill
	// before it writes what it has; zero means 2 ms.
	RecordDelay time.Duration
	// Lease is how long a claim keeps other workers off a delivery; zero
	// means DefaultLease. It must outlast an attempt and its recording.
	Lease time.Duration
	// HeartbeatEvery and DeadAfter (zero: the defaults) decide how fast a
	// crashed worker's leases are released.
	HeartbeatEvery time.Duration
	DeadAfter      time.Duration
	// StopTimeout bounds the graceful stop; zero means DefaultStopTimeout.
	StopTimeout time.Duration
	// RecordGiveUp is how long the recorder retries a batch the store
	// refuses (other than by timing out) while the store answers
	// heartbeats, before it looks for the one outcome it refuses and
	// drops it; zero means DefaultRecordGiveUp. A store that is down
	// answers no heartbeat, so its outcomes are retried until it is back.
	RecordGiveUp time.Duration
	// DisableAfter is passed to the store with every outcome (the
	// auto-disable rule); zero disables the rule.
	DisableAfter time.Duration
	// Retention is how long Run keeps attempts; zero means
	// DefaultRetention, negative turns the cleanup off.
	Retention time.Duration
	// Wakeups are subscribed to by Run (Redis pub/sub, LISTEN); Notify
	// wakes the engine directly too.
	Wakeups []Wakeups
	// WorkerID names this engine in leases and heartbeats; empty means a
	// new UUID per Run.
	WorkerID string
	// Clock tells the time; nil means gateway.SystemClock.
	Clock gateway.Clock
	// Jitter returns a value in [0, 1) for the schedule's jitter; nil means
	// math/rand. Tests fix it.
	Jitter func() float64
	// Logger receives one line per attempt and the engine's errors; nil
	// discards them.
	Logger *slog.Logger
	// Observer, when set, is told of every attempt (metrics).
	Observer AttemptObserver

	initOnce sync.Once
	wake     chan struct{} // Notify and the subscriptions, coalesced
	freed    chan struct{} // an attempt ended, coalesced
	worker   atomic.Value  // string: the running worker id
	stats    counters
	eps      endpoints
	// recordFailing is set while the recorder's last write failed.
	recordFailing atomic.Bool
}

// init makes the channels; every entry point calls it.
func (e *Engine) init() {
	e.initOnce.Do(func() {
		e.wake = make(chan struct{}, 1)
		e.freed = make(chan struct{}, 1)
		e.eps.m = make(map[string]*endpointEntry)
	})
}

// Notify wakes the engine: deliveries may have become due. It never blocks
// (wake-ups coalesce); the engine serving the API in the same process is
// its own Notifier.
func (e *Engine) Notify(context.Context) {
	e.init()
	signal(e.wake)
}

// signal does a non-blocking send on a coalescing channel.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then stops gracefully: it claims nothing
// more, waits for the attempts in flight, records every outcome (retrying
// the store, all bounded by StopTimeout) and retires the worker. It also
// heartbeats and deletes attempts past Retention. It returns nil after a
// stop by ctx.
func (e *Engine) Run(ctx context.Context) error {
	e.init()
	worker := e.WorkerID
	if worker == "" {
		worker = uuid.NewString()
	}
	e.worker.Store(worker)
	log := e.logger()

	// The background jobs stop with bg, which outlives ctx by the stop.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var jobs sync.WaitGroup
	for _, w := range e.Wakeups {
		ch := w.Subscribe(bg)
		jobs.Go(func() {
			for {
				select {
				case <-bg.Done(): // even if the subscription never closes ch
					return
				case _, ok := <-ch:
					if !ok {
						return
					}
					signal(e.wake)
				}
			}
		})
	}
	e.heartbeat(bg, worker) // before the first claim, so the claims are covered
	jobs.Go(func() { e.heartbeats(bg, worker) })
	if e.Retention >= 0 {
		jobs.Go(func() { e.cleanups(bg) })
	}

	rec := newRecorder(e)
	recDone := make(chan struct{})
	go func() { defer close(recDone); rec.run() }()

	log.LogAttrs(ctx, slog.LevelInfo, "delivery engine started", slog.String("worker_id", worker),
		slog.Int("concurrency", e.concurrency()), slog.Int("batch", e.batch()))
	var inflight sync.WaitGroup
	e.dispatch(ctx, worker, rec, &inflight)

	// Graceful stop: the attempts in flight finish (the sender bounds
	// each), the recorder writes them, then the worker retires.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.stopTimeout())
	defer cancel()
	rec.stopBy(stopCtx)
	inflight.Wait()
	rec.close()
	<-recDone
	stopBG()
	jobs.Wait()
	rctx, rcancel := context.WithTimeout(stopCtx, storeTimeout)
	defer rcancel()
	if err := e.Store.RetireWorker(rctx, worker); err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "delivery engine: retiring the worker failed; its heartbeat expires instead",
			slog.String("worker_id", worker), slog.String("error", err.Error()))
	}
	s := e.Stats()
	log.LogAttrs(ctx, slog.LevelInfo, "delivery engine stopped", slog.String("worker_id", worker),
		slog.Int64("recorded", s.Recorded), slog.Int64("unrecorded", s.Dropped))
	return nil
}

// dispatch is the claim loop: while slots are free it claims up to a batch
// and starts one goroutine per claim; a full claim claims again at once,
// a short one waits for a wake-up (a publish, or the recorder releasing
// leases) or the poll interval, and with no slot free it waits for one.
func (e *Engine) dispatch(ctx context.Context, worker string, rec *recorder, inflight *sync.WaitGroup) {
	conc, batch, poll := e.concurrency(), e.batch(), e.pollInterval()
	slots := make(chan struct{}, conc) // a token per attempt in flight
	timer := time.NewTimer(poll)
	defer timer.Stop()
	var failures int
	for ctx.Err() == nil {
		free := conc - len(slots)
		full := false
		// While the recorder cannot write, claim nothing: the store is
		// likely down, and once it is back the outcomes must be written
		// before any claim, or a claim could take over a delivery whose
		// lease ran out during the outage and send it again.
		if e.recordFailing.Load() {
			free = -1
		}
		if free > 0 {
			want := min(free, batch)
			claims, err := e.claim(ctx, worker, want)
			switch {
			case err != nil && ctx.Err() == nil:
				failures++
				e.stats.claimErrors.Add(1)
				if failures == 1 || failures%100 == 0 {
					e.logger().LogAttrs(ctx, slog.LevelError, "delivery engine: claim failed; retrying",
						slog.Int("failures", failures), slog.String("error", err.Error()))
				}
			case err == nil:
				failures = 0
			}
			for _, c := range claims {
				slots <- struct{}{}
				e.stats.inFlight.Add(1)
				e.stats.sending.Add(1)
				inflight.Go(func() {
					defer func() {
						<-slots
						e.stats.inFlight.Add(-1)
						signal(e.freed)
					}()
					e.attempt(ctx, c, rec)
				})
			}
			full = err == nil && len(claims) == want
		}
		if full {
			continue
		}
		// A freed slot matters only when the slots were what stopped the
		// claim; after a short claim, what was left is not claimable yet
		// (not due, or its endpoint at its limit until the recorder
		// releases leases, which wakes the engine).
		var freed <-chan struct{}
		if free == 0 { // (free < 0: the recorder's success wakes it)
			freed = e.freed
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-freed:
		case <-timer.C:
		}
	}
}

// claim calls ClaimDue for up to n deliveries and notes the endpoints'
// states the claims carry.
func (e *Engine) claim(ctx context.Context, worker string, n int) ([]Claim, error) {
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	p := e.Endpoint.withDefaults()
	claims, err := e.Store.ClaimDue(cctx, ClaimParams{Worker: worker, Now: e.now(), Lease: e.lease(), Limit: n,
		InitialLimit: p.InitialLimit, MaxLimit: p.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("claim due: %w", err)
	}
	e.stats.claimCalls.Add(1)
	e.stats.claimed.Add(int64(len(claims)))
	for _, c := range claims {
		e.eps.fromClaim(c)
	}
	return claims, nil
}

// attempt signs and sends one claimed delivery and hands its outcome, with
// the endpoint's adapted state, to the recorder. A secret that does not
// open is a key configuration error the operator must fix: nothing is
// sent (never unsigned) and the delivery waits for its lease to end.
func (e *Engine) attempt(ctx context.Context, c Claim, rec *recorder) {
	if !e.waitOutPause(ctx, c) {
		e.stats.sending.Add(-1)
		e.stats.deferred.Add(1)
		return
	}
	o, res, ok := e.send(ctx, &c)
	e.stats.sending.Add(-1) // before the hand-over: see recorder.run
	if !ok {
		return
	}
	st := e.eps.adapt(c, res, e.now(), e.Endpoint)
	rec.add(o, st)
}

// waitOutPause keeps a claim from being sent while this engine knows its
// endpoint to be paused: a 429 or 503 with Retry-After (or an open circuit)
// may arrive after the claim was made but before the pause was recorded,
// and the endpoint asked for no request at all until then. A short pause
// (at most a quarter of the lease, so the attempt still ends well within
// it) is waited out holding the slot; for a longer one, or when the engine
// stops, the claim is left unsent and unrecorded: its lease runs out (or
// RetireWorker releases it) and the stored pause keeps it unclaimed until
// the endpoint may be called again. It reports whether to send now.
func (e *Engine) waitOutPause(ctx context.Context, c Claim) bool {
	until, paused := e.eps.pausedUntil(c.Delivery.WebhookID, e.now())
	if !paused {
		return true
	}
	wait := until.Sub(e.now())
	if wait > e.lease()/4 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send makes the attempt of claim c: it opens the secrets, builds the
// payload and signature once, sends, and returns the outcome to record;
// false when the secret does not open (logged).
func (e *Engine) send(ctx context.Context, c *Claim) (Outcome, Result, bool) {
	d := c.Delivery
	now := e.now()
	secrets, err := e.secrets(c, now)
	if err != nil {
		e.stats.secretErrors.Add(1)
		e.logger().LogAttrs(ctx, slog.LevelError, "delivery: cannot open the webhook secret",
			slog.String("delivery_id", d.ID), slog.String("webhook_id", d.WebhookID),
			slog.String("workspace_id", d.WorkspaceID))
		return Outcome{}, Result{}, false
	}
	body := Payload(c.Event)
	header := signature.Headers(d.ID, now, body, secrets...)
	// The attempt runs to its end (the sender bounds it) even when ctx
	// ends: a graceful stop waits for it and records it.
	res := e.Sender.Send(context.WithoutCancel(ctx), c.Target.URL, header, body)
	o := e.outcome(c, res, now, e.now())
	outcome := outcomeOf(o)
	e.stats.countResult(res, outcome)
	if e.Observer != nil {
		e.Observer.ObserveAttempt(outcome, res.Duration)
	}
	return o, res, true
}

// Send makes one attempt of one delivery now, outside the dispatcher, and
// returns the recorded attempt (nil, nil when there was nothing to claim):
// POST /v1/webhooks/{id}/test sends its test delivery this way. It claims
// with ClaimDelivery and records with a RecordAttempts of one; the
// endpoint's state is left alone.
func (e *Engine) Send(ctx context.Context, deliveryID string) (*Attempt, error) {
	e.init()
	c, err := e.Store.ClaimDelivery(ctx, deliveryID, e.now(), e.lease())
	if errors.Is(err, ErrNotClaimed) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: claim: %w", deliveryID, err)
	}
	o, _, ok := e.send(ctx, c)
	if !ok {
		return nil, fmt.Errorf("delivery %s: the webhook secret does not open", deliveryID)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	results, err := e.Store.RecordAttempts(rctx, []Outcome{o}, nil)
	if err == nil && len(results) != 1 {
		err = fmt.Errorf("the store answered %d results for one outcome", len(results))
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: record attempt %d: %w", deliveryID, c.Delivery.Attempts, err)
	}
	switch {
	case errors.Is(results[0], ErrNotClaimed):
		e.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: lease lost during the attempt; the next claim decides",
			slog.String("delivery_id", c.Delivery.ID), slog.Int("attempt", c.Delivery.Attempts))
	case results[0] != nil:
		return nil, fmt.Errorf("delivery %s: record attempt %d: %w", deliveryID, c.Delivery.Attempts, results[0])
	default:
		e.logAttempt(ctx, o)
	}
	return &o.Attempt, nil
}

// heartbeats calls heartbeat every HeartbeatEvery until ctx ends.
func (e *Engine) heartbeats(ctx context.Context, worker string) {
	t := time.NewTicker(e.heartbeatEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.heartbeat(ctx, worker)
		}
	}
}

// heartbeat marks the worker alive; leases of dead workers it releases
// make deliveries due at once, so it wakes the dispatcher.
func (e *Engine) heartbeat(ctx context.Context, worker string) {
	hctx, cancel := context.WithTimeout(ctx, min(storeTimeout, e.deadAfter()))
	defer cancel()
	n, err := e.Store.Heartbeat(hctx, worker, e.now(), e.deadAfter())
	if err != nil {
		e.stats.heartbeatErrors.Add(1)
		if ctx.Err() == nil {
			e.logger().LogAttrs(ctx, slog.LevelWarn, "delivery engine: heartbeat failed", slog.String("error", err.Error()))
		}
		return
	}
	if n > 0 {
		e.stats.released.Add(int64(n))
		e.logger().LogAttrs(ctx, slog.LevelInfo, "delivery engine: released the leases of dead workers", slog.Int("released", n))
		signal(e.wake)
	}
}

// cleanups deletes attempts past retention at once and then every hour.
func (e *Engine) cleanups(ctx context.Context) {
	t := time.NewTicker(cleanupEvery)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := e.Cleanup(cctx, e.retention())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			e.logger().LogAttrs(ctx, slog.LevelError, "delivery attempt cleanup failed", slog.String("error", err.Error()))
		case n > 0:
			e.logger().LogAttrs(ctx, slog.LevelInfo, "delivery attempt cleanup", slog.Int("deleted", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Cleanup deletes the attempts older than retention and returns how many.
func (e *Engine) Cleanup(ctx context.Context, retention time.Duration) (int, error) {
	n, err := e.Store.DeleteAttemptsBefore(ctx, e.now().Add(-retention))
	if err != nil {
		return n, fmt.Errorf("cleanup: %w", err)
	}
	e.stats.logsDeleted.Add(int64(n))
	return n, nil
}

func (e *Engine) now() time.Time {
	if e.Clock == nil {
		return gateway.SystemClock{}.Now()
	}
	return e.Clock.Now()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (e *Engine) concurrency() int { return orDefault(e.Concurrency, DefaultConcurrency) }
func (e *Engine) batch() int       { return orDefault(e.Batch, DefaultBatch) }
func (e *Engine) pollInterval() time.Duration {
	return orDefault(e.PollInterval, DefaultPollInterval)
}
func (e *Engine) recordDelay() time.Duration { return orDefault(e.RecordDelay, 2*time.Millisecond) }
func (e *Engine) lease() time.Duration       { return orDefault(e.Lease, DefaultLease) }
func (e *Engine) heartbeatEvery() time.Duration {
	return orDefault(e.HeartbeatEvery, DefaultHeartbeat)
}
func (e *Engine) deadAfter() time.Duration   { return orDefault(e.DeadAfter, DefaultDeadAfter) }
func (e *Engine) stopTimeout() time.Duration { return orDefault(e.StopTimeout, DefaultStopTimeout) }
func (e *Engine) recordGiveUp() time.Duration {
	return orDefault(e.RecordGiveUp, DefaultRecordGiveUp)
}
func (e *Engine) retention() time.Duration { return orDefault(e.Retention, DefaultRetention) }

func (e *Engine) schedule() Schedule {
	if e.Schedule == nil {
		return DefaultSchedule
	}
	return e.Schedule
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}
