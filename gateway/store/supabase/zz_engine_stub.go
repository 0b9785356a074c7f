package supabase

// Temporary stubs of the delivery engine's store methods, so that this
// branch compiles before the sql branch (which implements them) is merged.
// The integrator deletes this file at merge.

import (
	"context"
	"errors"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// errEngineStub is what every stub answers.
var errEngineStub = errors.New("supabase: not implemented until the sql branch is merged")

// ClaimDue is a stub until the sql branch is merged.
func (s *Store) ClaimDue(context.Context, delivery.ClaimParams) ([]delivery.Claim, error) {
	return nil, errEngineStub
}

// RecordAttempts is a stub until the sql branch is merged.
func (s *Store) RecordAttempts(context.Context, []delivery.Outcome, []delivery.EndpointState) ([]error, error) {
	return nil, errEngineStub
}

// Heartbeat is a stub until the sql branch is merged.
func (s *Store) Heartbeat(context.Context, string, time.Time, time.Duration) (int, error) {
	return 0, errEngineStub
}

// RetireWorker is a stub until the sql branch is merged.
func (s *Store) RetireWorker(context.Context, string) error { return errEngineStub }

// Backlog is a stub until the sql branch is merged.
func (s *Store) Backlog(context.Context, time.Time) (delivery.Backlog, error) {
	return delivery.Backlog{}, errEngineStub
}
