package postgres

// The delivery engine's store methods (issue 10): the deliveries table is
// the queue. Every rule is in the SQL functions of migration
// 20261201000003, which the supabase store calls over PostgREST; this file
// passes arguments and decodes answers with sqldoc, as delivery.go does.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
)

// Compile-time guard: the store wakes engines itself (LISTEN/NOTIFY).
var _ delivery.Wakeups = (*Store)(nil)

// errMalformedWorker is returned for a worker id that is not a UUID: a
// programming error of the caller, not a missing row.
var errMalformedWorker = errors.New("the worker id is not a UUID")

// ClaimDue calls gateway_claim_due, which serialises concurrent claimers on
// an advisory lock and leases up to p.Limit due deliveries under the rules
// of delivery.ClaimParams, cancelling those of inactive webhooks it meets.
// A zero Now means the current time; the lease goes in whole milliseconds
// (under one is refused by the function), and a Limit under one claims
// nothing.
func (s *Store) ClaimDue(ctx context.Context, p delivery.ClaimParams) ([]delivery.Claim, error) {
	const op = "claim due"
	worker, ok := canonicalID(p.Worker)
	if !ok {
		return nil, fmt.Errorf("postgres: %s: %w", op, errMalformedWorker)
	}
	if p.Limit <= 0 {
		return []delivery.Claim{}, nil
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, `select gateway_claim_due($1, $2, $3, $4, $5, $6)`,
		worker, orNow(p.Now), p.Lease.Milliseconds(), clampInt32(p.Limit),
		clampInt32(p.InitialLimit), clampInt32(p.MaxLimit)).Scan(&raw)
	if err != nil {
		return nil, mapError(op, delivery.ErrNotClaimed, err)
	}
	claims, err := sqldoc.DecodeClaims(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return claims, nil
}

// RecordAttempts calls gateway_record_attempts, which applies the batch with
// the rules of gateway_record_attempt (now its batch of one), updates each
// webhook row at most once and upserts the endpoint states, in one
// transaction. Outcomes whose ids are not UUIDs are not sent and are
// delivery.ErrNotFound; an attempt id that is not a UUID, or a response body
// that is not valid UTF-8, fails the whole batch before anything is sent.
func (s *Store) RecordAttempts(ctx context.Context, outcomes []delivery.Outcome, endpoints []delivery.EndpointState) ([]error, error) {
	const op = "record attempts"
	b, err := sqldoc.NewBatch(outcomes, endpoints, time.Now())
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	var raw []byte
	err = s.pool.QueryRow(ctx, `select gateway_record_attempts($1::jsonb, $2::jsonb)`,
		string(b.Outcomes), string(b.Endpoints)).Scan(&raw)
	if err != nil {
		return nil, mapError(op, delivery.ErrNotFound, err)
	}
	results, err := b.Results(raw, len(outcomes),
		func() error { return mapError(op, delivery.ErrNotClaimed, pgx.ErrNoRows) },
		func() error { return mapError(op, delivery.ErrNotFound, pgx.ErrNoRows) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return results, nil
}

// Heartbeat calls gateway_worker_heartbeat, which marks worker alive at now,
// releases the leases of the workers whose heartbeat is older than
// now-deadAfter and forgets them. A zero now means the current time;
// deadAfter goes in whole milliseconds and must be at least one.
func (s *Store) Heartbeat(ctx context.Context, worker string, now time.Time, deadAfter time.Duration) (int, error) {
	const op = "heartbeat"
	worker, ok := canonicalID(worker)
	if !ok {
		return 0, fmt.Errorf("postgres: %s: %w", op, errMalformedWorker)
	}
	var released int
	err := s.pool.QueryRow(ctx, `select gateway_worker_heartbeat($1, $2, $3)`,
		worker, orNow(now), deadAfter.Milliseconds()).Scan(&released)
	if err != nil {
		return 0, mapError(op, delivery.ErrNotFound, err)
	}
	return released, nil
}

// RetireWorker calls gateway_retire_worker, which forgets the worker and
// releases any lease it still holds.
func (s *Store) RetireWorker(ctx context.Context, worker string) error {
	const op = "retire worker"
	worker, ok := canonicalID(worker)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, errMalformedWorker)
	}
	if _, err := s.pool.Exec(ctx, `select gateway_retire_worker($1)`, worker); err != nil {
		return mapError(op, delivery.ErrNotFound, err)
	}
	return nil
}

// Backlog calls gateway_delivery_backlog (index scans over the pending and
// the leased rows, and the endpoint states). A zero now means the current
// time.
func (s *Store) Backlog(ctx context.Context, now time.Time) (delivery.Backlog, error) {
	const op = "backlog"
	var raw []byte
	if err := s.pool.QueryRow(ctx, `select gateway_delivery_backlog($1)`, orNow(now)).Scan(&raw); err != nil {
		return delivery.Backlog{}, mapError(op, delivery.ErrNotFound, err)
	}
	b, err := sqldoc.DecodeBacklog(raw)
	if err != nil {
		return delivery.Backlog{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return b, nil
}
