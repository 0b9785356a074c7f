package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadlex/api-gateway/gateway"
)

// Detail is one delivery with everything needed to debug it: the delivery,
// the event it carries (so that the payload as sent can be shown, see
// Payload) and every attempt made so far, first attempt first.
type Detail struct {
	Delivery Delivery
	Event    Event
	// Attempts are the logged attempts, by attempt number ascending (ties,
	// a retried attempt number, by delivery time then id). Attempts past
	// the log retention are gone; the delivery itself stays.
	Attempts []Attempt
}

// DetailStore reads one delivery in full. It is its own interface, beside
// Store, so that the portal's read does not widen the delivery engine's
// store contract; every store implements both.
type DetailStore interface {
	// GetDelivery returns the delivery of the workspace's webhook with its
	// event and attempts, or ErrNotFound when there is none (also for ids
	// that are not UUIDs, and for another workspace's or webhook's
	// delivery).
	GetDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string) (*Detail, error)
}

// DetailService is the API side of DetailStore: it turns the store's
// answers into the gateway's error codes.
type DetailService struct {
	Store DetailStore
}

// Get returns one delivery in full, delivery_not_found when the webhook has
// no such delivery (the route checks the webhook itself first), and
// service_unavailable when the store fails.
func (s *DetailService) Get(ctx context.Context, workspaceID, webhookID, deliveryID string) (*Detail, error) {
	d, err := s.Store.GetDelivery(ctx, workspaceID, webhookID, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return nil, gateway.E(gateway.CodeDeliveryNotFound, "No delivery with that id for this webhook.")
	}
	if err != nil {
		return nil, gateway.Unavailable(fmt.Errorf("get delivery: %w", err))
	}
	return d, nil
}
