package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/signature"
)

// Worker defaults, used when the corresponding field is zero, and the
// defaults of DELIVERY_LEASE and DELIVERY_LOG_RETENTION (config reads them
// from here, so that the two cannot differ).
const (
	// DefaultLease outlasts an attempt (the sender's 10 s bound) with room
	// for the store calls around it, so that a slow attempt is never claimed
	// twice, yet a crashed worker's delivery is picked up within a minute.
	DefaultLease = time.Minute
	// DefaultRetention is how long attempts are kept (contract §4: 30 days).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultSweepBatch bounds how many due deliveries one sweep re-enqueues.
	DefaultSweepBatch = 1000
	// recordTimeout bounds recording an attempt that has been made, which
	// runs even when the caller's context has ended.
	recordTimeout = 10 * time.Second
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

// Worker claims, signs, sends and records delivery attempts, and schedules
// the next one. Its fields are set once before use; a Worker is then safe
// for concurrent use. Secrets, payloads and receivers' answers never reach
// its logs, nor do webhook URLs (whose query strings can hold tokens).
type Worker struct {
	Store  Store
	Queue  Queue
	Sender Sender
	Opener Opener
	// Schedule is the retry backoff; nil means DefaultSchedule.
	Schedule Schedule
	// Lease is how long a claim keeps other workers off a delivery; zero
	// means DefaultLease. It must outlast an attempt.
	Lease time.Duration
	// DisableAfter is passed to the store with every outcome (the
	// auto-disable rule); zero disables the rule.
	DisableAfter time.Duration
	// Retention is how long Run keeps attempts; zero means DefaultRetention.
	Retention time.Duration
	// SweepGrace is how long past due a delivery must be before Sweep
	// re-enqueues it, so that a sweep does not duplicate tasks a healthy
	// queue is about to run. Zero re-enqueues everything due.
	SweepGrace time.Duration
	// SweepBatch bounds one sweep; zero means DefaultSweepBatch.
	SweepBatch int
	// Clock tells the time; nil means gateway.SystemClock.
	Clock gateway.Clock
	// Jitter returns a value in [0, 1) for the schedule's jitter; nil means
	// math/rand. Tests fix it.
	Jitter func() float64
	// Logger receives one line per attempt and the worker's errors; nil
	// discards them.
	Logger *slog.Logger
}

// Payload returns the body of a delivery of ev (contract §6): exactly
// {"id":…,"type":…,"created_at":…,"workspace_id":…,"data":…} in this order,
// created_at in RFC 3339 UTC with whole seconds and data as published.
func Payload(ev Event) []byte {
	data := []byte(ev.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	var b bytes.Buffer
	b.Grow(128 + len(data))
	b.WriteString(`{"id":`)
	writeString(&b, ev.ID)
	b.WriteString(`,"type":`)
	writeString(&b, ev.Type)
	b.WriteString(`,"created_at":`)
	writeString(&b, ev.CreatedAt.UTC().Format(time.RFC3339))
	b.WriteString(`,"workspace_id":`)
	writeString(&b, ev.WorkspaceID)
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.Bytes()
}

// writeString appends s as a JSON string.
func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// Process makes one attempt of a delivery: it claims it (doing nothing if
// another worker holds it, or it is not pending or not due), signs and sends
// it, records the attempt and the delivery's new state, and enqueues the
// next attempt when there is one.
//
// Once an attempt has been sent, it is recorded even if ctx ends meanwhile,
// so that a worker shutting down never leaves a made attempt unrecorded; ctx
// still bounds the claim and the enqueue. An error means the attempt could
// not be made or recorded; the delivery then stays pending and the sweeper
// finds it when its lease expires.
func (w *Worker) Process(ctx context.Context, deliveryID string) error {
	_, err := w.Send(ctx, deliveryID)
	return err
}

// Send is Process that also returns the attempt it made and recorded (nil,
// nil when there was nothing to claim), for callers that answer with it,
// such as POST /v1/webhooks/{id}/test.
func (w *Worker) Send(ctx context.Context, deliveryID string) (*Attempt, error) {
	now := w.now()
	c, err := w.Store.ClaimDelivery(ctx, deliveryID, now, w.lease())
	if errors.Is(err, ErrNotClaimed) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: claim: %w", deliveryID, err)
	}
	d := c.Delivery
	secrets, err := w.secrets(c, now)
	if err != nil {
		// A secret that does not open is a key configuration error, which
		// the operator must fix; sending unsigned is never an option.
		w.logger().LogAttrs(ctx, slog.LevelError, "delivery: cannot open the webhook secret",
			slog.String("delivery_id", d.ID), slog.String("webhook_id", d.WebhookID),
			slog.String("workspace_id", d.WorkspaceID))
		return nil, fmt.Errorf("delivery %s: open secret: %w", deliveryID, err)
	}

	body := Payload(c.Event)
	header := signature.Headers(d.ID, now, body, secrets...)
	res := w.Sender.Send(context.WithoutCancel(ctx), c.Target.URL, header, body)
	end := w.now()

	o := w.outcome(c, res, now, end)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	err = w.Store.RecordAttempt(rctx, o)
	if errors.Is(err, ErrNotClaimed) {
		// The lease ran out during the attempt and another claim took the
		// delivery over: the attempt is logged, the delivery is theirs.
		w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: lease lost during the attempt; the next claim decides",
			slog.String("delivery_id", d.ID), slog.Int("attempt", d.Attempts))
		return &o.Attempt, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: record attempt %d: %w", deliveryID, d.Attempts, err)
	}
	w.logAttempt(ctx, o)

	if o.NextAttemptAt != nil {
		if err := w.Queue.Enqueue(ctx, d.ID, *o.NextAttemptAt); err != nil {
			// The store has the schedule; the sweeper enqueues it when due.
			w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: enqueue of the next attempt failed; the sweeper will pick it up",
				slog.String("delivery_id", d.ID), slog.String("error", err.Error()))
		}
	}
	return &o.Attempt, nil
}

