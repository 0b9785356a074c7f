package supabase

// The delivery engine's store methods (issue 10) over PostgREST: each is one
// call of the SQL function the postgres store calls too (migration
// 20261201000003), with the answers decoded by sqldoc, so the two stores
// cannot differ in what they decide.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
)

// Functions of the engine migration.
const (
	fnClaimDue        = "rpc/gateway_claim_due"
	fnRecordAttempts  = "rpc/gateway_record_attempts"
	fnWorkerHeartbeat = "rpc/gateway_worker_heartbeat"
	fnRetireWorker    = "rpc/gateway_retire_worker"
	fnDeliveryBacklog = "rpc/gateway_delivery_backlog"
)

// claimDueArgs are the named arguments of gateway_claim_due.
type claimDueArgs struct {
	Worker       string `json:"p_worker"`
	Now          string `json:"p_now"`
	LeaseMS      int64  `json:"p_lease_ms"`
	Limit        int    `json:"p_limit"`
	InitialLimit int    `json:"p_initial_limit"`
	MaxLimit     int    `json:"p_max_limit"`
}

// recordAttemptsArgs are the named arguments of gateway_record_attempts:
// two JSON arrays, which PostgREST passes as jsonb.
type recordAttemptsArgs struct {
	Outcomes  json.RawMessage `json:"p_outcomes"`
	Endpoints json.RawMessage `json:"p_endpoints"`
}

// heartbeatArgs are the named arguments of gateway_worker_heartbeat.
type heartbeatArgs struct {
	Worker      string `json:"p_worker"`
	Now         string `json:"p_now"`
	DeadAfterMS int64  `json:"p_dead_after_ms"`
}

// workerArgs are the named arguments of gateway_retire_worker.
type workerArgs struct {
	Worker string `json:"p_worker"`
}

// backlogArgs are the named arguments of gateway_delivery_backlog.
type backlogArgs struct {
	Now string `json:"p_now"`
}

// ClaimDue calls gateway_claim_due through POST /rest/v1/rpc/gateway_claim_due:
// one transaction that serialises concurrent claimers on an advisory lock
// and leases up to p.Limit due deliveries under the rules of
// delivery.ClaimParams, cancelling those of inactive webhooks it meets. A
// worker id that is not a UUID is refused without a request; a Limit under
// one claims nothing. A zero Now means the current time.
func (s *Store) ClaimDue(ctx context.Context, p delivery.ClaimParams) ([]delivery.Claim, error) {
	const op = "claim due"
	worker, ok := canonicalUUID(p.Worker)
	if !ok {
		return nil, s.failf(op, "the worker id %q is not a UUID", p.Worker)
	}
	if p.Limit <= 0 {
		return []delivery.Claim{}, nil
	}
	body, err := s.rpc(ctx, fnClaimDue, claimDueArgs{
		Worker: worker, Now: formatTime(orNow(p.Now)), LeaseMS: p.Lease.Milliseconds(),
		Limit: p.Limit, InitialLimit: p.InitialLimit, MaxLimit: p.MaxLimit,
	})
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	claims, err := sqldoc.DecodeClaims(body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return claims, nil
}

// RecordAttempts calls gateway_record_attempts through
// POST /rest/v1/rpc/gateway_record_attempts: one transaction that applies
// the batch with the rules of RecordAttempt, updates each webhook row at most
// once and upserts the endpoint states. Outcomes whose ids are not UUIDs are
// not sent and are delivery.ErrNotFound; an attempt id that is not a UUID,
// or a response body that is not valid UTF-8, fails the batch without a
// request.
func (s *Store) RecordAttempts(ctx context.Context, outcomes []delivery.Outcome, endpoints []delivery.EndpointState) ([]error, error) {
	const op = "record attempts"
	b, err := sqldoc.NewBatch(outcomes, endpoints, time.Now())
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	body, err := s.rpc(ctx, fnRecordAttempts, recordAttemptsArgs{Outcomes: b.Outcomes, Endpoints: b.Endpoints})
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	results, err := b.Results(body, len(outcomes),
		func() error { return wrapSentinel(op, delivery.ErrNotClaimed) },
		func() error { return wrapSentinel(op, delivery.ErrNotFound) })
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return results, nil
}

// Heartbeat calls gateway_worker_heartbeat through
// POST /rest/v1/rpc/gateway_worker_heartbeat, which marks worker alive at
// now, releases the leases of the workers whose heartbeat is older than
// now-deadAfter and forgets them, and answers how many leases it released.
// A zero now means the current time.
func (s *Store) Heartbeat(ctx context.Context, worker string, now time.Time, deadAfter time.Duration) (int, error) {
	const op = "heartbeat"
	id, ok := canonicalUUID(worker)
	if !ok {
		return 0, s.failf(op, "the worker id %q is not a UUID", worker)
	}
	body, err := s.rpc(ctx, fnWorkerHeartbeat, heartbeatArgs{
		Worker: id, Now: formatTime(orNow(now)), DeadAfterMS: deadAfter.Milliseconds(),
	})
	if err != nil {
		return 0, s.mapError(op, err, errMap{})
	}
	var released int
	if err := json.Unmarshal(body, &released); err != nil {
		return 0, s.failf(op, "decoding the response: %v", err)
	}
	return released, nil
}

// RetireWorker calls gateway_retire_worker through
// POST /rest/v1/rpc/gateway_retire_worker, which forgets the worker and
// releases any lease it still holds.
func (s *Store) RetireWorker(ctx context.Context, worker string) error {
	const op = "retire worker"
	id, ok := canonicalUUID(worker)
	if !ok {
		return s.failf(op, "the worker id %q is not a UUID", worker)
	}
	if _, err := s.rpc(ctx, fnRetireWorker, workerArgs{Worker: id}); err != nil {
		return s.mapError(op, err, errMap{})
	}
	return nil
}

// Backlog calls gateway_delivery_backlog through
// POST /rest/v1/rpc/gateway_delivery_backlog. A zero now means the current
// time.
func (s *Store) Backlog(ctx context.Context, now time.Time) (delivery.Backlog, error) {
	const op = "backlog"
	body, err := s.rpc(ctx, fnDeliveryBacklog, backlogArgs{Now: formatTime(orNow(now))})
	if err != nil {
		return delivery.Backlog{}, s.mapError(op, err, errMap{})
	}
	b, err := sqldoc.DecodeBacklog(body)
	if err != nil {
		return delivery.Backlog{}, s.failf(op, "%v", err)
	}
	return b, nil
}
