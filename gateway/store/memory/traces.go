package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery"
)

var _ delivery.TraceStore = (*Store)(nil)

// SaveTrace keeps the traceparent of an existing event, as the event_traces
// table does: ErrNotFound for an unknown event (the foreign key), a refusal
// for a value the check constraint refuses, and the first value kept when
// one is saved again.
func (s *Store) SaveTrace(_ context.Context, workspaceID, eventID, traceparent string) error {
	ws, ok1 := gateway.CanonicalID(workspaceID)
	id, ok2 := gateway.CanonicalID(eventID)
	if !ok1 || !ok2 {
		return fmt.Errorf("memory: save trace: %w", delivery.ErrNotFound)
	}
	if !delivery.ValidTraceparent(traceparent) {
		return errors.New("memory: save trace: not a traceparent")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := eventKey{workspaceID: ws, id: id}
	if _, ok := s.delivery.events[k]; !ok {
		return fmt.Errorf("memory: save trace: %w", delivery.ErrNotFound)
	}
	if s.traces == nil {
		s.traces = make(map[eventKey]string)
	}
	if _, ok := s.traces[k]; !ok {
		s.traces[k] = traceparent
	}
	return nil
}

// Traces returns the saved traceparents of events, keyed by the refs as
// given (ids in any case the caller used).
func (s *Store) Traces(_ context.Context, events []delivery.EventRef) (map[delivery.EventRef]string, error) {
	out := make(map[delivery.EventRef]string)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range events {
		ws, ok1 := gateway.CanonicalID(r.WorkspaceID)
		id, ok2 := gateway.CanonicalID(r.EventID)
		if !ok1 || !ok2 {
			continue
		}
		if tp, ok := s.traces[eventKey{workspaceID: ws, id: id}]; ok {
			out[r] = tp
		}
	}
	return out, nil
}
