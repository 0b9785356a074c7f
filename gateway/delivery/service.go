package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
)

// Processor sends one delivery attempt now and returns it (nil when there
// was nothing to claim); *Engine implements it.
type Processor interface {
	Send(ctx context.Context, deliveryID string) (*Attempt, error)
}

// Service is the API side of delivery: publishing, test sends, retries and
// logs. It writes to the store, which is the queue, and then wakes the
// engines through Notifier; a lost wake-up costs only latency (an engine
// polls the store anyway).
type Service struct {
	Store     Store
	Processor Processor
	// Notifier wakes the engines after a publish or a retry; nil for
	// none (the engines poll, or the store notifies by itself).
	Notifier Notifier
	Clock    gateway.Clock
	Logger   *slog.Logger

	published, created atomic.Int64
}

// ServiceStats counts what a Service wrote since it was made: new events
// (idempotent replays are not counted) and the deliveries they made.
type ServiceStats struct{ EventsPublished, DeliveriesCreated int64 }

// Stats returns the service's counters (for metrics).
func (s *Service) Stats() ServiceStats {
	return ServiceStats{EventsPublished: s.published.Load(), DeliveriesCreated: s.created.Load()}
}

// Published is the result of Publish.
type Published struct {
	Event      Event
	Deliveries int
	// Created is false when an event with the same id had been published
	// before; nothing new was written or sent.
	Created bool
}

// Publish stores an event and its deliveries and wakes the engines. An empty id
// gets a new UUID; a given one makes publishing idempotent.
func (s *Service) Publish(ctx context.Context, workspaceID, id, typ string, data json.RawMessage) (*Published, error) {
	if _, ok := catalog.Lookup(typ); !ok {
		return nil, gateway.E(gateway.CodeInvalidEvents, fmt.Sprintf("Unknown event type %q; see GET /v1/events/catalog.", typ)).
			WithDetails(map[string]any{"invalid": []string{typ}})
	}
	if id == "" {
		id = uuid.NewString()
	}
	// Compact once, so the stored bytes (sent on every attempt) are small
	// and do not depend on the publisher's formatting.
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return nil, gateway.E(gateway.CodeValidation, "Field \"data\" must be a JSON object.").WithDetails(map[string]any{"field": "data"})
	}
	ev := Event{ID: id, WorkspaceID: workspaceID, Type: typ, Data: compact.Bytes(), CreatedAt: s.Clock.Now().UTC().Truncate(time.Second)}
	deliveries, created, err := s.Store.PublishEvent(ctx, ev)
	if err != nil {
		return nil, gateway.Unavailable(fmt.Errorf("publish event: %w", err))
	}
	if created {
		s.published.Add(1)
		s.created.Add(int64(len(deliveries)))
	}
	if created && len(deliveries) > 0 {
		s.notify(ctx)
	}
	return &Published{Event: ev, Deliveries: len(deliveries), Created: created}, nil
}

// notify wakes the engines; the Notifier bounds its own time.
func (s *Service) notify(ctx context.Context) {
	if s.Notifier != nil {
		s.Notifier.Notify(context.WithoutCancel(ctx))
	}
}

// SendTest sends a signed test delivery of one event to one webhook now and
// returns the attempt's log entry.
func (s *Service) SendTest(ctx context.Context, workspaceID, webhookID, typ string, data json.RawMessage) (*Attempt, error) {
	ev := Event{ID: uuid.NewString(), WorkspaceID: workspaceID, Type: typ, Data: data, CreatedAt: s.Clock.Now().UTC().Truncate(time.Second)}
	d, err := s.Store.CreateTestDelivery(ctx, ev, webhookID)
	if errors.Is(err, ErrNotFound) {
		return nil, gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
	}
	if err != nil {
		return nil, gateway.Unavailable(fmt.Errorf("create test delivery: %w", err))
	}
	a, err := s.Processor.Send(ctx, d.ID)
	if err != nil {
		return nil, gateway.Unavailable(fmt.Errorf("send test delivery: %w", err))
	}
	if a == nil {
		return nil, gateway.Internal(fmt.Errorf("test delivery %s could not be claimed", d.ID))
	}
	return a, nil
}

// Retry makes a delivery pending and due now, and wakes the engines.
func (s *Service) Retry(ctx context.Context, workspaceID, webhookID, deliveryID string) (*Delivery, error) {
	d, err := s.Store.RetryDelivery(ctx, workspaceID, webhookID, deliveryID, s.Clock.Now())
	if errors.Is(err, ErrNotFound) {
		return nil, gateway.E(gateway.CodeDeliveryNotFound, "No delivery with that id for this webhook.")
	}
	if err != nil {
		return nil, gateway.Unavailable(fmt.Errorf("retry delivery: %w", err))
	}
	s.notify(ctx)
	return d, nil
}

// Logs returns a webhook's delivery attempts, newest first.
func (s *Service) Logs(ctx context.Context, workspaceID, webhookID, status string, p gateway.Page) ([]Attempt, int, error) {
	switch status {
	case "", StatusSuccess, StatusFailed, StatusPending:
	default:
		return nil, 0, gateway.E(gateway.CodeValidation, "status must be success, failed or pending.").
			WithDetails(map[string]any{"field": "status", "allowed": []string{StatusSuccess, StatusFailed, StatusPending}})
	}
	list, total, err := s.Store.ListAttempts(ctx, workspaceID, webhookID, status, p.Offset(), p.PerPage)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
	}
	if err != nil {
		return nil, 0, gateway.Unavailable(fmt.Errorf("list attempts: %w", err))
	}
	return list, total, nil
}
