package server

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// storeObserver is told of every store call: the metrics (latency and
// failures by operation) and the traces (a span per call) of the
// persistence layer, whichever backend it is. Either part may be off.
type storeObserver struct {
	// ended is called when a call ends (nil: no metrics).
	ended func(op string, took time.Duration, failed bool)
	// tracer starts a span per call (nil: no tracing).
	tracer trace.Tracer
}

// start begins observing one call of op; the returned function ends it.
func (o *storeObserver) start(ctx context.Context, op string) (context.Context, func(error)) {
	begin := time.Now()
	var span trace.Span
	if o.tracer != nil {
		ctx, span = o.tracer.Start(ctx, "store."+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("store.operation", op)))
	}
	return ctx, func(err error) {
		failed := storeFailure(err)
		if o.ended != nil {
			o.ended(op, time.Since(begin), failed)
		}
		if span != nil {
			if failed {
				// The error's text can name the database's internals but
				// never a secret: stores wrap causes, not arguments.
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}
}

// storeFailure reports whether a store call failed, as opposed to
// answering with one of the domain's outcomes (not found, a duplicate, a
// lost race), which are the store doing its job.
func storeFailure(err error) bool {
	if err == nil {
		return false
	}
	for _, answer := range domainAnswers {
		if errors.Is(err, answer) {
			return false
		}
	}
	return true
}

// domainAnswers are the store errors that are answers, not failures.
var domainAnswers = []error{
	webhooks.ErrDuplicateURL, webhooks.ErrLimitReached, webhooks.ErrNotFound, webhooks.ErrRotationConflict,
	apikeys.ErrNotFound, apikeys.ErrInactive,
	delivery.ErrNotFound, delivery.ErrNotClaimed,
}

// observedStore wraps a Store so that every call is observed. It keeps the
// wrapped store's optional interfaces out of sight on purpose: the wiring
// asks the unwrapped store for those (Wakeups, Notifier).
type observedStore struct {
	Store
	o *storeObserver
}

// observe0 runs a call that returns only an error.
func observe0(ctx context.Context, o *storeObserver, op string, call func(context.Context) error) error {
	ctx, end := o.start(ctx, op)
	err := call(ctx)
	end(err)
	return err
}

// observe1 runs a call that returns a value and an error.
func observe1[T any](ctx context.Context, o *storeObserver, op string, call func(context.Context) (T, error)) (T, error) {
	ctx, end := o.start(ctx, op)
	v, err := call(ctx)
	end(err)
	return v, err
}

// observe2 runs a call that returns two values and an error.
func observe2[T, U any](ctx context.Context, o *storeObserver, op string, call func(context.Context) (T, U, error)) (T, U, error) {
	ctx, end := o.start(ctx, op)
	v, w, err := call(ctx)
	end(err)
	return v, w, err
}

func (s observedStore) CreateWebhook(ctx context.Context, w *webhooks.Webhook, limit int) error {
	return observe0(ctx, s.o, "create_webhook", func(ctx context.Context) error { return s.Store.CreateWebhook(ctx, w, limit) })
}

func (s observedStore) GetWebhook(ctx context.Context, workspaceID, id string) (*webhooks.Webhook, error) {
	return observe1(ctx, s.o, "get_webhook", func(ctx context.Context) (*webhooks.Webhook, error) {
		return s.Store.GetWebhook(ctx, workspaceID, id)
	})
}

func (s observedStore) ListWebhooks(ctx context.Context, workspaceID string, offset, limit int) ([]webhooks.Webhook, int, error) {
	return observe2(ctx, s.o, "list_webhooks", func(ctx context.Context) ([]webhooks.Webhook, int, error) {
		return s.Store.ListWebhooks(ctx, workspaceID, offset, limit)
	})
}

func (s observedStore) UpdateWebhook(ctx context.Context, workspaceID, id string, p webhooks.Patch) (*webhooks.Webhook, error) {
	return observe1(ctx, s.o, "update_webhook", func(ctx context.Context) (*webhooks.Webhook, error) {
		return s.Store.UpdateWebhook(ctx, workspaceID, id, p)
	})
}

func (s observedStore) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	return observe0(ctx, s.o, "delete_webhook", func(ctx context.Context) error { return s.Store.DeleteWebhook(ctx, workspaceID, id) })
}

func (s observedStore) RotateSecret(ctx context.Context, workspaceID, id, expected, next string, previousExpiresAt, now time.Time) (*webhooks.Webhook, error) {
	return observe1(ctx, s.o, "rotate_secret", func(ctx context.Context) (*webhooks.Webhook, error) {
		return s.Store.RotateSecret(ctx, workspaceID, id, expected, next, previousExpiresAt, now)
	})
}

func (s observedStore) CreateKey(ctx context.Context, k *apikeys.Key) error {
	return observe0(ctx, s.o, "create_key", func(ctx context.Context) error { return s.Store.CreateKey(ctx, k) })
}

