package postgres

import (
	"context"
	"fmt"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Compile-time guard, as for the other interfaces.
var _ delivery.Store = (*Store)(nil)

// Answers of gateway_record_attempt.
const (
	recordRecorded = "recorded"
	recordNotFound = "not_found"
	recordStale    = "stale"
)

// decodeDelivery decodes a jsonb delivery; SQL null (nil) is pgx.ErrNoRows,
// so that mapError makes it the caller's not-found error.
func decodeDelivery(raw []byte) (*delivery.Delivery, error) {
	if raw == nil {
		return nil, pgx.ErrNoRows
	}
	return sqldoc.DecodeDelivery(raw)
}

// PublishEvent calls gateway_publish_event, the SQL function the supabase
// store calls too: it stores the event and one pending delivery for every
// active webhook of the workspace subscribed to its type, in one
// transaction, unless the workspace has the event already, and returns the
// event's deliveries by id. A zero CreatedAt means the current time. Ids that
// are not UUIDs go through as given, for Postgres to refuse.
func (s *Store) PublishEvent(ctx context.Context, ev delivery.Event) ([]delivery.Delivery, bool, error) {
	const op = "publish event"
	id, _ := canonicalID(ev.ID)
	workspaceID, _ := canonicalID(ev.WorkspaceID)
	createdAt := orNow(ev.CreatedAt)
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_publish_event($1, $2, $3, $4, $5)`,
		id, workspaceID, ev.Type, string(ev.Data), createdAt).Scan(&raw)
	if err != nil {
		return nil, false, mapError(op, delivery.ErrNotFound, err)
	}
	deliveries, created, err := sqldoc.DecodePublish(raw)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return deliveries, created, nil
}

// ClaimDelivery calls gateway_claim_delivery, whose single UPDATE leases the
// delivery if it is pending, due and not leased, or cancels it if its webhook
// is inactive and it is not a test. delivery.ErrNotClaimed when the function
// answers null, and for ids that are not UUIDs. A zero now means the current
// time; the lease is passed in whole milliseconds, and under one is refused
// by the function.
func (s *Store) ClaimDelivery(ctx context.Context, id string, now time.Time, lease time.Duration) (*delivery.Claim, error) {
	const op = "claim delivery"
	id, ok := canonicalID(id)
	if !ok {
		return nil, mapError(op, delivery.ErrNotClaimed, errMalformedID)
	}
	now = orNow(now)
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_claim_delivery($1, $2, $3)`,
		id, now, lease.Milliseconds()).Scan(&raw)
	if err == nil && raw == nil {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return nil, mapError(op, delivery.ErrNotClaimed, err)
	}
	c, err := sqldoc.DecodeClaim(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return c, nil
}

// RecordAttempt calls gateway_record_attempt, which stores the attempt and
// applies the outcome to the delivery and the webhook in one transaction
// (see the function for the rules). delivery.ErrNotFound when the workspace's
// webhook has no such delivery (also for ids that are not UUIDs), and
// delivery.ErrNotClaimed when the claim that made the attempt no longer holds
// the delivery: the attempt is then logged but changes nothing. An empty
// Attempt.ID lets the database choose one; a zero DeliveredAt means the
// current time.
func (s *Store) RecordAttempt(ctx context.Context, o delivery.Outcome) error {
	const op = "record attempt"
	a := o.Attempt
	workspaceID, webhookID, deliveryID, ok := a.CanonicalIDs()
	if !ok {
		return mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	var attemptID any
	if a.ID != "" {
		// Not a UUID: through as given, for Postgres to refuse.
		attemptID, _ = canonicalID(a.ID)
	}
	deliveredAt := orNow(a.DeliveredAt)
	var result string
	err := s.pool.QueryRow(ctx,
		`select gateway_record_attempt($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		attemptID, workspaceID, webhookID, deliveryID, clampInt32(a.Attempt), a.Status,
		a.ResponseStatusCode, a.ResponseBody, clampInt32(a.DurationMS), a.Error, deliveredAt,
		o.NextAttemptAt, max(o.DisableAfter.Milliseconds(), 0)).Scan(&result)
	if err != nil {
		return mapError(op, delivery.ErrNotFound, err)
	}
	switch result {
	case recordRecorded:
		return nil
	case recordNotFound:
		return mapError(op, delivery.ErrNotFound, pgx.ErrNoRows)
	case recordStale:
		return mapError(op, delivery.ErrNotClaimed, pgx.ErrNoRows)
	default:
		return fmt.Errorf("postgres: %s: unexpected answer %q", op, result)
	}
}

// clampInt32 keeps v within an integer column's range, so that an absurd
// value reaches the table's check constraints instead of failing to encode.
func clampInt32(v int) int32 {
	return int32(min(max(v, math.MinInt32), math.MaxInt32))
}

// DueDeliveries returns the ids of up to limit pending deliveries due at or
// before now whose lease, if any, ended before now, by due time then id, from
// a scan of the pending rows (the conformance suite's view; the engine claims
// through gateway_claim_due). A zero now means the current time.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	const op = "due deliveries"
	ids := []string{}
	if limit <= 0 {
		return ids, nil
	}
	now = orNow(now)
	rows, err := s.pool.Query(ctx,
		`select id from deliveries
		 where status = 'pending' and next_attempt_at <= $1
		   and (lease_until is null or lease_until < $1)
		 order by next_attempt_at, id
		 limit $2`,
		now, int64(limit))
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// CreateTestDelivery calls gateway_create_test_delivery, which stores ev and
// a test delivery of it to the webhook, whatever the webhook's subscriptions
// and active flag. delivery.ErrNotFound, with nothing stored, when the
// workspace has no such webhook (also for ids that are not UUIDs). A zero
// CreatedAt means the current time; an event id that is not a UUID goes
// through as given, for Postgres to refuse.
func (s *Store) CreateTestDelivery(ctx context.Context, ev delivery.Event, webhookID string) (*delivery.Delivery, error) {
	const op = "create test delivery"
	workspaceID, okWorkspace := canonicalID(ev.WorkspaceID)
	webhookID, okWebhook := canonicalID(webhookID)
	if !okWorkspace || !okWebhook {
		return nil, mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	eventID, _ := canonicalID(ev.ID)
	createdAt := orNow(ev.CreatedAt)
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_create_test_delivery($1, $2, $3, $4, $5, $6)`,
		eventID, workspaceID, ev.Type, string(ev.Data), createdAt, webhookID).Scan(&raw)
	return oneDelivery(op, raw, err)
}

// RetryDelivery calls gateway_retry_delivery, which makes the delivery
// pending and due at now whatever its status, and returns it.
// delivery.ErrNotFound when the workspace's webhook has no such delivery
// (also for ids that are not UUIDs). A zero now means the current time.
func (s *Store) RetryDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string, now time.Time) (*delivery.Delivery, error) {
	const op = "retry delivery"
	workspaceID, ok1 := canonicalID(workspaceID)
	webhookID, ok2 := canonicalID(webhookID)
	deliveryID, ok3 := canonicalID(deliveryID)
	if !ok1 || !ok2 || !ok3 {
		return nil, mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	now = orNow(now)
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_retry_delivery($1, $2, $3, $4)`,
		workspaceID, webhookID, deliveryID, now).Scan(&raw)
	return oneDelivery(op, raw, err)
}

// ListAttempts calls gateway_list_delivery_log, the SQL function the
// supabase store calls too, which builds one page of the webhook's delivery
// log (waiting deliveries' pending entries on top, then attempts, newest
// first, ties by id descending), only entries with status unless it is
// empty, and their total, in one statement. delivery.ErrNotFound when the
// workspace has no such webhook (also for ids that are not UUIDs). A
// negative offset or limit counts as zero.
func (s *Store) ListAttempts(ctx context.Context, workspaceID, webhookID, status string, offset, limit int) ([]delivery.Attempt, int, error) {
	const op = "list attempts"
	workspaceID, okWorkspace := canonicalID(workspaceID)
	webhookID, okWebhook := canonicalID(webhookID)
	if !okWorkspace || !okWebhook {
		return nil, 0, mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_list_delivery_log($1, $2, $3, $4, $5)`,
		workspaceID, webhookID, status, int32(min(max(offset, 0), math.MaxInt32)), int32(min(max(limit, 0), math.MaxInt32))).Scan(&raw)
	if err == nil && raw == nil {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return nil, 0, mapError(op, delivery.ErrNotFound, err)
	}
	page, total, err := sqldoc.DecodeLog(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return page, total, nil
}

// DeleteAttemptsBefore removes the attempts delivered before cutoff, in every
// workspace (the 30-day retention; the BRIN index on delivered_at finds
// them), and returns how many it removed.
func (s *Store) DeleteAttemptsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	const op = "delete attempts"
	tag, err := s.pool.Exec(ctx, `delete from delivery_attempts where delivered_at < $1`, cutoff)
	if err != nil {
		return 0, mapError(op, delivery.ErrNotFound, err)
	}
	return int(tag.RowsAffected()), nil
}

// oneDelivery turns the answer of a function that returns one delivery (or
// null for none) into the delivery, or delivery.ErrNotFound.
func oneDelivery(op string, raw []byte, err error) (*delivery.Delivery, error) {
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	d, err := decodeDelivery(raw)
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	return d, nil
}
