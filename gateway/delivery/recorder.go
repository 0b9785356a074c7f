package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Recorder backoff between failed RecordAttempts calls: from the first to
// the last, doubling, so that a restarting Postgres is retried often at
// first and then without hammering it.
const (
	recordBackoffFirst = 10 * time.Millisecond
	recordBackoffMax   = time.Second
)

// recorded is one outcome waiting to be recorded, with its endpoint's state
// after it (only its ids are used: the batch carries each endpoint's latest
// state when it is written).
type recorded struct {
	o  Outcome
	st EndpointState
}

// recorder batches outcomes into RecordAttempts calls: it writes when a
// batch is full, when no other attempt is still being sent, or RecordDelay
// after its first outcome, and retries a
// failed write with backoff until the store takes it, so that a made
// attempt is never lost nor sent again because the store was down. While it
// retries, its input fills and the attempts that wait to hand over their
// outcomes keep their slots: the engine claims nothing new until the store
// is back. After stopBy's deadline it tries each batch once more and drops
// (and logs) what still fails: those deliveries' leases expire and they are
// sent again. An outcome the store keeps refusing while it answers
// heartbeats is isolated by halving its batch and dropped the same way, so
// that one write that can never succeed does not stop the engine.
type recorder struct {
	e  *Engine
	in chan recorded

	mu       sync.Mutex
	deadline context.Context // nil until stopBy
}

func newRecorder(e *Engine) *recorder {
	return &recorder{e: e, in: make(chan recorded, e.batch())}
}

// add hands over one outcome; it blocks while the recorder is behind.
func (r *recorder) add(o Outcome, st EndpointState) {
	r.e.eps.pending(st.WebhookID, 1)
	r.in <- recorded{o: o, st: st}
}

// stopBy bounds the retries from now on by ctx.
func (r *recorder) stopBy(ctx context.Context) {
	r.mu.Lock()
	r.deadline = ctx
	r.mu.Unlock()
}

// close ends the input after the last add.
func (r *recorder) close() { close(r.in) }

// stopping returns the stop's context, nil while running.
func (r *recorder) stopping() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deadline
}

// run writes batches until the input is closed and drained.
func (r *recorder) run() {
	max := r.e.batch()
	batch := make([]recorded, 0, max)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, ok := <-r.in
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		timer.Reset(r.e.recordDelay())
	fill:
		for len(batch) < max {
			// Nothing more is coming soon: no attempt is still being sent
			// (each counts itself out before it hands over) and nothing
			// waits in the input. Waiting for the delay would only add
			// latency.
			if r.e.stats.sending.Load() == 0 && len(r.in) == 0 {
				break fill
			}
			select {
			case it, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		r.write(batch)
	}
}

// write records one batch, retrying until it is written or the stop's
// deadline has passed.
func (r *recorder) write(batch []recorded) { r.writeSuspect(batch, false) }

// writeSuspect is write; a suspect batch is half of one the store kept
// refusing while it answered, so its own refusal is believed at once.
func (r *recorder) writeSuspect(batch []recorded, suspect bool) {
	e := r.e
	outcomes := make([]Outcome, len(batch))
	for i, it := range batch {
		outcomes[i] = it.o
	}
	states := e.eps.latest(batch)
	backoff := recordBackoffFirst
	var failingSince time.Time
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if stop := r.stopping(); stop != nil {
			ctx, cancel = context.WithTimeout(stop, storeTimeout)
		}
		results, err := e.Store.RecordAttempts(ctx, outcomes, states)
		cancel()
		if err == nil && len(results) != len(outcomes) {
			err = errors.New("the store answered a wrong number of results")
		}
		if err == nil {
			e.recordFailing.Store(false)
			r.done(batch, results)
			// The batch released its leases: endpoints that were at
			// their limit may take more now.
			signal(e.wake)
			return
		}
		e.stats.recordErrors.Add(1)
		e.recordFailing.Store(true)
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if try == 1 || try%50 == 0 {
			e.logger().LogAttrs(context.Background(), slog.LevelError, "delivery engine: recording attempts failed; retrying",
				slog.Int("outcomes", len(batch)), slog.Int("try", try), slog.String("error", err.Error()))
		}
		stop := r.stopping()
		if stop != nil && stop.Err() != nil {
			r.drop(batch, "delivery engine: stopped before the store took these attempts; their deliveries are sent again when their leases end", err)
			return
		}
		if (suspect || time.Since(failingSince) >= e.recordGiveUp()) && !errors.Is(err, context.DeadlineExceeded) {
			// The store may be up and refusing this batch itself (a
			// write that can never succeed must not stop the engine):
			// halve it until the outcome it refuses is alone, and drop
			// that one if the store answers otherwise.
			if len(batch) > 1 {
				h := len(batch) / 2
				r.writeSuspect(batch[:h], true)
				r.writeSuspect(batch[h:], true)
				return
			}
			if r.storeAnswers() {
				r.drop(batch, "delivery engine: the store refuses this attempt while it answers; dropped (the delivery is sent again when its lease ends)", err)
				e.recordFailing.Store(false)
				signal(e.wake)
				return
			}
		}
		var stopDone <-chan struct{}
		if stop != nil {
			stopDone = stop.Done()
		}
		select {
		case <-time.After(backoff):
		case <-stopDone:
		}
		backoff = min(2*backoff, recordBackoffMax)
	}
}

// drop gives up a batch: counted, logged with why and the store's error,
// and no longer pending for its endpoints.
func (r *recorder) drop(batch []recorded, why string, err error) {
	e := r.e
	e.stats.dropped.Add(int64(len(batch)))
	for _, it := range batch {
		e.eps.pending(it.st.WebhookID, -1)
	}
	e.logger().LogAttrs(context.Background(), slog.LevelError, why,
		slog.Int("outcomes", len(batch)), slog.String("error", err.Error()))
}

// storeAnswers reports whether the store takes a heartbeat now, which tells
// a store that is down from one that refuses a particular write.
func (r *recorder) storeAnswers() bool {
	worker, _ := r.e.worker.Load().(string)
	if worker == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := r.e.Store.Heartbeat(ctx, worker, r.e.now(), r.e.deadAfter())
	return err == nil
}

// done counts and logs a written batch.
func (r *recorder) done(batch []recorded, results []error) {
	e := r.e
	e.stats.recordBatches.Add(1)
	for i, it := range batch {
		e.eps.pending(it.st.WebhookID, -1)
		switch err := results[i]; {
		case err == nil:
			e.stats.recorded.Add(1)
			e.logAttempt(context.Background(), it.o)
		case errors.Is(err, ErrNotClaimed):
			// The lease ran out during the attempt (or a heartbeat gave
			// it up) and another claim took the delivery over: the
			// attempt is logged, the delivery is theirs.
			e.stats.stale.Add(1)
			e.logger().LogAttrs(context.Background(), slog.LevelWarn, "delivery: lease lost during the attempt; the next claim decides",
				slog.String("delivery_id", it.o.Attempt.DeliveryID), slog.Int("attempt", it.o.Attempt.Attempt))
		default:
			// ErrNotFound: the webhook was deleted with its deliveries.
			e.stats.stale.Add(1)
		}
	}
}
