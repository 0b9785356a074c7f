package supabase

import (
	"context"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

var _ delivery.TraceStore = (*Store)(nil)

// tableEventTraces is migration 20261201000005's table.
const tableEventTraces = "event_traces"

// traceBatch bounds the ids of one GET, so that a large claim batch does
// not make a URL longer than proxies accept (37 bytes per id).
const traceBatch = 100

// traceRow is an event_traces row as PostgREST renders it.
type traceRow struct {
	WorkspaceID string `json:"workspace_id"`
	EventID     string `json:"event_id"`
	Traceparent string `json:"traceparent"`
}

// SaveTrace inserts the event's event_traces row with
// POST /rest/v1/event_traces ("Prefer: return=minimal"). A duplicate
// (23505) keeps the first row and is no error; an unknown event (23503, the
// foreign key) or a malformed id is delivery.ErrNotFound.
func (s *Store) SaveTrace(ctx context.Context, workspaceID, eventID, traceparent string) error {
	const op = "save trace"
	ws, ok1 := canonicalUUID(workspaceID)
	id, ok2 := canonicalUUID(eventID)
	if !ok1 || !ok2 {
		return wrapSentinel(op, delivery.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, _, err := s.client.From(tableEventTraces).
		Insert(traceRow{WorkspaceID: ws, EventID: id, Traceparent: traceparent}, false, "", "minimal", "").
		ExecuteWithContext(ctx)
	if err == nil {
		return nil
	}
	switch errorCode(err) {
	case "23505":
		return nil
	case "23503":
		return wrapSentinel(op, delivery.ErrNotFound)
	}
	return s.mapError(op, err, errMap{})
}

// Traces reads the rows of events with
// GET /rest/v1/event_traces?event_id=in.(…), up to traceBatch ids a request
// (one request for an engine's default batch), keeping the rows of the
// workspaces asked for; refs with malformed ids are left out.
func (s *Store) Traces(ctx context.Context, events []delivery.EventRef) (map[delivery.EventRef]string, error) {
	const op = "traces"
	out := make(map[delivery.EventRef]string)
	byKey := make(map[delivery.EventRef][]delivery.EventRef, len(events))
	var ids []string
	for _, r := range events {
		ws, ok1 := canonicalUUID(r.WorkspaceID)
		id, ok2 := canonicalUUID(r.EventID)
		if !ok1 || !ok2 {
			continue
		}
		k := delivery.EventRef{WorkspaceID: ws, EventID: id}
		if _, seen := byKey[k]; !seen {
			ids = append(ids, id)
		}
		byKey[k] = append(byKey[k], r)
	}
	for start := 0; start < len(ids); start += traceBatch {
		chunk := ids[start:min(start+traceBatch, len(ids))]
		rows, err := s.traceRows(ctx, op, chunk)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			for _, r := range byKey[delivery.EventRef{WorkspaceID: row.WorkspaceID, EventID: row.EventID}] {
				out[r] = row.Traceparent
			}
		}
	}
	return out, nil
}

func (s *Store) traceRows(ctx context.Context, op string, ids []string) ([]traceRow, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableEventTraces).
		Select("workspace_id,event_id,traceparent", "", false).
		In("event_id", ids).
		ExecuteWithContext(ctx)
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	rows, err := decodeRows[traceRow](body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return rows, nil
}
