package supabase

import (
	"context"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
)

// Compile-time guard, as for the other interfaces.
var _ delivery.DetailStore = (*Store)(nil)

// fnGetDelivery is migration 20261201000004's function.
const fnGetDelivery = "rpc/gateway_get_delivery"

// getDeliveryArgs are the named arguments of gateway_get_delivery.
type getDeliveryArgs struct {
	WorkspaceID string `json:"p_workspace_id"`
	WebhookID   string `json:"p_webhook_id"`
	DeliveryID  string `json:"p_delivery_id"`
}

// GetDelivery calls gateway_get_delivery through
// POST /rest/v1/rpc/gateway_get_delivery, the function the postgres store
// calls too: the workspace's webhook's delivery with its event and attempts.
// A null answer, and ids that are not UUIDs, are delivery.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string) (*delivery.Detail, error) {
	const op = "get delivery"
	ws, hook, ok := webhookIDs(workspaceID, webhookID)
	id, okID := canonicalUUID(deliveryID)
	if !ok || !okID {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	body, err := s.rpc(ctx, fnGetDelivery, getDeliveryArgs{WorkspaceID: ws, WebhookID: hook, DeliveryID: id})
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	if isNull(body) {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	d, err := sqldoc.DecodeDetail(body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return d, nil
}
