package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// UpdateWebhook applies the non-nil fields of p and sets updated_at to
// p.UpdatedAt (the current time when that is zero) in one UPDATE ...
// RETURNING, and returns the updated row. The SET list is built from fixed
// column names only; every value travels as a positional parameter. The
// unique index decides a clash on the URL key (webhooks.ErrDuplicateURL), so
// concurrent updates to one URL give one winner. An unknown id, an id of
// another workspace and an id that is not a UUID are webhooks.ErrNotFound.
func (s *Store) UpdateWebhook(ctx context.Context, workspaceID, id string, p webhooks.Patch) (*webhooks.Webhook, error) {
	const op = "update webhook"
	id, okID := canonicalID(id)
	workspaceID, okWorkspace := canonicalID(workspaceID)
	if !okID || !okWorkspace {
		return nil, mapError(op, webhooks.ErrNotFound, errMalformedID)
	}
	updatedAt := orNow(p.UpdatedAt)

	args := []any{id, workspaceID}
	var sets []string
	set := func(column string, value any) {
		args = append(args, value)
		sets = append(sets, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	if p.URL != nil {
		set("url", *p.URL)
	}
	if p.URLKey != nil {
		set("url_key", *p.URLKey)
	}
	if p.Events != nil {
		set("events", p.Events)
	}
	if p.Description != nil {
		set("description", *p.Description)
	}
	if p.Active != nil {
		set("active", *p.Active)
	}
	set("updated_at", updatedAt)

	row := s.pool.QueryRow(ctx,
		`update webhooks set `+strings.Join(sets, ", ")+`
		 where id = $1 and workspace_id = $2
		 returning `+webhookColumns,
		args...)
	w, err := scanWebhook(row)
	if err != nil {
		return nil, mapError(op, webhooks.ErrNotFound, err)
	}
	return w, nil
}

// DeleteWebhook removes the webhook, or returns webhooks.ErrNotFound when the
// workspace has no webhook with that id (also for ids that are not UUIDs).
func (s *Store) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	const op = "delete webhook"
	id, okID := canonicalID(id)
	workspaceID, okWorkspace := canonicalID(workspaceID)
	if !okID || !okWorkspace {
		return mapError(op, webhooks.ErrNotFound, errMalformedID)
	}
	tag, err := s.pool.Exec(ctx, `delete from webhooks where id = $1 and workspace_id = $2`, id, workspaceID)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return mapError(op, webhooks.ErrNotFound, err)
	}
	return nil
}

// RotateSecret calls gateway_rotate_webhook_secret_if_current, the SQL
// function the supabase store calls too, which moves the current secret to
// the previous slot and stores newCiphertext in one UPDATE if the current
// secret is still expectedCiphertext (else SQLSTATE LL004,
// webhooks.ErrRotationConflict), so that overlapping rotations cannot push
// out a secret one of them returned. A zero now means the current time. It
// returns the rotated webhook, or webhooks.ErrNotFound (also for ids that
// are not UUIDs).
func (s *Store) RotateSecret(ctx context.Context, workspaceID, id, expectedCiphertext, newCiphertext string, previousExpiresAt, now time.Time) (*webhooks.Webhook, error) {
	const op = "rotate secret"
	id, okID := canonicalID(id)
	workspaceID, okWorkspace := canonicalID(workspaceID)
	if !okID || !okWorkspace {
		return nil, mapError(op, webhooks.ErrNotFound, errMalformedID)
	}
	now = orNow(now)
	row := s.pool.QueryRow(ctx,
		`select `+webhookColumns+` from gateway_rotate_webhook_secret_if_current($1, $2, $3, $4, $5, $6)`,
		workspaceID, id, expectedCiphertext, newCiphertext, previousExpiresAt, now)
	w, err := scanWebhook(row)
	if err != nil {
		return nil, mapError(op, webhooks.ErrNotFound, err)
	}
	return w, nil
}