func (s observedStore) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	return observe1(ctx, s.o, "key_by_hash", func(ctx context.Context) (*apikeys.Key, error) { return s.Store.KeyByHash(ctx, hash) })
}

func (s observedStore) ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]apikeys.Key, error) {
	return observe1(ctx, s.o, "list_keys", func(ctx context.Context) ([]apikeys.Key, error) {
		return s.Store.ListKeys(ctx, workspaceID, includeRevoked)
	})
}

func (s observedStore) KeyByID(ctx context.Context, workspaceID, id string) (*apikeys.Key, error) {
	return observe1(ctx, s.o, "key_by_id", func(ctx context.Context) (*apikeys.Key, error) { return s.Store.KeyByID(ctx, workspaceID, id) })
}

func (s observedStore) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	return observe1(ctx, s.o, "revoke_key", func(ctx context.Context) ([]string, error) {
		return s.Store.RevokeKey(ctx, workspaceID, id, by, at)
	})
}

func (s observedStore) TouchKey(ctx context.Context, id string, at time.Time) error {
	return observe0(ctx, s.o, "touch_key", func(ctx context.Context) error { return s.Store.TouchKey(ctx, id, at) })
}

func (s observedStore) PublishEvent(ctx context.Context, ev delivery.Event) ([]delivery.Delivery, bool, error) {
	return observe2(ctx, s.o, "publish_event", func(ctx context.Context) ([]delivery.Delivery, bool, error) {
		return s.Store.PublishEvent(ctx, ev)
	})
}

func (s observedStore) ClaimDelivery(ctx context.Context, id string, now time.Time, lease time.Duration) (*delivery.Claim, error) {
	return observe1(ctx, s.o, "claim_delivery", func(ctx context.Context) (*delivery.Claim, error) {
		return s.Store.ClaimDelivery(ctx, id, now, lease)
	})
}

func (s observedStore) RecordAttempt(ctx context.Context, o delivery.Outcome) error {
	return observe0(ctx, s.o, "record_attempt", func(ctx context.Context) error { return s.Store.RecordAttempt(ctx, o) })
}

func (s observedStore) ClaimDue(ctx context.Context, p delivery.ClaimParams) ([]delivery.Claim, error) {
	return observe1(ctx, s.o, "claim_due", func(ctx context.Context) ([]delivery.Claim, error) { return s.Store.ClaimDue(ctx, p) })
}

func (s observedStore) RecordAttempts(ctx context.Context, outcomes []delivery.Outcome, endpoints []delivery.EndpointState) ([]error, error) {
	return observe1(ctx, s.o, "record_attempts", func(ctx context.Context) ([]error, error) {
		return s.Store.RecordAttempts(ctx, outcomes, endpoints)
	})
}

func (s observedStore) Heartbeat(ctx context.Context, worker string, now time.Time, deadAfter time.Duration) (int, error) {
	return observe1(ctx, s.o, "heartbeat", func(ctx context.Context) (int, error) {
		return s.Store.Heartbeat(ctx, worker, now, deadAfter)
	})
}

func (s observedStore) RetireWorker(ctx context.Context, worker string) error {
	return observe0(ctx, s.o, "retire_worker", func(ctx context.Context) error { return s.Store.RetireWorker(ctx, worker) })
}

func (s observedStore) Backlog(ctx context.Context, now time.Time) (delivery.Backlog, error) {
	return observe1(ctx, s.o, "backlog", func(ctx context.Context) (delivery.Backlog, error) { return s.Store.Backlog(ctx, now) })
}

func (s observedStore) CreateTestDelivery(ctx context.Context, ev delivery.Event, webhookID string) (*delivery.Delivery, error) {
	return observe1(ctx, s.o, "create_test_delivery", func(ctx context.Context) (*delivery.Delivery, error) {
		return s.Store.CreateTestDelivery(ctx, ev, webhookID)
	})
}

func (s observedStore) RetryDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string, now time.Time) (*delivery.Delivery, error) {
	return observe1(ctx, s.o, "retry_delivery", func(ctx context.Context) (*delivery.Delivery, error) {
		return s.Store.RetryDelivery(ctx, workspaceID, webhookID, deliveryID, now)
	})
}

func (s observedStore) ListAttempts(ctx context.Context, workspaceID, webhookID, status string, offset, limit int) ([]delivery.Attempt, int, error) {
	return observe2(ctx, s.o, "list_attempts", func(ctx context.Context) ([]delivery.Attempt, int, error) {
		return s.Store.ListAttempts(ctx, workspaceID, webhookID, status, offset, limit)
	})
}

func (s observedStore) DeleteAttemptsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	return observe1(ctx, s.o, "delete_attempts_before", func(ctx context.Context) (int, error) {
		return s.Store.DeleteAttemptsBefore(ctx, cutoff)
	})
}

func (s observedStore) GetDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string) (*delivery.Detail, error) {
	return observe1(ctx, s.o, "get_delivery", func(ctx context.Context) (*delivery.Detail, error) {
		return s.Store.GetDelivery(ctx, workspaceID, webhookID, deliveryID)
	})
}