// secrets opens the webhook's current secret and, while it has not expired,
// the previous one, in that order.
func (w *Worker) secrets(c *Claim, now time.Time) ([]string, error) {
	aad := []byte(c.Delivery.WebhookID)
	cur, err := w.Opener.Open(c.Target.SecretCiphertext, aad)
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	t := c.Target
	if t.PreviousSecretCiphertext != "" && t.PreviousSecretExpiresAt != nil && now.Before(*t.PreviousSecretExpiresAt) {
		prev, err := w.Opener.Open(t.PreviousSecretCiphertext, aad)
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// outcome turns a send result into what the store records: success on a
// 2xx; otherwise failed, with the next attempt's time (the delivery stays
// pending) while the schedule allows another, and without one (failed for
// good) when it does not, when the receiver answered 410 Gone, or for a test
// delivery (never retried).
func (w *Worker) outcome(c *Claim, res Result, start, end time.Time) Outcome {
	d := c.Delivery
	a := Attempt{
		ID:                 uuid.NewString(),
		DeliveryID:         d.ID,
		WebhookID:          d.WebhookID,
		WorkspaceID:        d.WorkspaceID,
		EventType:          d.EventType,
		Attempt:            d.Attempts,
		ResponseStatusCode: res.StatusCode,
		ResponseBody:       res.Body,
		DurationMS:         int(max(res.Duration, 0).Milliseconds()),
		DeliveredAt:        start,
	}
	o := Outcome{DisableAfter: w.DisableAfter}
	switch {
	case res.ErrClass == "":
		a.Status = StatusSuccess
	case d.Test || res.Gone:
		a.Status = StatusFailed
	default:
		a.Status = StatusFailed
		if wait, ok := w.schedule().Next(d.Attempts, res.RetryAfter, w.Jitter); ok {
			next := end.Add(wait)
			o.NextAttemptAt = &next
		}
	}
	if res.ErrClass != "" {
		class := res.ErrClass
		a.Error = &class
	}
	o.Attempt = a
	return o
}

// logAttempt writes one line per recorded attempt: ids, outcome and timing,
// never the URL, secrets, payload or the receiver's answer.
func (w *Worker) logAttempt(ctx context.Context, o Outcome) {
	a := o.Attempt
	attrs := []slog.Attr{
		slog.String("delivery_id", a.DeliveryID),
		slog.String("webhook_id", a.WebhookID),
		slog.String("workspace_id", a.WorkspaceID),
		slog.String("event_type", a.EventType),
		slog.Int("attempt", a.Attempt),
		slog.String("status", a.Status),
		slog.Int("duration_ms", a.DurationMS),
	}
	if a.ResponseStatusCode != nil {
		attrs = append(attrs, slog.Int("response_status_code", *a.ResponseStatusCode))
	}
	if a.Error != nil {
		attrs = append(attrs, slog.String("error", *a.Error))
	}
	if o.NextAttemptAt != nil {
		attrs = append(attrs, slog.Time("next_attempt_at", *o.NextAttemptAt))
	}
	level := slog.LevelInfo
	if a.Status == StatusFailed {
		level = slog.LevelWarn
	}
	w.logger().LogAttrs(ctx, level, "delivery attempt", attrs...)
}

// Sweep enqueues, for now, the pending deliveries that are due (by more than
// SweepGrace) and not leased: those whose task a lost or flushed queue
// dropped, and those a crashed worker held. It returns how many it enqueued;
// an enqueue error stops the sweep, since the queue is then likely down.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	now := w.now()
	ids, err := w.Store.DueDeliveries(ctx, now.Add(-w.SweepGrace), w.sweepBatch())
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	for i, id := range ids {
		if err := w.Queue.Enqueue(ctx, id, now); err != nil {
			return i, fmt.Errorf("sweep: enqueue: %w", err)
		}
	}
	return len(ids), nil
}

// Cleanup deletes the attempts older than retention and returns how many.
func (w *Worker) Cleanup(ctx context.Context, retention time.Duration) (int, error) {
	n, err := w.Store.DeleteAttemptsBefore(ctx, w.now().Add(-retention))
	if err != nil {
		return n, fmt.Errorf("cleanup: %w", err)
	}
	return n, nil
}

// Run sweeps every sweepEvery and deletes attempts past Retention every
// cleanupEvery, starting with one of each at once (a restarted worker first
// catches up with what a lost queue dropped), until ctx ends. A non-positive
// interval turns that job off. Errors are logged and the next round tries
// again.
func (w *Worker) Run(ctx context.Context, sweepEvery, cleanupEvery time.Duration) {
	sweep := tick(sweepEvery)
	cleanup := tick(cleanupEvery)
	defer sweep.stop()
	defer cleanup.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.c:
			n, err := w.Sweep(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				w.logger().LogAttrs(ctx, slog.LevelError, "delivery sweep failed", slog.Int("enqueued", n), slog.String("error", err.Error()))
			case n > 0:
				w.logger().LogAttrs(ctx, slog.LevelInfo, "delivery sweep", slog.Int("enqueued", n))
			}
			sweep.next()
		case <-cleanup.c:
			n, err := w.Cleanup(ctx, w.retention())
			switch {
			case err != nil && ctx.Err() == nil:
				w.logger().LogAttrs(ctx, slog.LevelError, "delivery attempt cleanup failed", slog.String("error", err.Error()))
			case n > 0:
				w.logger().LogAttrs(ctx, slog.LevelInfo, "delivery attempt cleanup", slog.Int("deleted", n))
			}
			cleanup.next()
		}
	}
}

