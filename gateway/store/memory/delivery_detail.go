package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Compile-time guard, as for the other interfaces.
var _ delivery.DetailStore = (*Store)(nil)

// GetDelivery returns copies of the workspace's webhook's delivery, its
// event and its attempts (by attempt number, then delivery time, then id),
// as gateway_get_delivery does, or delivery.ErrNotFound (also for ids that
// are not UUIDs).
func (s *Store) GetDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string) (*delivery.Detail, error) {
	const op = "get delivery"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	notFound := fmt.Errorf("memory: %s: %w", op, delivery.ErrNotFound)
	workspace, err1 := canonicalUUID(workspaceID)
	webhook, err2 := canonicalUUID(webhookID)
	id, err3 := canonicalUUID(deliveryID)
	if errors.Join(err1, err2, err3) != nil {
		return nil, notFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.delivery.deliveries[id]
	if d == nil || d.d.WorkspaceID != workspace || d.d.WebhookID != webhook {
		return nil, notFound
	}
	ev := s.delivery.events[eventKey{workspaceID: workspace, id: d.d.EventID}]
	if ev == nil {
		return nil, notFound
	}
	out := &delivery.Detail{Delivery: copyDelivery(d.d), Event: copyEvent(ev), Attempts: []delivery.Attempt{}}
	for _, a := range s.delivery.attempts {
		if a.DeliveryID == id {
			out.Attempts = append(out.Attempts, copyAttempt(a))
		}
	}
	slices.SortFunc(out.Attempts, func(a, b delivery.Attempt) int {
		if c := cmp.Compare(a.Attempt, b.Attempt); c != 0 {
			return c
		}
		if c := a.DeliveredAt.Compare(b.DeliveredAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}
