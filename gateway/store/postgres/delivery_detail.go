package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
)

// Compile-time guard, as for the other interfaces.
var _ delivery.DetailStore = (*Store)(nil)

// GetDelivery calls gateway_get_delivery (migration 20261201000004): the
// workspace's webhook's delivery with its event and attempts in one
// statement. A null answer, and ids that are not UUIDs, are
// delivery.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string) (*delivery.Detail, error) {
	const op = "get delivery"
	workspaceID, ok1 := canonicalID(workspaceID)
	webhookID, ok2 := canonicalID(webhookID)
	deliveryID, ok3 := canonicalID(deliveryID)
	if !ok1 || !ok2 || !ok3 {
		return nil, mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_get_delivery($1, $2, $3)`, workspaceID, webhookID, deliveryID).Scan(&raw)
	if err == nil && raw == nil {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	d, err := sqldoc.DecodeDetail(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return d, nil
}