// ticker fires at once and then every interval after the previous round
// ended, so that a slow round never queues up more; a nil channel (interval
// off) never fires.
type ticker struct {
	c     <-chan time.Time
	timer *time.Timer
	every time.Duration
}

// tick returns a ticker for every, or one that never fires when every is
// not positive.
func tick(every time.Duration) *ticker {
	if every <= 0 {
		return &ticker{}
	}
	t := time.NewTimer(0)
	return &ticker{c: t.C, timer: t, every: every}
}

// next schedules the following round.
func (t *ticker) next() { t.timer.Reset(t.every) }

// stop releases the timer.
func (t *ticker) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
}

func (w *Worker) now() time.Time {
	if w.Clock == nil {
		return gateway.SystemClock{}.Now()
	}
	return w.Clock.Now()
}

func (w *Worker) lease() time.Duration {
	if w.Lease <= 0 {
		return DefaultLease
	}
	return w.Lease
}

func (w *Worker) schedule() Schedule {
	if w.Schedule == nil {
		return DefaultSchedule
	}
	return w.Schedule
}

func (w *Worker) retention() time.Duration {
	if w.Retention <= 0 {
		return DefaultRetention
	}
	return w.Retention
}

func (w *Worker) sweepBatch() int {
	if w.SweepBatch <= 0 {
		return DefaultSweepBatch
	}
	return w.SweepBatch
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
