package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

var _ delivery.TraceStore = (*Store)(nil)

// codeForeignKeyViolation is SQLSTATE foreign_key_violation: an
// event_traces row for an event that does not exist.
const codeForeignKeyViolation = "23503"

// SaveTrace inserts the event's event_traces row (migration
// 20261201000005); a second save keeps the first row. An unknown event (the
// foreign key) or a malformed id is delivery.ErrNotFound.
func (s *Store) SaveTrace(ctx context.Context, workspaceID, eventID, traceparent string) error {
	const op = "save trace"
	ws, ok1 := canonicalID(workspaceID)
	id, ok2 := canonicalID(eventID)
	if !ok1 || !ok2 {
		return mapError(op, delivery.ErrNotFound, errMalformedID)
	}
	_, err := s.pool.Exec(ctx, `insert into event_traces (workspace_id, event_id, traceparent) values ($1, $2, $3)
		on conflict (workspace_id, event_id) do nothing`, ws, id, traceparent)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeForeignKeyViolation {
		return fmt.Errorf("postgres: %s: %w", op, delivery.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return nil
}

// Traces reads the event_traces rows of events in one query; refs with
// malformed ids are left out.
func (s *Store) Traces(ctx context.Context, events []delivery.EventRef) (map[delivery.EventRef]string, error) {
	out := make(map[delivery.EventRef]string)
	byKey := make(map[delivery.EventRef][]delivery.EventRef, len(events))
	var wss, ids []string
	for _, r := range events {
		ws, ok1 := canonicalID(r.WorkspaceID)
		id, ok2 := canonicalID(r.EventID)
		if !ok1 || !ok2 {
			continue
		}
		k := delivery.EventRef{WorkspaceID: ws, EventID: id}
		if _, seen := byKey[k]; !seen {
			wss, ids = append(wss, ws), append(ids, id)
		}
		byKey[k] = append(byKey[k], r)
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `select t.workspace_id::text, t.event_id::text, t.traceparent
		  from event_traces t
		  join unnest($1::uuid[], $2::uuid[]) as k(workspace_id, event_id)
		    on t.workspace_id = k.workspace_id and t.event_id = k.event_id`, wss, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: traces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k delivery.EventRef
		var tp string
		if err := rows.Scan(&k.WorkspaceID, &k.EventID, &tp); err != nil {
			return nil, fmt.Errorf("postgres: traces: %w", err)
		}
		for _, r := range byKey[k] {
			out[r] = tp
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: traces: %w", err)
	}
	return out, nil
}
